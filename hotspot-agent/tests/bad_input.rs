//! Bad input never crashes the agent: garbage UDP datagrams, unparseable rxpk, malformed and
//! oversized entropy messages, entropy not signed by the configured oracle. Each is ignored
//! (and logged), and the agent goes on witnessing and beaconing.

mod common;

use std::time::Duration;

use common::*;
use hexproof_fixtures::servers::{Mosquitto, Subscriber};
use hexproof_proto::{Keypair, Signed, topics, v1::WitnessReport};
use prost::Message;

#[test]
fn garbage_is_ignored_and_the_agent_keeps_working() {
    let broker = Mosquitto::start().unwrap();
    let sub = Subscriber::start(&broker, "hexproof/v1/#").unwrap();
    let oracle = oracle();
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let mut agent = AgentProcess::start(&AgentSetup {
        dir: dir.path(),
        broker: &broker.url(),
        udp_port: port,
        oracles: vec![oracle.public()],
        beacon_interval_secs: 1,
        beacon_enabled: true,
    });
    let mut fwd = Forwarder::connect(port);
    fwd.pull_data(Duration::from_secs(10));

    // Garbage datagrams.
    fwd.send_raw(&[]);
    fwd.send_raw(&[2]);
    fwd.send_raw(&[2, 0, 1, 0]);
    fwd.send_raw(&[9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
    fwd.send_raw(&vec![0xFF; 60_000]);
    let mut push = vec![2, 0, 7, 0];
    push.extend_from_slice(&GATEWAY_MAC);
    for body in [
        &b"{not json"[..],
        br#"{"rxpk":[{"freq":"x"}]}"#,
        br#"{"rxpk":[{"tmst":1,"chan":2,"rfch":0,"freq":868.1,"stat":1,"modu":"LORA","datr":"SF99BW1","codr":"4/5","rssi":-80,"lsnr":1.0,"size":3,"data":"AAAA"}]}"#,
        br#"{"rxpk":[{"tmst":1,"chan":2,"rfch":0,"freq":868.1,"stat":1,"modu":"LORA","datr":"SF9BW125","codr":"4/5","rssi":-80,"lsnr":1.0,"size":3,"data":"!!not base64!!"}]}"#,
        br#"{"rxpk":[{"tmst":1,"chan":2,"rfch":0,"freq":1e308,"stat":1,"modu":"LORA","datr":"SF9BW125","codr":"4/5","rssi":-80,"lsnr":1.0,"size":35,"data":"SFgBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]}"#,
    ] {
        let mut p = push.clone();
        p.extend_from_slice(body);
        fwd.send_raw(&p);
    }

    // Bad entropy: random bytes, an oversized message, and well-formed entropy signed by a
    // key that is not the configured oracle's.
    broker
        .publish(topics::ENTROPY, &[0xDE, 0xAD, 0xBE, 0xEF, 0x01], false)
        .unwrap();
    broker
        .publish(topics::ENTROPY, &vec![0x0A; 20_000], false)
        .unwrap();
    let impostor = Keypair::from_secret([0x66; 32]);
    broker
        .publish(topics::ENTROPY, &entropy(&impostor, 99, 600), true)
        .unwrap();

    // With no acceptable entropy the agent must not beacon.
    assert!(
        fwd.recv_pull_resp(Duration::from_secs(3)).is_none(),
        "beaconed without valid entropy\n{}",
        agent.log()
    );
    assert!(agent.is_running(), "agent died\n{}", agent.log());
    let log = agent.log();
    assert!(log.contains("not a configured oracle"), "{log}");
    assert!(log.contains("over the 1024-byte limit"), "{log}");
    assert!(log.contains("unparseable UDP datagram"), "{log}");

    // It still witnesses...
    let heard = beacon_packet(3);
    fwd.push_rxpk(&rxpk(&heard, 868.1, -110, -7.0));
    let witness_topic = topics::witnesses(&agent.pubkey);
    let messages = sub.wait_for(Duration::from_secs(10), |m| {
        m.iter().any(|m| m.topic == witness_topic)
    });
    let w = messages
        .iter()
        .find(|m| m.topic == witness_topic)
        .expect("a witness");
    let w = WitnessReport::decode(w.payload.as_slice()).unwrap();
    assert_eq!(w.payload, heard);
    assert!(w.verify().is_ok());

    // ...and beacons once the real oracle's entropy arrives.
    broker
        .publish(topics::ENTROPY, &entropy(&oracle, 1, 600), true)
        .unwrap();
    let (token, txpk) = fwd
        .recv_pull_resp(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no beacon after valid entropy\n{}", agent.log()));
    assert!(txpk["data"].is_string());
    fwd.tx_ack(token, "NONE");
    assert!(agent.is_running());
}
