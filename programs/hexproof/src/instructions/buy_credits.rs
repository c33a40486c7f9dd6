use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Burn, Mint, TokenAccount, TokenInterface, burn};
use hexproof_commitment::DcPrice;

use crate::{
    errors::HexproofError,
    events::CreditsBought,
    state::{CONFIG_SEED, Config, MINT_SEED, ORG_SEED, Org},
};

/// Burns `amount` base units of the reward token from the buyer's account for the org's data
/// credits, at the deployment's price (`Config::dc_per_token`). Anyone may top up any org
/// (a gift to it); credits never leave the org: there is no instruction that moves them. The
/// tokens burned raise what may be minted by as much (the oracles re-mint the tokens of the
/// credits spent: the supply grows by the schedule, whatever is burned).
#[derive(Accounts)]
pub struct BuyCredits<'info> {
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump, has_one = mint, constraint = !config.paused @ HexproofError::Paused)]
    pub config: Account<'info, Config>,
    #[account(mut, seeds = [ORG_SEED, &org.oui.to_le_bytes()], bump = org.bump)]
    pub org: Account<'info, Org>,
    pub buyer: Signer<'info>,
    #[account(mut, seeds = [MINT_SEED], bump = config.mint_bump)]
    pub mint: InterfaceAccount<'info, Mint>,
    #[account(mut, token::mint = mint, token::authority = buyer, token::token_program = token_program)]
    pub buyer_tokens: InterfaceAccount<'info, TokenAccount>,
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn handler(ctx: Context<BuyCredits>, amount: u64) -> Result<()> {
    let price = DcPrice {
        dc_per_token: ctx.accounts.config.dc_per_token,
    };
    let credits = price.credits_for(amount);
    require!(credits > 0, HexproofError::NoCredits);
    burn(
        CpiContext::new(
            ctx.accounts.token_program.key(),
            Burn {
                mint: ctx.accounts.mint.to_account_info(),
                from: ctx.accounts.buyer_tokens.to_account_info(),
                authority: ctx.accounts.buyer.to_account_info(),
            },
        ),
        amount,
    )?;
    let org = &mut ctx.accounts.org;
    org.dc_balance = org
        .dc_balance
        .checked_add(credits)
        .ok_or(HexproofError::Overflow)?;
    org.dc_bought = org.dc_bought.saturating_add(credits);
    org.tokens_burned = org.tokens_burned.saturating_add(amount);
    // What is burned may be minted again (net emissions: `Config::mint_cap`).
    let config = &mut ctx.accounts.config;
    config.burned = config.burned.saturating_add(amount);
    emit!(CreditsBought {
        oui: org.oui,
        buyer: ctx.accounts.buyer.key(),
        tokens_burned: amount,
        credits,
        dc_balance: org.dc_balance,
    });
    Ok(())
}
