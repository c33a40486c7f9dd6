//! Ingest throughput through a real mosquitto, into SQLite and into PostgreSQL, next to the
//! broker's own QoS 1 publish → subscribe rate measured in the same run.
//!
//! Run: `cargo bench -p oracle --bench ingest` (prints the figures; `HEXPROOF_BENCH_REPORTS`
//! sets how many reports, default 200,000).
//!
//! - Reports: pre-signed beacons and witnesses from net-200's keys (signing is not measured),
//!   published by 4 QoS 1 connections with 200 unacknowledged each, as fast as mosquitto
//!   acknowledges them.
//! - broker: the same publishers, and one plain subscriber (persistent session, QoS 1, rumqttc
//!   acknowledging on receipt) on the oracle's filters: the rate at which mosquitto moves
//!   reports from publishers to a subscriber that does nothing with them.
//! - oracle: the same publishers, and the oracle's ingest (`oracle::ingest`: classify, verify
//!   every signature, commit, then acknowledge) on the same filters, into the database.
//!   Counted from the first publish until the last report is stored; lost = acknowledged to a
//!   publisher but not stored (by id). RSS of this process is sampled every second while it runs.
//!
//! mosquitto runs with `max_inflight_messages 1000` (what an operator sets for an oracle) and an
//! unlimited queue.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use hexproof_fixtures::{
    Network, load,
    servers::{Mosquitto, Postgres},
};
use hexproof_proto::{clock::Clock, mqtt::MqttConfig, topics};
use oracle::{
    classify::KeyCache,
    ingest::{self, Ingest, IngestConfig, Pipeline},
    registry::StaticRegistry,
    store::Store,
};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_util::sync::CancellationToken;

const BROKER_CONF: &str = "max_inflight_messages 1000\nmax_queued_messages 0";

fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

/// mosquitto's own rate: publishers → a subscriber that only counts.
async fn broker_rate(reports: &[load::Report]) -> f64 {
    let broker = Mosquitto::start_with(BROKER_CONF).unwrap();
    let mut options = MqttOptions::new("counter", "127.0.0.1", broker.port);
    options
        .set_clean_session(false)
        .set_inflight(1000)
        .set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    for filter in [topics::BEACONS_FILTER, topics::WITNESSES_FILTER] {
        client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    }
    let mut acks = 0;
    while acks < 2 {
        if let Ok(Event::Incoming(Packet::SubAck(_))) = eventloop.poll().await {
            acks += 1;
        }
    }
    let n = reports.len();
    let counter = tokio::spawn(async move {
        let mut received = 0;
        while received < n {
            if let Ok(Event::Incoming(Packet::Publish(_))) = eventloop.poll().await {
                received += 1;
            }
        }
        Instant::now()
    });
    let started = Instant::now();
    let acknowledged = load::publish_all(
        &broker.url(),
        "pub",
        reports,
        4,
        200,
        Duration::from_secs(600),
    )
    .await
    .unwrap();
    assert_eq!(acknowledged.len(), n);
    let done = counter.await.unwrap();
    n as f64 / (done - started).as_secs_f64()
}

struct OracleRun {
    rate: f64,
    lost: usize,
    rss: Vec<f64>,
}

/// The oracle's ingest into `database`.
async fn oracle_rate(reports: &[load::Report], network: &Network, database: &str) -> OracleRun {
    let broker = Mosquitto::start_with(BROKER_CONF).unwrap();
    let store = Store::connect(database).await.unwrap();
    let mqtt = MqttConfig {
        url: broker.url(),
        ..MqttConfig::default()
    };
    let config = IngestConfig::default();
    let (client, eventloop) = ingest::connect(&mqtt, "hexproof-oracle-bench", &config).unwrap();
    let keys = KeyCache::new(network.hotspots.iter().map(|h| h.key.pubkey));
    let registry = StaticRegistry::load(&hexproof_fixtures::network::registry_path(
        &hexproof_fixtures::fixtures_dir().join("networks/net-200.json"),
    ))
    .unwrap();
    let pipeline = Arc::new(Pipeline::default());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(ingest::run(
        Ingest {
            client,
            eventloop,
            store: store.clone(),
            keys,
            registry: Arc::new(registry),
            login: None,
            config,
            clock: Clock::system(),
            pipeline: pipeline.clone(),
        },
        shutdown.clone(),
    ));
    // Subscribed before publishing starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = reports.len() as u64;
    let sampler = {
        let pipeline = pipeline.clone();
        tokio::spawn(async move {
            let mut rss = vec![rss_mib()];
            while pipeline.done_total() < n {
                tokio::time::sleep(Duration::from_secs(1)).await;
                rss.push(rss_mib());
            }
            (Instant::now(), rss)
        })
    };
    let started = Instant::now();
    let acknowledged = load::publish_all(
        &broker.url(),
        "pub",
        reports,
        4,
        200,
        Duration::from_secs(900),
    )
    .await
    .unwrap();
    let (done, rss) = sampler.await.unwrap();
    shutdown.cancel();
    let _ = task.await;
    let lost = store.missing_reports(&acknowledged).await.unwrap().len()
        + (reports.len() - acknowledged.len());
    OracleRun {
        rate: n as f64 / (done - started).as_secs_f64(),
        lost,
        rss,
    }
}

fn main() {
    let n: usize = std::env::var("HEXPROOF_BENCH_REPORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let network = hexproof_fixtures::network("net-200").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let witnesses = 19;
    let reports = load::signed_reports(&network, n / (witnesses + 1), witnesses, now, 1).unwrap();
    println!(
        "ingest benchmark: {} pre-signed reports, 4 publishers, mosquitto max_inflight_messages 1000",
        reports.len()
    );
    runtime.block_on(async {
        let broker = broker_rate(&reports).await;
        println!("mosquitto QoS 1 publish → subscribe: {broker:>9.0} reports/s");
        let dir = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
        let pg = Postgres::start().unwrap();
        let postgres = pg.create_database("bench").unwrap();
        for (name, url) in [("SQLite", sqlite.as_str()), ("PostgreSQL", postgres.as_str())] {
            let run = oracle_rate(&reports, &network, url).await;
            let first = run.rss.first().copied().unwrap_or(0.0);
            let peak = run.rss.iter().copied().fold(0.0, f64::max);
            let last = run.rss.last().copied().unwrap_or(0.0);
            println!(
                "oracle ingest into {name:<10}: {:>9.0} reports/s = {:.2} × mosquitto's rate · lost {} · RSS {first:.0} → peak {peak:.0} → end {last:.0} MiB ({} samples)",
                run.rate,
                run.rate / broker,
                run.lost,
                run.rss.len()
            );
        }
    });
}
