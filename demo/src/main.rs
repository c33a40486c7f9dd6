//! `hexproof-demo`: the whole system in one command (see the crate doc of `hexproof_demo`).
//!
//! - `hexproof-demo [--epochs N] [--json] …`: the demo run: embedded broker, oracle on SQLite,
//!   every hotspot of a fixture network on the simulated medium, an embedded Solana runtime.
//! - `hexproof-demo onboard-network --network FILE --rpc-url URL`: register a fixture network's
//!   hotspots on a cluster (their test keys sign).
//! - `hexproof-demo scorecard [--scenario FILE | --all] [--json]`: an anti-gaming scenario run
//!   with and without its adversaries, scored (`hexproof_demo::scorecard`); `--all` runs every
//!   committed scenario and prints one table.
//!
//! Data enters as flags; tables go to stdout (to stderr with `--json`, which prints a JSON
//! summary on stdout at the end).

use std::{path::PathBuf, sync::Arc};

use clap::{Parser, Subcommand};
use hexproof_client::Chain;
use hexproof_demo::{DemoOptions, DemoSummary, EpochReport};
use oracle::explorer::ExplorerConfig;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(version, about = "hexproof: the whole system in one process")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    demo: DemoArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Register every hotspot of a fixture network on a cluster (airdrops `fund_lamports` to
    /// owners first).
    OnboardNetwork {
        #[arg(long)]
        network: PathBuf,
        #[arg(long, env = "SOLANA_RPC_URL", default_value = "http://127.0.0.1:8899")]
        rpc_url: String,
        #[arg(long, default_value_t = 0)]
        fund_lamports: u64,
    },
    /// Run an anti-gaming scenario twice (with and without its adversaries) through the whole
    /// pipeline and score it: adversaries' share of rewards, honest loss, false positives, per
    /// adversary kind its reward against a fair share, detection and cost. Exits 1 when a bound
    /// of the scenario is not met.
    Scorecard {
        /// Scenario file (default: fixtures/scenarios/default.toml).
        #[arg(long, conflicts_with = "all")]
        scenario: Option<PathBuf>,
        /// Run every scenario in fixtures/scenarios/ (in name order) and print one table.
        #[arg(long)]
        all: bool,
        /// Override the scenario's number of epochs.
        #[arg(long)]
        epochs: Option<u64>,
        /// Where both runs keep their state (a temporary directory by default).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// The scorecard as JSON on stdout (progress on stderr).
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug)]
struct DemoArgs {
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
    /// Any MQTT 3.1.1 broker (`mqtt://host:port`) instead of the embedded one.
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
    /// LoRaWAN devices around the hotspots sending uplinks the router buys and delivers to
    /// the demo's network server (0: none).
    #[arg(long, default_value_t = 50)]
    devices: u32,
    #[arg(long, default_value = "127.0.0.1:50051")]
    grpc_listen: std::net::SocketAddr,
    #[arg(long, default_value = "127.0.0.1:8080")]
    http_listen: std::net::SocketAddr,
    /// The maker's API: one newcomer hotspot is onboarded and claimed through it with the
    /// agent's commands, its owner holding no SOL (`hotspot-agent onboard --maker http://…`).
    #[arg(long, default_value = "127.0.0.1:8090")]
    maker_listen: std::net::SocketAddr,
    /// Tables to stderr, and a JSON summary on stdout at the end.
    #[arg(long)]
    json: bool,
    /// Oracles in the set (up to the network's 3): each with its own key and database, a
    /// majority signing each epoch; the table shows who proposed and who signed.
    #[arg(long, default_value_t = 1)]
    oracles: usize,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,rumqttd=off,tarpc=off,solana=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Some(Command::OnboardNetwork {
                network,
                rpc_url,
                fund_lamports,
            }) => {
                let network = hexproof_fixtures::Network::load(&network)?;
                let chain = Chain::rpc(&rpc_url);
                let n =
                    hexproof_demo::chain::onboard_network(&chain, &network, fund_lamports).await?;
                println!("onboarded {n} hotspots");
                Ok(())
            }
            Some(Command::Scorecard {
                scenario: _,
                all: true,
                epochs,
                state_dir,
                json,
            }) => scorecard_all(epochs, state_dir, json).await,
            Some(Command::Scorecard {
                scenario,
                all: false,
                epochs,
                state_dir,
                json,
            }) => scorecard(scenario, epochs, state_dir, json).await,
            None => demo(cli.demo).await,
        }
    })
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let opts = DemoOptions {
        network_file: args
            .network
            .unwrap_or_else(|| hexproof_fixtures::fixtures_dir().join("networks/net-200.json")),
        epochs: args.epochs,
        epoch_secs: args.epoch_secs,
        speed: args.speed,
        beacon_interval_secs: args.beacon_interval_secs,
        broker: args.broker,
        database: args.database,
        state_dir: args.state_dir.unwrap_or_else(|| temp.path().to_path_buf()),
        explorer: ExplorerConfig {
            grpc_listen: Some(args.grpc_listen),
            http_listen: Some(args.http_listen),
            ..Default::default()
        },
        progress: true,
        oracles: args.oracles,
        metrics: true,
        medium: hexproof_demo::MediumModel::default(),
        devices: args.devices,
        maker_listen: Some(args.maker_listen),
    };
    let chain = Arc::new(
        match &args.rpc_url {
            Some(url) => Chain::rpc(url),
            None => {
                // The demo's admin (the network's first oracle) deployed the embedded program.
                let network = hexproof_fixtures::Network::load(&opts.network_file)?;
                let admin = oracle::chain::pubkey(&network.oracles[0].pubkey);
                Chain::embedded(&admin).await
            }
        }
        .with_priority_fee(oracle::chain::DEFAULT_PRIORITY_FEE),
    );
    let shutdown = CancellationToken::new();
    oracle::service::stop_on_signals(shutdown.clone());
    eprintln!(
        "hexproof demo: {} · epochs of {} network s at {}x · map http://{}/ · gRPC {}",
        opts.network_file.display(),
        args.epoch_secs,
        args.speed,
        args.http_listen,
        args.grpc_listen
    );
    let json = args.json;
    let summary = hexproof_demo::run(opts, chain, shutdown, |e: &EpochReport| {
        if json {
            eprintln!("{}", serde_json::to_string(e).unwrap_or_default());
        } else {
            hexproof_demo::print_epoch(e);
        }
    })
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", done_line(&summary));
    }
    Ok(())
}

async fn scorecard(
    scenario: Option<PathBuf>,
    epochs: Option<u64>,
    state_dir: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<()> {
    let path = scenario
        .unwrap_or_else(|| hexproof_fixtures::fixtures_dir().join("scenarios/default.toml"));
    let mut scenario = hexproof_fixtures::Scenario::load(&path)?;
    if let Some(n) = epochs {
        scenario.run.epochs = n;
    }
    let temp = tempfile::tempdir()?;
    let shutdown = CancellationToken::new();
    oracle::service::stop_on_signals(shutdown.clone());
    let card = hexproof_demo::scorecard::run(
        &scenario,
        state_dir.unwrap_or_else(|| temp.path().to_path_buf()),
        !json,
        shutdown,
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&card)?);
    } else {
        hexproof_demo::scorecard::print(&card);
    }
    if !card.pass {
        std::process::exit(1);
    }
    Ok(())
}

/// Every committed scenario, one after the other, each in its own state directory: each
/// scorecard as it finishes, then one table (exit 1 when any failed).
async fn scorecard_all(
    epochs: Option<u64>,
    state_dir: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<()> {
    let dir = hexproof_fixtures::fixtures_dir().join("scenarios");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let temp = tempfile::tempdir()?;
    let root = state_dir.unwrap_or_else(|| temp.path().to_path_buf());
    let shutdown = CancellationToken::new();
    oracle::service::stop_on_signals(shutdown.clone());
    let mut cards = Vec::new();
    for path in paths {
        let mut scenario = hexproof_fixtures::Scenario::load(&path)?;
        if let Some(n) = epochs {
            scenario.run.epochs = n;
        }
        let card = hexproof_demo::scorecard::run(
            &scenario,
            root.join(&scenario.name),
            !json,
            shutdown.clone(),
        )
        .await?;
        if !json {
            hexproof_demo::scorecard::print(&card);
        }
        cards.push(card);
        if shutdown.is_cancelled() {
            break;
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&cards)?);
    } else {
        hexproof_demo::scorecard::print_table(&cards);
    }
    if cards.iter().any(|c| !c.pass) {
        std::process::exit(1);
    }
    Ok(())
}

fn done_line(summary: &DemoSummary) -> String {
    let lost = if summary.acknowledged_not_stored.is_empty() {
        "every acknowledged report stored".to_string()
    } else {
        format!(
            "{} acknowledged but NOT stored: {}",
            summary.acknowledged_not_stored.len(),
            summary.acknowledged_not_stored.join(" ")
        )
    };
    let p = &summary.packets;
    let packets = if p.devices == 0 {
        String::new()
    } else {
        let dropped: Vec<String> = p.dropped.iter().map(|(r, n)| format!("{r} {n}")).collect();
        format!(
            "\npackets: {} devices sent {} uplinks, hotspots reported {} copies, the router bought \
             {}, the network server took {} frames ({} copies, {} refused); not bought: {}",
            p.devices,
            p.sent,
            p.reported,
            p.bought,
            p.network_server.delivered,
            p.network_server.copies,
            p.network_server.refused,
            if dropped.is_empty() {
                "none".to_string()
            } else {
                dropped.join(", ")
            }
        )
    };
    let credits: String = p
        .orgs
        .iter()
        .map(|o| {
            format!(
                "\ncredits: org {} burned {} tokens for {} credits, {} settled, {} left",
                o.oui, o.tokens_burned, o.dc_bought, o.dc_settled, o.dc_balance
            )
        })
        .collect();
    let data_paid: u64 = summary.epochs.iter().map(|e| e.data_paid).sum();
    let data = if credits.is_empty() {
        String::new()
    } else {
        format!(
            "{credits}
data rewards: {data_paid} paid to the hotspots that carried the copies"
        )
    };
    let newcomer = summary.newcomer.as_ref().map_or(String::new(), |n| {
        format!(
            "\nnewcomer {} (owner {}) through its maker: onboard {}; claim {}; the owner holds \
             {:.6} tokens and {} lamports; the maker spent {:.4} SOL",
            n.hotspot,
            n.owner,
            n.onboarding,
            n.claim,
            n.owner_tokens as f64 / 1e6,
            n.owner_lamports,
            n.maker_spent as f64 / 1e9
        )
    });
    format!(
        "done: {} epochs, {} reports acknowledged to hotspots, {} stored, {lost}, {:.0} s{packets}{data}{newcomer}",
        summary.epochs.len(),
        summary.reports_acknowledged,
        summary.reports_stored,
        summary.seconds
    )
}
