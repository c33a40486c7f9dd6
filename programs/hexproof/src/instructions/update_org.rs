use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    instructions::create_org::usable,
    state::{CONFIG_SEED, Config, ORG_SEED, Org},
};

/// An organisation's owner names its payer or hands the org to a new owner (who from then on
/// is the only one who may change it and its routes).
#[derive(Accounts)]
pub struct UpdateOrg<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    pub owner: Signer<'info>,
    #[account(mut, seeds = [ORG_SEED, &org.oui.to_le_bytes()], bump = org.bump, has_one = owner)]
    pub org: Account<'info, Org>,
}

pub fn handler(ctx: Context<UpdateOrg>, new_owner: Pubkey, new_payer: Pubkey) -> Result<()> {
    require!(
        usable(&new_owner) && usable(&new_payer),
        HexproofError::BadOrgKey
    );
    let org = &mut ctx.accounts.org;
    org.owner = new_owner;
    org.payer = new_payer;
    emit!(org.changed());
    Ok(())
}
