//! The simulator's arithmetic against published tables, and against the program's own cap.
//!
//! - HIP-20's HNT issuance by year (`fixtures/tokenomics/hip-20-issuance.csv`, copied from
//!   the HIP): the deployment's `EmissionSchedule` with HIP-20's inputs (5M a month, halving
//!   every 24 months) reproduces every row at the table's printed precision.
//! - HIP-149's thresholds: with its stated inputs the floor binds below ≈ $0.33 and the cap
//!   above ≈ $1.97 per HNT; its two figures' claims hold.
//! - Over 50 years of daily epochs the simulator's emission is the schedule's, and what it
//!   mints never exceeds `hexproof_commitment::mint_cap`, the function the program enforces.

use std::path::PathBuf;

use hexproof_commitment::{EmissionSchedule, TOKEN_BASE_UNITS, mint_cap};
use hexproof_tokenomics::hip149::DataBand;
use hexproof_tokenomics::{Draws, Scenario, simulate};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tokenomics")
}

#[test]
fn hip20_issuance_by_year_is_reproduced_by_the_programs_schedule() {
    let table = std::fs::read_to_string(fixtures().join("hip-20-issuance.csv")).unwrap();
    // HIP-20 in the deployment's terms: an epoch is a month, 5M tokens each, halved every
    // 24 epochs (two years).
    let schedule = EmissionSchedule {
        initial_per_epoch: 5_000_000 * TOKEN_BASE_UNITS,
        halving_interval: 24,
    };
    let tokens = |base: u64| base as f64 / TOKEN_BASE_UNITS as f64;
    let mut rows = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let year: u64 = cols[0].parse().unwrap();
        let start: f64 = cols[1].parse().unwrap();
        let minted = cols[2];
        let before = schedule.cumulative(12 * (year - 1));
        let during = schedule.cumulative(12 * year) - before;
        assert_eq!(
            tokens(before).round(),
            start,
            "year {year}: HNT at start of year"
        );
        assert_eq!(
            format!("{:.1}", tokens(during)),
            minted,
            "year {year}: HNT minted"
        );
        rows += 1;
    }
    assert_eq!(rows, 50);
    // "a theoretical max supply of 240M HNT"
    let max = tokens(schedule.cumulative(12 * 200));
    assert!((max - 240_000_000.0).abs() < 1.0, "{max}");
}

/// HIP-149's worked example: a carrier paying $9,100 a day for 91,000 GB (a $0.10/GB payer
/// rate), a baseline of 13,870 HNT a day, α 0.625.
fn hip149() -> (DataBand, f64, f64) {
    (
        DataBand::hip149(9_100.0 / 91_000.0, 0.625),
        13_870.0,
        91_000.0,
    )
}

#[test]
fn hip149_floor_and_cap_thresholds_from_its_stated_inputs() {
    let (band, baseline, gb) = hip149();
    assert!((band.floor_usd() - 0.05).abs() < 1e-12);
    assert!((band.cap_usd() - 0.30).abs() < 1e-12);
    let (floor, cap) = band.thresholds(baseline, gb);
    // "the baseline equals the $0.05/GB floor near an HNT price of $0.33 and the $0.30/GB cap
    // near $1.97"
    assert_eq!(format!("{floor:.2}"), "0.33", "{floor}");
    assert_eq!(format!("{cap:.2}"), "1.97", "{cap}");
    // Between the two the baseline alone is paid; outside, the band holds.
    let burn_bound = |price: f64| 9_100.0 / price;
    let mid = band.delivered_usd_per_unit(1.0, baseline, gb, burn_bound(1.0));
    assert!((mid - baseline / gb).abs() < 1e-12);
    assert_eq!(band.top_up(1.0, baseline, gb, burn_bound(1.0)), 0.0);
    let high = band.delivered_usd_per_unit(5.0, baseline, gb, burn_bound(5.0));
    assert!((high - 0.30).abs() < 1e-12, "{high}");
}

#[test]
fn hip149_figures_the_floor_is_affordable_at_any_price_and_lags_a_crash() {
    let (band, baseline, gb) = hip149();
    // Figure 1: at $0.10 and at $0.025 the top-up stays under the HNT burned that day and
    // the deployers get the $0.05/GB floor.
    for price in [0.10, 0.025] {
        let bound = 9_100.0 / price;
        let top_up = band.top_up(price, baseline, gb, bound);
        assert!(
            top_up > 0.0 && top_up < bound,
            "{price}: {top_up} vs {bound}"
        );
        let delivered = band.delivered_usd_per_unit(price, baseline, gb, bound);
        assert!((delivered - 0.05).abs() < 1e-12, "{price}: {delivered}");
    }
    // Figure 2: right after a crash to $0.025 the smoothed burn still reflects $0.10 (91,000
    // HNT), the bound binds and delivery falls short; once it catches up, the floor is back.
    let lagging = band.delivered_usd_per_unit(0.025, baseline, gb, 91_000.0);
    assert!(
        lagging < 0.05 && lagging > baseline * 0.025 / gb,
        "{lagging}"
    );
    let caught_up = band.delivered_usd_per_unit(0.025, baseline, gb, 364_000.0);
    assert!((caught_up - 0.05).abs() < 1e-12);
}

#[test]
fn over_fifty_years_the_simulator_emits_the_schedule_and_mints_within_the_programs_cap() {
    let mut s = Scenario::load(&fixtures().join("default.toml")).unwrap();
    s.years = 50;
    s.runs = 1;
    s.stress.clear();
    s.sweep = None;
    s.demand.growth_per_year = 0.05;
    // Every tier unscaled, so all but flooring dust is minted: the cap is then nearly reached.
    for t in &mut s.hosts.tiers {
        t.scale = 1.0;
    }
    let config = hexproof_tokenomics::model::reward_config(&s);
    let schedule = EmissionSchedule {
        initial_per_epoch: config.initial_emission,
        halving_interval: config.halving_interval,
    };
    let base = TOKEN_BASE_UNITS as f64;
    let rows = simulate(&s, &Draws::new(&s, 7));
    assert_eq!(rows.len(), 50 * 365);
    let (mut emitted, mut burned, mut reminted, mut dust) = (0u64, 0u64, 0u64, 0u64);
    let units = |v: f64| (v * base).round() as u64;
    // Totals of 10^15 base units and more are read back from f64 tokens: within a unit or two.
    let near = |a: u64, b: u64| a.abs_diff(b) <= 2;
    for r in &rows {
        let e = units(r.emission);
        assert_eq!(e, schedule.emission(r.epoch), "epoch {}", r.epoch);
        emitted += e;
        reminted += units(r.remint);
        dust += units(r.dust);
        burned = units(r.burned);
        let minted = units(r.minted);
        let unclaimed = units(r.unclaimed);
        let cap = mint_cap(&schedule, r.epoch, burned, u64::MAX, 0);
        assert_eq!(
            emitted + burned,
            cap,
            "epoch {}: the program's cap",
            r.epoch
        );
        assert!(
            minted <= cap + 2,
            "epoch {}: minted {minted} above {cap}",
            r.epoch
        );
        // Every token of the schedule and the re-mint is minted, waiting for the mint window,
        // or left unpaid.
        assert!(
            near(minted + unclaimed + dust, emitted + reminted),
            "epoch {}",
            r.epoch
        );
        assert!(reminted <= burned, "epoch {}", r.epoch);
        assert!(r.mint_headroom >= 0.0);
    }
    assert!(burned > 0, "devices burned tokens for credits");
}
