//! Forged input through `mosquitto_pub` (a client nobody here wrote) against a running oracle:
//! random bytes, reports signed by the wrong key, a replayed valid report, someone else's beacon
//! claimed as one's own, a beacon with expired entropy, a witness with an impossible RSSI. Each
//! is stored as rejected with the right reason, the replay is counted once, and the oracle keeps
//! running.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use h3o::{CellIndex, LatLng};
use hexproof_fixtures::servers::{Mosquitto, Subscriber, free_port};
use hexproof_poc::Limits;
use hexproof_poc::Status;
use hexproof_proto::{
    Keypair, Signed, beacon, topics,
    v1::{BeaconReport, DataRate, Entropy, WitnessReport},
};
use oracle::store::Store;
use prost::Message;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn beacon_from(key: &Keypair, e: &Entropy) -> BeaconReport {
    let local = vec![9, 8, 7, 6, 5, 4, 3, 2];
    BeaconReport {
        entropy_id: e.id,
        entropy_data: e.data.clone(),
        payload: beacon::derive_packet(e.id, &e.data, &local, &key.public()).to_vec(),
        local_entropy: local,
        frequency_hz: 904_100_000,
        data_rate: DataRate::Sf9bw125 as i32,
        tx_power_ddbm: 270,
        timestamp_ns: now_ns(),
        ..Default::default()
    }
    .signed(key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_reports_are_rejected_with_their_reasons() {
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/adversaries-30.json");
    let network = hexproof_fixtures::Network::load(&network_file).unwrap();
    let broker = Mosquitto::start().unwrap();
    let entropy_sub = Subscriber::start(&broker, topics::ENTROPY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("oracle.db").display());
    let mut config = OracleSetup {
        dir: dir.path(),
        network_file: &network_file,
        network: &network,
        database: &database,
        broker: &broker.url(),
        speed: 1,
        origin_ns: 0,
        metrics_port: free_port(),
        validation: Limits {
            witness_wait_secs: 1,
            location_min_age_secs: 0,
            ..Limits::default()
        },
    }
    .config();
    // Short-lived entropy so that a stale one is easy to come by.
    config.entropy.interval_secs = 1;
    config.entropy.ttl_secs = 3;
    let mut oracle = OracleProcess::start_with(dir.path(), &network, config);

    let first_entropy = || {
        entropy_sub
            .wait_for(Duration::from_secs(15), |m| !m.is_empty())
            .last()
            .map(|m| Entropy::decode(m.payload.as_slice()).unwrap())
            .unwrap_or_else(|| panic!("no entropy from the oracle\n{}", oracle.log()))
    };
    let stale = first_entropy();
    // Two honest hotspots a few km apart: a beaconer and a witness.
    let keys: Vec<(Keypair, CellIndex)> = network
        .hotspots
        .iter()
        .filter(|h| h.behaviour == hexproof_fixtures::Behaviour::Honest)
        .map(|h| {
            (
                h.key.keypair().unwrap(),
                h.asserted_location.parse().unwrap(),
            )
        })
        .collect();
    let (a, a_cell) = &keys[0];
    let (d, _) = keys
        .iter()
        .find(|(_, c)| {
            let m = LatLng::from(*a_cell).distance_m(LatLng::from(*c));
            (1_500.0..15_000.0).contains(&m)
        })
        .expect("a hotspot 1.5-15 km from the first");
    let c = &keys[2].0;
    std::thread::sleep(Duration::from_secs(5)); // the first entropy has expired by now
    let fresh = Entropy::decode(entropy_sub.messages().last().unwrap().payload.as_slice()).unwrap();
    assert!(fresh.id > stale.id);

    let mut expect: Vec<([u8; 32], Option<&str>)> = Vec::new();
    // 1. Random bytes.
    let junk: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37)).collect();
    broker
        .publish(&topics::beacons(&a.public()), &junk, false)
        .unwrap();
    // 2. A's report, signed by C's key: the signature does not match the signer field.
    let mut wrong_key = beacon_from(a, &fresh);
    wrong_key.signature = c.sign(&wrong_key.signing_bytes()).to_vec();
    broker
        .publish(
            &topics::beacons(&a.public()),
            &wrong_key.encode_to_vec(),
            false,
        )
        .unwrap();
    expect.push((wrong_key.id(), Some("bad_signature")));
    // 3. C's validly signed beacon published on A's topic.
    let impostor = beacon_from(c, &fresh);
    broker
        .publish(
            &topics::beacons(&a.public()),
            &impostor.encode_to_vec(),
            false,
        )
        .unwrap();
    expect.push((impostor.id(), Some("topic_mismatch")));
    // 4. A valid beacon, and the same bytes replayed three more times.
    let valid = beacon_from(a, &fresh);
    for _ in 0..4 {
        broker
            .publish(&topics::beacons(&a.public()), &valid.encode_to_vec(), false)
            .unwrap();
    }
    expect.push((valid.id(), None));
    // 5. A's beacon packet claimed by C as its own beacon.
    let mut claimed = valid.clone();
    claimed.timestamp_ns += 1;
    let claimed = claimed.signed(c);
    broker
        .publish(
            &topics::beacons(&c.public()),
            &claimed.encode_to_vec(),
            false,
        )
        .unwrap();
    expect.push((claimed.id(), Some("beacon_payload_mismatch")));
    // 6. A beacon made with expired entropy.
    let expired = beacon_from(d, &stale);
    broker
        .publish(
            &topics::beacons(&d.public()),
            &expired.encode_to_vec(),
            false,
        )
        .unwrap();
    expect.push((expired.id(), Some("beacon_entropy_expired")));
    // 7. D witnessing A's valid beacon at +20 dBm, kilometres away.
    let loud = WitnessReport {
        payload: valid.payload.clone(),
        timestamp_ns: valid.timestamp_ns + 1_000_000,
        frequency_hz: valid.frequency_hz,
        data_rate: valid.data_rate,
        rssi_ddbm: 200,
        snr_ddb: 100,
        ..Default::default()
    }
    .signed(d);
    broker
        .publish(
            &topics::witnesses(&d.public()),
            &loud.encode_to_vec(),
            false,
        )
        .unwrap();
    expect.push((loud.id(), Some("witness_rssi_too_high")));

    let store = Store::connect(&database).await.unwrap();
    let all_judged = wait_until(Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            let r = store.judged_reports().await.unwrap();
            r.len() == 7 && r.iter().all(|r| r.status != Status::Pending)
        }
    })
    .await;
    let reports = store.judged_reports().await.unwrap();
    assert!(all_judged, "{reports:#?}\n{}", oracle.log());
    for (id, reason) in &expect {
        let r = reports
            .iter()
            .find(|r| &r.report.id == id)
            .unwrap_or_else(|| panic!("not stored: {reason:?}"));
        assert_eq!(r.reason.as_deref(), *reason, "{r:?}");
        assert_eq!(r.status == Status::Valid, reason.is_none());
    }
    let junk_row = reports
        .iter()
        .find(|r| r.report.payload == junk)
        .expect("the random bytes are stored");
    assert_eq!(junk_row.reason.as_deref(), Some("malformed"));
    // The replays were stored once: 7 reports for 10 messages.
    assert_eq!(store.count_reports().await.unwrap(), 7);
    assert!(oracle.is_running(), "{}", oracle.log());
}
