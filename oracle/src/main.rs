//! `oracle`: the service an oracle operator runs, and its tools.
//!
//! - `run --config PATH`: ingest, entropy, judging, epochs, chain duty and the explorer until
//!   Ctrl-C/SIGTERM.
//! - `verify --registry FILE --reports FILE`: judge recorded reports offline.
//! - `export --database URL --out FILE`: write a database's reports as recorded lines.
//! - `status --database URL`: counts of verdicts by kind and reason.
//! - `epoch close|show`, `rewards replay|proof`: close and inspect epochs, re-check a root.
//! - `keygen --out PATH`: the oracle's signing key.
//! - `maker --config PATH`: the maker service (a hardware maker pays its owners' fees).
//! - `chain …`: the Solana program's instructions (init, onboard, assert, transfer,
//!   decommission, submit, claim, show) against an RPC URL.
//!
//! Data enters as flags, a TOML config (`oracle/config.example.toml`) and the environment
//! (`ORACLE_…`); it leaves as the service's effects, or as tables (JSON with `--json`) on
//! stdout. `main()` parses and dispatches; each command lives in [`cli`]. The one-command demo
//! is another binary (`hexproof-demo`).

mod cli;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rumqttc=warn,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(cli::execute(cli.command))
}
