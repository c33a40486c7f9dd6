//! Proof-of-coverage validation rules: pure functions from a report and what the oracle knows
//! (registry, entropy history, earlier verdicts) to a verdict. No I/O: the caller gathers the
//! context. Each rule has its own [`Reason`]; [`Limits`] holds every threshold.

pub mod beacon;
pub mod limits;
pub mod reason;
pub mod selection;
#[cfg(test)]
pub(crate) mod testkit;
pub mod witness;

use h3o::{CellIndex, LatLng};
use hexproof_proto::{PublicKey, region::RegionPlan};

pub use limits::Limits;
pub use reason::{Invalid, Reason};

/// What the registry says about a hotspot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotspotInfo {
    pub pubkey: PublicKey,
    pub owner: PublicKey,
    /// Asserted location (resolution 12), if any.
    pub location: Option<CellIndex>,
    /// Antenna gain, dBi x 10.
    pub gain_ddbi: i32,
    pub elevation_m: i32,
    /// When the location was asserted, ns since the Unix epoch.
    pub asserted_at_ns: u64,
    pub region: &'static RegionPlan,
}

/// Entropy this oracle published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntropyRecord {
    pub id: u64,
    pub data: Vec<u8>,
    pub timestamp_ns: u64,
    pub ttl_secs: u32,
}

impl EntropyRecord {
    pub fn expires_ns(&self) -> u64 {
        self.timestamp_ns + u64::from(self.ttl_secs) * 1_000_000_000
    }
}

/// Great-circle distance between the centres of two cells, metres (rounded).
pub fn distance_m(a: CellIndex, b: CellIndex) -> u64 {
    LatLng::from(a).distance_m(LatLng::from(b)).round() as u64
}

pub(crate) const NS_PER_SEC: u64 = 1_000_000_000;
