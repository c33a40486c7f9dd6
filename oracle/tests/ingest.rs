//! Ingest that never stalls, against Debian's mosquitto and the oracle binary:
//!
//! 1. a backlog of 100,000 reports queued in the oracle's persistent session when it connects;
//! 2. a passive `hexproof/v1/#` subscriber (QoS 0, as a monitoring script would attach) and a
//!    slow subscriber that never reads its socket, during a 200-hotspot network run;
//! 3. junk on every topic (random bytes, empty, 300 KiB; QoS 0, 1 and 2; retained) during a
//!    network run.
//!
//! In each, every report the broker acknowledged to a publisher is stored (checked by report
//! id), none stays pending, and the oracle keeps publishing entropy. Rates are charged to the
//! key that signed a report (junk on a hotspot's topic spends nobody's rate but its own shared
//! bucket), and reports of keys that are not registered are not stored at all.

mod common;

use std::{
    io::Write,
    net::TcpStream,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use common::*;
use hexproof_fixtures::{
    Network, load,
    servers::{Mosquitto, Subscriber, free_port},
};
use hexproof_poc::{Limits, Status};
use hexproof_proto::{Signed, clock::Clock, topics, v1::Entropy};
use hotspot_agent::swarm::Swarm;
use oracle::store::Store;
use prost::Message;
use rand::{Rng, RngCore, SeedableRng};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_util::sync::CancellationToken;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Waits until every id in `acknowledged` is stored and no report waits for a verdict; panics
/// with the missing ids and the oracle's log otherwise.
async fn assert_all_stored_and_judged(
    store: &Store,
    acknowledged: &[[u8; 32]],
    within: Duration,
    oracle: &OracleProcess,
) {
    let started = Instant::now();
    let mut last_note = Instant::now();
    let settled = wait_until(within, || {
        let note = last_note.elapsed() >= Duration::from_secs(10);
        if note {
            last_note = Instant::now();
        }
        async move {
            let missing = store
                .missing_reports(acknowledged)
                .await
                .map_or(usize::MAX, |m| m.len());
            let pending = pending(store).await;
            if note {
                eprintln!(
                    "[{:>4.0?}] {missing} acknowledged not yet stored, {pending} pending",
                    started.elapsed()
                );
            }
            missing == 0 && pending == 0
        }
    })
    .await;
    if !settled {
        let missing = store.missing_reports(acknowledged).await.unwrap();
        panic!(
            "{} of {} acknowledged reports not stored (first: {:?}), {} pending\n{}",
            missing.len(),
            acknowledged.len(),
            missing.first().map(hex::encode),
            pending(store).await,
            tail(&oracle.log(), 40)
        );
    }
}

async fn pending(store: &Store) -> u64 {
    store
        .verdict_summary()
        .await
        .unwrap()
        .iter()
        .filter(|(_, status, _, _)| *status == Status::Pending)
        .map(|(_, _, _, n)| n)
        .sum()
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Distinct validly signed entropy messages a subscriber saw (junk on the topic not counted).
fn entropy_seen(sub: &Subscriber) -> usize {
    let mut seen: Vec<u64> = sub
        .messages()
        .into_iter()
        .filter(|m| m.topic == topics::ENTROPY)
        .filter_map(|m| Entropy::decode(m.payload.as_slice()).ok())
        .filter(|e| e.verify().is_ok())
        .map(|e| e.id)
        .collect();
    seen.sort();
    seen.dedup();
    seen.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_100k_reports_is_stored_and_judged() {
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/net-200.json");
    let network = Network::load(&network_file).unwrap();
    // The inflight window an operator sets for throughput: a thousand unacknowledged messages
    // reach the oracle at once.
    let broker = Mosquitto::start_with("max_inflight_messages 1000").unwrap();
    let oracle_key = network.oracles[0].pubkey;

    // The oracle's persistent session exists (it ran before); then it is away while the
    // hotspots publish.
    let mut options = MqttOptions::new(
        format!("hexproof-oracle-{oracle_key}"),
        "127.0.0.1",
        broker.port,
    );
    options.set_clean_session(false);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    for filter in [topics::BEACONS_FILTER, topics::WITNESSES_FILTER] {
        client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    }
    let mut subscribed = 0;
    while subscribed < 2 {
        if let Event::Incoming(Packet::SubAck(_)) = eventloop.poll().await.unwrap() {
            subscribed += 1;
        }
    }
    client.disconnect().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;

    let reports = load::signed_reports(&network, 5_000, 19, now_ns(), 15).unwrap();
    assert_eq!(reports.len(), 100_000);
    let acknowledged = load::publish_all(
        &broker.url(),
        "backlog",
        &reports,
        4,
        200,
        Duration::from_secs(180),
    )
    .await
    .unwrap();
    assert_eq!(
        acknowledged.len(),
        reports.len(),
        "the broker took them all"
    );

    let entropy = Subscriber::start(&broker, topics::ENTROPY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("oracle.db").display());
    let mut config = realtime_config(
        dir.path(),
        &network_file,
        &network,
        &database,
        &broker,
        free_port(),
    );
    config.entropy.interval_secs = 1;
    // Migrated before the oracle starts (two first connections would both migrate).
    let store = Store::connect(&database).await.unwrap();
    let started = Instant::now();
    let oracle = OracleProcess::start_with(dir.path(), &network, config);
    assert_all_stored_and_judged(&store, &acknowledged, Duration::from_secs(300), &oracle).await;
    let took = started.elapsed();
    // One entropy a second while the backlog drained: the event loop never waited on storage.
    let expected = (took.as_secs() / 2).max(2) as usize;
    entropy.wait_for(Duration::from_secs(5), |_| {
        entropy_seen(&entropy) >= expected
    });
    assert!(
        entropy_seen(&entropy) >= expected,
        "{} entropy messages in {took:?}\n{}",
        entropy_seen(&entropy),
        tail(&oracle.log(), 40)
    );
    eprintln!(
        "backlog of {} stored and judged in {took:?}; {} entropy messages meanwhile",
        reports.len(),
        entropy_seen(&entropy)
    );
}

/// The oracle's configuration for the pre-signed-report tests: real time, a one-second witness
/// window, metrics on `metrics_port`.
fn realtime_config(
    dir: &std::path::Path,
    network_file: &std::path::Path,
    network: &Network,
    database: &str,
    broker: &Mosquitto,
    metrics_port: u16,
) -> oracle::config::Config {
    OracleSetup {
        dir,
        network_file,
        network,
        database,
        broker: &broker.url(),
        speed: 1,
        origin_ns: 0,
        metrics_port,
        validation: Limits {
            witness_wait_secs: 1,
            ..Limits::default()
        },
    }
    .config()
}

/// A client that subscribes to everything at QoS 1 and then never reads its socket: the broker
/// has to queue for it without holding anyone else up.
fn slow_subscriber(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let client_id = b"slow-subscriber";
    let mut connect = vec![0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x00];
    connect.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    connect.extend_from_slice(client_id);
    let filter = b"hexproof/v1/#";
    let mut subscribe = vec![0x00, 0x01];
    subscribe.extend_from_slice(&(filter.len() as u16).to_be_bytes());
    subscribe.extend_from_slice(filter);
    subscribe.push(0x01);
    for (header, body) in [(0x10u8, connect), (0x82, subscribe)] {
        s.write_all(&[header, body.len() as u8]).unwrap();
        s.write_all(&body).unwrap();
    }
    s
}

/// Network seconds per real second in the network runs.
const SPEED: u32 = 60;

/// Runs every hotspot of net-200 through `broker` with the oracle for `seconds` of real time,
/// then checks that every acknowledged report was stored and judged and that entropy was
/// published throughout. Returns the oracle's metrics and how many agents were connected at
/// the end.
async fn network_run(broker: &mut Mosquitto, seconds: u64) -> (String, usize) {
    network_run_with(broker, seconds, |_| {}).await
}

/// [`network_run`], doing `midway` to the broker halfway through.
async fn network_run_with(
    broker: &mut Mosquitto,
    seconds: u64,
    midway: impl FnOnce(&mut Mosquitto),
) -> (String, usize) {
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/net-200.json");
    let network = Network::load(&network_file).unwrap();
    let watcher = Subscriber::start(&*broker, topics::ENTROPY).unwrap();
    let origin_ns = now_ns();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("oracle.db").display());
    let store = Store::connect(&database).await.unwrap();
    let metrics_port = free_port();
    let oracle = OracleProcess::start(&OracleSetup {
        dir: dir.path(),
        network_file: &network_file,
        network: &network,
        database: &database,
        broker: &broker.url(),
        speed: SPEED,
        origin_ns,
        metrics_port,
        validation: simulation_limits(),
    });
    let shutdown = CancellationToken::new();
    let swarm = Swarm::start(
        swarm_config(
            &network,
            &broker.url(),
            &dir.path().join("swarm"),
            Clock::accelerated_from(origin_ns, SPEED),
            5,
        ),
        &shutdown,
    )
    .unwrap();
    let stats: Vec<_> = swarm.hotspots.iter().map(|(_, s)| s.clone()).collect();
    let running = tokio::spawn(swarm.run(Duration::from_secs(5), shutdown.clone()));
    tokio::time::sleep(Duration::from_secs(seconds / 2)).await;
    tokio::task::block_in_place(|| midway(broker));
    tokio::time::sleep(Duration::from_secs(seconds - seconds / 2)).await;
    let connected = stats
        .iter()
        .filter(|s| s.connected.load(std::sync::atomic::Ordering::Relaxed))
        .count();
    shutdown.cancel();
    let totals = running.await.unwrap();
    let acknowledged: Vec<[u8; 32]> = stats.iter().flat_map(|s| s.acknowledged_ids()).collect();
    assert!(
        acknowledged.len() > 2_000,
        "a busy network: {} acknowledged, {totals:?}",
        acknowledged.len()
    );
    assert_all_stored_and_judged(&store, &acknowledged, Duration::from_secs(60), &oracle).await;
    // New entropy every 60 network seconds: one a real second at 60x.
    let expected = (seconds as usize).saturating_sub(5);
    assert!(
        entropy_seen(&watcher) >= expected,
        "{} entropy messages in {seconds} s (expected {expected})\n{}",
        entropy_seen(&watcher),
        tail(&oracle.log(), 40)
    );
    eprintln!(
        "{} reports acknowledged, all stored and judged; {} entropy messages",
        acknowledged.len(),
        entropy_seen(&watcher)
    );
    (reqwest_metrics(metrics_port).await, connected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_subscribers_do_not_stall_ingest() {
    let mut broker = Mosquitto::start().unwrap();
    let _passive = Subscriber::start_qos(&broker, "hexproof/v1/#", 0).unwrap();
    let _slow = slow_subscriber(broker.port);
    network_run(&mut broker, 25).await;
}

/// Junk publishers: random bytes, empty and 300 KiB payloads at QoS 0, 1 and 2, some retained,
/// on report topics of real hotspots, on malformed report topics, on the entropy topic and on
/// topics nobody uses.
async fn junk(port: u16, network: Network, stop: CancellationToken) {
    let mut options = MqttOptions::new("junk", "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let key = |rng: &mut rand::rngs::StdRng| {
        network.hotspots[rng.gen_range(0..network.hotspots.len())]
            .key
            .pubkey
    };
    let mut sent = 0u64;
    while !stop.is_cancelled() {
        let topic = match rng.gen_range(0..7) {
            0 => topics::beacons(&key(&mut rng)),
            1 => topics::witnesses(&key(&mut rng)),
            2 => "hexproof/v1/beacons/not-a-key".to_string(),
            3 => "hexproof/v1/witnesses/".to_string(),
            4 => topics::ENTROPY.to_string(),
            5 => "hexproof/v1/other/thing".to_string(),
            _ => format!("unrelated/{}", rng.r#gen::<u32>()),
        };
        let payload = match rng.gen_range(0..5) {
            0 => Vec::new(),
            1 => vec![0u8; 300 * 1024],
            _ => {
                let mut p = vec![0u8; rng.gen_range(1..600)];
                rng.fill_bytes(&mut p);
                p
            }
        };
        let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][rng.gen_range(0..3)];
        let retain = rng.gen_range(0..4) == 0;
        if client.publish(topic, qos, retain, payload).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("{sent} junk messages published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_on_every_topic_does_not_stall_ingest() {
    let mut broker = Mosquitto::start().unwrap();
    let network =
        Network::load(&hexproof_fixtures::fixtures_dir().join("networks/net-200.json")).unwrap();
    let hotspots = network.hotspots.len();
    let stop = CancellationToken::new();
    let junk = tokio::spawn(junk(broker.port, network, stop.clone()));
    let (metrics, connected) = network_run(&mut broker, 25).await;
    stop.cancel();
    let _ = junk.await;
    // Junk retained on the entropy topic (up to 300 KiB) disconnects no agent.
    assert_eq!(connected, hotspots, "every agent connected at the end");
    // The junk that reached the oracle was refused or judged, and counted by reason.
    for counted in [
        "hexproof_ingest_refused_total{reason=\"oversized\"}",
        "hexproof_ingest_refused_total{reason=\"unknown_topic\"}",
        "hexproof_reports_invalid_total{kind=\"undecodable\"",
    ] {
        let value = metric_value(&metrics, counted);
        assert!(value > 0.0, "{counted} not counted:\n{metrics}");
        eprintln!("{counted} {value}");
    }
}

/// The value of the first sample whose line starts with `prefix`, 0 when there is none.
fn metric_value(metrics: &str, prefix: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// A hotspot that floods (validly signed reports, far beyond any radio's rate) gets its burst
/// stored and the rest refused, acknowledged and counted; everyone else's reports are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_hotspot_is_held_to_its_rate() {
    use hexproof_proto::v1::WitnessReport;
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/net-200.json");
    let network = Network::load(&network_file).unwrap();
    let broker = Mosquitto::start_with("max_inflight_messages 1000").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("oracle.db").display());
    let metrics_port = free_port();
    let mut config = realtime_config(
        dir.path(),
        &network_file,
        &network,
        &database,
        &broker,
        metrics_port,
    );
    config.ingest.limits.burst = 300;
    config.ingest.limits.per_minute = 60;
    let store = Store::connect(&database).await.unwrap();
    let oracle = OracleProcess::start_with(dir.path(), &network, config);

    // The flooder: 3,000 distinct signed witnesses from one key, as fast as the broker takes them.
    let flooder = network.hotspots[0].key.keypair().unwrap();
    let t0 = now_ns();
    let flood: Vec<load::Report> = (0..3_000u64)
        .map(|i| {
            let w = WitnessReport {
                payload: i.to_le_bytes().to_vec(),
                timestamp_ns: t0 + i,
                frequency_hz: 868_100_000,
                rssi_ddbm: -1100,
                ..Default::default()
            }
            .signed(&flooder);
            load::Report {
                topic: topics::witnesses(&flooder.public()),
                payload: w.encode_to_vec(),
                id: w.id(),
            }
        })
        .collect();
    // Everyone else: 100 beacons with 19 witnesses each, none from the flooder.
    let flooder_topics = [
        topics::beacons(&flooder.public()),
        topics::witnesses(&flooder.public()),
    ];
    let honest: Vec<load::Report> = load::signed_reports(&network, 150, 19, t0, 23)
        .unwrap()
        .into_iter()
        .filter(|r| !flooder_topics.contains(&r.topic))
        .collect();
    let url = broker.url();
    let (flood_acked, honest_acked) = tokio::join!(
        load::publish_all(&url, "flood", &flood, 1, 200, Duration::from_secs(120)),
        load::publish_all(&url, "honest", &honest, 2, 100, Duration::from_secs(120)),
    );
    let (flood_acked, honest_acked) = (flood_acked.unwrap(), honest_acked.unwrap());
    assert_eq!(flood_acked.len(), flood.len());
    assert_all_stored_and_judged(&store, &honest_acked, Duration::from_secs(120), &oracle).await;
    let stored_flood = flood.len() - store.missing_reports(&flood_acked).await.unwrap().len();
    // The burst, plus a report a second while it ran (the test takes well under a minute).
    assert!(
        (300..=360).contains(&stored_flood),
        "{stored_flood} of the flood stored"
    );
    let metrics = reqwest_metrics(metrics_port).await;
    assert!(
        metrics.contains("hexproof_ingest_refused_total{reason=\"rate_limited\"}"),
        "refusals are counted:\n{metrics}"
    );
    eprintln!(
        "flood: {} acknowledged, {stored_flood} stored; honest: {} acknowledged, all stored",
        flood_acked.len(),
        honest_acked.len()
    );
}

/// Issue 27 item 10: anyone on an anonymous broker publishes 1,000 junk payloads and 100 of a
/// rival's signed reports on a victim's topic, and an unregistered key publishes 20 signed
/// reports; then the victim sends its 50. Rates charge only what a registered signer signed, so
/// the victim's 50 (its whole burst) are all stored; the unregistered key's are not stored at
/// all (`reason="unregistered"`). (Before, admission charged the topic's key before any
/// signature was checked: the junk emptied the victim's bucket and its reports were
/// acknowledged as `rate_limited`, never stored.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_on_a_hotspots_topic_spends_nothing_of_its_rate() {
    use hexproof_proto::{Keypair, v1::WitnessReport};
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/net-25.json");
    let network = Network::load(&network_file).unwrap();
    let broker = Mosquitto::start_with("max_inflight_messages 1000").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("oracle.db").display());
    let metrics_port = free_port();
    let mut config = realtime_config(
        dir.path(),
        &network_file,
        &network,
        &database,
        &broker,
        metrics_port,
    );
    config.ingest.limits.burst = 50;
    config.ingest.limits.per_minute = 1;
    let store = Store::connect(&database).await.unwrap();
    let oracle = OracleProcess::start_with(dir.path(), &network, config);

    let victim = network.hotspots[0].key.keypair().unwrap();
    let rival = network.hotspots[1].key.keypair().unwrap();
    let stranger = Keypair::from_secret([0x5a; 32]);
    assert!(network.hotspot(&stranger.public()).is_none());
    let t0 = now_ns();
    let witnesses = |key: &Keypair, topic: &str, n: u64, from: u64| -> Vec<load::Report> {
        (from..from + n)
            .map(|i| {
                let w = WitnessReport {
                    payload: i.to_le_bytes().to_vec(),
                    timestamp_ns: t0 + i,
                    frequency_hz: 868_100_000,
                    rssi_ddbm: -1100,
                    ..Default::default()
                }
                .signed(key);
                load::Report {
                    topic: topic.to_string(),
                    payload: w.encode_to_vec(),
                    id: w.id(),
                }
            })
            .collect()
    };
    let on_victim = topics::witnesses(&victim.public());
    let mut rng = rand::rngs::StdRng::seed_from_u64(27);
    let mut attack: Vec<load::Report> = (0..1_000u32)
        .map(|i| {
            let mut payload = vec![0u8; 64 + (i as usize % 200)];
            rng.fill_bytes(&mut payload);
            load::Report {
                topic: on_victim.clone(),
                payload,
                id: [0; 32],
            }
        })
        .collect();
    attack.extend(witnesses(&rival, &on_victim, 100, 0));
    let strangers = witnesses(&stranger, &topics::witnesses(&stranger.public()), 20, 1_000);
    attack.extend(strangers.iter().cloned());
    let url = broker.url();
    // Once a probe (another hotspot's report) is stored, the oracle's session is subscribed.
    let prober = network.hotspots[2].key.keypair().unwrap();
    let mut subscribed = false;
    for i in 0..60 {
        let probe = witnesses(&prober, &topics::witnesses(&prober.public()), 1, 10_000 + i);
        load::publish_all(&url, "probe", &probe, 1, 1, Duration::from_secs(10))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        if store
            .missing_reports(&[probe[0].id])
            .await
            .unwrap()
            .is_empty()
        {
            subscribed = true;
            break;
        }
    }
    assert!(subscribed, "the oracle never stored a probe");
    let acked = load::publish_all(&url, "attack", &attack, 1, 200, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(acked.len(), attack.len());
    let own = witnesses(&victim, &on_victim, 50, 2_000);
    let own_acked = load::publish_all(&url, "victim", &own, 1, 50, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(own_acked.len(), 50);
    assert_all_stored_and_judged(&store, &own_acked, Duration::from_secs(120), &oracle).await;
    let stranger_ids: Vec<[u8; 32]> = strangers.iter().map(|r| r.id).collect();
    assert_eq!(
        store.missing_reports(&stranger_ids).await.unwrap().len(),
        20,
        "an unregistered key's reports are not stored"
    );
    let metrics = reqwest_metrics(metrics_port).await;
    for reason in ["unregistered", "rate_limited"] {
        assert!(
            metric_value(
                &metrics,
                &format!("hexproof_ingest_refused_total{{reason=\"{reason}\"}}")
            ) > 0.0,
            "{reason} refusals are counted:\n{metrics}"
        );
    }
}

/// The oracle's Prometheus text.
async fn reqwest_metrics(port: u16) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

/// PostgreSQL stops (connections cut, as in a crash) while reports pour in, and comes back:
/// ingest retries and acknowledges nothing it has not stored, so every report the broker took
/// from a publisher ends up stored and judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_loses_nothing() {
    use hexproof_fixtures::servers::Postgres;
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/net-200.json");
    let network = Network::load(&network_file).unwrap();
    let broker = Mosquitto::start_with("max_inflight_messages 1000").unwrap();
    let pg = Postgres::start().unwrap();
    let database = pg.create_database("outage").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = realtime_config(
        dir.path(),
        &network_file,
        &network,
        &database,
        &broker,
        free_port(),
    );
    let store = Store::connect(&database).await.unwrap();
    let mut oracle = OracleProcess::start_with(dir.path(), &network, config);

    let reports = load::signed_reports(&network, 1_500, 19, now_ns(), 29).unwrap();
    let url = broker.url();
    let publishing = tokio::spawn(async move {
        load::publish_all(&url, "outage", &reports, 2, 20, Duration::from_secs(180)).await
    });
    // The outage comes once the first thousand are stored (a fixed wait let a fast machine
    // store all 30,000 first).
    let mut before = 0;
    while before < 1_000 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        before = store.count_reports().await.unwrap();
    }
    pg.stop().unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    pg.restart().unwrap();
    let acknowledged = publishing.await.unwrap().unwrap();
    assert_eq!(acknowledged.len(), 30_000);
    assert!(
        before < 30_000,
        "the outage came while reports were still arriving"
    );
    assert_all_stored_and_judged(&store, &acknowledged, Duration::from_secs(180), &oracle).await;
    assert!(oracle.is_running(), "{}", tail(&oracle.log(), 40));
    eprintln!("{before} stored before the outage; all 30,000 acknowledged stored after it");
}

/// The broker restarts (a clean shutdown that saves its sessions, then back on the same port)
/// in the middle of a busy network run: agents keep their reports in their outboxes and
/// republish, the oracle's persistent session resumes with what the broker queued for it, and
/// every report the broker acknowledged to a hotspot is stored and judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_loses_nothing() {
    // As root, mosquitto would drop to its own user and could not write the test's directory.
    let mut broker =
        Mosquitto::start_with("persistence true\nautosave_interval 1\nuser root").unwrap();
    network_run_with(&mut broker, 24, |broker| {
        broker.stop();
        std::thread::sleep(Duration::from_secs(2));
        broker.restart().unwrap();
    })
    .await;
}
