use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    instructions::admin::{Apply, config_changed},
};

/// Applies a proposed oracle set once its delay has passed. Anyone may send it.
pub fn handler(ctx: Context<Apply>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    require!(
        !config.pending_oracles.is_empty() && now >= config.pending_oracles_at,
        HexproofError::ChangeNotDue
    );
    config.oracles = std::mem::take(&mut config.pending_oracles);
    config.threshold = config.pending_threshold;
    config.pending_threshold = 0;
    config.pending_oracles_at = 0;
    config_changed(config);
    Ok(())
}
