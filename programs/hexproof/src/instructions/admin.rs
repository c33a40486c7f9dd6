use anchor_lang::prelude::*;

use crate::{
    events::ConfigChanged,
    instructions::initialize::check_oracle_set,
    state::{CONFIG_SEED, Config},
};

/// Admin-only changes: the oracle set and threshold, the admin, the pause switch.
#[derive(Accounts)]
pub struct Admin<'info> {
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump, has_one = admin)]
    pub config: Account<'info, Config>,
    pub admin: Signer<'info>,
}

fn changed(config: &Config) {
    emit!(ConfigChanged {
        admin: config.admin,
        oracles: config.oracles.clone(),
        threshold: config.threshold,
        paused: config.paused,
    });
}

pub fn set_oracles(ctx: Context<Admin>, oracles: Vec<Pubkey>, threshold: u8) -> Result<()> {
    check_oracle_set(&oracles, threshold)?;
    let config = &mut ctx.accounts.config;
    config.oracles = oracles;
    config.threshold = threshold;
    changed(config);
    Ok(())
}

pub fn transfer_admin(ctx: Context<Admin>, new_admin: Pubkey) -> Result<()> {
    let config = &mut ctx.accounts.config;
    config.admin = new_admin;
    changed(config);
    Ok(())
}

pub fn set_paused(ctx: Context<Admin>, paused: bool) -> Result<()> {
    let config = &mut ctx.accounts.config;
    config.paused = paused;
    changed(config);
    Ok(())
}
