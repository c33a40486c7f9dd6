use anchor_lang::prelude::*;
use hexproof_commitment::epoch_message;
use solana_instructions_sysvar::{load_current_index_checked, load_instruction_at_checked};

use crate::{
    ed25519,
    errors::HexproofError,
    events::EpochSubmitted,
    state::{CONFIG_SEED, Config},
};

/// Instructions of one transaction the program looks through, at most.
pub const MAX_INSTRUCTIONS: usize = 32;

/// Accepts an epoch commitment signed by at least `threshold` distinct configured oracles,
/// once the epoch has ended by the cluster clock. Anyone may send it; the signatures are what
/// count. They arrive in Ed25519 precompile instructions of the same transaction (one
/// instruction may carry every signature over the shared message).
#[derive(Accounts)]
pub struct SubmitEpoch<'info> {
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    /// CHECK: the instructions sysvar, by address (a look-alike account would let a caller
    /// invent the Ed25519 instructions).
    #[account(address = solana_sdk_ids::sysvar::instructions::ID)]
    pub instructions: UncheckedAccount<'info>,
    pub submitter: Signer<'info>,
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
    require!(
        lifetime_total >= config.lifetime_total,
        HexproofError::LifetimeDecreased
    );
    require!(
        lifetime_total <= config.schedule().cumulative(epoch),
        HexproofError::OverEmissionCap
    );
    let message = epoch_message(&config.deployment(), epoch, &root, lifetime_total);

    // Distinct configured oracles whose signature over exactly this message the Ed25519
    // precompile verified in this transaction.
    let sysvar = ctx.accounts.instructions.to_account_info();
    let current = load_current_index_checked(&sysvar)? as usize;
    let mut signed: Vec<Pubkey> = Vec::new();
    for index in 0..MAX_INSTRUCTIONS {
        if index == current {
            continue;
        }
        let Ok(ix) = load_instruction_at_checked(index, &sysvar) else {
            break;
        };
        if ix.program_id != solana_sdk_ids::ed25519_program::ID {
            continue;
        }
        let Some(signatures) = ed25519::verified_signatures(&ix.data) else {
            continue;
        };
        for s in signatures {
            let key = Pubkey::new_from_array(*s.pubkey);
            if s.message == message.as_slice()
                && config.oracles.contains(&key)
                && !signed.contains(&key)
            {
                signed.push(key);
            }
        }
    }
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
