//! What the rules reason about: hotspots as the registry describes them, entropy the oracles
//! published, reports as stored, and verdicts.

use h3o::{CellIndex, LatLng};
use hexproof_proto::{
    PublicKey,
    location::{self, Placement, RevealError},
    region::RegionPlan,
    v1::LocationReveal,
};

use crate::Reason;

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
    /// What the chain holds in place of the exact cell (the chain registry): `location` is
    /// then `None` until one of the hotspot's reports reveals the cell ([`HotspotInfo::located`]).
    /// `None` for an operator's registry file, which names exact cells.
    pub placement: Option<Placement>,
}

impl HotspotInfo {
    /// This hotspot as a report of its own locates it: unchanged when the registry names its
    /// exact cell; at the revealed cell when the reveal opens the chain's commitment.
    pub fn located(&self, reveal: Option<&LocationReveal>) -> Result<HotspotInfo, RevealError> {
        match (&self.location, &self.placement) {
            (Some(_), _) | (None, None) => Ok(self.clone()),
            (None, Some(placed)) => {
                let cell = location::check(&self.pubkey, reveal, placed)?;
                Ok(HotspotInfo {
                    location: Some(cell),
                    ..self.clone()
                })
            }
        }
    }

    /// Where the public may place the hotspot: the exact cell's or the chain's resolution-8
    /// cell, never finer.
    pub fn public_location(&self) -> Option<CellIndex> {
        match (self.location, &self.placement) {
            (_, Some(placed)) => Some(placed.public_cell),
            (Some(cell), None) => Some(if cell.resolution() > location::PUBLIC_RESOLUTION {
                cell.parent(location::PUBLIC_RESOLUTION).unwrap_or(cell)
            } else {
                cell
            }),
            (None, None) => None,
        }
    }
}

/// Entropy an oracle published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntropyRecord {
    pub id: u64,
    pub data: Vec<u8>,
    pub timestamp_ns: u64,
    pub ttl_secs: u32,
}

impl EntropyRecord {
    pub fn expires_ns(&self) -> u64 {
        self.timestamp_ns
            .saturating_add(u64::from(self.ttl_secs).saturating_mul(crate::NS_PER_SEC))
    }
}

/// Great-circle distance between the centres of two cells, metres (rounded).
pub fn distance_m(a: CellIndex, b: CellIndex) -> u64 {
    LatLng::from(a).distance_m(LatLng::from(b)).round() as u64
}

/// What a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Undecodable = 0,
    Beacon = 1,
    Witness = 2,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Undecodable, Kind::Beacon, Kind::Witness];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Undecodable => "undecodable",
            Kind::Beacon => "beacon",
            Kind::Witness => "witness",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// From its number (the enum's discriminant).
    pub fn from_number(n: i64) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| *k as i64 == n)
    }
}

/// Where a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Pending = 0,
    Valid = 1,
    Invalid = 2,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Pending, Status::Valid, Status::Invalid];

    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Valid => "valid",
            Status::Invalid => "invalid",
        }
    }

    /// From its number (the enum's discriminant).
    pub fn from_number(n: i64) -> Option<Status> {
        Status::ALL.into_iter().find(|s| *s as i64 == n)
    }
}

/// A report as the oracle stored it: its id (the signed message's identity), what it is, who
/// published it, the beacon packet it is about, its own and its received time, its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: [u8; 32],
    pub kind: Kind,
    pub hotspot: String,
    pub packet_hash: Option<[u8; 32]>,
    pub timestamp_ns: u64,
    pub received_ns: u64,
    pub payload: Vec<u8>,
}

/// A report's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub id: [u8; 32],
    pub status: Status,
    pub reason: Option<Reason>,
    pub detail: String,
    /// Witnesses: the beacon they were matched to.
    pub beacon_id: Option<[u8; 32]>,
    /// Valid witnesses: whether selected to earn.
    pub selected: bool,
    /// The signer's exact cell as this report revealed it, for a hotspot the registry places
    /// by commitment only ([`HotspotInfo::placement`]): what the epoch's detection and rewards
    /// place it by. `None` otherwise.
    pub cell: Option<CellIndex>,
}

impl Verdict {
    pub fn valid(id: [u8; 32], beacon_id: Option<[u8; 32]>) -> Verdict {
        Verdict {
            id,
            status: Status::Valid,
            reason: None,
            detail: String::new(),
            beacon_id,
            selected: false,
            cell: None,
        }
    }

    pub fn invalid(id: [u8; 32], e: crate::Invalid, beacon_id: Option<[u8; 32]>) -> Verdict {
        Verdict {
            id,
            status: Status::Invalid,
            reason: Some(e.reason),
            detail: e.detail,
            beacon_id,
            selected: false,
            cell: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_round_trip_by_name_and_number() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.name()), Some(k));
            assert_eq!(Kind::from_number(k as i64), Some(k));
        }
        for s in Status::ALL {
            assert_eq!(Status::from_number(s as i64), Some(s));
        }
        assert_eq!(Kind::from_number(7), None);
        assert_eq!(Status::from_number(-1), None);
    }
}
