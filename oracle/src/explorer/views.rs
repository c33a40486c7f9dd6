//! What the explorer answers, as plain values: the gRPC service ([`super::grpc`]) turns them
//! into protobuf messages and the web API ([`super::web`]) into JSON.

use std::collections::BTreeMap;

pub use crate::store::ReportView;

/// A registered hotspot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotspotView {
    pub pubkey: String,
    pub owner: String,
    /// Asserted cell (empty when none).
    pub location: String,
    pub gain_ddbi: i32,
    pub elevation_m: i32,
    pub asserted_at_ns: u64,
    /// Lifetime reward after the newest closed epoch.
    pub lifetime_reward: u64,
}

/// A hex of any resolution: a page of its hotspots and what all their verdicts add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexView {
    pub cell: String,
    pub resolution: u32,
    /// A page of the hotspots in the cell, by key.
    pub hotspots: Vec<String>,
    /// All hotspots in the cell.
    pub hotspot_count: u64,
    /// Where the next page of hotspots starts; empty after the last.
    pub next_page_token: String,
    pub valid_beacons: u64,
    pub valid_witnesses: u64,
    pub invalid_reports: u64,
    pub rssi_min_ddbm: i32,
    pub rssi_median_ddbm: i32,
    pub rssi_max_ddbm: i32,
    pub snr_median_ddb: i32,
    pub lifetime_reward: u64,
}

/// A closed epoch's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochView {
    pub epoch: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub merkle_root: [u8; 32],
    pub lifetime_total: u64,
    pub paid: u64,
    pub dust: u64,
    pub hotspot_count: u32,
    /// (oracle key, signature) pairs.
    pub signatures: Vec<([u8; 32], [u8; 64])>,
    /// The coverage/data split: the data pool, what it paid, what was re-minted for the
    /// credits spent; and each org's charges (credits in the epoch, in all).
    pub data_pool: u64,
    pub data_paid: u64,
    pub remint: u64,
    pub orgs: Vec<hexproof_poc::rewards::epoch::OrgRow>,
}

/// What a hotspot earned in one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochRewardView {
    pub epoch: u64,
    pub beacon: u64,
    pub witness: u64,
    /// From the data pool, for `dc` credits carried.
    pub data: u64,
    pub dc: u64,
}

/// A hotspot's rewards, epoch by epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardsView {
    pub hotspot: String,
    pub epochs: Vec<EpochRewardView>,
    pub lifetime: u64,
}

/// What a claim needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofView {
    pub hotspot: String,
    pub epoch: u64,
    pub lifetime_amount: u64,
    pub merkle_root: [u8; 32],
    pub siblings: Vec<[u8; 32]>,
    pub leaf_index: u64,
}

/// The network at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkView {
    pub hotspots: u64,
    pub asserted_hotspots: u64,
    pub reports: u64,
    pub valid_beacons: u64,
    pub valid_witnesses: u64,
    pub invalid_reports: u64,
    pub latest_epoch: u64,
    pub lifetime_rewards: u64,
    pub invalid_by_reason: BTreeMap<String, u64>,
}
