//! WatchVerdicts while a fixture network runs: the oracle as its own process with real
//! mosquitto and adversaries-30's agents on the simulated medium; one watcher sees every
//! verdict the oracle writes, exactly once and as stored; another, filtered to a location
//! spoofer, sees only that hotspot, its witnesses rejected as too far.

mod common;

use std::{
    collections::HashMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use common::*;
use hexproof_fixtures::{
    Behaviour,
    servers::{Mosquitto, free_port},
};
use hexproof_poc::Status;
use hexproof_proto::{
    clock::Clock,
    v1::{self, explorer_client::ExplorerClient},
};
use hotspot_agent::swarm::Swarm;
use oracle::store::Store;
use tokio_util::sync::CancellationToken;

const SPEED: u32 = 120;

async fn watch(port: u16, hotspot: String) -> tonic::Streaming<v1::VerdictEvent> {
    for _ in 0..100 {
        if let Ok(mut c) = ExplorerClient::connect(format!("http://127.0.0.1:{port}")).await {
            return c
                .watch_verdicts(v1::WatchVerdictsRequest {
                    hotspot: hotspot.clone(),
                    cell: String::new(),
                })
                .await
                .unwrap()
                .into_inner();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the explorer did not come up on {port}");
}

fn collect(
    mut stream: tonic::Streaming<v1::VerdictEvent>,
) -> tokio::task::JoinHandle<Vec<v1::ReportVerdict>> {
    tokio::spawn(async move {
        let mut got = Vec::new();
        while let Ok(Some(event)) = stream.message().await {
            got.extend(event.verdict);
        }
        got
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_see_every_verdict_as_the_network_runs() {
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/adversaries-30.json");
    let network = hexproof_fixtures::Network::load(&network_file).unwrap();
    let broker = Mosquitto::start().unwrap();
    let origin_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("oracle.db").display());
    let mut oracle = OracleProcess::start(&OracleSetup {
        dir: dir.path(),
        network_file: &network_file,
        network: &network,
        database: &database,
        broker: &broker.url(),
        speed: SPEED,
        origin_ns,
        metrics_port: free_port(),
        validation: simulation_limits(),
    });
    let spoofer = network
        .hotspots
        .iter()
        .find(|h| h.behaviour == Behaviour::LocationSpoofer)
        .unwrap()
        .key
        .pubkey
        .to_string();
    let everything = collect(watch(oracle.grpc_port, String::new()).await);
    let spoofed = collect(watch(oracle.grpc_port, spoofer.clone()).await);

    let shutdown = CancellationToken::new();
    let swarm = Swarm::start(
        swarm_config(
            &network,
            &broker.url(),
            &dir.path().join("swarm"),
            Clock::accelerated_from(origin_ns, SPEED),
            11,
        ),
        &shutdown,
    )
    .unwrap();
    let running = tokio::spawn(swarm.run(Duration::from_secs(5), shutdown.clone()));
    tokio::time::sleep(Duration::from_secs(15)).await;
    shutdown.cancel();
    running.await.unwrap();

    // Wait until everything stored is judged, then stop the oracle: the streams end.
    let store = Store::connect(&database).await.unwrap();
    let judged = wait_until(Duration::from_secs(40), || {
        let store = store.clone();
        async move {
            let all = store.judged_reports().await.unwrap();
            !all.is_empty() && all.iter().all(|r| r.status != Status::Pending)
        }
    })
    .await;
    assert!(judged, "reports left pending\n{}", oracle.log());
    tokio::time::sleep(Duration::from_secs(1)).await;
    oracle.terminate();
    let everything = tokio::time::timeout(Duration::from_secs(15), everything)
        .await
        .expect("the stream ends when the oracle stops")
        .unwrap();
    let spoofed = spoofed.await.unwrap();

    let stored: HashMap<Vec<u8>, oracle::store::JudgedReport> = store
        .judged_reports()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.report.id.to_vec(), r))
        .collect();
    assert!(stored.len() > 200, "a busy network: {}", stored.len());
    let mut seen = std::collections::HashSet::new();
    for v in &everything {
        assert!(seen.insert(v.id.clone()), "a verdict came twice");
        let s = &stored[&v.id];
        assert_eq!(v.valid, s.status == Status::Valid);
        assert_eq!(v.hotspot, s.report.hotspot);
    }
    assert_eq!(everything.len(), stored.len(), "every verdict was streamed");

    assert!(!spoofed.is_empty());
    assert!(spoofed.iter().all(|v| v.hotspot == spoofer));
    assert!(
        spoofed
            .iter()
            .any(|v| !v.valid && v.reason == "witness_too_far"),
        "{:?}",
        spoofed.iter().map(|v| &v.reason).collect::<Vec<_>>()
    );
}
