//! Detection of organised cheating, on top of the per-report rules: what a whole epoch of
//! receptions says about each hotspot that no single report can.
//!
//! Data enters as the epoch's [`Reception`]s (every witness report that matched a valid beacon,
//! with what its verdict said: [`Heard`]), the registry's view of the hotspots and each
//! hotspot's count of valid beacons. It
//! leaves as [`Detection`]: [`Finding`]s (a [`Code`] and the evidence, in a sentence with the
//! numbers, for the owner and the explorer), the hotspots suspended for the epoch, and the
//! fraud counts pardoned because the beacon, not the witness, was found lying.
//!
//! Real links are not a law plus noise: each has its own static shadowing (6–10 dB, the same
//! both ways), masts hear and are heard far better than a city's law, walls cost an indoor
//! site on every link. The tests (constants, not configuration: every oracle of a set must
//! compute them identically) are built for that:
//! - **Reciprocity** ([`reciprocity`], no fitted law): a link loses the same both ways, so
//!   shadowing, walls, masts and antennas cancel between its two directions. Beacons much
//!   louder than the same links carry back, at three quarters of a hotspot's partners:
//!   `beacons_louder_than_claimed` (understated power); receptions much louder than the hotspot
//!   is heard: `hears_beyond_range`; far fewer of its own beacons heard back than the links
//!   carrying others' beacons to it give (one-way links, a relay): `hears_beyond_range`.
//! - **Signal against geometry** ([`signal`]): the law is fitted over links heard both ways
//!   (trimmed least squares of loss on log distance between asserted cells); a hotspot whose
//!   links, at the median over at least [`MIN_COUNTERPARTS`], are louder than the law allows
//!   from its asserted place by [`LOUD_DDB`] or [`signal::SPREAD_FACTOR`] times the links'
//!   measured spread: `signal_inconsistent_with_location`.
//! - **One radio, many keys** ([`fingerprint`]): two keys whose mean links differ by a constant
//!   far more tightly than their asserted geometry allows, as beaconers and as witnesses; or
//!   witnesses reporting the same measurements of most beacons both heard (no law needed).
//! - **Expected but missing** ([`expected::flags`]): a beaconer the listeners of its own group
//!   of hotspots hearing each other, or of a group twice its size, should hear loudly, yet most
//!   never heard any of its beacons (a ring without RF). **Beyond range**
//!   ([`expected::beyond_range`]): a witness reporting far more links from beyond its range
//!   than shadowing gives a radio where it is asserted (a relay).
//! - **No reciprocity**: witnessed others but had no beacon witnessed (HIP-106). Informational:
//!   the reward rule already pays such a hotspot nothing.
//!
//! Determinism: loss and distance are integers (dB x 10; metres from places rounded to 1e-7
//! degrees by correctly rounded arithmetic, [`metres`]; log distance in integer thousandths of
//! a decade, [`hexproof_proto::rf::log10_milli`]), the fit sums are exact integers,
//! receptions are processed in a canonical order, hash maps are sorted before they are read,
//! and the rest is IEEE arithmetic that is correctly rounded everywhere (+ − × ÷ √; the normal
//! distribution by its own series, [`expected::normal_cdf`]): every oracle computes the same
//! findings from the same verdicts.

pub mod expected;
pub mod fingerprint;
pub mod links;
pub mod reciprocity;
pub mod signal;

use std::{
    collections::{BTreeMap, BTreeSet},
    hash::{BuildHasherDefault, Hasher},
};

use hexproof_proto::PublicKey;
use serde::{Deserialize, Serialize};

use crate::HotspotInfo;
use h3o::LatLng;

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
    /// Per witness: `witness_rssi_too_high` verdicts that are the beaconer's fault, not counted
    /// towards fraud suspension: on beacons of hotspots found cheating, and on one of at most
    /// two beaconers the witness found too loud.
    pub pardoned: BTreeMap<PublicKey, u64>,
}

/// Where a hotspot is asserted: its cell's centre, in degrees x 1e7 (rounded once, so that
/// every distance is computed from the same integers on every machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub lat_e7: i64,
    pub lon_e7: i64,
}

impl Place {
    pub fn of(cell: h3o::CellIndex) -> Place {
        let ll = LatLng::from(cell);
        Place {
            lat_e7: (ll.lat() * 1e7).round() as i64,
            lon_e7: (ll.lng() * 1e7).round() as i64,
        }
    }
}

/// Where each hotspot is asserted, converted once.
pub(crate) type Places = BTreeMap<PublicKey, Place>;

/// Metres between two asserted places, rounded: the equirectangular projection at the mean
/// latitude (within 0.1 % of the great circle up to a few hundred kilometres), from + − × ÷
/// and √ alone (the cosine by its series), so every machine gets the same metres.
pub(crate) fn metres(a: &Place, b: &Place) -> u64 {
    const R: f64 = 6_371_008.8;
    const RAD_PER_E7: f64 = std::f64::consts::PI / 180.0 / 1e7;
    let dlat = (a.lat_e7 - b.lat_e7) as f64 * RAD_PER_E7;
    let mut dlon = (a.lon_e7 - b.lon_e7).rem_euclid(3_600_000_000);
    if dlon > 1_800_000_000 {
        dlon = 3_600_000_000 - dlon;
    }
    let mean = (a.lat_e7 + b.lat_e7) as f64 / 2.0 * RAD_PER_E7;
    let x = dlon as f64 * RAD_PER_E7 * cos(mean);
    (R * (dlat * dlat + x * x).sqrt()).round() as u64
}

/// The Taylor coefficients of cos, (−1)^k / (2k)! for k = 1 to 10, computed once.
const COS_COEFFICIENTS: [f64; 10] = {
    let mut c = [0.0; 10];
    let mut term = 1.0;
    let mut k = 1;
    while k <= 10 {
        term = -term / ((2 * k - 1) * (2 * k)) as f64;
        c[k - 1] = term;
        k += 1;
    }
    c
};

/// cos(x) for |x| ≤ π/2 by its Taylor series to x^20 (error below 1e-15), from + and × in
/// Horner's order: the same bits on every machine (called for millions of pairs).
fn cos(x: f64) -> f64 {
    let x2 = x * x;
    let mut sum = 0.0;
    for c in COS_COEFFICIENTS.iter().rev() {
        sum = (sum + c) * x2;
    }
    1.0 + sum
}

/// Thousandths of a decade of `metres` (at least 1 m), in integers. Up to 100 km from a
/// table of the same function, built once per process (detection takes millions of these; the
/// exact integer logarithm costs about 150 ns).
pub(crate) fn log_milli(metres: u64) -> i64 {
    const TABLED_M: usize = 100_000;
    static TABLE: std::sync::OnceLock<Vec<i64>> = std::sync::OnceLock::new();
    match usize::try_from(metres) {
        Ok(m) if m <= TABLED_M => TABLE.get_or_init(|| {
            (0..=TABLED_M as u64)
                .map(hexproof_proto::rf::log10_milli)
                .collect()
        })[m],
        _ => hexproof_proto::rf::log10_milli(metres),
    }
}

/// Runs every test over an epoch's receptions.
pub fn detect(
    receptions: &[Reception],
    hotspots: &[HotspotInfo],
    valid_beacons: &BTreeMap<PublicKey, u64>,
) -> Detection {
    let info: BTreeMap<PublicKey, &HotspotInfo> = hotspots.iter().map(|h| (h.pubkey, h)).collect();
    let places: Places = hotspots
        .iter()
        .filter_map(|h| Some((h.pubkey, Place::of(h.location?))))
        .collect();
    // Canonical order: by beacon, then witness (the same on every oracle; of two receptions
    // of one beacon by one witness, the first in this order is kept).
    let receptions = in_canonical_order(receptions);
    let mut found: BTreeMap<(PublicKey, Code), String> = BTreeMap::new();
    let links = links::Links::new(&receptions, hotspots);
    // Tests that need no path-loss law: they hold on any terrain, from the first pairs.
    for (k, beacons, evidence) in reciprocity::power(&links) {
        let code = match beacons {
            true => Code::BeaconsLouderThanClaimed,
            false => Code::HearsBeyondRange,
        };
        found.entry((k, code)).or_insert(evidence);
    }
    for (k, evidence) in fingerprint::identical(&receptions) {
        found.entry((k, Code::OneRadioManyKeys)).or_insert(evidence);
    }
    let model = signal::Model::fit(&links);
    let excess = model.as_ref().map(|m| excess_by_pair(m, &links));
    if let (Some(model), Some(excess)) = (&model, &excess) {
        for (k, evidence) in fingerprint::flags(model, &links, excess) {
            found.entry((k, Code::OneRadioManyKeys)).or_insert(evidence);
        }
    }
    // One-way links, once the keys that share a radio are known: three keys of one radio
    // refusing to report a hotspot's beacons are not three partners that never hear it.
    let power = assumed_power(&receptions, &info);
    let known: BTreeSet<PublicKey> = found.keys().map(|(k, _)| *k).collect();
    for (k, evidence) in reciprocity::one_way(&links, valid_beacons, &power, &known) {
        found.entry((k, Code::HearsBeyondRange)).or_insert(evidence);
    }
    if let (Some(model), Some(excess)) = (&model, &excess) {
        let liars: BTreeSet<PublicKey> = found.keys().map(|(k, _)| *k).collect();
        for (k, evidence) in signal::location(model, excess, &liars) {
            found
                .entry((k, Code::SignalInconsistentWithLocation))
                .or_insert(evidence);
        }
        let found_so_far: BTreeSet<PublicKey> = found.keys().map(|(k, _)| *k).collect();
        let epoch = expected::Epoch {
            model,
            receptions: &receptions,
            links: &links,
            info: &info,
            excess,
            places: &places,
        };
        for (k, evidence) in expected::flags(&epoch, valid_beacons, &found_so_far) {
            found
                .entry((k, Code::MissingExpectedWitnesses))
                .or_insert(evidence);
        }
        let found_so_far: BTreeSet<PublicKey> = found.keys().map(|(k, _)| *k).collect();
        for (k, code, evidence) in expected::beyond_range(&epoch, &found_so_far) {
            if !found_so_far.contains(&k) {
                found.entry((k, code)).or_insert(evidence);
            }
        }
    }
    // No reciprocity: heard others validly, never validly heard itself.
    for (k, n) in &links.heard_valid {
        if !links.witnessed.contains(k) {
            found.entry((*k, Code::NoReciprocity)).or_insert(format!(
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
    // A beaconer found cheating (its power, its place, its keys are lies) caused its
    // witnesses' "too loud" verdicts: a farm's key asserted kilometres from its radio is too
    // loud for every honest neighbour of the radio.
    let liars = &suspended;
    // So did one of at most two beaconers a witness found too loud (a witness inflating what
    // it hears inflates it for every beaconer; a griefer heard by one or two victims is too
    // few counterparts to be found, but not to be blamed).
    let mut loud_witnesses: BTreeMap<PublicKey, BTreeSet<PublicKey>> = BTreeMap::new();
    let mut loud_beaconers: BTreeMap<PublicKey, BTreeSet<PublicKey>> = BTreeMap::new();
    for r in receptions.iter().filter(|r| r.heard == Heard::TooLoud) {
        loud_witnesses
            .entry(r.beaconer)
            .or_default()
            .insert(r.witness);
        loud_beaconers
            .entry(r.witness)
            .or_default()
            .insert(r.beaconer);
    }
    let mut pardoned: BTreeMap<PublicKey, u64> = BTreeMap::new();
    for r in receptions.iter().filter(|r| r.heard == Heard::TooLoud) {
        if suspended.contains(&r.witness) {
            continue;
        }
        // A witness too loud for three beaconers or more is too loud itself (and two that
        // inflate together do not excuse each other).
        let few = loud_beaconers[&r.witness].len() <= 2;
        if liars.contains(&r.beaconer) || few {
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
    links: &links::Links,
) -> BTreeMap<(PublicKey, PublicKey), (i64, i64)> {
    links
        .by_pair
        .iter()
        .map(|(pair, l)| (*pair, (l.n * model.predict(l.x) - l.loss, l.n)))
        .collect()
}

/// A hash map with a fast, fixed hash (multiply and rotate, as rustc's FxHash) for the hot
/// loops over millions of receptions. Fixed: its order is still never what a result depends
/// on (every caller sorts what it reads back).
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// FxHash (8 bytes at a time, rotate, xor, multiply) with a final avalanche.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn finish(&self) -> u64 {
        // A final avalanche (murmur3's): the table's buckets come from the low bits, which a
        // multiply alone leaves depending on the low bits of the input only.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x
    }
}

/// `receptions` in [`canonical`] order, of several receptions of one beacon by one witness
/// only the first. Sorted by the first eight bytes of beacon and witness (millions of
/// receptions: comparing whole keys through references costs seconds), then, where those
/// prefixes tie, by the whole order; ties are found on the sorted prefixes, so that each
/// reception is read once more, to check its beacon.
fn in_canonical_order(receptions: &[Reception]) -> Vec<&Reception> {
    let prefix = |b: &[u8]| u64::from_be_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let mut keys: Vec<(u64, u64, u32)> = receptions
        .iter()
        .enumerate()
        .map(|(i, r)| (prefix(&r.beacon), prefix(r.witness.as_bytes()), i as u32))
        .collect();
    keys.sort_unstable();
    let same = |a: &Reception, b: &Reception| (a.beacon, a.witness) == (b.beacon, b.witness);
    let mut out: Vec<&Reception> = Vec::with_capacity(receptions.len());
    let mut group: Vec<&Reception> = Vec::new();
    for run in keys.chunk_by(|a, b| a.0 == b.0) {
        let first = &receptions[run[0].2 as usize];
        if run[1..]
            .iter()
            .all(|k| receptions[k.2 as usize].beacon == first.beacon)
        {
            // One beacon (as beacon ids, being hashes, always are): ties of witness prefixes.
            for ties in run.chunk_by(|a, b| a.1 == b.1) {
                if let [k] = ties {
                    out.push(&receptions[k.2 as usize]);
                    continue;
                }
                group.clear();
                group.extend(ties.iter().map(|k| &receptions[k.2 as usize]));
                group.sort_unstable_by_key(|r| canonical(r));
                group.dedup_by(|a, b| same(a, b));
                out.extend(group.iter().copied());
            }
        } else {
            group.clear();
            group.extend(run.iter().map(|k| &receptions[k.2 as usize]));
            group.sort_unstable_by_key(|r| canonical(r));
            group.dedup_by(|a, b| same(a, b));
            out.extend(group.iter().copied());
        }
    }
    out
}

/// The order receptions are processed in: by beacon, then witness, then verdict (of two
/// copies of one reception, a valid one is kept: a late copy cannot hide the one that is
/// paid), then everything else (which copy is kept does not depend on the order they came in).
fn canonical(r: &Reception) -> ([u8; 32], PublicKey, Heard, PublicKey, i32, i32, i32) {
    (
        r.beacon,
        r.witness,
        r.heard,
        r.beaconer,
        r.rssi_ddbm,
        r.snr_ddb,
        r.tx_power_ddbm,
    )
}

/// Each beaconer's median stated transmit power, dBm x 10.
pub(crate) fn stated_power(receptions: &[&Reception]) -> BTreeMap<PublicKey, i64> {
    let mut powers: BTreeMap<PublicKey, Vec<i64>> = BTreeMap::new();
    // Once per beacon (receptions come by beacon; a beacon states one power).
    for run in receptions.chunk_by(|a, b| a.beacon == b.beacon) {
        let first = (run[0].beaconer, run[0].tx_power_ddbm);
        if run
            .iter()
            .all(|r| r.tx_power_ddbm == first.1 && r.beaconer == first.0)
        {
            // As every honest beacon's receptions are.
            powers.entry(first.0).or_default().push(i64::from(first.1));
            continue;
        }
        for (beaconer, power) in run
            .iter()
            .map(|r| (r.beaconer, r.tx_power_ddbm))
            .collect::<BTreeSet<_>>()
        {
            powers.entry(beaconer).or_default().push(i64::from(power));
        }
    }
    powers
        .into_iter()
        .map(|(k, mut v)| (k, median(&mut v)))
        .collect()
}

/// What each beaconer sends, dBm x 10: its median stated power, or the region's beacon power
/// for its declared antenna where that is more (an honest agent always sends it; a key
/// stating less cannot shrink where it should be heard, or excuse not being heard).
pub(crate) fn assumed_power(
    receptions: &[&Reception],
    info: &BTreeMap<PublicKey, &HotspotInfo>,
) -> BTreeMap<PublicKey, i64> {
    stated_power(receptions)
        .into_iter()
        .filter_map(|(b, stated)| {
            let h = info.get(&b)?;
            Some((
                b,
                stated.max(i64::from(h.region.beacon_tx_power_ddbm(h.gain_ddbi))),
            ))
        })
        .collect()
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
