//! What an epoch's verdicts earn: the reward rules over verdict tallies. The store counts
//! verdicts by hotspot, kind, status, reason and flags ([`Tally`]); everything that decides
//! what those counts are worth lives here.
//!
//! - A valid beacon earns only when someone validly witnessed it: a beacon nobody can hear
//!   proves no coverage.
//! - A valid witness earns only when selected (at most `max_witnesses_per_beacon` per beacon).
//! - A hotspot with `fraud_suspension_threshold` or more witnesses rejected for reasons that
//!   point at the witness itself ([`FRAUD_REASONS`]) earns nothing that epoch.
//! - Reciprocity (HIP-106): witness units count only for a hotspot that itself sent a valid
//!   beacon someone validly witnessed in the epoch; a receive-only key earns nothing.
//! - A hotspot that detection ([`crate::detect`]) found cheating earns nothing that epoch, data
//!   rewards included ([`suspended`]: the copies it carried still cost their orgs, and what
//!   they would have paid it goes to coverage).
//! - Each earning hotspot's units are scaled by its hex density ([`super::density`]), counted
//!   over the hotspots that earn in the epoch (units left after every rule above): dormant keys
//!   asserted into a rival's hex, and keys found cheating there, do not cut its scale.

use std::collections::BTreeMap;

use h3o::CellIndex;
use hexproof_proto::PublicKey;

use super::{Activity, RewardConfig, density};
use crate::{HotspotInfo, Kind, Reason, Status, detect::Detection};

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

/// The epoch's activity from its tallies, the hotspots' asserted locations (for density) and
/// what detection found ([`crate::detect`]: suspended hotspots earn nothing; pardoned
/// `witness_rssi_too_high` verdicts do not count towards fraud suspension).
pub fn activity(
    tallies: &[Tally],
    hotspots: &[HotspotInfo],
    config: &RewardConfig,
    detection: &Detection,
) -> Activity {
    let mut beacons: BTreeMap<PublicKey, u64> = BTreeMap::new();
    let mut witnesses: BTreeMap<PublicKey, u64> = BTreeMap::new();
    for t in tallies {
        match (t.kind, t.status) {
            (Kind::Beacon, Status::Valid) if t.witnessed => {
                *beacons.entry(t.hotspot).or_default() += t.count
            }
            (Kind::Witness, Status::Valid) if t.selected => {
                *witnesses.entry(t.hotspot).or_default() += t.count
            }
            _ => {}
        }
    }
    for hotspot in suspended(tallies, config, detection) {
        beacons.remove(&hotspot);
        witnesses.remove(&hotspot);
    }
    witnesses.retain(|hotspot, _| beacons.contains_key(hotspot));
    let cells: Vec<CellIndex> = hotspots
        .iter()
        .filter(|h| beacons.contains_key(&h.pubkey) || witnesses.contains_key(&h.pubkey))
        .filter_map(|h| h.location)
        .collect();
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

/// The hotspots that earn nothing this epoch: found by detection, or with at least
/// `fraud_suspension_threshold` witnesses rejected for [`FRAUD_REASONS`] (less those detection
/// pardoned).
pub fn suspended(
    tallies: &[Tally],
    config: &RewardConfig,
    detection: &Detection,
) -> std::collections::BTreeSet<PublicKey> {
    let mut out: std::collections::BTreeSet<PublicKey> =
        detection.suspended.iter().copied().collect();
    if config.fraud_suspension_threshold > 0 {
        let mut fraud: BTreeMap<PublicKey, u64> = BTreeMap::new();
        for t in tallies {
            if (t.kind, t.status) == (Kind::Witness, Status::Invalid)
                && t.reason.is_some_and(|r| FRAUD_REASONS.contains(&r))
            {
                *fraud.entry(t.hotspot).or_default() += t.count;
            }
        }
        for (hotspot, n) in fraud {
            let n = n.saturating_sub(detection.pardoned.get(&hotspot).copied().unwrap_or(0));
            if n >= config.fraud_suspension_threshold {
                out.insert(hotspot);
            }
        }
    }
    out
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

    /// A valid beacon of `hotspot` that someone validly witnessed.
    fn heard_beacon(hotspot: u8) -> Tally {
        Tally {
            witnessed: true,
            ..tally(hotspot, Kind::Beacon, Status::Valid, None)
        }
    }

    fn earning_witness(hotspot: u8, count: u64) -> Tally {
        Tally {
            selected: true,
            count,
            ..tally(hotspot, Kind::Witness, Status::Valid, None)
        }
    }

    #[test]
    fn beacons_earn_when_witnessed_and_witnesses_when_selected() {
        let tallies = vec![
            Tally {
                count: 2,
                ..heard_beacon(1)
            },
            Tally {
                count: 5,
                ..tally(1, Kind::Beacon, Status::Valid, None)
            },
            heard_beacon(2),
            earning_witness(2, 3),
            heard_beacon(3),
            Tally {
                count: 9,
                ..tally(3, Kind::Witness, Status::Valid, None)
            },
        ];
        let a = activity(
            &tallies,
            &[],
            &RewardConfig::default(),
            &Detection::default(),
        );
        assert_eq!(a.beacons, [(key(1), 2), (key(2), 1), (key(3), 1)].into());
        assert_eq!(a.witnesses, [(key(2), 3)].into());
    }

    /// Attack 6 of the anti-gaming issue: a key that only witnesses (never transmits, or
    /// transmits where nobody hears it) used to earn from the witness pool. HIP-106: no
    /// witness units without a witnessed beacon of one's own in the epoch.
    #[test]
    fn witness_only_hotspots_earn_nothing() {
        let tallies = vec![
            heard_beacon(1),
            earning_witness(1, 4),
            earning_witness(2, 40),
            tally(3, Kind::Beacon, Status::Valid, None), // sent, nobody heard it
            earning_witness(3, 40),
        ];
        let a = activity(
            &tallies,
            &[],
            &RewardConfig::default(),
            &Detection::default(),
        );
        assert_eq!(a.witnesses, [(key(1), 4)].into());
        assert!(!a.scales.contains_key(&key(2)) && !a.scales.contains_key(&key(3)));
    }

    /// Attack 9 of the anti-gaming issue: dormant keys asserted into a rival's hex used to cut
    /// its density scale (every registered hotspot counted). Only hotspots that earn count now.
    #[test]
    fn dormant_keys_do_not_cut_a_rivals_scale() {
        let cell = h3o::LatLng::new(52.52, 13.405)
            .unwrap()
            .to_cell(h3o::Resolution::Twelve);
        let info = |i: u8| HotspotInfo {
            pubkey: key(i),
            owner: key(200),
            location: Some(cell),
            gain_ddbi: 30,
            elevation_m: 5,
            asserted_at_ns: 0,
            region: &hexproof_proto::region::EU868,
            placement: None,
        };
        let hotspots: Vec<HotspotInfo> = (1..=30).map(info).collect();
        let config = RewardConfig::default();
        let alone = activity(
            &[heard_beacon(1)],
            &hotspots[..1],
            &config,
            &Detection::default(),
        );
        assert_eq!(alone.scales[&key(1)], density::SCALE_ONE);
        // 29 dormant keys in the same hex: the rival keeps its full scale.
        let crowded = activity(
            &[heard_beacon(1)],
            &hotspots,
            &config,
            &Detection::default(),
        );
        assert_eq!(crowded.scales[&key(1)], density::SCALE_ONE);
        // 29 earning hotspots in the same hex do share it.
        let active: Vec<Tally> = (1..=30).map(heard_beacon).collect();
        let shared = activity(&active, &hotspots, &config, &Detection::default());
        assert!(
            shared.scales[&key(1)] < density::SCALE_ONE,
            "{:?}",
            shared.scales
        );
        // 29 active keys found cheating (suspended) do not.
        let found = Detection {
            suspended: (2..=30).map(key).collect(),
            ..Detection::default()
        };
        let cheated = activity(&active, &hotspots, &config, &found);
        assert_eq!(cheated.scales[&key(1)], density::SCALE_ONE);
    }

    #[test]
    fn forged_or_replayed_witnesses_suspend_a_hotspot_but_distance_does_not() {
        let config = RewardConfig::default();
        let mut tallies = vec![
            heard_beacon(1),
            heard_beacon(2),
            heard_beacon(3),
            earning_witness(1, 10),
            earning_witness(2, 10),
            earning_witness(3, 10),
        ];
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
        let a = activity(&tallies, &[], &config, &Detection::default());
        assert!(!a.witnesses.contains_key(&key(1)), "suspended");
        assert_eq!(a.witnesses[&key(2)], 10, "below the threshold");
        assert_eq!(a.witnesses[&key(3)], 10, "too far is not fraud");
        // The same set loses its data rewards (a replayer relaying devices' frames it never
        // heard is paid nothing for them).
        assert_eq!(
            suspended(&tallies, &config, &Detection::default()),
            [key(1)].into()
        );
    }

    #[test]
    fn detection_suspends_the_found_and_pardons_the_griefed() {
        let config = RewardConfig::default();
        let mut tallies = vec![
            heard_beacon(1),
            heard_beacon(2),
            earning_witness(1, 10),
            earning_witness(2, 10),
        ];
        // Witness 2 was "too loud" on a griefer's beacons, enough to be suspended.
        tallies.push(Tally {
            count: config.fraud_suspension_threshold,
            ..tally(
                2,
                Kind::Witness,
                Status::Invalid,
                Some(Reason::WitnessRssiTooHigh),
            )
        });
        let plain = activity(&tallies, &[], &config, &Detection::default());
        assert!(plain.witnesses.contains_key(&key(1)));
        assert!(!plain.witnesses.contains_key(&key(2)));
        let detection = Detection {
            suspended: [key(1)].into(),
            pardoned: [(key(2), config.fraud_suspension_threshold)].into(),
            ..Detection::default()
        };
        let a = activity(&tallies, &[], &config, &detection);
        assert!(!a.beacons.contains_key(&key(1)) && !a.witnesses.contains_key(&key(1)));
        assert_eq!(a.witnesses[&key(2)], 10, "pardoned: the beaconer lied");
    }
}
