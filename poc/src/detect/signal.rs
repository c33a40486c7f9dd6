//! Signal against geometry: the network's path-loss law, fitted over the epoch's valid
//! receptions, and the hotspots heard (or hearing) far louder than it allows from their
//! asserted places.

use std::collections::BTreeMap;

use hexproof_proto::PublicKey;

use super::{Code, Heard, LOUD_DDB, MIN_COUNTERPARTS, Point, Reception, median};

/// Fewest (beaconer, witness) pairs a fit needs.
pub const MIN_FIT_POINTS: usize = 30;

/// Slope bounds (dB per decade of distance): free space is 20, dense cities about 40.
const SLOPE_RANGE: (f64, f64) = (20.0, 45.0);

/// Loss = `intercept` + `slope` · log10(distance), dB x 10 against thousandths of a decade.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    pub intercept: f64,
    /// dB x 10 per thousandth of a decade.
    pub slope: f64,
    /// (Beaconer, witness) pairs the final fit used.
    pub points: usize,
    /// RMS of their residuals, dB x 10 (the network's fading).
    pub rms: f64,
}

impl Model {
    /// Trimmed least squares over the valid receptions, one point per (beaconer, witness) pair
    /// (the mean of its receptions: a hotspot reporting hundreds of beacons weighs no more than
    /// its pairs, so one relay cannot bend the law towards its claims): fit, drop pairs beyond
    /// 2.5 standard deviations, fit again (twice). Sums are exact integers; `None` below
    /// [`MIN_FIT_POINTS`] pairs.
    pub fn fit(points: &[Point], receptions: &[&Reception]) -> Option<Model> {
        let mut pairs: BTreeMap<(PublicKey, PublicKey), (i64, i64, i64)> = BTreeMap::new();
        for p in points
            .iter()
            .filter(|p| receptions[p.index].heard == Heard::Valid)
        {
            let r = receptions[p.index];
            let e = pairs.entry((r.beaconer, r.witness)).or_insert((p.x, 0, 0));
            e.1 += p.loss;
            e.2 += 1;
        }
        let mut used: Vec<(i64, i64)> = pairs.values().map(|&(x, sum, n)| (x, sum / n)).collect();
        let mut model = None;
        for _ in 0..3 {
            if used.len() < MIN_FIT_POINTS {
                return model;
            }
            let m = least_squares(&used);
            let variance: i128 = used
                .iter()
                .map(|&(x, y)| {
                    let r = i128::from(y - m.predict(x));
                    r * r
                })
                .sum::<i128>()
                / used.len() as i128;
            let rms = (variance as f64).sqrt();
            used.retain(|&(x, y)| ((y - m.predict(x)).abs() as f64) <= 2.5 * rms);
            model = Some(Model { rms, ..m });
        }
        model
    }

    /// Predicted loss at `x`, dB x 10.
    pub fn predict(&self, x: i64) -> i64 {
        (self.intercept + self.slope * x as f64).round() as i64
    }

    /// dB per decade, for evidence.
    pub fn db_per_decade(&self) -> f64 {
        self.slope * 100.0
    }

    pub fn describe(&self) -> String {
        format!(
            "path loss fitted over {} hearing pairs: {:.1} + {:.1}·log10(d) dB",
            self.points,
            self.intercept / 10.0,
            self.db_per_decade()
        )
    }
}

fn least_squares(points: &[(i64, i64)]) -> Model {
    let n = points.len() as i128;
    let (mut sx, mut sy, mut sxx, mut sxy) = (0i128, 0i128, 0i128, 0i128);
    for &(x, y) in points {
        let (x, y) = (i128::from(x), i128::from(y));
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    let denominator = n * sxx - sx * sx;
    let (lo, hi) = (SLOPE_RANGE.0 / 100.0, SLOPE_RANGE.1 / 100.0);
    let slope = if denominator == 0 {
        lo
    } else {
        ((n * sxy - sx * sy) as f64 / denominator as f64).clamp(lo, hi)
    };
    let intercept = (sy as f64 - slope * sx as f64) / n as f64;
    Model {
        intercept,
        slope,
        points: points.len(),
        rms: 0.0,
    }
}

/// How one hotspot's counterparts (witnesses of its beacons, or beaconers it heard) saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub counterparts: usize,
    /// Counterparts whose receptions were, on average, at least [`LOUD_DDB`] too loud.
    pub loud: usize,
    /// The median over counterparts of their mean excess, dB x 10.
    pub median_excess: i64,
}

impl Score {
    /// At least [`MIN_COUNTERPARTS`] loud counterparts, and at least one in `share` of them.
    pub fn flagged(&self, share: usize) -> bool {
        self.loud >= MIN_COUNTERPARTS && self.loud * share >= self.counterparts
    }
}

/// Per hotspot (the first key of each pair), from the mean excess of each counterpart.
fn fold(pairs: &BTreeMap<(PublicKey, PublicKey), (i64, i64)>) -> BTreeMap<PublicKey, Score> {
    let mut per: BTreeMap<PublicKey, Vec<i64>> = BTreeMap::new();
    for ((k, _), (sum, n)) in pairs {
        per.entry(*k).or_default().push(sum / n);
    }
    per.into_iter()
        .map(|(k, mut v)| {
            let loud = v.iter().filter(|e| **e >= LOUD_DDB).count();
            let score = Score {
                counterparts: v.len(),
                loud,
                median_excess: median(&mut v),
            };
            (k, score)
        })
        .collect()
}

/// Hotspots heard, or hearing, louder than geometry allows.
///
/// As beaconer, a quarter of its witnesses must find it loud (an honest beaconer's witnesses
/// are mostly honest). As witness, one in ten of the beaconers it heard, leaving out those
/// already found loud as beaconers: their lies are theirs, not the witness's, and an honest
/// witness is otherwise never loud beyond its fading.
/// `by_beaconer`: [`super::excess_by_pair`].
pub fn flags(
    model: &Model,
    by_beaconer: &BTreeMap<(PublicKey, PublicKey), (i64, i64)>,
) -> Vec<(PublicKey, Code, String)> {
    let tx = fold(by_beaconer);
    let tx_flagged: BTreeMap<PublicKey, Score> =
        tx.into_iter().filter(|(_, s)| s.flagged(4)).collect();
    let by_witness: BTreeMap<(PublicKey, PublicKey), (i64, i64)> = by_beaconer
        .iter()
        .filter(|((b, _), _)| !tx_flagged.contains_key(b))
        .map(|((b, w), e)| ((*w, *b), *e))
        .collect();
    let rx_flagged: BTreeMap<PublicKey, Score> = fold(&by_witness)
        .into_iter()
        .filter(|(_, s)| s.flagged(10))
        .collect();

    let mut keys: Vec<PublicKey> = tx_flagged
        .keys()
        .chain(rx_flagged.keys())
        .copied()
        .collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        let (t, r) = (tx_flagged.get(&k).copied(), rx_flagged.get(&k).copied());
        let say = |what: &str, s: Score| {
            format!(
                "{what} at least {:.0} dB louder than its asserted location allows by {} of {} \
                 counterparts (median excess {:.1} dB; {})",
                LOUD_DDB as f64 / 10.0,
                s.loud,
                s.counterparts,
                s.median_excess as f64 / 10.0,
                model.describe()
            )
        };
        match (t, r) {
            (Some(t), Some(r)) => out.push((
                k,
                Code::SignalInconsistentWithLocation,
                format!(
                    "{}; {}",
                    say("its beacons were heard", t),
                    say("it heard others", r)
                ),
            )),
            (Some(t), None) => out.push((
                k,
                Code::BeaconsLouderThanClaimed,
                format!(
                    "{} and the power it states: understated power, or beacons sent from elsewhere",
                    say("its beacons were heard", t)
                ),
            )),
            (None, Some(r)) => out.push((
                k,
                Code::HearsBeyondRange,
                format!(
                    "{}: receptions no radio there makes (a relay, or made up)",
                    say("it heard others", r)
                ),
            )),
            (None, None) => {}
        }
    }
    out
}
