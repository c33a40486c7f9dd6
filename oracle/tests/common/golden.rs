//! The settings of the recorded net-25 reports (`fixtures/reports/net-25.jsonl`) and their
//! golden epoch 1: one definition for every test that replays them.

use oracle::{rewards::RewardConfig, validation::Limits};

/// When the recording starts, and a second, in ns.
pub const T0: u64 = 1_800_000_000_000_000_000;
pub const SEC: u64 = 1_000_000_000;

/// Hour-long epochs, epoch 1 starting just before the recording, closed without delay.
pub fn rewards() -> RewardConfig {
    RewardConfig {
        epoch_secs: 3_600,
        genesis_ns: T0 - 10 * SEC,
        close_delay_secs: 0,
        initial_emission: 1_000_000_000,
        ..RewardConfig::default()
    }
}

/// The hotspots were asserted at time 0: no minimum age.
pub fn limits() -> Limits {
    Limits {
        location_min_age_secs: 0,
        ..Limits::default()
    }
}
