use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenInterface};

use crate::{
    errors::HexproofError,
    events::ConfigChanged,
    state::{CONFIG_SEED, Config, MINT_SEED},
};

/// Creates the configuration and the reward mint, whose authority is the configuration PDA.
#[derive(Accounts)]
pub struct Initialize<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(init, payer = admin, space = 8 + Config::INIT_SPACE, seeds = [CONFIG_SEED], bump)]
    pub config: Account<'info, Config>,
    #[account(
        init,
        payer = admin,
        seeds = [MINT_SEED],
        bump,
        mint::decimals = 6,
        mint::authority = config,
        mint::token_program = token_program,
    )]
    pub mint: InterfaceAccount<'info, Mint>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

/// Checks an oracle set: 1 to 7 distinct keys, a threshold from 1 to their number.
pub fn check_oracle_set(oracles: &[Pubkey], threshold: u8) -> Result<()> {
    let distinct = oracles
        .iter()
        .enumerate()
        .all(|(i, k)| !oracles[..i].contains(k));
    require!(
        !oracles.is_empty()
            && oracles.len() <= crate::state::MAX_ORACLES
            && distinct
            && threshold >= 1
            && usize::from(threshold) <= oracles.len(),
        HexproofError::BadOracleSet
    );
    Ok(())
}

pub fn handler(
    ctx: Context<Initialize>,
    oracles: Vec<Pubkey>,
    threshold: u8,
    initial_emission: u64,
    halving_interval: u64,
) -> Result<()> {
    check_oracle_set(&oracles, threshold)?;
    let config = &mut ctx.accounts.config;
    config.admin = ctx.accounts.admin.key();
    config.oracles = oracles;
    config.threshold = threshold;
    config.mint = ctx.accounts.mint.key();
    config.initial_emission = initial_emission;
    config.halving_interval = halving_interval.max(1);
    config.epoch = 0;
    config.root = [0; 32];
    config.lifetime_total = 0;
    config.minted = 0;
    config.paused = false;
    config.bump = ctx.bumps.config;
    config.mint_bump = ctx.bumps.mint;
    emit!(ConfigChanged {
        admin: config.admin,
        oracles: config.oracles.clone(),
        threshold: config.threshold,
        paused: false,
    });
    Ok(())
}
