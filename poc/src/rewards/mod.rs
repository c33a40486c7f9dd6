//! Coverage rewards: from an epoch's valid activity to token amounts per hotspot, lifetime
//! totals and the Merkle commitment. Pure functions on integers: [`activity`] turns an epoch's
//! verdicts into what earns, [`density`] scales crowded hexes, [`compute`] splits the emission,
//! [`epoch`] builds and signs the closed epoch.
//!
//! For an epoch with emission `E` (from [`hexproof_commitment::EmissionSchedule`]):
//!
//! - the beacon pool is `E × beacon_share_bps / 10 000`, the witness pool the rest;
//! - each valid beacon earns its beaconer `scale` units, each *selected* valid witness earns its
//!   witness `scale` units, `scale` being the hotspot's hex density scale (1 = 10^6, see
//!   [`density`]);
//! - a hotspot receives `pool × its units / (10^6 × the pool's report count)`, floored. Dividing
//!   by the *unscaled* total means density scaling only ever takes away: what it removes, what
//!   flooring leaves and pools nobody earned are the epoch's **dust**, recorded, so that
//!   `paid + dust = E` exactly.
//!
//! Lifetime amounts accumulate over epochs; the tree commits to `(hotspot, lifetime)` for every
//! hotspot that ever earned, sorted by key.

pub mod activity;
pub mod density;
pub mod epoch;

use std::collections::BTreeMap;

use hexproof_commitment::{MerkleTree, leaf};
use hexproof_proto::PublicKey;
use serde::{Deserialize, Serialize};

pub use density::{ResolutionTarget, SCALE_ONE};

/// Reward settings (`[rewards]` in the config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RewardConfig {
    /// Epoch length, seconds. Default 86 400 (a day); demos use seconds.
    pub epoch_secs: u64,
    /// Start of epoch 1, ns since the Unix epoch. Default 2026-01-01T00:00:00Z.
    pub genesis_ns: u64,
    /// An epoch closes this long after it ends (late reports may still arrive), seconds.
    /// Default 2 700: the oracle's `max_report_age_secs`.
    pub close_delay_secs: u64,
    /// Emission of epoch 1 in base units, halved every `halving_interval` epochs.
    pub initial_emission: u64,
    pub halving_interval: u64,
    /// Share of the emission for beaconers, basis points; witnesses get the rest. Default 2 000:
    /// Helium's IoT proof-of-coverage split of about 1 : 4 between beacons and witnesses.
    pub beacon_share_bps: u64,
    /// A hotspot with at least this many witnesses rejected in an epoch for reasons that point
    /// at the witness itself (`witness_time_window`: a replayed packet; `witness_rssi_too_high`:
    /// a forged signal) earns nothing that epoch, beacons included. (`witness_too_far` is not
    /// among them: it also hits honest neighbours of a beaconer that lies about its location;
    /// such a liar earns nothing anyway, as nobody validly witnesses it.) 0 switches the rule
    /// off. Default 3.
    pub fraud_suspension_threshold: u64,
    /// The hex density table (HIP-17 as amended by HIP-104).
    pub density: Vec<ResolutionTarget>,
    /// The program id signatures are bound to (base58).
    pub program_id: PublicKey,
    /// The deployment's value (fixed when the program was initialized) signatures are bound
    /// to, so a signature for one cluster never counts on another (64 hex digits).
    pub deployment: DeploymentId,
}

/// A deployment's value in every signed epoch message: 32 bytes, written as hex.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DeploymentId(pub [u8; 32]);

impl std::fmt::Display for DeploymentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for DeploymentId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not 64 hex digits");
        if s.len() != 64 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(DeploymentId(out))
    }
}

impl Serialize for DeploymentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for DeploymentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The default program id signatures are bound to: sha256("hexproof program id v1") as an
/// address. A deployment sets its own.
pub const DEFAULT_PROGRAM_ID: &str = "G8PxyAiUJVwPBpvsqXwffosq7XJv7UU4PTmg5NMoPN9v";

impl Default for RewardConfig {
    fn default() -> Self {
        RewardConfig {
            epoch_secs: 86_400,
            genesis_ns: 1_767_225_600_000_000_000,
            close_delay_secs: 2_700,
            initial_emission: 1_000_000_000_000,
            halving_interval: 730,
            beacon_share_bps: 2_000,
            fraud_suspension_threshold: 3,
            density: density::default_table(),
            program_id: DEFAULT_PROGRAM_ID
                .parse()
                .unwrap_or(PublicKey::from([0; 32])),
            deployment: DeploymentId::default(),
        }
    }
}

impl RewardConfig {
    /// The deployment signatures are bound to.
    pub fn deployment(&self) -> hexproof_commitment::Deployment {
        hexproof_commitment::Deployment {
            program_id: self.program_id.to_bytes(),
            id: self.deployment.0,
        }
    }

    pub fn schedule(&self) -> hexproof_commitment::EmissionSchedule {
        hexproof_commitment::EmissionSchedule {
            initial_per_epoch: self.initial_emission,
            halving_interval: self.halving_interval,
        }
    }

    /// The epoch (from 1) a timestamp falls in; 0 before genesis.
    pub fn epoch_of(&self, timestamp_ns: u64) -> u64 {
        if timestamp_ns < self.genesis_ns {
            0
        } else {
            (timestamp_ns - self.genesis_ns) / (self.epoch_secs.max(1) * 1_000_000_000) + 1
        }
    }

    /// `[start, end)` of an epoch, ns; saturating at `u64::MAX` (an epoch number from the
    /// network, say epoch 2^64 − 1 in a peer's request, is an empty window far in the future,
    /// never an overflow).
    pub fn bounds(&self, epoch: u64) -> (u64, u64) {
        let len = self.epoch_secs.max(1).saturating_mul(1_000_000_000);
        let start = self
            .genesis_ns
            .saturating_add((epoch.max(1) - 1).saturating_mul(len));
        (start, start.saturating_add(len))
    }
}

/// What earned in an epoch: valid beacons and selected valid witnesses per hotspot, and each
/// hotspot's density scale (millionths; 10^6 when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    pub beacons: BTreeMap<PublicKey, u64>,
    pub witnesses: BTreeMap<PublicKey, u64>,
    pub scales: BTreeMap<PublicKey, u64>,
}

/// One hotspot's reward for one epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotspotReward {
    pub beacon: u64,
    pub witness: u64,
}

impl HotspotReward {
    pub fn total(&self) -> u64 {
        self.beacon + self.witness
    }
}

/// An epoch's rewards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpochRewards {
    pub emission: u64,
    pub rewards: BTreeMap<PublicKey, HotspotReward>,
    pub paid: u64,
    pub dust: u64,
}

fn pay(
    pool: u64,
    counts: &BTreeMap<PublicKey, u64>,
    scales: &BTreeMap<PublicKey, u64>,
) -> BTreeMap<PublicKey, u64> {
    let reports: u128 = counts.values().map(|&c| u128::from(c)).sum();
    if reports == 0 {
        return BTreeMap::new();
    }
    let denominator = reports * u128::from(SCALE_ONE);
    counts
        .iter()
        .filter(|(_, c)| **c > 0)
        .map(|(k, &c)| {
            let scale = scales.get(k).copied().unwrap_or(SCALE_ONE).min(SCALE_ONE);
            let units = u128::from(c) * u128::from(scale);
            (*k, (u128::from(pool) * units / denominator) as u64)
        })
        .filter(|(_, amount)| *amount > 0)
        .collect()
}

/// Splits an epoch's emission by activity.
pub fn compute(emission: u64, activity: &Activity, beacon_share_bps: u64) -> EpochRewards {
    let beacon_pool =
        (u128::from(emission) * u128::from(beacon_share_bps.min(10_000)) / 10_000) as u64;
    let witness_pool = emission - beacon_pool;
    let mut rewards: BTreeMap<PublicKey, HotspotReward> = BTreeMap::new();
    for (k, amount) in pay(beacon_pool, &activity.beacons, &activity.scales) {
        rewards.entry(k).or_default().beacon = amount;
    }
    for (k, amount) in pay(witness_pool, &activity.witnesses, &activity.scales) {
        rewards.entry(k).or_default().witness = amount;
    }
    let paid = rewards.values().map(HotspotReward::total).sum::<u64>();
    EpochRewards {
        emission,
        paid,
        dust: emission - paid,
        rewards,
    }
}

/// Lifetime amounts after an epoch.
pub fn accumulate(
    previous: &BTreeMap<PublicKey, u64>,
    epoch: &EpochRewards,
) -> BTreeMap<PublicKey, u64> {
    let mut lifetime = previous.clone();
    for (k, r) in &epoch.rewards {
        *lifetime.entry(*k).or_default() += r.total();
    }
    lifetime
}

/// The Merkle tree over lifetime amounts (leaves in key order) and the keys in leaf order.
pub fn tree(lifetime: &BTreeMap<PublicKey, u64>) -> (MerkleTree, Vec<PublicKey>) {
    let keys: Vec<PublicKey> = lifetime.keys().copied().collect();
    let leaves = lifetime
        .iter()
        .map(|(k, &amount)| leaf(k.as_bytes(), amount))
        .collect();
    (MerkleTree::new(leaves), keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hexproof_commitment::verify_proof;
    use proptest::prelude::*;

    fn key(i: u8) -> PublicKey {
        PublicKey::from([i; 32])
    }

    fn activity_strategy() -> impl Strategy<Value = Activity> {
        (
            proptest::collection::btree_map(0u8..40, 0u64..50, 0..30),
            proptest::collection::btree_map(0u8..40, 0u64..500, 0..30),
            proptest::collection::btree_map(0u8..40, 0u64..=SCALE_ONE, 0..40),
        )
            .prop_map(|(b, w, s)| Activity {
                beacons: b.into_iter().map(|(k, v)| (key(k), v)).collect(),
                witnesses: w.into_iter().map(|(k, v)| (key(k), v)).collect(),
                scales: s.into_iter().map(|(k, v)| (key(k), v)).collect(),
            })
    }

    proptest! {
        #[test]
        fn paid_plus_dust_is_the_emission(a in activity_strategy(), emission in 0u64..u64::MAX / 2, bps in 0u64..=10_000) {
            let r = compute(emission, &a, bps);
            prop_assert_eq!(r.paid + r.dust, emission);
            prop_assert_eq!(r.rewards.values().map(HotspotReward::total).sum::<u64>(), r.paid);
        }

        #[test]
        fn nothing_for_no_valid_activity(a in activity_strategy(), emission in 0u64..1u64 << 50) {
            let r = compute(emission, &a, 2_000);
            for (k, reward) in &r.rewards {
                let active = a.beacons.get(k).copied().unwrap_or(0) + a.witnesses.get(k).copied().unwrap_or(0);
                prop_assert!(active > 0 || reward.total() == 0);
                prop_assert!(reward.beacon == 0 || a.beacons.get(k).copied().unwrap_or(0) > 0);
                prop_assert!(reward.witness == 0 || a.witnesses.get(k).copied().unwrap_or(0) > 0);
            }
        }

        #[test]
        fn scaling_never_increases_a_reward(a in activity_strategy(), emission in 0u64..1u64 << 50) {
            let scaled = compute(emission, &a, 2_000);
            let unscaled = compute(emission, &Activity { scales: BTreeMap::new(), ..a.clone() }, 2_000);
            for (k, r) in &scaled.rewards {
                let u = unscaled.rewards.get(k).copied().unwrap_or_default();
                prop_assert!(r.beacon <= u.beacon && r.witness <= u.witness);
            }
        }

        #[test]
        fn input_order_does_not_change_the_root(
            events in proptest::collection::vec((0u8..30, any::<bool>()), 0..200),
            seed in any::<u64>(),
        ) {
            let build = |events: &[(u8, bool)]| {
                let mut a = Activity::default();
                for &(k, beacon) in events {
                    let map = if beacon { &mut a.beacons } else { &mut a.witnesses };
                    *map.entry(key(k)).or_default() += 1;
                }
                let r = compute(1_000_000_007, &a, 2_000);
                tree(&accumulate(&BTreeMap::new(), &r)).0.root()
            };
            let mut shuffled = events.clone();
            // A deterministic shuffle from the seed.
            let mut s = seed | 1;
            for i in (1..shuffled.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                shuffled.swap(i, (s % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(build(&events), build(&shuffled));
        }

        #[test]
        fn every_proof_verifies_and_a_tampered_one_fails(amounts in proptest::collection::btree_map(any::<u8>(), 1u64..1 << 40, 1..60)) {
            let lifetime: BTreeMap<PublicKey, u64> = amounts.into_iter().map(|(k, v)| (key(k), v)).collect();
            let (t, keys) = tree(&lifetime);
            for (i, k) in keys.iter().enumerate() {
                let proof = t.proof(i).unwrap();
                let l = leaf(k.as_bytes(), lifetime[k]);
                prop_assert!(verify_proof(&t.root(), &l, &proof));
                prop_assert!(!verify_proof(&t.root(), &leaf(k.as_bytes(), lifetime[k] + 1), &proof));
                if !proof.is_empty() {
                    let mut bad = proof.clone();
                    bad[proof.len() - 1][0] ^= 1;
                    prop_assert!(!verify_proof(&t.root(), &l, &bad));
                }
            }
        }
    }

    #[test]
    fn a_simple_split() {
        let a = Activity {
            beacons: [(key(1), 1), (key(2), 1)].into(),
            witnesses: [(key(1), 3), (key(3), 1)].into(),
            scales: [(key(3), SCALE_ONE / 2)].into(),
        };
        let r = compute(1_000, &a, 2_000);
        // Beacon pool 200: 100 each. Witness pool 800 over 4 reports: 600 to key 1, key 3 has
        // one report at half scale: 100.
        assert_eq!(
            r.rewards[&key(1)],
            HotspotReward {
                beacon: 100,
                witness: 600
            }
        );
        assert_eq!(
            r.rewards[&key(2)],
            HotspotReward {
                beacon: 100,
                witness: 0
            }
        );
        assert_eq!(
            r.rewards[&key(3)],
            HotspotReward {
                beacon: 0,
                witness: 100
            }
        );
        assert_eq!((r.paid, r.dust), (900, 100));
    }

    #[test]
    fn epochs_are_fixed_windows_from_genesis() {
        let c = RewardConfig {
            epoch_secs: 60,
            genesis_ns: 1_000_000_000_000,
            ..Default::default()
        };
        assert_eq!(c.epoch_of(999_999_999_999), 0);
        assert_eq!(c.epoch_of(1_000_000_000_000), 1);
        assert_eq!(c.epoch_of(1_059_999_999_999), 1);
        assert_eq!(c.epoch_of(1_060_000_000_000), 2);
        assert_eq!(c.bounds(2), (1_060_000_000_000, 1_120_000_000_000));
        // Epochs named by a peer or a caller: no overflow at either end.
        assert_eq!(c.bounds(0), c.bounds(1));
        assert_eq!(c.bounds(u64::MAX), (u64::MAX, u64::MAX));
        assert_eq!(
            RewardConfig::default().program_id.to_string(),
            DEFAULT_PROGRAM_ID
        );
    }
}
