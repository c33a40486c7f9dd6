use anchor_lang::prelude::*;
use hexproof_commitment::{MAX_PROOF_LEN, org_leaf, verify_proof};

use crate::{
    errors::HexproofError,
    events::CreditsSettled,
    state::{CONFIG_SEED, Config, ORG_SEED, Org},
};

/// Takes an org's data charges from its credit balance: the org's leaf in the newest root
/// (`(oui, lifetime credits charged)`, after the hotspots' leaves) proves what the oracles
/// committed to; what it adds to what was settled before is taken from the balance. Anyone
/// may send it (the oracles' chain duty does, after each epoch lands). Lifetime amounts make
/// it idempotent and order-free: settling the same or an older leaf again takes nothing, and
/// settling only the newest root covers every epoch before it.
#[derive(Accounts)]
pub struct SettleCredits<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    #[account(mut, seeds = [ORG_SEED, &org.oui.to_le_bytes()], bump = org.bump)]
    pub org: Account<'info, Org>,
}

pub fn handler(ctx: Context<SettleCredits>, lifetime_dc: u64, proof: Vec<[u8; 32]>) -> Result<()> {
    require!(proof.len() <= MAX_PROOF_LEN, HexproofError::ProofTooLong);
    let org = &mut ctx.accounts.org;
    require!(
        verify_proof(
            &ctx.accounts.config.root,
            &org_leaf(org.oui, lifetime_dc),
            &proof
        ),
        HexproofError::BadProof
    );
    require!(lifetime_dc > org.dc_settled, HexproofError::NothingToSettle);
    let charged = lifetime_dc - org.dc_settled;
    let paid = charged.min(org.dc_balance);
    org.dc_balance -= paid;
    org.dc_unpaid = org.dc_unpaid.saturating_add(charged - paid);
    org.dc_settled = lifetime_dc;
    emit!(CreditsSettled {
        oui: org.oui,
        charged,
        paid,
        dc_balance: org.dc_balance,
        lifetime_dc,
    });
    Ok(())
}
