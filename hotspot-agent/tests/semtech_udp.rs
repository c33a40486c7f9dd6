//! The agent against a fake Semtech packet forwarder and a real mosquitto: an rxpk carrying a
//! beacon becomes a signed witness report with the radio's measurements; a beacon goes out as a
//! PULL_RESP txpk, and is reported only when the forwarder's TX_ACK says it was sent.

mod common;

use std::time::Duration;

use common::*;
use hexproof_fixtures::servers::{Mosquitto, Subscriber};
use hexproof_proto::{
    Signed, beacon, region, topics,
    v1::{BeaconReport, DataRate, WitnessReport},
};
use prost::Message;

#[test]
fn rxpk_becomes_witness_and_beacon_becomes_txpk() {
    let broker = Mosquitto::start().unwrap();
    let sub = Subscriber::start(&broker, "hexproof/v1/#").unwrap();
    let oracle = oracle();
    broker
        .publish(topics::ENTROPY, &entropy(&oracle, 1, 600), true)
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let mut agent = AgentProcess::start(&AgentSetup {
        dir: dir.path(),
        broker: &broker.url(),
        udp_port: port,
        oracles: vec![oracle.public()],
        beacon_interval_secs: 2,
        beacon_enabled: true,
    });
    let mut fwd = Forwarder::connect(port);
    fwd.pull_data(Duration::from_secs(10));

    // A neighbour's beacon, heard at -97 dBm, SNR 5.5 dB, on 867.5 MHz.
    let heard = beacon_packet(7);
    fwd.push_rxpk(&rxpk(&heard, 867.5, -97, 5.5));
    // Something that is not a beacon: no witness for it.
    fwd.push_rxpk(&rxpk(b"an ordinary LoRaWAN uplink", 868.1, -80, 9.0));

    let witness_topic = topics::witnesses(&agent.pubkey);
    let messages = sub.wait_for(Duration::from_secs(10), |m| {
        m.iter().any(|m| m.topic == witness_topic)
    });
    let witnesses: Vec<WitnessReport> = messages
        .iter()
        .filter(|m| m.topic == witness_topic)
        .map(|m| WitnessReport::decode(m.payload.as_slice()).unwrap())
        .collect();
    assert_eq!(
        witnesses.len(),
        1,
        "exactly the beacon is witnessed: {witnesses:?}\n{}",
        agent.log()
    );
    let w = &witnesses[0];
    assert_eq!(w.verify(), Ok(agent.pubkey));
    assert_eq!(w.payload, heard);
    assert_eq!(
        (w.rssi_ddbm, w.snr_ddb, w.frequency_hz),
        (-970, 55, 867_500_000)
    );
    assert_eq!(w.data_rate, DataRate::Sf9bw125 as i32);
    assert!(w.timestamp_ns.abs_diff(now_ns()) < 30_000_000_000);

    // The first beacon: the concentrator refuses it (collision), so it must not be reported.
    let (token, refused) = fwd.recv_pull_resp(Duration::from_secs(10)).expect("a txpk");
    let refused_payload = b64decode(refused["data"].as_str().unwrap());
    assert!(beacon::is_beacon(&refused_payload));
    assert_eq!(refused["imme"], true);
    assert_eq!(refused["datr"], "SF9BW125");
    assert_eq!(refused["ipol"], false);
    let freq_hz = (refused["freq"].as_f64().unwrap() * 1e6).round() as u64;
    assert!(region::EU868.has_channel(freq_hz), "{freq_hz}");
    // 14 dBm conducted + 3 dBi antenna would exceed 16 dBm EIRP: the agent backs off to 13.
    assert_eq!(refused["powe"], 13);
    fwd.tx_ack(token, "COLLISION_PACKET");

    // The next one is sent.
    let (token, sent) = fwd
        .recv_pull_resp(Duration::from_secs(10))
        .expect("a second txpk");
    let sent_payload = b64decode(sent["data"].as_str().unwrap());
    fwd.tx_ack(token, "NONE");

    let beacon_topic = topics::beacons(&agent.pubkey);
    let messages = sub.wait_for(Duration::from_secs(10), |m| {
        m.iter().any(|m| m.topic == beacon_topic)
    });
    std::thread::sleep(Duration::from_millis(500));
    let beacons: Vec<BeaconReport> = sub
        .messages()
        .iter()
        .filter(|m| m.topic == beacon_topic)
        .map(|m| BeaconReport::decode(m.payload.as_slice()).unwrap())
        .collect();
    assert!(!messages.is_empty());
    assert_eq!(
        beacons.len(),
        1,
        "only the transmitted beacon is reported\n{}",
        agent.log()
    );
    let b = &beacons[0];
    assert_eq!(b.verify(), Ok(agent.pubkey));
    assert_eq!(b.payload, sent_payload);
    assert_ne!(b.payload, refused_payload);
    assert_eq!(b.entropy_id, 1);
    // The oracle can re-derive the packet from what the report says.
    assert_eq!(
        beacon::derive_packet(
            b.entropy_id,
            &b.entropy_data,
            &b.local_entropy,
            &agent.pubkey
        )
        .to_vec(),
        b.payload
    );
    assert_eq!(b.tx_power_ddbm, 130);
    assert!(agent.is_running());
}
