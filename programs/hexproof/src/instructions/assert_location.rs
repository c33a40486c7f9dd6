use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    instructions::onboard_hotspot::is_res12_cell,
    state::{CONFIG_SEED, Config, HOTSPOT_SEED, Hotspot},
};

/// The owner moves a hotspot (or changes its antenna); the slot is recorded so the oracle can
/// refuse witnesses from a location asserted too recently.
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
    gain_ddbi: i32,
    elevation_m: i32,
) -> Result<()> {
    require!(is_res12_cell(location), HexproofError::BadLocation);
    let slot = Clock::get()?.slot;
    let hotspot = &mut ctx.accounts.hotspot;
    hotspot.assert_location(location, gain_ddbi, elevation_m, slot);
    emit!(hotspot.changed());
    Ok(())
}
