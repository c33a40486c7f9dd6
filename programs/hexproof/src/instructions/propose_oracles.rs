use anchor_lang::prelude::*;

use crate::{
    events::ChangeProposed, instructions::admin::Admin, instructions::initialize::check_oracle_set,
};

/// The admin proposes a new oracle set and threshold. It takes effect no sooner than the
/// configured delay later, visible on chain meanwhile, and only with the approval of a quorum of
/// the current set ([`super::apply_oracles`]): a stolen admin key cannot install its own signers.
pub fn handler(ctx: Context<Admin>, oracles: Vec<Pubkey>, threshold: u8) -> Result<()> {
    check_oracle_set(&oracles, threshold)?;
    let now = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    let effective_at = now.saturating_add(config.change_delay_secs);
    config.pending_oracles = oracles.clone();
    config.pending_threshold = threshold;
    config.pending_oracles_at = effective_at;
    emit!(ChangeProposed {
        admin: Pubkey::default(),
        oracles,
        threshold,
        effective_at,
    });
    Ok(())
}
