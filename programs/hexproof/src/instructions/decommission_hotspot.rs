use anchor_lang::prelude::*;

use crate::{
    events::HotspotDecommissioned,
    state::{HOTSPOT_SEED, Hotspot},
};

/// The owner retires a hotspot: its record is closed and the rent returned to the owner. Its
/// ledger stays and still names this owner, so the rewards the hotspot earned up to now (in
/// roots signed later, too) are claimed to this owner, and the key can be onboarded again
/// without claiming anything twice; under another owner only with this owner's signature.
/// Allowed while paused (it only gives the owner's rent back).
#[derive(Accounts)]
pub struct DecommissionHotspot<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(
        mut,
        close = owner,
        seeds = [HOTSPOT_SEED, hotspot.hotspot.as_ref()],
        bump = hotspot.bump,
        has_one = owner,
    )]
    pub hotspot: Account<'info, Hotspot>,
}

pub fn handler(ctx: Context<DecommissionHotspot>) -> Result<()> {
    emit!(HotspotDecommissioned {
        hotspot: ctx.accounts.hotspot.hotspot,
        owner: ctx.accounts.owner.key(),
    });
    Ok(())
}
