use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    state::{CONFIG_SEED, Config, ORG_SEED, Org, ROUTE_SEED, Route, RouteArgs, route_id_in_org},
};

/// An organisation's owner adds a route (and pays its rent): an id in its org's space (its high
/// 32 bits the OUI), DevAddr ranges inside the org's, EUI pairs, copies bought per packet, the
/// network server's address.
#[derive(Accounts)]
#[instruction(id: u64)]
pub struct CreateRoute<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(
        seeds = [ORG_SEED, &org.oui.to_le_bytes()],
        bump = org.bump,
        has_one = owner,
        constraint = route_id_in_org(id, org.oui) @ HexproofError::RouteOfAnotherOrg,
    )]
    pub org: Account<'info, Org>,
    #[account(
        init,
        payer = owner,
        space = 8 + Route::INIT_SPACE,
        seeds = [ROUTE_SEED, &id.to_le_bytes()],
        bump,
    )]
    pub route: Account<'info, Route>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<CreateRoute>, id: u64, args: RouteArgs) -> Result<()> {
    args.check(&ctx.accounts.org)?;
    let route = &mut ctx.accounts.route;
    route.id = id;
    route.oui = ctx.accounts.org.oui;
    route.bump = ctx.bumps.route;
    args.apply(route);
    emit!(route.changed());
    Ok(())
}
