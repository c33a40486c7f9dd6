//! One radio, many keys.
//!
//! - As beaconers: at each witness that heard both, the mean loss of each key's beacons. One
//!   radio gives the same loss at every witness; two radios at their asserted places differ by
//!   what the fitted law predicts from the two distances. A pair is suspect when at least
//!   [`MIN_COMMON`] common witnesses agree with one radio within [`SAME_RMS_DDB`] (RMS) and
//!   disagree with the geometry by at least twice that plus [`SAME_RMS_DDB`]; of a suspect
//!   pair, a key is found when its own receptions misfit its asserted place
//!   ([`MISFIT_OF_FADING`]): an honest host sharing a house with a farm's radio fits its place.
//!   Two honest radios asserted close together agree with their geometry as well as with "one
//!   radio". Only beaconers sharing one of their two loudest witnesses are compared (one radio
//!   is loudest at the same neighbours): comparing every pair would cost the square of the
//!   network.
//! - As witnesses: the same RSSI and SNR, to the tenth of a dB, for most beacons both heard
//!   ([`IDENTICAL_MIN`], [`IDENTICAL_SHARE_PCT`]): one radio's measurements reported under
//!   several keys, whatever their geometry (a farm asserting its keys close to its radio fits
//!   its places). A farm that jitters its numbers is left to the beaconer test.

use std::collections::{BTreeMap, BTreeSet};

use hexproof_proto::PublicKey;

use super::{FastMap, Reception, links::Links, median, short, signal::Model};

/// Common witnesses two beaconers need before they are compared.
pub const MIN_COMMON: i64 = 5;

/// RMS agreement with "one radio" below which a pair is suspect, dB x 10.
pub const SAME_RMS_DDB: f64 = 30.0;

/// Two witnesses reporting the same RSSI and SNR (to the tenth of a dB) for at least this many
/// beacons, and for [`IDENTICAL_SHARE_PCT`] % of those both heard, report one radio's
/// measurements: both keys are found, whatever their geometry. (Two radios with 4 dB of
/// independent fading agree exactly on about one beacon in 140.)
pub const IDENTICAL_MIN: u64 = 20;
pub const IDENTICAL_SHARE_PCT: u64 = 90;

/// How close two measurements (RSSI and SNR, dB x 10) must be to count as the same: a farm
/// jittering its copies by a tenth of a dB is still one radio (more jitter is what the
/// comparison of the two keys' mean links, [`flags`], sees through).
pub const IDENTICAL_TOLERANCE_DDB: i64 = 2;

/// A key of a suspect pair is found when its counterparts' mean receptions miss its asserted
/// place, at the median, by this many times the network's fading (RMS).
pub const MISFIT_OF_FADING: f64 = 1.0;

#[derive(Debug, Default, Clone, Copy)]
struct Pair {
    n: i64,
    /// Σ observed, Σ observed², Σ (observed − geometry)², dB x 10: integers, so the order of
    /// accumulation cannot change a bit.
    sum: i64,
    squares: i64,
    geometry: i64,
}

impl Pair {
    fn add(&mut self, observed: i64, geometry: i64) {
        self.n += 1;
        self.sum += observed;
        self.squares += observed.pow(2);
        self.geometry += (observed - geometry).pow(2);
    }

    /// (spread around one radio, RMS against geometry) when the pair is suspect. One radio
    /// gives the same difference at every common witness, whatever each key states as its
    /// power (a constant offset: the spread is centred).
    fn verdict(&self) -> Option<(f64, f64)> {
        let n = self.n.max(1) as f64;
        let mean = self.sum as f64 / n;
        let (same, geometry) = (
            (self.squares as f64 / n - mean * mean).max(0.0).sqrt(),
            (self.geometry as f64 / n).sqrt(),
        );
        (self.n >= MIN_COMMON && same <= SAME_RMS_DDB && geometry >= 2.0 * same + SAME_RMS_DDB)
            .then_some((same, geometry))
    }
}

/// Which ends of the links two keys are compared at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Their beacons, at the witnesses that heard both.
    Beaconers,
    /// What they heard, of the beaconers both heard.
    Witnesses,
}

/// Keys found sharing a radio with another, with the evidence: pairs compared as beaconers
/// and as witnesses. `excess`: [`super::excess_by_pair`].
pub fn flags(
    model: &Model,
    links: &Links,
    excess: &BTreeMap<(PublicKey, PublicKey), (i64, i64)>,
) -> Vec<(PublicKey, String)> {
    let mut out = compare(model, links, excess, Side::Beaconers);
    out.extend(compare(model, links, excess, Side::Witnesses));
    out
}

fn compare(
    model: &Model,
    links: &Links,
    excess: &BTreeMap<(PublicKey, PublicKey), (i64, i64)>,
    side: Side,
) -> Vec<(PublicKey, String)> {
    // Hotspots by index (key order).
    let mut keys: Vec<PublicKey> = links.by_pair.keys().flat_map(|(b, w)| [*b, *w]).collect();
    keys.sort();
    keys.dedup();
    let index = |k: &PublicKey| keys.binary_search(k).unwrap_or(0) as u32;
    let mut out = Vec::new();

    // Per key, per counterpart at the other end: (mean loss, log distance).
    let mut rows: BTreeMap<u32, BTreeMap<u32, (i64, i64)>> = BTreeMap::new();
    for ((b, w), link) in &links.by_pair {
        let (k, other) = match side {
            Side::Beaconers => (b, w),
            Side::Witnesses => (w, b),
        };
        rows.entry(index(k))
            .or_default()
            .insert(index(other), (link.mean(), link.x));
    }
    // Candidates: keys sharing one of their two loudest counterparts (one radio is loudest
    // at the same neighbours); comparing every pair would cost the square of the network.
    let mut by_loudest: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (k, row) in &rows {
        let mut loudest: Vec<(i64, u32)> = row.iter().map(|(o, e)| (e.0, *o)).collect();
        loudest.sort_unstable();
        for (_, o) in loudest.iter().take(2) {
            by_loudest.entry(*o).or_default().push(*k);
        }
    }
    let mut candidates: BTreeSet<(u32, u32)> = BTreeSet::new();
    for group in by_loudest.values() {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                candidates.insert(((*a).min(*b), (*a).max(*b)));
            }
        }
    }
    let misfits = misfits(model, excess, side);
    let (role, where_) = match side {
        Side::Beaconers => ("beaconers", "common witnesses"),
        Side::Witnesses => ("witnesses", "beaconers both heard"),
    };
    for (a, b) in candidates {
        let (ra, rb) = (&rows[&a], &rows[&b]);
        let mut pair = Pair::default();
        for (o, (la, xa)) in ra {
            if let Some((lb, xb)) = rb.get(o) {
                let geometry = (model.slope * (xa - xb) as f64).round() as i64;
                pair.add(la - lb, geometry);
            }
        }
        if let Some((same, geometry)) = pair.verdict() {
            let (ka, kb) = (keys[a as usize], keys[b as usize]);
            let say = |other: &PublicKey| {
                format!(
                    "as {role}, it and {}… agree with one radio to {:.1} dB (spread over {} \
                     {where_}) and miss their asserted places by {:.1} dB: one radio behind \
                     several keys",
                    short(other),
                    same / 10.0,
                    pair.n,
                    geometry / 10.0
                )
            };
            // Of the pair, a key that fits its own place (an honest host in the farm's
            // house) is not found.
            if misfits.contains(&ka) {
                out.push((ka, say(&kb)));
            }
            if misfits.contains(&kb) {
                out.push((kb, say(&ka)));
            }
        }
    }
    out
}

/// As witnesses: the same measurement of a beacon, within [`IDENTICAL_TOLERANCE_DDB`] in both
/// RSSI and SNR, by two keys, for most beacons both heard. Needs no path-loss law.
pub fn identical(receptions: &[&Reception]) -> Vec<(PublicKey, String)> {
    // The witnesses, numbered in key order (gathered in a hash set: sorting millions of
    // receptions' keys cost seconds).
    let mut seen: FastMap<PublicKey, ()> = FastMap::default();
    for r in receptions {
        seen.entry(r.witness).or_default();
    }
    let mut keys: Vec<PublicKey> = seen.into_keys().collect();
    keys.sort_unstable();
    let number: FastMap<PublicKey, u32> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i as u32))
        .collect();
    let mut out = Vec::new();
    // Per witness, the beacons it heard (by run number, ascending: receptions come by beacon).
    let mut beacons_of: Vec<Vec<u32>> = vec![Vec::new(); keys.len()];
    // Counted in a hash map (tens of millions of updates in a large network), then sorted:
    // the findings do not depend on the map's order.
    let mut same: FastMap<u64, u64> = FastMap::default();
    let mut heard: Vec<(i32, i32, u32)> = Vec::new();
    for (beacon, run) in receptions.chunk_by(|a, b| a.beacon == b.beacon).enumerate() {
        heard.clear();
        // Only receptions judged in time: a copy of someone's published measurement comes
        // after the beacon was judged (`witness_late`), and must not make its victim a farm.
        for r in run.iter().filter(|r| r.heard != super::Heard::Other) {
            let w = number[&r.witness];
            heard.push((r.rssi_ddbm, r.snr_ddb, w));
            beacons_of[w as usize].push(beacon as u32);
        }
        heard.sort_unstable();
        for (i, a) in heard.iter().enumerate() {
            for b in heard[i + 1..]
                .iter()
                .take_while(|b| i64::from(b.0) - i64::from(a.0) <= IDENTICAL_TOLERANCE_DDB)
            {
                if a.2 != b.2 && (i64::from(a.1) - i64::from(b.1)).abs() <= IDENTICAL_TOLERANCE_DDB
                {
                    let pair = (u64::from(a.2.min(b.2)) << 32) | u64::from(a.2.max(b.2));
                    *same.entry(pair).or_default() += 1;
                }
            }
        }
    }
    let mut same: Vec<((u32, u32), u64)> = same
        .into_iter()
        .filter(|(_, n)| *n >= IDENTICAL_MIN)
        .map(|(pair, n)| (((pair >> 32) as u32, pair as u32), n))
        .collect();
    same.sort_unstable();
    for ((a, b), n) in same {
        // Beacons both heard (each list ascending), counted until they are too many for `n`
        // to be the share needed: neighbours hear thousands of beacons in common.
        let (ba, bb) = (&beacons_of[a as usize], &beacons_of[b as usize]);
        let most = n * 100 / IDENTICAL_SHARE_PCT;
        let (mut i, mut j, mut common) = (0, 0, 0u64);
        while i < ba.len() && j < bb.len() && common <= most {
            match ba[i].cmp(&bb[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        if n * 100 >= common * IDENTICAL_SHARE_PCT {
            let (ka, kb) = (keys[a as usize], keys[b as usize]);
            let say = |other: &PublicKey| {
                format!(
                    "it and {}… reported the same RSSI and SNR (within {:.1} dB) for {n} of the \
                     {common} beacons both heard: radios with their own fading never do; one \
                     radio behind several keys",
                    short(other),
                    IDENTICAL_TOLERANCE_DDB as f64 / 10.0
                )
            };
            out.push((ka, say(&kb)));
            out.push((kb, say(&ka)));
        }
    }
    out
}

/// Keys whose counterparts' mean receptions miss their asserted place, at the median, by
/// [`MISFIT_OF_FADING`] times the network's fading, on `side`.
fn misfits(
    model: &Model,
    excess: &BTreeMap<(PublicKey, PublicKey), (i64, i64)>,
    side: Side,
) -> BTreeSet<PublicKey> {
    let mut fit: BTreeMap<PublicKey, Vec<i64>> = BTreeMap::new();
    for ((b, w), (sum, n)) in excess {
        let k = match side {
            Side::Beaconers => b,
            Side::Witnesses => w,
        };
        fit.entry(*k).or_default().push((sum / n).abs());
    }
    fit.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .filter_map(|(k, mut v)| {
            (median(&mut v) as f64 >= MISFIT_OF_FADING * model.rms).then_some(k)
        })
        .collect()
}
