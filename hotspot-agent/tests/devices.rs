//! LoRaWAN devices on the simulated medium, hotspots reporting what they hear, through a real
//! mosquitto: every packet report is signed by the hotspot of its topic and carries a frame a
//! device sent (checked by identity: the test network server holds the devices' keys, checks
//! each frame's MIC and counter and decrypts exactly the payload the device sent). A device too
//! far from every hotspot is heard by none.

use std::{collections::BTreeMap, time::Duration};

use hexproof_fixtures::{
    Network, NetworkSpec,
    devices::{self, NetworkServer, Placed},
    servers::{Mosquitto, Subscriber},
};
use hexproof_proto::{Signed, clock::Clock, topics, v1::PacketReport};
use hotspot_agent::{
    devices::DeviceConfig,
    swarm::{Swarm, SwarmConfig},
};
use prost::Message;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotspots_report_every_device_frame_they_hear_and_nothing_else() {
    let broker = Mosquitto::start().unwrap();
    let sub = Subscriber::start(&broker, "hexproof/v1/packets/+").unwrap();
    let network = Network::generate(&NetworkSpec::new(29, 12)).unwrap();
    let mut placed = devices::around(&network, 8, 0x4800_0000, "devices-test");
    // One device in the middle of the ocean: nobody hears it.
    let lost = Placed {
        device: devices::Device::derive("devices-test", 0x4800_0000, 99),
        lat: -40.0,
        lon: -120.0,
        region: "US915".into(),
    };
    placed.push(lost.clone());
    let state = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    // 60 network seconds a second: a device sends every second, hotspots beacon rarely.
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
    let sent_by_devices = swarm.devices.clone();
    let run = tokio::spawn(swarm.run(Duration::from_secs(1), shutdown.clone()));
    tokio::time::sleep(Duration::from_secs(8)).await;
    shutdown.cancel();
    let totals = run.await.unwrap();
    let messages = tokio::task::spawn_blocking(move || {
        sub.wait_for(Duration::from_secs(10), |m| {
            m.len() as u64 >= totals.packets
        })
    })
    .await
    .unwrap();

    let sent = sent_by_devices.sent();
    assert!(sent.len() >= 40, "devices sent {} frames", sent.len());
    let mut ns = NetworkServer::new(placed.iter().map(|p| p.device.clone()));
    // Each distinct frame once (the network server refuses a counter twice), with its copies.
    let mut copies: BTreeMap<Vec<u8>, Vec<hexproof_proto::PublicKey>> = BTreeMap::new();
    for m in &messages {
        let report = PacketReport::decode(m.payload.as_slice()).unwrap();
        let signer = report.verify().expect("signed by its hotspot");
        assert_eq!(m.topic, topics::packets(&signer), "on its own topic");
        assert!(
            network.hotspots.iter().any(|h| h.key.pubkey == signer),
            "a hotspot of the network"
        );
        assert!(report.rssi_ddbm < 0, "{}", report.rssi_ddbm);
        copies.entry(report.payload).or_default().push(signer);
    }
    assert!(!copies.is_empty(), "no device frame was reported");
    let mut frames: Vec<_> = copies.into_iter().collect();
    // In the order the devices counted: the network server takes counters forward only.
    let order = |f: &Vec<u8>| {
        (
            u32::from_le_bytes(f[1..5].try_into().unwrap()),
            u16::from_le_bytes(f[6..8].try_into().unwrap()),
        )
    };
    frames.sort_by_key(|(f, _)| order(f));
    let mut heard_by_several = 0;
    for (frame, hotspots) in &frames {
        let got = ns.receive(frame).expect("a frame a device made");
        assert!(
            sent.contains(&(got.dev_addr, got.fcnt)),
            "{:08x}/{} was never sent",
            got.dev_addr,
            got.fcnt
        );
        assert_eq!(got.payload, devices::payload(got.dev_addr, got.fcnt, 20));
        assert_ne!(
            got.dev_addr, lost.device.dev_addr,
            "nobody hears the lost device"
        );
        let mut distinct = hotspots.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            hotspots.len(),
            "one report per hotspot per frame"
        );
        heard_by_several += usize::from(hotspots.len() > 1);
    }
    assert!(
        sent.iter().any(|(a, _)| *a == lost.device.dev_addr),
        "the lost device did send"
    );
    assert!(
        heard_by_several > 0,
        "devices in a city are heard by several hotspots"
    );
}
