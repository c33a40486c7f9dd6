use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    state::{CONFIG_SEED, Config, HOTSPOT_SEED, Hotspot},
};

/// The owner hands a hotspot to a new owner. Rewards belong to the hotspot, not to an owner:
/// its claim ledger stays with the key, and a claim always pays whoever owns the hotspot when
/// it is made. So rewards earned and not yet claimed go to the new owner with the hotspot; a
/// seller who wants them claims before transferring (the tests show both).
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
