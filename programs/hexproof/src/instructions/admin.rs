//! The admin's accounts, shared by the admin instructions.

use anchor_lang::prelude::*;

use crate::state::{CONFIG_SEED, Config};

/// Admin-only changes.
#[derive(Accounts)]
pub struct Admin<'info> {
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump, has_one = admin)]
    pub config: Account<'info, Config>,
    pub admin: Signer<'info>,
}

/// The proposed admin takes over.
#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump, constraint = config.pending_admin == new_admin.key() @ crate::errors::HexproofError::BadAdmin)]
    pub config: Account<'info, Config>,
    pub new_admin: Signer<'info>,
}

pub(crate) fn config_changed(config: &Config) {
    emit!(crate::events::ConfigChanged {
        admin: config.admin,
        oracles: config.oracles.clone(),
        threshold: config.threshold,
        paused: config.paused,
    });
}
