//! The demo path end to end with a real broker: `hexproof_demo::run` (what `hexproof-demo` runs)
//! against Debian's mosquitto instead of the embedded rumqttd, an embedded Solana runtime with
//! the program and SPL Token, for two short epochs.
//!
//! 1. An honest network (net-25): every published report is stored and judged; the rewards of
//!    every epoch equal an independent recomputation (the stored reports exported, judged
//!    offline against the fixture file instead of the chain registry, epochs closed again);
//!    the program holds the oracle's newest root; every owner's token balance equals the
//!    lifetime rewards of their hotspots.
//! 2. adversaries-30: location spoofers and beacon replayers are rejected with their reasons
//!    and earn nothing, on chain included.

use std::{collections::BTreeMap, sync::Arc};

use hexproof_client::{Chain, read};
use hexproof_demo::{self as demo, DemoOptions, DemoSummary};
use hexproof_fixtures::{
    Behaviour, Network, fixtures_dir,
    servers::{Mosquitto, Subscriber},
};
use hexproof_poc::{Kind, Limits, Status, rewards::RewardConfig};
use hexproof_proto::PublicKey;
use oracle::{
    audit::{self, Line},
    chain::pubkey,
    epochs,
    explorer::ExplorerConfig,
    registry::{Registry, StaticRegistry},
    store::Store,
};
use tokio_util::sync::CancellationToken;

async fn run_demo(network: &str, dir: &std::path::Path) -> (DemoSummary, Arc<Chain>, Mosquitto) {
    let broker = Mosquitto::start().unwrap();
    let summary_and_chain = demo_through(&broker, network, 2, 1_200, 120, dir).await;
    (summary_and_chain.0, summary_and_chain.1, broker)
}

/// `oracle demo --broker <broker>` for `epochs` epochs of `epoch_secs`.
async fn demo_through(
    broker: &Mosquitto,
    network: &str,
    epochs: u64,
    epoch_secs: u64,
    speed: u32,
    dir: &std::path::Path,
) -> (DemoSummary, Arc<Chain>) {
    let network_file = fixtures_dir().join(format!("networks/{network}.json"));
    let admin = Network::load(&network_file).unwrap().oracles[0].pubkey;
    let chain = Arc::new(Chain::embedded(&pubkey(&admin)).await);
    let opts = DemoOptions {
        network_file,
        epochs: Some(epochs),
        epoch_secs,
        speed,
        beacon_interval_secs: 300,
        broker: Some(broker.url()),
        database: None,
        state_dir: dir.to_path_buf(),
        explorer: ExplorerConfig {
            grpc_listen: Some("127.0.0.1:0".parse().unwrap()),
            http_listen: Some("127.0.0.1:0".parse().unwrap()),
        },
        progress: false,
    };
    let summary = demo::run(
        opts,
        chain.clone(),
        CancellationToken::new(),
        demo::print_epoch,
    )
    .await
    .unwrap();
    (summary, chain)
}

async fn store(dir: &std::path::Path) -> Store {
    Store::connect(&format!("sqlite://{}", dir.join("oracle.db").display()))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_network_rewards_roots_and_balances_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, chain, _broker) = run_demo("net-25", dir.path()).await;
    assert_eq!(summary.epochs.len(), 2);
    assert!(summary.reports_acknowledged > 500, "{summary:?}");
    assert!(
        summary.acknowledged_not_stored.is_empty(),
        "acknowledged but not stored: {:?}",
        summary.acknowledged_not_stored
    );
    assert_eq!(summary.reports_pending, 0, "every report has a verdict");
    let live = store(dir.path()).await;

    // Independent recomputation: export, judge offline against the fixture file, re-close.
    let mut exported = Vec::new();
    audit::export(&live, &mut exported).await.unwrap();
    let lines: Vec<Line> = String::from_utf8(exported)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let network = Network::load(&fixtures_dir().join("networks/net-25.json")).unwrap();
    let registry: Arc<dyn Registry> =
        Arc::new(StaticRegistry::from_file(&network.registry(0)).unwrap());
    let replay_dir = tempfile::tempdir().unwrap();
    let replay = store(replay_dir.path()).await;
    let limits = Limits {
        beacon_interval_secs: 300,
        witness_wait_secs: 60,
        location_min_age_secs: 0,
        ..Limits::default()
    };
    audit::judge_into(&replay, &lines, registry.clone(), limits, &[])
        .await
        .unwrap();
    let config = RewardConfig {
        epoch_secs: summary.epoch_secs,
        genesis_ns: summary.genesis_ns,
        close_delay_secs: 300,
        ..RewardConfig::default()
    };
    let key = network.oracles[0].keypair().unwrap();
    let last = summary.epochs.last().unwrap().epoch;
    let (_, end) = config.bounds(last);
    let closed = epochs::close_ready(
        &replay,
        registry.as_ref(),
        &config,
        &key,
        end + 300_000_000_000,
    )
    .await
    .unwrap();
    assert!(closed.len() as u64 >= last);
    // Verdict by verdict first: a difference there says which report was judged otherwise.
    let verdicts = |judged: Vec<oracle::store::JudgedReport>| -> BTreeMap<[u8; 32], (Status, Option<String>, bool)> {
        judged
            .into_iter()
            .map(|j| (j.report.id, (j.status, j.reason, j.selected)))
            .collect()
    };
    let (live_verdicts, replay_verdicts) = (
        verdicts(live.judged_reports().await.unwrap()),
        verdicts(replay.judged_reports().await.unwrap()),
    );
    let differing: Vec<String> = live_verdicts
        .iter()
        .filter(|(id, v)| replay_verdicts.get(*id) != Some(v))
        .map(|(id, v)| {
            format!(
                "{}: live {v:?}, replay {:?}",
                hex::encode(id),
                replay_verdicts.get(id)
            )
        })
        .collect();
    assert!(
        differing.is_empty(),
        "verdicts differ:\n{}",
        differing.join("\n")
    );
    for report in &summary.epochs {
        let mine = live.closed_epoch(report.epoch).await.unwrap().unwrap();
        let again = replay.closed_epoch(report.epoch).await.unwrap().unwrap();
        assert_eq!(
            mine.rows, again.rows,
            "epoch {} per-hotspot rewards",
            report.epoch
        );
        assert_eq!(mine.root, again.root);
        assert_eq!(hex::encode(mine.root), report.merkle_root);
        assert!(report.on_chain && report.paid > 0);
    }

    // The program holds the newest root; owners hold their hotspots' lifetime rewards.
    let newest = live.closed_epoch(last).await.unwrap().unwrap();
    let on_chain = read::config(&chain).await.unwrap().unwrap();
    assert_eq!((on_chain.epoch, on_chain.root), (last, newest.root));
    let mut per_owner: BTreeMap<PublicKey, u64> = BTreeMap::new();
    for r in &newest.rows {
        *per_owner
            .entry(network.hotspot(&r.hotspot).unwrap().owner)
            .or_default() += r.lifetime;
    }
    for (owner, lifetime) in &per_owner {
        assert_eq!(
            read::token_balance(&chain, &pubkey(owner)).await.unwrap(),
            *lifetime,
            "owner {owner}"
        );
    }
    assert_eq!(on_chain.minted, newest.lifetime_total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adversaries_are_rejected_and_earn_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, chain, _broker) = run_demo("adversaries-30", dir.path()).await;
    assert_eq!(summary.epochs.len(), 2);
    let live = store(dir.path()).await;
    let network = Network::load(&fixtures_dir().join("networks/adversaries-30.json")).unwrap();
    let judged = live.judged_reports().await.unwrap();
    for (behaviour, reason) in [
        (Behaviour::LocationSpoofer, "witness_too_far"),
        (Behaviour::BeaconReplayer, "witness_time_window"),
    ] {
        let keys: Vec<String> = network
            .hotspots
            .iter()
            .filter(|h| h.behaviour == behaviour)
            .map(|h| h.key.pubkey.to_string())
            .collect();
        assert!(!keys.is_empty());
        let witnesses: Vec<_> = judged
            .iter()
            .filter(|r| keys.contains(&r.report.hotspot) && r.report.kind == Kind::Witness)
            .collect();
        assert!(!witnesses.is_empty(), "{behaviour:?} witnessed nothing");
        let rejected = witnesses
            .iter()
            .filter(|r| r.status == Status::Invalid && r.reason.as_deref() == Some(reason))
            .count();
        assert!(
            rejected * 10 >= witnesses.len() * 9,
            "{behaviour:?}: {rejected} of {} witnesses rejected as {reason}",
            witnesses.len()
        );
        for report in &summary.epochs {
            let e = live.closed_epoch(report.epoch).await.unwrap().unwrap();
            for r in e
                .rows
                .iter()
                .filter(|r| keys.contains(&r.hotspot.to_string()))
            {
                assert_eq!(
                    (r.beacon, r.witness, r.lifetime),
                    (0, 0, 0),
                    "{behaviour:?} {} earned in epoch {}",
                    r.hotspot,
                    report.epoch
                );
            }
        }
        for key in &keys {
            let key: PublicKey = key.parse().unwrap();
            assert_eq!(read::claimed(&chain, &pubkey(&key)).await.unwrap(), 0);
        }
    }
    // Honest hotspots did earn.
    assert!(summary.epochs.iter().all(|e| e.paid > 0 && e.on_chain));
}

/// The README's `--broker` run with a passive subscriber on everything (QoS 0, as a monitoring
/// script would attach): every report the broker acknowledged to a hotspot is stored, by id,
/// none waits for a verdict, and the epoch pays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passive_subscriber_does_not_stall_the_demo() {
    let broker = Mosquitto::start().unwrap();
    let _passive = Subscriber::start_qos(&broker, "hexproof/v1/#", 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (summary, _chain) = demo_through(&broker, "net-200", 1, 600, 60, dir.path()).await;
    assert!(summary.reports_acknowledged > 2_000, "{summary:?}");
    assert!(
        summary.acknowledged_not_stored.is_empty(),
        "{} of {} acknowledged reports not stored",
        summary.acknowledged_not_stored.len(),
        summary.reports_acknowledged
    );
    assert_eq!(summary.reports_pending, 0);
    assert!(summary.epochs.iter().all(|e| e.paid > 0 && e.on_chain));
}
