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
//!   `paid + dust = E + R` exactly (`R` below; 0 without traffic).
//!
//! Data (HIP-10, with net emissions as in HIP-20): the tokens burned for the credits the epoch's
//! copies spent (`R`, at the deployment's [`DcPrice`], the price that sold them) are minted
//! again (**re-mint**: supply grows by `E` an epoch whatever is burned). The **data pool** is
//! `E × data_share_bps / 10 000 + R`. Each hotspot is owed the tokens its carried credits are
//! worth at the same price; the pool pays that (pro rata by credits were it ever owed more than
//! it holds: the re-mint alone covers what is owed, since the credits carried are the credits
//! charged). The beacon and witness pools split what the data pool leaves, `E + R − data
//! paid`, never less than `E`. So a network without traffic pays coverage exactly as before;
//! an org paying for traffic its own hotspots carry gets back at most the tokens it burned, and
//! takes nothing from honest carriers or coverage.
//!
//! Lifetime amounts accumulate over epochs; the tree commits to `(hotspot, lifetime)` for every
//! hotspot that ever earned, sorted by key, then to `(oui, lifetime credits charged)` for every
//! organisation ever charged, sorted by OUI ([`hexproof_commitment::org_leaf`]): what the
//! program settles against each org's balance.

pub mod activity;
pub mod density;
pub mod epoch;

use std::collections::BTreeMap;

use hexproof_commitment::{DcPrice, MerkleTree, leaf, org_leaf};
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
    /// Share of the emission for the data pool, basis points (what it does not pay goes to
    /// coverage). Default 5 000: Helium's 50 % for data (HIP-10).
    pub data_share_bps: u64,
    /// Data credits one whole token buys: the program's price (set at `initialize`), which
    /// the data pool pays credits back at. Default 100 000 (1 token = $1 at $0.00001 a
    /// credit).
    pub dc_per_token: u64,
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
            data_share_bps: 5_000,
            dc_per_token: 100_000,
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

    /// The price of data credits.
    pub fn dc_price(&self) -> DcPrice {
        DcPrice {
            dc_per_token: self.dc_per_token,
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

/// An epoch's data: credits carried by each hotspot (the receipts of copies bought from it)
/// and charged to each organisation (by OUI; the same receipts by route owner).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataActivity {
    pub carried: BTreeMap<PublicKey, u64>,
    pub charged: BTreeMap<u64, u64>,
}

impl DataActivity {
    /// An epoch's data from the copies bought in it, counted by `(hotspot, oui, payload size)`
    /// (each copy once, by receipt id: the caller's accounting is by identity): each copy
    /// costs its org, and earns its hotspot, [`hexproof_commitment::packet_dc`] credits.
    pub fn from_copies(
        copies: impl IntoIterator<Item = (PublicKey, u64, u32, u64)>,
    ) -> DataActivity {
        let mut data = DataActivity::default();
        for (hotspot, oui, size, count) in copies {
            let dc = hexproof_commitment::packet_dc(size).saturating_mul(count);
            let carried = data.carried.entry(hotspot).or_default();
            *carried = carried.saturating_add(dc);
            let charged = data.charged.entry(oui).or_default();
            *charged = charged.saturating_add(dc);
        }
        data
    }
}

impl DataActivity {
    /// The same data with what `hotspots` carried left unpaid (they earn nothing this epoch);
    /// their copies still cost their orgs, so the re-mint goes to coverage.
    pub fn unpaid_for(mut self, hotspots: &std::collections::BTreeSet<PublicKey>) -> DataActivity {
        self.carried.retain(|k, _| !hotspots.contains(k));
        self
    }
}

/// One hotspot's reward for one epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotspotReward {
    pub beacon: u64,
    pub witness: u64,
    /// From the data pool, for the credits it carried.
    pub data: u64,
}

impl HotspotReward {
    pub fn total(&self) -> u64 {
        self.beacon + self.witness + self.data
    }
}

/// An epoch's rewards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpochRewards {
    pub emission: u64,
    pub rewards: BTreeMap<PublicKey, HotspotReward>,
    /// The data pool and what it paid (the rest went to coverage).
    pub data_pool: u64,
    pub data_paid: u64,
    /// Tokens re-minted for the credits the epoch's copies spent (on top of `emission`).
    pub remint: u64,
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

/// The data pool's payment: each hotspot's carried credits at `price`, or the pool pro rata by
/// credits when that is more than the pool. Never more than `pool`.
pub fn pay_data(
    pool: u64,
    carried: &BTreeMap<PublicKey, u64>,
    price: DcPrice,
) -> BTreeMap<PublicKey, u64> {
    let owed: u128 = carried
        .values()
        .map(|&dc| u128::from(price.tokens_for(dc)))
        .sum();
    let credits: u128 = carried.values().map(|&dc| u128::from(dc)).sum();
    carried
        .iter()
        .map(|(k, &dc)| {
            let amount = if owed <= u128::from(pool) {
                price.tokens_for(dc)
            } else {
                (u128::from(pool) * u128::from(dc) / credits.max(1)) as u64
            };
            (*k, amount)
        })
        .filter(|(_, amount)| *amount > 0)
        .collect()
}

/// Splits an epoch's emission and re-mint: the data pool first ([`pay_data`]), then the beacon
/// and witness pools share the rest. `charged`: the credits the epoch's copies spent (what is
/// re-minted, at the price that sold them).
pub fn compute_with_data(
    emission: u64,
    activity: &Activity,
    data: &DataActivity,
    config: &RewardConfig,
) -> EpochRewards {
    let price = config.dc_price();
    let charged = data
        .charged
        .values()
        .fold(0u64, |total, dc| total.saturating_add(*dc));
    let remint = price.tokens_for(charged);
    // The pool holds the emission's data share and the re-mint: the carriers' credits were
    // bought with the re-minted tokens, so the pool always covers them at the peg (no honest
    // carrier is diluted by anyone's traffic, a wash trader's included).
    let data_pool =
        ((u128::from(emission) * u128::from(config.data_share_bps.min(10_000)) / 10_000) as u64)
            .saturating_add(remint);
    let paid_data = pay_data(data_pool, &data.carried, price);
    let data_paid: u64 = paid_data.values().sum();
    // Never below the emission: each hotspot is paid at most its credits' tokens, and the
    // credits carried are the credits charged.
    let coverage = emission.saturating_add(remint).saturating_sub(data_paid);
    let mut r = compute(coverage, activity, config.beacon_share_bps);
    for (k, amount) in paid_data {
        r.rewards.entry(k).or_default().data = amount;
    }
    r.emission = emission;
    r.remint = remint;
    r.data_pool = data_pool;
    r.data_paid = data_paid;
    r.paid += data_paid;
    r.dust = emission.saturating_add(remint) - r.paid;
    r
}

/// Splits an epoch's emission by coverage activity alone.
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
        ..EpochRewards::default()
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

/// Lifetime credits charged per org after an epoch.
pub fn accumulate_charges(
    previous: &BTreeMap<u64, u64>,
    charged: &BTreeMap<u64, u64>,
) -> BTreeMap<u64, u64> {
    let mut lifetime = previous.clone();
    for (oui, dc) in charged {
        let total = lifetime.entry(*oui).or_default();
        *total = total.saturating_add(*dc);
    }
    lifetime
}

/// The Merkle tree over lifetime amounts (leaves in key order) and the keys in leaf order.
pub fn tree(lifetime: &BTreeMap<PublicKey, u64>) -> (MerkleTree, Vec<PublicKey>) {
    tree_with_orgs(lifetime, &BTreeMap::new())
}

/// The tree over hotspots' lifetime amounts (leaves `0..n` in key order, proven by index),
/// then orgs' lifetime credits charged (leaves `n..` in OUI order), and the keys in leaf order.
pub fn tree_with_orgs(
    lifetime: &BTreeMap<PublicKey, u64>,
    charges: &BTreeMap<u64, u64>,
) -> (MerkleTree, Vec<PublicKey>) {
    let keys: Vec<PublicKey> = lifetime.keys().copied().collect();
    let leaves = lifetime
        .iter()
        .map(|(k, &amount)| leaf(k.as_bytes(), amount))
        .chain(charges.iter().map(|(&oui, &dc)| org_leaf(oui, dc)))
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

    fn data_config(data_share_bps: u64, dc_per_token: u64) -> RewardConfig {
        RewardConfig {
            data_share_bps,
            dc_per_token,
            ..RewardConfig::default()
        }
    }

    proptest! {
        #[test]
        fn with_data_paid_plus_dust_is_the_emission_and_the_pool_is_never_exceeded(
            a in activity_strategy(),
            carried in proptest::collection::btree_map(0u8..40, 0u64..1 << 40, 0..30),
            emission in 0u64..u64::MAX / 2,
            bps in 0u64..=10_000,
            dc_per_token in 1u64..1 << 40,
        ) {
            let carried: BTreeMap<PublicKey, u64> = carried.into_iter().map(|(k, v)| (key(k), v)).collect();
            let data = DataActivity { charged: [(1, carried.values().sum())].into(), carried: carried.clone() };
            let config = data_config(bps, dc_per_token);
            let r = compute_with_data(emission, &a, &data, &config);
            prop_assert_eq!(r.paid + r.dust, emission + r.remint);
            prop_assert!(r.data_paid <= r.remint);
            prop_assert_eq!(r.rewards.values().map(HotspotReward::total).sum::<u64>(), r.paid);
            prop_assert!(r.data_paid <= r.data_pool);
            for (k, reward) in &r.rewards {
                // Never more than the credits carried are worth at the price that sold them.
                let dc = carried.get(k).copied().unwrap_or(0);
                prop_assert!(reward.data <= config.dc_price().tokens_for(dc));
            }
        }

        /// Wash trading: an org burns tokens for credits and spends them all on copies its own
        /// hotspots carry. Whatever the price, the pool, the share and the honest traffic beside
        /// it, the data pool gives it back at most what it burned, honest carriers are paid
        /// their credits' worth in full, and the coverage pools get no less than without it.
        #[test]
        fn wash_traffic_returns_at_most_the_tokens_burned(
            burned in 1u64..1 << 45,
            honest_dc in 0u64..1 << 40,
            emission in 0u64..1 << 50,
            bps in 0u64..=10_000,
            dc_per_token in 1u64..1 << 30,
            own_hotspots in 1u8..8,
        ) {
            let config = data_config(bps, dc_per_token);
            let credits = config.dc_price().credits_for(burned);
            let mut carried: BTreeMap<PublicKey, u64> = (0..own_hotspots)
                .map(|i| (key(100 + i), credits / u64::from(own_hotspots)))
                .collect();
            carried.insert(key(1), honest_dc);
            let coverage = Activity { beacons: [(key(2), 1)].into(), ..Activity::default() };
            let wash: u64 = carried.values().sum::<u64>() - honest_dc;
            let data = DataActivity { charged: [(1, honest_dc), (2, wash)].into(), carried: carried.clone() };
            let r = compute_with_data(emission, &coverage, &data, &config);
            let back: u64 = (0..own_hotspots)
                .map(|i| r.rewards.get(&key(100 + i)).map_or(0, |x| x.data))
                .sum();
            prop_assert!(back <= burned, "burned {} got {}", burned, back);
            // Honest carriers are paid their credits' worth whatever the wash traffic.
            prop_assert_eq!(
                r.rewards.get(&key(1)).map_or(0, |x| x.data),
                config.dc_price().tokens_for(honest_dc)
            );
            let honest_only = DataActivity {
                carried: [(key(1), honest_dc)].into(),
                charged: [(1, honest_dc)].into(),
            };
            let without = compute_with_data(emission, &coverage, &honest_only, &config);
            prop_assert!(
                r.rewards[&key(2)].beacon >= without.rewards[&key(2)].beacon,
                "the wash trader took coverage"
            );
        }
    }

    fn spent(carried: &[(u8, u64)]) -> DataActivity {
        DataActivity {
            carried: carried.iter().map(|&(k, dc)| (key(k), dc)).collect(),
            charged: [(1, carried.iter().map(|(_, dc)| dc).sum())].into(),
        }
    }

    #[test]
    fn the_data_pool_pays_at_the_peg_and_the_rest_goes_to_coverage() {
        let a = Activity {
            beacons: [(key(1), 1)].into(),
            witnesses: [(key(1), 1)].into(),
            scales: BTreeMap::new(),
        };
        // 100 000 credits a token: a credit is worth 10 base units.
        let config = data_config(5_000, 100_000);
        // Owed 30 000 + 10 000: paid at the peg. The 40 000 the credits were bought with are
        // re-minted (pool 500 000 + 40 000): coverage gets 1 000 000 + 40 000 − 40 000.
        let r = compute_with_data(1_000_000, &a, &spent(&[(2, 3_000), (3, 1_000)]), &config);
        assert_eq!((r.data_pool, r.remint), (540_000, 40_000));
        assert_eq!(
            (r.rewards[&key(2)].data, r.rewards[&key(3)].data),
            (30_000, 10_000)
        );
        assert_eq!(r.data_paid, 40_000);
        assert_eq!(r.rewards[&key(1)].total(), 1_000_000);
        assert_eq!((r.paid, r.dust), (1_040_000, 0));
        // Owed 1 500 000, more than the emission's share: the re-mint pays it all at the peg
        // (nobody diluted); coverage gets the emission.
        let r = compute_with_data(1_000_000, &a, &spent(&[(2, 120_000), (3, 30_000)]), &config);
        assert_eq!(
            (r.rewards[&key(2)].data, r.rewards[&key(3)].data),
            (1_200_000, 300_000)
        );
        assert_eq!(r.remint, 1_500_000);
        assert_eq!(r.rewards[&key(1)].total(), 1_000_000);
        // No traffic: coverage is paid exactly as without a data pool.
        let r = compute_with_data(1_000_000, &a, &DataActivity::default(), &config);
        assert_eq!(
            r.rewards,
            compute(1_000_000, &a, config.beacon_share_bps).rewards
        );
        assert_eq!((r.data_pool, r.data_paid, r.remint), (500_000, 0, 0));
    }

    /// A pool owed more than it holds pays pro rata by credits, floored, never more than it
    /// holds; owed less, each at the peg.
    #[test]
    fn an_oversubscribed_pool_pays_pro_rata() {
        let price = DcPrice {
            dc_per_token: 100_000,
        };
        let carried: BTreeMap<PublicKey, u64> = [(key(2), 120_000), (key(3), 30_000)].into();
        let paid = pay_data(500_000, &carried, price);
        assert_eq!((paid[&key(2)], paid[&key(3)]), (400_000, 100_000));
        let paid = pay_data(1_500_000, &carried, price);
        assert_eq!((paid[&key(2)], paid[&key(3)]), (1_200_000, 300_000));
        let odd: BTreeMap<PublicKey, u64> = [(key(2), 1), (key(3), 1), (key(4), 1)].into();
        assert_eq!(pay_data(20, &odd, price).values().sum::<u64>(), 18);
    }

    #[test]
    fn copies_charge_their_org_and_pay_their_hotspot_by_size() {
        let d = DataActivity::from_copies([
            (key(1), 7, 10, 1),
            (key(1), 7, 49, 2),
            (key(2), 7, 24, 1),
            (key(2), 9, 255, 1),
        ]);
        assert_eq!(d.carried, [(key(1), 1 + 2 * 3), (key(2), 1 + 11)].into());
        assert_eq!(d.charged, [(7, 8), (9, 11)].into());
        assert_eq!(
            d.carried.values().sum::<u64>(),
            d.charged.values().sum::<u64>()
        );
        // A suspended carrier is not paid; its copies still cost their orgs.
        let unpaid = d.clone().unpaid_for(&[key(1)].into());
        assert_eq!(unpaid.carried, [(key(2), 12)].into());
        assert_eq!(unpaid.charged, d.charged);
    }

    #[test]
    fn org_leaves_follow_the_hotspots_and_prove() {
        let lifetime: BTreeMap<PublicKey, u64> = [(key(1), 5), (key(2), 6), (key(3), 7)].into();
        let charges: BTreeMap<u64, u64> = [(4, 100), (9, 3)].into();
        let (t, keys) = tree_with_orgs(&lifetime, &charges);
        assert_eq!(t.len(), 5);
        for (i, k) in keys.iter().enumerate() {
            let l = leaf(k.as_bytes(), lifetime[k]);
            assert!(verify_proof(&t.root(), &l, &t.proof(i).unwrap()));
        }
        for (j, (&oui, &dc)) in charges.iter().enumerate() {
            let proof = t.proof(keys.len() + j).unwrap();
            assert!(verify_proof(&t.root(), &org_leaf(oui, dc), &proof));
            assert!(!verify_proof(&t.root(), &org_leaf(oui, dc - 1), &proof));
        }
        // Without charges the tree is the coverage tree it always was.
        assert_eq!(
            tree_with_orgs(&lifetime, &BTreeMap::new()).0.root(),
            tree(&lifetime).0.root()
        );
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
        let reward = |beacon, witness| HotspotReward {
            beacon,
            witness,
            data: 0,
        };
        assert_eq!(r.rewards[&key(1)], reward(100, 600));
        assert_eq!(r.rewards[&key(2)], reward(100, 0));
        assert_eq!(r.rewards[&key(3)], reward(0, 100));
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
