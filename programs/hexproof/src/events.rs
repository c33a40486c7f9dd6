//! Events emitted for every state change.

use anchor_lang::prelude::*;

#[event]
pub struct ConfigChanged {
    pub admin: Pubkey,
    pub oracles: Vec<Pubkey>,
    pub threshold: u8,
    pub paused: bool,
}

/// An admin change waiting for its delay: anyone watching the chain sees it coming.
#[event]
pub struct ChangeProposed {
    /// The proposed admin (default when the change is an oracle set).
    pub admin: Pubkey,
    /// The proposed oracle set (empty when the change is an admin).
    pub oracles: Vec<Pubkey>,
    pub threshold: u8,
    /// Cluster time from which it may take effect.
    pub effective_at: i64,
}

#[event]
pub struct HotspotChanged {
    pub hotspot: Pubkey,
    pub owner: Pubkey,
    /// Resolution-8 cell; the exact cell only as a commitment.
    pub location: u64,
    pub location_commitment: [u8; 32],
    pub gain_ddbi: i32,
    pub elevation_m: i32,
    pub asserted_at_slot: u64,
    pub asserted_at_ts: i64,
}

#[event]
pub struct HotspotDecommissioned {
    pub hotspot: Pubkey,
    pub owner: Pubkey,
}

#[event]
pub struct EpochSubmitted {
    pub epoch: u64,
    pub root: [u8; 32],
    pub lifetime_total: u64,
    pub oracles: Vec<Pubkey>,
}

#[event]
pub struct Claimed {
    pub hotspot: Pubkey,
    pub owner: Pubkey,
    pub amount: u64,
    pub lifetime_amount: u64,
}

/// A hotspot offered to a new owner (default: the offer withdrawn).
#[event]
pub struct TransferProposed {
    pub hotspot: Pubkey,
    pub owner: Pubkey,
    pub new_owner: Pubkey,
}

/// An oracle-set change approved by the current set and applied.
#[event]
pub struct OracleSetApplied {
    pub oracles: Vec<Pubkey>,
    pub threshold: u8,
    /// The members of the previous set whose signatures approved it.
    pub approved_by: Vec<Pubkey>,
}

#[event]
pub struct OrgChanged {
    pub oui: u64,
    pub owner: Pubkey,
    pub payer: Pubkey,
    pub dev_addrs: Vec<crate::state::DevAddrRange>,
    pub enabled: bool,
}

#[event]
pub struct RouteChanged {
    pub id: u64,
    pub oui: u64,
    pub max_copies: u8,
    pub dev_addrs: Vec<crate::state::DevAddrRange>,
    pub euis: Vec<crate::state::EuiPair>,
    pub lns: String,
    pub active: bool,
}

#[event]
pub struct RouteRemoved {
    pub id: u64,
    pub oui: u64,
}

/// Tokens burned for an org's data credits.
#[event]
pub struct CreditsBought {
    pub oui: u64,
    pub buyer: Pubkey,
    pub tokens_burned: u64,
    pub credits: u64,
    pub dc_balance: u64,
}

/// An org's charges committed by the oracles, taken from its balance.
#[event]
pub struct CreditsSettled {
    pub oui: u64,
    /// Newly settled charges, what of them the balance paid, and the balance left.
    pub charged: u64,
    pub paid: u64,
    pub dc_balance: u64,
    pub lifetime_dc: u64,
}
