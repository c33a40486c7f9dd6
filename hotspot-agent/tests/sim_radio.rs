//! Two agents on the simulated medium, through a real mosquitto: one beacons with the oracle's
//! entropy, the other hears it and publishes a witness; every report verifies.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hexproof_fixtures::{
    Network, NetworkSpec,
    servers::{Mosquitto, Subscriber},
};
use hexproof_proto::clock::Clock;
use hexproof_proto::{
    Signed, topics,
    v1::{BeaconReport, Entropy, WitnessReport},
};
use hotspot_agent::{
    config::BeaconConfig,
    mqtt::MqttConfig,
    radio::sim::MediumModel,
    swarm::{Swarm, SwarmConfig},
};
use prost::Message;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beacon_is_witnessed_by_a_neighbour() {
    let broker = Mosquitto::start().unwrap();
    let sub = Subscriber::start(&broker, "hexproof/v1/#").unwrap();
    let mut spec = NetworkSpec::new(11, 2);
    spec.radius_m = 400;
    let network = Network::generate(&spec).unwrap();
    let oracle = network.oracles[0].keypair().unwrap();
    let entropy = Entropy {
        id: 1,
        data: vec![7; 32],
        timestamp_ns: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
        ttl_secs: 600,
        ..Default::default()
    }
    .signed(&oracle);
    broker
        .publish(topics::ENTROPY, &entropy.encode_to_vec(), true)
        .unwrap();

    let state = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let swarm = Swarm::start(
        SwarmConfig {
            network: network.clone(),
            mqtt: MqttConfig {
                url: broker.url(),
                ..Default::default()
            },
            state_dir: state.path().to_path_buf(),
            beacon: BeaconConfig {
                enabled: true,
                interval_secs: 2,
                jitter_secs: 1,
            },
            oracles: vec![],
            clock: Clock::system(),
            medium: MediumModel::default(),
            medium_seed: 3,
            sync: false,
            record_acks: true,
            devices: Vec::new(),
            device_config: Default::default(),
        },
        &shutdown,
    )
    .unwrap();
    let run = tokio::spawn(swarm.run(Duration::from_secs(1), shutdown.clone()));

    let keys: Vec<_> = network.hotspots.iter().map(|h| h.key.pubkey).collect();
    let witnessed = move |messages: &[hexproof_fixtures::servers::Message]| {
        let beacons: Vec<BeaconReport> = messages
            .iter()
            .filter(|m| m.topic.starts_with("hexproof/v1/beacons/"))
            .filter_map(|m| BeaconReport::decode(m.payload.as_slice()).ok())
            .collect();
        messages
            .iter()
            .filter(|m| m.topic.starts_with("hexproof/v1/witnesses/"))
            .filter_map(|m| WitnessReport::decode(m.payload.as_slice()).ok())
            .any(|w| {
                beacons
                    .iter()
                    .any(|b| b.payload == w.payload && b.hotspot != w.witness)
            })
    };
    let messages =
        tokio::task::spawn_blocking(move || sub.wait_for(Duration::from_secs(30), witnessed))
            .await
            .unwrap();
    shutdown.cancel();
    let totals = run.await.unwrap();

    let mut pairs = 0;
    for m in &messages {
        if m.topic == topics::ENTROPY {
            continue;
        }
        let (signer, payload) = if m.topic.starts_with("hexproof/v1/beacons/") {
            let b = BeaconReport::decode(m.payload.as_slice()).unwrap();
            assert_eq!(b.entropy_id, 1);
            (b.verify().unwrap(), b.payload)
        } else {
            let w = WitnessReport::decode(m.payload.as_slice()).unwrap();
            assert!(w.rssi_ddbm < 0 && w.rssi_ddbm > -1400, "{}", w.rssi_ddbm);
            (w.verify().unwrap(), w.payload)
        };
        assert!(keys.contains(&signer));
        // Published under the signer's own topic.
        assert!(m.topic.ends_with(&signer.to_string()));
        if m.topic.starts_with("hexproof/v1/witnesses/") {
            pairs += usize::from(messages.iter().any(|b| {
                b.topic.starts_with("hexproof/v1/beacons/")
                    && BeaconReport::decode(b.payload.as_slice()).unwrap().payload == payload
            }));
        }
    }
    assert!(pairs >= 1, "no witness matched a beacon: {messages:?}");
    assert!(totals.beacons >= 1 && totals.witnesses >= 1, "{totals:?}");
}
