//! Scenarios end to end: the same seed gives the same figures whatever the thread count; each
//! of the stress tests moves the network the way it says; a scenario file's report
//! has every table and plot, self-contained.

use std::path::PathBuf;

use hexproof_tokenomics::monte_carlo::{self, Outcome};
use hexproof_tokenomics::scenario::{Stress, StressEvent};
use hexproof_tokenomics::{Draws, Scenario, report, simulate};
use indicatif::ProgressBar;

fn default_scenario() -> Scenario {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tokenomics/default.toml");
    let mut s = Scenario::load(&path).unwrap();
    s.runs = 8;
    s.years = 3;
    s
}

fn run(s: &Scenario) -> Outcome {
    monte_carlo::run(s, &ProgressBar::hidden())
}

#[test]
fn the_same_seed_gives_the_same_figures_on_one_thread_or_two() {
    let s = default_scenario();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let a = one.install(|| run(&s));
    let b = two.install(|| run(&s));
    assert_eq!(a.runs, b.runs);
    assert_eq!(a.fan(), b.fan());
    // And another seed, other figures.
    let mut t = s.clone();
    t.seed += 100;
    assert_ne!(run(&t).runs[0], a.runs[0]);
}

fn stress(s: &Scenario, event: StressEvent) -> Outcome {
    run(&s.stressed(&Stress {
        name: "test".into(),
        event,
    }))
}

#[test]
fn each_stress_test_moves_the_network_as_it_says() {
    let s = default_scenario();
    let base = run(&s);
    let end = |o: &Outcome, m: &str| o.median_at_year(m, 3).unwrap();

    // Price −90 % within a month at the end of year 1: hosts leave, fewer remain.
    let crash = stress(
        &s,
        StressEvent::PriceShock {
            day: 365,
            factor: 0.1,
            over_days: 30,
        },
    );
    for (b, c) in base.runs.iter().zip(&crash.runs) {
        assert!((c[400].price_usd / b[400].price_usd - 0.1).abs() < 1e-9);
    }
    assert!(end(&crash, "hotspots") < 0.5 * end(&base, "hotspots"));

    // Demand goes to zero: nothing burned or paid for data after it.
    let dry = stress(&s, StressEvent::DemandStops { day: 365 });
    for r in &dry.runs {
        assert!(r[363].dc_burned > 0.0);
        assert!(
            r[364..]
                .iter()
                .all(|m| m.dc_burned == 0.0 && m.data_share == 0.0)
        );
    }

    // Half the hotspots leave on day 365.
    let gone = stress(
        &s,
        StressEvent::HotspotsLeave {
            day: 365,
            fraction: 0.5,
        },
    );
    for (b, g) in base.runs.iter().zip(&gone.runs) {
        assert_eq!(b[363], g[363]);
        assert!((g[364].hotspots / b[364].hotspots - 0.5).abs() < 1e-9);
    }

    // 30 % adversarial keys: its take rises, but detection holds it far below its share.
    let sybil = stress(&s, StressEvent::AdversaryShare { share: 0.3 });
    let take = sybil.median_of_mean("adversary_take").unwrap();
    assert!(take > base.median_of_mean("adversary_take").unwrap());
    assert!(take < 0.1, "{take}");
}

#[test]
fn burned_tokens_are_reminted_to_carriers_and_supply_follows_the_schedule() {
    let s = default_scenario();
    let rows = simulate(&s, &Draws::new(&s, s.seed));
    for r in &rows {
        // What devices burned comes back as data rewards (the peg), no more.
        assert!(r.remint <= r.tokens_burned + 1e-6, "epoch {}", r.epoch);
        assert!(r.paid <= r.emission + r.remint + 1e-6);
    }
    let last = rows.last().unwrap();
    assert!(last.burned > 0.0);
    assert!((last.supply - (last.minted - last.burned)).abs() < 1e-3);
    assert!(last.minted <= last.scheduled + last.burned);
}

#[test]
fn a_scenario_file_writes_a_self_contained_report_with_every_plot() {
    let mut s = default_scenario();
    s.runs = 4;
    s.years = 2;
    if let Some(sw) = &mut s.sweep {
        sw.runs = 2;
    }
    let progress = ProgressBar::hidden();
    let base = monte_carlo::run(&s, &progress);
    let variants: Vec<Outcome> = s
        .stress
        .iter()
        .map(|st| monte_carlo::run(&s.stressed(st), &progress))
        .collect();
    let sweep = monte_carlo::sweep(&s, &progress).unwrap().unwrap();
    assert_eq!(sweep.cells.len(), sweep.ys.len());
    let dir = tempfile::tempdir().unwrap();
    let files = report::write_all(
        dir.path(),
        &base,
        &variants,
        Some(&sweep),
        "name = \"x\"",
        true,
    )
    .unwrap();
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    for name in report::FAN_METRICS {
        assert!(html.contains(&format!("id=\"fan-{name}\"")), "{name}");
        let svg = std::fs::read_to_string(dir.path().join(format!("plots/{name}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<polyline"),
            "{name}"
        );
    }
    for name in report::STRESS_METRICS {
        assert!(html.contains(&format!("id=\"stress-{name}\"")), "{name}");
    }
    assert!(html.contains("id=\"sweep\""));
    // What cheating returns, against what its keys cost.
    assert!(
        html.contains("to onboard (at 40.00 $ a key)"),
        "the adversary's return"
    );
    // Self-contained: nothing fetched from anywhere.
    assert!(!html.contains("src=") && !html.contains("href="));
    assert_eq!(
        html.matches("<svg").count(),
        files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "svg"))
            .count()
    );
    // Every metric is a column of the tables.
    let quantiles = std::fs::read_to_string(dir.path().join("quantiles.csv")).unwrap();
    let header = quantiles.lines().next().unwrap();
    for m in hexproof_tokenomics::METRICS {
        assert!(header.contains(&format!("{}_p50", m.name)), "{}", m.name);
    }
    assert_eq!(quantiles.lines().count(), 1 + 2 * 365);
    let runs = std::fs::read_to_string(dir.path().join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 4 * 2 * 365);
    let yearly = std::fs::read_to_string(dir.path().join("yearly.csv")).unwrap();
    assert_eq!(yearly.lines().count(), 1 + 5 * 2);
}

#[test]
fn a_bad_scenario_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "years = 0\n").unwrap();
    let e = Scenario::load(&path).unwrap_err().to_string();
    assert!(e.contains("years"), "{e}");
    std::fs::write(&path, "[price]\nvolatility = 0.5\n").unwrap();
    let e = Scenario::load(&path).unwrap_err().to_string();
    assert!(e.contains("volatility"), "{e}");
    assert!(Scenario::load(&dir.path().join("missing.toml")).is_err());
}

#[test]
fn the_reference_file_documents_the_defaults() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tokenomics/reference.toml");
    assert_eq!(Scenario::load(&path).unwrap(), Scenario::default());
}

fn one_run(years: u32) -> Scenario {
    Scenario {
        years,
        runs: 1,
        ..Default::default()
    }
}

#[test]
fn numbers_no_network_reaches_are_counted_without_overflow() {
    // A billion hotspots hearing a million beacons a day, a billion tokens an epoch: the
    // report counts would overflow the reward code's u128 products unscaled.
    let mut s = one_run(1);
    s.token.initial_emission = 1e9;
    s.token.mint_window_multiple = 1e3;
    s.hosts.initial_hotspots = 1e9;
    s.hosts.tiers.truncate(1);
    s.hosts.tiers[0].witnesses_per_day = 1e6;
    s.hosts.tiers[0].scale = 1.0;
    s.validate().unwrap();
    let rows = simulate(&s, &Draws::new(&s, 1));
    assert!(
        rows.iter()
            .all(|r| r.paid > 0.0 && r.paid <= r.emission + r.remint + 1e-6)
    );
    // Demand growing past anything countable is counted at the most, not dropped.
    let mut s = one_run(40);
    s.demand.growth_per_year = 20.0;
    s.demand.noise = 0.0;
    s.price.volatility_per_year = 0.0;
    let rows = simulate(&s, &Draws::new(&s, 1));
    assert!(rows.last().unwrap().dc_burned > 0.0);
}

#[test]
fn what_the_program_or_the_machine_cannot_take_is_refused_up_front() {
    let refused = |f: &dyn Fn(&mut Scenario)| {
        let mut s = Scenario::default();
        f(&mut s);
        s.validate().is_err()
    };
    assert!(refused(&|s| s.token.dc_per_token = 0));
    assert!(refused(&|s| s.token.halving_epochs = 0));
    assert!(refused(&|s| s.token.initial_emission = 0.0));
    assert!(refused(&|s| s.token.mint_window_multiple = 0.5));
    assert!(refused(&|s| {
        s.runs = 100_000;
        s.years = 200;
    }));
    assert!(refused(&|s| s.price.shocks.push(
        hexproof_tokenomics::scenario::Shock {
            day: 0,
            factor: 0.5,
            over_days: 1
        }
    )));
    let sweep = |metric: &str, runs: u32, values: Vec<f64>| hexproof_tokenomics::scenario::Sweep {
        x: hexproof_tokenomics::scenario::Axis {
            param: "token.data_share_bps".into(),
            values: values.clone(),
        },
        y: hexproof_tokenomics::scenario::Axis {
            param: "price.volatility_per_year".into(),
            values: vec![0.5],
        },
        metric: metric.into(),
        runs,
    };
    assert!(refused(&|s| s.sweep = Some(sweep("nope", 4, vec![1.0]))));
    assert!(refused(
        &|s| s.sweep = Some(sweep("hotspots", u32::MAX, vec![1.0]))
    ));
    assert!(refused(&|s| s.sweep = Some(sweep("hotspots", 4, vec![]))));
    // A cell that is not a valid scenario is refused before anything runs.
    assert!(refused(
        &|s| s.sweep = Some(sweep("hotspots", 4, vec![20_000.0]))
    ));
    let s = Scenario {
        sweep: Some(sweep("hotspots", 4, vec![1_000.0, 9_000.0])),
        ..Default::default()
    };
    s.validate().unwrap();
}

#[test]
fn events_land_on_the_day_they_name_in_any_order() {
    let mut s = one_run(1);
    s.price.volatility_per_year = 0.0;
    s.price.shocks.push(hexproof_tokenomics::scenario::Shock {
        day: 10,
        factor: 0.5,
        over_days: 1,
    });
    let d = Draws::new(&s, 1);
    assert_eq!(d.price[8], s.price.initial_usd);
    assert!((d.price[9] - s.price.initial_usd * 0.5).abs() < 1e-12);
    // Two departures on one day: the same network whichever the file lists first.
    let leave = |a: f64, b: f64| {
        let mut t = one_run(1);
        t.hosts.departures = vec![
            hexproof_tokenomics::scenario::Departure {
                day: 100,
                fraction: a,
            },
            hexproof_tokenomics::scenario::Departure {
                day: 100,
                fraction: b,
            },
        ];
        simulate(&t, &Draws::new(&t, 1))
    };
    assert_eq!(leave(0.3, 0.1), leave(0.1, 0.3));
}

#[test]
fn claims_wait_for_the_programs_mint_window_and_are_never_lost() {
    let mut s = one_run(3);
    // Heavy traffic: the re-mint alone is more than the window lets through in an epoch.
    s.demand.initial_dc_per_day = 3e11;
    s.demand.ramp_days = 0;
    s.token.mint_window_multiple = 1.0;
    let rows = simulate(&s, &Draws::new(&s, 1));
    let limit = s.token.initial_emission * s.token.mint_window_multiple;
    let mut before = 0.0;
    let mut waited = false;
    for r in &rows {
        assert!(r.minted - before <= limit + 1e-6, "epoch {}", r.epoch);
        waited |= r.unclaimed > 0.0;
        before = r.minted;
    }
    assert!(waited, "the window bound");
}
