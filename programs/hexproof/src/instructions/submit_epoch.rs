use anchor_lang::prelude::*;
use hexproof_commitment::epoch_message;

use crate::{
    ed25519,
    errors::HexproofError,
    events::EpochSubmitted,
    state::{CONFIG_SEED, Config},
};

/// Accepts an epoch commitment signed by at least `threshold` distinct configured oracles,
/// once the epoch has ended by the cluster clock. Anyone may send it (no signer of its own: the
/// fee payer is whoever relays it); the signatures are what count. They arrive in Ed25519
/// precompile instructions of the same transaction (one instruction may carry every signature
/// over the shared message).
#[derive(Accounts)]
pub struct SubmitEpoch<'info> {
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    /// CHECK: the instructions sysvar, by address (a look-alike account would let a caller
    /// invent the Ed25519 instructions).
    #[account(address = solana_sdk_ids::sysvar::instructions::ID)]
    pub instructions: UncheckedAccount<'info>,
}

pub fn handler(
    ctx: Context<SubmitEpoch>,
    epoch: u64,
    root: [u8; 32],
    lifetime_total: u64,
) -> Result<()> {
    let config = &ctx.accounts.config;
    require!(epoch > config.epoch, HexproofError::StaleEpoch);
    let now = Clock::get()?.unix_timestamp;
    let ended = config
        .epoch_clock()
        .end_of(epoch)
        .is_some_and(|end| end <= now);
    require!(ended, HexproofError::EpochNotOver);
    // No floor from the previous total: honest totals are leaf sums, and one accepted inflated
    // total must not make every later honest epoch fail. Minting stays bounded by the newest
    // total, the schedule by the clock and the window (`Config::mint_cap`, `claim`).
    // Burned tokens may be minted again (net emissions): a total above the schedule by at most
    // what was burned for data credits.
    require!(
        lifetime_total
            <= config
                .schedule()
                .cumulative(epoch)
                .saturating_add(config.burned),
        HexproofError::OverEmissionCap
    );
    let message = epoch_message(&config.deployment(), epoch, &root, lifetime_total);
    let sysvar = ctx.accounts.instructions.to_account_info();
    let signed = ed25519::signers_of(&sysvar, &message, &config.oracles)?;
    require!(
        signed.len() >= usize::from(config.threshold),
        HexproofError::NotEnoughOracleSignatures
    );

    let config = &mut ctx.accounts.config;
    config.epoch = epoch;
    config.root = root;
    config.lifetime_total = lifetime_total;
    emit!(EpochSubmitted {
        epoch,
        root,
        lifetime_total,
        oracles: signed
    });
    Ok(())
}
