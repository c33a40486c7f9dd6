//! Detection at scale (not a test): an epoch's receptions through `hexproof_poc::detect`, the
//! step every epoch close now runs before the reward rules. A grid of hotspots 1 km apart on a
//! log-distance medium (4 dB shadowing, SF9 reach), each beaconing 12 times; every reception in
//! reach is a valid witness report. Prints the time for sizes up to 2,000 hotspots and, as the
//! peer in the same run, the time of the one sort detection cannot avoid (receptions in
//! canonical order).
//!
//! Run: `cargo bench -p oracle --bench detect`.

mod common;
use common::Lcg;

use std::{collections::BTreeMap, time::Instant};

use h3o::{LatLng, Resolution};
use hexproof_poc::{
    HotspotInfo,
    detect::{self, Heard, Reception},
};
use hexproof_proto::{Keypair, PublicKey, region};

const BEACONS_EACH: u64 = 12;

fn world(side: usize) -> (Vec<HotspotInfo>, Vec<Reception>, BTreeMap<PublicKey, u64>) {
    let mut rng = Lcg(7);
    let places: Vec<(f64, f64)> = (0..side * side)
        .map(|i| {
            (
                52.0 + (i / side) as f64 * 0.009,
                13.0 + (i % side) as f64 * 0.0147,
            )
        })
        .collect();
    let infos: Vec<HotspotInfo> = places
        .iter()
        .enumerate()
        .map(|(i, &(lat, lon))| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = Keypair::from_secret(seed).public();
            HotspotInfo {
                pubkey: key,
                owner: key,
                location: Some(LatLng::new(lat, lon).unwrap().to_cell(Resolution::Twelve)),
                gain_ddbi: 30,
                elevation_m: 5,
                asserted_at_ns: 0,
                region: &region::EU868,
            }
        })
        .collect();
    let mut receptions = Vec::new();
    let mut beacons = BTreeMap::new();
    for (b, from) in places.iter().enumerate() {
        beacons.insert(infos[b].pubkey, BEACONS_EACH);
        for n in 0..BEACONS_EACH {
            let mut id = infos[b].pubkey.to_bytes();
            id[..8].copy_from_slice(&n.to_le_bytes());
            for (w, to) in places.iter().enumerate() {
                if w == b {
                    continue;
                }
                let d = hexproof_proto::rf::distance_m(from.0, from.1, to.0, to.1);
                if d > 9_000.0 {
                    continue;
                }
                let shadow = (rng.unit() + rng.unit() + rng.unit() + rng.unit() - 2.0) * 6.93;
                let dbm = 20.0 - (31.2 + 30.0 * d.max(1.0).log10()) + shadow;
                if dbm < -129.5 {
                    continue;
                }
                receptions.push(Reception {
                    beacon: id,
                    beaconer: infos[b].pubkey,
                    witness: infos[w].pubkey,
                    rssi_ddbm: (dbm * 10.0).round() as i32,
                    snr_ddb: 50,
                    tx_power_ddbm: 140,
                    heard: Heard::Valid,
                });
            }
        }
    }
    (infos, receptions, beacons)
}

fn main() {
    println!(
        "{:>9} {:>11} {:>10} {:>12} {:>9} {:>8}",
        "hotspots", "receptions", "detect s", "receptions/s", "sort s", "÷ sort"
    );
    let sides: Vec<usize> = std::env::var("DETECT_SIDES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.parse().ok()).collect())
        .unwrap_or(vec![10, 20, 32, 45]);
    for side in sides {
        let (infos, receptions, beacons) = world(side);
        let started = Instant::now();
        let d = detect::detect(&receptions, &infos, &beacons);
        let took = started.elapsed().as_secs_f64();
        let mut sorted: Vec<&Reception> = receptions.iter().collect();
        let started = Instant::now();
        sorted.sort_by_key(|a| (a.beacon, a.witness));
        let sort = started.elapsed().as_secs_f64();
        println!(
            "{:>9} {:>11} {:>10.2} {:>12.0} {:>9.3} {:>8.0}   ({} findings on an honest network)",
            infos.len(),
            receptions.len(),
            took,
            receptions.len() as f64 / took,
            sort,
            took / sort,
            d.findings.len()
        );
        let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &d.findings {
            *codes.entry(f.code.code()).or_default() += 1;
        }
        if let Some(f) = d.findings.first() {
            println!("          {codes:?}: e.g. {}", f.evidence);
        }
    }
}
