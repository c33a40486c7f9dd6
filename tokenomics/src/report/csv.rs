//! CSV files: per-epoch quantiles across runs, every run's rows, the variants' yearly medians
//! and the sweep's cells. Plain `,`-separated text with a header row; infinities as `inf`.

use std::fmt::Write;

use crate::metrics::{EpochMetrics, METRICS};
use crate::monte_carlo::{Fan, Outcome, SweepResult};

fn num(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v}")
    }
}

/// `epoch,<metric>_p5,<metric>_p50,<metric>_p95,...`
pub fn quantiles(fan: &Fan) -> String {
    let mut out = String::from("epoch");
    for m in METRICS {
        let _ = write!(out, ",{0}_p5,{0}_p50,{0}_p95", m.name);
    }
    out.push('\n');
    for (e, epoch) in fan.epochs.iter().enumerate() {
        let _ = write!(out, "{epoch}");
        for i in 0..METRICS.len() {
            let _ = write!(
                out,
                ",{},{},{}",
                num(fan.p5[i][e]),
                num(fan.p50[i][e]),
                num(fan.p95[i][e])
            );
        }
        out.push('\n');
    }
    out
}

/// `run,epoch,<metric>,...`: every row of every run.
pub fn runs(outcome: &Outcome) -> String {
    let mut out = String::from("run,epoch");
    for m in METRICS {
        let _ = write!(out, ",{}", m.name);
    }
    out.push('\n');
    for (r, rows) in outcome.runs.iter().enumerate() {
        for row in rows {
            let _ = write!(out, "{r},{}", row.epoch);
            push_row(&mut out, row);
        }
    }
    out
}

fn push_row(out: &mut String, row: &EpochMetrics) {
    for m in METRICS {
        let _ = write!(out, ",{}", num((m.read)(row)));
    }
    out.push('\n');
}

/// `variant,year,<metric>,...`: medians across runs at the end of each year.
pub fn yearly(variants: &[&Outcome]) -> String {
    let mut out = String::from("variant,year");
    for m in METRICS {
        let _ = write!(out, ",{}", m.name);
    }
    out.push('\n');
    for o in variants {
        for year in 1..=o.scenario.years {
            let _ = write!(out, "\"{}\",{year}", o.scenario.name.replace('"', "'"));
            for m in METRICS {
                let v = o.median_at_year(m.name, year).unwrap_or(f64::NAN);
                let _ = write!(out, ",{}", num(v));
            }
            out.push('\n');
        }
    }
    out
}

/// `<y param>,<x param>,<metric>`: one line per cell.
pub fn sweep(s: &SweepResult) -> String {
    let mut out = format!("{},{},{}\n", s.y_param, s.x_param, s.metric);
    for (y, row) in s.ys.iter().zip(&s.cells) {
        for (x, v) in s.xs.iter().zip(row) {
            let _ = writeln!(out, "{y},{x},{}", num(*v));
        }
    }
    out
}
