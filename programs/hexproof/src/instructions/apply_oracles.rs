use anchor_lang::prelude::*;
use hexproof_commitment::oracle_set_message;

use crate::{
    ed25519,
    errors::HexproofError,
    events::OracleSetApplied,
    instructions::admin::config_changed,
    state::{CONFIG_SEED, Config, PENDING_CHANGE_TTL_SECS},
};

/// Applies the oracle set the admin proposed, once its delay has passed and within a week of
/// that, when at least `threshold` members of the **current** set approve it: each signs
/// [`oracle_set_message`] over the proposal (in Ed25519 precompile instructions of the same
/// transaction, as for epochs). The admin alone cannot install signers of its own, and the
/// current set alone cannot propose its successor. Anyone may send it.
#[derive(Accounts)]
pub struct ApplyOracles<'info> {
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// CHECK: the instructions sysvar, by address.
    #[account(address = solana_sdk_ids::sysvar::instructions::ID)]
    pub instructions: UncheckedAccount<'info>,
}

pub fn handler(ctx: Context<ApplyOracles>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let config = &ctx.accounts.config;
    require!(
        !config.pending_oracles.is_empty() && now >= config.pending_oracles_at,
        HexproofError::ChangeNotDue
    );
    require!(
        now <= config
            .pending_oracles_at
            .saturating_add(PENDING_CHANGE_TTL_SECS),
        HexproofError::ChangeExpired
    );
    let proposed: Vec<[u8; 32]> = config
        .pending_oracles
        .iter()
        .map(|k| k.to_bytes())
        .collect();
    let message = oracle_set_message(
        &config.deployment(),
        &proposed,
        config.pending_threshold,
        config.pending_oracles_at,
    );
    let sysvar = ctx.accounts.instructions.to_account_info();
    let approved_by = ed25519::signers_of(&sysvar, &message, &config.oracles)?;
    require!(
        approved_by.len() >= usize::from(config.threshold),
        HexproofError::NotEnoughOracleSignatures
    );

    let config = &mut ctx.accounts.config;
    config.oracles = std::mem::take(&mut config.pending_oracles);
    config.threshold = config.pending_threshold;
    config.pending_threshold = 0;
    config.pending_oracles_at = 0;
    emit!(OracleSetApplied {
        oracles: config.oracles.clone(),
        threshold: config.threshold,
        approved_by,
    });
    config_changed(config);
    Ok(())
}
