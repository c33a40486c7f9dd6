use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    instructions::admin::{AcceptAdmin, config_changed},
};

/// The proposed admin takes over, once the delay has passed (it signs: the key works).
pub fn handler(ctx: Context<AcceptAdmin>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    require!(now >= config.pending_admin_at, HexproofError::ChangeNotDue);
    config.admin = config.pending_admin;
    config.pending_admin = Pubkey::default();
    config.pending_admin_at = 0;
    config_changed(config);
    Ok(())
}
