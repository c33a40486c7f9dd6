//! The packet router's throughput next to raw ed25519 verification of the same reports, in the
//! same run, on one core each (the router keeps one memory of packets, so it runs on one).
//!
//! Run: `cargo bench -p oracle --bench router` (prints the figures).
//!
//! - raw: `verify_strict` over each packet report's exact signed bytes, keys already parsed:
//!   the physical limit of the work (every report's signature must be checked).
//! - router: what the router job does per MQTT message, without the broker and the database:
//!   topic, registry, decode, signature (`PacketRouter::handle`: then the frame decoded with
//!   ChirpStack's codec, dedupe, route lookup, `max_copies`, a signed receipt per copy bought),
//!   and the Semtech UDP PUSH_DATA datagram built for each bought copy (`lns::push_data`).
//!
//! The load: 2,000 hotspots, 10,000 packets of 2,000 devices, each heard by 4 hotspots; one
//! route takes them all with `max_copies` 2, so half the copies are bought.

use std::{sync::Arc, time::Instant};

use hexproof_fixtures::devices::{Device, payload};
use hexproof_poc::{
    HotspotInfo,
    packets::{Org, Route, RouterLimits, RoutingTable},
};
use hexproof_proto::{
    Keypair, PublicKey, Signed,
    clock::Clock,
    region, topics,
    v1::{DataRate, PacketReport},
};
use oracle::{
    registry::StaticRegistry,
    router::{PacketRouter, lns},
    store::StoredReceipt,
};
use prost::Message;

const HOTSPOTS: usize = 2_000;
const DEVICES: u32 = 2_000;
const PACKETS: u32 = 10_000;
const COPIES: usize = 4;

fn main() {
    let keys: Vec<Keypair> = (0..HOTSPOTS)
        .map(|i| {
            let mut secret = [3u8; 32];
            secret[..8].copy_from_slice(&(i as u64).to_le_bytes());
            Keypair::from_secret(secret)
        })
        .collect();
    let registry = Arc::new(StaticRegistry::new(keys.iter().map(|k| HotspotInfo {
        pubkey: k.public(),
        owner: k.public(),
        location: None,
        gain_ddbi: 30,
        elevation_m: 0,
        asserted_at_ns: 0,
        region: region::RegionPlan::by_name("EU868").expect("EU868"),
    })));
    let devices: Vec<Device> = (0..DEVICES)
        .map(|n| Device::derive("bench", 0x4800_0000, n))
        .collect();
    let mut messages: Vec<(String, Vec<u8>)> = Vec::with_capacity(PACKETS as usize * COPIES);
    for p in 0..PACKETS {
        let d = &devices[(p % DEVICES) as usize];
        let fcnt = p / DEVICES;
        let frame = d.uplink(fcnt, 1, &payload(d.dev_addr, fcnt, 20), false);
        for c in 0..COPIES {
            let key = &keys[(p as usize * 7 + c * 131) % HOTSPOTS];
            let report = PacketReport {
                payload: frame.clone(),
                timestamp_ns: 1_000 + u64::from(p),
                frequency_hz: 868_100_000,
                data_rate: DataRate::Sf9bw125 as i32,
                rssi_ddbm: -1_000,
                snr_ddb: 40,
                ..Default::default()
            }
            .signed(key);
            messages.push((topics::packets(&key.public()), report.encode_to_vec()));
        }
    }
    println!(
        "router bench: {HOTSPOTS} hotspots, {PACKETS} packets of {DEVICES} devices, {COPIES} copies each \
         ({} reports), one route of max_copies 2",
        messages.len()
    );

    // Raw: the signature checks alone.
    let decoded: Vec<(
        ed25519_dalek::VerifyingKey,
        Vec<u8>,
        ed25519_dalek::Signature,
    )> = messages
        .iter()
        .map(|(_, bytes)| {
            let r = PacketReport::decode(bytes.as_slice()).expect("a report");
            let (signer, signature) = r.signature_parts().expect("well formed");
            (
                signer.verifying_key().expect("a key"),
                r.signing_bytes(),
                signature,
            )
        })
        .collect();
    let t = Instant::now();
    for (key, bytes, signature) in &decoded {
        key.verify_strict(bytes, signature).expect("valid");
    }
    let raw = decoded.len() as f64 / t.elapsed().as_secs_f64();

    // The router.
    let table = RoutingTable::new(
        [Org {
            oui: 1,
            owner: PublicKey::from([1; 32]),
            payer: PublicKey::from([2; 32]),
            enabled: true,
        }],
        [Route {
            id: 1,
            oui: 1,
            max_copies: 2,
            dev_addrs: vec![(0x4800_0000, 0x48ff_ffff)],
            euis: vec![],
            session_keys: vec![],
            lns: "udp://127.0.0.1:1700".into(),
            active: true,
        }],
    )
    .expect("a table");
    let mut router = PacketRouter::new(
        table,
        RouterLimits {
            hotspot_burst: 1_000_000,
            ..Default::default()
        },
        Keypair::from_secret([9; 32]),
        registry,
        Clock::system(),
    );
    let (mut bought, mut datagram_bytes) = (0usize, 0usize);
    let t = Instant::now();
    for (topic, bytes) in &messages {
        if let Ok(receipts) = router.handle(topic, bytes) {
            for (receipt, report) in receipts {
                let copy = StoredReceipt {
                    id: [0; 32],
                    receipt,
                    report,
                    delivered_ns: None,
                    attempts: 0,
                };
                datagram_bytes += lns::push_data(&copy, 1).map_or(0, |d| d.len());
                bought += 1;
            }
        }
    }
    let routed = messages.len() as f64 / t.elapsed().as_secs_f64();
    let counts = router.counts();
    println!(
        "raw ed25519 verification: {raw:>9.0} reports/s (one core)\n\
         router:                    {routed:>9.0} reports/s (one core): decode, signature, \
         dedupe, route, {bought} copies bought and signed, {datagram_bytes} bytes of PUSH_DATA; \
         not bought: {:?}\n\
         router / raw: {:.3} (goal >= 0.8)",
        counts.lock().expect("counts"),
        routed / raw
    );
}
