use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    state::{CONFIG_SEED, Config, HOTSPOT_SEED, Hotspot},
};

/// The owner hands a hotspot (and its future claims) to a new owner.
#[derive(Accounts)]
pub struct TransferHotspot<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    pub owner: Signer<'info>,
    #[account(mut, seeds = [HOTSPOT_SEED, hotspot.hotspot.as_ref()], bump = hotspot.bump, has_one = owner)]
    pub hotspot: Account<'info, Hotspot>,
}

pub fn handler(ctx: Context<TransferHotspot>, new_owner: Pubkey) -> Result<()> {
    let hotspot = &mut ctx.accounts.hotspot;
    hotspot.owner = new_owner;
    emit!(hotspot.changed());
    Ok(())
}
