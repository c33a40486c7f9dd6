use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    events::TransferProposed,
    state::{CONFIG_SEED, Config, HOTSPOT_SEED, Hotspot, PENDING_CHANGE_TTL_SECS},
};

/// The owner offers a hotspot to a new owner, who takes it with [`super::accept_hotspot`]
/// within a week (nothing changes hands until then; the owner may offer it to someone else, or
/// to itself to withdraw the offer). Never to the default key or the program.
#[derive(Accounts)]
pub struct TransferHotspot<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    pub owner: Signer<'info>,
    #[account(mut, seeds = [HOTSPOT_SEED, hotspot.hotspot.as_ref()], bump = hotspot.bump, has_one = owner)]
    pub hotspot: Account<'info, Hotspot>,
}

pub fn handler(ctx: Context<TransferHotspot>, new_owner: Pubkey) -> Result<()> {
    require!(
        new_owner != Pubkey::default() && new_owner != crate::ID,
        HexproofError::BadTransfer
    );
    let now = Clock::get()?.unix_timestamp;
    let hotspot = &mut ctx.accounts.hotspot;
    hotspot.pending_owner = if new_owner == hotspot.owner {
        Pubkey::default()
    } else {
        new_owner
    };
    hotspot.pending_owner_until = now.saturating_add(PENDING_CHANGE_TTL_SECS);
    emit!(TransferProposed {
        hotspot: hotspot.hotspot,
        owner: hotspot.owner,
        new_owner: hotspot.pending_owner,
    });
    Ok(())
}
