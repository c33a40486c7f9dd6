//! The `oracle` command line: the commands, and what each does.

mod audit;
pub mod chain;
mod epochs;
mod render;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use hexproof_poc::rewards::epoch::ClosedEpoch;
use hexproof_proto::{Keypair, PublicKey};
use oracle::{config::Config, registry::StaticRegistry, service, store::Store};
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(version, about = "hexproof oracle")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the oracle's signing key (Solana CLI keypair format, mode 0600); prints its key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Run ingest, entropy publishing, judging, epochs and the explorer.
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
        /// Registry file the hotspots are registered in (public facts; see
        /// `hexproof_proto::registry`).
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
    /// The Solana program's instructions against an RPC URL.
    Chain {
        #[arg(
            long,
            env = "SOLANA_RPC_URL",
            default_value = "http://127.0.0.1:8899",
            global = true
        )]
        rpc_url: String,
        /// Compute-unit price every transaction offers (micro-lamports per CU; 0: none).
        #[arg(long, env = "HEXPROOF_PRIORITY_FEE", default_value_t = oracle::chain::DEFAULT_PRIORITY_FEE, global = true)]
        priority_fee: u64,
        #[command(subcommand)]
        command: chain::ChainCommand,
    },
    /// The maker service (run by a hardware maker, not an oracle): pays for the transactions
    /// of the hotspots it made, so that their owners need no SOL.
    Maker {
        /// TOML file of `oracle::maker::MakerConfig` (environment: `MAKER_…`).
        #[arg(long, env = "MAKER_CONFIG")]
        config: Option<PathBuf>,
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
pub enum EpochCommand {
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
pub enum RewardsCommand {
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

/// Runs one command.
pub async fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Keygen { out } => {
            let key = Keypair::generate();
            key.write_new_file(&out)
                .context("writing the new oracle key")?;
            println!("{}", key.public());
            Ok(())
        }
        Command::Run {
            config,
            broker,
            database,
        } => {
            let mut config = Config::load(config.as_deref())?;
            if let Some(url) = broker {
                config.mqtt.url = url;
            }
            if let Some(db) = database {
                config.database = db;
            }
            let shutdown = CancellationToken::new();
            service::stop_on_signals(shutdown.clone());
            service::run(config, shutdown).await
        }
        Command::Verify {
            registry,
            reports,
            config,
            oracles,
            json,
        } => audit::verify(&registry, &reports, config.as_deref(), &oracles, json).await,
        Command::Maker { config } => {
            let config = oracle::maker::MakerConfig::load(config.as_deref())?;
            let shutdown = CancellationToken::new();
            service::stop_on_signals(shutdown.clone());
            oracle::maker::run(config, shutdown).await
        }
        Command::Export { database, out } => audit::export(&database, &out).await,
        Command::Status { database, json } => audit::status(&database, json).await,
        Command::Epoch(c) => epochs::epoch(c).await,
        Command::Rewards(c) => epochs::rewards(c).await,
        Command::Chain {
            rpc_url,
            priority_fee,
            command,
        } => chain::run(&rpc_url, priority_fee, command).await,
    }
}

/// The store, registry and key a command needs from the config.
async fn open(config: Option<&Path>) -> anyhow::Result<(Config, Store, StaticRegistry, Keypair)> {
    let config = Config::load(config)?;
    let store = Store::connect(&config.database).await?;
    let registry = StaticRegistry::load(&config.registry_file)?;
    let key = Keypair::read_file(&config.key).context("loading the oracle key")?;
    Ok((config, store, registry, key))
}

/// A closed epoch (the newest when `which` is none).
async fn closed_epoch(store: &Store, which: Option<u64>) -> anyhow::Result<ClosedEpoch> {
    let n = match which {
        Some(n) => n,
        None => store
            .last_closed_epoch()
            .await?
            .context("no epoch closed yet")?,
    };
    store
        .closed_epoch(n)
        .await?
        .with_context(|| format!("epoch {n} is not closed"))
}
