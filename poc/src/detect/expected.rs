//! Expected but missing, and its mirror, heard beyond range.
//!
//! Expected but missing: a beaconer whose beacons the listening hotspots near its asserted
//! place should hear loudly (by the network's fitted law), yet most of them never heard any
//! of them. A ring without RF is witnessed only by its members; the honest neighbours around
//! its asserted places hear nothing.

use std::collections::{BTreeMap, BTreeSet};

use hexproof_proto::PublicKey;

use super::{
    Code, Place, Places, Reception, links::Links, log_milli, median, metres, signal::Model,
};
use crate::HotspotInfo;

/// How far above what SF9 demodulates (dB x 10) a listener's predicted RSSI must be before
/// it is expected to hear a beacon: 20 dB, or [`EXPECTED_SPREAD_FACTOR`] times the links'
/// spread around the law where that is more (an honest link misses it then about once in
/// 40, and a finding needs most of the expected listeners to miss). At 2.5 × the spread (25 dB
/// at 10 dB of shadowing) a low-power region's beacons were expected within about a
/// kilometre only, and rings asserted one or two kilometres from a town went unfound
/// (scenario `coast-mix`).
pub const EXPECTED_MARGIN_DDB: i64 = 200;
pub const EXPECTED_SPREAD_FACTOR: f64 = 2.0;

/// Valid beacons a beaconer needs in the epoch before its silence is held against it: one
/// (a ring beaconing once per epoch is not exempt).
pub const MIN_BEACONS: u64 = 1;

/// Expected listeners that must have heard nothing (and more than half of those expected), of
/// the beaconer's own group of hotspots hearing each other (only those it hears: a link weak
/// both ways is a weak site, not a missing witness) and of groups at least twice its size; of
/// the larger groups alone, one is enough (a ring without radio, whose members hear only each
/// other, inside a network that hears none of them). Three of its own group: in sparse
/// country two of two or three miss an honest beaconer behind walls about once in fifty.
pub const MIN_MISSING: usize = 3;
pub const MIN_MISSING_OUTSIDE: usize = 1;

/// Partners heard both ways a listener needs before its silence counts against a beaconer.
pub const MIN_LISTENER_PARTNERS: usize = 2;

/// The most a listener's measured hearing (its median excess as a witness) may raise what it
/// is expected to hear, dB x 10: a mast at its best.
pub const MAX_LISTENER_OFFSET_DDB: i64 = 150;

/// The most a beaconer's own weak site (its measured hearing as a witness, below the law:
/// walls, a valley, a lossy cable cost both ways) may lower what its own group's listeners
/// are expected to hear of it, dB x 10. Listeners of a larger group (the network around a
/// ring) expect it in full: a ring's members measure each other's hearing with RSSI they
/// make up.
pub const MAX_SITE_DISCOUNT_DDB: i64 = 200;

/// The predicted RSSI (dBm x 10) from which a listener is expected to hear a beacon.
pub fn expected_rssi(model: &Model) -> i64 {
    SF9_LIMIT_DDBM + EXPECTED_MARGIN_DDB.max((EXPECTED_SPREAD_FACTOR * model.rms).round() as i64)
}

/// About what SF9 demodulates at 125 kHz with a 6 dB noise figure, dBm x 10.
pub const SF9_LIMIT_DDBM: i64 = -1_300;

/// Hotspots that were listening (a valid reception of a beacon from a key not already found),
/// and each one's measured hearing: the median over the beaconers it heard of how much louder
/// than the law, dB x 10 (walls around an indoor hotspot make it negative, a mast positive),
/// at most [`MAX_LISTENER_OFFSET_DDB`].
fn listening(
    links: &Links,
    excess: &BTreeMap<(PublicKey, PublicKey), (i64, i64)>,
    found: &BTreeSet<PublicKey>,
) -> BTreeMap<PublicKey, i64> {
    let mut heard: BTreeMap<PublicKey, Vec<i64>> = BTreeMap::new();
    for ((b, w), (sum, n)) in excess {
        if !found.contains(b) {
            heard.entry(*w).or_default().push(sum / n.max(&1));
        }
    }
    // A listener is a radio others hear too: at least two partners heard both ways (a key
    // that only reports receptions, without a radio anyone hears, accuses nobody).
    let mut partners: BTreeMap<PublicKey, usize> = BTreeMap::new();
    for ((b, w), link) in &links.by_pair {
        if link.valid > 0 && links.get(w, b).is_some_and(|l| l.valid > 0) {
            *partners.entry(*w).or_default() += 1;
        }
    }
    let mut out: BTreeMap<PublicKey, i64> = BTreeMap::new();
    for ((b, w), link) in &links.by_pair {
        if link.valid > 0
            && !found.contains(w)
            && !found.contains(b)
            && partners.get(w).is_some_and(|n| *n >= MIN_LISTENER_PARTNERS)
        {
            out.entry(*w).or_insert(0);
        }
    }
    for (w, offset) in out.iter_mut() {
        if let Some(v) = heard.get_mut(w) {
            *offset = median(v).min(MAX_LISTENER_OFFSET_DDB);
        }
    }
    out
}

/// Places sorted by latitude, to find those within a distance without looking at all; each
/// with what its caller wants to read of it (`T`).
struct Near<T> {
    by_lat: Vec<(i64, PublicKey, Place, T)>,
}

impl<T> Near<T> {
    fn with(places: impl Iterator<Item = (PublicKey, Place, T)>) -> Near<T> {
        let mut by_lat: Vec<(i64, PublicKey, Place, T)> =
            places.map(|(k, p, t)| (p.lat_e7, k, p, t)).collect();
        by_lat.sort_unstable_by_key(|p| (p.0, p.1));
        Near { by_lat }
    }

    /// Those within `radius_m` of `at`, with each one's `T` and distance (metres).
    fn within<'a>(
        &'a self,
        at: &Place,
        radius_m: f64,
    ) -> impl Iterator<Item = (&'a PublicKey, &'a Place, &'a T, u64)> + 'a {
        // A degree of latitude is at least 110.5 km anywhere.
        let band = (radius_m / 110_500.0 * 1e7).ceil() as i64 + 1;
        let (lo, hi) = (at.lat_e7 - band, at.lat_e7 + band);
        let start = self.by_lat.partition_point(|p| p.0 < lo);
        let at = *at;
        self.by_lat[start..]
            .iter()
            .take_while(move |p| p.0 <= hi)
            .map(move |p| (p, metres(&at, &p.2)))
            .filter(move |(_, d)| *d as f64 <= radius_m + 1.0)
            .map(|(p, d)| (&p.1, &p.2, &p.3, d))
    }
}

/// Each beaconer's radiated power as the region's beacons are sent (an honest agent always
/// sends the region's beacon power; a key stating less cannot shrink where it should be
/// heard), dBm x 10, and where it is asserted.
fn sources(
    receptions: &[&Reception],
    info: &BTreeMap<PublicKey, &HotspotInfo>,
    places: &Places,
    exclude: &BTreeSet<PublicKey>,
) -> BTreeMap<PublicKey, (i64, Place)> {
    super::assumed_power(receptions, info)
        .into_iter()
        .filter(|(b, _)| !exclude.contains(b))
        .filter_map(|(b, power)| {
            let h = info.get(&b)?;
            Some((b, (power + i64::from(h.gain_ddbi), *places.get(&b)?)))
        })
        .collect()
}

/// What the expected-but-missing and beyond-range tests read of the epoch.
#[derive(Debug, Clone, Copy)]
pub struct Epoch<'a> {
    pub model: &'a Model,
    /// In canonical order.
    pub receptions: &'a [&'a Reception],
    pub links: &'a Links,
    pub info: &'a BTreeMap<PublicKey, &'a HotspotInfo>,
    /// [`super::excess_by_pair`].
    pub excess: &'a BTreeMap<(PublicKey, PublicKey), (i64, i64)>,
    pub places: &'a Places,
}

/// Beaconers most of whose expected listeners heard none of their beacons. Listeners count
/// from the beaconer's own group and from groups at least twice its size, and only when not
/// already `found`: a ring's members vouch for nobody outside the ring, keys found lying for
/// nobody.
pub fn flags(
    epoch: &Epoch,
    valid_beacons: &BTreeMap<PublicKey, u64>,
    found: &BTreeSet<PublicKey>,
) -> Vec<(PublicKey, String)> {
    let Epoch {
        model,
        receptions,
        links,
        info,
        excess,
        places,
    } = *epoch;
    let groups = super::links::groups(links);
    let listening = listening(links, excess, found);

    let threshold = expected_rssi(model);
    let mut out = Vec::new();
    let sources = sources(receptions, info, places, found);
    // Only listeners a beacon could be expected to reach are looked at (a network of
    // thousands would otherwise cost the square of its size).
    let loudest = sources.values().map(|(e, _)| *e).max().unwrap_or(0)
        + listening
            .keys()
            .filter_map(|l| info.get(l))
            .map(|h| i64::from(h.gain_ddbi))
            .max()
            .unwrap_or(0)
        + MAX_LISTENER_OFFSET_DDB;
    // (With a margin: the bound is floating point; the test below is exact.)
    let reach = model.distance_for_loss(loudest - threshold) * 1.01 + 10.0;
    // What the loop reads of each listener, looked up once: its group and group size, its
    // antenna and measured hearing (thousands of listeners per beaconer in a large network).
    struct Listener {
        group: Option<usize>,
        size: usize,
        gain: i64,
        offset: i64,
    }
    let near = Near::with(listening.iter().filter_map(|(l, offset)| {
        Some((
            *l,
            *places.get(l)?,
            Listener {
                group: groups.of.get(l).copied(),
                size: groups.size_of(l),
                gain: i64::from(info.get(l)?.gain_ddbi),
                offset: *offset,
            },
        ))
    }));
    for (beaconer, (eirp, at)) in sources {
        let beacons = valid_beacons.get(&beaconer).copied().unwrap_or(0);
        if beacons < MIN_BEACONS {
            continue;
        }
        // Listeners vouch for a beaconer's absence from its own group, or from a group at
        // least twice the size of its own (the network around a ring). A group as large as
        // half of the other is as likely the real one: radio data cannot tell which (what a
        // key costs can; see the scorecard).
        let own = groups.of.get(&beaconer).copied();
        let size = groups.size_of(&beaconer);
        let site = listening
            .get(&beaconer)
            .copied()
            .unwrap_or(0)
            .clamp(-MAX_SITE_DISCOUNT_DDB, 0);
        // The witnesses that reported this beaconer (its run of the sorted pairs).
        let reported = links.reported_by(&beaconer);
        let (mut expected, mut missing) = (0usize, 0usize);
        let (mut expected_larger, mut missing_larger) = (0usize, 0usize);
        for (l, _, r, d) in near.within(&at, reach) {
            let same = r.group == own && own.is_some();
            let larger = !same && r.size >= 2 * size;
            if *l == beaconer || !(same || larger) {
                continue;
            }
            let predicted = eirp + r.gain - model.predict(log_milli(d))
                + r.offset
                + if same { site } else { 0 };
            // A listener of its own group counts when the beaconer hears it: a link weak both
            // ways (a weak site in sparse country) is physics, not a missing witness.
            if predicted >= threshold && (larger || links.reported(l, &beaconer)) {
                // Any reception it reported, whatever its verdict: it heard.
                let heard = reported.binary_search_by(|(_, w)| w.cmp(l)).is_ok();
                expected += 1;
                missing += usize::from(!heard);
                if larger {
                    expected_larger += 1;
                    missing_larger += usize::from(!heard);
                }
            }
        }
        let outside = missing_larger >= MIN_MISSING_OUTSIDE && missing_larger * 2 > expected_larger;
        if outside || (missing >= MIN_MISSING && missing * 2 > expected) {
            out.push((
                beaconer,
                format!(
                    "{missing} of the {expected} listening hotspots that its asserted place and \
                     the region's beacon power should reach at {:.0} dBm or louder heard none \
                     of its {beacons} valid beacons{} ({})",
                    threshold as f64 / 10.0,
                    if outside {
                        format!(
                            "; {missing_larger} of them in a group of hotspots hearing each other \
                             at least twice the size of the one it is heard in"
                        )
                    } else {
                        String::new()
                    },
                    model.describe()
                ),
            ));
        }
    }
    out
}

/// How far (metres) a beaconer may be for its link to count in [`beyond_range`]: receptions
/// from farther are rejected by the rules anyway (HIP-58).
pub const BEYOND_RANGE_MAX_M: u64 = 100_000;

/// Links beyond range (predicted below what SF9 demodulates) a witness must report before they
/// are weighed.
pub const MIN_FAR_LINKS: usize = 8;

/// The most a witness's own measured hearing may raise what it is expected to hear from
/// beyond range, dB x 10: less than a mast's best, so that a relay's forgeries cannot make
/// themselves its "hearing" (a mast's beacons are heard better too: its partners' offsets
/// count in full).
pub const MAX_FAR_WITNESS_OFFSET_DDB: i64 = 60;

/// How many standard deviations more far links than physics gives a witness must report.
pub const FAR_LINK_SIGMAS: f64 = 6.0;

/// Beyond range, both ways: a witness reporting far more links from beyond its range than
/// physics gives it (`hears_beyond_range`: a relay fed beacons from elsewhere), and a beaconer
/// heard on far more such links (`signal_inconsistent_with_location`: asserted tens of
/// kilometres from the neighbours that hear it). Each counterpart within
/// [`BEYOND_RANGE_MAX_M`] whose predicted RSSI (the fitted law from both asserted places, the
/// region's beacon power, both antennas, the counterpart's measured offset from the law up to
/// a mast's and the hotspot's own up to [`MAX_FAR_WITNESS_OFFSET_DDB`]) is below what SF9
/// demodulates is linked only if the link's own shadowing lifts it: with chance
/// Φ((predicted − limit) / spread). An honest radio has about Σ Φ such links, a relay or a
/// spoofer all of them. `exclude`: keys already found.
pub fn beyond_range(
    epoch: &Epoch,
    exclude: &BTreeSet<PublicKey>,
) -> Vec<(PublicKey, Code, String)> {
    let Epoch {
        model,
        receptions,
        links,
        info,
        excess,
        places,
    } = *epoch;
    let listening = listening(links, excess, exclude);
    let sources = sources(receptions, info, places, exclude);
    // Each beaconer's measured offset as a beaconer (a mast is heard better everywhere).
    let mut as_beaconer: BTreeMap<PublicKey, Vec<i64>> = BTreeMap::new();
    for ((b, _), (sum, n)) in excess {
        as_beaconer.entry(*b).or_default().push(sum / n.max(&1));
    }
    let beaconer_offset: BTreeMap<PublicKey, i64> = as_beaconer
        .into_iter()
        .map(|(b, mut v)| (b, median(&mut v).clamp(0, MAX_LISTENER_OFFSET_DDB)))
        .collect();
    let spread = model.rms.max(10.0);
    // The predicted RSSI of `b`'s beacons at `w`; the hotspot under test gets at most a
    // little of its own measured offset (its lies are what it is measured by), its
    // counterpart all of it, up to a mast's.
    let predicted = |b: &PublicKey, b_cap: i64, w: &PublicKey, w_cap: i64| {
        let (eirp, at) = sources.get(b)?;
        let h = info.get(w)?;
        let d = metres(at, places.get(w)?);
        (b != w && d <= BEYOND_RANGE_MAX_M).then(|| {
            eirp + i64::from(h.gain_ddbi) - model.predict(log_milli(d))
                + listening.get(w).copied().unwrap_or(0).clamp(0, w_cap)
                + beaconer_offset.get(b).copied().unwrap_or(0).clamp(0, b_cap)
        })
    };
    let own = MAX_FAR_WITNESS_OFFSET_DDB;
    let full = MAX_LISTENER_OFFSET_DDB;
    // Every pair within reach is weighed (millions in a large network): what each side adds
    // is looked up once. Sources: radiated power and offset as a beaconer; listeners: antenna
    // gain and offset as a witness.
    let near_sources = Near::with(sources.iter().map(|(b, (eirp, at))| {
        let offset = beaconer_offset.get(b).copied().unwrap_or(0);
        (*b, *at, (*eirp, offset))
    }));
    let near_listeners = Near::with(listening.iter().filter_map(|(l, offset)| {
        Some((
            *l,
            *places.get(l)?,
            (i64::from(info.get(l)?.gain_ddbi), *offset),
        ))
    }));
    // Pairs nearer than this (for a listener of `gain`) are predicted above SF9's limit
    // whatever their offsets (which only add), and `improbable` counts none of them: they
    // are skipped before the logarithm (a margin of 1 % of the distance for rounding).
    let min_eirp = sources.values().map(|(e, _)| *e).min().unwrap_or(0);
    let nearer_than = |gain: i64| model.distance_for_loss(min_eirp + gain - SF9_LIMIT_DDBM) * 0.99;
    let law = |d: u64| model.predict(log_milli(d));
    // Per witness the beaconers it reported, per beaconer the witnesses that reported it
    // (valid or not: a claim no radio where it says could make is a lie whatever the rules
    // paid for it).
    let mut heard_from: BTreeMap<PublicKey, Vec<PublicKey>> = BTreeMap::new();
    let mut heard_by: BTreeMap<PublicKey, Vec<PublicKey>> = BTreeMap::new();
    for (b, w) in links.by_pair.keys() {
        heard_from.entry(*w).or_default().push(*b);
        heard_by.entry(*b).or_default().push(*w);
    }
    let mut out = Vec::new();
    // As witness: links it reported from beaconers beyond its range.
    for (w, beaconers) in heard_from.iter().filter(|(w, _)| !exclude.contains(*w)) {
        let far = beaconers
            .iter()
            .filter(|b| predicted(b, full, w, own).is_some_and(|p| p < SF9_LIMIT_DDBM))
            .count();
        let (Some(there), Some(h)) = (places.get(w).filter(|_| far >= MIN_FAR_LINKS), info.get(w))
        else {
            continue;
        };
        let gain = i64::from(h.gain_ddbi);
        let heard = listening.get(w).copied().unwrap_or(0).clamp(0, own);
        let skip = nearer_than(gain);
        let chances = near_sources
            .within(there, BEYOND_RANGE_MAX_M as f64)
            .filter(|(b, _, _, d)| *b != w && *d <= BEYOND_RANGE_MAX_M && (*d as f64) >= skip)
            .map(|(_, _, (eirp, offset), d)| {
                eirp + gain - law(d) + heard + offset.clamp(&0, &full)
            });
        if let Some(evidence) = improbable(far, chances, spread, model, "reported", "beaconers") {
            out.push((*w, Code::HearsBeyondRange, evidence));
        }
    }
    // As beaconer: witnesses beyond its range that reported its beacons (a hotspot asserted
    // tens of kilometres from the neighbours that hear it).
    for (b, witnesses) in heard_by.iter().filter(|(b, _)| !exclude.contains(*b)) {
        let far = witnesses
            .iter()
            .filter(|w| predicted(b, own, w, full).is_some_and(|p| p < SF9_LIMIT_DDBM))
            .count();
        let (Some(at), Some((eirp, _))) = (
            places.get(b).filter(|_| far >= MIN_FAR_LINKS),
            sources.get(b),
        ) else {
            continue;
        };
        let heard = beaconer_offset.get(b).copied().unwrap_or(0).clamp(0, own);
        let chances = near_listeners
            .within(at, BEYOND_RANGE_MAX_M as f64)
            .filter(|(w, _, (gain, _), d)| {
                *w != b && *d <= BEYOND_RANGE_MAX_M && (*d as f64) >= nearer_than(*gain)
            })
            .map(|(_, _, (gain, offset), d)| {
                eirp + gain - law(d) + offset.clamp(&0, &full) + heard
            });
        if let Some(evidence) = improbable(far, chances, spread, model, "was heard on", "witnesses")
        {
            out.push((*b, Code::SignalInconsistentWithLocation, evidence));
        }
    }
    out.sort();
    out
}

/// The evidence when `far` links beyond range are far more than shadowing of `spread` gives
/// over the `chances` (predicted RSSI of each counterpart within reach).
fn improbable(
    far: usize,
    chances: impl Iterator<Item = i64>,
    spread: f64,
    model: &Model,
    verb: &str,
    counterparts: &str,
) -> Option<String> {
    let (mut expected, mut variance) = (0.0f64, 0.0f64);
    for p in chances.filter(|p| *p < SF9_LIMIT_DDBM) {
        let chance = normal_cdf((p - SF9_LIMIT_DDBM) as f64 / spread);
        expected += chance;
        variance += chance * (1.0 - chance);
    }
    let surplus = far as f64 - expected;
    (surplus >= MIN_FAR_LINKS as f64 && surplus >= FAR_LINK_SIGMAS * variance.sqrt().max(1.0)).then(
        || {
            format!(
                "it {verb} {far} links with {counterparts} beyond its range (within {} km, \
                 predicted below {:.0} dBm from its asserted place) where shadowing of {:.1} dB \
                 gives a radio there about {expected:.1} (± {:.1}): it is not where it says, or \
                 reports what no radio there hears ({})",
                BEYOND_RANGE_MAX_M / 1000,
                SF9_LIMIT_DDBM as f64 / 10.0,
                spread / 10.0,
                variance.sqrt(),
                model.describe()
            )
        },
    )
}

/// Φ, the standard normal distribution function (Abramowitz and Stegun 26.2.17, error below
/// 7.5e-8), from + − × ÷ and [`exp`] alone: the same bits on every machine.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return 0.5;
    }
    let z = x.abs().min(40.0);
    let t = 1.0 / (1.0 + 0.231_641_9 * z);
    let poly = t
        * (0.319_381_530
            + t * (-0.356_563_782
                + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
    let tail = 0.398_942_280_401_432_7 * exp(-0.5 * z * z) * poly;
    if x >= 0.0 { 1.0 - tail } else { tail }
}

/// e^x for x ≤ 0 (to −800; 0 below), correctly rounded operations only: x = k·ln 2 + r with
/// |r| ≤ ln 2 / 2, e^r by its Taylor series to the 13th power, 2^k by the exponent bits.
pub fn exp(x: f64) -> f64 {
    if x.is_nan() || x < -700.0 {
        return 0.0;
    }
    let x = x.min(0.0);
    const LN2: f64 = std::f64::consts::LN_2;
    let k = (x / LN2).round();
    let r = x - k * LN2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..=13 {
        term = term * r / f64::from(i);
        sum += term;
    }
    // k ≥ −1010 here: a normal power of two (or, below −1022, near enough zero to be zero).
    let k = k as i64;
    if k < -1022 {
        return 0.0;
    }
    sum * f64::from_bits(((1023 + k) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_distribution_function_is_phi() {
        for (x, phi) in [
            (0.0, 0.5),
            (1.0, 0.841_344_746),
            (-1.0, 0.158_655_254),
            (2.5, 0.993_790_335),
            (-3.0, 0.001_349_898),
            (-6.0, 9.865_876e-10),
        ] {
            assert!(
                (normal_cdf(x) - phi).abs() < 1e-7 + phi * 1e-4,
                "Φ({x}) = {}",
                normal_cdf(x)
            );
        }
        assert_eq!(normal_cdf(-1e9), 0.0);
        assert_eq!(normal_cdf(1e9), 1.0);
        for x in [0.0, -0.5, -1.0, -10.0, -100.0, -700.0] {
            assert!((exp(x) - x.exp()).abs() <= x.exp() * 1e-12, "e^{x}");
        }
    }
}
