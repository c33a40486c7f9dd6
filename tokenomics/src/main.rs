//! `hexproof-tokenomics`: simulates a scenario file over years and writes its report.
//!
//! `hexproof-tokenomics run SCENARIO.toml --out DIR` reads the scenario, runs it and each of
//! its stress tests `runs` times (and its sweep), and writes `DIR/report.html`, CSV tables and
//! SVG plots; a progress bar on stderr, the findings on stdout.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use hexproof_tokenomics::{Scenario, monte_carlo, report};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser, Debug)]
#[command(version, about = "Token design by scenario analysis")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate a scenario (with its stress tests and sweep) and write the report.
    Run {
        scenario: PathBuf,
        /// Where the report goes.
        #[arg(long, default_value = "tokenomics-report")]
        out: PathBuf,
        /// Override the scenario's number of runs.
        #[arg(long)]
        runs: Option<u32>,
        /// Override the scenario's years.
        #[arg(long)]
        years: Option<u32>,
        /// Also write every run's rows (`runs.csv`; large).
        #[arg(long)]
        every_run: bool,
        /// Skip the sweep.
        #[arg(long)]
        no_sweep: bool,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            scenario,
            out,
            runs,
            years,
            every_run,
            no_sweep,
        } => run(scenario, out, runs, years, every_run, no_sweep),
    }
}

fn run(
    path: PathBuf,
    out: PathBuf,
    runs: Option<u32>,
    years: Option<u32>,
    every_run: bool,
    no_sweep: bool,
) -> Result<()> {
    let mut scenario = Scenario::load(&path)?;
    if let Some(r) = runs {
        scenario.runs = r;
    }
    if let Some(y) = years {
        scenario.years = y;
    }
    if no_sweep {
        scenario.sweep = None;
    }
    scenario.validate()?;
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let progress = ProgressBar::new(monte_carlo::total_runs(&scenario));
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} runs ({eta} left)")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    let base = monte_carlo::run(&scenario, &progress);
    let variants: Vec<_> = scenario
        .stress
        .iter()
        .map(|s| monte_carlo::run(&scenario.stressed(s), &progress))
        .collect();
    let sweep = monte_carlo::sweep(&scenario, &progress)?;
    progress.finish_and_clear();
    let files = report::write_all(&out, &base, &variants, sweep.as_ref(), &text, every_run)?;
    for f in report::findings(&base, &variants) {
        println!("- {f}");
    }
    println!(
        "wrote {} files; open {}",
        files.len(),
        out.join("report.html").display()
    );
    Ok(())
}
