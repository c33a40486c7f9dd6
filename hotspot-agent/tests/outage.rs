//! Offline durability: reports produced while the broker is down survive a `kill -9` of the
//! agent and arrive, exactly as signed, once agent and broker are back. Nothing is lost and
//! nothing is sent twice.

mod common;

use std::{collections::BTreeSet, time::Duration};

use common::*;
use hexproof_fixtures::servers::{Mosquitto, Subscriber};
use hexproof_proto::{Signed, topics, v1::WitnessReport};
use prost::Message;

#[test]
fn broker_outage_and_kill_9_lose_nothing() {
    let mut broker = Mosquitto::start().unwrap();
    let sub = Subscriber::start(&broker, "hexproof/v1/witnesses/#").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let mut agent = AgentProcess::start(&AgentSetup {
        dir: dir.path(),
        broker: &broker.url(),
        udp_port: port,
        oracles: vec![],
        beacon_interval_secs: 3600,
        beacon_enabled: false,
    });
    let mut fwd = Forwarder::connect(port);
    fwd.pull_data(Duration::from_secs(10));
    let topic = topics::witnesses(&agent.pubkey);

    // Online: 5 witnesses go straight through.
    for i in 0..5u8 {
        fwd.push_rxpk(&rxpk(&beacon_packet(i), 868.1, -100 - i32::from(i), 2.0));
    }
    let online = sub.wait_for(Duration::from_secs(10), |m| m.len() >= 5);
    assert_eq!(online.len(), 5, "{}", agent.log());
    // The broker delivers before the agent has processed its PUBACK: give it a moment.
    assert!(
        wait_for_empty_outbox(&agent),
        "acknowledged reports leave the outbox"
    );

    // The broker dies; 10 more beacons are heard and wait in the outbox.
    broker.kill();
    drop(sub);
    for i in 5..15u8 {
        fwd.push_rxpk(&rxpk(&beacon_packet(i), 868.1, -100 - i32::from(i), 2.0));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while agent.outbox_files().len() < 10 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stored: Vec<Vec<u8>> = agent
        .outbox_files()
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    assert_eq!(stored.len(), 10, "{}", agent.log());

    // Power cut.
    agent.kill9();

    // Everything comes back; the subscriber is listening before the agent reconnects.
    broker.restart().unwrap();
    let sub = Subscriber::start(&broker, "hexproof/v1/witnesses/#").unwrap();
    agent.restart();
    sub.wait_for(Duration::from_secs(20), |m| m.len() >= 10);
    // Give a duplicate, if any were sent, time to show up.
    std::thread::sleep(Duration::from_millis(500));
    let arrived = sub.messages();
    assert_eq!(
        arrived.len(),
        10,
        "each stored report exactly once\n{}",
        agent.log()
    );
    assert!(arrived.iter().all(|m| m.topic == topic));
    let after: BTreeSet<Vec<u8>> = arrived.into_iter().map(|m| m.payload).collect();

    // Exactly the bytes that were signed and stored before the crash.
    let expected: BTreeSet<Vec<u8>> = stored
        .iter()
        .map(|file| {
            let topic_len = u16::from_be_bytes([file[0], file[1]]) as usize;
            assert_eq!(&file[2..2 + topic_len], topic.as_bytes());
            file[2 + topic_len..].to_vec()
        })
        .collect();
    assert_eq!(after, expected);
    let payloads: BTreeSet<Vec<u8>> = after
        .iter()
        .map(|bytes| {
            let w = WitnessReport::decode(bytes.as_slice()).unwrap();
            assert_eq!(w.verify(), Ok(agent.pubkey));
            w.payload
        })
        .collect();
    let heard: BTreeSet<Vec<u8>> = (5..15u8).map(beacon_packet).collect();
    assert_eq!(
        payloads, heard,
        "every beacon heard during the outage arrived"
    );
    assert!(wait_for_empty_outbox(&agent));
}

fn wait_for_empty_outbox(agent: &AgentProcess) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if agent.outbox_files().is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
