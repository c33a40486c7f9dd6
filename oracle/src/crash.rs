//! Named crash points for fault-injection tests: `HEXPROOF_CRASH_AT=epoch.before_save` makes the
//! process abort (no destructors, no flushing: what `kill -9` or a power cut does) the first
//! time it reaches that point. Several names may be given, comma-separated. Without the
//! variable a crash point costs one atomic load.
//!
//! The points sit where an interrupted oracle is most likely to lose or double something:
//! - `ingest.after_commit`: a batch is stored but not yet acknowledged (the broker redelivers
//!   it; it must be stored once);
//! - `epoch.before_save`: rewards computed, nothing saved;
//! - `epoch.after_save`: the epoch is saved, the chain has not seen it.

use std::sync::OnceLock;

/// The environment variable naming the points to crash at.
pub const VARIABLE: &str = "HEXPROOF_CRASH_AT";

fn armed() -> &'static [String] {
    static ARMED: OnceLock<Vec<String>> = OnceLock::new();
    ARMED.get_or_init(|| {
        std::env::var(VARIABLE)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Aborts the process when `name` is armed.
pub fn point(name: &str) {
    if armed().iter().any(|a| a == name) {
        eprintln!("crash point {name} reached: aborting");
        std::process::abort();
    }
}
