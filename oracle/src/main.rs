//! `oracle`: the service an oracle operator runs.
//!
//! - `run --config PATH`: ingest, entropy and validation until Ctrl-C/SIGTERM.
//! - `verify --registry FILE --reports FILE`: judge recorded reports offline.
//! - `export --database URL --out FILE`: write a database's reports as recorded lines.
//! - `status --database URL`: counts of verdicts by kind and reason.
//! - `keygen --out PATH`: the oracle's signing key.
//! - `demo [--epochs N] [--json]`: a whole network in one process (see `oracle::demo`).
//! - `chain …`: the Solana program's instructions (init, onboard, assert, transfer,
//!   decommission, submit, claim, show) against an RPC URL.

mod chain_cli;

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
    /// Epochs: close the ready ones, or show one.
    #[command(subcommand)]
    Epoch(EpochCommand),
    /// Rewards: recompute an epoch and compare, or print a hotspot's proof.
    #[command(subcommand)]
    Rewards(RewardsCommand),
    /// A whole network in one process: embedded MQTT broker, oracle on SQLite, a fixture
    /// network's hotspots on the simulated medium, an embedded Solana runtime with the program;
    /// prints each epoch (rewards, root, submission, tokens minted). Explorer and map stay up.
    Demo {
        /// Fixture network (default: net-200, with location spoofers and beacon replayers).
        #[arg(long)]
        network: Option<PathBuf>,
        /// Exit after this many epochs (status 0); run until Ctrl-C otherwise.
        #[arg(long)]
        epochs: Option<u64>,
        /// Epoch length in network seconds (default 3600: one minute of real time at 60x).
        #[arg(long, default_value_t = 3600)]
        epoch_secs: u64,
        /// Network seconds per real second.
        #[arg(long, default_value_t = 60)]
        speed: u32,
        #[arg(long, default_value_t = 300)]
        beacon_interval_secs: u64,
        /// Any MQTT 3.1.1 broker (`mqtt://host:port`) instead of the embedded rumqttd.
        #[arg(long)]
        broker: Option<String>,
        /// `postgres://…` (or another sqlite:// file) instead of SQLite in the state directory.
        #[arg(long)]
        database: Option<String>,
        /// A Solana cluster with the program deployed instead of the embedded runtime.
        #[arg(long)]
        rpc_url: Option<String>,
        /// Where the database, keys and outboxes go (a temporary directory by default).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:50051")]
        grpc_listen: std::net::SocketAddr,
        #[arg(long, default_value = "127.0.0.1:8080")]
        http_listen: std::net::SocketAddr,
        /// Tables to stderr, and a JSON summary on stdout at the end.
        #[arg(long)]
        json: bool,
    },
    /// The Solana program: init, onboard, assert, transfer, decommission, submit, claim, show.
    Chain {
        /// JSON-RPC URL of the cluster the program is deployed on.
        #[arg(
            long,
            env = "SOLANA_RPC_URL",
            default_value = "http://127.0.0.1:8899",
            global = true
        )]
        rpc_url: String,
        #[command(subcommand)]
        command: chain_cli::ChainCommand,
    },
    /// Verdict counts by kind, status and reason.
    Status {
        #[arg(long)]
        database: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum EpochCommand {
    /// Close every epoch whose end (plus the close delay) has passed and whose reports are judged.
    Close {
        #[arg(long, env = "ORACLE_CONFIG")]
        config: Option<PathBuf>,
        /// Close as of this time (ns since the Unix epoch) instead of the clock's now: for audits
        /// and replays of recorded networks.
        #[arg(long)]
        at_ns: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Show a closed epoch: totals, root, signature and the reward table.
    Show {
        epoch: u64,
        #[arg(long, env = "ORACLE_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum RewardsCommand {
    /// Recompute an epoch from the stored verdicts and compare with the stored root.
    Replay {
        #[arg(long)]
        epoch: u64,
        #[arg(long, env = "ORACLE_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// What a claim needs: a hotspot's lifetime amount and Merkle proof at an epoch.
    Proof {
        #[arg(long)]
        epoch: u64,
        #[arg(long)]
        hotspot: PublicKey,
        #[arg(long, env = "ORACLE_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn epoch_json(e: &oracle::rewards::epoch::ClosedEpoch) -> serde_json::Value {
    serde_json::json!({
        "epoch": e.epoch,
        "start_ns": e.start_ns,
        "end_ns": e.end_ns,
        "emission": e.emission,
        "paid": e.paid,
        "dust": e.dust,
        "lifetime_total": e.lifetime_total,
        "hotspots": e.rows.len(),
        "merkle_root": hex::encode(e.root),
        "program_id": e.program_id.to_string(),
        "oracle": e.oracle.to_string(),
        "signature": hex::encode(e.signature),
        "rewards": e.rows.iter().filter(|r| r.beacon + r.witness > 0).map(|r| serde_json::json!({
            "hotspot": r.hotspot.to_string(), "beacon": r.beacon, "witness": r.witness, "lifetime": r.lifetime,
        })).collect::<Vec<_>>(),
    })
}

fn print_epoch(e: &oracle::rewards::epoch::ClosedEpoch) {
    println!(
        "epoch {}  [{}, {})  root {}",
        e.epoch,
        e.start_ns,
        e.end_ns,
        hex::encode(e.root)
    );
    println!(
        "emission {}  paid {}  dust {}  lifetime total {}  hotspots {}",
        e.emission,
        e.paid,
        e.dust,
        e.lifetime_total,
        e.rows.len()
    );
    println!(
        "{:<46} {:>14} {:>14} {:>16}",
        "hotspot", "beacon", "witness", "lifetime"
    );
    let mut rows: Vec<_> = e.rows.iter().filter(|r| r.beacon + r.witness > 0).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.beacon + r.witness));
    for r in rows {
        println!(
            "{:<46} {:>14} {:>14} {:>16}",
            r.hotspot.to_string(),
            r.beacon,
            r.witness,
            r.lifetime
        );
    }
}

/// The store, registry and key a command needs from the config.
async fn open(
    config: Option<&std::path::Path>,
) -> anyhow::Result<(Config, Store, StaticRegistry, Keypair)> {
    let config = Config::load(config)?;
    let store = Store::connect(&config.database).await?;
    let registry = StaticRegistry::load(&config.registry)?;
    let key = Keypair::read_file(&config.key).context("loading the oracle key")?;
    Ok((config, store, registry, key))
}

/// Cancels the token on Ctrl-C or SIGTERM.
fn stop_on_signals(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(%e, "installing a SIGTERM handler");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        shutdown.cancel();
    });
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let quiet = matches!(cli.command, Command::Demo { .. });
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                if quiet {
                    "warn,rumqttd=off,tarpc=off,solana=error".into()
                } else {
                    "info,rumqttc=warn,sqlx=warn".into()
                }
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Demo {
            network,
            epochs,
            epoch_secs,
            speed,
            beacon_interval_secs,
            broker,
            database,
            rpc_url,
            state_dir,
            grpc_listen,
            http_listen,
            json,
        } => runtime.block_on(async {
            let temp = tempfile::tempdir()?;
            let opts = oracle::demo::DemoOptions {
                network_file: network.unwrap_or_else(|| {
                    hexproof_fixtures::fixtures_dir().join("networks/net-200.json")
                }),
                epochs,
                epoch_secs,
                speed,
                beacon_interval_secs,
                broker,
                database,
                state_dir: state_dir.unwrap_or_else(|| temp.path().to_path_buf()),
                explorer: oracle::explorer::ExplorerConfig {
                    grpc_listen: Some(grpc_listen),
                    http_listen: Some(http_listen),
                },
                progress: true,
            };
            let chain = Arc::new(match &rpc_url {
                Some(url) => hexproof_client::Chain::rpc(url),
                None => hexproof_client::Chain::embedded().await,
            });
            let shutdown = CancellationToken::new();
            stop_on_signals(shutdown.clone());
            eprintln!(
                "hexproof demo: {} · epochs of {epoch_secs} network s at {speed}x · map http://{http_listen}/ · gRPC {grpc_listen}",
                opts.network_file.display()
            );
            let summary = oracle::demo::run(opts, chain, shutdown, |e| {
                if json {
                    let mut err = std::io::stderr();
                    let _ = std::io::Write::write_fmt(&mut err, format_args!("{}\n", serde_json::to_string(e).unwrap_or_default()));
                } else {
                    oracle::demo::print_epoch(e);
                }
            })
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!(
                    "done: {} epochs, {} reports acknowledged to hotspots, {} stored, {}, {:.0} s",
                    summary.epochs.len(),
                    summary.reports_acknowledged,
                    summary.reports_stored,
                    if summary.acknowledged_not_stored.is_empty() {
                        "every acknowledged report stored".to_string()
                    } else {
                        format!(
                            "{} acknowledged but NOT stored: {}",
                            summary.acknowledged_not_stored.len(),
                            summary.acknowledged_not_stored.join(" ")
                        )
                    },
                    summary.seconds
                );
            }
            Ok(())
        }),
        Command::Chain { rpc_url, command } => runtime.block_on(chain_cli::run(&rpc_url, command)),
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
                stop_on_signals(shutdown.clone());
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
        Command::Epoch(EpochCommand::Close { config, at_ns, json }) => runtime.block_on(async {
            let (config, store, registry, key) = open(config.as_deref()).await?;
            let now = at_ns.unwrap_or_else(|| config.clock.clock().now_ns());
            let closed = oracle::rewards::epoch::close_ready(&store, &registry, &config.rewards, &key, now).await?;
            for e in &closed {
                if json {
                    println!("{}", epoch_json(e));
                } else {
                    print_epoch(e);
                }
            }
            if closed.is_empty() {
                eprintln!("no epoch is ready to close");
            }
            Ok(())
        }),
        Command::Epoch(EpochCommand::Show { epoch, config, json }) => runtime.block_on(async {
            let (_, store, _, _) = open(config.as_deref()).await?;
            let e = oracle::rewards::epoch::load(&store, epoch).await?.with_context(|| format!("epoch {epoch} is not closed"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&epoch_json(&e))?);
            } else {
                print_epoch(&e);
            }
            Ok(())
        }),
        Command::Rewards(RewardsCommand::Replay { epoch, config, json }) => runtime.block_on(async {
            let (config, store, registry, key) = open(config.as_deref()).await?;
            let stored = oracle::rewards::epoch::load(&store, epoch).await?.with_context(|| format!("epoch {epoch} is not closed"))?;
            let again = oracle::rewards::epoch::recompute(&store, &registry, &config.rewards, epoch, &key).await?;
            let same = stored.root == again.root && stored.rows == again.rows;
            if json {
                println!("{}", serde_json::json!({"epoch": epoch, "stored_root": hex::encode(stored.root), "recomputed_root": hex::encode(again.root), "match": same}));
            } else {
                println!("epoch {epoch}: stored root {}  recomputed {}  {}", hex::encode(stored.root), hex::encode(again.root), if same { "MATCH" } else { "MISMATCH" });
            }
            anyhow::ensure!(same, "recomputing epoch {epoch} gives another result than the stored one");
            Ok(())
        }),
        Command::Rewards(RewardsCommand::Proof { epoch, hotspot, config, json }) => runtime.block_on(async {
            let (_, store, _, _) = open(config.as_deref()).await?;
            let e = oracle::rewards::epoch::load(&store, epoch).await?.with_context(|| format!("epoch {epoch} is not closed"))?;
            let index = e.rows.iter().position(|r| r.hotspot == hotspot).with_context(|| format!("{hotspot} has no reward at epoch {epoch}"))?;
            let proof = e.tree().proof(index).context("proof")?;
            let amount = e.rows[index].lifetime;
            if json {
                println!("{}", serde_json::json!({"epoch": epoch, "hotspot": hotspot.to_string(), "lifetime_amount": amount, "leaf_index": index, "merkle_root": hex::encode(e.root), "proof": proof.iter().map(hex::encode).collect::<Vec<_>>()}));
            } else {
                println!("hotspot {hotspot}  epoch {epoch}  lifetime {amount}  leaf {index}  root {}", hex::encode(e.root));
                for (i, p) in proof.iter().enumerate() {
                    println!("  sibling {i:>2}: {}", hex::encode(p));
                }
            }
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
