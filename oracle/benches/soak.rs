//! Soak: N simulated hotspots for M minutes through Debian's mosquitto into the oracle (the
//! release `oracle run` process: ingest, judging, entropy, epochs, explorer) on PostgreSQL.
//! Prints a line a minute (reports/s acknowledged to hotspots and stored, backlog, reports
//! awaiting a verdict, the oracle's and mosquitto's RSS) and a summary: sustained rate as a
//! fraction of what the hotspots offered, lost reports (acknowledged to a hotspot, not stored:
//! by id), RSS at the first minute against the last.
//!
//! Run: `cargo bench -p oracle --bench soak -- [--hotspots N] [--minutes M] [--speed S]
//! [--log FILE]`
//! (defaults 500 hotspots of net-2000, 10 minutes, network clock 60× real time; each hotspot
//! beacons every 300 network seconds and witnesses what the simulated medium lets it hear).

mod common;

use common::{now_ns, rss_mib};
use std::{
    path::Path,
    sync::atomic::Ordering::Relaxed,
    time::{Duration, Instant},
};

use hexproof_fixtures::{
    Network,
    servers::{Mosquitto, Postgres, free_port},
};
use hexproof_poc::Limits;
use hexproof_proto::clock::Clock;
use hotspot_agent::swarm::{Swarm, SwarmConfig};
use oracle::store::Store;
use tokio_util::sync::CancellationToken;

struct Args {
    /// Where the oracle's log goes (`RUST_LOG` sets its level); a temporary file by default.
    log: Option<std::path::PathBuf>,
    hotspots: usize,
    minutes: u64,
    speed: u32,
}

fn args() -> Args {
    let mut a = Args {
        log: None,
        hotspots: 500,
        minutes: 10,
        speed: 60,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = || argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match argv[i].as_str() {
            "--hotspots" => a.hotspots = value().expect("--hotspots N") as usize,
            "--minutes" => a.minutes = value().expect("--minutes M"),
            "--speed" => a.speed = value().expect("--speed S") as u32,
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

fn start_oracle(
    dir: &Path,
    network_file: &Path,
    network: &Network,
    database: &str,
    broker: &str,
    clock: (u32, u64),
    log: &Path,
) -> std::process::Child {
    let key = dir.join("oracle-key.json");
    network.oracles[0]
        .keypair()
        .unwrap()
        .write_new_file(&key)
        .unwrap();
    let mut config = oracle::config::Config {
        key,
        database: database.to_string(),
        registry_file: hexproof_fixtures::network::registry_path(network_file),
        validation: Limits {
            beacon_interval_secs: 300,
            location_min_age_secs: 0,
            ..Limits::default()
        },
        ..Default::default()
    };
    config.mqtt.url = broker.to_string();
    config.clock.speed = clock.0;
    config.clock.origin_ns = Some(clock.1);
    config.rewards.genesis_ns = clock.1;
    config.explorer.grpc_listen = Some(([127, 0, 0, 1], free_port()).into());
    config.explorer.http_listen = Some(([127, 0, 0, 1], free_port()).into());
    let path = dir.join("oracle.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
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

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/net-2000.json");
    let mut network = Network::load(&network_file).unwrap();
    network.hotspots.truncate(args.hotspots);
    println!(
        "soak: {} hotspots of net-2000, {} minutes, network clock {}× · mosquitto + `oracle run` (release) + PostgreSQL",
        network.hotspots.len(),
        args.minutes,
        args.speed
    );
    runtime.block_on(async {
        let broker = Mosquitto::start_with("max_inflight_messages 1000\nmax_queued_messages 0").unwrap();
        let pg = Postgres::start().unwrap();
        let database = pg.create_database("soak").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let origin = now_ns();
        let mut oracle = start_oracle(
            dir.path(),
            &network_file,
            &network,
            &database,
            &broker.url(),
            (args.speed, origin),
            &args.log.clone().unwrap_or_else(|| dir.path().join("oracle.log")),
        );
        let store = Store::connect(&database).await.unwrap();
        let shutdown = CancellationToken::new();
        let swarm = Swarm::start(
            SwarmConfig::simulated(
                network.clone(),
                &broker.url(),
                dir.path().join("swarm"),
                Clock::accelerated_from(origin, args.speed),
                300,
            ),
            &shutdown,
        )
        .unwrap();
        let stats: Vec<_> = swarm.hotspots.iter().map(|(_, s)| s.clone()).collect();
        let acked = || stats.iter().map(|s| s.published.load(Relaxed)).sum::<u64>();
        let swarm_task = tokio::spawn(swarm.run(Duration::from_secs(3600), shutdown.clone()));

        println!(
            "{:>6} {:>14} {:>12} {:>9} {:>9} {:>11} {:>14}",
            "minute", "acked/s", "stored/s", "backlog", "unjudged", "oracle MiB", "mosquitto MiB"
        );
        let started = Instant::now();
        let (mut last_acked, mut last_stored) = (0u64, 0u64);
        let mut rss = Vec::new();
        let mut settle_acked = 0;
        let mut settle_stored = 0;
        for minute in 1..=args.minutes {
            tokio::time::sleep_until((started + Duration::from_secs(60 * minute)).into()).await;
            let (a, s) = (acked(), store.count_reports().await.unwrap());
            let unjudged = store.pending_count().await.unwrap();
            let oracle_rss = rss_mib(oracle.id());
            rss.push(oracle_rss);
            println!(
                "{minute:>6} {:>14.0} {:>12.0} {:>9} {:>9} {:>11.0} {:>14.0}",
                (a - last_acked) as f64 / 60.0,
                (s - last_stored) as f64 / 60.0,
                a.saturating_sub(s),
                unjudged,
                oracle_rss,
                broker.pid().map_or(0.0, rss_mib),
            );
            if minute == 1 {
                (settle_acked, settle_stored) = (a, s);
            }
            (last_acked, last_stored) = (a, s);
        }
        shutdown.cancel();
        let totals = swarm_task.await.unwrap();
        let acknowledged: Vec<[u8; 32]> =
            stats.iter().flat_map(|s| s.acknowledged_ids()).collect();
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut missing = store.missing_reports(&acknowledged).await.unwrap();
        while !missing.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            missing = store.missing_reports(&missing).await.unwrap();
        }
        let _ = oracle.kill();
        let _ = oracle.wait();
        let steady_minutes = args.minutes.saturating_sub(1).max(1) as f64;
        let offered = (last_acked - settle_acked) as f64 / (60.0 * steady_minutes);
        let stored = (last_stored - settle_stored) as f64 / (60.0 * steady_minutes);
        println!(
            "sustained after the first minute: {offered:.0} reports/s offered (acknowledged to hotspots), {stored:.0} stored/s = {:.3} × offered",
            stored / offered.max(1.0)
        );
        println!(
            "lost: {} of {} acknowledged reports not stored (by id) · {} left in outboxes",
            missing.len(),
            acknowledged.len(),
            totals.pending
        );
        println!(
            "oracle RSS: {:.0} MiB at minute 1, {:.0} MiB at minute {} (peak {:.0})",
            rss.first().copied().unwrap_or(0.0),
            rss.last().copied().unwrap_or(0.0),
            args.minutes,
            rss.iter().copied().fold(0.0, f64::max)
        );
    });
}
