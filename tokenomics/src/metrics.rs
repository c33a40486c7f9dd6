//! What a run measures each epoch, the table of metric names the CSV, plots and sweeps share,
//! and the concentration measures (Gini over hotspots, Nakamoto coefficient over owners).

use serde::Serialize;

/// One epoch of one run. Token amounts in whole tokens, dollars at that epoch's price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochMetrics {
    pub epoch: u64,
    pub price_usd: f64,
    /// Honest hotspots, and the adversary's keys (found or not).
    pub hotspots: f64,
    pub adversary_keys: f64,
    /// The schedule's emission, the re-mint of burned tokens, and what the epoch paid.
    pub emission: f64,
    pub remint: f64,
    pub paid: f64,
    /// Left unpaid (density scaling, flooring, pools nobody earned): never minted.
    pub dust: f64,
    /// Totals since genesis: minted (claimed rewards), burned for credits, and supply.
    pub minted: f64,
    /// Paid but not minted yet: claims waiting for room in the program's mint window.
    pub unclaimed: f64,
    /// What the schedule let epochs 1..=this emit (density scaling leaves some of it unpaid,
    /// and unpaid is never minted).
    pub scheduled: f64,
    pub burned: f64,
    pub supply: f64,
    /// Paid less burned this epoch.
    pub net_emission: f64,
    /// Credits devices spent, and the tokens burned for them.
    pub dc_burned: f64,
    pub tokens_burned: f64,
    /// An average honest hotspot's earnings at this epoch's rate, dollars a month.
    pub reward_usd_per_hotspot_month: f64,
    /// Months a new hotspot takes to pay back its hardware (infinite: never).
    pub payback_months: f64,
    /// Share of the epoch's payout that paid for data.
    pub data_share: f64,
    /// Gini coefficient of rewards over hotspots and keys (0: equal).
    pub gini: f64,
    /// Fewest owners holding more than half the epoch's rewards.
    pub nakamoto: f64,
    /// The adversary's share of the epoch's payout.
    pub adversary_take: f64,
    /// What the program would still let be minted (never negative).
    pub mint_headroom: f64,
}

/// A metric: its column name, a label for plots, and how to read it.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub label: &'static str,
    pub read: fn(&EpochMetrics) -> f64,
}

/// Every metric, in column order.
pub const METRICS: &[Metric] = &[
    Metric {
        name: "price_usd",
        label: "token price ($)",
        read: |m| m.price_usd,
    },
    Metric {
        name: "hotspots",
        label: "honest hotspots",
        read: |m| m.hotspots,
    },
    Metric {
        name: "adversary_keys",
        label: "adversary keys",
        read: |m| m.adversary_keys,
    },
    Metric {
        name: "emission",
        label: "scheduled emission (tokens/epoch)",
        read: |m| m.emission,
    },
    Metric {
        name: "remint",
        label: "re-minted (tokens/epoch)",
        read: |m| m.remint,
    },
    Metric {
        name: "paid",
        label: "paid (tokens/epoch)",
        read: |m| m.paid,
    },
    Metric {
        name: "scheduled",
        label: "scheduled since genesis (tokens)",
        read: |m| m.scheduled,
    },
    Metric {
        name: "dust",
        label: "unpaid, never minted (tokens/epoch)",
        read: |m| m.dust,
    },
    Metric {
        name: "minted",
        label: "minted since genesis (tokens)",
        read: |m| m.minted,
    },
    Metric {
        name: "burned",
        label: "burned since genesis (tokens)",
        read: |m| m.burned,
    },
    Metric {
        name: "supply",
        label: "supply (tokens)",
        read: |m| m.supply,
    },
    Metric {
        name: "net_emission",
        label: "net emission (tokens/epoch)",
        read: |m| m.net_emission,
    },
    Metric {
        name: "dc_burned",
        label: "credits spent per epoch",
        read: |m| m.dc_burned,
    },
    Metric {
        name: "tokens_burned",
        label: "tokens burned per epoch",
        read: |m| m.tokens_burned,
    },
    Metric {
        name: "reward_usd_per_hotspot_month",
        label: "earnings per hotspot ($/month)",
        read: |m| m.reward_usd_per_hotspot_month,
    },
    Metric {
        name: "payback_months",
        label: "payback of a new hotspot (months)",
        read: |m| m.payback_months,
    },
    Metric {
        name: "data_share",
        label: "share paid for data",
        read: |m| m.data_share,
    },
    Metric {
        name: "gini",
        label: "Gini of rewards",
        read: |m| m.gini,
    },
    Metric {
        name: "nakamoto",
        label: "Nakamoto coefficient (owners)",
        read: |m| m.nakamoto,
    },
    Metric {
        name: "adversary_take",
        label: "adversary's share of rewards",
        read: |m| m.adversary_take,
    },
    Metric {
        name: "mint_headroom",
        label: "mint cap headroom (tokens)",
        read: |m| m.mint_headroom,
    },
];

pub fn metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

/// Gini coefficient of grouped values: `(value, how many)` pairs (each member of a group holds
/// `value`). 0 when everyone holds the same, towards 1 when one holds everything.
pub fn gini(groups: &[(f64, f64)]) -> f64 {
    let valid = |(v, n): &&(f64, f64)| *n > 0.0 && v.is_finite() && n.is_finite();
    let count: f64 = groups.iter().filter(valid).map(|(_, n)| n).sum();
    let total: f64 = groups.iter().filter(valid).map(|(v, n)| v * n).sum();
    if count <= 0.0 || total <= 0.0 {
        return 0.0;
    }
    let mut spread = 0.0;
    for (vi, ni) in groups.iter().filter(valid) {
        for (vj, nj) in groups.iter().filter(valid) {
            spread += ni * nj * (vi - vj).abs();
        }
    }
    spread / (2.0 * count * total)
}

/// Nakamoto coefficient of grouped holders: `(each holds, how many)`; the fewest holders that
/// together hold more than half of everything (0 when nothing is held). Sorts `holders`.
pub fn nakamoto(holders: &mut Vec<(f64, f64)>) -> f64 {
    holders.retain(|(v, n)| *v > 0.0 && *n > 0.0 && v.is_finite() && n.is_finite());
    let total: f64 = holders.iter().map(|(v, n)| v * n).sum();
    if total <= 0.0 {
        return 0.0;
    }
    holders.sort_by(|a, b| b.0.total_cmp(&a.0));
    let half = total / 2.0;
    let (mut held, mut count) = (0.0, 0.0);
    for (v, n) in holders.iter() {
        let needed = ((half - held) / v).floor() + 1.0;
        if needed <= *n {
            return count + needed.max(1.0);
        }
        held += v * n;
        count += n;
    }
    count
}

/// The `q` quantile (0–1) of `values` (sorted in place; linear interpolation; NaN-free input).
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let (a, b) = (values[lo], values[hi]);
    if a == b || !a.is_finite() || !b.is_finite() {
        return if pos - lo as f64 >= 0.5 { b } else { a };
    }
    a + (b - a) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_of_equal_holdings_is_zero_and_of_one_holder_is_near_one() {
        assert_eq!(gini(&[(5.0, 100.0)]), 0.0);
        let g = gini(&[(100.0, 1.0), (0.0, 999.0)]);
        assert!((g - 0.999).abs() < 1e-9, "{g}");
        // Two equal halves of a population, one with three times the other: 0.25.
        let g = gini(&[(1.0, 50.0), (3.0, 50.0)]);
        assert!((g - 0.25).abs() < 1e-12, "{g}");
    }

    #[test]
    fn nakamoto_counts_the_fewest_holders_past_half() {
        assert_eq!(nakamoto(&mut vec![(1.0, 100.0)]), 51.0);
        // One whale with 60 %: one.
        assert_eq!(nakamoto(&mut vec![(60.0, 1.0), (1.0, 40.0)]), 1.0);
        // A fleet of 40 % and singles: the fleet and 11 singles (40 + 11 > 50).
        assert_eq!(nakamoto(&mut vec![(40.0, 1.0), (1.0, 60.0)]), 12.0);
        assert_eq!(nakamoto(&mut vec![]), 0.0);
    }

    #[test]
    fn quantiles_interpolate_and_survive_infinities() {
        let mut v = vec![3.0, 1.0, 2.0, 4.0, 5.0];
        assert_eq!(quantile(&mut v, 0.5), 3.0);
        assert_eq!(quantile(&mut v, 0.25), 2.0);
        let mut v = vec![1.0, f64::INFINITY, f64::INFINITY];
        assert_eq!(quantile(&mut v, 0.95), f64::INFINITY);
        assert_eq!(quantile(&mut v, 0.0), 1.0);
    }
}
