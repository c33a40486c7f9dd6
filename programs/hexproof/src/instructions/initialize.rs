use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenInterface};

use crate::{
    errors::HexproofError,
    events::ConfigChanged,
    state::{
        AntennaBounds, CONFIG_SEED, Config, MAX_CHANGE_DELAY_SECS, MAX_GENESIS_TS,
        MAX_ONBOARDING_FEE, MAX_ORACLES, MAX_PERIOD_SECS, MIN_CHANGE_DELAY_SECS,
        MIN_ONBOARDING_FEE, MINT_SEED, MintWindow,
    },
};

/// Everything a deployment is set up with.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitializeArgs {
    pub oracles: Vec<Pubkey>,
    pub threshold: u8,
    pub initial_emission: u64,
    pub halving_interval: u64,
    /// Epoch n ends at `genesis_ts + n × epoch_secs` (cluster time, seconds).
    pub genesis_ts: i64,
    pub epoch_secs: i64,
    /// This deployment's value in every signed epoch message: random per deployment (never
    /// all zeros), so that two clusters never accept each other's epochs.
    pub deployment: [u8; 32],
    /// Delay of admin changes, seconds (a day to 90 days).
    pub change_delay_secs: i64,
    /// The windowed mint limit: at most a year's window, and a limit that lets at least the
    /// first epochs' emission through per epoch (or owners' rewards would pile up unpaid).
    pub mint_window_secs: i64,
    pub mint_window_limit: u64,
    pub antenna: AntennaBounds,
    /// Lamports each onboarding pays into the treasury: 0, or 0.001 to 1,000 SOL.
    pub onboarding_fee: u64,
    /// Data credits one whole token buys (at least 1).
    pub dc_per_token: u64,
}

/// Creates the configuration and the reward mint, whose authority is the configuration PDA.
/// Only the program's upgrade authority may: whoever deployed it, not whoever calls first.
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
    /// The program's data account (owned by the upgradeable loader, at its PDA of the program
    /// id): it names the upgrade authority.
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = anchor_lang::solana_program::bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(admin.key())
            @ HexproofError::NotUpgradeAuthority,
    )]
    pub program_data: Account<'info, ProgramData>,
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
            && oracles.len() <= MAX_ORACLES
            && distinct
            && threshold >= 1
            && usize::from(threshold) <= oracles.len(),
        HexproofError::BadOracleSet
    );
    Ok(())
}

/// Checks the parameters of a deployment: ranges that keep the clock arithmetic far from
/// overflow, a deployment value that is not all zeros, and a mint window that can pay out the
/// emission as fast as it accrues (liveness: every owner is eventually paid in full).
pub fn check_args(args: &InitializeArgs) -> Result<()> {
    check_oracle_set(&args.oracles, args.threshold)?;
    let a = args.antenna;
    let period = 1..=MAX_PERIOD_SECS;
    // Per second, the window pays out `limit / window`; the schedule emits at most
    // `initial_emission / epoch`.
    let keeps_up = u128::from(args.mint_window_limit) * args.epoch_secs.max(1) as u128
        >= u128::from(args.initial_emission) * args.mint_window_secs.max(1) as u128;
    require!(
        period.contains(&args.epoch_secs)
            && period.contains(&args.mint_window_secs)
            && (0..=MAX_GENESIS_TS).contains(&args.genesis_ts)
            && args.halving_interval > 0
            && args.initial_emission > 0
            && (MIN_CHANGE_DELAY_SECS..=MAX_CHANGE_DELAY_SECS).contains(&args.change_delay_secs)
            && args.mint_window_limit > 0
            && keeps_up
            && args.deployment != [0; 32]
            && args.dc_per_token > 0
            && a.min_gain_ddbi <= a.max_gain_ddbi
            && a.min_elevation_m <= a.max_elevation_m
            && (args.onboarding_fee == 0
                || (MIN_ONBOARDING_FEE..=MAX_ONBOARDING_FEE).contains(&args.onboarding_fee)),
        HexproofError::BadConfig
    );
    Ok(())
}

pub fn handler(ctx: Context<Initialize>, args: InitializeArgs) -> Result<()> {
    check_args(&args)?;
    let config = &mut ctx.accounts.config;
    config.admin = ctx.accounts.admin.key();
    config.pending_admin = Pubkey::default();
    config.pending_admin_at = 0;
    config.oracles = args.oracles;
    config.threshold = args.threshold;
    config.pending_oracles = Vec::new();
    config.pending_threshold = 0;
    config.pending_oracles_at = 0;
    config.change_delay_secs = args.change_delay_secs;
    config.mint = ctx.accounts.mint.key();
    config.deployment = args.deployment;
    config.initial_emission = args.initial_emission;
    config.halving_interval = args.halving_interval;
    config.genesis_ts = args.genesis_ts;
    config.epoch_secs = args.epoch_secs;
    config.epoch = 0;
    config.root = [0; 32];
    config.lifetime_total = 0;
    config.minted = 0;
    config.excess = 0;
    config.breaker = MintWindow {
        window_secs: args.mint_window_secs,
        limit: args.mint_window_limit,
        value: 0,
        updated_ts: 0,
    };
    config.antenna = args.antenna;
    config.onboarding_fee = args.onboarding_fee;
    config.dc_per_token = args.dc_per_token;
    config.burned = 0;
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
