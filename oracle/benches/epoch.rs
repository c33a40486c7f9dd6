//! Closing an epoch at scale (not a test): 100,000 hotspots, 300,000 valid beacons,
//! 3,000,000 selected witnesses and 10,000,000 packet copies bought for 50 orgs. Prints the
//! time of each step and the peak resident memory.
//!
//! Run: `cargo bench -p oracle --bench epoch`. Targets: under 30 s and under 2 GiB.
//!
//! Measured from the point where the verdict rows are in memory (what the `GROUP BY` of
//! `rewards::epoch::activity` hands over) to the signed epoch: counting per hotspot, the hex
//! density scales of every hotspot, the copies' credits per hotspot and org (from the counts
//! per (hotspot, org, size) the receipts' `GROUP BY` hands over, itself counted here from the
//! 10 million copies), the data pool and the coverage split, lifetime amounts, the Merkle
//! tree over hotspots and orgs, and the oracle signature.

mod common;
use common::Lcg;

use std::{collections::BTreeMap, time::Instant};

use h3o::{CellIndex, LatLng, Resolution};
use hexproof_poc::rewards::{self, Activity, DataActivity, RewardConfig, density, epoch};
use hexproof_proto::{Keypair, PublicKey};

const HOTSPOTS: usize = 100_000;
const BEACONS: usize = 300_000;
const WITNESSES: usize = 3_000_000;
const COPIES: usize = 10_000_000;
const ORGS: u64 = 50;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    let mut rng = Lcg(42);
    // Hotspots around 50 metro areas, as real deployments cluster.
    let metros: Vec<(f64, f64)> = (0..50)
        .map(|_| (rng.unit() * 100.0 - 40.0, rng.unit() * 300.0 - 150.0))
        .collect();
    let keys: Vec<PublicKey> = (0..HOTSPOTS)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..8].copy_from_slice(&(i as u64).to_le_bytes());
            b[8] = 0xA5;
            PublicKey::from(b)
        })
        .collect();
    let cells: Vec<CellIndex> = (0..HOTSPOTS)
        .map(|_| {
            let (lat, lon) = metros[(rng.next() % 50) as usize];
            let (u1, u2) = (rng.unit(), rng.unit());
            let r = u1 * u2 * 0.4;
            let a = rng.unit() * std::f64::consts::TAU;
            LatLng::new(lat + r * a.sin(), lon + r * a.cos())
                .unwrap()
                .to_cell(Resolution::Twelve)
        })
        .collect();
    // Verdict rows as the database returns them: (hotspot index, is beacon).
    let rows: Vec<(u32, bool)> = (0..BEACONS + WITNESSES)
        .map(|i| ((rng.next() % HOTSPOTS as u64) as u32, i < BEACONS))
        .collect();
    // Receipts as stored: (hotspot index, org, PHYPayload size), 12 to 64 bytes.
    let copies: Vec<(u32, u16, u8)> = (0..COPIES)
        .map(|_| {
            let r = rng.next();
            (
                (r % HOTSPOTS as u64) as u32,
                ((r >> 20) % ORGS) as u16,
                12 + ((r >> 40) % 53) as u8,
            )
        })
        .collect();
    let oracle = Keypair::from_secret([7; 32]);
    let config = RewardConfig::default();
    let before = peak_rss_mib();

    let total = Instant::now();
    let t = Instant::now();
    let mut activity = Activity::default();
    for &(i, beacon) in &rows {
        let map = if beacon {
            &mut activity.beacons
        } else {
            &mut activity.witnesses
        };
        *map.entry(keys[i as usize]).or_default() += 1;
    }
    let count_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let scales = density::scales(&cells, &config.density);
    activity.scales = keys
        .iter()
        .zip(&cells)
        .map(|(k, c)| (*k, scales[c]))
        .collect();
    let density_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut counts: BTreeMap<(u32, u16, u8), u64> = BTreeMap::new();
    for &c in &copies {
        *counts.entry(c).or_default() += 1;
    }
    let groups = counts.len();
    let data = DataActivity::from_copies(
        counts
            .into_iter()
            .map(|((h, oui, size), n)| (keys[h as usize], u64::from(oui), u32::from(size), n)),
    );
    let data_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let previous = epoch::Lifetimes::default();
    let closed = epoch::build(1, &config, &activity, &data, &previous, &oracle);
    let build_s = t.elapsed().as_secs_f64();
    let total_s = total.elapsed().as_secs_f64();

    assert_eq!(closed.paid + closed.dust, closed.emission + closed.remint);
    assert_eq!(closed.orgs.len() as u64, ORGS);
    assert_eq!(
        closed.orgs.iter().map(|o| o.dc).sum::<u64>(),
        closed.rows.iter().map(|r| r.dc).sum::<u64>()
    );
    let scaled = scales.values().filter(|&&s| s < rewards::SCALE_ONE).count();
    println!(
        "closing an epoch: {HOTSPOTS} hotspots, {BEACONS} beacons, {WITNESSES} selected witnesses, {COPIES} packet copies"
    );
    println!("  count per hotspot          {count_s:>7.2} s");
    println!(
        "  hex density scales         {density_s:>7.2} s   ({scaled} of {} cells scaled down)",
        scales.len()
    );
    println!(
        "  credits per hotspot and org {data_s:>6.2} s   ({groups} (hotspot, org, size) groups, {} DC, re-minted {}, data pool paid {} of {})",
        data.charged.values().sum::<u64>(),
        closed.remint,
        closed.data_paid,
        closed.data_pool
    );
    println!(
        "  rewards, lifetime, tree, signature {build_s:>7.2} s   ({} leaves)",
        closed.rows.len() + closed.orgs.len()
    );
    println!("  total                      {total_s:>7.2} s   (target < 30 s)");
    println!(
        "  peak RSS                   {:>7.0} MiB (target < 2048 MiB; {before:.0} MiB before closing, inputs included)",
        peak_rss_mib()
    );
}
