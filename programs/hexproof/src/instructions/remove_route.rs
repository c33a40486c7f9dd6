use anchor_lang::prelude::*;

use crate::{
    errors::HexproofError,
    state::{ORG_SEED, Org, ROUTE_SEED, Route},
};

/// A route's org owner removes it; its rent goes back to the owner.
#[derive(Accounts)]
pub struct RemoveRoute<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(seeds = [ORG_SEED, &org.oui.to_le_bytes()], bump = org.bump, has_one = owner)]
    pub org: Account<'info, Org>,
    #[account(
        mut,
        close = owner,
        seeds = [ROUTE_SEED, &route.id.to_le_bytes()],
        bump = route.bump,
        constraint = route.oui == org.oui @ HexproofError::RouteOfAnotherOrg,
    )]
    pub route: Account<'info, Route>,
}

pub fn handler(ctx: Context<RemoveRoute>) -> Result<()> {
    let route = &ctx.accounts.route;
    emit!(crate::events::RouteRemoved {
        id: route.id,
        oui: route.oui,
    });
    Ok(())
}
