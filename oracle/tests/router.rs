//! The packet path end to end through a real mosquitto: LoRaWAN devices on the simulated
//! medium, hotspots reporting what they hear, the oracle's router buying copies for the route
//! that owns each device and forwarding them over Semtech UDP to a network server built on the
//! same codec with the devices' keys. Every delivered frame is one a device sent (MIC, counter
//! and payload checked by identity), no packet has more copies than `max_copies`, frames of
//! devices in no route and frames nobody heard are never delivered, and a network server that
//! is away for a while gets every bought copy once it is back, none bought twice.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use hexproof_fixtures::{
    Network, NetworkSpec,
    devices::{self, NetworkServer, Placed},
    servers::Mosquitto,
};
use hexproof_poc::packets::{Org, Route, RouterLimits, RoutingTable};
use hexproof_proto::v1::{self, explorer_client::ExplorerClient};
use hexproof_proto::{Keypair, PublicKey, Signed, clock::Clock, mqtt::MqttConfig};
use hotspot_agent::{
    devices::DeviceConfig,
    swarm::{Swarm, SwarmConfig},
};
use oracle::{
    explorer::{Explorer, ExplorerConfig, grpc, web},
    registry::StaticRegistry,
    router::{self, PacketRouter, RouterConfig, RouterJob, lns::gateway_eui},
    store::Store,
};
use prost::Message;
use semtech_udp::SerializablePacket;
use tokio_util::sync::CancellationToken;

const ROUTED: u32 = 0x4800_0000;
const UNROUTED: u32 = 0x2600_0000;

/// A network server on UDP: takes PUSH_DATA, keeps (gateway, frame), answers PUSH_ACK while
/// `up`; while down it is silent, as a server that went away.
struct TestLns {
    port: u16,
    up: Arc<AtomicBool>,
    received: Arc<Mutex<Vec<Arrived>>>,
}

/// A copy as a network server sees it: the gateway it came from and the frame.
type Arrived = ([u8; 8], Vec<u8>);

async fn test_lns() -> TestLns {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let up = Arc::new(AtomicBool::new(false));
    let received = Arc::new(Mutex::new(Vec::new()));
    let (u, r) = (up.clone(), received.clone());
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 65_536];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buffer).await else {
                break;
            };
            if !u.load(Ordering::SeqCst) {
                continue;
            }
            let Ok(semtech_udp::Up::PushData(push)) =
                semtech_udp::Packet::parse_uplink(&buffer[..n])
            else {
                continue;
            };
            for rxpk in push.data.rxpk.iter().flatten() {
                r.lock()
                    .unwrap()
                    .push((push.gateway_mac.into_array(), rxpk.data().clone()));
            }
            let mut ack = vec![0u8; 64];
            let n = push.into_ack().serialize(&mut ack).unwrap() as usize;
            let _ = socket.send_to(&ack[..n], from).await;
        }
    });
    TestLns { port, up, received }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_frames_reach_their_network_server_bought_at_most_max_copies() {
    let broker = Mosquitto::start().unwrap();
    let network = Network::generate(&NetworkSpec::new(29, 12)).unwrap();
    let mut placed = devices::around(&network, 8, ROUTED, "router-test");
    let unrouted = devices::around(&network, 3, UNROUTED, "router-test-unrouted");
    let lost = Placed {
        device: devices::Device::derive("router-test", ROUTED, 99),
        lat: -40.0,
        lon: -120.0,
        region: "US915".into(),
    };
    placed.extend(unrouted.iter().cloned());
    placed.push(lost.clone());

    let lns = test_lns().await;
    let table = RoutingTable::new(
        [Org {
            oui: 1,
            owner: Keypair::from_secret([1; 32]).public(),
            payer: Keypair::from_secret([2; 32]).public(),
            enabled: true,
            credits: None,
        }],
        [Route {
            id: 7,
            oui: 1,
            max_copies: 2,
            dev_addrs: vec![(ROUTED, ROUTED + 0xff)],
            euis: vec![],
            session_keys: vec![],
            lns: format!("udp://127.0.0.1:{}", lns.port),
            active: true,
        }],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("r.db").display()))
        .await
        .unwrap();
    let key = Keypair::from_secret([9; 32]);
    let registry = Arc::new(StaticRegistry::from_file(&network.registry(0)).unwrap());
    let router = PacketRouter::new(
        table,
        RouterLimits::default(),
        key.clone(),
        registry.clone(),
        Clock::system(),
    );
    let counts = router.counts();
    let router_counts = counts.clone();
    let stop_router = CancellationToken::new();
    let job = tokio::spawn(router::run(
        RouterJob {
            router,
            store: store.clone(),
            mqtt: MqttConfig {
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
        stop_router.clone(),
    ));

    // The router's session subscribes once connected: reports published before that are not
    // its to see. Junk on a packet topic until one is counted proves it listens.
    let probe_topic = hexproof_proto::topics::packets(&network.hotspots[0].key.pubkey);
    let mut probes = 0u64;
    while counts.lock().unwrap().get("undecodable_report").is_none() {
        assert!(probes < 100, "the router never subscribed");
        broker.publish(&probe_topic, b"probe", false).unwrap();
        probes += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Those published before it subscribed are lost (QoS 0): count the ones it saw.
    let probes = counts.lock().unwrap()["undecodable_report"];

    let state = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let mut config = SwarmConfig::simulated(
        network.clone(),
        &broker.url(),
        state.path().to_path_buf(),
        Clock::accelerated(60),
        3_600,
    );
    config.devices = placed.clone();
    config.device_config = DeviceConfig {
        interval_secs: 60,
        payload_size: 20,
        ..Default::default()
    };
    let swarm = Swarm::start(config, &shutdown).unwrap();
    let sent = swarm.devices.clone();
    let run = tokio::spawn(swarm.run(Duration::from_secs(2), shutdown.clone()));
    // The network server is away for the first three seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let undelivered_while_away = store.undelivered_receipts(10_000).await.unwrap().len();
    lns.up.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(5)).await;
    shutdown.cancel();
    let mut totals = run.await.unwrap();
    // Reports the agents stored but had not yet published when they stopped stay in their
    // outboxes (they go out on the next start): the router cannot have seen them.
    totals.packets -= unpublished_packet_reports(state.path(), &network);

    // Bad input on the packet topics: junk on a hotspot's topic, a hotspot's report on another
    // hotspot's topic, a report from a key nobody registered. Each is refused and counted.
    let a = network.hotspots[0].key.keypair().unwrap();
    let b = network.hotspots[1].key.pubkey;
    let stranger = Keypair::from_secret([77; 32]);
    let frame = placed[0].device.uplink(5_000, 1, b"x", false);
    let report = |key: &Keypair| {
        hexproof_proto::v1::PacketReport {
            payload: frame.clone(),
            timestamp_ns: 1,
            frequency_hz: 868_100_000,
            data_rate: 4,
            rssi_ddbm: -900,
            snr_ddb: 50,
            ..Default::default()
        }
        .signed(key)
        .encode_to_vec()
    };
    let bad = [
        (
            hexproof_proto::topics::packets(&a.public()),
            b"junk".to_vec(),
        ),
        (hexproof_proto::topics::packets(&b), report(&a)),
        (
            hexproof_proto::topics::packets(&stranger.public()),
            report(&stranger),
        ),
    ];
    for (topic, payload) in &bad {
        broker.publish(topic, payload, false).unwrap();
    }
    totals.packets += bad.len() as u64 + probes;
    // Everything reported is bought or dropped, everything bought delivered.
    let mut waited = 0;
    let mut settled = false;
    let (mut handled, mut undelivered) = (0, 0);
    while waited < 300 {
        let refused: u64 = counts.lock().unwrap().values().sum();
        handled = refused + store.receipts_between(0, u64::MAX).await.unwrap().len() as u64;
        undelivered = store.undelivered_receipts(10).await.unwrap().len();
        if handled >= totals.packets && undelivered == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    stop_router.cancel();
    job.await.unwrap();
    assert!(
        settled,
        "every report bought or refused, every bought copy delivered: {handled} of {} \
         handled, {undelivered} undelivered; refused {:?}",
        totals.packets,
        counts.lock().unwrap()
    );

    assert!(
        undelivered_while_away > 0,
        "copies waited while the network server was away"
    );
    let receipts = store.receipts_between(0, u64::MAX).await.unwrap();
    assert!(
        !receipts.is_empty(),
        "nothing was bought: {:?}",
        counts.lock().unwrap()
    );
    assert!(
        receipts.iter().all(|r| r.delivered_ns.is_some()),
        "every bought copy delivered"
    );

    // Receipts: signed by the router, for a copy its hotspot signed; at most max_copies per
    // packet, one per hotspot.
    let mut per_packet: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for r in &receipts {
        assert_eq!(
            hexproof_proto::receipts::verify_receipt(&r.receipt).unwrap(),
            key.public()
        );
        assert_eq!(hexproof_proto::receipts::receipt_id(&r.receipt), r.id);
        let heard_by = r.report.verify().unwrap();
        assert_eq!(heard_by.to_bytes().to_vec(), r.receipt.hotspot);
        assert_eq!(r.receipt.route_id, 7);
        assert!(
            per_packet
                .entry(r.receipt.payload_hash.clone())
                .or_default()
                .insert(r.receipt.hotspot.clone()),
            "a copy bought twice"
        );
    }
    assert!(per_packet.values().all(|h| h.len() <= 2), "max_copies 2");
    assert!(
        per_packet.values().any(|h| h.len() == 2),
        "packets heard twice get two copies"
    );

    // The network server's side: each copy bought arrived (by gateway and frame); every frame
    // is one a device sent, decrypted to exactly its payload.
    let received = lns.received.lock().unwrap().clone();
    let arrived: BTreeSet<([u8; 8], Vec<u8>)> = received.iter().cloned().collect();
    for r in &receipts {
        let hotspot = PublicKey::try_from(r.receipt.hotspot.as_slice()).unwrap();
        assert!(
            arrived.contains(&(gateway_eui(&hotspot), r.report.payload.clone())),
            "a bought copy never reached the network server"
        );
    }
    let bought: BTreeSet<([u8; 8], Vec<u8>)> = receipts
        .iter()
        .map(|r| {
            let hotspot = PublicKey::try_from(r.receipt.hotspot.as_slice()).unwrap();
            (gateway_eui(&hotspot), r.report.payload.clone())
        })
        .collect();
    assert_eq!(arrived, bought, "exactly the bought copies arrive");
    let mut frames: Vec<Vec<u8>> = arrived.iter().map(|(_, f)| f.clone()).collect();
    frames.sort_by_key(|f| {
        (
            u32::from_le_bytes(f[1..5].try_into().unwrap()),
            u16::from_le_bytes(f[6..8].try_into().unwrap()),
        )
    });
    frames.dedup();
    let mut ns = NetworkServer::new(placed.iter().map(|p| p.device.clone()));
    let sent = sent.sent();
    for frame in &frames {
        let got = ns.receive(frame).expect("a frame a device made");
        assert!(sent.contains(&(got.dev_addr, got.fcnt)));
        assert_eq!(got.payload, devices::payload(got.dev_addr, got.fcnt, 20));
        assert!(
            (ROUTED..=ROUTED + 0xff).contains(&got.dev_addr),
            "only the route's devices"
        );
        assert_ne!(
            got.dev_addr, lost.device.dev_addr,
            "nobody heard the lost device"
        );
    }
    assert!(
        sent.iter()
            .any(|(a, _)| (UNROUTED..UNROUTED + 3).contains(a)),
        "the unrouted devices sent"
    );
    let counts = counts.lock().unwrap().clone();
    assert!(
        counts.get("no_route").copied().unwrap_or(0) > 0,
        "{counts:?}"
    );
    assert!(
        counts.get("copies_full").copied().unwrap_or(0) > 0,
        "{counts:?}"
    );

    // The explorer (gRPC and HTTP) counts each hotspot's and each route's packets by the
    // receipts: bought and delivered copies are exactly the stored ones, and every report
    // taken from a registered key with a valid signature is counted heard once.
    let stop = CancellationToken::new();
    let (explorer, _) = Explorer::load_with(
        store.clone(),
        registry.clone(),
        ExplorerConfig::default(),
        stop.clone(),
    )
    .await
    .unwrap();
    let g = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let h = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (grpc_port, http_port) = (
        g.local_addr().unwrap().port(),
        h.local_addr().unwrap().port(),
    );
    tokio::spawn(grpc::serve(explorer.clone(), g, stop.clone()));
    tokio::spawn(web::serve(explorer.clone(), h, stop.clone()));
    let mut client = ExplorerClient::connect(format!("http://127.0.0.1:{grpc_port}"))
        .await
        .unwrap();
    let mut by_hotspot: BTreeMap<PublicKey, u64> = BTreeMap::new();
    for r in &receipts {
        *by_hotspot
            .entry(PublicKey::try_from(r.receipt.hotspot.as_slice()).unwrap())
            .or_default() += 1;
    }
    let mut heard = 0;
    for h in &network.hotspots {
        let p = client
            .get_hotspot_packets(v1::GetHotspotPacketsRequest {
                pubkey: h.key.pubkey.to_string(),
            })
            .await
            .unwrap()
            .into_inner();
        let bought = by_hotspot.get(&h.key.pubkey).copied().unwrap_or(0);
        assert_eq!(
            (p.bought, p.delivered),
            (bought, bought),
            "{}",
            h.key.pubkey
        );
        assert!(p.heard >= p.bought);
        heard += p.heard;
    }
    // Heard: every report taken, but those refused before their signature was checked and a
    // hotspot's copies it had offered already or sent past its rate.
    let counts = router_counts.lock().unwrap().clone();
    let handled = counts.values().sum::<u64>() + receipts.len() as u64;
    let not_heard: u64 = [
        "undecodable_report",
        "topic_mismatch",
        "unregistered",
        "bad_signature",
        "not_packet_topic",
        "bad_radio",
        "duplicate",
        "rate_limited",
        "oversized",
        "undecodable",
        "not_uplink",
    ]
    .iter()
    .filter_map(|c| counts.get(c))
    .sum();
    assert_eq!(
        heard,
        handled - not_heard,
        "each packet heard once per hotspot"
    );
    let stranger_packets = client
        .get_hotspot_packets(v1::GetHotspotPacketsRequest {
            pubkey: stranger.public().to_string(),
        })
        .await;
    assert_eq!(stranger_packets.unwrap_err().code(), tonic::Code::NotFound);
    let routes = client
        .list_route_packets(v1::ListRoutePacketsRequest {})
        .await
        .unwrap()
        .into_inner()
        .routes;
    // Data credits: each copy costs its org one per started 24 bytes (receipt by receipt).
    let dc: u64 = receipts
        .iter()
        .map(|r| hexproof_commitment::packet_dc(r.receipt.payload_size))
        .sum();
    let expected = v1::RoutePackets {
        route_id: 7,
        oui: 1,
        packets: per_packet.len() as u64,
        bought: receipts.len() as u64,
        delivered: receipts.len() as u64,
        dc,
    };
    assert_eq!(routes, vec![expected]);
    let (code, body) = common::http_status(http_port, "/api/routes").await;
    assert_eq!(code, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["routes"][0]["bought"], expected.bought);
    assert_eq!(json["routes"][0]["packets"], expected.packets);
    let busiest = by_hotspot.iter().max_by_key(|(_, n)| **n).unwrap();
    let (code, body) =
        common::http_status(http_port, &format!("/api/hotspots/{}/packets", busiest.0)).await;
    assert_eq!(code, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["bought"], *busiest.1);
    // The map's hexes count the copies their hotspots carried: every copy, in its hex.
    let (code, body) = common::http_status(http_port, "/api/hexes?res=7&page_size=1000").await;
    assert_eq!(code, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let carried: u64 = json["hexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["packets"].as_u64().unwrap())
        .sum();
    assert_eq!(carried, receipts.len() as u64);
    let credits: u64 = json["hexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["dc"].as_u64().unwrap())
        .sum();
    assert_eq!(credits, dc);
    // The org's charges are those credits (no chain here: nothing bought on chain).
    let (code, body) = common::http_status(http_port, "/api/orgs").await;
    assert_eq!(code, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["orgs"][0]["dc_charged"], dc);
    stop.cancel();
}

/// Packet reports still waiting in the hotspots' outboxes under `state_dir`.
fn unpublished_packet_reports(state_dir: &std::path::Path, network: &Network) -> u64 {
    let mut n = 0;
    for h in &network.hotspots {
        let dir = state_dir.join(h.key.pubkey.to_string());
        let outbox = hotspot_agent::outbox::Outbox::open(&dir, 100_000, false).unwrap();
        let mut seq = 0;
        while let Some(s) = outbox.next_from(seq) {
            if let Some(entry) = outbox.get(s).unwrap()
                && hexproof_proto::topics::packets_of(&entry.topic).is_some()
            {
                n += 1;
            }
            seq = s + 1;
        }
    }
    n
}
