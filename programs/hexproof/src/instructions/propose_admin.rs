use anchor_lang::prelude::*;

use crate::{errors::HexproofError, events::ChangeProposed, instructions::admin::Admin};

/// The admin proposes a successor, who must accept ([`super::accept_admin`]) after the
/// configured delay: a hand-over to a wrong or default key cannot happen, and none happens
/// unseen.
pub fn handler(ctx: Context<Admin>, new_admin: Pubkey) -> Result<()> {
    require!(
        new_admin != Pubkey::default() && new_admin != crate::ID,
        HexproofError::BadAdmin
    );
    let now = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    let effective_at = now.saturating_add(config.change_delay_secs);
    config.pending_admin = new_admin;
    config.pending_admin_at = effective_at;
    emit!(ChangeProposed {
        admin: new_admin,
        oracles: Vec::new(),
        threshold: 0,
        effective_at,
    });
    Ok(())
}
