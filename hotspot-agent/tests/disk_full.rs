//! A full disk: 25 agents on the simulated medium keep their outboxes on a 4 MiB tmpfs; the
//! broker goes away, the outboxes fill the file system, and reports that cannot be written are
//! lost and counted (nothing panics, no agent stops). When the broker is back the outboxes
//! drain, and from then on nothing more is lost. Every report is accounted for by identity:
//! acknowledged by the broker (ids recorded), lost (counted), or still in an outbox.
//!
//! Mounting needs root; without it the test runs itself again in a user and mount namespace
//! (`unshare --user --map-root-user --mount`).

use std::{
    collections::BTreeSet,
    path::Path,
    process::Command,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use hexproof_fixtures::servers::Mosquitto;
use hexproof_proto::{Signed, clock::Clock, topics, v1::Entropy};
use hotspot_agent::{
    config::BeaconConfig,
    swarm::{Swarm, SwarmConfig, Totals},
};
use prost::Message;
use tokio_util::sync::CancellationToken;

const TEST: &str = "a_full_disk_loses_a_counted_few_and_the_agents_carry_on";
const REEXEC: &str = "HEXPROOF_TEST_IN_NAMESPACE";

/// A small tmpfs mounted over `dir` until dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size_kib: u64) -> Option<Tmpfs> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_kib}k"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_a_counted_few_and_the_agents_carry_on() {
    let state = tempfile::tempdir().unwrap();
    let Some(_tmpfs) = Tmpfs::mount(state.path(), 4_096) else {
        assert!(
            std::env::var_os(REEXEC).is_none(),
            "cannot mount a tmpfs even in a user namespace"
        );
        let status = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount"])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", TEST, "--nocapture"])
            .env(REEXEC, "1")
            .status()
            .expect("unshare (util-linux)");
        assert!(status.success(), "the test in its own namespace failed");
        return;
    };

    let mut broker = Mosquitto::start().unwrap();
    let network = hexproof_fixtures::network("net-25").unwrap();
    let now_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let entropy = Entropy {
        id: 1,
        data: vec![9; 32],
        timestamp_ns: now_ns,
        ttl_secs: 3_600,
        ..Default::default()
    }
    .signed(&network.oracles[0].keypair().unwrap());
    broker
        .publish(topics::ENTROPY, &entropy.encode_to_vec(), true)
        .unwrap();

    let shutdown = CancellationToken::new();
    let swarm = Swarm::start(
        SwarmConfig {
            beacon: BeaconConfig {
                enabled: true,
                interval_secs: 2,
                jitter_secs: 1,
            },
            medium_seed: 5,
            ..SwarmConfig::simulated(
                network.clone(),
                &broker.url(),
                state.path().to_path_buf(),
                Clock::system(),
                2,
            )
        },
        &shutdown,
    )
    .unwrap();
    let stats: Vec<_> = swarm.hotspots.iter().map(|(_, s)| s.clone()).collect();
    let totals = {
        let stats = stats.clone();
        move || Totals::of(stats.iter().map(|s| s.as_ref()))
    };
    let run = tokio::spawn(swarm.run(Duration::from_secs(1), shutdown.clone()));

    // Online, then the broker dies and the outboxes fill the disk.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let online = totals();
    assert!(online.published > 100, "reports flow: {online:?}");
    assert_eq!(online.lost, 0);
    broker.kill();
    let full = wait(Duration::from_secs(20), || totals().lost > 50).await;
    assert!(full, "the disk never filled: {:?}", totals());
    // The agents carry on hearing and beaconing while the disk is full.
    let during = totals();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = totals();
    assert!(
        later.beacons > during.beacons && later.lost > during.lost,
        "{later:?}"
    );

    // The broker is back: the outboxes drain, and nothing more is lost.
    broker.restart().unwrap();
    let drained = wait(Duration::from_secs(30), || totals().pending < 30).await;
    assert!(drained, "outboxes never drained: {:?}", totals());
    let after_drain = totals();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let settled = totals();
    assert_eq!(
        settled.lost, after_drain.lost,
        "losses stop once there is room"
    );
    assert!(
        settled.published > after_drain.published + 100,
        "reports flow again: {settled:?}"
    );

    shutdown.cancel();
    let end = run.await.unwrap();
    assert_eq!(end.dropped, 0, "no outbox hit its report limit");
    // Accounting by identity: each acknowledged id once; produced = acknowledged + lost + left.
    let acknowledged: Vec<[u8; 32]> = stats.iter().flat_map(|s| s.acknowledged_ids()).collect();
    let distinct: BTreeSet<_> = acknowledged.iter().collect();
    assert_eq!(distinct.len(), acknowledged.len(), "acknowledged once each");
    let left: usize = std::fs::read_dir(state.path())
        .unwrap()
        .map(|d| std::fs::read_dir(d.unwrap().path()).unwrap().count())
        .sum();
    assert_eq!(
        end.beacons + end.witnesses,
        acknowledged.len() as u64 + end.lost + left as u64,
        "every report acknowledged, counted lost, or still stored: {end:?}"
    );
    eprintln!("disk full: {end:?}, {left} left in outboxes");
}

async fn wait(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
