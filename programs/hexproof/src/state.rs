//! Accounts the program owns.

use anchor_lang::prelude::*;

/// Most oracles a configuration holds.
pub const MAX_ORACLES: usize = 7;

/// The program's configuration (PDA `["config"]`); also the mint authority of the reward token.
#[account]
#[derive(InitSpace, Debug)]
pub struct Config {
    pub admin: Pubkey,
    #[max_len(MAX_ORACLES)]
    pub oracles: Vec<Pubkey>,
    /// Distinct oracle signatures an epoch needs.
    pub threshold: u8,
    /// The reward mint (PDA `["mint"]`).
    pub mint: Pubkey,
    /// Emission schedule: epoch 1 may emit `initial_emission`, halved every `halving_interval`
    /// epochs. Cumulative minting never exceeds its sum up to the newest epoch.
    pub initial_emission: u64,
    pub halving_interval: u64,
    /// The newest accepted epoch, its Merkle root and lifetime total.
    pub epoch: u64,
    pub root: [u8; 32],
    pub lifetime_total: u64,
    /// Everything claimed so far.
    pub minted: u64,
    pub paused: bool,
    pub bump: u8,
    pub mint_bump: u8,
}

impl Config {
    pub fn schedule(&self) -> hexproof_commitment::EmissionSchedule {
        hexproof_commitment::EmissionSchedule {
            initial_per_epoch: self.initial_emission,
            halving_interval: self.halving_interval,
        }
    }
}

/// A registered hotspot (PDA `["hotspot", hotspot key]`).
#[account]
#[derive(InitSpace, Debug)]
pub struct Hotspot {
    /// The hotspot's own ed25519 key (what signs its reports).
    pub hotspot: Pubkey,
    pub owner: Pubkey,
    /// Asserted H3 resolution-12 cell.
    pub location: u64,
    /// Antenna gain, dBi x 10; elevation, metres.
    pub gain_ddbi: i32,
    pub elevation_m: i32,
    /// Slot of the newest location assertion.
    pub asserted_at_slot: u64,
    pub bump: u8,
}

/// What a hotspot key has been paid (PDA `["ledger", hotspot key]`). Kept apart from the
/// [`Hotspot`] record and never closed, so decommissioning and re-onboarding a hotspot cannot
/// reset it and claim the same lifetime reward twice.
#[account]
#[derive(InitSpace, Debug)]
pub struct Ledger {
    pub hotspot: Pubkey,
    /// Lifetime reward already minted for this hotspot.
    pub claimed: u64,
    pub bump: u8,
}

impl Hotspot {
    /// Moves the hotspot (or changes its antenna) as of `slot`.
    pub fn assert_location(&mut self, location: u64, gain_ddbi: i32, elevation_m: i32, slot: u64) {
        self.location = location;
        self.gain_ddbi = gain_ddbi;
        self.elevation_m = elevation_m;
        self.asserted_at_slot = slot;
    }

    /// The event describing the hotspot as it now is.
    pub fn changed(&self) -> crate::events::HotspotChanged {
        crate::events::HotspotChanged {
            hotspot: self.hotspot,
            owner: self.owner,
            location: self.location,
            gain_ddbi: self.gain_ddbi,
            elevation_m: self.elevation_m,
            asserted_at_slot: self.asserted_at_slot,
        }
    }
}

pub const CONFIG_SEED: &[u8] = b"config";
pub const MINT_SEED: &[u8] = b"mint";
pub const HOTSPOT_SEED: &[u8] = b"hotspot";
pub const LEDGER_SEED: &[u8] = b"ledger";
