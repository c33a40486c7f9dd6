use anchor_lang::prelude::*;
use hexproof_commitment::{MAX_PROOF_LEN, leaf, verify_proof};

use crate::{
    errors::HexproofError,
    state::{CONFIG_SEED, Config, LEDGER_SEED, Ledger},
};

/// Proves a hotspot's leaf in the newest root and records how much its ledger was paid beyond
/// it (a superseded root that overpaid it: a bad or buggy quorum's). The cap counts that
/// excess on top of the newest signed total, so the overpayment comes out of the schedule, not
/// out of what honest owners are owed: without it, the honest total leaves room for everyone
/// but the last claimers. Anyone may send it (the oracle does, for every leaf below what was
/// paid); it mints nothing, and the schedule by the clock and the window still bound minting.
#[derive(Accounts)]
pub struct SyncLedger<'info> {
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    #[account(mut, seeds = [LEDGER_SEED, ledger.hotspot.as_ref()], bump = ledger.bump)]
    pub ledger: Account<'info, Ledger>,
}

pub fn handler(ctx: Context<SyncLedger>, lifetime_amount: u64, proof: Vec<[u8; 32]>) -> Result<()> {
    require!(proof.len() <= MAX_PROOF_LEN, HexproofError::ProofTooLong);
    require!(
        verify_proof(
            &ctx.accounts.config.root,
            &leaf(&ctx.accounts.ledger.hotspot.to_bytes(), lifetime_amount),
            &proof
        ),
        HexproofError::BadProof
    );
    let config = &mut ctx.accounts.config;
    config.record_leaf(&mut ctx.accounts.ledger, lifetime_amount);
    Ok(())
}
