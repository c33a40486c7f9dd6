//! `oracle demo`: a whole network in one process. An MQTT broker (embedded rumqttd, or any
//! broker by URL), the oracle on SQLite (or PostgreSQL), every hotspot of a fixture network as
//! an agent on the simulated radio medium, and a Solana runtime (embedded, or an RPC URL) where
//! the hotspots are onboarded, each epoch is submitted with the oracle's signature and claimed
//! for every owner. Each closed epoch is reported as an [`EpochReport`].

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use hexproof_client::{Chain, Signer, read};
use hexproof_fixtures::Network;
use hexproof_proto::clock::Clock;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::{
    chain::{self, pubkey, solana_keypair},
    config::Config,
    explorer::ExplorerConfig,
    rewards::{RewardConfig, epoch},
    store::{Kind, Status, Store},
    validation::Limits,
};

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
    /// `mqtt://…` of an external broker; an embedded rumqttd on loopback when absent.
    pub broker: Option<String>,
    /// Database URL; SQLite in `state_dir` when absent.
    pub database: Option<String>,
    pub state_dir: PathBuf,
    pub explorer: ExplorerConfig,
    /// Print a progress line to stderr while an epoch runs.
    pub progress: bool,
}

/// One closed epoch as the demo prints it.
#[derive(Debug, Clone, Serialize)]
pub struct EpochReport {
    pub epoch: u64,
    pub hotspots_active: usize,
    pub beacons_valid: u64,
    pub witnesses_valid: u64,
    /// Invalid reports by kind and reason ("witness/witness_too_far").
    pub invalid: BTreeMap<String, u64>,
    /// Hotspot name, key, what it earned this epoch.
    pub top_earners: Vec<(String, String, u64)>,
    pub paid: u64,
    pub merkle_root: String,
    /// The program's newest epoch and root equal this one's.
    pub on_chain: bool,
    /// Tokens minted to owners by the claims after this epoch, and in all.
    pub minted: u64,
    pub minted_total: u64,
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
    pub seconds: f64,
}

/// The embedded broker: rumqttd on a free loopback port, in its own threads (it has no stop;
/// it ends with the process).
pub fn start_embedded_broker() -> anyhow::Result<String> {
    use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 100_000,
            max_outgoing_packet_count: 1_000,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            ..Default::default()
        },
        v4: Some(
            [(
                "loopback".to_string(),
                ServerSettings {
                    name: "loopback".into(),
                    listen,
                    tls: None,
                    next_connection_delay_ms: 0,
                    connections: ConnectionSettings {
                        connection_timeout_ms: 60_000,
                        max_payload_size: 1 << 20,
                        max_inflight_count: 1_000,
                        auth: None,
                        external_auth: None,
                        dynamic_filters: true,
                    },
                },
            )]
            .into(),
        ),
        ..Default::default()
    };
    std::thread::Builder::new()
        .name("rumqttd".into())
        .spawn(move || {
            let mut broker = Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(%e, "embedded MQTT broker stopped");
            }
        })?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(listen).is_ok() {
            return Ok(format!("mqtt://{listen}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    anyhow::bail!("the embedded broker did not come up on {listen}")
}

/// Initializes the program (the oracle is admin and the one signer, M = 1) unless it is, and
/// onboards the network's hotspots that are not registered yet.
async fn prepare_chain(
    chain: &Chain,
    network: &Network,
    rewards: &RewardConfig,
) -> anyhow::Result<()> {
    let oracle = network.oracles[0].keypair()?;
    let payer = solana_keypair(&oracle);
    if chain.is_embedded() {
        chain.fund(&payer.pubkey(), 1_000_000_000_000).await?;
    }
    if read::config(chain).await?.is_none() {
        chain::initialize(chain, &payer, &[oracle.public()], 1, rewards).await?;
    }
    let fund = if chain.is_embedded() {
        1_000_000_000
    } else {
        0
    };
    let added = chain::onboard_network(chain, network, fund).await?;
    tracing::info!(added, "hotspots onboarded on chain");
    Ok(())
}

async fn report_epoch(
    store: &Store,
    chain: &Chain,
    network: &Network,
    rewards: &RewardConfig,
    n: u64,
    minted_before: u64,
) -> anyhow::Result<EpochReport> {
    let e = epoch::load(store, n)
        .await?
        .context("closed epoch vanished")?;
    let (start, end) = rewards.bounds(n);
    let mut beacons_valid = 0;
    let mut witnesses_valid = 0;
    let mut invalid = BTreeMap::new();
    for (kind, status, reason, count) in store.verdict_summary_between(start, end).await? {
        match (kind, status) {
            (Kind::Beacon, Status::Valid) => beacons_valid += count,
            (Kind::Witness, Status::Valid) => witnesses_valid += count,
            (_, Status::Invalid) => {
                *invalid
                    .entry(format!(
                        "{}/{}",
                        kind.name(),
                        reason.unwrap_or_else(|| "unknown".into())
                    ))
                    .or_insert(0) += count;
            }
            _ => {}
        }
    }
    let mut earned: Vec<_> = e
        .rows
        .iter()
        .filter(|r| r.beacon + r.witness > 0)
        .map(|r| {
            let name = network
                .hotspot(&r.hotspot)
                .map_or_else(|| r.hotspot.to_string(), |h| h.name.clone());
            (name, r.hotspot.to_string(), r.beacon + r.witness)
        })
        .collect();
    let hotspots_active = earned.len();
    earned.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    earned.truncate(5);
    let on = read::config(chain)
        .await?
        .context("program not initialized")?;
    Ok(EpochReport {
        epoch: n,
        hotspots_active,
        beacons_valid,
        witnesses_valid,
        invalid,
        top_earners: earned,
        paid: e.paid,
        merkle_root: hex::encode(e.root),
        on_chain: on.epoch == n && on.root == e.root,
        minted: on.minted.saturating_sub(minted_before),
        minted_total: on.minted,
    })
}

async fn pending(store: &Store) -> anyhow::Result<u64> {
    Ok(store
        .verdict_summary()
        .await?
        .iter()
        .filter(|r| r.1 == Status::Pending)
        .map(|r| r.3)
        .sum())
}

/// Prints an epoch as a compact table.
pub fn print_epoch(r: &EpochReport) {
    println!(
        "── epoch {} ── {} hotspots earned {} · root {}…",
        r.epoch,
        r.hotspots_active,
        r.paid,
        &r.merkle_root[..16]
    );
    println!(
        "   valid: {} beacons, {} witnesses   invalid: {}",
        r.beacons_valid,
        r.witnesses_valid,
        if r.invalid.is_empty() {
            "none".to_string()
        } else {
            r.invalid
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    for (name, key, amount) in &r.top_earners {
        println!("   {amount:>14}  {name:<24} {}…", &key[..8.min(key.len())]);
    }
    println!(
        "   on chain: {} · minted to owners {} (total {})",
        if r.on_chain {
            "root submitted"
        } else {
            "NOT submitted"
        },
        r.minted,
        r.minted_total
    );
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
    let key_file = opts.state_dir.join("oracle-key.json");
    if !key_file.exists() {
        network.oracles[0].keypair()?.write_new_file(&key_file)?;
    }
    let broker = match &opts.broker {
        Some(url) => url.clone(),
        None => start_embedded_broker()?,
    };
    let database = opts
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", opts.state_dir.join("oracle.db").display()));
    let origin_ns = hexproof_proto::clock::Clock::system().now_ns();
    let clock = Clock::accelerated_from(origin_ns, opts.speed);
    let mut config = Config {
        key: key_file,
        database: database.clone(),
        registry: opts.network_file.clone(),
        ..Config::default()
    };
    config.mqtt.url = broker.clone();
    config.clock.speed = opts.speed;
    config.clock.origin_ns = Some(origin_ns);
    config.explorer = opts.explorer.clone();
    config.validation = Limits {
        beacon_interval_secs: opts.beacon_interval_secs,
        witness_wait_secs: 60,
        location_min_age_secs: 0,
        ..Limits::default()
    };
    config.rewards = RewardConfig {
        epoch_secs: opts.epoch_secs,
        genesis_ns: origin_ns,
        close_delay_secs: 300,
        ..RewardConfig::default()
    };
    config.chain.registry = true;
    config.chain.submit = true;
    config.chain.claim = true;
    let rewards = config.rewards.clone();

    prepare_chain(&chain, &network, &rewards).await?;
    // Migrate before the oracle starts (two first connections would both migrate).
    let store = Store::connect(&database).await?;

    // The swarm stops first; the oracle once it stored what the swarm published.
    let stop = shutdown.child_token();
    let oracle_stop = CancellationToken::new();
    let oracle = {
        let (chain, stop) = (chain.clone(), oracle_stop.clone());
        tokio::spawn(async move {
            let result = crate::service::run_with_chain(config, Some(chain), stop).await;
            if let Err(e) = &result {
                tracing::error!("oracle: {e:#}");
            }
            result
        })
    };
    let swarm = hotspot_agent::swarm::Swarm::start(
        hotspot_agent::swarm::SwarmConfig::simulated(
            network.clone(),
            &broker,
            opts.state_dir.join("swarm"),
            clock,
            opts.beacon_interval_secs,
        ),
        &stop,
    )?;
    let stats: Vec<_> = swarm.hotspots.iter().map(|(_, s)| s.clone()).collect();
    let published = || {
        stats
            .iter()
            .map(|s| hotspot_agent::stats::Stats::get(&s.published))
            .sum::<u64>()
    };
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
        loop {
            if opts.epochs.is_some_and(|n| reports.len() as u64 >= n) {
                return Ok(());
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
            if oracle.is_finished() {
                anyhow::bail!("the oracle stopped (its error is logged above)");
            }
            let closed = epoch::last_closed(&store).await?.unwrap_or(0);
            if closed >= next {
                // Wait for the oracle's chain duty: the root on chain and every claim made.
                let e = epoch::load(&store, closed).await?.context("closed epoch")?;
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let on = read::config(&chain).await?.context("program")?;
                    let claimed = on.epoch == closed && on.root == e.root && {
                        let mut all = true;
                        for r in e.rows.iter().filter(|r| r.lifetime > 0) {
                            if read::claimed(&chain, &pubkey(&r.hotspot)).await? < r.lifetime {
                                all = false;
                                break;
                            }
                        }
                        all
                    };
                    if claimed || Instant::now() > deadline {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                for n in next..=closed {
                    let r = report_epoch(&store, &chain, &network, &rewards, n, minted).await?;
                    minted = r.minted_total;
                    on_epoch(&r);
                    reports.push(r);
                }
                next = closed + 1;
            } else if opts.progress && last_progress.elapsed() >= Duration::from_secs(5) {
                last_progress = Instant::now();
                let (start, end) = rewards.bounds(next);
                let now = clock.now_ns();
                let done =
                    (now.saturating_sub(start) as f64 / (end - start) as f64).clamp(0.0, 1.0);
                let bar: String = (0..20)
                    .map(|i| {
                        if (i as f64) < done * 20.0 {
                            '█'
                        } else {
                            '░'
                        }
                    })
                    .collect();
                eprintln!(
                    "   epoch {next} {bar} {:>3.0}% · {} reports published, {} stored",
                    done * 100.0,
                    published(),
                    store.count_reports().await.unwrap_or(0)
                );
            }
        }
    }
    .await;
    stop.cancel();
    let _ = swarm_task.await;
    // Let the oracle store and judge everything the broker acknowledged before stopping it.
    let acknowledged = acknowledged();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !oracle.is_finished() && Instant::now() < deadline {
        let all_stored = store
            .missing_reports(&acknowledged)
            .await
            .is_ok_and(|m| m.is_empty());
        if all_stored && pending(&store).await.unwrap_or(1) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    oracle_stop.cancel();
    let _ = oracle.await;
    result?;
    let missing = store.missing_reports(&acknowledged).await?;
    Ok(DemoSummary {
        network: opts.network_file.display().to_string(),
        hotspots: network.hotspots.len(),
        broker,
        database: crate::service::redact(&database),
        chain: format!("{chain:?}"),
        reports_acknowledged: acknowledged.len() as u64,
        reports_stored: store.count_reports().await?,
        acknowledged_not_stored: missing.iter().map(hex::encode).collect(),
        reports_pending: pending(&store).await?,
        genesis_ns: rewards.genesis_ns,
        epoch_secs: rewards.epoch_secs,
        epochs: reports,
        seconds: started.elapsed().as_secs_f64(),
    })
}
