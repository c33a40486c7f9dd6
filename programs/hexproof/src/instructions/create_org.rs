use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    state::{CONFIG_SEED, Config, DevAddrRange, MAX_OUI, ORG_SEED, Org, check_org_ranges},
};

/// The admin creates an organisation: its OUI (at most 2^32 − 1), owner, payer and the DevAddr
/// ranges its routes may claim. It starts enabled. Only the admin: a DevAddr range is an assignment (whoever
/// claims a range gets those devices' packets), not something anyone may take.
#[derive(Accounts)]
#[instruction(oui: u64)]
pub struct CreateOrg<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(
        init,
        payer = admin,
        space = 8 + Org::INIT_SPACE,
        seeds = [ORG_SEED, &oui.to_le_bytes()],
        bump,
    )]
    pub org: Account<'info, Org>,
    pub system_program: Program<'info, System>,
}

pub fn handler(
    ctx: Context<CreateOrg>,
    oui: u64,
    owner: Pubkey,
    payer: Pubkey,
    dev_addrs: Vec<DevAddrRange>,
) -> Result<()> {
    require!(usable(&owner) && usable(&payer), HexproofError::BadOrgKey);
    require!(oui <= MAX_OUI, HexproofError::BadRoute);
    check_org_ranges(&dev_addrs)?;
    let org = &mut ctx.accounts.org;
    org.oui = oui;
    org.owner = owner;
    org.payer = payer;
    org.dev_addrs = dev_addrs;
    org.enabled = true;
    org.dc_balance = 0;
    org.dc_bought = 0;
    org.tokens_burned = 0;
    org.dc_settled = 0;
    org.dc_unpaid = 0;
    org.bump = ctx.bumps.org;
    emit!(org.changed());
    Ok(())
}

/// A key an org may be owned by or paid from: not the default key, not the program.
pub(crate) fn usable(key: &Pubkey) -> bool {
    *key != Pubkey::default() && *key != crate::ID
}
