//! The validation loop over a real (SQLite) store: witnesses judged with their beacon,
//! selection capped at 14, duplicates, witnesses that come late or have no beacon, and the
//! offline `oracle verify` of recorded reports giving the same verdicts.

use std::sync::Arc;

use h3o::{LatLng, Resolution};
use hexproof_poc::{EntropyRecord, HotspotInfo, Limits, Status};
use hexproof_proto::{
    Keypair, Signed, beacon, region, topics,
    v1::{BeaconReport, DataRate, Entropy, WitnessReport},
};
use oracle::{
    audit::{self, Line},
    classify::{self, Incoming, KeyCache},
    judging::Judge,
    registry::StaticRegistry,
    store::Store,
};
use prost::Message;

const T0: u64 = 1_900_000_000_000_000_000;
const SEC: u64 = 1_000_000_000;

fn oracle_key() -> Keypair {
    Keypair::from_secret([0x0C; 32])
}

/// A beaconer in Berlin and 20 witnesses 2–6 km around it.
fn hotspots() -> (Keypair, Vec<Keypair>, StaticRegistry) {
    let beaconer = Keypair::from_secret([1; 32]);
    let witnesses: Vec<Keypair> = (0..20u8)
        .map(|i| Keypair::from_secret([10 + i; 32]))
        .collect();
    let info = |k: &Keypair, lat: f64, lon: f64| HotspotInfo {
        pubkey: k.public(),
        owner: k.public(),
        location: Some(LatLng::new(lat, lon).unwrap().to_cell(Resolution::Twelve)),
        gain_ddbi: 30,
        elevation_m: 5,
        asserted_at_ns: 0,
        region: &region::EU868,
        placement: None,
    };
    let mut all = vec![info(&beaconer, 52.52, 13.405)];
    for (i, w) in witnesses.iter().enumerate() {
        all.push(info(w, 52.54 + i as f64 * 0.002, 13.405 + i as f64 * 0.003));
    }
    (beaconer, witnesses, StaticRegistry::new(all))
}

fn entropy() -> (EntropyRecord, Vec<u8>) {
    let message = Entropy {
        id: 3,
        data: vec![0x33; 32],
        timestamp_ns: T0 - SEC,
        ttl_secs: 180,
        ..Default::default()
    }
    .signed(&oracle_key());
    (
        EntropyRecord {
            id: 3,
            data: message.data.clone(),
            timestamp_ns: message.timestamp_ns,
            ttl_secs: 180,
        },
        message.encode_to_vec(),
    )
}

fn beacon_report(key: &Keypair, e: &EntropyRecord) -> BeaconReport {
    let local = vec![1, 2, 3, 4];
    BeaconReport {
        entropy_id: e.id,
        entropy_data: e.data.clone(),
        payload: beacon::derive_packet(e.id, &e.data, &local, &key.public()).to_vec(),
        local_entropy: local,
        frequency_hz: 867_300_000,
        data_rate: DataRate::Sf9bw125 as i32,
        tx_power_ddbm: 130,
        timestamp_ns: T0,
        ..Default::default()
    }
    .signed(key)
}

fn witness_report(key: &Keypair, b: &BeaconReport, rssi: i32) -> WitnessReport {
    WitnessReport {
        payload: b.payload.clone(),
        timestamp_ns: b.timestamp_ns + 2_000_000,
        frequency_hz: b.frequency_hz,
        data_rate: b.data_rate,
        rssi_ddbm: rssi,
        snr_ddb: -40,
        ..Default::default()
    }
    .signed(key)
}

fn messages() -> (Vec<Incoming>, BeaconReport, Vec<WitnessReport>) {
    let (beaconer, witnesses, _) = hotspots();
    let (e, _) = entropy();
    let b = beacon_report(&beaconer, &e);
    let mut ws: Vec<WitnessReport> = witnesses
        .iter()
        .take(16)
        .map(|k| witness_report(k, &b, -1150))
        .collect();
    // The first witness again, a millisecond later: a duplicate (the earlier one counts).
    let mut again = witness_report(&witnesses[0], &b, -1160);
    again.timestamp_ns += 1_000_000;
    ws.push(again.signed(&witnesses[0]));
    let mut msgs = vec![Incoming {
        topic: topics::beacons(&beaconer.public()),
        payload: b.encode_to_vec(),
        received_ns: T0 + SEC,
    }];
    for w in &ws {
        let key = w.signer().unwrap();
        msgs.push(Incoming {
            topic: topics::witnesses(&key),
            payload: w.encode_to_vec(),
            received_ns: T0 + SEC,
        });
    }
    (msgs, b, ws)
}

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("o.db").display()))
        .await
        .unwrap();
    let (e, msg) = entropy();
    store.insert_entropy(&e, &msg).await.unwrap();
    (store, dir)
}

#[tokio::test]
async fn beacon_and_witnesses_are_judged_together() {
    let (store, _dir) = store().await;
    let (_, witnesses, registry) = hotspots();
    let keys = KeyCache::default();
    let (msgs, b, ws) = messages();
    store
        .insert_reports(&classify::classify_all(&msgs, &keys))
        .await
        .unwrap();
    let mut v = Judge::new(store.clone(), Arc::new(registry), Limits::default());

    // Inside the witness window nothing is judged yet.
    assert_eq!(v.pass(T0 + 5 * SEC).await.unwrap().beacons, 0);
    let stats = v.pass(T0 + 12 * SEC).await.unwrap();
    assert_eq!((stats.beacons, stats.witnesses), (1, 17));

    let judged = store.judged_reports().await.unwrap();
    let find = |id| judged.iter().find(|r| r.report.id == id).unwrap();
    assert_eq!(find(b.id()).status, Status::Valid);
    let valid: Vec<_> = ws[..16].iter().map(|w| find(w.id())).collect();
    for r in &valid {
        assert!(
            r.status == Status::Valid && r.beacon_id == Some(b.id()),
            "{:?} {:?}",
            r.reason,
            r.detail
        );
    }
    // 16 valid witnesses, 14 selected.
    assert_eq!(valid.iter().filter(|r| r.selected).count(), 14);
    assert_eq!(
        find(ws[16].id()).reason.as_deref(),
        Some("witness_duplicate")
    );

    // A witness arriving after the beacon was judged is late; one for a packet nobody beaconed
    // has no beacon.
    let late = witness_report(&witnesses[17], &b, -1150);
    let mut stray_beacon = b.clone();
    stray_beacon.payload[10] ^= 1;
    let stray = witness_report(&witnesses[18], &stray_beacon, -1150);
    let more: Vec<Incoming> = [&late, &stray]
        .iter()
        .map(|w| Incoming {
            topic: topics::witnesses(&w.signer().unwrap()),
            payload: w.encode_to_vec(),
            received_ns: T0 + 20 * SEC,
        })
        .collect();
    store
        .insert_reports(&classify::classify_all(&more, &keys))
        .await
        .unwrap();
    assert_eq!(
        v.pass(T0 + 40 * SEC).await.unwrap().orphans,
        0,
        "still inside their window"
    );
    assert_eq!(v.pass(T0 + 60 * SEC).await.unwrap().orphans, 2);
    let judged = store.judged_reports().await.unwrap();
    let find = |id| judged.iter().find(|r| r.report.id == id).unwrap();
    assert_eq!(find(late.id()).reason.as_deref(), Some("witness_late"));
    assert_eq!(find(late.id()).beacon_id, Some(b.id()));
    assert_eq!(
        find(stray.id()).reason.as_deref(),
        Some("witness_no_valid_beacon")
    );
    assert!(judged.iter().all(|r| r.status != Status::Pending));
}

#[tokio::test]
async fn offline_verify_of_recorded_reports_gives_the_live_verdicts() {
    // Live: the validator over a store.
    let (store, _dir) = store().await;
    let (_, _, registry) = hotspots();
    let (msgs, _, _) = messages();
    store
        .insert_reports(&classify::classify_all(&msgs, &KeyCache::default()))
        .await
        .unwrap();
    let mut v = Judge::new(store.clone(), Arc::new(registry.clone()), Limits::default());
    v.pass(T0 + 60 * SEC).await.unwrap();
    let live = store.judged_reports().await.unwrap();

    // Recorded and judged again from scratch.
    let mut file = Vec::new();
    audit::export(&store, &mut file).await.unwrap();
    let lines: Vec<Line> = String::from_utf8(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1 + msgs.len());
    let replayed = audit::verify(
        &lines,
        Arc::new(registry),
        Limits::default(),
        &[oracle_key().public()],
    )
    .await
    .unwrap();
    let key =
        |r: &oracle::store::JudgedReport| (r.report.id, r.status, r.reason.clone(), r.selected);
    assert_eq!(
        live.iter().map(key).collect::<Vec<_>>(),
        replayed.iter().map(key).collect::<Vec<_>>()
    );
    // Entropy from anyone else is refused.
    let err = audit::verify(
        &lines,
        Arc::new(hotspots().2),
        Limits::default(),
        &[Keypair::from_secret([1; 32]).public()],
    )
    .await;
    assert!(err.is_err());
}
