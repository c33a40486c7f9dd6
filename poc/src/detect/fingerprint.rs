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

use super::{Point, Reception, median, short, signal::Model};

/// Common witnesses two beaconers need before they are compared.
pub const MIN_COMMON: i64 = 8;

/// RMS agreement with "one radio" below which a pair is suspect, dB x 10.
pub const SAME_RMS_DDB: f64 = 30.0;

/// Two witnesses reporting the same RSSI and SNR (to the tenth of a dB) for at least this many
/// beacons, and for [`IDENTICAL_SHARE_PCT`] % of those both heard, report one radio's
/// measurements: both keys are found, whatever their geometry. (Two radios with 4 dB of
/// independent fading agree exactly on about one beacon in 140.)
pub const IDENTICAL_MIN: u64 = 20;
pub const IDENTICAL_SHARE_PCT: u64 = 90;

/// A key of a suspect pair is found when its counterparts' mean receptions miss its asserted
/// place, at the median, by this many times the network's fading (RMS).
pub const MISFIT_OF_FADING: f64 = 1.0;

#[derive(Debug, Default, Clone, Copy)]
struct Pair {
    n: i64,
    /// Σ (observed − one radio)², Σ (observed − geometry)², (dB x 10)²: integers, so the
    /// order of accumulation cannot change a bit.
    same: i64,
    geometry: i64,
}

impl Pair {
    fn add(&mut self, observed: i64, geometry: i64) {
        self.n += 1;
        self.same += observed.pow(2);
        self.geometry += (observed - geometry).pow(2);
    }

    /// (RMS against one radio, RMS against geometry) when the pair is suspect.
    fn verdict(&self) -> Option<(f64, f64)> {
        let n = self.n.max(1) as f64;
        let (same, geometry) = (
            (self.same as f64 / n).sqrt(),
            (self.geometry as f64 / n).sqrt(),
        );
        (self.n >= MIN_COMMON && same <= SAME_RMS_DDB && geometry >= 2.0 * same + SAME_RMS_DDB)
            .then_some((same, geometry))
    }
}

/// Keys found sharing a radio with another, with the evidence.
/// `excess`: [`super::excess_by_pair`].
pub fn flags(
    model: &Model,
    points: &[Point],
    receptions: &[&Reception],
    excess: &BTreeMap<(PublicKey, PublicKey), (i64, i64)>,
) -> Vec<(PublicKey, String)> {
    // Hotspots by index (key order).
    let mut keys: Vec<PublicKey> = receptions
        .iter()
        .flat_map(|r| [r.beaconer, r.witness])
        .collect();
    keys.sort();
    keys.dedup();
    let index = |k: &PublicKey| keys.binary_search(k).unwrap_or(0) as u32;
    let mut out = Vec::new();

    // As beaconers: per beaconer, per witness (sum of loss, receptions, log distance).
    let mut heard_by: BTreeMap<u32, BTreeMap<u32, (i64, i64, i64)>> = BTreeMap::new();
    for p in points {
        let r = receptions[p.index];
        let e = heard_by
            .entry(index(&r.beaconer))
            .or_default()
            .entry(index(&r.witness))
            .or_insert((0, 0, p.x));
        e.0 += p.loss;
        e.1 += 1;
    }
    // Candidates: beaconers sharing one of their two loudest witnesses (one radio is loudest
    // at the same neighbours); comparing every pair would cost the square of the network.
    let mut by_loudest: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (b, heard) in &heard_by {
        let mut loudest: Vec<(i64, u32)> = heard.iter().map(|(w, e)| (e.0 / e.1, *w)).collect();
        loudest.sort_unstable();
        for (_, w) in loudest.iter().take(2) {
            by_loudest.entry(*w).or_default().push(*b);
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
    let misfits = misfits(model, excess);
    for (a, b) in candidates {
        let (ha, hb) = (&heard_by[&a], &heard_by[&b]);
        let mut pair = Pair::default();
        for (w, (sa, na, xa)) in ha {
            if let Some((sb, nb, xb)) = hb.get(w) {
                let geometry = (model.slope * (xa - xb) as f64).round() as i64;
                pair.add(sa / na - sb / nb, geometry);
            }
        }
        if let Some((same, geometry)) = pair.verdict() {
            let (ka, kb) = (keys[a as usize], keys[b as usize]);
            let say = |other: &PublicKey| {
                format!(
                    "as beaconers, it and {}… agree with one radio to {:.1} dB (RMS over {} \
                     common witnesses) and miss their asserted places by {:.1} dB: one radio \
                     behind several keys",
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

    // As witnesses: the same measurement of a beacon, to the tenth of a dB, by two keys.
    let mut beacon_ids: Vec<[u8; 32]> = receptions.iter().map(|r| r.beacon).collect();
    beacon_ids.dedup(); // receptions come sorted by beacon
    let mut per_beacon: BTreeMap<u32, Vec<(i32, i32, u32)>> = BTreeMap::new();
    let mut beacons_of: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for r in receptions {
        let beacon = beacon_ids.binary_search(&r.beacon).unwrap_or(0) as u32;
        let w = index(&r.witness);
        per_beacon
            .entry(beacon)
            .or_default()
            .push((r.rssi_ddbm, r.snr_ddb, w));
        beacons_of.entry(w).or_default().push(beacon);
    }
    let mut same: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for heard in per_beacon.values_mut() {
        heard.sort_unstable();
        for run in heard.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
            for (i, a) in run.iter().enumerate() {
                for b in &run[i + 1..] {
                    if a.2 != b.2 {
                        *same.entry((a.2.min(b.2), a.2.max(b.2))).or_default() += 1;
                    }
                }
            }
        }
    }
    for ((a, b), n) in same {
        if n < IDENTICAL_MIN {
            continue;
        }
        let (ba, bb) = (&beacons_of[&a], &beacons_of[&b]);
        let set: BTreeSet<u32> = ba.iter().copied().collect();
        let common = bb.iter().filter(|x| set.contains(x)).count() as u64;
        if n * 100 >= common * IDENTICAL_SHARE_PCT {
            let (ka, kb) = (keys[a as usize], keys[b as usize]);
            let say = |other: &PublicKey| {
                format!(
                    "it and {}… reported the same RSSI and SNR for {n} of the {common} beacons \
                     both heard: radios with their own fading never do; one radio behind \
                     several keys",
                    short(other)
                )
            };
            out.push((ka, say(&kb)));
            out.push((kb, say(&ka)));
        }
    }
    out
}

/// Keys whose counterparts' mean receptions miss their asserted place, at the median, by
/// [`MISFIT_OF_FADING`] times the network's fading, as beaconer.
fn misfits(
    model: &Model,
    excess: &BTreeMap<(PublicKey, PublicKey), (i64, i64)>,
) -> BTreeSet<PublicKey> {
    let mut fit: BTreeMap<PublicKey, Vec<i64>> = BTreeMap::new();
    for ((k, _), (sum, n)) in excess {
        fit.entry(*k).or_default().push((sum / n).abs());
    }
    fit.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .filter_map(|(k, mut v)| {
            (median(&mut v) as f64 >= MISFIT_OF_FADING * model.rms).then_some(k)
        })
        .collect()
}
