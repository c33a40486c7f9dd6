use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    instructions::admin::{AcceptAdmin, config_changed},
    state::PENDING_CHANGE_TTL_SECS,
};

/// The proposed admin takes over, once the delay has passed and within a week of that (it
/// signs: the key works).
pub fn handler(ctx: Context<AcceptAdmin>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    require!(now >= config.pending_admin_at, HexproofError::ChangeNotDue);
    require!(
        now <= config
            .pending_admin_at
            .saturating_add(PENDING_CHANGE_TTL_SECS),
        HexproofError::ChangeExpired
    );
    config.admin = config.pending_admin;
    config.pending_admin = Pubkey::default();
    config.pending_admin_at = 0;
    config_changed(config);
    Ok(())
}
