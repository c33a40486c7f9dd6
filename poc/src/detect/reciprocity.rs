//! Reciprocity: a radio link loses the same both ways. Shadowing, walls, cables, masts and
//! antenna gains all cancel between the two directions of one link, so these tests need no
//! path-loss law and hold on any terrain:
//!
//! - **Power** ([`power`]): for every partner a hotspot both heard and was heard by, the loss
//!   its beacons show (from the power it states) against the loss it reports hearing the
//!   partner's: about zero on every link of an honest radio, whatever its site.
//!   Its beacons much louder than their stated power allows: it understates its power
//!   (`beacons_louder_than_claimed`, a griefer making its witnesses look too loud). Its
//!   receptions much louder than its own beacons arrive: it reports what its radio does not
//!   hear (`hears_beyond_range`).
//! - **One-way links** ([`one_way`]): a witness that hears a beaconer most of the time should,
//!   at the same power, be heard by it about as often. A relay hears a whole town's beacons
//!   from far away and none of the town ever hears its own (`hears_beyond_range`).

use std::collections::{BTreeMap, BTreeSet};

use hexproof_proto::PublicKey;

use super::links::Links;

/// How far from zero (dB x 10) a hotspot's median asymmetry must be to count as a lie:
/// well beyond the calibration error of hobby concentrators (the rules allow 5 dB).
pub const ASYMMETRY_DDB: i64 = 80;

/// Partners heard both ways a power finding needs.
pub const MIN_PARTNERS: usize = 3;

/// How many standard deviations below what was expected back a witness's receptions of its
/// own beacons must fall before it is found (an honest radio: once in a billion).
pub const ONE_WAY_SIGMAS: f64 = 6.0;

/// The least share (1 / n) of what was expected back that must be missing: a receiver a
/// little better than its neighbours' hears a little more than it is heard (a relay with a
/// real radio in town is missing a share as large as what it relays).
pub const ONE_WAY_SHARE: f64 = 8.0;

/// The least number of receptions expected back that must be missing.
pub const MIN_MISSING_BACK: f64 = 24.0;

/// Silent partners (none of its beacons heard, or at most a [`SILENT_BACK`]th of what the link
/// carried their way) a one-way finding needs, and the least share
/// (1 / n) of its partners they must be: a few keys refusing to report a hotspot's beacons
/// do not make it one-way (framers need four radios that hear it and an eighth of its
/// partners, each key paying the onboarding fee; keys found sharing a radio do not count; a relay on a mast forging the sixth of the town its radio
/// misses was under the fifth asked before, scenario `terrain`).
pub const MIN_SILENT_PARTNERS: usize = 4;
pub const SILENT_SHARE: usize = 8;

/// A partner that heard at most 1 / n of what the link carried its way counts as silent: a
/// relay that fills in the beacons its radio misses makes its weakest links look perfect from
/// its side, and those partners still hear one or two of its own by fading (scenario
/// `default`, a CI run: four wholly silent partners of 36, eight such).
pub const SILENT_BACK: f64 = 4.0;

/// A link counts as silent by [`SILENT_BACK`] only when it should have carried at least this
/// many beacons back (over the time both were on); on weaker links only none back is silent.
pub const MIN_LINK_BACK: f64 = 4.0;

/// A partner hearing less than this share of what it is heard (its receptions of others'
/// beacons against others' of its own) is deaf: left out of the one-way test (scenario-free
/// test: one hotspot in five with 10 dB more noise on receive flagged six honest neighbours).
pub const DEAF_SHARE: f64 = 0.75;

/// The highest forward rate taken as a link's chance of carrying a beacon back (a link heard
/// every time could still fade once in twenty).
const MAX_RATE: f64 = 0.95;

/// Each hotspot's asymmetry over partners heard both ways, (loss it reports hearing them −
/// loss its beacons show at them, dB x 10): (lower quartile, upper quartile, partners). A
/// lie about one's own power or hearing shows on every link; framers lying about one
/// hotspot show only on theirs, so a finding needs three quarters of the partners to agree.
/// `skip`: partners whose statements are already known to be lies.
fn asymmetry(links: &Links, skip: &BTreeSet<PublicKey>) -> BTreeMap<PublicKey, (i64, i64, usize)> {
    let mut per: BTreeMap<PublicKey, Vec<i64>> = BTreeMap::new();
    for ((b, w), out) in &links.by_pair {
        if b == w || skip.contains(w) {
            continue;
        }
        if let Some(back) = links.get(w, b) {
            per.entry(*b).or_default().push(back.mean() - out.mean());
        }
    }
    per.into_iter()
        .map(|(k, mut v)| {
            v.sort_unstable();
            let q = v.len() / 4;
            (k, (v[q], v[v.len() - 1 - q], v.len()))
        })
        .collect()
}

/// Hotspots whose beacons, or whose receptions, are much louder than the other direction of
/// the same links, on three quarters of them: (key, true for its beacons / false for its
/// receptions, evidence).
pub fn power(links: &Links) -> Vec<(PublicKey, bool, String)> {
    let mut out = Vec::new();
    let first = asymmetry(links, &BTreeSet::new());
    let loud_beacons: BTreeSet<PublicKey> = first
        .iter()
        .filter(|(_, (low, _, n))| *n >= MIN_PARTNERS && *low >= ASYMMETRY_DDB)
        .map(|(k, _)| *k)
        .collect();
    for k in &loud_beacons {
        let (low, _, n) = first[k];
        out.push((
            *k,
            true,
            format!(
                "its beacons arrive at least {:.1} dB louder than the same links carry the other \
                 way at three quarters of the {n} hotspots it both heard and was heard by: it \
                 sends more power than it states",
                low as f64 / 10.0
            ),
        ));
    }
    // Its receptions, leaving out partners found understating their power (their lie, not
    // the witness's).
    for (k, (_, high, n)) in asymmetry(links, &loud_beacons) {
        if n >= MIN_PARTNERS && -high >= ASYMMETRY_DDB && !loud_beacons.contains(&k) {
            out.push((
                k,
                false,
                format!(
                    "it reports hearing others at least {:.1} dB louder than they hear its beacons \
                     over the same links, at three quarters of the {n} hotspots heard both ways: \
                     receptions its radio does not make",
                    -high as f64 / 10.0
                ),
            ));
        }
    }
    out
}

/// Witnesses that hear beaconers far more often than those beaconers hear them back. A link
/// that carried a share r of a beaconer's beacons to the witness carries each of the witness's
/// own n beacons back with about the same chance when the witness sends at least the
/// beaconer's power (the same loss both ways): n·r expected back, with variance n·r·(1 − r).
/// A witness whose partners heard far fewer of its beacons than that, in all, hears what no
/// radio where it says could. `beacons`: valid beacons per hotspot; `power`: what each
/// beaconer sends ([`super::assumed_power`]); `skip`: partners already found lying (their
/// silence is no evidence: a farm's keys refusing to report a rival are one radio).
pub fn one_way(
    links: &Links,
    beacons: &BTreeMap<PublicKey, u64>,
    power: &BTreeMap<PublicKey, i64>,
    skip: &BTreeSet<PublicKey>,
) -> Vec<(PublicKey, String)> {
    // Hotspots that report valid receptions at all (they have a radio listening, or say so).
    let listening = &links.heard_valid;
    // Each hotspot's receptions of others' beacons, and others' receptions of its own: about
    // equal for a radio that hears as well as it is heard. A partner that hears much less than
    // it is heard (a noisy site, a deaf front end) misses everyone's beacons, not only one
    // hotspot's: its silence says nothing about who it did not hear.
    // Receptions by keys already found are lies and do not count; nor does the hotspot under
    // test's own (a relay's forgeries of a partner's beacons cannot make the partner look deaf).
    let mut hears: BTreeMap<PublicKey, i64> = BTreeMap::new();
    let mut heard: BTreeMap<PublicKey, i64> = BTreeMap::new();
    for ((b, w), link) in links.by_pair.iter().filter(|((_, w), _)| !skip.contains(w)) {
        *hears.entry(*w).or_default() += link.n;
        *heard.entry(*b).or_default() += link.n;
    }
    // `p`, leaving out the `n` receptions of its beacons by the hotspot under test.
    let deaf = |p: &PublicKey, n: i64| {
        let hears = hears.get(p).copied().unwrap_or(0);
        let heard = heard.get(p).copied().unwrap_or(0) - n;
        (hears as f64) < heard as f64 * DEAF_SHARE
    };
    // Per witness: (expected back, its variance, received back, partners, silent partners).
    let mut tally: BTreeMap<PublicKey, (f64, f64, i64, usize, usize)> = BTreeMap::new();
    for ((b, w), link) in &links.by_pair {
        let (Some(&sent_b), Some(&sent_w)) = (beacons.get(b), beacons.get(w)) else {
            continue;
        };
        if b == w
            || sent_b == 0
            || sent_w == 0
            || !listening.contains_key(b)
            || skip.contains(b)
            || deaf(b, link.n)
        {
            continue;
        }
        let (Some(pb), Some(pw)) = (power.get(b), power.get(w)) else {
            continue;
        };
        if pw < pb {
            continue;
        }
        let rate = (link.n as f64 / sent_b as f64).min(MAX_RATE);
        // Its beacons the partner could have heard: those sent while the partner was on. Every
        // hotspot beacons at the same interval, so a partner that beaconed less than it was on
        // for that share of the epoch (and listened only then).
        let n = sent_w.min(sent_b) as f64;
        let t = tally.entry(*w).or_default();
        t.0 += n * rate;
        t.1 += n * rate * (1.0 - rate);
        let back = links
            .get(w, b)
            .map_or(0, |l| l.n.min(sent_w.min(sent_b) as i64));
        t.2 += back;
        t.3 += 1;
        // Silent: it heard none of them, or a quarter or less of what the link carried the
        // other way (the weak links a relay fills in are heard back once or twice by fading).
        t.4 += usize::from(
            back == 0 || (n * rate >= MIN_LINK_BACK && back as f64 * SILENT_BACK <= n * rate),
        );
    }
    tally
        .into_iter()
        .filter(|(_, (expected, variance, back, partners, silent))| {
            let missing = expected - *back as f64;
            missing >= MIN_MISSING_BACK
                && missing * ONE_WAY_SHARE >= *expected
                && missing >= ONE_WAY_SIGMAS * variance.sqrt()
                && *silent >= MIN_SILENT_PARTNERS
                && silent * SILENT_SHARE >= *partners
        })
        .map(|(w, (expected, variance, back, partners, _))| {
            (
                w,
                format!(
                    "the {partners} hotspots whose beacons it heard should have heard about \
                     {expected:.0} of its own (± {:.0}) over the same links; they heard {back}: \
                     one-way links, as a relay reporting beacons from far away has",
                    variance.sqrt()
                ),
            )
        })
        .collect()
}
