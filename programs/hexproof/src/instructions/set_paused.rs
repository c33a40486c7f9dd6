use anchor_lang::prelude::*;

use crate::instructions::admin::{Admin, config_changed};

/// Pauses or resumes onboarding, assertions, transfers, submissions and claims. Immediate:
/// pausing can only stop minting, never cause it.
pub fn handler(ctx: Context<Admin>, paused: bool) -> Result<()> {
    let config = &mut ctx.accounts.config;
    config.paused = paused;
    config_changed(config);
    Ok(())
}
