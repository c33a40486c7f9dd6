use anchor_lang::prelude::*;

use crate::instructions::admin::Admin;

/// The admin withdraws any pending oracle-set or admin change.
pub fn handler(ctx: Context<Admin>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    config.pending_oracles.clear();
    config.pending_threshold = 0;
    config.pending_oracles_at = 0;
    config.pending_admin = Pubkey::default();
    config.pending_admin_at = 0;
    Ok(())
}
