//! The self-contained HTML report: the scenario, what its runs show in numbers, every plot
//! inline (no file or network fetches), and the tables behind them.

use std::fmt::Write;

use crate::metrics::METRICS;
use crate::monte_carlo::{Outcome, SweepResult};
use crate::report::plot::short;

/// What the report shows.
#[derive(Debug)]
pub struct Page<'a> {
    pub base: &'a Outcome,
    pub variants: &'a [Outcome],
    /// `(metric name, fan chart SVG)` for the base scenario.
    pub fans: &'a [(String, String)],
    /// `(metric name, variants chart SVG)`.
    pub stress: &'a [(String, String)],
    pub sweep: Option<(&'a SweepResult, String)>,
    pub scenario_toml: &'a str,
    pub findings: &'a [String],
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Summary columns of the variants table.
pub const SUMMARY: &[&str] = &[
    "hotspots",
    "price_usd",
    "reward_usd_per_hotspot_month",
    "payback_months",
    "supply",
    "data_share",
    "gini",
    "nakamoto",
    "adversary_take",
];

pub fn render(page: &Page) -> String {
    let s = &page.base.scenario;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>hexproof tokenomics: {name}</title><style>\
         body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#1f2933}}\
         table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #d1d5db;padding:3px 7px;text-align:right}}\
         th:first-child,td:first-child{{text-align:left}}figure{{margin:1em 0}}\
         .grid{{display:flex;flex-wrap:wrap;gap:8px}}pre{{background:#f3f4f6;padding:1em;overflow:auto}}\
         </style></head><body><h1>hexproof tokenomics: {name}</h1><p>{desc}</p>\
         <p>{runs} runs × {years} years ({epochs} daily epochs), seeds {seed}–{last}. \
         Emission, reward split and mint cap are the deployment's own code.</p>",
        name = escape(&s.name),
        desc = escape(&s.description),
        runs = s.runs,
        years = s.years,
        epochs = s.epochs(),
        seed = s.seed,
        last = s.seed.wrapping_add(u64::from(s.runs).saturating_sub(1)),
    );
    out.push_str("<h2>What the runs show</h2><ul>");
    for f in page.findings {
        let _ = write!(out, "<li>{}</li>", escape(f));
    }
    out.push_str(
        "</ul><h2>Variants (medians across runs)</h2><table><tr><th>variant</th><th>year</th>",
    );
    for c in SUMMARY {
        let _ = write!(out, "<th>{c}</th>");
    }
    out.push_str("</tr>");
    for o in std::iter::once(page.base).chain(page.variants.iter()) {
        let years: Vec<u32> = [1, 3, o.scenario.years]
            .into_iter()
            .filter(|y| *y <= o.scenario.years)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for y in years {
            let _ = write!(out, "<tr><td>{}</td><td>{y}</td>", escape(&o.scenario.name));
            for c in SUMMARY {
                let v = o.median_at_year(c, y).unwrap_or(f64::NAN);
                let _ = write!(out, "<td>{}</td>", short(v));
            }
            out.push_str("</tr>");
        }
    }
    out.push_str("</table><h2>The scenario across runs</h2><div class=\"grid\">");
    for (name, svg) in page.fans {
        let label = METRICS
            .iter()
            .find(|m| m.name == name)
            .map_or("", |m| m.label);
        let _ = write!(
            out,
            "<figure id=\"fan-{name}\" title=\"{}\">{svg}</figure>",
            escape(label)
        );
    }
    out.push_str("</div>");
    if !page.stress.is_empty() {
        out.push_str("<h2>Stress tests</h2><div class=\"grid\">");
        for (name, svg) in page.stress {
            let _ = write!(out, "<figure id=\"stress-{name}\">{svg}</figure>");
        }
        out.push_str("</div>");
    }
    if let Some((sweep, svg)) = &page.sweep {
        let _ = write!(
            out,
            "<h2>Sweep: {} × {}</h2><figure id=\"sweep\">{svg}</figure>",
            escape(&sweep.x_param),
            escape(&sweep.y_param)
        );
    }
    let _ = write!(
        out,
        "<h2>Scenario file</h2><pre>{}</pre></body></html>",
        escape(page.scenario_toml)
    );
    out
}
