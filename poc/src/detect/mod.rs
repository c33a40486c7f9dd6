//! Detection of organised cheating, on top of the per-report rules: what a whole epoch of
//! receptions says about each hotspot that no single report can.
//!
//! Data enters as the epoch's [`Reception`]s (every witness report that matched a valid beacon,
//! with what its verdict said: [`Heard`]), the registry's view of the hotspots and each hotspot's count of valid beacons. It
//! leaves as [`Detection`]: [`Finding`]s (a [`Code`] and the evidence, in a sentence with the
//! numbers, for the owner and the explorer), the hotspots suspended for the epoch, and the
//! fraud counts pardoned because the beacon, not the witness, was found lying.
//!
//! The tests (constants below, not configuration: every oracle of a set must compute them
//! identically):
//! - **Signal against geometry** ([`signal`]): the network's own path-loss law is fitted over
//!   the epoch's valid receptions (trimmed least squares of loss on log distance between
//!   asserted cells); a hotspot whose receptions are, for at least [`MIN_COUNTERPARTS`] and a
//!   quarter of its counterparts, [`LOUD_DDB`] louder than that law allows from its asserted
//!   place is flagged — as
//!   beaconer (`beacons_louder_than_claimed`: understated power, or beacons sent from
//!   elsewhere), as witness (`hears_beyond_range`: a relay, fake receptions), or both
//!   (`signal_inconsistent_with_location`: the radio is not where it is asserted).
//! - **One radio, many keys** ([`fingerprint`]): two keys whose measurements agree far better
//!   with "the same radio" than with their asserted geometry — as beaconers at common
//!   witnesses, or as witnesses of common beacons.
//! - **Expected but missing** ([`expected::flags`]): a beaconer that listening hotspots near its
//!   asserted place should hear loudly, yet most of them never heard any of its beacons (a ring
//!   without RF, witnessed only by its members). And its mirror, **beyond range**
//!   ([`expected::beyond_range`]): a witness that reports most of the beacons sent from beyond
//!   its range (a relay), `hears_beyond_range` like a witness heard too loud.
//! - **No reciprocity**: witnessed others but had no beacon witnessed (HIP-106). Informational:
//!   the reward rule already pays such a hotspot nothing.
//!
//! Determinism: loss and distance are integers (dB x 10, metres; log distance in integer
//! thousandths of a decade, [`hexproof_proto::rf::log10_milli`]), the fit sums are exact
//! integers, receptions are processed in a canonical order, and the rest is IEEE arithmetic
//! that is correctly rounded everywhere (+ − × ÷ √, no library logarithms): every oracle
//! computes the same findings from the same verdicts.

pub mod expected;
pub mod fingerprint;
pub mod signal;

use std::collections::{BTreeMap, BTreeSet};

use hexproof_proto::PublicKey;
use serde::{Deserialize, Serialize};

use crate::{HotspotInfo, distance_m};

/// How loud beyond the fitted law (dB x 10, a counterpart's mean) counts as too loud.
pub const LOUD_DDB: i64 = 120;

/// The largest path loss (dB x 10) a reception is taken to imply; claims beyond it count as it.
pub const MAX_LOSS_DDB: i64 = 4_000;

/// Loud counterparts (distinct witnesses, or beaconers heard) a signal flag needs.
pub const MIN_COUNTERPARTS: usize = 3;

/// What a witness's verdict said of a reception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Heard {
    Valid,
    /// `witness_beacon_inconsistent`: the beacon's claims were blamed.
    BeaconInconsistent,
    /// `witness_rssi_too_high`.
    TooLoud,
    /// Any other rejection of a witness that matched the beacon (too close, too far, out of
    /// the time window, ...): it claims to have heard it, nothing more.
    Other,
}

/// One witness report of a valid beacon, with what both sides stated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reception {
    pub beacon: [u8; 32],
    pub beaconer: PublicKey,
    pub witness: PublicKey,
    pub rssi_ddbm: i32,
    pub snr_ddb: i32,
    /// The transmit power the beacon report states, dBm x 10.
    pub tx_power_ddbm: i32,
    pub heard: Heard,
}

/// A detection test's name. The snake_case code is what is stored and served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    SignalInconsistentWithLocation,
    BeaconsLouderThanClaimed,
    HearsBeyondRange,
    OneRadioManyKeys,
    MissingExpectedWitnesses,
    NoReciprocity,
}

impl Code {
    pub const ALL: &'static [Code] = &[
        Code::SignalInconsistentWithLocation,
        Code::BeaconsLouderThanClaimed,
        Code::HearsBeyondRange,
        Code::OneRadioManyKeys,
        Code::MissingExpectedWitnesses,
        Code::NoReciprocity,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Code::SignalInconsistentWithLocation => "signal_inconsistent_with_location",
            Code::BeaconsLouderThanClaimed => "beacons_louder_than_claimed",
            Code::HearsBeyondRange => "hears_beyond_range",
            Code::OneRadioManyKeys => "one_radio_many_keys",
            Code::MissingExpectedWitnesses => "missing_expected_witnesses",
            Code::NoReciprocity => "no_reciprocity",
        }
    }

    pub fn from_code(code: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.code() == code)
    }

    /// Whether the finding costs the hotspot the epoch's rewards.
    pub fn suspends(self) -> bool {
        self != Code::NoReciprocity
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One hotspot found doing something the rules alone do not catch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub hotspot: PublicKey,
    pub code: Code,
    /// A sentence with the numbers behind the decision.
    pub evidence: String,
}

/// What detection decided for an epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detection {
    /// In (hotspot, code) order, at most one per pair.
    pub findings: Vec<Finding>,
    /// Hotspots that earn nothing this epoch.
    pub suspended: BTreeSet<PublicKey>,
    /// Per witness: `witness_rssi_too_high` verdicts on beacons of hotspots found lying about
    /// their power or place (the beaconer's fault), not counted towards fraud suspension.
    pub pardoned: BTreeMap<PublicKey, u64>,
}

/// A reception (its index in the canonical order) with its geometry: log distance between asserted cells (thousandths of a
/// decade of metres) and the loss both sides' statements imply (dB x 10).
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub index: usize,
    pub x: i64,
    pub loss: i64,
}

/// Thousandths of a decade of `metres` (at least 1 m), in integers.
pub(crate) fn log_milli(metres: u64) -> i64 {
    hexproof_proto::rf::log10_milli(metres)
}

/// Runs every test over an epoch's receptions.
pub fn detect(
    receptions: &[Reception],
    hotspots: &[HotspotInfo],
    valid_beacons: &BTreeMap<PublicKey, u64>,
) -> Detection {
    let info: BTreeMap<PublicKey, &HotspotInfo> = hotspots.iter().map(|h| (h.pubkey, h)).collect();
    // Canonical order: by beacon, then witness (the same on every oracle).
    let mut receptions: Vec<&Reception> = receptions.iter().collect();
    receptions.sort_by_key(|a| (a.beacon, a.witness));
    receptions.dedup_by(|a, b| (a.beacon, a.witness) == (b.beacon, b.witness));
    let points: Vec<Point> = receptions
        .iter()
        .enumerate()
        .filter(|(_, r)| r.heard != Heard::Other)
        .filter_map(|(index, r)| {
            let b = info.get(&r.beaconer)?;
            let w = info.get(&r.witness)?;
            let d = distance_m(b.location?, w.location?);
            // Signed by hotspots, so bounded to what any radio link can be (0–400 dB): sums
            // and squares of losses then stay far inside i64 whatever a report claims.
            let loss =
                (i64::from(r.tx_power_ddbm) + i64::from(b.gain_ddbi) + i64::from(w.gain_ddbi)
                    - i64::from(r.rssi_ddbm))
                .clamp(0, MAX_LOSS_DDB);
            Some(Point {
                index,
                x: log_milli(d),
                loss,
            })
        })
        .collect();

    let mut found: BTreeMap<(PublicKey, Code), String> = BTreeMap::new();
    let model = signal::Model::fit(&points, &receptions);
    if let Some(model) = &model {
        let excess = excess_by_pair(model, &points, &receptions);
        for (k, code, evidence) in signal::flags(model, &excess) {
            found.entry((k, code)).or_insert(evidence);
        }
        for (k, evidence) in fingerprint::flags(model, &points, &receptions, &excess) {
            found.entry((k, Code::OneRadioManyKeys)).or_insert(evidence);
        }
        for (k, evidence) in expected::flags(model, &receptions, &info, valid_beacons) {
            found
                .entry((k, Code::MissingExpectedWitnesses))
                .or_insert(evidence);
        }
        let found_so_far: BTreeSet<PublicKey> = found.keys().map(|(k, _)| *k).collect();
        for (k, evidence) in
            expected::beyond_range(model, &receptions, &info, valid_beacons, &found_so_far)
        {
            if !found_so_far.contains(&k) {
                found.entry((k, Code::HearsBeyondRange)).or_insert(evidence);
            }
        }
    }
    // No reciprocity: heard others validly, never validly heard itself.
    let witnessed: BTreeSet<PublicKey> = receptions
        .iter()
        .filter(|r| r.heard == Heard::Valid)
        .map(|r| r.beaconer)
        .collect();
    let mut heard_others: BTreeMap<PublicKey, u64> = BTreeMap::new();
    for r in receptions.iter().filter(|r| r.heard == Heard::Valid) {
        *heard_others.entry(r.witness).or_default() += 1;
    }
    for (k, n) in heard_others {
        if !witnessed.contains(&k) {
            found.entry((k, Code::NoReciprocity)).or_insert(format!(
                "witnessed {n} beacons validly but sent no beacon anyone validly witnessed: \
                 witness rewards need both (HIP-106)"
            ));
        }
    }

    let findings: Vec<Finding> = found
        .into_iter()
        .map(|((hotspot, code), evidence)| Finding {
            hotspot,
            code,
            evidence,
        })
        .collect();
    let suspended: BTreeSet<PublicKey> = findings
        .iter()
        .filter(|f| f.code.suspends())
        .map(|f| f.hotspot)
        .collect();
    // A beaconer found lying about power or place caused its witnesses' "too loud" verdicts.
    let liars: BTreeSet<PublicKey> = findings
        .iter()
        .filter(|f| {
            matches!(
                f.code,
                Code::SignalInconsistentWithLocation | Code::BeaconsLouderThanClaimed
            )
        })
        .map(|f| f.hotspot)
        .collect();
    let mut pardoned: BTreeMap<PublicKey, u64> = BTreeMap::new();
    for r in &receptions {
        if r.heard == Heard::TooLoud && liars.contains(&r.beaconer) {
            *pardoned.entry(r.witness).or_default() += 1;
        }
    }
    Detection {
        findings,
        suspended,
        pardoned,
    }
}

/// Per (beaconer, witness): the summed excess loudness (predicted loss − observed, dB x 10) of
/// their receptions and how many there were. What the signal and fingerprint tests both read.
pub(crate) fn excess_by_pair(
    model: &signal::Model,
    points: &[Point],
    receptions: &[&Reception],
) -> BTreeMap<(PublicKey, PublicKey), (i64, i64)> {
    let mut pairs: BTreeMap<(PublicKey, PublicKey), (i64, i64)> = BTreeMap::new();
    for p in points {
        let r = receptions[p.index];
        let e = pairs.entry((r.beaconer, r.witness)).or_default();
        e.0 += model.predict(p.x) - p.loss;
        e.1 += 1;
    }
    pairs
}

/// The lower median of `values` (not empty).
pub(crate) fn median(values: &mut [i64]) -> i64 {
    values.sort_unstable();
    values[(values.len() - 1) / 2]
}

/// Short form of a key for evidence sentences.
pub(crate) fn short(k: &PublicKey) -> String {
    let s = k.to_string();
    s[..s.len().min(8)].to_string()
}

#[cfg(test)]
pub(crate) mod tests;
