//! The simulator against radCAD on the same model: `cargo bench -p hexproof-tokenomics --bench
//! radcad`.
//!
//! radCAD (PyPI, pinned) is installed into a cache outside the clone on first use
//! (`HEXPROOF_RADCAD_VENV`, default `~/.cache/hexproof-radcad`), like the test clients.
//! `benches/radcad_model.py` is the simulator's model written as radCAD state-update blocks.
//! Both run the default scenario's deterministic form (no volatility, shocks or demand noise:
//! the only difference between the two is the engine) for the same runs and epochs, on one
//! core each; the bench prints both wall times and the ratio, and fails unless both end on
//! the same honest hotspot count and the same minted and burned base units.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use hexproof_tokenomics::{Draws, Scenario, simulate};

/// radCAD 0.14.0 imports typing_extensions without declaring it.
const RADCAD: &[&str] = &["radcad==0.14.0", "typing_extensions==4.15.0"];

fn venv() -> PathBuf {
    std::env::var_os("HEXPROOF_RADCAD_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/hexproof-radcad")
        })
}

fn python() -> PathBuf {
    let venv = venv();
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import radcad"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        eprintln!("installing {} into {}", RADCAD.join(" "), venv.display());
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "python3 -m venv failed (Debian: apt install python3-venv)"
        );
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check"])
            .args(RADCAD)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "pip install {} failed", RADCAD.join(" "));
    }
    python
}

fn main() {
    let mut scenario = Scenario::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tokenomics/default.toml"),
    )
    .expect("default scenario");
    scenario.price.volatility_per_year = 0.0;
    scenario.price.shocks.clear();
    scenario.demand.noise = 0.0;
    scenario.stress.clear();
    scenario.sweep = None;
    scenario.runs = 4;
    let epochs = scenario.epochs();
    let runs = scenario.runs;

    // radCAD, one process.
    let python = python();
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/radcad_model.py");
    let mut child = Command::new(&python)
        .arg(&model)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run radcad_model.py");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::to_string(&scenario).expect("json").as_bytes())
        .expect("write scenario");
    let out = child.wait_with_output().expect("radcad_model.py");
    assert!(out.status.success(), "radcad_model.py failed");
    let py: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("radcad_model.py printed JSON");
    let py_seconds = py["seconds"].as_f64().expect("seconds");
    let py_fast = py["seconds_no_deepcopy"].as_f64().expect("seconds");

    // The simulator, one thread, the same runs (repeated until a second has passed, for a
    // steady figure).
    let draws = Draws::new(&scenario, scenario.seed);
    let mut last = None;
    let mut repeats = 0u32;
    let start = Instant::now();
    while repeats == 0 || start.elapsed().as_secs_f64() < 1.0 {
        for _ in 0..runs {
            last = Some(simulate(&scenario, &draws));
        }
        repeats += 1;
    }
    let rust_seconds = start.elapsed().as_secs_f64() / f64::from(repeats);
    let rows = last.expect("ran");
    let end = rows.last().expect("epochs");
    let base = hexproof_commitment::TOKEN_BASE_UNITS as f64;

    let steps = f64::from(runs) * epochs as f64;
    println!(
        "model: the default scenario, deterministic, {runs} runs × {epochs} epochs, one core each"
    );
    println!(
        "radCAD 0.14.0:                 {py_seconds:>9.3} s  ({:>8.1} µs an epoch; its default, state deep-copied each step)",
        py_seconds / steps * 1e6
    );
    println!(
        "radCAD 0.14.0, deepcopy off:   {py_fast:>9.3} s  ({:>8.1} µs an epoch)",
        py_fast / steps * 1e6
    );
    println!(
        "hexproof-tokenomics:           {rust_seconds:>9.4} s  ({:>8.2} µs an epoch)",
        rust_seconds / steps * 1e6
    );
    println!(
        "ratio: {:.0}× faster than radCAD's default, {:.0}× than its fastest (goal 100×)",
        py_seconds / rust_seconds,
        py_fast / rust_seconds
    );
    let hotspots = py["hotspots"].as_f64().expect("hotspots");
    let minted = py["minted"].as_u64().expect("minted");
    let burned = py["burned"].as_u64().expect("burned");
    println!(
        "shared metrics at epoch {epochs}: honest hotspots {:.6} (radCAD {hotspots:.6}), minted {} (radCAD {minted}), burned {} (radCAD {burned}) base units",
        end.hotspots,
        (end.minted * base).round() as u64,
        (end.burned * base).round() as u64,
    );
    // Every metric of the last epoch's row (the same outputs: the radCAD model computes the
    // simulator's whole row, Gini and Nakamoto included).
    let close = |a: f64, b: f64| a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    let mut differ = Vec::new();
    for m in hexproof_tokenomics::METRICS {
        let ours = (m.read)(end);
        let theirs = py["row"][m.name].as_f64().unwrap_or(f64::NAN);
        if !(close(ours, theirs) || (ours.is_infinite() && py["row"][m.name].is_null())) {
            differ.push(format!("{} {ours} vs {theirs}", m.name));
        }
    }
    println!(
        "last epoch's row: {} of {} metrics equal{}",
        hexproof_tokenomics::METRICS.len() - differ.len(),
        hexproof_tokenomics::METRICS.len(),
        if differ.is_empty() {
            String::new()
        } else {
            format!(" (differ: {})", differ.join(", "))
        }
    );
    let same = differ.is_empty()
        && (end.hotspots - hotspots).abs() <= 1e-9 * hotspots.abs().max(1.0)
        && (end.minted * base).round() as u64 == minted
        && (end.burned * base).round() as u64 == burned;
    assert!(same, "the two engines disagree: not the same model");
}
