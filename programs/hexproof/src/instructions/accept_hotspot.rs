use anchor_lang::prelude::*;
use anchor_spl::{
    associated_token::AssociatedToken,
    token_interface::{Mint, TokenAccount, TokenInterface},
};

use crate::{
    errors::HexproofError,
    state::{CONFIG_SEED, Config, HOTSPOT_SEED, Hotspot, LEDGER_SEED, Ledger, MINT_SEED},
};

/// The offered owner takes a hotspot, within a week of the offer: it signs (so the key works and wants it) and pays for its
/// own token account of the reward mint if it has none, so that claims can pay it at once.
/// Rewards belong to the hotspot: what the seller earned and did not claim before the offer
/// was accepted goes to the buyer with it (the seller claims first if it wants them; claims are
/// open to anyone).
#[derive(Accounts)]
pub struct AcceptHotspot<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = mint, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    #[account(mut)]
    pub new_owner: Signer<'info>,
    #[account(
        mut,
        seeds = [HOTSPOT_SEED, hotspot.hotspot.as_ref()],
        bump = hotspot.bump,
        constraint = hotspot.pending_owner == new_owner.key() @ HexproofError::BadTransfer,
    )]
    pub hotspot: Account<'info, Hotspot>,
    #[account(mut, seeds = [LEDGER_SEED, hotspot.hotspot.as_ref()], bump = ledger.bump)]
    pub ledger: Account<'info, Ledger>,
    #[account(seeds = [MINT_SEED], bump = config.mint_bump)]
    pub mint: InterfaceAccount<'info, Mint>,
    #[account(
        init_if_needed,
        payer = new_owner,
        associated_token::mint = mint,
        associated_token::authority = new_owner,
        associated_token::token_program = token_program,
    )]
    pub new_owner_tokens: InterfaceAccount<'info, TokenAccount>,
    pub token_program: Interface<'info, TokenInterface>,
    pub associated_token_program: Program<'info, AssociatedToken>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<AcceptHotspot>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    require!(
        now <= ctx.accounts.hotspot.pending_owner_until,
        HexproofError::ChangeExpired
    );
    let new_owner = ctx.accounts.new_owner.key();
    let hotspot = &mut ctx.accounts.hotspot;
    hotspot.owner = new_owner;
    hotspot.pending_owner = Pubkey::default();
    hotspot.pending_owner_until = 0;
    ctx.accounts.ledger.owner = new_owner;
    emit!(hotspot.changed());
    Ok(())
}
