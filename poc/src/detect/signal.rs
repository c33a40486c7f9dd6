//! Signal against geometry: the network's path-loss law, fitted over the epoch's valid
//! receptions, and the hotspots heard (or hearing) far louder than it allows from their
//! asserted places.

use std::collections::BTreeMap;

use hexproof_proto::PublicKey;

use super::{LOUD_DDB, MIN_COUNTERPARTS, links::Links, median};

/// Fewest (beaconer, witness) pairs a fit needs.
pub const MIN_FIT_POINTS: usize = 30;

/// Slope bounds (dB per decade of distance): free space is 20, dense cities about 40. The
/// floor is 25: the law is fitted on links that were heard, and at long range only the lucky
/// ones are (censoring flattens the fit towards free space, which would put a hotspot
/// asserted 60 km from the neighbours that hear it within range).
const SLOPE_RANGE: (f64, f64) = (25.0, 45.0);

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
    /// Trimmed least squares over the valid receptions of links heard both ways, one point per
    /// (beaconer, witness) pair
    /// (the mean of its receptions: a hotspot reporting hundreds of beacons weighs no more than
    /// its pairs, so one relay cannot bend the law towards its claims): fit, drop pairs beyond
    /// 2.5 standard deviations, fit again, until none is dropped. Sums are exact integers;
    /// `None` below [`MIN_FIT_POINTS`] pairs.
    pub fn fit(links: &Links) -> Option<Model> {
        // Links both ends confirm (heard both ways): one-way links are what a relay reports,
        // and a relay's many far links would otherwise bend the law towards its claims.
        let mut used: Vec<(i64, i64)> = links
            .by_pair
            .iter()
            .filter(|((b, w), l)| l.valid > 0 && links.get(w, b).is_some_and(|r| r.valid > 0))
            .map(|(_, l)| (l.x, l.valid_loss / l.valid))
            .collect();
        // Fit, drop pairs beyond 2.5 standard deviations, until none is dropped (at most
        // five times): the law and its spread are those of the pairs kept.
        for _ in 0..5 {
            if used.len() < MIN_FIT_POINTS {
                return None;
            }
            let m = least_squares(&used);
            let rms = rms(&m, &used);
            let before = used.len();
            used.retain(|&(x, y)| ((y - m.predict(x)).abs() as f64) <= 2.5 * rms);
            if used.len() == before {
                return Some(Model { rms, ..m });
            }
        }
        (used.len() >= MIN_FIT_POINTS).then(|| {
            let m = least_squares(&used);
            Model {
                rms: rms(&m, &used),
                ..m
            }
        })
    }

    /// Predicted loss at `x`, dB x 10.
    pub fn predict(&self, x: i64) -> i64 {
        (self.intercept + self.slope * x as f64).round() as i64
    }

    /// The distance (metres) at which the law's loss reaches `loss` (dB x 10): beyond it, the
    /// loss is more. At least 1 m.
    pub fn distance_for_loss(&self, loss: i64) -> f64 {
        let x = (loss as f64 - self.intercept) / self.slope; // thousandths of a decade
        10f64.powf((x / 1000.0).clamp(0.0, 8.0))
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

/// RMS of the residuals of `points` around `m`, dB x 10 (exact integer sums).
fn rms(m: &Model, points: &[(i64, i64)]) -> f64 {
    let variance: i128 = points
        .iter()
        .map(|&(x, y)| {
            let r = i128::from(y - m.predict(x));
            r * r
        })
        .sum::<i128>()
        / points.len().max(1) as i128;
    (variance as f64).sqrt()
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

/// How loud beyond the fitted law (dB x 10) a hotspot's links must be, at the median over its
/// counterparts, for its asserted place to be a lie: [`super::LOUD_DDB`], or
/// [`SPREAD_FACTOR`] times the spread of the network's links around the law where that is
/// more (with 8 dB of shadowing per link, about 22 dB: a mast is at most 15 dB better than the
/// city's law).
pub fn loud_threshold(model: &Model) -> i64 {
    LOUD_DDB.max((SPREAD_FACTOR * model.rms).round() as i64)
}

/// Multiple of the links' spread around the law (RMS) that counts as too loud.
pub const SPREAD_FACTOR: f64 = 2.0;

/// Hotspots whose links, both ways, are louder than the law allows from their asserted place,
/// at the median over at least [`MIN_COUNTERPARTS`] counterparts: the radio is not where it is
/// asserted. `excess`: [`super::excess_by_pair`]; `skip`: keys whose statements are already
/// known to be lies (their links say nothing of their partners' places).
pub fn location(
    model: &Model,
    excess: &BTreeMap<(PublicKey, PublicKey), (i64, i64)>,
    skip: &std::collections::BTreeSet<PublicKey>,
) -> Vec<(PublicKey, String)> {
    let mut per: BTreeMap<PublicKey, BTreeMap<PublicKey, (i64, i64)>> = BTreeMap::new();
    for ((b, w), (sum, n)) in excess {
        for (k, other) in [(b, w), (w, b)] {
            if skip.contains(other) {
                continue;
            }
            let e = per.entry(*k).or_default().entry(*other).or_default();
            e.0 += sum;
            e.1 += n;
        }
    }
    let loud = loud_threshold(model);
    let mut out = Vec::new();
    for (k, counterparts) in per {
        let mut v: Vec<i64> = counterparts.values().map(|(s, n)| s / n.max(&1)).collect();
        let m = median(&mut v);
        let louder = v.iter().filter(|e| **e >= loud).count();
        if v.len() >= MIN_COUNTERPARTS && m >= loud {
            out.push((
                k,
                format!(
                    "its links are {:.1} dB louder than its asserted location allows (median over \
                     {} counterparts, {louder} of them {:.0} dB or more; {}): the radio is not \
                     where it is asserted",
                    m as f64 / 10.0,
                    v.len(),
                    loud as f64 / 10.0,
                    model.describe()
                ),
            ));
        }
    }
    out
}
