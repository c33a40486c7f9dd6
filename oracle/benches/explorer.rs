//! Explorer load (not a test): GetHex and ListReports latency at 100 concurrent gRPC clients
//! over net-2000 (2,000 hotspots) with a day of stored reports (4 beacons per hotspot, ~15
//! witnesses each, ~13 % of witnesses invalid). Prints p50/p99 latency and requests/s.
//!
//! Run: `cargo bench -p oracle --bench explorer`. Target: GetHex p99 under 10 ms. The explorer
//! under load with its limits, next to a running oracle: `--bench explorer_load`.
//! Clients and server share this process and the machine's cores, as they would on one box.

mod common;
use common::Lcg;
use common::percentile;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use hexproof_poc::{Kind, Reason, Status};
use hexproof_proto::v1::{self, explorer_client::ExplorerClient};
use oracle::{
    explorer::{Explorer, ExplorerConfig, grpc},
    registry::{Registry, StaticRegistry},
    store::{NewReport, Store},
};
use tokio_util::sync::CancellationToken;

const CLIENTS: usize = 100;
const SECONDS: u64 = 10;
const DAY_NS: u64 = 86_400_000_000_000;
const T0: u64 = 1_800_000_000_000_000_000;

fn id(rng: &mut Lcg) -> [u8; 32] {
    let mut b = [0u8; 32];
    for chunk in b.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next().to_le_bytes());
    }
    b
}

/// A day of judged reports for the network, grouped so witnesses hear hotspots of their city.
fn day_of_reports(network: &hexproof_fixtures::Network) -> Vec<NewReport> {
    let mut rng = Lcg(7);
    let mut by_city: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    for (i, h) in network.hotspots.iter().enumerate() {
        by_city.entry(h.city.as_str()).or_default().push(i);
    }
    let mut out = Vec::new();
    for (i, h) in network.hotspots.iter().enumerate() {
        let neighbours = &by_city[h.city.as_str()];
        for b in 0..4u64 {
            let ts = T0 + b * DAY_NS / 4 + rng.next() % (DAY_NS / 8);
            let beacon = id(&mut rng);
            out.push(NewReport {
                id: beacon,
                kind: Kind::Beacon,
                hotspot: h.key.pubkey.to_string(),
                packet_hash: Some(id(&mut rng)),
                timestamp_ns: ts,
                received_ns: ts + 1_000_000_000,
                payload: vec![0; 64],
                status: Status::Valid,
                reason: None,
                detail: None,
                rssi_ddbm: None,
                snr_ddb: None,
                frequency_hz: None,
            });
            for w in 0..15u64 {
                let j = neighbours[rng.below(neighbours.len())];
                if j == i {
                    continue;
                }
                let invalid = rng.below(100) < 13;
                out.push(NewReport {
                    id: id(&mut rng),
                    kind: Kind::Witness,
                    hotspot: network.hotspots[j].key.pubkey.to_string(),
                    packet_hash: None,
                    timestamp_ns: ts + 1_000_000 * (w + 1),
                    received_ns: ts + 2_000_000_000,
                    payload: vec![0; 96],
                    status: if invalid {
                        Status::Invalid
                    } else {
                        Status::Valid
                    },
                    reason: invalid.then_some(Reason::WitnessTooFar),
                    detail: None,
                    rssi_ddbm: Some(-1300 + rng.below(600) as i32),
                    snr_ddb: Some(-150 + rng.below(250) as i32),
                    frequency_hz: Some(868_100_000),
                });
            }
        }
    }
    out
}

async fn load(
    port: u16,
    what: &'static str,
    requests: Arc<Vec<String>>,
) -> (Vec<Duration>, Duration) {
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        clients.push(
            ExplorerClient::connect(format!("http://127.0.0.1:{port}"))
                .await
                .unwrap(),
        );
    }
    let start = Instant::now();
    let until = start + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for (n, mut c) in clients.into_iter().enumerate() {
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut k = n;
            while Instant::now() < until {
                let arg = requests[k % requests.len()].clone();
                k += CLIENTS;
                let t = Instant::now();
                let ok = match what {
                    "GetHex" => c
                        .get_hex(v1::GetHexRequest {
                            cell: arg,
                            ..Default::default()
                        })
                        .await
                        .is_ok(),
                    _ => c
                        .list_reports(v1::ListReportsRequest {
                            hotspot: arg,
                            since_ns: 0,
                            until_ns: 0,
                            page_size: 100,
                            page_token: String::new(),
                        })
                        .await
                        .is_ok(),
                };
                assert!(ok, "{what} failed");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, start.elapsed())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let network = hexproof_fixtures::network("net-2000").unwrap();
        let registry: Arc<dyn Registry> =
            Arc::new(StaticRegistry::from_file(&network.registry(0)).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("b.db").display()))
            .await
            .unwrap();
        let reports = day_of_reports(&network);
        let t = Instant::now();
        for chunk in reports.chunks(5_000) {
            store.insert_reports(chunk).await.unwrap();
        }
        println!(
            "stored a day of reports: {} rows for {} hotspots in {:.1} s",
            reports.len(),
            network.hotspots.len(),
            t.elapsed().as_secs_f64()
        );
        let stop = CancellationToken::new();
        let t = Instant::now();
        // Every client's query let through: this measures the queries, `explorer_load` the
        // limits.
        let config = ExplorerConfig {
            max_heavy: CLIENTS,
            max_heavy_per_client: CLIENTS,
            ..Default::default()
        };
        let (explorer, verdicts) =
            Explorer::load_with(store.clone(), registry.clone(), config, stop.clone())
                .await
                .unwrap();
        println!("explorer index loaded in {:.2} s", t.elapsed().as_secs_f64());
        tokio::spawn(explorer.clone().follow(verdicts, stop.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(grpc::serve(explorer.clone(), listener, stop.clone()));

        // Cells around random hotspots at resolutions 4 (a metro) to 8 (the public resolution,
        // a neighbourhood).
        let mut rng = Lcg(99);
        let infos = registry.all();
        let cells: Vec<String> = (0..10_000)
            .map(|_| {
                let h = &infos[rng.below(infos.len())];
                let res = h3o::Resolution::try_from(4 + rng.below(5) as u8).unwrap();
                h.location.unwrap().parent(res).unwrap().to_string()
            })
            .collect();
        let keys: Vec<String> = (0..10_000)
            .map(|_| infos[rng.below(infos.len())].pubkey.to_string())
            .collect();
        // The query alone, without gRPC.
        let t = Instant::now();
        let mut listed = 0;
        for cell in &cells {
            listed += explorer.get_hex(cell, 0, "").unwrap().hotspot_count as usize;
        }
        println!(
            "GetHex in process: {:.1} µs per call ({} hotspots per hex on average)",
            t.elapsed().as_secs_f64() * 1e6 / cells.len() as f64,
            listed / cells.len()
        );
        for (what, requests) in [("GetHex", cells), ("ListReports", keys)] {
            let (mut latencies, took) = load(port, what, Arc::new(requests)).await;
            latencies.sort();
            println!(
                "{what:<12} {CLIENTS} clients, {SECONDS} s: {:>7} requests, {:>7.0} req/s, p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.2} ms",
                latencies.len(),
                latencies.len() as f64 / took.as_secs_f64(),
                percentile(&latencies, 0.50).as_secs_f64() * 1e3,
                percentile(&latencies, 0.99).as_secs_f64() * 1e3,
                latencies.last().unwrap().as_secs_f64() * 1e3,
            );
        }
        stop.cancel();
    });
}
