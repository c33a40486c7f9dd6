//! One demo run: start the broker (unless one is given), prepare the chain, start the oracle and
//! the swarm, report each closed epoch once the oracle's chain duty for it is done, then stop
//! the swarm first and the oracle once it stored and judged everything acknowledged.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use hexproof_client::{Chain, read};
use hexproof_fixtures::Network;
use hexproof_poc::{
    Limits,
    rewards::{DeploymentId, RewardConfig},
};
use hexproof_proto::clock::Clock;
pub use hotspot_agent::radio::sim::MediumModel;
use hotspot_agent::{
    stats::Stats,
    swarm::{Swarm, SwarmConfig},
};
use oracle::{chain::pubkey, config::Config, explorer::ExplorerConfig, store::Store};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::report::report_epoch;
pub use crate::report::{EpochReport, print_epoch};

/// What the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub network_file: PathBuf,
    /// Stop after this many closed epochs; run until Ctrl-C when absent.
    pub epochs: Option<u64>,
    /// Epoch length in network seconds, and how much faster than real time the network runs.
    pub epoch_secs: u64,
    pub speed: u32,
    /// Seconds between a hotspot's beacons (network time).
    pub beacon_interval_secs: u64,
    /// `mqtt://…` of an external broker; the embedded broker on loopback when absent.
    pub broker: Option<String>,
    /// Database URL; SQLite in `state_dir` when absent.
    pub database: Option<String>,
    pub state_dir: PathBuf,
    pub explorer: ExplorerConfig,
    /// Print a progress line to stderr while an epoch runs.
    pub progress: bool,
    /// Oracles in the set (at most the network's; a majority signs each epoch). The first
    /// uses `database` and `explorer`; the others SQLite in `state_dir` and free loopback
    /// ports for their gRPC.
    pub oracles: usize,
    /// Serve the first oracle's Prometheus metrics (on the oracle's default address). One
    /// process can serve them once: runs after the first in a process (the scorecard) do not.
    pub metrics: bool,
    /// The simulated radio medium (per-link shadowing of 8 dB by default).
    pub medium: MediumModel,
    /// LoRaWAN devices placed around the hotspots, in the demo route's DevAddr range, and a
    /// tenth as many more in no route's (0: no devices, no router).
    pub devices: u32,
    /// Where the maker listens: one newcomer hotspot is onboarded and claimed through it and
    /// the agent, its owner holding no SOL ([`crate::newcomer`]); no maker when absent.
    pub maker_listen: Option<std::net::SocketAddr>,
}

/// The packet path over the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PacketSummary {
    pub devices: u32,
    /// Uplinks the devices sent.
    pub sent: u64,
    /// Copies hotspots reported (a frame heard by three hotspots counts three).
    pub reported: u64,
    /// Copies the router bought (signed receipts stored).
    pub bought: u64,
    /// What the route's network server saw.
    pub network_server: crate::lns::LnsCounts,
    /// Copies the router did not buy, by reason.
    pub dropped: std::collections::BTreeMap<String, u64>,
    /// Wash traders' devices (their owner's org pays for traffic its own hotspots carry).
    pub wash_devices: u32,
    /// Every org's data credits at the end, from the chain.
    pub orgs: Vec<oracle::store::OrgCredits>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub network: String,
    pub hotspots: usize,
    pub broker: String,
    pub database: String,
    pub chain: String,
    /// Reports the broker acknowledged to the hotspots (by id).
    pub reports_acknowledged: u64,
    pub reports_stored: u64,
    /// Ids (hex) of reports acknowledged to a hotspot that the oracle does not hold: what the
    /// pipeline lost. Empty in a healthy run.
    pub acknowledged_not_stored: Vec<String>,
    /// Reports still waiting for a verdict when the oracle stopped (0 after a clean stop).
    pub reports_pending: u64,
    /// Start of epoch 1 (ns) and epoch length (network seconds): what replays need.
    pub genesis_ns: u64,
    pub epoch_secs: u64,
    pub epochs: Vec<EpochReport>,
    pub packets: PacketSummary,
    /// The newcomer's journey through the maker (when one ran).
    pub newcomer: Option<crate::newcomer::NewcomerSummary>,
    pub seconds: f64,
}

/// The oracle's configuration for a demo: the accelerated clock from `origin_ns`, windows
/// sized for the demo's beacon interval, epochs from `origin_ns`, the registry read from the
/// chain, each epoch submitted and claimed.
pub fn oracle_config(
    opts: &DemoOptions,
    key: &Path,
    broker: &str,
    database: &str,
    origin_ns: u64,
) -> Config {
    let mut config = Config {
        key: key.to_path_buf(),
        database: database.to_string(),
        explorer: opts.explorer.clone(),
        validation: Limits {
            beacon_interval_secs: opts.beacon_interval_secs,
            witness_wait_secs: 60,
            location_min_age_secs: 0,
            ..Limits::default()
        },
        rewards: RewardConfig {
            epoch_secs: opts.epoch_secs,
            genesis_ns: origin_ns,
            close_delay_secs: 300,
            deployment: demo_deployment(origin_ns),
            ..RewardConfig::default()
        },
        ..Config::default()
    };
    config.mqtt.url = broker.to_string();
    config.clock.speed = opts.speed;
    config.clock.origin_ns = Some(origin_ns);
    config.chain.read_registry = true;
    config.chain.submit = true;
    config.chain.claim = true;
    // The network runs `speed` times faster: the routing table (and orgs' credits) and the
    // registry are read again every couple of real seconds, not every 30.
    config.chain.refresh_secs = 2;
    if !opts.metrics {
        config.metrics_listen = None;
    }
    config
}

/// Each member's configuration: the first as [`oracle_config`] gives it; in a set, the others
/// with their own key, SQLite database and gRPC port, everyone listing the others as peers, a
/// majority signing, the first claiming for owners.
fn member_configs(
    opts: &DemoOptions,
    network: &Network,
    key_files: &[PathBuf],
    broker: &str,
    database: &str,
    origin_ns: u64,
    login_broker: Option<&str>,
) -> anyhow::Result<Vec<Config>> {
    let n = key_files.len();
    let mut configs = Vec::new();
    for (i, key) in key_files.iter().enumerate() {
        let mut config = if i == 0 {
            oracle_config(opts, key, broker, database, origin_ns)
        } else {
            let db = format!(
                "sqlite://{}",
                opts.state_dir.join(format!("oracle-{i}.db")).display()
            );
            let mut c = oracle_config(opts, key, broker, &db, origin_ns);
            c.explorer.grpc_listen = None;
            c.explorer.http_listen = None;
            c.metrics_listen = None;
            c.chain.claim = false;
            c
        };
        // Behind the gate, each connection logs in with the member's key, signed afresh.
        config.mqtt.login_broker = login_broker.map(str::to_string);
        // Peers reach a member's Quorum service on a port of its own.
        config.quorum.listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        config.quorum.threshold = (n / 2 + 1) as u8;
        config.quorum.round_secs = 5;
        configs.push(config);
    }
    if n > 1 {
        let peers: Vec<oracle::quorum::Peer> = configs
            .iter()
            .zip(&network.oracles)
            .map(|(c, o)| oracle::quorum::Peer {
                key: o.pubkey,
                url: format!("http://{}", c.quorum.listen),
            })
            .collect();
        for (c, o) in configs.iter_mut().zip(&network.oracles) {
            c.quorum.peers = oracle::quorum::QuorumConfig::others(&peers, &o.pubkey);
        }
    }
    Ok(configs)
}

/// A deployment value of this run's own: signatures of one demo never count in another.
pub fn demo_deployment(origin_ns: u64) -> DeploymentId {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"hexproof-demo\0");
    h.update(origin_ns.to_le_bytes());
    DeploymentId(h.finalize().into())
}

/// Waits (at most a minute) until the chain holds epoch `n`'s root and every hotspot of it has
/// claimed its lifetime amount: the oracle's chain duty for the epoch is done.
async fn chain_duty_done(chain: &Chain, store: &Store, n: u64) -> anyhow::Result<()> {
    let e = store.closed_epoch(n).await?.context("closed epoch")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let on = read::config(chain).await?.context("program")?;
        if on.epoch == n && on.root == e.root {
            let mut all = true;
            for r in e.rows.iter().filter(|r| r.lifetime > 0) {
                if read::claimed(chain, &pubkey(&r.hotspot)).await? < r.lifetime {
                    all = false;
                    break;
                }
            }
            if all {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// A progress line for the epoch that is running.
fn progress_line(
    rewards: &RewardConfig,
    next: u64,
    now: u64,
    acknowledged: u64,
    stored: u64,
) -> String {
    let (start, end) = rewards.bounds(next);
    let done = (now.saturating_sub(start) as f64 / (end - start) as f64).clamp(0.0, 1.0);
    let bar: String = (0..20)
        .map(|i| {
            if (i as f64) < done * 20.0 {
                '█'
            } else {
                '░'
            }
        })
        .collect();
    format!(
        "   epoch {next} {bar} {:>3.0}% · {acknowledged} reports acknowledged, {stored} stored",
        done * 100.0
    )
}

/// Runs the demo until `opts.epochs` epochs closed (and were submitted and claimed) or
/// `shutdown`; calls `on_epoch` for each.
pub async fn run(
    opts: DemoOptions,
    chain: Arc<Chain>,
    shutdown: CancellationToken,
    mut on_epoch: impl FnMut(&EpochReport),
) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    let network = Network::load(&opts.network_file)?;
    std::fs::create_dir_all(&opts.state_dir)?;
    let members = opts.oracles.clamp(1, network.oracles.len().max(1));
    let mut key_files = Vec::new();
    for (i, o) in network.oracles.iter().take(members).enumerate() {
        let file = if i == 0 {
            opts.state_dir.join("oracle-key.json")
        } else {
            opts.state_dir.join(format!("oracle-{i}-key.json"))
        };
        if !file.exists() {
            o.keypair()?.write_new_file(&file)?;
        }
        key_files.push(file);
    }
    // The embedded broker sits behind the gate (identity and topic ACL); every client logs in
    // with its key, for the gate's name.
    let (broker, login_broker) = match &opts.broker {
        Some(url) => (url.clone(), None),
        None => {
            let upstream = crate::broker::start_embedded_broker()?;
            let policy = crate::gate::Policy {
                hotspots: network.hotspots.iter().map(|h| h.key.pubkey).collect(),
                oracles: network.oracles.iter().map(|o| o.pubkey).collect(),
            };
            let gate =
                crate::gate::start(upstream, policy, crate::gate::GateConfig::default()).await?;
            (format!("mqtt://{}", gate.addr), Some(gate.name))
        }
    };
    let database = opts
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", opts.state_dir.join("oracle.db").display()));
    let origin_ns = Clock::system().now_ns();
    let clock = Clock::accelerated_from(origin_ns, opts.speed);
    // Devices: the route's, and a tenth as many in no route's range (dropped, counted); and
    // the wash traders' devices, right beside their hotspots, in their org's route.
    let wash: Vec<&hexproof_fixtures::Hotspot> = network
        .hotspots
        .iter()
        .filter(|h| h.behaviour == hexproof_fixtures::Behaviour::WashTrader)
        .collect();
    let wash_devices = WASH_DEVICES_PER_HOTSPOT * wash.len() as u32;
    let (placed, lns) = if opts.devices > 0 || wash_devices > 0 {
        let mut placed =
            hexproof_fixtures::devices::around(&network, opts.devices, DEMO_DEVADDRS, "demo");
        placed.extend(hexproof_fixtures::devices::near(
            &wash,
            wash_devices,
            WASH_DEVADDRS,
            "demo-wash",
            (10.0, 60.0),
        ));
        let routed: Vec<_> = placed.iter().map(|p| p.device.clone()).collect();
        if opts.devices > 0 {
            placed.extend(hexproof_fixtures::devices::around(
                &network,
                (opts.devices / 10).max(1),
                UNROUTED_DEVADDRS,
                "demo-unrouted",
            ));
        }
        let lns = crate::lns::start(routed, shutdown.clone()).await?;
        (placed, Some(lns))
    } else {
        (Vec::new(), None)
    };
    let mut configs = member_configs(
        &opts,
        &network,
        &key_files,
        &broker,
        &database,
        origin_ns,
        login_broker.as_deref(),
    )?;
    if lns.is_some() {
        // Its routes are put on chain below (no session keys: no routes file).
        configs[0].router.enabled = true;
        configs[0].router.lns_private = true; // the embedded network server is on loopback
    }
    // The explorer on a port known here (the newcomer's claim asks it).
    if let Some(any) = configs[0].explorer.http_listen.filter(|a| a.port() == 0) {
        configs[0].explorer.http_listen = Some(std::net::TcpListener::bind(any)?.local_addr()?);
    }
    let oracle_http = configs[0].explorer.http_listen;
    let rewards = configs[0].rewards.clone();
    let threshold = configs[0].quorum.threshold;

    let newcomer = opts
        .maker_listen
        .and_then(|_| crate::newcomer::pick(&network))
        .cloned();
    crate::chain::prepare(
        &chain,
        &network,
        &configs[0],
        (members, threshold),
        newcomer.as_ref().map(|h| &h.key.pubkey),
    )
    .await?;
    let maker_stop = shutdown.child_token();
    let maker = match (&newcomer, opts.maker_listen) {
        (Some(h), Some(listen)) => {
            Some(crate::newcomer::onboard(&chain, &network, h, listen, maker_stop.clone()).await?)
        }
        _ => None,
    };
    if let Some((port, _)) = &lns {
        // The demo's org and route on chain, where the router reads them (the first oracle's
        // key is the program's admin and, here, the org's owner too).
        crate::chain::put_routes(
            &chain,
            &network,
            &demo_routes(opts.devices, wash_devices, *port, &network),
        )
        .await?;
    }
    // The orgs' payers: credits are bought with tokens hotspots earned (none before the first
    // epoch is claimed), the honest org's by the honest hotspots' owners (the first that holds
    // enough), the wash org's by the wash traders' owner with everything it earns.
    let owner_key =
        |owner: &hexproof_proto::PublicKey| -> anyhow::Result<hexproof_client::Keypair> {
            let entry = network
                .owners
                .iter()
                .find(|o| o.pubkey == *owner)
                .context("an owner missing from the network file")?;
            Ok(oracle::chain::solana_keypair(&entry.keypair()?))
        };
    let mut payers = Vec::new();
    if opts.devices > 0 {
        let mut owners: Vec<hexproof_proto::PublicKey> = network
            .hotspots
            .iter()
            .filter(|h| h.behaviour == hexproof_fixtures::Behaviour::Honest)
            .map(|h| h.owner)
            .collect();
        owners.sort();
        owners.dedup();
        // The newcomer's owner has no SOL to pay a purchase's fee.
        owners.retain(|o| newcomer.as_ref().is_none_or(|h| h.owner != *o));
        payers.push(crate::payer::Payer {
            oui: DEMO_OUI,
            buyers: owners
                .iter()
                .map(owner_key)
                .collect::<anyhow::Result<_>>()?,
            keep: crate::payer::Keep::TopUp(1_000_000),
        });
    }
    if let Some(first) = wash.first() {
        payers.push(crate::payer::Payer {
            oui: WASH_OUI,
            buyers: vec![owner_key(&first.owner)?],
            keep: crate::payer::Keep::All,
        });
    }
    let payer_stop = shutdown.child_token();
    let payer_task = tokio::spawn(crate::payer::run(chain.clone(), payers, payer_stop.clone()));
    // Migrate before the oracles start (two first connections would both migrate).
    let store = Store::connect(&database).await?;
    for c in &configs[1..] {
        Store::connect(&c.database).await?;
    }

    // The swarm stops first; the oracles once they stored what the swarm published.
    let stop = shutdown.child_token();
    let oracle_stop = CancellationToken::new();
    let oracles: Vec<_> = configs
        .into_iter()
        .map(|config| {
            let (chain, stop) = (chain.clone(), oracle_stop.clone());
            tokio::spawn(async move {
                let result = oracle::service::run_with_chain(config, Some(chain), stop).await;
                if let Err(e) = &result {
                    tracing::error!("oracle: {e:#}");
                }
                result
            })
        })
        .collect();
    let mut swarm_config = SwarmConfig::simulated(
        network.clone(),
        &broker,
        opts.state_dir.join("swarm"),
        clock,
        opts.beacon_interval_secs,
    );
    swarm_config.mqtt.login_broker = login_broker;
    swarm_config.medium = opts.medium;
    swarm_config.devices = placed;
    let swarm = Swarm::start(swarm_config, &stop)?;
    let device_stats = swarm.devices.clone();
    let stats: Vec<Arc<Stats>> = swarm.hotspots.iter().map(|(_, s)| s.clone()).collect();
    let acknowledged =
        || -> Vec<[u8; 32]> { stats.iter().flat_map(|s| s.acknowledged_ids()).collect() };
    let swarm_stop = stop.clone();
    let swarm_task = tokio::spawn(async move {
        let mut swarm = swarm;
        swarm_stop.cancelled().await;
        while swarm.tasks.join_next().await.is_some() {}
    });

    let mut reports = Vec::new();
    let mut minted = 0;
    let mut next = 1u64;
    let mut last_progress = Instant::now();
    let result: anyhow::Result<()> = async {
        while opts.epochs.is_none_or(|n| (reports.len() as u64) < n) {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
            if oracles.iter().any(|o| o.is_finished()) {
                anyhow::bail!("an oracle stopped (its error is logged above)");
            }
            let closed = store.last_closed_epoch().await?.unwrap_or(0);
            if closed >= next {
                chain_duty_done(&chain, &store, closed).await?;
                for n in next..=closed {
                    let r = report_epoch(&store, &chain, &network, &rewards, n, minted).await?;
                    minted = r.minted_total;
                    on_epoch(&r);
                    reports.push(r);
                }
                next = closed + 1;
            } else if opts.progress && last_progress.elapsed() >= Duration::from_secs(5) {
                last_progress = Instant::now();
                let stored = store.count_reports().await.unwrap_or(0);
                let line = progress_line(
                    &rewards,
                    next,
                    clock.now_ns(),
                    acknowledged().len() as u64,
                    stored,
                );
                eprintln!("{line}");
            }
        }
        Ok(())
    }
    .await;
    // The newcomer's owner claims through the maker while the explorer still serves.
    let newcomer_summary = match (&newcomer, &maker) {
        (Some(h), Some((m, onboarding))) if result.is_ok() => {
            Some(crate::newcomer::finish(&chain, m, h, onboarding.clone(), oracle_http).await?)
        }
        _ => None,
    };
    maker_stop.cancel();
    stop.cancel();
    let _ = swarm_task.await;
    // Let the oracle store and judge everything the broker acknowledged before stopping it:
    // as long as it makes progress (a loaded machine may need minutes), and 30 s without any.
    let acknowledged = acknowledged();
    let mut left = (usize::MAX, u64::MAX);
    let mut progress = Instant::now();
    while !oracles[0].is_finished() && progress.elapsed() < Duration::from_secs(30) {
        let missing = store
            .missing_reports(&acknowledged)
            .await
            .map_or(usize::MAX, |m| m.len());
        let pending = store.pending_count().await.unwrap_or(u64::MAX)
            + store
                .undelivered_receipts(1_000)
                .await
                .map_or(u64::MAX, |u| u.len() as u64);
        if (missing, pending) == (0, 0) {
            break;
        }
        if missing < left.0 || pending < left.1 {
            progress = Instant::now();
        }
        left = (missing.min(left.0), pending.min(left.1));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    oracle_stop.cancel();
    payer_stop.cancel();
    let _ = payer_task.await;
    for o in oracles {
        let _ = o.await;
    }
    result?;
    let mut orgs = oracle::router::chain_table::credits_of(&read::orgs(&chain).await?, 0);
    orgs.sort_by_key(|o| o.oui);
    let missing = store.missing_reports(&acknowledged).await?;
    Ok(DemoSummary {
        network: opts.network_file.display().to_string(),
        hotspots: network.hotspots.len(),
        broker,
        database: oracle::service::redact(&database),
        chain: format!("{chain:?}"),
        reports_acknowledged: acknowledged.len() as u64,
        reports_stored: store.count_reports().await?,
        acknowledged_not_stored: missing.iter().map(hex::encode).collect(),
        reports_pending: store.pending_count().await?,
        genesis_ns: rewards.genesis_ns,
        epoch_secs: rewards.epoch_secs,
        epochs: reports,
        packets: PacketSummary {
            devices: opts.devices,
            sent: device_stats.sent().len() as u64,
            reported: stats.iter().map(|s| Stats::get(&s.packets)).sum(),
            bought: store.receipts_between(0, u64::MAX).await?.len() as u64,
            network_server: lns
                .map(|(_, c)| *c.lock().unwrap_or_else(|e| e.into_inner()))
                .unwrap_or_default(),
            dropped: oracle::router::totals()
                .into_iter()
                .filter(|(k, _)| *k != "bought")
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            wash_devices,
            orgs,
        },
        newcomer: newcomer_summary,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The DevAddr range of the demo's route, and one no route takes.
pub const DEMO_DEVADDRS: u32 = 0x4800_0000;
pub const UNROUTED_DEVADDRS: u32 = 0x2600_0000;

/// The demo's routing table: one organisation (owned by the network's first owner) whose
/// route takes the demo devices' DevAddrs, buys two copies of each packet and delivers them to
/// the embedded network server on `lns_port`; with wash traders (`wash_devices` > 0), org 2's
/// route takes theirs and buys a copy from every hotspot that hears one (16 at most).
pub fn demo_routes(
    devices: u32,
    wash_devices: u32,
    lns_port: u16,
    network: &Network,
) -> oracle::router::RoutesFile {
    let owner = network
        .hotspots
        .first()
        .map_or(hexproof_proto::PublicKey::from([0; 32]), |h| h.owner);
    let org = |oui: u64| hexproof_poc::packets::Org {
        oui,
        owner,
        payer: owner,
        enabled: true,
        credits: None,
    };
    let route = |oui: u64, max_copies: u32, base: u32, n: u32| hexproof_poc::packets::Route {
        id: hexproof_client::route_id_of(oui, 1),
        oui,
        max_copies,
        dev_addrs: vec![(base, base + n.max(1) - 1)],
        euis: vec![],
        session_keys: vec![],
        lns: format!("udp://127.0.0.1:{lns_port}"),
        active: true,
    };
    let mut file = oracle::router::RoutesFile::default();
    if devices > 0 {
        file.orgs.push(org(DEMO_OUI));
        file.routes.push(route(DEMO_OUI, 2, DEMO_DEVADDRS, devices));
    }
    if wash_devices > 0 {
        file.orgs.push(org(WASH_OUI));
        file.routes
            .push(route(WASH_OUI, 16, WASH_DEVADDRS, wash_devices));
    }
    file
}

/// The demo org's OUI, and the wash traders' org's.
pub const DEMO_OUI: u64 = 1;
pub const WASH_OUI: u64 = 2;
/// The wash traders' devices' DevAddrs (inside the demo's NetID block, apart from the demo
/// org's), and how many each wash trader's hotspot has beside it.
pub const WASH_DEVADDRS: u32 = 0x4804_0000;
pub const WASH_DEVICES_PER_HOTSPOT: u32 = 4;
