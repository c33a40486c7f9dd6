//! Three oracles, one set, M = 2 of 3: each with its own key, database (SQLite, PostgreSQL,
//! SQLite) and broker session on one real mosquitto, agreeing on every epoch of a live fixture
//! network and landing it on the embedded chain (the program verifying the signatures).
//!
//! The oracles run as three independent services in this test process (the embedded chain is
//! in-process; against a cluster they are separate processes, nothing else changes): they share
//! nothing but the broker, each other's gRPC address and the chain.

mod common;

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use common::*;
use hexproof_client::{Chain, Signer, read};
use hexproof_fixtures::servers::{Mosquitto, Postgres};
use hexproof_poc::rewards::epoch::ClosedEpoch;
use hexproof_proto::{PublicKey, clock::Clock};
use hotspot_agent::swarm::Swarm;
use oracle::{
    chain::{self, solana_keypair},
    config::Config,
    quorum::{Peer, QuorumConfig, Rogue, board},
    store::Store,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const SPEED: u32 = 120;
/// Twenty-minute epochs: 10 s of real time.
const EPOCH_SECS: u64 = 1_200;

struct Node {
    config: Config,
    store: Store,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Node {
    fn start(&mut self, chain: &Arc<Chain>) {
        self.shutdown = CancellationToken::new();
        self.task = Some(tokio::spawn(oracle::service::run_with_chain(
            self.config.clone(),
            Some(chain.clone()),
            self.shutdown.clone(),
        )));
    }

    async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    fn key(&self) -> PublicKey {
        hexproof_proto::Keypair::read_file(&self.config.key)
            .unwrap()
            .public()
    }
}

struct Set {
    nodes: Vec<Node>,
    chain: Arc<Chain>,
    network: hexproof_fixtures::Network,
    clock: Clock,
    rewards: hexproof_poc::rewards::RewardConfig,
    broker: Mosquitto,
    _pg: Postgres,
    dir: tempfile::TempDir,
}

/// Three members on one broker (whose queue for an absent session holds `queue` messages),
/// the program initialized with the three keys and a threshold of 2, the fixture network
/// onboarded; `rogue` is the index of a member that cheats.
async fn three_oracles(queue: usize, rogue: Option<usize>) -> Set {
    let network_file = hexproof_fixtures::fixtures_dir().join("networks/adversaries-30.json");
    let network = hexproof_fixtures::Network::load(&network_file).unwrap();
    let broker = Mosquitto::start_with(&format!("max_queued_messages {queue}")).unwrap();
    let pg = Postgres::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let origin_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let clock = Clock::accelerated_from(origin_ns, SPEED);

    let keys: Vec<hexproof_proto::Keypair> = network
        .oracles
        .iter()
        .map(|o| o.keypair().unwrap())
        .collect();
    let databases = [
        format!("sqlite://{}", dir.path().join("oracle-0.db").display()),
        pg.create_database("oracle1").unwrap(),
        format!("sqlite://{}", dir.path().join("oracle-2.db").display()),
    ];
    let mut configs: Vec<Config> = (0..3)
        .map(|i| {
            let node_dir = dir.path().join(format!("oracle-{i}"));
            std::fs::create_dir_all(&node_dir).unwrap();
            let setup = OracleSetup {
                dir: &node_dir,
                network_file: &network_file,
                network: &network,
                database: &databases[i],
                broker: &broker.url(),
                speed: SPEED,
                origin_ns,
                metrics_port: 0,
                validation: simulation_limits(),
            };
            let mut config = setup.config();
            keys[i].write_new_file(&config.key).unwrap();
            config.metrics_listen = None;
            config.explorer.http_listen = None;
            config.rewards.epoch_secs = EPOCH_SECS;
            config.rewards.genesis_ns = origin_ns;
            config.rewards.close_delay_secs = 0;
            config.chain.read_registry = true;
            config.chain.claim = i == 0;
            config.quorum.threshold = 2;
            config.quorum.round_secs = 3;
            config.quorum.rogue = (rogue == Some(i)).then_some(Rogue::Inflate);
            config
        })
        .collect();
    let peers: Vec<Peer> = configs
        .iter()
        .zip(&keys)
        .map(|(c, k)| Peer {
            key: k.public(),
            url: format!("http://{}", c.explorer.grpc_listen.unwrap()),
        })
        .collect();
    for (config, key) in configs.iter_mut().zip(&keys) {
        config.quorum.peers = QuorumConfig::others(&peers, &key.public());
    }

    // The first oracle deployed the program; the set and its threshold are on chain.
    let admin = solana_keypair(&keys[0]);
    let chain = Arc::new(Chain::embedded(&admin.pubkey()).await);
    for k in &keys {
        chain
            .fund(&solana_keypair(k).pubkey(), 100_000_000_000)
            .await
            .unwrap();
    }
    let c = &configs[0];
    let set: Vec<PublicKey> = keys.iter().map(|k| k.public()).collect();
    let args = chain::init_args(&set, 2, &c.rewards, &c.clock, &c.validation);
    chain::initialize(&chain, &admin, args).await.unwrap();
    hexproof_demo::chain::onboard_network(&chain, &network, 1_000_000_000)
        .await
        .unwrap();

    let mut nodes = Vec::new();
    for config in configs {
        let store = Store::connect(&config.database).await.unwrap();
        let mut node = Node {
            config,
            store,
            shutdown: CancellationToken::new(),
            task: None,
        };
        node.start(&chain);
        nodes.push(node);
    }
    let rewards = nodes[0].config.rewards.clone();
    Set {
        nodes,
        chain,
        network,
        clock,
        rewards,
        broker,
        _pg: pg,
        dir,
    }
}

impl Set {
    /// Starts the network's agents.
    fn start_swarm(&self) -> (CancellationToken, JoinHandle<hotspot_agent::swarm::Totals>) {
        let shutdown = CancellationToken::new();
        let swarm = Swarm::start(
            swarm_config(
                &self.network,
                &self.broker.url(),
                &self.dir.path().join("swarm"),
                self.clock,
                7,
            ),
            &shutdown,
        )
        .unwrap();
        let running = tokio::spawn(swarm.run(Duration::from_secs(5), shutdown.clone()));
        (shutdown, running)
    }

    /// Stops the agents, waits until every member stored every epoch up to the one they
    /// stopped in and the owners were paid, then stops the members. Returns that epoch.
    async fn finish(
        &mut self,
        swarm: (CancellationToken, JoinHandle<hotspot_agent::swarm::Totals>),
    ) -> u64 {
        swarm.0.cancel();
        swarm.1.await.unwrap();
        let last = self.rewards.epoch_of(self.clock.now_ns());
        let stores: Vec<Store> = self.nodes.iter().map(|n| n.store.clone()).collect();
        let all_closed = wait_until(Duration::from_secs(120), || {
            let stores = stores.clone();
            async move {
                for s in &stores {
                    if s.last_closed_epoch().await.unwrap().unwrap_or(0) < last {
                        return false;
                    }
                }
                true
            }
        })
        .await;
        let mut closed = Vec::new();
        for s in &stores {
            closed.push(s.last_closed_epoch().await.unwrap());
        }
        assert!(all_closed, "every member closes epoch {last}: {closed:?}");
        // Member 0 claims for owners after each epoch: nobody holds anything but the agreed
        // lifetime amounts of the newest epoch on chain.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut mismatch = Some(None);
        while mismatch.is_some() && std::time::Instant::now() < deadline {
            let newest = read::config(&self.chain).await.unwrap().unwrap().epoch;
            mismatch = match stores[0].closed_epoch(newest).await.unwrap() {
                Some(e) => owner_balances_mismatch(&self.chain, &self.network, &e)
                    .await
                    .map(Some),
                None => Some(None),
            };
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let paid = mismatch.is_none();
        assert!(paid, "owners hold the agreed lifetimes: {mismatch:?}");
        for n in &self.nodes {
            n.shutdown.cancel();
        }
        for n in &mut self.nodes {
            n.stop().await;
        }
        last
    }

    /// Waits (in real time) until the network clock reaches `epoch`'s start plus `fraction`.
    async fn wait_for_epoch(&self, epoch: u64, fraction: f64) {
        let (start, end) = self.rewards.bounds(epoch);
        let at = start + ((end - start) as f64 * fraction) as u64;
        let now = self.clock.now_ns();
        if at > now {
            tokio::time::sleep(self.clock.real(Duration::from_nanos(at - now))).await;
        }
    }

    async fn closed(&self, node: usize, epoch: u64) -> ClosedEpoch {
        self.nodes[node]
            .store
            .closed_epoch(epoch)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("member {node} has no epoch {epoch}"))
    }
}

/// Every stored epoch went on chain with valid signatures of at least two members, of exactly
/// what the members stored; `honest` members all stored the same epochs.
async fn assert_agreed(set: &Set, honest: &[usize], first: u64, last: u64) -> Vec<ClosedEpoch> {
    let keys: Vec<PublicKey> = set.nodes.iter().map(Node::key).collect();
    let deployment = hexproof_commitment::Deployment {
        program_id: set.rewards.program_id.to_bytes(),
        id: set.rewards.deployment.0,
    };
    let mut agreed = Vec::new();
    for epoch in first..=last {
        let e = set.closed(honest[0], epoch).await;
        for &i in honest {
            let other = set.closed(i, epoch).await;
            assert_eq!(
                (other.root, other.lifetime_total, &other.rows),
                (e.root, e.lifetime_total, &e.rows),
                "member {i} stored epoch {epoch} as member {} did",
                honest[0]
            );
        }
        let quorum = set.nodes[honest[0]]
            .store
            .epoch_quorum(epoch)
            .await
            .unwrap();
        let signers: HashSet<PublicKey> = quorum
            .signatures
            .iter()
            .filter(|(k, s)| {
                keys.contains(k) && board::valid(&board::endorsement(&e, k, s), k, &deployment)
            })
            .map(|(k, _)| *k)
            .collect();
        assert!(
            signers.len() >= 2,
            "epoch {epoch} has {} valid signatures",
            signers.len()
        );
        agreed.push(e);
    }
    // The newest root on chain is what the members that stored that epoch hold (members
    // stop one after another: the last ones may land an epoch the first never saw).
    let on_chain = read::config(&set.chain).await.unwrap().unwrap();
    assert!(
        on_chain.epoch >= last,
        "the chain holds epoch {last} or newer"
    );
    let mut holders = 0;
    for n in &set.nodes {
        if let Some(e) = n.store.closed_epoch(on_chain.epoch).await.unwrap() {
            assert_eq!(e.root, on_chain.root);
            holders += 1;
        }
    }
    assert!(holders > 0, "somebody stored the newest epoch on chain");
    agreed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_oracles_agree_on_every_epoch_and_one_that_was_away_catches_up() {
    // The broker keeps only 100 messages for an absent session: the member that goes away
    // misses reports, and can only get them from its peers.
    let mut set = three_oracles(100, None).await;
    let away = 2;
    let swarm = set.start_swarm();
    let first = set.rewards.epoch_of(set.clock.now_ns());
    set.wait_for_epoch(first + 2, 0.2).await;
    set.nodes[away].stop().await;
    set.wait_for_epoch(first + 2, 0.9).await;
    let chain = set.chain.clone();
    set.nodes[away].start(&chain);
    set.wait_for_epoch(first + 5, 0.5).await;
    let last = set.finish(swarm).await;
    let agreed = assert_agreed(&set, &[0, 1, 2], first, last).await;
    assert!(
        agreed.iter().filter(|e| e.paid > 0).count() >= 4,
        "epochs with rewards: {:?}",
        agreed.iter().map(|e| e.paid).collect::<Vec<_>>()
    );

    // After catching up, the member that was away holds every report the others hold (of the
    // agreed epochs), some of them with a peer's received time: they came from its peers.
    let (_, end) = set.rewards.bounds(last);
    let held = |i: usize| {
        let store = set.nodes[i].store.clone();
        async move {
            store
                .received_reports_stamped(0, end)
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.id, r.received_ns))
                .collect::<std::collections::HashMap<_, _>>()
        }
    };
    let (a, b, c) = (held(0).await, held(1).await, held(away).await);
    for (i, other) in [(0, &a), (1, &b)] {
        let missing: Vec<_> = other.keys().filter(|id| !c.contains_key(*id)).collect();
        assert!(
            missing.is_empty(),
            "member {away} lacks {} of member {i}'s {} reports",
            missing.len(),
            other.len()
        );
    }
    let from_peers = c
        .iter()
        .filter(|(id, t)| a.get(*id) == Some(t) || b.get(*id) == Some(t))
        .count();
    assert!(
        from_peers > 0,
        "member {away} took reports from its peers (same received time, to the nanosecond)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_oracle_never_lands_its_epochs() {
    let rogue = 1;
    let mut set = three_oracles(1_000_000, Some(rogue)).await;
    let swarm = set.start_swarm();
    let first = set.rewards.epoch_of(set.clock.now_ns());
    set.wait_for_epoch(first + 4, 0.5).await;
    let last = set.finish(swarm).await;
    // The honest members agree on every epoch, the rogue adopted what landed.
    let agreed = assert_agreed(&set, &[0, 2, rogue], first, last).await;
    let rogue_key = set.nodes[rogue].key();
    let members = set.nodes[0].config.quorum.set(&set.nodes[0].key());
    let mut rogue_turns = 0;
    for e in &agreed {
        let quorum = set.nodes[0].store.epoch_quorum(e.epoch).await.unwrap();
        assert!(
            quorum.signatures.iter().all(|(k, _)| *k != rogue_key),
            "epoch {}: the rogue's signature is on an honest root",
            e.epoch
        );
        assert_ne!(quorum.proposer, Some(rogue_key), "epoch {}", e.epoch);
        rogue_turns += usize::from(members[(e.epoch % 3) as usize] == rogue_key);
    }
    assert!(rogue_turns > 0, "the rogue had a turn to propose");
    // `finish` checked that owners hold exactly the agreed (honest) amounts.
}
