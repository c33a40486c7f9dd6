//! `hotspot-agent`: the daemon a hotspot owner runs next to a LoRa concentrator.
//!
//! - `keygen` / `info`: the hotspot's key (Solana CLI keypair format, mode 0600).
//! - `run --config PATH`: the daemon. Radio packets in through the Semtech UDP packet
//!   forwarder, signed beacon and witness reports out over MQTT (see the library's docs).
//! - `onboard` / `assert` / `transfer` / `accept` / `claim`: the owner's requests, paid for by
//!   the hotspot's maker (the owner's wallet needs no SOL).
//! - `status`: what the network thinks of the hotspot, in words.
//! - `swarm --network FILE --broker URL`: every hotspot of a fixture network on a simulated
//!   medium, in one process.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use hexproof_fixtures::Network;
use hexproof_proto::{Keypair, PublicKey, clock::Clock, region::RegionPlan};
use hotspot_agent::{
    agent::Hotspot,
    config::{BeaconConfig, Config},
    mqtt::MqttConfig,
    node::{self, NodeConfig},
    radio::{semtech::SemtechUdp, sim::MediumModel},
    swarm::{Swarm, SwarmConfig},
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(version, about = "hexproof hotspot agent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a new hotspot key (Solana CLI keypair format, mode 0600) and print its public key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public key (base58) of a key file.
    Info {
        #[arg(long)]
        key: PathBuf,
    },
    /// Run the agent with a real concentrator (Semtech UDP packet forwarder).
    Run {
        /// TOML configuration (see config.example.toml); defaults and environment otherwise.
        #[arg(long, env = "HOTSPOT_AGENT_CONFIG")]
        config: Option<PathBuf>,
        /// Overrides mqtt.url.
        #[arg(long)]
        broker: Option<String>,
        /// Overrides key.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Run every hotspot of a fixture network on a simulated radio medium.
    Swarm {
        #[arg(long)]
        network: PathBuf,
        #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
        broker: String,
        /// Outboxes go here (one directory per hotspot).
        #[arg(long, default_value = "swarm-state")]
        state_dir: PathBuf,
        #[arg(long, default_value_t = 300)]
        beacon_interval_secs: u64,
        #[arg(long, default_value_t = 60)]
        beacon_jitter_secs: u64,
        /// Run the clock this many times faster than real time.
        #[arg(long, default_value_t = 1)]
        speed: u32,
        /// With --speed: the real instant (ns since the Unix epoch) the accelerated clock starts
        /// from; give an oracle the same one so both share a timeline. Default: now.
        #[arg(long)]
        clock_origin_ns: Option<u64>,
        /// Accept entropy from these oracles (default: the network file's oracles).
        #[arg(long = "oracle")]
        oracles: Vec<PublicKey>,
        /// Stop after this many seconds (real time); run until Ctrl-C otherwise.
        #[arg(long)]
        duration_secs: Option<u64>,
        /// Flush every report to disk before it counts as stored.
        #[arg(long)]
        sync: bool,
        #[arg(long, default_value_t = 5)]
        progress_secs: u64,
    },
    /// Register this hotspot under its owner's wallet, at a site: the hotspot key and the
    /// owner sign, the maker pays (the owner needs no SOL).
    Onboard {
        /// The hotspot's key file.
        #[arg(long, env = "HOTSPOT_AGENT_KEY")]
        key: PathBuf,
        #[command(flatten)]
        wallet: WalletArgs,
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        maker: MakerArgs,
    },
    /// Move the hotspot or change its antenna (the owner signs, the maker pays).
    Assert {
        /// The hotspot's key file (it does not sign: only it derives the salt of the
        /// commitment the chain keeps in place of the exact cell).
        #[arg(long, env = "HOTSPOT_AGENT_KEY")]
        key: PathBuf,
        #[command(flatten)]
        wallet: WalletArgs,
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        maker: MakerArgs,
    },
    /// Offer the hotspot to a new owner, who takes it with `accept` within a week.
    Transfer {
        #[arg(long)]
        pubkey: PublicKey,
        /// The new owner's wallet address.
        #[arg(long)]
        to: PublicKey,
        #[command(flatten)]
        wallet: WalletArgs,
        #[command(flatten)]
        maker: MakerArgs,
    },
    /// Take a hotspot offered to this wallet (`--owner-keypair` is the new owner's).
    Accept {
        #[arg(long)]
        pubkey: PublicKey,
        #[command(flatten)]
        wallet: WalletArgs,
        #[command(flatten)]
        maker: MakerArgs,
    },
    /// Mint what the hotspot earned to its owner's wallet, with the newest proof the explorer
    /// holds (nobody signs; the maker pays the fee).
    Claim {
        #[arg(long)]
        pubkey: PublicKey,
        #[arg(
            long,
            env = "HOTSPOT_AGENT_EXPLORER",
            default_value = "http://127.0.0.1:8080"
        )]
        explorer: String,
        #[command(flatten)]
        maker: MakerArgs,
    },
    /// What the network thinks of this hotspot, in plain words: earnings by epoch, whether it
    /// is suspended and why, each verdict it got with what happened and what to do.
    Status {
        /// The hotspot's key file (or give --pubkey).
        #[arg(long, env = "HOTSPOT_AGENT_KEY", required_unless_present = "pubkey")]
        key: Option<PathBuf>,
        #[arg(long)]
        pubkey: Option<PublicKey>,
        /// The explorer's web address (an oracle's `[explorer] http_listen`).
        #[arg(
            long,
            env = "HOTSPOT_AGENT_EXPLORER",
            default_value = "http://127.0.0.1:8080"
        )]
        explorer: String,
    },
}

/// Where the hotspot's maker answers (`oracle maker`'s `listen`), and the owner's wallet.
#[derive(clap::Args, Debug)]
struct MakerArgs {
    /// The maker's web address.
    #[arg(
        long,
        env = "HOTSPOT_AGENT_MAKER",
        default_value = "http://127.0.0.1:8090"
    )]
    maker: String,
}

/// The owner's wallet: a Solana CLI key file (`solana-keygen new`); it needs no SOL.
#[derive(clap::Args, Debug)]
struct WalletArgs {
    /// Default: the Solana CLI's `~/.config/solana/id.json`.
    #[arg(long, env = "HOTSPOT_AGENT_OWNER_KEYPAIR")]
    owner_keypair: Option<PathBuf>,
}

impl WalletArgs {
    fn load(&self) -> anyhow::Result<Keypair> {
        let path = match &self.owner_keypair {
            Some(p) => p.clone(),
            None => PathBuf::from(std::env::var_os("HOME").context("no HOME for the wallet")?)
                .join(".config/solana/id.json"),
        };
        Keypair::read_file(&path)
            .with_context(|| format!("loading the owner's wallet {}", path.display()))
    }
}

/// A site: where the hotspot stands and its antenna.
#[derive(clap::Args, Debug)]
struct SiteArgs {
    /// `LAT,LNG` in degrees, or an H3 cell in hex. The chain and every public surface hold
    /// its resolution-8 cell; the exact cell goes in the agent's `location` setting and reaches
    /// the oracles only, inside the hotspot's signed reports.
    #[arg(long, allow_hyphen_values = true)]
    location: String,
    /// Antenna gain, dBi.
    #[arg(long, default_value_t = 3.0)]
    gain_dbi: f64,
    /// Antenna height above ground, metres.
    #[arg(long, default_value_t = 2)]
    elevation_m: i32,
}

impl SiteArgs {
    /// The site as the maker and the chain see it; prints the agent setting to add.
    fn site(&self, hotspot: &Keypair) -> anyhow::Result<hexproof_proto::maker::Site> {
        let (site, cell) =
            hotspot_agent::owner::site(hotspot, &self.location, self.gain_dbi, self.elevation_m)?;
        println!(
            "the chain will hold {:x} (resolution 8) and a commitment; put `location = \"{cell}\"` \
             in the agent's configuration (or HOTSPOT_AGENT_LOCATION={cell}): its reports reveal \
             the exact cell to the oracles, and beacons are not judged without it",
            site.location
        );
        Ok(site)
    }
}

/// Runs one owner's request through the maker and prints how it ended.
fn owner_request(
    maker: &str,
    action: hexproof_proto::maker::Action,
    keys: &[&Keypair],
) -> anyhow::Result<()> {
    let maker = hotspot_agent::http::Service::new("the maker", maker)?;
    let outcome = runtime()?.block_on(hotspot_agent::owner::act(&maker, &action, keys))?;
    println!("{} {}: {outcome}", action.instruction(), action.hotspot());
    Ok(())
}

/// Cancels the token on Ctrl-C or SIGTERM.
fn stop_on_signals(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        #[cfg(unix)]
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
}

async fn run(config: Config) -> anyhow::Result<()> {
    let key = Keypair::read_file(&config.key).context("loading the hotspot key")?;
    let region = RegionPlan::by_name(&config.region)
        .with_context(|| format!("unknown region {:?}", config.region))?;
    let location = match &config.location {
        Some(cell) => {
            let cell: h3o::CellIndex = cell
                .trim()
                .parse()
                .with_context(|| format!("location {cell:?} is not an H3 cell"))?;
            anyhow::ensure!(
                cell.resolution() == hexproof_proto::location::EXACT_RESOLUTION,
                "location {cell} is resolution {}, not 12: use the cell `onboard`/`assert` printed",
                cell.resolution()
            );
            if !config.mqtt.url.starts_with("mqtts://") {
                tracing::warn!(
                    broker = %config.mqtt.url,
                    "the broker connection has no TLS: this hotspot's exact cell, revealed in \
                     its reports, can be read on the way (use mqtts://)"
                );
            }
            Some(cell)
        }
        None => {
            tracing::warn!(
                "no location configured: oracles that read the registry from the chain (which \
                 holds only a commitment) cannot place this hotspot, so none of its beacons or \
                 witnesses will be valid there (set `location` to the cell `hotspot-agent \
                 onboard`/`assert` printed)"
            );
            None
        }
    };
    if config.oracles.is_empty() {
        tracing::warn!("no oracle keys configured: this hotspot will witness but never beacon");
    }
    tracing::info!(hotspot = %key.public(), region = region.name, broker = %config.mqtt.url, "starting");
    let clock = Clock::system();
    let shutdown = CancellationToken::new();
    stop_on_signals(shutdown.clone());
    let radio = SemtechUdp::bind(
        config.radio.listen,
        clock,
        Duration::from_millis(config.radio.tx_timeout_ms),
    )
    .await?;
    let mut tasks = JoinSet::new();
    node::spawn(
        NodeConfig {
            hotspot: Hotspot {
                location: location.map(|cell| hexproof_proto::location::reveal(&key, cell)),
                key,
                region,
                gain_ddbi: config.gain_ddbi,
            },
            oracles: config.oracles,
            beacon: config.beacon,
            mqtt: config.mqtt,
            outbox: config.outbox,
            clock,
            record_acks: false,
            conduct: Default::default(),
        },
        radio,
        &mut tasks,
        &shutdown,
    )?;
    while tasks.join_next().await.is_some() {}
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // A swarm has hundreds of agents: only warnings by default, the progress line says the rest.
    let default_filter = match cli.command {
        Command::Swarm { .. }
        | Command::Status { .. }
        | Command::Onboard { .. }
        | Command::Assert { .. }
        | Command::Transfer { .. }
        | Command::Accept { .. }
        | Command::Claim { .. } => "warn",
        _ => "info,rumqttc=warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Keygen { out } => {
            let key = Keypair::generate();
            key.write_new_file(&out)
                .context("writing the new hotspot key")?;
            println!("{}", key.public());
            Ok(())
        }
        Command::Info { key } => {
            let key = Keypair::read_file(&key)?;
            println!("pubkey: {}", key.public());
            Ok(())
        }
        Command::Onboard {
            key,
            wallet,
            site,
            maker,
        } => {
            let hotspot = Keypair::read_file(&key).context("loading the hotspot key")?;
            let owner = wallet.load()?;
            let action = hexproof_proto::maker::Action::Onboard {
                hotspot: hotspot.public(),
                owner: owner.public(),
                site: site.site(&hotspot)?,
            };
            owner_request(&maker.maker, action, &[&hotspot, &owner])
        }
        Command::Assert {
            key,
            wallet,
            site,
            maker,
        } => {
            let hotspot = Keypair::read_file(&key).context("loading the hotspot key")?;
            let owner = wallet.load()?;
            let action = hexproof_proto::maker::Action::Assert {
                hotspot: hotspot.public(),
                owner: owner.public(),
                site: site.site(&hotspot)?,
            };
            owner_request(&maker.maker, action, &[&owner])
        }
        Command::Transfer {
            pubkey,
            to,
            wallet,
            maker,
        } => {
            let owner = wallet.load()?;
            let action = hexproof_proto::maker::Action::Transfer {
                hotspot: pubkey,
                owner: owner.public(),
                new_owner: to,
            };
            owner_request(&maker.maker, action, &[&owner])
        }
        Command::Accept {
            pubkey,
            wallet,
            maker,
        } => {
            let new_owner = wallet.load()?;
            let action = hexproof_proto::maker::Action::Accept {
                hotspot: pubkey,
                new_owner: new_owner.public(),
            };
            owner_request(&maker.maker, action, &[&new_owner])
        }
        Command::Claim {
            pubkey,
            explorer,
            maker,
        } => {
            let maker = hotspot_agent::http::Service::new("the maker", &maker.maker)?;
            let explorer = hotspot_agent::http::Service::new("the explorer", &explorer)?;
            let (proof, outcome) =
                runtime()?.block_on(hotspot_agent::owner::claim(&maker, &explorer, &pubkey))?;
            println!(
                "claim {pubkey}: lifetime {:.6} tokens as of epoch {}: {outcome}",
                proof.lifetime as f64 / 1e6,
                proof.epoch
            );
            Ok(())
        }
        Command::Status {
            key,
            pubkey,
            explorer,
        } => {
            let pubkey = match (pubkey, key) {
                (Some(p), _) => p,
                (None, Some(path)) => Keypair::read_file(&path)
                    .context("loading the hotspot key")?
                    .public(),
                (None, None) => anyhow::bail!("give --key or --pubkey"),
            };
            let status = runtime()?
                .block_on(hotspot_agent::status::fetch(&explorer, &pubkey.to_string()))?;
            print!("{}", hotspot_agent::status::render(&status));
            Ok(())
        }
        Command::Run {
            config,
            broker,
            key,
        } => {
            let mut config = Config::load(config.as_deref())?;
            if let Some(url) = broker {
                config.mqtt.url = url;
            }
            if let Some(key) = key {
                config.key = key;
            }
            runtime()?.block_on(run(config))
        }
        Command::Swarm {
            network,
            broker,
            state_dir,
            beacon_interval_secs,
            beacon_jitter_secs,
            speed,
            clock_origin_ns,
            oracles,
            duration_secs,
            sync,
            progress_secs,
        } => {
            let network = Network::load(&network)?;
            runtime()?.block_on(async move {
                let shutdown = CancellationToken::new();
                stop_on_signals(shutdown.clone());
                if let Some(secs) = duration_secs {
                    let stop = shutdown.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(secs)).await;
                        stop.cancel();
                    });
                }
                let swarm = Swarm::start(
                    SwarmConfig {
                        network,
                        mqtt: MqttConfig {
                            url: broker,
                            ..Default::default()
                        },
                        state_dir,
                        beacon: BeaconConfig {
                            enabled: true,
                            interval_secs: beacon_interval_secs,
                            jitter_secs: beacon_jitter_secs,
                        },
                        oracles,
                        clock: match clock_origin_ns {
                            Some(origin) => Clock::accelerated_from(origin, speed),
                            None => Clock::accelerated(speed),
                        },
                        medium: MediumModel::default(),
                        medium_seed: 1,
                        sync,
                        record_acks: false,
                        devices: Vec::new(),
                        device_config: Default::default(),
                    },
                    &shutdown,
                )?;
                swarm
                    .run(Duration::from_secs(progress_secs.max(1)), shutdown)
                    .await;
                Ok(())
            })
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
