use anchor_lang::prelude::*;

use crate::state::{CONFIG_SEED, Config, DevAddrRange, ORG_SEED, Org, check_org_ranges};

/// The admin enables or disables an organisation and changes the DevAddr ranges it holds (the
/// router stops buying for routes outside them at once: it clips routes to their org's ranges).
#[derive(Accounts)]
pub struct SetOrg<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin)]
    pub config: Account<'info, Config>,
    pub admin: Signer<'info>,
    #[account(mut, seeds = [ORG_SEED, &org.oui.to_le_bytes()], bump = org.bump)]
    pub org: Account<'info, Org>,
}

pub fn handler(ctx: Context<SetOrg>, enabled: bool, dev_addrs: Vec<DevAddrRange>) -> Result<()> {
    check_org_ranges(&dev_addrs)?;
    let org = &mut ctx.accounts.org;
    org.enabled = enabled;
    org.dev_addrs = dev_addrs;
    emit!(org.changed());
    Ok(())
}
