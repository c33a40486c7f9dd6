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
    pub placement: Option<Placed>,
}

/// A hotspot's placements on chain: the current one, and the one before the newest assertion
/// (reports stamped before `asserted_at_ns` reveal that one, so moving does not void what the
/// hotspot did before it moved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub current: Placement,
    pub previous: Option<Placement>,
}

impl Placed {
    /// Placed at `current` only (a first assertion).
    pub fn at(current: Placement) -> Placed {
        Placed {
            current,
            previous: None,
        }
    }
}

impl HotspotInfo {
    /// This hotspot as a report of its own, stamped `stamped_ns`, locates it: unchanged when the
    /// registry names its exact cell; at the revealed cell when the reveal opens the chain's
    /// commitment (the previous one for a report stamped before the newest assertion).
    pub fn located(
        &self,
        reveal: Option<&LocationReveal>,
        stamped_ns: u64,
    ) -> Result<HotspotInfo, RevealError> {
        match (&self.location, &self.placement) {
            (Some(_), _) | (None, None) => Ok(self.clone()),
            (None, Some(placed)) => {
                let before = placed.previous.filter(|_| stamped_ns < self.asserted_at_ns);
                let cell = location::check(
                    &self.pubkey,
                    reveal,
                    before.as_ref().unwrap_or(&placed.current),
                )?;
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
            (_, Some(placed)) => Some(placed.current.public_cell),
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

#[cfg(test)]
mod placement_tests {
    use hexproof_proto::{Keypair, location, region};

    use super::*;

    /// A hotspot that moved: reports stamped before the assertion open the previous placement,
    /// later ones the current one only; nothing opens a placement it was not made for.
    #[test]
    fn reports_before_a_move_reveal_the_old_cell_and_after_it_the_new() {
        let key = Keypair::generate();
        let cell = |lat: f64| {
            LatLng::new(lat, 13.405)
                .unwrap()
                .to_cell(h3o::Resolution::Twelve)
        };
        let (old, new) = (cell(52.52), cell(52.60));
        let moved_at = 1_000;
        let h = HotspotInfo {
            pubkey: key.public(),
            owner: key.public(),
            location: None,
            gain_ddbi: 30,
            elevation_m: 5,
            asserted_at_ns: moved_at,
            region: &region::EU868,
            placement: Some(Placed {
                current: location::placement(&key, new).unwrap(),
                previous: location::placement(&key, old),
            }),
        };
        let at = |c: CellIndex, stamped: u64| {
            h.located(Some(&location::reveal(&key, c)), stamped)
                .map(|h| h.location)
        };
        assert_eq!(at(old, moved_at - 1), Ok(Some(old)));
        assert_eq!(at(new, moved_at), Ok(Some(new)));
        assert!(at(old, moved_at).is_err(), "the old cell after the move");
        assert!(
            at(new, moved_at - 1).is_err(),
            "the new cell before the move"
        );
        // A first assertion (no previous): every report opens the current one.
        let first = HotspotInfo {
            placement: h.placement.map(|p| Placed::at(p.current)),
            ..h.clone()
        };
        assert_eq!(
            first
                .located(Some(&location::reveal(&key, new)), 0)
                .unwrap()
                .location,
            Some(new)
        );
        assert_eq!(h.public_location(), new.parent(location::PUBLIC_RESOLUTION));
    }
}
