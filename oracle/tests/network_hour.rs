//! End to end against a real mosquitto and both databases: every hotspot of a fixture network
//! (honest ones, location spoofers and beacon replayers) runs as an agent on the simulated
//! medium for a simulated hour; the oracle runs as its own process and is `kill -9`ed in the
//! middle of ingest and restarted. Afterwards every report the broker acknowledged is stored
//! exactly once, and the verdicts are what physics and the rules say they must be.

mod common;

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use common::*;
use hexproof_fixtures::{
    Behaviour,
    servers::{Mosquitto, Postgres, free_port},
};
use hexproof_poc::{Kind, Status};
use hexproof_proto::clock::Clock;
use hotspot_agent::swarm::Swarm;
use oracle::store::Store;
use tokio_util::sync::CancellationToken;

/// Simulated seconds per real second.
const SPEED: u32 = 120;

async fn simulated_hour(database: &str) {
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/adversaries-30.json");
    let network = hexproof_fixtures::Network::load(&network_file).unwrap();
    let broker = Mosquitto::start().unwrap();
    let origin_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let clock = Clock::accelerated_from(origin_ns, SPEED);
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = free_port();
    let mut oracle = OracleProcess::start(&OracleSetup {
        dir: dir.path(),
        network_file: &network_file,
        network: &network,
        database,
        broker: &broker.url(),
        speed: SPEED,
        origin_ns,
        metrics_port,
        // Windows in simulated seconds: at 120x, 300 s is 2.5 s of real time for witnesses to
        // join their beacon (and 7.5 s before a witness counts as orphaned), room for a loaded
        // CI machine.
        validation: simulation_limits(),
    });

    let shutdown = CancellationToken::new();
    let swarm = Swarm::start(
        swarm_config(&network, &broker.url(), &dir.path().join("swarm"), clock, 7),
        &shutdown,
    )
    .unwrap();
    let stats: Vec<_> = swarm.hotspots.iter().map(|(_, s)| s.clone()).collect();
    let swarm_stop = shutdown.clone();
    let running = tokio::spawn(swarm.run(Duration::from_secs(5), swarm_stop));

    // A simulated hour is 30 s; kill the oracle 12 s in, mid-ingest, and bring it back.
    let hour = Duration::from_secs(3600 / u64::from(SPEED));
    tokio::time::sleep(hour * 2 / 5).await;
    assert!(oracle.is_running(), "{}", oracle.log());
    oracle.kill9();
    tokio::time::sleep(Duration::from_secs(2)).await;
    oracle.restart();
    tokio::time::sleep(hour * 3 / 5).await;
    shutdown.cancel();
    let totals = running.await.unwrap();
    assert_eq!(
        totals.pending, 0,
        "every report left the agents' outboxes: {totals:?}"
    );
    let published = stats
        .iter()
        .map(|s| s.published.load(std::sync::atomic::Ordering::Relaxed))
        .sum::<u64>();
    assert!(
        totals.beacons > 60 && totals.witnesses > 300,
        "a busy hour: {totals:?}"
    );

    // Every acknowledged report reaches storage once, and every one gets a verdict.
    let store = Store::connect(database).await.unwrap();
    let stored = wait_until(Duration::from_secs(30), || {
        let store = store.clone();
        async move { store.count_reports().await.unwrap() >= published }
    })
    .await;
    assert!(
        stored,
        "stored {} of {published}\n{}",
        store.count_reports().await.unwrap(),
        oracle.log()
    );
    let judged = wait_until(Duration::from_secs(30), || {
        let store = store.clone();
        async move {
            store
                .judged_reports()
                .await
                .unwrap()
                .iter()
                .all(|r| r.status != Status::Pending)
        }
    })
    .await;
    assert!(judged, "reports left pending\n{}", oracle.log());
    assert_eq!(
        store.count_reports().await.unwrap(),
        published,
        "no loss, no duplicates"
    );
    assert!(oracle.is_running());

    check_verdicts(&store, &network).await;

    let metrics = http_get(metrics_port, "/metrics").expect("metrics endpoint");
    assert!(
        metrics.contains("hexproof_reports_valid_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hexproof_reports_received_total"),
        "{metrics}"
    );
}

async fn check_verdicts(store: &Store, network: &hexproof_fixtures::Network) {
    let behaviour: HashMap<String, Behaviour> = network
        .hotspots
        .iter()
        .map(|h| (h.key.pubkey.to_string(), h.behaviour))
        .collect();
    let reports = store.judged_reports().await.unwrap();
    let by_id: HashMap<[u8; 32], &oracle::store::JudgedReport> =
        reports.iter().map(|r| (r.report.id, r)).collect();
    let mut tally: BTreeMap<(Behaviour, String), u64> = BTreeMap::new();
    let mut selected_per_beacon: HashMap<[u8; 32], usize> = HashMap::new();
    for r in &reports {
        let who = behaviour[&r.report.hotspot];
        let verdict = r.reason.clone().unwrap_or_else(|| "valid".into());
        *tally
            .entry((who, format!("{}:{verdict}", r.report.kind.name())))
            .or_default() += 1;
        match r.report.kind {
            // Beacon rules do not look at where a hotspot really is: every beacon is valid.
            Kind::Beacon => assert_eq!(r.status, Status::Valid, "{r:?}"),
            Kind::Witness => {
                let beacon = r.beacon_id.and_then(|b| by_id.get(&b));
                let beaconer = beacon.map(|b| behaviour[&b.report.hotspot]);
                let reason = r.reason.as_deref();
                match (who, beaconer) {
                    // Replayed beacons arrive seconds late with impossible signals.
                    (Behaviour::BeaconReplayer, _) => assert!(
                        matches!(
                            reason,
                            Some(
                                "witness_time_window"
                                    | "witness_rssi_too_high"
                                    | "witness_too_close"
                            )
                        ),
                        "replayer witness accepted: {r:?}"
                    ),
                    // A spoofer's asserted location is 150–400 km from the radio that heard or sent.
                    (Behaviour::LocationSpoofer, _) | (_, Some(Behaviour::LocationSpoofer)) => {
                        assert_eq!(reason, Some("witness_too_far"), "{r:?}")
                    }
                    // Honest witnesses of real beacons (a replayer's own beacons are real
                    // transmissions): valid, unless too close to prove coverage.
                    (Behaviour::Honest, Some(Behaviour::Honest | Behaviour::BeaconReplayer)) => {
                        assert!(matches!(reason, None | Some("witness_too_close")), "{r:?}")
                    }
                    _ => panic!("unexpected witness {r:?}"),
                }
                if r.selected {
                    assert_eq!(r.status, Status::Valid);
                    *selected_per_beacon.entry(r.beacon_id.unwrap()).or_default() += 1;
                }
            }
            Kind::Undecodable => panic!("agents only send well-formed reports: {r:?}"),
        }
    }
    assert!(selected_per_beacon.values().all(|&n| n <= 14));
    for (who, min) in [
        (Behaviour::Honest, "witness:valid"),
        (Behaviour::BeaconReplayer, "witness:witness_time_window"),
        (Behaviour::LocationSpoofer, "witness:witness_too_far"),
    ] {
        assert!(
            tally.get(&(who, min.to_string())).copied().unwrap_or(0) > 0,
            "expected some {who:?} {min}: {tally:?}"
        );
    }
    eprintln!("verdicts: {tally:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_hour_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    simulated_hour(&format!(
        "sqlite://{}",
        dir.path().join("oracle.db").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_hour_on_postgres() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_database("oracle").unwrap();
    simulated_hour(&url).await;
}

/// The oracle is crashed at every point where an interrupted oracle could lose or double
/// something (a batch stored but not acknowledged; an epoch computed but not saved; saved but
/// not yet on chain) and `kill -9`ed at seeded random moments of ingest, restarted each time,
/// while 30 hotspots publish. Afterwards every acknowledged report is stored once (by id),
/// and every epoch the oracle closed has the root a from-scratch run over the same stored
/// reports gives (an uninterrupted computation: the recorded lines judged in a fresh database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_during_ingest_and_epoch_close_change_nothing() {
    use rand::{Rng, SeedableRng};
    let pg = Postgres::start().unwrap();
    let database = pg.create_database("oracle").unwrap();
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/adversaries-30.json");
    let network = hexproof_fixtures::Network::load(&network_file).unwrap();
    let broker = Mosquitto::start().unwrap();
    let origin_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let clock = Clock::accelerated_from(origin_ns, SPEED);
    let dir = tempfile::tempdir().unwrap();
    let setup = OracleSetup {
        dir: dir.path(),
        network_file: &network_file,
        network: &network,
        database: &database,
        broker: &broker.url(),
        speed: SPEED,
        origin_ns,
        metrics_port: free_port(),
        validation: simulation_limits(),
    };
    // Ten-minute epochs (5 s of real time), closed as soon as every verdict is in.
    let mut config = setup.config();
    config.rewards.epoch_secs = 600;
    config.rewards.genesis_ns = origin_ns;
    config.rewards.close_delay_secs = 0;
    let rewards = config.rewards.clone();
    let mut oracle = OracleProcess::start_with(dir.path(), &network, config);
    oracle.terminate();

    let shutdown = CancellationToken::new();
    let mut swarm_config = swarm_config(
        &network,
        &broker.url(),
        &dir.path().join("swarm"),
        clock,
        11,
    );
    swarm_config.record_acks = true;
    let swarm = Swarm::start(swarm_config, &shutdown).unwrap();
    let stats: Vec<_> = swarm.hotspots.iter().map(|(_, s)| s.clone()).collect();
    let running = tokio::spawn(swarm.run(Duration::from_secs(5), shutdown.clone()));

    // Each armed crash point must be reached, and the process must die there.
    for point in [
        "ingest.after_commit",
        "epoch.before_save",
        "epoch.after_save",
    ] {
        oracle.restart_with_env(&[(oracle::crash::VARIABLE, point)]);
        assert!(
            oracle.wait_exit(Duration::from_secs(40)),
            "never reached {point}\n{}",
            oracle.log()
        );
        assert!(
            oracle
                .log()
                .contains(&format!("crash point {point} reached")),
            "{}",
            oracle.log()
        );
    }
    // Then plain kill -9 at random moments.
    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    for _ in 0..3 {
        oracle.restart();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(500..4_000))).await;
        assert!(oracle.is_running(), "{}", oracle.log());
        oracle.kill9();
    }
    oracle.restart();
    tokio::time::sleep(Duration::from_secs(8)).await;
    shutdown.cancel();
    // What agents still hold when they stop stays in their outboxes (not the oracle's
    // concern): the accounting below is by what the broker acknowledged.
    let totals = running.await.unwrap();
    let acknowledged: Vec<[u8; 32]> = stats.iter().flat_map(|s| s.acknowledged_ids()).collect();
    assert!(acknowledged.len() > 500, "a busy run: {totals:?}");

    // Every acknowledged report is stored, once.
    let store = Store::connect(&database).await.unwrap();
    let caught_up = wait_until(Duration::from_secs(30), || {
        let store = store.clone();
        let acknowledged = acknowledged.clone();
        async move {
            store
                .missing_reports(&acknowledged)
                .await
                .unwrap()
                .is_empty()
        }
    })
    .await;
    assert!(
        caught_up,
        "{} acknowledged reports not stored\n{}",
        store.missing_reports(&acknowledged).await.unwrap().len(),
        oracle.log()
    );
    assert_eq!(
        store.count_reports().await.unwrap(),
        acknowledged.len() as u64
    );

    // Let the oracle close what it can, then stop it cleanly.
    let last_epoch = rewards.epoch_of(clock.now_ns()) - 1;
    let closed = wait_until(Duration::from_secs(30), || {
        let store = store.clone();
        async move { store.last_closed_epoch().await.unwrap() >= Some(last_epoch) }
    })
    .await;
    assert!(closed, "epoch {last_epoch} not closed\n{}", oracle.log());
    oracle.terminate();
    let live_last = store.last_closed_epoch().await.unwrap().unwrap();
    assert!(live_last >= 4, "several epochs closed: {live_last}");

    // The same reports, received at the same times, judged and rewarded without interruption.
    let mut lines = Vec::new();
    oracle::audit::export(&store, &mut lines).await.unwrap();
    let lines: Vec<oracle::audit::Line> = String::from_utf8(lines)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let registry: std::sync::Arc<dyn oracle::registry::Registry> = std::sync::Arc::new(
        oracle::registry::StaticRegistry::load(&hexproof_fixtures::network::registry_path(
            &network_file,
        ))
        .unwrap(),
    );
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = Store::connect(&format!(
        "sqlite://{}",
        fresh_dir.path().join("fresh.db").display()
    ))
    .await
    .unwrap();
    oracle::audit::judge_into(
        &fresh,
        &lines,
        registry.clone(),
        setup.validation.clone(),
        &[],
    )
    .await
    .unwrap();
    let key = network.oracles[0].keypair().unwrap();
    let first = store.first_report_ns().await.unwrap().unwrap();
    let (_, end) = rewards.bounds(live_last);
    let replayed = oracle::epochs::close_ready(&fresh, registry.as_ref(), &rewards, &key, end)
        .await
        .unwrap();
    assert_eq!(
        replayed.last().map(|e| e.epoch),
        Some(live_last),
        "the replay closes the same epochs"
    );
    assert_eq!(replayed[0].epoch, rewards.epoch_of(first).max(1));
    for e in &replayed {
        let live = store.closed_epoch(e.epoch).await.unwrap().unwrap();
        assert_eq!(
            (hex::encode(live.root), live.paid, live.lifetime_total),
            (hex::encode(e.root), e.paid, e.lifetime_total),
            "epoch {}",
            e.epoch
        );
        assert!(live.paid > 0, "epoch {} paid rewards", e.epoch);
    }
}
