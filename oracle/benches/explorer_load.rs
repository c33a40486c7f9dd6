//! The public explorer under load while the oracle ingests (not a test): `oracle run` (the
//! release process: ingest, judging, entropy, epochs, explorer with its default `[explorer]`
//! limits) on PostgreSQL behind a hermetic mosquitto, fed by 200 simulated hotspots of net-2000
//! (the registry is those 200). Once the first epoch is closed, for `--seconds` (default 40):
//!
//! - 200 idle subscribers: 100 `WatchVerdicts` streams and 100 `/api/events` streams, each
//!   reading what it is sent and nothing more;
//! - 100 clients issuing the heaviest queries back to back: 80 over gRPC (GetHex of a
//!   resolution-0 cell, GetNetworkStats, GetEpoch, GetRewardProof for registered and for
//!   invented keys, ListReports, GetRewards, ListFindings) and 20 over HTTP (`/api/hexes?res=8`, the finest the explorer serves,
//!   `/api/hex/{res-0 cell}`, `/api/stats`, a hotspot's reports), each answer counted as
//!   served, refused (`RESOURCE_EXHAUSTED` / 503: load shed) or failed;
//! - every load client, gRPC channel and subscriber group connects from a loopback address of
//!   its own (127.x.y.z), as distinct clients on the internet would: the explorer gives each
//!   address only its share of the heavy and live-stream places;
//! - a probe on a connection and thread of its own: an ordinary GetHex (the resolution-8 cell
//!   of a random hotspot) every 20 ms.
//!
//! Prints a line every 10 s and a summary: the probe's p50/p99 against the goal (p99 < 50 ms),
//! the oracle's RSS (start of load, peak, end), and ingest: reports acknowledged to hotspots
//! against stored (by id, after the hotspots stop: lost must be 0), stored per second during
//! the load against before it (no stall).
//!
//! Run: `cargo bench -p oracle --bench explorer_load -- [--seconds N] [--log FILE]`.
//! Where a release build of the dev-dependencies takes too long, a debug build with the oracle
//! crate optimized gives figures too (the first line says which build ran): `cargo bench -p
//! oracle --bench explorer_load --profile dev --config 'profile.dev.package.oracle.opt-level=2'`.
//! The machine's load average is printed with the probe's figures: clients, hotspots, broker
//! and database share the machine with the oracle.

mod common;
use common::Lcg;
use common::{now_ns, percentile, rss_mib};

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use hexproof_fixtures::{
    Network,
    servers::{Mosquitto, Postgres, free_port},
};
use hexproof_poc::Limits;
use hexproof_proto::{
    clock::Clock,
    v1::{self, explorer_client::ExplorerClient},
};
use hotspot_agent::swarm::{Swarm, SwarmConfig};
use oracle::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tonic::{Code, transport::Channel};

const HOTSPOTS: usize = 200;
const SPEED: u32 = 30;
const GRPC_CLIENTS: usize = 80;
const HTTP_CLIENTS: usize = 20;
const WATCHERS: usize = 100;
const SSE: usize = 100;
const GOAL_P99: Duration = Duration::from_millis(50);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Args {
    seconds: u64,
    log: Option<std::path::PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 40,
        log: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        match argv[i].as_str() {
            "--seconds" => {
                a.seconds = argv
                    .get(i + 1)
                    .and_then(|v| v.parse().ok())
                    .expect("--seconds N")
            }
            "--log" => a.log = argv.get(i + 1).map(Into::into),
            _ => {
                i += 1; // cargo bench's own flags (--bench)
                continue;
            }
        }
        i += 2;
    }
    a
}

/// The oracle's configuration as a value: the explorer's limits are the defaults.
fn oracle_config(
    dir: &Path,
    network: &Network,
    database: &str,
    broker: &str,
    origin: u64,
) -> oracle::config::Config {
    let registry = dir.join("registry.json");
    std::fs::write(
        &registry,
        serde_json::to_string(&network.registry(0)).unwrap(),
    )
    .unwrap();
    let mut config = oracle::config::Config {
        key: dir.join("oracle-key.json"),
        database: database.to_string(),
        registry_file: registry,
        validation: Limits {
            beacon_interval_secs: 300,
            location_min_age_secs: 0,
            ..Limits::default()
        },
        ..Default::default()
    };
    config.mqtt.url = broker.to_string();
    config.clock.speed = SPEED;
    config.clock.origin_ns = Some(origin);
    // Five-minute epochs (10 s of real time), closed once every verdict is in.
    config.rewards.genesis_ns = origin;
    config.rewards.epoch_secs = 300;
    config.rewards.close_delay_secs = 0;
    config.rewards.deployment = hexproof_demo::run::demo_deployment(origin);
    config.explorer.grpc_listen = Some(([127, 0, 0, 1], free_port()).into());
    config.explorer.http_listen = Some(([127, 0, 0, 1], free_port()).into());
    config
}

fn start_oracle(
    dir: &Path,
    network: &Network,
    config: &oracle::config::Config,
    log: &Path,
) -> std::process::Child {
    network.oracles[0]
        .keypair()
        .unwrap()
        .write_new_file(&config.key)
        .unwrap();
    let path = dir.join("oracle.toml");
    std::fs::write(&path, toml::to_string(config).unwrap()).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_oracle"))
        .arg("run")
        .arg("--config")
        .arg(&path)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Served, refused (load shed), failed: per query.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<&'static str, [u64; 3]>>);

impl Tally {
    fn count(&self, what: &'static str, outcome: usize) {
        self.0.lock().unwrap().entry(what).or_default()[outcome] += 1;
    }

    fn totals(&self) -> [u64; 3] {
        self.0.lock().unwrap().values().fold([0; 3], |mut t, c| {
            for i in 0..3 {
                t[i] += c[i];
            }
            t
        })
    }
}

fn grpc_outcome<T>(r: Result<tonic::Response<T>, tonic::Status>) -> usize {
    match r {
        Ok(_) => 0,
        Err(s) if s.code() == Code::ResourceExhausted => 1,
        // An unknown key, an epoch not closed: answered all the same.
        Err(s) if s.code() == Code::NotFound => 0,
        Err(_) => 2,
    }
}

/// A connection to the oracle's `port` from the loopback address `from`: each load client
/// has an address of its own, as clients on the internet do (the explorer gives each address
/// only its share of the costly places).
async fn tcp_from(from: [u8; 4], port: u16) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(std::net::SocketAddr::from((from, 0)))?;
    socket
        .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .await
}

/// A gRPC client of the explorer on `port` whose connections come from `from`.
async fn grpc_from(from: [u8; 4], port: u16) -> ExplorerClient<Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_| async move {
            tcp_from(from, port).await.map(hyper_util::rt::TokioIo::new)
        }))
        .await
        .unwrap();
    ExplorerClient::new(channel)
}

/// The address of load client `n` of a kind (`kind` 1..=9).
fn address(kind: u8, n: usize) -> [u8; 4] {
    [127, kind, (n / 250) as u8, (n % 250) as u8 + 1]
}

/// GET `path` from `from`: the status code (0 when the connection failed).
async fn http_get(from: [u8; 4], port: u16, path: &str) -> u16 {
    let Ok(mut s) = tcp_from(from, port).await else {
        return 0;
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if s.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut out = Vec::new();
    if s.read_to_end(&mut out).await.is_err() {
        return 0;
    }
    String::from_utf8_lossy(&out[..out.len().min(32)])
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn http_outcome(code: u16) -> usize {
    match code {
        200 | 404 => 0,
        503 => 1,
        _ => 2,
    }
}

/// What the heavy clients ask about.
struct Targets {
    coarse: Vec<String>,
    keys: Vec<String>,
    strangers: Vec<String>,
}

async fn grpc_client(
    mut c: ExplorerClient<Channel>,
    n: usize,
    t: Arc<Targets>,
    tally: Arc<Tally>,
    until: Instant,
) {
    let mut rng = Lcg(n as u64 + 1);
    let mut i = n;
    while Instant::now() < until {
        i += 1;
        let key = t.keys[rng.below(t.keys.len())].clone();
        let (what, outcome) = match i % 9 {
            0 => (
                "GetHex res 0",
                grpc_outcome(
                    c.get_hex(v1::GetHexRequest {
                        cell: t.coarse[rng.below(t.coarse.len())].clone(),
                        ..Default::default()
                    })
                    .await,
                ),
            ),
            1 => (
                "GetNetworkStats",
                grpc_outcome(c.get_network_stats(v1::GetNetworkStatsRequest {}).await),
            ),
            2 => (
                "GetEpoch",
                grpc_outcome(c.get_epoch(v1::GetEpochRequest { epoch: 0 }).await),
            ),
            3 => (
                "GetRewardProof",
                grpc_outcome(
                    c.get_reward_proof(v1::GetRewardProofRequest {
                        hotspot: key,
                        epoch: 0,
                    })
                    .await,
                ),
            ),
            4 => (
                "GetRewardProof invented",
                grpc_outcome(
                    c.get_reward_proof(v1::GetRewardProofRequest {
                        hotspot: t.strangers[rng.below(t.strangers.len())].clone(),
                        epoch: 0,
                    })
                    .await,
                ),
            ),
            5 => (
                "ListReports",
                grpc_outcome(
                    c.list_reports(v1::ListReportsRequest {
                        hotspot: key,
                        page_size: 1000,
                        ..Default::default()
                    })
                    .await,
                ),
            ),
            6 => (
                "GetRewards",
                grpc_outcome(c.get_rewards(v1::GetRewardsRequest { hotspot: key }).await),
            ),
            7 => (
                "ListFindings",
                grpc_outcome(
                    c.list_findings(v1::ListFindingsRequest {
                        page_size: 1000,
                        ..Default::default()
                    })
                    .await,
                ),
            ),
            _ => ("GetHex res 0 page 2", {
                let first = c
                    .get_hex(v1::GetHexRequest {
                        cell: t.coarse[0].clone(),
                        page_size: 10,
                        page_token: String::new(),
                    })
                    .await;
                match first {
                    Ok(h) => grpc_outcome(
                        c.get_hex(v1::GetHexRequest {
                            cell: t.coarse[0].clone(),
                            page_size: 10,
                            page_token: h.into_inner().next_page_token,
                        })
                        .await,
                    ),
                    e => grpc_outcome(e),
                }
            }),
        };
        tally.count(what, outcome);
        if outcome == 1 {
            // What a polite client does with RESOURCE_EXHAUSTED; a flood would not, and is
            // refused all the same.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn http_client(port: u16, n: usize, t: Arc<Targets>, tally: Arc<Tally>, until: Instant) {
    let mut rng = Lcg(n as u64 + 1000);
    let mut i = n;
    while Instant::now() < until {
        i += 1;
        let (what, path) = match i % 4 {
            0 => (
                "/api/hexes?res=8",
                "/api/hexes?res=8&page_size=1000".to_string(),
            ),
            1 => (
                "/api/hex/{res 0}",
                format!("/api/hex/{}", t.coarse[rng.below(t.coarse.len())]),
            ),
            2 => ("/api/stats", "/api/stats".to_string()),
            _ => (
                "/api/hotspots/{key}/reports",
                format!(
                    "/api/hotspots/{}/reports?page_size=1000",
                    t.keys[rng.below(t.keys.len())]
                ),
            ),
        };
        let outcome = http_outcome(http_get(address(2, n), port, &path).await);
        tally.count(what, outcome);
        if outcome == 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Opens `/api/events` and reads it until `stop`: whether it was accepted.
async fn sse_subscriber(
    from: [u8; 4],
    port: u16,
    events: Arc<AtomicU64>,
    stop: CancellationToken,
) -> bool {
    let Ok(mut s) = tcp_from(from, port).await else {
        return false;
    };
    if s.write_all(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut buf = vec![0u8; 16 * 1024];
    let Ok(n) = s.read(&mut buf).await else {
        return false;
    };
    if !buf[..n].starts_with(b"HTTP/1.1 200") {
        return false;
    }
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                r = s.read(&mut buf) => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        events.fetch_add(events_in(&buf[..n]), Relaxed);
                    }
                },
            }
        }
    });
    true
}

/// Events in a chunk of an event stream.
fn events_in(chunk: &[u8]) -> u64 {
    chunk.windows(6).filter(|w| *w == b"event:").count() as u64
}

/// The probe: an ordinary GetHex every 20 ms on a runtime and connection of its own.
fn probe(
    port: u16,
    cells: Vec<String>,
    go: Arc<AtomicBool>,
    until: Instant,
) -> std::thread::JoinHandle<(Vec<Duration>, u64)> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut c = ExplorerClient::connect(format!("http://127.0.0.1:{port}"))
                .await
                .unwrap();
            while !go.load(Relaxed) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let mut rng = Lcg(5);
            let (mut latencies, mut failed) = (Vec::new(), 0);
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while Instant::now() < until {
                tick.tick().await;
                let cell = cells[rng.below(cells.len())].clone();
                let t = Instant::now();
                match c
                    .get_hex(v1::GetHexRequest {
                        cell,
                        ..Default::default()
                    })
                    .await
                {
                    Ok(_) => latencies.push(t.elapsed()),
                    Err(_) => failed += 1,
                }
            }
            (latencies, failed)
        })
    })
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/net-2000.json");
    let mut network = Network::load(&network_file).unwrap();
    network.hotspots.truncate(HOTSPOTS);
    println!(
        "explorer load: `oracle run` ({} build, default [explorer] limits) + PostgreSQL + mosquitto, {} hotspots of net-2000 at {SPEED}× · {GRPC_CLIENTS} gRPC + {HTTP_CLIENTS} HTTP heavy clients · {WATCHERS} WatchVerdicts + {SSE} /api/events idle subscribers · {} s",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        network.hotspots.len(),
        args.seconds
    );
    runtime.block_on(async {
        let broker = Mosquitto::start_with("max_inflight_messages 1000\nmax_queued_messages 0").unwrap();
        let pg = Postgres::start().unwrap();
        let database = pg.create_database("load").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let origin = now_ns();
        let config = oracle_config(dir.path(), &network, &database, &broker.url(), origin);
        let log = args.log.clone().unwrap_or_else(|| dir.path().join("oracle.log"));
        let mut oracle = start_oracle(dir.path(), &network, &config, &log);
        let (grpc_port, http_port) = (
            config.explorer.grpc_listen.unwrap().port(),
            config.explorer.http_listen.unwrap().port(),
        );
        let store = Store::connect(&database).await.unwrap();

        let shutdown = CancellationToken::new();
        let swarm = Swarm::start(
            SwarmConfig::simulated(
                network.clone(),
                &broker.url(),
                dir.path().join("swarm"),
                Clock::accelerated_from(origin, SPEED),
                300,
            ),
            &shutdown,
        )
        .unwrap();
        let stats: Vec<_> = swarm.hotspots.iter().map(|(_, s)| s.clone()).collect();
        let acked = {
            let stats = stats.clone();
            move || stats.iter().map(|s| s.published.load(Relaxed)).sum::<u64>()
        };
        let swarm_task = tokio::spawn(swarm.run(Duration::from_secs(3600), shutdown.clone()));

        // The explorer up and the first epoch closed (GetEpoch and GetRewardProof have one).
        let started = Instant::now();
        let mut c = loop {
            if let Ok(c) = ExplorerClient::connect(format!("http://127.0.0.1:{grpc_port}")).await {
                break c;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the explorer did not come up\n{}", std::fs::read_to_string(&log).unwrap_or_default());
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        while c.get_epoch(v1::GetEpochRequest { epoch: 0 }).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(90), "no epoch closed\n{}", std::fs::read_to_string(&log).unwrap_or_default());
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let stored_before = store.count_reports().await.unwrap();
        let before = started.elapsed();
        println!(
            "first epoch closed after {:.1} s: {} reports stored ({:.0}/s), oracle RSS {:.0} MiB",
            before.as_secs_f64(),
            stored_before,
            stored_before as f64 / before.as_secs_f64(),
            rss_mib(oracle.id())
        );

        let infos: Vec<_> = network.hotspots.iter().map(|h| (h.key.pubkey, h.asserted_location.parse::<h3o::CellIndex>().unwrap())).collect();
        let mut coarse: Vec<String> = infos.iter().map(|(_, l)| l.parent(h3o::Resolution::Zero).unwrap().to_string()).collect();
        coarse.sort();
        coarse.dedup();
        let targets = Arc::new(Targets {
            coarse,
            keys: infos.iter().map(|(k, _)| k.to_string()).collect(),
            strangers: (0..1000u32)
                .map(|i| {
                    let mut secret = [7u8; 32];
                    secret[..4].copy_from_slice(&i.to_le_bytes());
                    hexproof_proto::Keypair::from_secret(secret).public().to_string()
                })
                .collect(),
        });
        let fine: Vec<String> = infos.iter().map(|(_, l)| l.parent(h3o::Resolution::Eight).unwrap().to_string()).collect();

        // 200 idle subscribers.
        let subscribers = CancellationToken::new();
        let events = Arc::new(AtomicU64::new(0));
        let mut watching = 0;
        let mut refused_watchers = 0;
        for n in 0..WATCHERS {
            if n % 10 == 0 {
                c = grpc_from(address(3, n / 10), grpc_port).await;
            }
            match c.watch_verdicts(v1::WatchVerdictsRequest::default()).await {
                Ok(stream) => {
                    watching += 1;
                    let (events, stop) = (events.clone(), subscribers.clone());
                    let mut stream = stream.into_inner();
                    tokio::spawn(async move {
                        loop {
                            tokio::select! {
                                () = stop.cancelled() => break,
                                m = stream.message() => match m {
                                    Ok(Some(_)) => { events.fetch_add(1, Relaxed); }
                                    _ => break,
                                },
                            }
                        }
                    });
                }
                Err(_) => refused_watchers += 1,
            }
        }
        let mut sse = 0;
        for n in 0..SSE {
            if sse_subscriber(address(4, n / 10), http_port, events.clone(), subscribers.clone()).await {
                sse += 1;
            } else {
                refused_watchers += 1;
            }
        }
        println!("subscribers: {watching} WatchVerdicts + {sse} /api/events open, {refused_watchers} refused");

        // The load, the probe, and the samples.
        let go = Arc::new(AtomicBool::new(false));
        let until = Instant::now() + Duration::from_secs(args.seconds) + Duration::from_millis(500);
        let probe = probe(grpc_port, fine, go.clone(), until);
        let tally = Arc::new(Tally::default());
        let mut clients = tokio::task::JoinSet::new();
        for n in 0..GRPC_CLIENTS {
            let c = grpc_from(address(1, n), grpc_port).await;
            clients.spawn(grpc_client(c, n, targets.clone(), tally.clone(), until));
        }
        for n in 0..HTTP_CLIENTS {
            clients.spawn(http_client(http_port, n, targets.clone(), tally.clone(), until));
        }
        go.store(true, Relaxed);
        let load_started = Instant::now();
        let stored_at_start = store.count_reports().await.unwrap();
        let acked_at_start = acked();
        let mut rss = vec![rss_mib(oracle.id())];
        println!(
            "{:>4} {:>9} {:>9} {:>8} {:>10} {:>9} {:>9} {:>8} {:>10}",
            "s", "acked", "stored", "backlog", "stored/s", "served", "refused", "failed", "oracle MiB"
        );
        let mut last = (load_started, stored_at_start, [0u64; 3]);
        let mut rates = Vec::new();
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_secs(1)).await;
            rss.push(rss_mib(oracle.id()));
            if last.0.elapsed() >= Duration::from_secs(10) || Instant::now() >= until {
                let (a, s) = (acked(), store.count_reports().await.unwrap());
                let t = tally.totals();
                let rate = (s - last.1) as f64 / last.0.elapsed().as_secs_f64();
                if last.0.elapsed() >= Duration::from_secs(5) {
                    rates.push(rate);
                }
                println!(
                    "{:>4.0} {:>9} {:>9} {:>8} {:>10.0} {:>9} {:>9} {:>8} {:>10.0}",
                    load_started.elapsed().as_secs_f64(),
                    a,
                    s,
                    a.saturating_sub(s),
                    rate,
                    t[0] - last.2[0],
                    t[1] - last.2[1],
                    t[2] - last.2[2],
                    rss.last().unwrap()
                );
                last = (Instant::now(), s, t);
            }
        }
        while clients.join_next().await.is_some() {}
        let load_secs = load_started.elapsed().as_secs_f64();
        let stored_during = store.count_reports().await.unwrap() - stored_at_start;
        let acked_during = acked() - acked_at_start;
        let (mut latencies, probe_failed) =
            tokio::task::spawn_blocking(move || probe.join().unwrap())
                .await
                .unwrap();
        subscribers.cancel();

        // Ingest: every acknowledged report stored.
        shutdown.cancel();
        let totals = swarm_task.await.unwrap();
        let acknowledged: Vec<[u8; 32]> = stats.iter().flat_map(|s| s.acknowledged_ids()).collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut missing = store.missing_reports(&acknowledged).await.unwrap();
        while !missing.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            missing = store.missing_reports(&missing).await.unwrap();
        }
        let end_rss = rss_mib(oracle.id());
        let _ = oracle.kill();
        let _ = oracle.wait();

        println!("heavy queries ({load_secs:.0} s):       served  refused   failed");
        for (what, [ok, refused, failed]) in tally.0.lock().unwrap().iter() {
            println!("  {what:<28} {ok:>8} {refused:>8} {failed:>8}");
        }
        let t = tally.totals();
        println!(
            "  {:<28} {:>8} {:>8} {:>8}  ({:.0} served/s)",
            "all", t[0], t[1], t[2], t[0] as f64 / load_secs
        );
        println!(
            "live: {} verdict events delivered to {} subscribers",
            events.load(Relaxed),
            watching + sse
        );
        latencies.sort();
        let p99 = percentile(&latencies, 0.99);
        println!(
            "GetHex (ordinary, res 8) under load: {} calls, {} failed · p50 {:.2} ms · p99 {:.2} ms · max {:.2} ms · goal p99 < {} ms: {}",
            latencies.len(),
            probe_failed,
            ms(percentile(&latencies, 0.50)),
            ms(p99),
            ms(latencies.last().copied().unwrap_or_default()),
            GOAL_P99.as_millis(),
            if p99 < GOAL_P99 { "met" } else { "MISSED" }
        );
        println!(
            "machine: {} cores, load average {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!(
            "oracle RSS: {:.0} MiB at the start of the load, peak {:.0} MiB, {:.0} MiB at its end, {:.0} MiB after ingest drained",
            rss[0],
            rss.iter().copied().fold(0.0, f64::max),
            rss.last().copied().unwrap_or(0.0),
            end_rss
        );
        println!(
            "ingest: {} reports acknowledged to hotspots, {} of them not stored (by id) · during the load {:.0} acked/s, {:.0} stored/s (before it {:.0} stored/s; slowest 10 s {:.0} stored/s) · {} left in outboxes",
            acknowledged.len(),
            missing.len(),
            acked_during as f64 / load_secs,
            stored_during as f64 / load_secs,
            stored_before as f64 / before.as_secs_f64(),
            rates.iter().copied().fold(f64::INFINITY, f64::min),
            totals.pending
        );
    });
}
