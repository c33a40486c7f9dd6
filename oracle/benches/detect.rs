//! Detection at scale (not a test): an epoch's receptions through `hexproof_poc::detect`, the
//! step every epoch close (and every replay by every member of a set) runs before the reward
//! rules. Two worlds, both on the field's physics (the simulator's medium: 8 dB of static
//! shadowing per link, 2 dB of fading per packet, masts, SF9's reach):
//!
//! - **Scale**: a grid of hotspots 1 km apart, each beaconing 12 times (and the largest 7 times:
//!   about 4 million receptions); every reception in
//!   reach is a valid witness report. Prints the time for sizes up to 2,025 hotspots and, as
//!   the peer in the same run, the time of the one sort detection cannot avoid (receptions
//!   in canonical order).
//! - **net-2000**: the committed 2,000-hotspot network (16 cities), one hotspot in ten on a
//!   40 m mast; prints the findings, which on an honest network are false positives.
//!
//! Run: `cargo bench -p oracle --bench detect` (`DETECT_SIDES=10,20` for other grid sizes).

mod common;
use common::Lcg;

use std::{collections::BTreeMap, time::Instant};

use h3o::{LatLng, Resolution};
use hexproof_poc::{
    HotspotInfo,
    detect::{self, Heard, Reception},
};
use hexproof_proto::{Keypair, PublicKey, region, v1::DataRate};
use hotspot_agent::radio::{
    TxPacket,
    sim::{MediumModel, Placement, link_normal, reception},
};

/// Beacons per hotspot and epoch (12: one every five minutes of an hour); the 2,025-hotspot
/// grid is also run with 7 (about 4 million receptions, the yardstick).
const BEACONS_EACH: u64 = 12;

/// A hotspot of a world: its key, where it is (and is asserted), its antenna and region.
struct Site {
    info: HotspotInfo,
    place: Placement,
}

/// Every hotspot beacons `each` times at its region's power; every other one within 80 km
/// hears it as the medium allows.
fn air(sites: &[Site], each: u64, seed: u64) -> (Vec<Reception>, BTreeMap<PublicKey, u64>) {
    let model = MediumModel::default();
    let mut rng = Lcg(seed);
    let mut receptions = Vec::new();
    let mut beacons = BTreeMap::new();
    for b in sites {
        let power = b.info.region.beacon_tx_power_ddbm(b.info.gain_ddbi);
        let packet = TxPacket {
            payload: vec![],
            frequency_hz: b.info.region.channels_hz[0],
            data_rate: DataRate::Sf9bw125,
            power_ddbm: power,
        };
        beacons.insert(b.info.pubkey, each);
        let near: Vec<(&Site, f64)> = sites
            .iter()
            .filter(|w| w.info.pubkey != b.info.pubkey)
            .filter(|w| {
                hexproof_proto::rf::distance_m(b.place.lat, b.place.lon, w.place.lat, w.place.lon)
                    < 80_000.0
            })
            .map(|w| {
                let shadow =
                    link_normal(seed, (b.place.lat, b.place.lon), (w.place.lat, w.place.lon));
                (w, shadow * model.link_shadowing_db)
            })
            .collect();
        for n in 0..each {
            let mut id = b.info.pubkey.to_bytes();
            id[..8].copy_from_slice(&n.to_le_bytes());
            for (w, shadow) in &near {
                // Sum of four uniforms: a standard normal draw, near enough.
                let fade = (rng.unit() + rng.unit() + rng.unit() + rng.unit() - 2.0) * 1.732;
                let Some((rssi, snr)) = reception(
                    &model,
                    &b.place,
                    &w.place,
                    &packet,
                    *shadow,
                    fade * model.fading_db,
                ) else {
                    continue;
                };
                receptions.push(Reception {
                    beacon: id,
                    beaconer: b.info.pubkey,
                    witness: w.info.pubkey,
                    rssi_ddbm: rssi,
                    snr_ddb: snr,
                    tx_power_ddbm: power,
                    heard: Heard::Valid,
                });
            }
        }
    }
    (receptions, beacons)
}

fn site(
    key: PublicKey,
    lat: f64,
    lon: f64,
    gain_ddbi: i32,
    elevation_m: i32,
    plan: &'static region::RegionPlan,
) -> Site {
    Site {
        info: HotspotInfo {
            pubkey: key,
            owner: key,
            location: Some(LatLng::new(lat, lon).unwrap().to_cell(Resolution::Twelve)),
            gain_ddbi,
            elevation_m,
            asserted_at_ns: 0,
            region: plan,
            placement: None,
        },
        place: Placement {
            elevation_m,
            ..Placement::at(lat, lon, gain_ddbi)
        },
    }
}

fn grid(side: usize) -> Vec<Site> {
    (0..side * side)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            site(
                Keypair::from_secret(seed).public(),
                52.0 + (i / side) as f64 * 0.009,
                13.0 + (i % side) as f64 * 0.0147,
                30,
                5,
                &region::EU868,
            )
        })
        .collect()
}

/// The committed net-2000, one hotspot in ten (by key) on a 40 m mast.
fn net_2000() -> Vec<Site> {
    let network = hexproof_fixtures::Network::load(
        &hexproof_fixtures::fixtures_dir().join("networks/net-2000.json"),
    )
    .expect("fixtures/networks/net-2000.json");
    network
        .hotspots
        .iter()
        .map(|h| {
            let tower = h.key.pubkey.to_bytes()[0] % 10 == 0;
            let cell: h3o::CellIndex = h.asserted_location.parse().expect("a cell");
            let at = LatLng::from(cell);
            site(
                h.key.pubkey,
                at.lat(),
                at.lng(),
                h.gain_ddbi,
                if tower { 40 } else { h.elevation_m },
                region::RegionPlan::by_name(&h.region).expect("a region"),
            )
        })
        .collect()
}

fn codes(d: &detect::Detection) -> BTreeMap<&'static str, usize> {
    let mut codes = BTreeMap::new();
    for f in &d.findings {
        *codes.entry(f.code.code()).or_default() += 1;
    }
    codes
}

fn main() {
    println!(
        "{:>9} {:>11} {:>10} {:>12} {:>9} {:>8}  findings (an honest network: false positives)",
        "hotspots", "receptions", "detect s", "receptions/s", "sort s", "÷ sort"
    );
    let sides: Vec<usize> = std::env::var("DETECT_SIDES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.parse().ok()).collect())
        .unwrap_or(vec![10, 20, 32, 45]);
    let mut worlds: Vec<(String, Vec<Site>, u64)> = sides
        .into_iter()
        .map(|side| (format!("{}", side * side), grid(side), BEACONS_EACH))
        .collect();
    if std::env::var("DETECT_SIDES").is_err() {
        worlds.push(("2025 ×7".into(), grid(45), 7));
    }
    worlds.push(("net-2000".into(), net_2000(), BEACONS_EACH));
    for (name, sites, each) in worlds {
        let (receptions, beacons) = air(&sites, each, 7);
        let infos: Vec<HotspotInfo> = sites.iter().map(|s| s.info.clone()).collect();
        let started = Instant::now();
        let d = detect::detect(&receptions, &infos, &beacons);
        let took = started.elapsed().as_secs_f64();
        let mut sorted: Vec<&Reception> = receptions.iter().collect();
        let started = Instant::now();
        sorted.sort_by_key(|a| (a.beacon, a.witness));
        let sort = started.elapsed().as_secs_f64();
        println!(
            "{:>9} {:>11} {:>10.2} {:>12.0} {:>9.3} {:>8.1}  {} {:?}",
            name,
            receptions.len(),
            took,
            receptions.len() as f64 / took,
            sort,
            took / sort,
            d.findings.len(),
            codes(&d)
        );
        if let Some(f) = d.findings.first() {
            println!("          e.g. {}", f.evidence);
        }
    }
}
