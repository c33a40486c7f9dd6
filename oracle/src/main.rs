//! `oracle`: the service an oracle operator runs.
//!
//! - `run --config PATH`: ingest, entropy and validation until Ctrl-C/SIGTERM.
//! - `verify --registry FILE --reports FILE`: judge recorded reports offline.
//! - `export --database URL --out FILE`: write a database's reports as recorded lines.
//! - `status --database URL`: counts of verdicts by kind and reason.
//! - `keygen --out PATH`: the oracle's signing key.

use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

use anyhow::Context;
use clap::{Parser, Subcommand};
use hexproof_proto::{Keypair, PublicKey};
use oracle::{
    audit,
    config::Config,
    registry::StaticRegistry,
    service,
    store::{Status, Store},
};
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(version, about = "hexproof oracle")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the oracle's signing key (Solana CLI keypair format, mode 0600); prints its key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Run ingest, entropy publishing and validation.
    Run {
        #[arg(long, env = "ORACLE_CONFIG")]
        config: Option<PathBuf>,
        /// Overrides mqtt.url.
        #[arg(long)]
        broker: Option<String>,
        /// Overrides database.
        #[arg(long)]
        database: Option<String>,
    },
    /// Judge a file of recorded reports offline and print the verdicts.
    Verify {
        /// Network file the hotspots are registered in.
        #[arg(long)]
        registry: PathBuf,
        /// Recorded reports (JSON lines, as `export` writes them).
        #[arg(long)]
        reports: PathBuf,
        /// Validation limits from this config file (defaults otherwise).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Accept entropy only from these oracles.
        #[arg(long = "oracle")]
        oracles: Vec<PublicKey>,
        /// Every report's verdict as JSON lines instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Write the reports and entropy in a database as recorded lines.
    Export {
        #[arg(long)]
        database: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Verdict counts by kind, status and reason.
    Status {
        #[arg(long)]
        database: String,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
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
    match Cli::parse().command {
        Command::Keygen { out } => {
            let key = Keypair::generate();
            key.write_new_file(&out).context("writing the new oracle key")?;
            println!("{}", key.public());
            Ok(())
        }
        Command::Run { config, broker, database } => {
            let mut config = Config::load(config.as_deref())?;
            if let Some(url) = broker {
                config.mqtt.url = url;
            }
            if let Some(db) = database {
                config.database = db;
            }
            runtime.block_on(async {
                let shutdown = CancellationToken::new();
                let stop = shutdown.clone();
                tokio::spawn(async move {
                    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("installing a SIGTERM handler");
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                    tracing::info!("shutting down");
                    stop.cancel();
                });
                service::run(config, shutdown).await
            })
        }
        Command::Verify { registry, reports, config, oracles, json } => {
            let limits = Config::load(config.as_deref())?.validation;
            let registry = Arc::new(StaticRegistry::load(&registry)?);
            let lines = audit::read_lines(&reports)?;
            let judged = runtime.block_on(audit::verify(&lines, registry, limits, &oracles))?;
            if json {
                for j in &judged {
                    let line = serde_json::json!({
                        "id": hex::encode(j.report.id),
                        "kind": j.report.kind.name(),
                        "hotspot": j.report.hotspot,
                        "timestamp_ns": j.report.timestamp_ns,
                        "valid": j.status == Status::Valid,
                        "reason": j.reason,
                        "detail": j.detail,
                        "selected": j.selected,
                    });
                    println!("{line}");
                }
            } else {
                let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
                for j in &judged {
                    let verdict = match (j.status, &j.reason) {
                        (Status::Valid, _) if j.selected => "valid (selected)".to_string(),
                        (Status::Valid, _) => "valid".to_string(),
                        (_, Some(r)) => r.clone(),
                        (s, None) => format!("{s:?}").to_lowercase(),
                    };
                    *counts.entry((j.report.kind.name().to_string(), verdict)).or_default() += 1;
                }
                println!("{:<12} {:<32} {:>8}", "kind", "verdict", "reports");
                for ((kind, verdict), n) in counts {
                    println!("{kind:<12} {verdict:<32} {n:>8}");
                }
            }
            Ok(())
        }
        Command::Export { database, out } => runtime.block_on(async {
            let store = Store::connect(&database).await?;
            let mut file = std::io::BufWriter::new(std::fs::File::create(&out)?);
            let n = audit::export(&store, &mut file).await?;
            eprintln!("wrote {n} lines to {}", out.display());
            Ok(())
        }),
        Command::Status { database, json } => runtime.block_on(async {
            let store = Store::connect(&database).await?;
            let summary = store.verdict_summary().await?;
            if json {
                let rows: Vec<_> = summary
                    .iter()
                    .map(|(k, s, r, n)| serde_json::json!({"kind": k.name(), "status": format!("{s:?}").to_lowercase(), "reason": r, "count": n}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{:<12} {:<8} {:<32} {:>8}", "kind", "status", "reason", "reports");
                for (k, s, r, n) in summary {
                    println!("{:<12} {:<8} {:<32} {n:>8}", k.name(), format!("{s:?}").to_lowercase(), r.unwrap_or_default());
                }
            }
            Ok(())
        }),
    }
}
