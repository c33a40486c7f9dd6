use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    state::{CONFIG_SEED, Config, ORG_SEED, Org, ROUTE_SEED, Route, RouteArgs},
};

/// A route's org owner changes it (or pauses it: `active` false).
#[derive(Accounts)]
pub struct UpdateRoute<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    pub owner: Signer<'info>,
    #[account(seeds = [ORG_SEED, &org.oui.to_le_bytes()], bump = org.bump, has_one = owner)]
    pub org: Account<'info, Org>,
    #[account(
        mut,
        seeds = [ROUTE_SEED, &route.id.to_le_bytes()],
        bump = route.bump,
        constraint = route.oui == org.oui @ HexproofError::RouteOfAnotherOrg,
    )]
    pub route: Account<'info, Route>,
}

pub fn handler(ctx: Context<UpdateRoute>, args: RouteArgs) -> Result<()> {
    args.check(&ctx.accounts.org)?;
    let route = &mut ctx.accounts.route;
    args.apply(route);
    emit!(route.changed());
    Ok(())
}
