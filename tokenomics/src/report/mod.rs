//! Everything a run writes: CSV tables, SVG plots and the HTML report, into one directory.

pub mod csv;
pub mod html;
pub mod plot;

use std::path::{Path, PathBuf};

use crate::metrics::METRICS;
use crate::monte_carlo::{Outcome, SweepResult};
use plot::short;

/// Metrics drawn as fan charts for the scenario.
pub const FAN_METRICS: &[&str] = &[
    "hotspots",
    "price_usd",
    "reward_usd_per_hotspot_month",
    "payback_months",
    "supply",
    "net_emission",
    "tokens_burned",
    "data_share",
    "gini",
    "nakamoto",
    "adversary_take",
];

/// Metrics compared across the stress variants.
pub const STRESS_METRICS: &[&str] = &[
    "hotspots",
    "reward_usd_per_hotspot_month",
    "payback_months",
    "data_share",
    "adversary_take",
];

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Plot(#[from] plot::PlotError),
}

fn write(path: &Path, text: &str) -> Result<PathBuf, ReportError> {
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok(path.to_path_buf())
}

fn index(name: &str) -> usize {
    METRICS.iter().position(|m| m.name == name).unwrap_or(0)
}

/// Writes the report for a scenario's runs into `dir` (created if missing); returns the files.
pub fn write_all(
    dir: &Path,
    base: &Outcome,
    variants: &[Outcome],
    sweep: Option<&SweepResult>,
    scenario_toml: &str,
    every_run: bool,
) -> Result<Vec<PathBuf>, ReportError> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).map_err(|source| ReportError::Write {
        path: plots.display().to_string(),
        source,
    })?;
    let mut files = Vec::new();
    let fan = base.fan();
    files.push(write(&dir.join("quantiles.csv"), &csv::quantiles(&fan))?);
    if every_run {
        files.push(write(&dir.join("runs.csv"), &csv::runs(base))?);
    }
    let all: Vec<&Outcome> = std::iter::once(base).chain(variants).collect();
    files.push(write(&dir.join("yearly.csv"), &csv::yearly(&all))?);

    let mut fans = Vec::new();
    for name in FAN_METRICS {
        let m = &METRICS[index(name)];
        let svg = plot::fan_chart(&fan, index(name), m.name, m.label)?;
        files.push(write(&plots.join(format!("{name}.svg")), &svg)?);
        fans.push((name.to_string(), svg));
    }
    let mut stress = Vec::new();
    if !variants.is_empty() {
        let fans_of: Vec<(String, crate::monte_carlo::Fan)> = all
            .iter()
            .map(|o| (o.scenario.name.clone(), o.fan()))
            .collect();
        let refs: Vec<(String, &crate::monte_carlo::Fan)> =
            fans_of.iter().map(|(n, f)| (n.clone(), f)).collect();
        for name in STRESS_METRICS {
            let m = &METRICS[index(name)];
            let svg = plot::variants_chart(&refs, index(name), m.name, m.label)?;
            files.push(write(&plots.join(format!("stress-{name}.svg")), &svg)?);
            stress.push((name.to_string(), svg));
        }
    }
    let sweep_svg = match sweep {
        Some(s) => {
            files.push(write(&dir.join("sweep.csv"), &csv::sweep(s))?);
            let svg = plot::heat_map(s)?;
            files.push(write(&plots.join("sweep.svg"), &svg)?);
            Some((s, svg))
        }
        None => None,
    };
    let findings = findings(base, variants);
    let page = html::Page {
        base,
        variants,
        fans: &fans,
        stress: &stress,
        sweep: sweep_svg,
        scenario_toml,
        findings: &findings,
    };
    files.push(write(&dir.join("report.html"), &html::render(&page))?);
    Ok(files)
}

fn months(v: f64) -> String {
    if v.is_finite() {
        format!("{} months", short(v))
    } else {
        "never (it earns less than it costs to run)".into()
    }
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// What a designer reads first: the runs' medians in sentences.
pub fn findings(base: &Outcome, variants: &[Outcome]) -> Vec<String> {
    let s = &base.scenario;
    let y = s.years;
    let at = |o: &Outcome, name: &str, year: u32| o.median_at_year(name, year).unwrap_or(f64::NAN);
    let mut out = vec![
        format!(
            "Hotspots: {} at the start, {} after a year and {} after {y} years (medians); \
             a new hotspot pays back in {} after a year and {} after {y} years.",
            short(s.hosts.initial_hotspots),
            short(at(base, "hotspots", 1)),
            short(at(base, "hotspots", y)),
            months(at(base, "payback_months", 1)),
            months(at(base, "payback_months", y)),
        ),
        format!(
            "Earnings: {} $ a month per hotspot after a year, {} $ after {y} years; \
             data pays {} of rewards after a year and {} after {y} years.",
            short(at(base, "reward_usd_per_hotspot_month", 1)),
            short(at(base, "reward_usd_per_hotspot_month", y)),
            pct(at(base, "data_share", 1)),
            pct(at(base, "data_share", y)),
        ),
        format!(
            "Supply after {y} years: {} tokens of the {} the schedule allowed (hex density \
             scaling leaves the rest unpaid, and unpaid is never minted); {} burned for \
             credits and re-minted to the carriers at the peg, so burning moves no supply.",
            short(at(base, "supply", y)),
            short(at(base, "scheduled", y)),
            short(at(base, "burned", y)),
        ),
        format!(
            "Concentration after {y} years: Gini {:.2} over hotspots, Nakamoto coefficient {} \
             owners; the adversary ({} of keys, {} found per epoch) takes {} of rewards on \
             average.",
            at(base, "gini", y),
            short(at(base, "nakamoto", y)),
            pct(s.adversary.share),
            pct(s.adversary.detection),
            pct(base.median_of_mean("adversary_take").unwrap_or(f64::NAN)),
        ),
    ];
    // What cheating returns: the adversary's dollars paid against its keys' onboarding.
    let (mut paid, mut cost): (Vec<f64>, Vec<f64>) = base
        .runs
        .iter()
        .map(|r| crate::model::adversary_return(s, r))
        .unzip();
    let (paid, cost) = (
        crate::metrics::quantile(&mut paid, 0.5),
        crate::metrics::quantile(&mut cost, 0.5),
    );
    out.push(format!(
        "The adversary's keys cost {} $ to onboard (at {} $ a key) and were paid {} $ over the \
         {y} years (medians): {}.",
        short(cost),
        short(s.adversary.onboarding_usd),
        short(paid),
        if paid > cost {
            "cheating pays at these settings"
        } else {
            "cheating does not pay back"
        },
    ));
    let over_cap = base
        .runs
        .iter()
        .chain(variants.iter().flat_map(|v| v.runs.iter()))
        .flatten()
        .filter(|r| r.mint_headroom < 0.0)
        .count();
    out.push(if over_cap == 0 {
        "Every epoch of every run minted within the program's cap (schedule + burned).".into()
    } else {
        format!("{over_cap} epochs minted above the program's cap: the model is wrong.")
    });
    for v in variants {
        let name = v.scenario.stress.first().map_or("?", |s| s.name.as_str());
        out.push(format!(
            "{name}: {} hotspots after {y} years (baseline {}), earning {} $ a month, \
             payback {}, adversary's take {}.",
            short(at(v, "hotspots", y)),
            short(at(base, "hotspots", y)),
            short(at(v, "reward_usd_per_hotspot_month", y)),
            months(at(v, "payback_months", y)),
            pct(v.median_of_mean("adversary_take").unwrap_or(f64::NAN)),
        ));
    }
    out
}
