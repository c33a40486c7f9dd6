//! Validation throughput next to the raw ed25519 verification rate, both on every core, in the
//! same run.
//!
//! Run: `cargo bench -p oracle --bench validation` (prints the figures).
//!
//! - raw: `ed25519_dalek::VerifyingKey::verify_strict` over the reports' exact signed bytes,
//!   keys already parsed: the physical limit of this work.
//! - pipeline: what the oracle does per report without storage: decode, size and topic checks,
//!   signature, report id and packet hash (`classify::classify_all`), then the beacon and witness
//!   rules, duplicate detection and witness selection (`validator::judge_group`) for every beacon
//!   with its witnesses.

use std::time::Instant;

use hexproof_fixtures::Network;
use hexproof_poc::{
    EntropyRecord, Limits, Report,
    judge::{WitnessInput, judge_group},
    rules::beacon::BeaconContext,
};
use hexproof_proto::{
    Signed, beacon, region, topics,
    v1::{BeaconReport, DataRate, WitnessReport},
};
use oracle::{
    classify::{self, Incoming, KeyCache},
    registry::{Registry, StaticRegistry},
};
use prost::Message;
use rayon::prelude::*;

const BEACONS: usize = 2_000;
const WITNESSES_PER_BEACON: usize = 14;
const ROUNDS: usize = 3;

fn main() {
    let network = hexproof_fixtures::network("net-2000").expect("fixtures/networks/net-2000.json");
    let registry = StaticRegistry::from_file(&network.registry(0)).unwrap();
    let entropy = EntropyRecord {
        id: 1,
        data: vec![0x42; 32],
        timestamp_ns: 1_800_000_000_000_000_000,
        ttl_secs: 180,
    };
    let messages = make_reports(&network, &entropy);
    // Built once at oracle start from the registry, as `oracle run` does.
    let keys = KeyCache::new(registry.all().iter().map(|h| h.pubkey));
    let n = messages.len();

    // Raw: the signatures alone.
    let prepared: Vec<(
        ed25519_dalek::VerifyingKey,
        Vec<u8>,
        ed25519_dalek::Signature,
    )> = messages
        .iter()
        .map(|m| {
            if m.topic.contains("/beacons/") {
                let b = BeaconReport::decode(m.payload.as_slice()).unwrap();
                let (k, s) = b.signature_parts().unwrap();
                (k.verifying_key().unwrap(), b.signing_bytes(), s)
            } else {
                let w = WitnessReport::decode(m.payload.as_slice()).unwrap();
                let (k, s) = w.signature_parts().unwrap();
                (k.verifying_key().unwrap(), w.signing_bytes(), s)
            }
        })
        .collect();
    let mut raw_best = f64::MAX;
    let mut pipe_best = f64::MAX;
    let mut intake_best = f64::MAX;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let ok = prepared
            .par_iter()
            .filter(|(k, m, s)| k.verify_strict(m, s).is_ok())
            .count();
        raw_best = raw_best.min(t.elapsed().as_secs_f64());
        assert_eq!(ok, n);

        let t = Instant::now();
        let classified = classify::classify_all(&messages, &keys);
        intake_best = intake_best.min(t.elapsed().as_secs_f64());
        drop(classified);

        let t = Instant::now();
        let valid = pipeline(&messages, &registry, &keys, &entropy);
        pipe_best = pipe_best.min(t.elapsed().as_secs_f64());
        assert!(valid > n / 2, "most reports are valid: {valid} of {n}");
    }
    let raw_rate = n as f64 / raw_best;
    let pipe_rate = n as f64 / pipe_best;
    println!(
        "validation throughput, {} threads, {n} reports ({BEACONS} beacons x {WITNESSES_PER_BEACON} witnesses), best of {ROUNDS}",
        rayon::current_num_threads()
    );
    println!("  raw ed25519 verify_strict   {raw_rate:>10.0} reports/s");
    println!(
        "  intake alone                {:>10.0} reports/s",
        n as f64 / intake_best
    );
    println!("  oracle validation pipeline  {pipe_rate:>10.0} reports/s");
    println!(
        "  ratio                       {:>10.3}   (target >= 0.85)",
        pipe_rate / raw_rate
    );
}

/// Intake for every message, then the rules for every beacon group, on every core.
fn pipeline(
    messages: &[Incoming],
    registry: &StaticRegistry,
    keys: &KeyCache,
    entropy: &EntropyRecord,
) -> usize {
    let reports = classify::classify_all(messages, keys);
    let limits = Limits {
        location_min_age_secs: 0,
        ..Limits::default()
    };
    let per_group = 1 + WITNESSES_PER_BEACON;
    let mut groups: Vec<Vec<Report>> = Vec::with_capacity(reports.len() / per_group + 1);
    for (i, r) in reports.into_iter().enumerate() {
        if i % per_group == 0 {
            groups.push(Vec::with_capacity(per_group));
        }
        let last = groups.len() - 1;
        groups[last].push(Report {
            id: r.id,
            kind: r.kind,
            hotspot: r.hotspot,
            packet_hash: r.packet_hash,
            timestamp_ns: r.timestamp_ns,
            received_ns: r.received_ns,
            payload: r.payload,
        });
    }
    groups
        .into_par_iter()
        .map(|stored| {
            let mut stored = stored.into_iter();
            let beacon = stored.next().unwrap();
            let report = BeaconReport::decode(beacon.payload.as_slice()).unwrap();
            let beaconer = report.signer().ok().and_then(|k| registry.get(&k));
            let witnesses: Vec<WitnessInput> = stored
                .map(|s| {
                    let report = WitnessReport::decode(s.payload.as_slice()).ok();
                    let witness = report
                        .as_ref()
                        .and_then(|r| r.signer().ok())
                        .and_then(|k| registry.get(&k));
                    WitnessInput {
                        stored: s,
                        report,
                        witness,
                    }
                })
                .collect();
            let ctx = BeaconContext {
                beaconer: beaconer.as_ref(),
                entropy: Some(entropy),
                nearest_valid_beacon_ns: None,
                duplicate_packet: false,
                received_ns: beacon.received_ns,
                early_witnesses: 0,
            };
            judge_group(&beacon, &report, &ctx, &witnesses, &limits)
                .iter()
                .filter(|v| v.reason.is_none())
                .count()
        })
        .sum()
}

/// Beacons by hotspots of the network, each witnessed by hotspots of the same city.
fn make_reports(network: &Network, entropy: &EntropyRecord) -> Vec<Incoming> {
    let keys: Vec<_> = network
        .hotspots
        .iter()
        .map(|h| (h.key.keypair().unwrap(), h.city.clone(), h.region.clone()))
        .collect();
    let t0 = entropy.timestamp_ns + 1_000_000_000;
    let mut out = Vec::with_capacity(BEACONS * (1 + WITNESSES_PER_BEACON));
    for i in 0..BEACONS {
        let (key, city, region) = &keys[i % keys.len()];
        let plan = region::RegionPlan::by_name(region).unwrap();
        let local = (i as u64).to_le_bytes().to_vec();
        let b = BeaconReport {
            entropy_id: entropy.id,
            entropy_data: entropy.data.clone(),
            payload: beacon::derive_packet(entropy.id, &entropy.data, &local, &key.public())
                .to_vec(),
            local_entropy: local,
            frequency_hz: plan.channels_hz[0],
            data_rate: DataRate::Sf9bw125 as i32,
            tx_power_ddbm: plan.beacon_tx_power_ddbm(30),
            timestamp_ns: t0,
            ..Default::default()
        }
        .signed(key);
        out.push(Incoming {
            topic: topics::beacons(&key.public()),
            payload: b.encode_to_vec(),
            received_ns: t0 + 1_000_000_000,
        });
        let neighbours = keys
            .iter()
            .filter(|(k, c, _)| c == city && k.public() != key.public())
            .skip(i % 7)
            .take(WITNESSES_PER_BEACON);
        for (j, (wk, _, _)) in neighbours.enumerate() {
            let w = WitnessReport {
                payload: b.payload.clone(),
                timestamp_ns: t0 + 1_000_000 + j as u64,
                frequency_hz: b.frequency_hz,
                data_rate: b.data_rate,
                rssi_ddbm: -1150,
                snr_ddb: -30,
                ..Default::default()
            }
            .signed(wk);
            out.push(Incoming {
                topic: topics::witnesses(&wk.public()),
                payload: w.encode_to_vec(),
                received_ns: t0 + 1_000_000_000,
            });
        }
    }
    out
}
