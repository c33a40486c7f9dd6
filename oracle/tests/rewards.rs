//! Rewards end to end from recorded reports: the golden epoch of `fixtures/reports/net-25.jsonl`
//! gives the committed reward table and root (`fixtures/golden/net-25-epoch-1.json`); changing
//! one witness changes the root; and hex density scaling takes what the table says from a
//! crowded block.
//!
//! Regenerate both files (after an intended change) with
//! `HEXPROOF_REGENERATE=1 cargo nextest run -p oracle --test rewards`.

use std::{collections::BTreeMap, sync::Arc};

use h3o::{CellIndex, LatLng, Resolution};
use hexproof_commitment::verify_proof;
use hexproof_fixtures::{Network, fixtures_dir};
use hexproof_poc::{
    HotspotInfo,
    rewards::{self, Activity, SCALE_ONE, density, epoch},
};
use hexproof_proto::{
    Keypair, Signed, beacon,
    region::RegionPlan,
    topics,
    v1::{BeaconReport, Entropy, WitnessReport},
};
use hotspot_agent::radio::{
    TxPacket,
    sim::{MediumModel, Placement, reception},
};
use oracle::{
    audit::{self, Line},
    epochs,
    registry::{Registry, StaticRegistry},
    store::Store,
};
use prost::Message;

mod common;

use common::golden::{SEC, T0, limits, rewards as config};

/// Every hotspot beacons once on the oracle's entropy; every hotspot that physics lets hear it
/// (no fading) witnesses it. Deterministic: fixed keys, times and local entropy.
fn record(network: &Network) -> Vec<Line> {
    let oracle = network.oracles[0].keypair().unwrap();
    let entropy = Entropy {
        id: 1,
        data: vec![0x5E; 32],
        timestamp_ns: T0,
        ttl_secs: 180,
        ..Default::default()
    }
    .signed(&oracle);
    let line = |topic: String, payload: Vec<u8>, received_ns| Line {
        topic,
        payload: hex::encode(payload),
        received_ns,
    };
    let mut lines = vec![line(topics::ENTROPY.into(), entropy.encode_to_vec(), T0)];
    let model = MediumModel::default();
    for (i, h) in network.hotspots.iter().enumerate() {
        let key = h.key.keypair().unwrap();
        let plan = RegionPlan::by_name(&h.region).unwrap();
        let local = vec![i as u8; 8];
        let ts = T0 + (i as u64 + 1) * SEC;
        let b = BeaconReport {
            entropy_id: 1,
            entropy_data: entropy.data.clone(),
            payload: beacon::derive_packet(1, &entropy.data, &local, &key.public()).to_vec(),
            local_entropy: local,
            frequency_hz: plan.channels_hz[i % plan.channels_hz.len()],
            data_rate: plan.beacon_data_rate as i32,
            tx_power_ddbm: plan.beacon_tx_power_ddbm(h.gain_ddbi),
            timestamp_ns: ts,
            ..Default::default()
        }
        .signed(&key);
        lines.push(line(
            topics::beacons(&key.public()),
            b.encode_to_vec(),
            ts + SEC,
        ));
        let from = Placement::at(
            h.true_lat_e7 as f64 / 1e7,
            h.true_lon_e7 as f64 / 1e7,
            h.gain_ddbi,
        );
        let packet = TxPacket {
            payload: b.payload.clone(),
            frequency_hz: b.frequency_hz,
            data_rate: plan.beacon_data_rate,
            power_ddbm: b.tx_power_ddbm,
        };
        for (j, w) in network.hotspots.iter().enumerate() {
            if i == j {
                continue;
            }
            let to = Placement::at(
                w.true_lat_e7 as f64 / 1e7,
                w.true_lon_e7 as f64 / 1e7,
                w.gain_ddbi,
            );
            let Some((rssi, snr)) = reception(&model, &from, &to, &packet, 0.0, 0.0) else {
                continue;
            };
            let wk = w.key.keypair().unwrap();
            let report = WitnessReport {
                payload: b.payload.clone(),
                timestamp_ns: ts + 1_000_000 + j as u64 * 1_000,
                frequency_hz: b.frequency_hz,
                data_rate: b.data_rate,
                rssi_ddbm: rssi,
                snr_ddb: snr,
                ..Default::default()
            }
            .signed(&wk);
            lines.push(line(
                topics::witnesses(&wk.public()),
                report.encode_to_vec(),
                ts + SEC + j as u64,
            ));
        }
    }
    lines
}

async fn close_epoch_1(network: &Network, lines: &[Line]) -> epoch::ClosedEpoch {
    let registry = Arc::new(StaticRegistry::from_file(&network.registry(0)).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("g.db").display()))
        .await
        .unwrap();
    audit::judge_into(&store, lines, registry.clone(), limits(), &[])
        .await
        .unwrap();
    let key = network.oracles[0].keypair().unwrap();
    let closed = epochs::close_ready(&store, registry.as_ref(), &config(), &key, T0 + 3_600 * SEC)
        .await
        .unwrap();
    assert_eq!(closed.len(), 1, "exactly epoch 1 is ready");
    let stored = store.closed_epoch(1).await.unwrap().unwrap();
    assert_eq!(stored, closed[0], "what is stored is what was computed");
    stored
}

fn table(e: &epoch::ClosedEpoch) -> serde_json::Value {
    serde_json::json!({
        "epoch": e.epoch,
        "emission": e.emission,
        "paid": e.paid,
        "dust": e.dust,
        "lifetime_total": e.lifetime_total,
        "merkle_root": hex::encode(e.root),
        "signature": hex::encode(e.signature),
        "rewards": e.rows.iter().map(|r| serde_json::json!({
            "hotspot": r.hotspot.to_string(), "beacon": r.beacon, "witness": r.witness, "lifetime": r.lifetime,
        })).collect::<Vec<_>>(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_epoch_from_recorded_reports() {
    let network = hexproof_fixtures::network("net-25").unwrap();
    let reports_file = fixtures_dir().join("reports/net-25.jsonl");
    let golden_file = fixtures_dir().join("golden/net-25-epoch-1.json");
    if std::env::var_os("HEXPROOF_REGENERATE").is_some() {
        let text: String = record(&network)
            .iter()
            .map(|l| serde_json::to_string(l).unwrap() + "\n")
            .collect();
        std::fs::write(&reports_file, text).unwrap();
    }
    let lines = audit::read_lines(&reports_file).unwrap();
    let e = close_epoch_1(&network, &lines).await;
    if std::env::var_os("HEXPROOF_REGENERATE").is_some() {
        std::fs::write(
            &golden_file,
            serde_json::to_string_pretty(&table(&e)).unwrap() + "\n",
        )
        .unwrap();
    }
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&golden_file).unwrap()).unwrap();
    assert_eq!(
        table(&e),
        golden,
        "epoch 1 of the recorded reports differs from {}",
        golden_file.display()
    );

    // The books balance, everyone who earned has a leaf, and every leaf proves.
    assert_eq!(e.paid + e.dust, e.emission);
    assert!(
        e.rows.len() >= 20 && e.paid > e.emission / 2,
        "{} leaves, {} paid",
        e.rows.len(),
        e.paid
    );
    let tree = e.tree();
    for (i, r) in e.rows.iter().enumerate() {
        let leaf = hexproof_commitment::leaf(r.hotspot.as_bytes(), r.lifetime);
        assert!(verify_proof(&e.root, &leaf, &tree.proof(i).unwrap()));
    }
    // The oracle's signature is over the shared epoch message.
    let oracle = network.oracles[0].pubkey.verifying_key().unwrap();
    let sig = ed25519_dalek::Signature::from_bytes(&e.signature);
    assert!(oracle.verify_strict(&e.message(), &sig).is_ok());

    // One selected witness fewer: another root.
    let judged = audit::verify(
        &lines,
        Arc::new(StaticRegistry::from_file(&network.registry(0)).unwrap()),
        limits(),
        &[],
    )
    .await
    .unwrap();
    let selected = judged.iter().find(|r| r.selected).unwrap();
    let fewer: Vec<Line> = lines
        .iter()
        .filter(|l| hex::decode(&l.payload).unwrap() != selected.report.payload)
        .cloned()
        .collect();
    assert_eq!(fewer.len(), lines.len() - 1);
    assert_ne!(close_epoch_1(&network, &fewer).await.root, e.root);
}

#[tokio::test]
async fn closing_twice_and_replaying_give_the_same_epoch() {
    let network = hexproof_fixtures::network("net-25").unwrap();
    let lines = audit::read_lines(&fixtures_dir().join("reports/net-25.jsonl")).unwrap();
    let registry = StaticRegistry::from_file(&network.registry(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("g.db").display()))
        .await
        .unwrap();
    audit::judge_into(&store, &lines, Arc::new(registry.clone()), limits(), &[])
        .await
        .unwrap();
    let key = network.oracles[0].keypair().unwrap();
    // Not before its end plus the delay.
    assert!(
        epochs::close_ready(&store, &registry, &config(), &key, T0 + 60 * SEC)
            .await
            .unwrap()
            .is_empty()
    );
    let first = epochs::close_ready(&store, &registry, &config(), &key, T0 + 3_600 * SEC)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    // Saving again (a crash between compute and commit, then a restart) changes nothing.
    store.save_closed_epoch(&first[0], 1).await.unwrap();
    let again = epochs::recompute(&store, &registry, &config(), 1, &key)
        .await
        .unwrap()
        .epoch;
    assert_eq!(again, first[0]);
    assert_eq!(store.closed_epoch(1).await.unwrap().unwrap(), first[0]);
    // Epoch 2 had no activity: lifetime amounts carry over, the whole emission is dust.
    let second = epochs::close_ready(&store, &registry, &config(), &key, T0 + 7_300 * SEC)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!((second[0].paid, second[0].dust), (0, second[0].emission));
    assert_eq!(second[0].root, first[0].root);
}

fn cell(lat: f64, lon: f64) -> CellIndex {
    LatLng::new(lat, lon).unwrap().to_cell(Resolution::Twelve)
}

#[test]
fn a_crowded_block_is_scaled_down_by_the_density_table() {
    // 20 hotspots in one city block (one resolution-10 hex, distinct resolution-12 cells) and
    // 2 in the countryside, 50 km apart.
    let block = cell(52.52, 13.405).parent(Resolution::Ten).unwrap();
    let mut infos: Vec<HotspotInfo> = block
        .children(Resolution::Twelve)
        .step_by(2)
        .take(20)
        .enumerate()
        .map(|(i, c)| info(i as u8, c))
        .collect();
    assert_eq!(infos.len(), 20);
    infos.push(info(100, cell(53.4, 12.0)));
    infos.push(info(101, cell(53.85, 12.0)));
    let registry = StaticRegistry::new(infos.clone());
    let cells: Vec<CellIndex> = registry.all().iter().filter_map(|h| h.location).collect();
    let scales = density::scales(&cells, &density::default_table());
    // Resolution 10 allows 1 hotspot per hex with no occupied neighbours: 1/20 each.
    for h in &infos[..20] {
        assert_eq!(scales[&h.location.unwrap()], SCALE_ONE / 20);
    }
    for h in &infos[20..] {
        assert_eq!(scales[&h.location.unwrap()], SCALE_ONE);
    }
    // Each hotspot beacons once; all of a 1,000,000 emission goes to beacons.
    let activity = Activity {
        beacons: infos.iter().map(|h| (h.pubkey, 1)).collect(),
        witnesses: BTreeMap::new(),
        scales: infos
            .iter()
            .map(|h| (h.pubkey, scales[&h.location.unwrap()]))
            .collect(),
    };
    let r = rewards::compute(1_000_000, &activity, 10_000);
    // 22 beacons share the pool: 45,454 for a full-scale hotspot, 2,272 (1/20 of 45,454.5) in the block.
    for h in &infos[..20] {
        assert_eq!(r.rewards[&h.pubkey].beacon, 2_272);
    }
    for h in &infos[20..] {
        assert_eq!(r.rewards[&h.pubkey].beacon, 45_454);
    }
    assert_eq!(r.paid, 20 * 2_272 + 2 * 45_454);
    assert_eq!(r.dust, 1_000_000 - r.paid);
}

fn info(i: u8, location: CellIndex) -> HotspotInfo {
    let k = Keypair::from_secret([i; 32]).public();
    HotspotInfo {
        pubkey: k,
        owner: k,
        location: Some(location),
        gain_ddbi: 30,
        elevation_m: 5,
        asserted_at_ns: 0,
        region: &hexproof_proto::region::EU868,
        placement: None,
    }
}
