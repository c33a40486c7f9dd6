//! Many runs of a scenario (seeded, in parallel, the same figures on any machine and any
//! number of threads), their per-epoch quantiles, the stress variants and the sweep.

use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::metrics::{EpochMetrics, METRICS, metric, quantile};
use crate::model::{Draws, simulate};
use crate::scenario::{Scenario, ScenarioError};

/// The runs of one scenario.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub scenario: Scenario,
    pub runs: Vec<Vec<EpochMetrics>>,
}

/// Quantiles across runs, per epoch, of every metric (in [`METRICS`] order).
#[derive(Debug, Clone, PartialEq)]
pub struct Fan {
    pub epochs: Vec<u64>,
    /// `[metric][epoch]` of p5, p50, p95.
    pub p5: Vec<Vec<f64>>,
    pub p50: Vec<Vec<f64>>,
    pub p95: Vec<Vec<f64>>,
}

/// Runs `scenario.runs` simulations, run `i` seeded with `seed + i`; `progress` ticks once a run.
pub fn run(scenario: &Scenario, progress: &ProgressBar) -> Outcome {
    run_n(scenario, scenario.runs, progress)
}

fn run_n(scenario: &Scenario, runs: u32, progress: &ProgressBar) -> Outcome {
    let runs = (0..runs)
        .into_par_iter()
        .map(|i| {
            let draws = Draws::new(scenario, scenario.seed.wrapping_add(u64::from(i)));
            let rows = simulate(scenario, &draws);
            progress.inc(1);
            rows
        })
        .collect();
    Outcome {
        scenario: scenario.clone(),
        runs,
    }
}

impl Outcome {
    pub fn fan(&self) -> Fan {
        let epochs: Vec<u64> = self
            .runs
            .first()
            .map(|r| r.iter().map(|m| m.epoch).collect())
            .unwrap_or_default();
        let mut fan = Fan {
            epochs: epochs.clone(),
            p5: Vec::new(),
            p50: Vec::new(),
            p95: Vec::new(),
        };
        for m in METRICS {
            let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
            for e in 0..epochs.len() {
                let mut values: Vec<f64> = self.runs.iter().map(|r| (m.read)(&r[e])).collect();
                a.push(quantile(&mut values, 0.05));
                b.push(quantile(&mut values, 0.5));
                c.push(quantile(&mut values, 0.95));
            }
            fan.p5.push(a);
            fan.p50.push(b);
            fan.p95.push(c);
        }
        fan
    }

    /// The median across runs of `metric` at the last epoch of year `year` (1-based).
    pub fn median_at_year(&self, name: &str, year: u32) -> Option<f64> {
        let m = metric(name)?;
        let at = (year as usize * 365).checked_sub(1)?;
        let mut values: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|r| r.get(at))
            .map(|row| (m.read)(row))
            .collect();
        (!values.is_empty()).then(|| quantile(&mut values, 0.5))
    }

    /// The median across runs of a run's mean of `metric` over all epochs.
    pub fn median_of_mean(&self, name: &str) -> Option<f64> {
        let m = metric(name)?;
        let mut values: Vec<f64> = self
            .runs
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| r.iter().map(|row| (m.read)(row)).sum::<f64>() / r.len() as f64)
            .collect();
        (!values.is_empty()).then(|| quantile(&mut values, 0.5))
    }
}

/// A finished sweep: `cells[y][x]` is the median of the metric at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepResult {
    pub x_param: String,
    pub y_param: String,
    pub metric: String,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    pub cells: Vec<Vec<f64>>,
}

/// Runs the scenario's sweep, if it has one.
pub fn sweep(
    scenario: &Scenario,
    progress: &ProgressBar,
) -> Result<Option<SweepResult>, ScenarioError> {
    let Some(sweep) = &scenario.sweep else {
        return Ok(None);
    };
    let m = metric(&sweep.metric)
        .ok_or_else(|| ScenarioError::UnknownParameter(format!("metric {}", sweep.metric)))?;
    let mut cells = Vec::with_capacity(sweep.y.values.len());
    for y in &sweep.y.values {
        let mut row = Vec::with_capacity(sweep.x.values.len());
        for x in &sweep.x.values {
            let cell = scenario
                .with(&sweep.x.param, *x)?
                .with(&sweep.y.param, *y)?;
            let outcome = run_n(&cell, sweep.runs.max(1), progress);
            let mut last: Vec<f64> = outcome
                .runs
                .iter()
                .filter_map(|r| r.last())
                .map(|row| (m.read)(row))
                .collect();
            row.push(quantile(&mut last, 0.5));
        }
        cells.push(row);
    }
    Ok(Some(SweepResult {
        x_param: sweep.x.param.clone(),
        y_param: sweep.y.param.clone(),
        metric: sweep.metric.clone(),
        xs: sweep.x.values.clone(),
        ys: sweep.y.values.clone(),
        cells,
    }))
}

/// How many runs a whole scenario takes: its own, each stress variant's, the sweep's.
pub fn total_runs(scenario: &Scenario) -> u64 {
    let base = u64::from(scenario.runs).saturating_mul(1 + scenario.stress.len() as u64);
    let sweep = scenario.sweep.as_ref().map_or(0, |s| {
        ((s.x.values.len() * s.y.values.len()) as u64).saturating_mul(u64::from(s.runs.max(1)))
    });
    base.saturating_add(sweep)
}
