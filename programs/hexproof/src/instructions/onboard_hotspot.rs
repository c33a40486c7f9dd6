use anchor_lang::prelude::*;
use anchor_spl::{
    associated_token::AssociatedToken,
    token_interface::{Mint, TokenAccount, TokenInterface},
};

use crate::{
    errors::HexproofError,
    state::{CONFIG_SEED, Config, HOTSPOT_SEED, Hotspot, LEDGER_SEED, Ledger, MINT_SEED},
};

/// Registers a hotspot: signed by the hotspot's own key (it owns the radio) and by its owner
/// (who pays and will receive the rewards). The owner's token account of the reward mint is
/// created here if it does not exist, at the owner's expense: claims pay into it and never
/// create accounts (a relayer never pays rent).
#[derive(Accounts)]
pub struct OnboardHotspot<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = mint, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    pub hotspot_key: Signer<'info>,
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(
        init,
        payer = owner,
        space = 8 + Hotspot::INIT_SPACE,
        seeds = [HOTSPOT_SEED, hotspot_key.key().as_ref()],
        bump,
    )]
    pub hotspot: Account<'info, Hotspot>,
    /// Created with the first onboarding, kept through decommissioning and re-onboarding.
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + Ledger::INIT_SPACE,
        seeds = [LEDGER_SEED, hotspot_key.key().as_ref()],
        bump,
    )]
    pub ledger: Account<'info, Ledger>,
    #[account(seeds = [MINT_SEED], bump = config.mint_bump)]
    pub mint: InterfaceAccount<'info, Mint>,
    #[account(
        init_if_needed,
        payer = owner,
        associated_token::mint = mint,
        associated_token::authority = owner,
        associated_token::token_program = token_program,
    )]
    pub owner_tokens: InterfaceAccount<'info, TokenAccount>,
    pub token_program: Interface<'info, TokenInterface>,
    pub associated_token_program: Program<'info, AssociatedToken>,
    pub system_program: Program<'info, System>,
}

/// An H3 index of a resolution-12 cell: mode 1 (cell), resolution bits 12.
pub fn is_res12_cell(index: u64) -> bool {
    let mode = (index >> 59) & 0xF;
    let resolution = (index >> 52) & 0xF;
    mode == 1 && resolution == 12 && index >> 63 == 0
}

/// Checks a location and antenna against the configuration.
pub fn check_site(config: &Config, location: u64, gain_ddbi: i32, elevation_m: i32) -> Result<()> {
    require!(is_res12_cell(location), HexproofError::BadLocation);
    require!(
        config.antenna.gain_ok(gain_ddbi),
        HexproofError::GainOutOfRange
    );
    require!(
        config.antenna.elevation_ok(elevation_m),
        HexproofError::ElevationOutOfRange
    );
    Ok(())
}

pub fn handler(
    ctx: Context<OnboardHotspot>,
    location: u64,
    gain_ddbi: i32,
    elevation_m: i32,
) -> Result<()> {
    check_site(&ctx.accounts.config, location, gain_ddbi, elevation_m)?;
    let clock = Clock::get()?;
    let hotspot = &mut ctx.accounts.hotspot;
    hotspot.hotspot = ctx.accounts.hotspot_key.key();
    hotspot.owner = ctx.accounts.owner.key();
    hotspot.assert_location(
        location,
        gain_ddbi,
        elevation_m,
        clock.slot,
        clock.unix_timestamp,
    );
    hotspot.bump = ctx.bumps.hotspot;
    emit!(hotspot.changed());
    let ledger = &mut ctx.accounts.ledger;
    if ledger.hotspot == Pubkey::default() {
        ledger.hotspot = ctx.accounts.hotspot_key.key();
        ledger.bump = ctx.bumps.ledger;
    }
    Ok(())
}
