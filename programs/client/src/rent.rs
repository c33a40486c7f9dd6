//! What the accounts a payer creates lock in rent (lamports, rent-exempt minimum): what a maker
//! budgets before it pays for an owner.

use anchor_lang::{Space, prelude::Rent};
use hexproof_program::state::{Hotspot, Ledger};

fn exempt(len: usize) -> u64 {
    Rent::default().minimum_balance(len)
}

/// A hotspot's record.
pub fn hotspot() -> u64 {
    exempt(8 + Hotspot::INIT_SPACE)
}

/// A hotspot's ledger (created once per key, kept through re-onboarding).
pub fn ledger() -> u64 {
    exempt(8 + Ledger::INIT_SPACE)
}

/// An owner's SPL token account.
pub fn token_account() -> u64 {
    exempt(165)
}
