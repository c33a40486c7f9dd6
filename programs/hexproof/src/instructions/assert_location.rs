use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    instructions::onboard_hotspot::check_site,
    state::{CONFIG_SEED, Config, HOTSPOT_SEED, Hotspot},
};

/// The owner moves a hotspot (or changes its antenna); the slot and cluster time are recorded
/// so the oracle can refuse witnesses from a location asserted too recently.
#[derive(Accounts)]
pub struct AssertLocation<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    pub owner: Signer<'info>,
    #[account(mut, seeds = [HOTSPOT_SEED, hotspot.hotspot.as_ref()], bump = hotspot.bump, has_one = owner)]
    pub hotspot: Account<'info, Hotspot>,
}

pub fn handler(
    ctx: Context<AssertLocation>,
    location: u64,
    location_commitment: [u8; 32],
    gain_ddbi: i32,
    elevation_m: i32,
) -> Result<()> {
    check_site(
        &ctx.accounts.config,
        (location, location_commitment),
        gain_ddbi,
        elevation_m,
    )?;
    let clock = Clock::get()?;
    let hotspot = &mut ctx.accounts.hotspot;
    hotspot.assert_location(
        (location, location_commitment),
        gain_ddbi,
        elevation_m,
        clock.slot,
        clock.unix_timestamp,
    );
    emit!(hotspot.changed());
    Ok(())
}
