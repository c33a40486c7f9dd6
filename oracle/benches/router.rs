//! The packet router's throughput next to raw ed25519 verification of the same reports, in the
//! same run, on one core each (the router keeps one memory of packets, so it runs on one).
//!
//! Run: `cargo bench -p oracle --bench router` (prints the figures).
//!
//! Then the latency from a hotspot's MQTT client to the network server, through everything
//! the router job does in production: Debian's mosquitto, the router's persistent session,
//! receipts stored in SQLite before the broker is acknowledged, the forwarder reading them
//! back and sending Semtech UDP PUSH_DATA to a network server that acknowledges each. The
//! load: 200 hotspot connections publishing 1,000 reports/s (5 each) together for 15 s, each packet
//! heard by two hotspots; the latency of a copy is from its report's publish to its arrival
//! at the network server (goal: p99 under 100 ms).
//!
//! - raw: `verify_strict` over each packet report's exact signed bytes, keys already parsed:
//!   the physical limit of the work (every report's signature must be checked).
//! - router: what the router job does per MQTT message, without the broker and the database:
//!   topic, registry, decode, signature (`PacketRouter::handle`: then the frame decoded with
//!   ChirpStack's codec, dedupe, route lookup, `max_copies`, a receipt per copy bought), the
//!   receipts signed in batches of 256 reports' copies (`PacketRouter::sign`: one signature and a
//!   Merkle proof each, as the router job stores them), and the Semtech UDP PUSH_DATA datagram
//!   built for each bought copy (`lns::push_data`).
//!
//! The load: 2,000 hotspots, 10,000 packets of 2,000 devices, each heard by 4 hotspots; one
//! route takes them all with `max_copies` 2, so half the copies are bought.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hexproof_fixtures::devices::{Device, payload};
use hexproof_poc::{
    HotspotInfo,
    packets::{Org, Route, RouterLimits, RoutingTable},
};
use hexproof_proto::{
    Keypair, PublicKey, Signed,
    clock::Clock,
    region, topics,
    v1::{DataRate, PacketReport},
};
use oracle::{
    registry::StaticRegistry,
    router::{self, PacketRouter, RouterConfig, RouterJob, lns},
    store::{Store, StoredReceipt},
};
use prost::Message;

const HOTSPOTS: usize = 2_000;
const DEVICES: u32 = 2_000;
const PACKETS: u32 = 10_000;
const COPIES: usize = 4;

fn main() {
    let keys: Vec<Keypair> = (0..HOTSPOTS)
        .map(|i| {
            let mut secret = [3u8; 32];
            secret[..8].copy_from_slice(&(i as u64).to_le_bytes());
            Keypair::from_secret(secret)
        })
        .collect();
    let registry = registry_of(&keys);
    let devices: Vec<Device> = (0..DEVICES)
        .map(|n| Device::derive("bench", 0x4800_0000, n))
        .collect();
    let mut messages: Vec<(String, Vec<u8>)> = Vec::with_capacity(PACKETS as usize * COPIES);
    for p in 0..PACKETS {
        let d = &devices[(p % DEVICES) as usize];
        let fcnt = p / DEVICES;
        let frame = d.uplink(fcnt, 1, &payload(d.dev_addr, fcnt, 20), false);
        for c in 0..COPIES {
            let key = &keys[(p as usize * 7 + c * 131) % HOTSPOTS];
            let report = PacketReport {
                payload: frame.clone(),
                timestamp_ns: 1_000 + u64::from(p),
                frequency_hz: 868_100_000,
                data_rate: DataRate::Sf9bw125 as i32,
                rssi_ddbm: -1_000,
                snr_ddb: 40,
                ..Default::default()
            }
            .signed(key);
            messages.push((topics::packets(&key.public()), report.encode_to_vec()));
        }
    }
    println!(
        "router bench: {HOTSPOTS} hotspots, {PACKETS} packets of {DEVICES} devices, {COPIES} copies each \
         ({} reports), one route of max_copies 2",
        messages.len()
    );

    // Raw: the signature checks alone.
    let decoded: Vec<(
        ed25519_dalek::VerifyingKey,
        Vec<u8>,
        ed25519_dalek::Signature,
    )> = messages
        .iter()
        .map(|(_, bytes)| {
            let r = PacketReport::decode(bytes.as_slice()).expect("a report");
            let (signer, signature) = r.signature_parts().expect("well formed");
            (
                signer.verifying_key().expect("a key"),
                r.signing_bytes(),
                signature,
            )
        })
        .collect();
    let t = Instant::now();
    for (key, bytes, signature) in &decoded {
        key.verify_strict(bytes, signature).expect("valid");
    }
    let raw = decoded.len() as f64 / t.elapsed().as_secs_f64();

    // The router.
    let table = RoutingTable::new(
        [Org {
            oui: 1,
            owner: PublicKey::from([1; 32]),
            payer: PublicKey::from([2; 32]),
            enabled: true,
            credits: None,
        }],
        [Route {
            id: 1,
            oui: 1,
            max_copies: 2,
            dev_addrs: vec![(0x4800_0000, 0x48ff_ffff)],
            euis: vec![],
            session_keys: vec![],
            lns: "udp://127.0.0.1:1700".into(),
            active: true,
        }],
    )
    .expect("a table");
    let mut router = PacketRouter::new(
        table,
        RouterLimits {
            hotspot_burst: 1_000_000,
            ..Default::default()
        },
        Keypair::from_secret([9; 32]),
        registry.clone(),
        Clock::system(),
    );
    let (mut bought, mut datagram_bytes) = (0usize, 0usize);
    // As the router job: the copies bought by a batch of reports are signed with one signature.
    let mut batch = Vec::new();
    let t = Instant::now();
    for chunk in messages.chunks(STORE_BATCH) {
        for (topic, bytes) in chunk {
            if let Ok(receipts) = router.handle(topic, bytes) {
                batch.extend(receipts);
            }
        }
        router.sign(&mut batch);
        for (receipt, report) in batch.drain(..) {
            let copy = StoredReceipt {
                id: [0; 32],
                receipt,
                report,
                delivered_ns: None,
                attempts: 0,
            };
            datagram_bytes += lns::push_data(&copy, 1).map_or(0, |d| d.len());
            bought += 1;
        }
    }
    let routed = messages.len() as f64 / t.elapsed().as_secs_f64();
    let counts = router.counts();
    println!(
        "raw ed25519 verification: {raw:>9.0} reports/s (one core)\n\
         router:                    {routed:>9.0} reports/s (one core): decode, signature, \
         dedupe, route, {bought} copies bought and signed, {datagram_bytes} bytes of PUSH_DATA; \
         not bought: {:?}\n\
         router / raw: {:.3} (goal >= 0.8)",
        counts.lock().expect("counts"),
        routed / raw
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(latency(&keys[..LATENCY_HOTSPOTS], registry));
}

/// Reports per signed batch (the router job's most).
const STORE_BATCH: usize = 256;
const LATENCY_HOTSPOTS: usize = 200;
const LATENCY_RATE: u64 = 1_000;
const LATENCY_SECS: u64 = 15;

fn registry_of(keys: &[Keypair]) -> Arc<StaticRegistry> {
    Arc::new(StaticRegistry::new(keys.iter().map(|k| HotspotInfo {
        pubkey: k.public(),
        owner: k.public(),
        location: None,
        gain_ddbi: 30,
        elevation_m: 0,
        asserted_at_ns: 0,
        region: region::RegionPlan::by_name("EU868").expect("EU868"),
        placement: None,
    })))
}

/// Hotspot → network server through mosquitto and the router job, at `LATENCY_RATE` reports/s.
async fn latency(keys: &[Keypair], registry: Arc<StaticRegistry>) {
    let broker = hexproof_fixtures::servers::Mosquitto::start().expect("mosquitto");
    // The network server: when each copy arrived, by frame.
    let published: Arc<Mutex<HashMap<Vec<u8>, Instant>>> = Arc::default();
    let arrived: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("udp");
    let port = socket.local_addr().expect("addr").port();
    let (p, a) = (published.clone(), arrived.clone());
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 65_536];
        while let Ok((n, from)) = socket.recv_from(&mut buffer).await {
            let now = Instant::now();
            let Ok(semtech_udp::Up::PushData(push)) =
                semtech_udp::Packet::parse_uplink(&buffer[..n])
            else {
                continue;
            };
            for rxpk in push.data.rxpk.iter().flatten() {
                if let Some(t) = p.lock().expect("published").get(rxpk.data().as_slice()) {
                    a.lock().expect("arrived").push(now - *t);
                }
            }
            let mut ack = vec![0u8; 64];
            if let Ok(n) = semtech_udp::SerializablePacket::serialize(&push.into_ack(), &mut ack) {
                let _ = socket.send_to(&ack[..n as usize], from).await;
            }
        }
    });

    let table = RoutingTable::new(
        [Org {
            oui: 1,
            owner: PublicKey::from([1; 32]),
            payer: PublicKey::from([2; 32]),
            enabled: true,
            credits: None,
        }],
        [Route {
            id: 1,
            oui: 1,
            max_copies: 2,
            dev_addrs: vec![(0x4800_0000, 0x48ff_ffff)],
            euis: vec![],
            session_keys: vec![],
            lns: format!("udp://127.0.0.1:{port}"),
            active: true,
        }],
    )
    .expect("a table");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("r.db").display()))
        .await
        .expect("store");
    let key = Keypair::from_secret([9; 32]);
    let stop = tokio_util::sync::CancellationToken::new();
    let router = PacketRouter::new(
        table,
        RouterLimits::default(),
        key.clone(),
        registry,
        Clock::system(),
    );
    let counts = router.counts();
    let job = tokio::spawn(router::run(
        RouterJob {
            router,
            store: store.clone(),
            mqtt: hexproof_proto::mqtt::MqttConfig {
                url: broker.url(),
                ..Default::default()
            },
            login: None,
            client_id: router::client_id(&key.public()),
            config: RouterConfig {
                enabled: true,
                lns_ack_timeout_ms: 200,
                lns_private: true,
                ..Default::default()
            },
            clock: Clock::system(),
            tables: None,
        },
        stop.clone(),
    ));

    // The hotspots' connections.
    let mut clients = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let mut options =
            rumqttc::MqttOptions::new(format!("bench-hotspot-{i}"), "127.0.0.1", broker.port);
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1_024);
        tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
        clients.push((client, k.clone()));
    }
    // The router subscribes once connected: give it and the clients a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Reports signed beforehand (hotspots sign on their side); each packet heard by two.
    let packets = LATENCY_RATE * LATENCY_SECS / 2;
    let device_count = 1_000u32;
    let devices: Vec<Device> = (0..device_count)
        .map(|n| Device::derive("latency", 0x4800_0000, n))
        .collect();
    let mut load = Vec::with_capacity(packets as usize);
    for p in 0..packets as u32 {
        let d = &devices[(p % device_count) as usize];
        let fcnt = p / device_count;
        let frame = d.uplink(fcnt, 1, &payload(d.dev_addr, fcnt, 20), false);
        let copies: Vec<(usize, Vec<u8>)> = (0..2)
            .map(|c| {
                let h = (p as usize * 3 + c * 37) % clients.len();
                let report = PacketReport {
                    payload: frame.clone(),
                    timestamp_ns: 1_000 + u64::from(p),
                    frequency_hz: 868_100_000,
                    data_rate: DataRate::Sf9bw125 as i32,
                    rssi_ddbm: -1_000,
                    snr_ddb: 40,
                    ..Default::default()
                }
                .signed(&clients[h].1);
                (h, report.encode_to_vec())
            })
            .collect();
        load.push((frame, copies));
    }
    let started = Instant::now();
    let tick = Duration::from_millis(10);
    let per_tick = (LATENCY_RATE / 100 / 2) as usize;
    let mut ticker = tokio::time::interval(tick);
    for chunk in load.chunks(per_tick) {
        ticker.tick().await;
        for (frame, copies) in chunk {
            published
                .lock()
                .expect("published")
                .insert(frame.clone(), Instant::now());
            for (h, bytes) in copies {
                let (client, k) = &clients[*h];
                let _ = client
                    .publish(
                        topics::packets(&k.public()),
                        rumqttc::QoS::AtLeastOnce,
                        false,
                        bytes.clone(),
                    )
                    .await;
            }
        }
    }
    let sending = started.elapsed();
    // Stragglers.
    let expected = packets as usize * 2;
    let deadline = Instant::now() + Duration::from_secs(20);
    while arrived.lock().expect("arrived").len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    let _ = job.await;
    let mut l = arrived.lock().expect("arrived").clone();
    l.sort();
    let at = |q: f64| {
        l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "latency hotspot -> network server: {} reports in {:.1} s ({:.0} reports/s) from {} \
         hotspot connections through mosquitto, {} of {expected} copies arrived; \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (goal: p99 < 100 ms); not bought: {:?}",
        expected,
        sending.as_secs_f64(),
        expected as f64 / sending.as_secs_f64(),
        clients.len(),
        l.len(),
        at(0.5),
        at(0.99),
        at(1.0),
        counts.lock().expect("counts"),
    );
}
