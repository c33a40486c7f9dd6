//! What an epoch's verdicts earn: the reward rules over verdict tallies. The store counts
//! verdicts by hotspot, kind, status, reason and flags ([`Tally`]); everything that decides
//! what those counts are worth lives here.
//!
//! - A valid beacon earns only when someone validly witnessed it: a beacon nobody can hear
//!   proves no coverage.
//! - A valid witness earns only when selected (at most `max_witnesses_per_beacon` per beacon).
//! - A hotspot with `fraud_suspension_threshold` or more witnesses rejected for reasons that
//!   point at the witness itself ([`FRAUD_REASONS`]) earns nothing that epoch.
//! - Each earning hotspot's units are scaled by its hex density ([`super::density`]).

use std::collections::BTreeMap;

use h3o::CellIndex;
use hexproof_proto::PublicKey;

use super::{Activity, RewardConfig, density};
use crate::{HotspotInfo, Kind, Reason, Status};

/// Witness rejections that point at the witness itself: a replayed packet (heard outside the
/// time window) or a forged signal (stronger than free space allows). `witness_too_far` is not
/// among them: it also hits honest neighbours of a beaconer that lies about its location (and
/// such a liar earns nothing anyway, as nobody validly witnesses it).
pub const FRAUD_REASONS: &[Reason] = &[Reason::WitnessTimeWindow, Reason::WitnessRssiTooHigh];

/// How many reports of one hotspot in an epoch share a kind, status, reason and flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub hotspot: PublicKey,
    pub kind: Kind,
    pub status: Status,
    pub reason: Option<Reason>,
    /// Witnesses: selected to earn.
    pub selected: bool,
    /// Beacons: at least one valid witness heard it.
    pub witnessed: bool,
    pub count: u64,
}

/// The epoch's activity from its tallies and the hotspots' asserted locations (for density).
pub fn activity(tallies: &[Tally], hotspots: &[HotspotInfo], config: &RewardConfig) -> Activity {
    let mut beacons: BTreeMap<PublicKey, u64> = BTreeMap::new();
    let mut witnesses: BTreeMap<PublicKey, u64> = BTreeMap::new();
    let mut fraud: BTreeMap<PublicKey, u64> = BTreeMap::new();
    for t in tallies {
        match (t.kind, t.status) {
            (Kind::Beacon, Status::Valid) if t.witnessed => {
                *beacons.entry(t.hotspot).or_default() += t.count
            }
            (Kind::Witness, Status::Valid) if t.selected => {
                *witnesses.entry(t.hotspot).or_default() += t.count
            }
            (Kind::Witness, Status::Invalid)
                if t.reason.is_some_and(|r| FRAUD_REASONS.contains(&r)) =>
            {
                *fraud.entry(t.hotspot).or_default() += t.count
            }
            _ => {}
        }
    }
    if config.fraud_suspension_threshold > 0 {
        for (hotspot, n) in fraud {
            if n >= config.fraud_suspension_threshold {
                beacons.remove(&hotspot);
                witnesses.remove(&hotspot);
            }
        }
    }
    let cells: Vec<CellIndex> = hotspots.iter().filter_map(|h| h.location).collect();
    let cell_scales = density::scales(&cells, &config.density);
    let scales = hotspots
        .iter()
        .filter(|h| beacons.contains_key(&h.pubkey) || witnesses.contains_key(&h.pubkey))
        .map(|h| {
            (
                h.pubkey,
                h.location
                    .and_then(|c| cell_scales.get(&c).copied())
                    .unwrap_or(density::SCALE_ONE),
            )
        })
        .collect();
    Activity {
        beacons,
        witnesses,
        scales,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> PublicKey {
        PublicKey::from([i; 32])
    }

    fn tally(hotspot: u8, kind: Kind, status: Status, reason: Option<Reason>) -> Tally {
        Tally {
            hotspot: key(hotspot),
            kind,
            status,
            reason,
            selected: false,
            witnessed: false,
            count: 1,
        }
    }

    #[test]
    fn beacons_earn_when_witnessed_and_witnesses_when_selected() {
        let tallies = vec![
            Tally {
                witnessed: true,
                count: 2,
                ..tally(1, Kind::Beacon, Status::Valid, None)
            },
            Tally {
                count: 5,
                ..tally(1, Kind::Beacon, Status::Valid, None)
            },
            Tally {
                selected: true,
                count: 3,
                ..tally(2, Kind::Witness, Status::Valid, None)
            },
            Tally {
                count: 9,
                ..tally(3, Kind::Witness, Status::Valid, None)
            },
        ];
        let a = activity(&tallies, &[], &RewardConfig::default());
        assert_eq!(a.beacons, [(key(1), 2)].into());
        assert_eq!(a.witnesses, [(key(2), 3)].into());
    }

    #[test]
    fn forged_or_replayed_witnesses_suspend_a_hotspot_but_distance_does_not() {
        let config = RewardConfig::default();
        let earning = |h| Tally {
            selected: true,
            count: 10,
            ..tally(h, Kind::Witness, Status::Valid, None)
        };
        let mut tallies = vec![earning(1), earning(2), earning(3)];
        tallies.push(Tally {
            count: config.fraud_suspension_threshold,
            ..tally(
                1,
                Kind::Witness,
                Status::Invalid,
                Some(Reason::WitnessRssiTooHigh),
            )
        });
        tallies.push(Tally {
            count: config.fraud_suspension_threshold - 1,
            ..tally(
                2,
                Kind::Witness,
                Status::Invalid,
                Some(Reason::WitnessTimeWindow),
            )
        });
        tallies.push(Tally {
            count: 100,
            ..tally(
                3,
                Kind::Witness,
                Status::Invalid,
                Some(Reason::WitnessTooFar),
            )
        });
        let a = activity(&tallies, &[], &config);
        assert!(!a.witnesses.contains_key(&key(1)), "suspended");
        assert_eq!(a.witnesses[&key(2)], 10, "below the threshold");
        assert_eq!(a.witnesses[&key(3)], 10, "too far is not fraud");
    }
}
