//! Expected but missing, and its mirror, heard beyond range.
//!
//! Expected but missing: a beaconer whose beacons the listening hotspots near its asserted
//! place should hear loudly (by the network's fitted law), yet most of them never heard any
//! of them. A ring without RF is witnessed only by its members; the honest neighbours around
//! its asserted places hear nothing.

use std::collections::{BTreeMap, BTreeSet};

use hexproof_proto::PublicKey;

use super::{Heard, Reception, log_milli, median, signal::Model};
use crate::{HotspotInfo, distance_m};

/// The predicted RSSI (dBm x 10) from which a listener is expected to hear a beacon: 20 dB
/// above what SF9 demodulates, five times the shadowing's standard deviation.
pub const EXPECTED_RSSI_DDBM: i64 = -1_100;

/// Valid beacons a beaconer needs in the epoch before its silence is held against it.
pub const MIN_BEACONS: u64 = 2;

/// Expected listeners that must have heard nothing.
pub const MIN_MISSING: usize = 3;

/// Hotspots that were listening (at least one valid reception this epoch), and each
/// beaconer's stated transmit powers.
fn listening_and_powers(
    receptions: &[&Reception],
) -> (BTreeSet<PublicKey>, BTreeMap<PublicKey, Vec<i64>>) {
    let mut listening = BTreeSet::new();
    let mut powers: BTreeMap<PublicKey, Vec<i64>> = BTreeMap::new();
    for r in receptions {
        powers
            .entry(r.beaconer)
            .or_default()
            .push(i64::from(r.tx_power_ddbm));
        if r.heard == Heard::Valid {
            listening.insert(r.witness);
        }
    }
    (listening, powers)
}

/// Beaconers most of whose expected listeners heard none of their beacons.
pub fn flags(
    model: &Model,
    receptions: &[&Reception],
    info: &BTreeMap<PublicKey, &HotspotInfo>,
    valid_beacons: &BTreeMap<PublicKey, u64>,
) -> Vec<(PublicKey, String)> {
    let (listening, powers) = listening_and_powers(receptions);
    let mut heard_by: BTreeMap<PublicKey, BTreeSet<PublicKey>> = BTreeMap::new();
    for r in receptions {
        heard_by.entry(r.beaconer).or_default().insert(r.witness);
    }
    let mut out = Vec::new();
    for (beaconer, mut power) in powers {
        let beacons = valid_beacons.get(&beaconer).copied().unwrap_or(0);
        let Some(b) = info.get(&beaconer) else {
            continue;
        };
        let Some(at) = b.location else { continue };
        if beacons < MIN_BEACONS {
            continue;
        }
        let eirp = median(&mut power) + i64::from(b.gain_ddbi);
        let heard = &heard_by[&beaconer];
        let mut expected = 0usize;
        let mut missing = 0usize;
        for l in listening.iter().filter(|l| **l != beaconer) {
            let Some(h) = info.get(l) else { continue };
            let Some(there) = h.location else { continue };
            let x = log_milli(distance_m(at, there));
            let predicted = eirp + i64::from(h.gain_ddbi) - model.predict(x);
            if predicted >= EXPECTED_RSSI_DDBM {
                expected += 1;
                if !heard.contains(l) {
                    missing += 1;
                }
            }
        }
        if missing >= MIN_MISSING && missing * 2 > expected {
            out.push((
                beaconer,
                format!(
                    "{missing} of the {expected} listening hotspots that its asserted place and \
                     stated power should reach at {:.0} dBm or louder heard none of its \
                     {beacons} valid beacons ({})",
                    EXPECTED_RSSI_DDBM as f64 / 10.0,
                    model.describe()
                ),
            ));
        }
    }
    out
}

/// The predicted RSSI (dBm x 10) below which a pair is beyond range: 0.5 dB below what SF9
/// demodulates, so an honest radio hears such a beacon only when fading lifts it (well under
/// half the time with 4 dB of shadowing, less the farther).
pub const BEYOND_RANGE_RSSI_DDBM: i64 = -1_300;

/// Beacons beyond range a witness must have had the chance to hear before its rate counts.
pub const MIN_BEYOND_RANGE: u64 = 20;

/// Hears beyond range: a witness that reports most beacons sent from beyond its range (by the
/// fitted law, from both asserted places and the stated power): a relay feeding it beacons
/// from elsewhere. `exclude`: beaconers already found (their places and powers are lies, so
/// "beyond range" means nothing for them).
pub fn beyond_range(
    model: &Model,
    receptions: &[&Reception],
    info: &BTreeMap<PublicKey, &HotspotInfo>,
    valid_beacons: &BTreeMap<PublicKey, u64>,
    exclude: &BTreeSet<PublicKey>,
) -> Vec<(PublicKey, String)> {
    let (listening, powers) = listening_and_powers(receptions);
    let mut heard: BTreeMap<(PublicKey, PublicKey), BTreeSet<[u8; 32]>> = BTreeMap::new();
    for r in receptions {
        // Receptions the rules rejected for their geometry (too far, too close, ...) earn
        // nothing: only those a relay would be paid for count.
        if r.heard != Heard::Other {
            heard
                .entry((r.witness, r.beaconer))
                .or_default()
                .insert(r.beacon);
        }
    }
    let eirp: BTreeMap<PublicKey, (i64, h3o::CellIndex)> = powers
        .into_iter()
        .filter(|(b, _)| !exclude.contains(b))
        .filter_map(|(b, mut p)| {
            let h = info.get(&b)?;
            Some((b, (median(&mut p) + i64::from(h.gain_ddbi), h.location?)))
        })
        .collect();
    let mut out = Vec::new();
    for w in &listening {
        let Some(h) = info.get(w) else { continue };
        let Some(there) = h.location else { continue };
        let (mut chances, mut got) = (0u64, 0u64);
        for (b, (eirp, at)) in &eirp {
            if b == w {
                continue;
            }
            let predicted =
                eirp + i64::from(h.gain_ddbi) - model.predict(log_milli(distance_m(*at, there)));
            if predicted < BEYOND_RANGE_RSSI_DDBM {
                chances += valid_beacons.get(b).copied().unwrap_or(0);
                got += heard.get(&(*w, *b)).map_or(0, |s| s.len() as u64);
            }
        }
        if chances >= MIN_BEYOND_RANGE && got * 10 >= chances * 6 {
            out.push((
                *w,
                format!(
                    "reported {got} of the {chances} beacons sent from beyond its range (a \
                     predicted {:.0} dBm or less at its asserted place; {}): an honest radio \
                     hears few of them, a relay all",
                    BEYOND_RANGE_RSSI_DDBM as f64 / 10.0,
                    model.describe()
                ),
            ));
        }
    }
    out
}
