use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, MintTo, TokenAccount, TokenInterface, mint_to};
use hexproof_commitment::{MAX_PROOF_LEN, leaf, verify_proof};

use crate::{
    errors::HexproofError,
    events::Claimed,
    state::{CONFIG_SEED, Config, LEDGER_SEED, Ledger, MINT_SEED},
};

/// Mints a hotspot's unclaimed lifetime reward to the owner its ledger names (the hotspot's
/// owner; after decommissioning, the owner who earned it), into that owner's existing token
/// account: anyone may send a claim and pay its fee, nobody pays rent for it, and the tokens
/// only ever go to the owner.
///
/// What may be minted in all is bounded three ways: by the newest lifetime total the oracles
/// signed, by the emission schedule of the epochs that have ended on the cluster clock, and by
/// the windowed mint limit. A claim mints as much of what is owed as those bounds leave room
/// for now and records it; the rest is paid by a later claim. So an owner who waits many
/// epochs, or whose claims meet a window others filled, is paid in instalments, never refused
/// for good.
#[derive(Accounts)]
pub struct Claim<'info> {
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump, has_one = mint, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    #[account(mut, seeds = [LEDGER_SEED, ledger.hotspot.as_ref()], bump = ledger.bump, has_one = owner)]
    pub ledger: Account<'info, Ledger>,
    /// CHECK: only compared with the ledger's owner (has_one above).
    pub owner: UncheckedAccount<'info>,
    #[account(mut, seeds = [MINT_SEED], bump = config.mint_bump)]
    pub mint: InterfaceAccount<'info, Mint>,
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = owner,
        associated_token::token_program = token_program,
    )]
    pub owner_tokens: InterfaceAccount<'info, TokenAccount>,
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn handler(ctx: Context<Claim>, lifetime_amount: u64, proof: Vec<[u8; 32]>) -> Result<()> {
    require!(proof.len() <= MAX_PROOF_LEN, HexproofError::ProofTooLong);
    let hotspot_key = ctx.accounts.ledger.hotspot;
    require!(
        verify_proof(
            &ctx.accounts.config.root,
            &leaf(&hotspot_key.to_bytes(), lifetime_amount),
            &proof
        ),
        HexproofError::BadProof
    );
    let claimed = ctx.accounts.ledger.claimed;
    require!(lifetime_amount > claimed, HexproofError::NothingToClaim);
    let owed = lifetime_amount - claimed;

    let now = Clock::get()?.unix_timestamp;
    let config = &mut ctx.accounts.config;
    // The leaf is above what was paid: any excess this ledger carried is released.
    config.record_leaf(&mut ctx.accounts.ledger, lifetime_amount);
    let under_cap = config.mint_cap(now).saturating_sub(config.minted);
    require!(under_cap > 0, HexproofError::OverMintCap);
    let room = config.breaker.room(now);
    require!(room > 0, HexproofError::MintWindowExceeded);
    let amount = owed.min(under_cap).min(room);
    config
        .breaker
        .admit(amount, now)
        .ok_or(HexproofError::MintWindowExceeded)?;
    config.minted = config
        .minted
        .checked_add(amount)
        .ok_or(HexproofError::Overflow)?;

    let bump = [config.bump];
    let seeds: &[&[u8]] = &[CONFIG_SEED, &bump];
    let signer = &[seeds];
    mint_to(
        CpiContext::new_with_signer(
            ctx.accounts.token_program.key(),
            MintTo {
                mint: ctx.accounts.mint.to_account_info(),
                to: ctx.accounts.owner_tokens.to_account_info(),
                authority: ctx.accounts.config.to_account_info(),
            },
            signer,
        ),
        amount,
    )?;
    let ledger = &mut ctx.accounts.ledger;
    ledger.claimed = claimed + amount;
    emit!(Claimed {
        hotspot: hotspot_key,
        owner: ctx.accounts.owner.key(),
        amount,
        lifetime_amount: ledger.claimed,
    });
    Ok(())
}
