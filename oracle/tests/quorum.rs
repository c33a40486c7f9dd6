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
use hexproof_poc::rewards::{RewardConfig, epoch::ClosedEpoch};
use hexproof_proto::{
    Keypair, PublicKey,
    clock::Clock,
    v1::{self, quorum_client::QuorumClient},
};
use hotspot_agent::swarm::Swarm;
use oracle::{
    chain::{self, solana_keypair},
    config::Config,
    quorum::{self, Board, Peer, QuorumConfig, Rogue, auth, board},
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
/// onboarded; `rogue`: a member that cheats, and how.
async fn three_oracles(queue: usize, rogue: Option<(usize, Rogue)>) -> Set {
    // RUST_LOG=oracle=info shows the members' rounds.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
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

    let keys: Vec<Keypair> = network
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
            config.quorum.listen = ([127, 0, 0, 1], hexproof_fixtures::servers::free_port()).into();
            config.quorum.round_secs = 3;
            config.quorum.rogue = rogue
                .as_ref()
                .filter(|(r, _)| *r == i)
                .map(|(_, how)| how.clone());
            config
        })
        .collect();
    let peers: Vec<Peer> = configs
        .iter()
        .zip(&keys)
        .map(|(c, k)| Peer {
            key: k.public(),
            url: format!("http://{}", c.quorum.listen),
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
    // (An epoch that landed while the members were stopping may have been stored by none.)
    assert!(
        holders > 0 || on_chain.epoch > last,
        "somebody stored the newest epoch on chain"
    );
    agreed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_oracles_agree_on_every_epoch_and_one_that_was_away_catches_up() {
    // The broker keeps only 100 messages for an absent session: the member that goes away
    // misses reports, and can only get them from its peers. Member 1 shows, for every epoch,
    // "agreed" inputs of a root that never landed, with its own and member 0's valid
    // signatures (as if member 0 had endorsed it in a round that did not land): the member
    // coming back must adopt only what landed.
    let network = hexproof_fixtures::Network::load(
        &hexproof_fixtures::fixtures_dir().join("networks/adversaries-30.json"),
    )
    .unwrap();
    let accomplice = Box::new(network.oracles[0].keypair().unwrap());
    let mut set = three_oracles(100, Some((1, Rogue::ServeUnlanded { accomplice }))).await;
    let away = 2;
    let swarm = set.start_swarm();
    let first = set.rewards.epoch_of(set.clock.now_ns());
    set.wait_for_epoch(first + 2, 0.2).await;
    // (A member that never closed an epoch starts from the chain's newest instead of
    // catching up; wait until it has one, however slow the machine.)
    let store = set.nodes[away].store.clone();
    let closed_one = wait_until(Duration::from_secs(150), || {
        let store = store.clone();
        async move { store.last_closed_epoch().await.unwrap() >= Some(first) }
    })
    .await;
    assert!(closed_one, "member {away} closed epoch {first}");
    set.nodes[away].stop().await;
    // Away while two epochs land: it comes back behind the chain by more than one epoch.
    set.wait_for_epoch(first + 4, 0.3).await;
    let chain = set.chain.clone();
    set.nodes[away].start(&chain);
    set.wait_for_epoch(first + 6, 0.5).await;
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
        let mut by_epoch = std::collections::BTreeMap::<u64, usize>::new();
        for id in &missing {
            *by_epoch
                .entry(set.rewards.epoch_of(other[*id]))
                .or_default() += 1;
        }
        assert!(
            missing.is_empty(),
            "member {away} lacks {} of member {i}'s {} reports (by epoch received: {by_epoch:?}; first {first}, last {last})",
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
    let mut set = three_oracles(1_000_000, Some((rogue, Rogue::Inflate))).await;
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

/// Entropy signed by `key` (a member) with id `id`, published on the set's topic.
async fn publish_entropy(broker: &Mosquitto, key: &Keypair, id: u64, now_ns: u64) {
    use hexproof_proto::Signed;
    use prost::Message;
    let message = v1::Entropy {
        id,
        data: vec![0xEE; 32],
        timestamp_ns: now_ns,
        ttl_secs: 180,
        ..Default::default()
    }
    .signed(key)
    .encode_to_vec();
    let options = rumqttc::MqttOptions::new("forger", "127.0.0.1", broker.port);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 8);
    client
        .publish(
            hexproof_proto::topics::ENTROPY,
            rumqttc::QoS::AtLeastOnce,
            false,
            message,
        )
        .await
        .unwrap();
    let acked = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)) =
                eventloop.poll().await.unwrap()
            {
                break;
            }
        }
    })
    .await;
    assert!(acked.is_ok(), "the broker took the forged entropy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_steering_its_turns_or_forging_entropy_ids_never_lands_anything() {
    // Member 1 proposes, one turn after another: the next epoch's inputs under this epoch's
    // number, a report filed under another hotspot's topic, attestations gathered before the
    // epoch was ready; and it publishes entropy under member 0's ids and with an id near
    // i64::MAX (which would push every later id of its victim to the end of the range).
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the only test of this binary that reads metrics");
    let rogue = 1;
    let mut set = three_oracles(1_000_000, Some((rogue, Rogue::Steer))).await;
    let swarm = set.start_swarm();
    let first = set.rewards.epoch_of(set.clock.now_ns());
    let members = set.nodes[0].config.quorum.set(&set.nodes[0].key());
    let rogue_key = set.nodes[rogue].key();
    let rogue_keypair = Keypair::read_file(&set.nodes[rogue].config.key).unwrap();
    let position = |k: &PublicKey| members.iter().position(|m| m == k).unwrap() as u64;
    let victim = position(&set.nodes[0].key());
    // Once every member's entropy connection is up (it subscribes on connecting).
    set.wait_for_epoch(first + 1, 0.1).await;
    let now = set.clock.now_ns();
    let ms = now / 1_000_000;
    let forged = [
        (ms + 1) << 8 | victim,
        (i64::MAX as u64 >> 8) << 8 | position(&rogue_key),
    ];
    for id in forged {
        publish_entropy(&set.broker, &rogue_keypair, id, now).await;
    }
    // The rogue's turns come every third round: a few of them within nine epochs.
    set.wait_for_epoch(first + 9, 0.6).await;
    let last = set.finish(swarm).await;
    // Every epoch landed with an honest member's signature: a root that member reproduced
    // from inputs it checked (the rogue may submit it, with the signatures honest members
    // gave another round's proposal of the same root: the chain takes any M signatures).
    let agreed = assert_agreed(&set, &[0, 2, rogue], first, last).await;
    let honest: Vec<PublicKey> = [0, 2].iter().map(|i| set.nodes[*i].key()).collect();
    for e in &agreed {
        let quorum = set.nodes[0].store.epoch_quorum(e.epoch).await.unwrap();
        assert!(
            quorum.signatures.iter().any(|(k, _)| honest.contains(k)),
            "epoch {}",
            e.epoch
        );
    }
    // The honest members saw the steers and refused them. (Its third steer, attestations
    // gathered before the epoch was ready, comes only if it gets a third turn; honest members
    // do not give holdings before then, `only_members_get_answers_…`, and refuse attestations
    // of another round or an older cut-off, `inputs::tests`.)
    let shown = metrics.render();
    let count = |metric: &str, reason: &str| -> u64 {
        let prefix = format!("{metric}{{reason=\"{reason}\"}} ");
        shown
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0, |v| v.trim().parse().unwrap())
    };
    let refused = |reason| count("hexproof_quorum_refused_total", reason);
    assert!(refused("wrong_epoch") > 0, "{shown}");
    // (A rewritten topic comes only with its second turn, which a slow run may not reach:
    // refused in `inputs::tests`, and replay ignores the topic anyway.)
    let entropy_refused = |reason| count("hexproof_entropy_refused_total", reason);
    assert!(entropy_refused("foreign_id") >= 2, "{shown}");
    assert!(entropy_refused("id_ahead") >= 2, "{shown}");
    // No epoch was skipped or wiped: they paid their hotspots.
    let paid: Vec<u64> = agreed.iter().map(|e| e.paid).collect();
    assert!(
        paid.iter().filter(|p| **p > 0).count() + 2 >= paid.len(),
        "epochs' payouts: {paid:?}"
    );
    // No member stored the forged entropy; the victim's later ids are its own, in time.
    for (i, n) in set.nodes.iter().enumerate() {
        let held = n.store.entropy_history().await.unwrap();
        for (e, _) in &held {
            assert!(
                !forged.contains(&e.id),
                "member {i} stored forged entropy {}",
                e.id
            );
            assert!(
                e.id >> 8 < (e.timestamp_ns / 1_000_000) + 86_400_000,
                "member {i}: id {}",
                e.id
            );
        }
        let victims = held
            .iter()
            .filter(|(e, _)| e.id & 0xff == victim && e.id > forged[0]);
        assert!(
            victims.count() > 0,
            "member {i} holds the victim's later entropy"
        );
    }
}

/// One member's Quorum service alone (over real gRPC, on its own SQLite database), for the
/// access tests: `keys[me]` serves, the set is all of `keys`; epochs are a minute long and the
/// first fifty are long ready.
struct Lone {
    board: Arc<Board>,
    url: String,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Lone {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn lone_rewards(clock: Clock) -> RewardConfig {
    RewardConfig {
        epoch_secs: 60,
        genesis_ns: clock.now_ns() - 3_600_000_000_000,
        close_delay_secs: 0,
        ..RewardConfig::default()
    }
}

fn lone_config(keys: &[Keypair], me: usize, rogue: Option<Rogue>) -> QuorumConfig {
    QuorumConfig {
        listen: ([127, 0, 0, 1], hexproof_fixtures::servers::free_port()).into(),
        peers: keys
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != me)
            .map(|(_, k)| Peer {
                key: k.public(),
                url: String::new(),
            })
            .collect(),
        round_secs: 10,
        peer_timeout_ms: 3_000,
        max_message_mib: 1,
        rogue,
        ..QuorumConfig::default()
    }
}

async fn lone_member(keys: &[Keypair], me: usize, rogue: Option<Rogue>) -> Lone {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("m.db").display()))
        .await
        .unwrap();
    let clock = Clock::system();
    let config = lone_config(keys, me, rogue);
    let listen = config.listen;
    let board = Board::new(
        store,
        keys[me].clone(),
        lone_rewards(clock),
        hexproof_poc::Limits::default(),
        clock,
        config,
    );
    let listener = tokio::net::TcpListener::bind(listen).await.unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(board::serve(board.clone(), listener, shutdown.clone()));
    Lone {
        board,
        url: format!("http://{listen}"),
        shutdown,
        _dir: dir,
    }
}

/// A ready epoch whose current round is `caller`'s turn to propose, and that round.
fn turn_of(keys: &[Keypair], caller: &PublicKey) -> (u64, u64) {
    let clock = Clock::system();
    let rewards = lone_rewards(clock);
    let config = lone_config(keys, 0, None);
    let set = config.set(&keys[0].public());
    (1..50)
        .map(|epoch| {
            let now = clock.now_ns();
            let (round, proposer) =
                quorum::turn(&rewards, &set, epoch, now, config.round_ns(clock));
            (epoch, round, proposer)
        })
        .find(|(_, _, p)| p == caller)
        .map(|(e, r, _)| (e, r))
        .unwrap()
}

/// A client of `url` whose requests `signer` signs for `audience` (none: unsigned).
async fn quorum_client(
    url: &str,
    signer: Option<Keypair>,
    audience: PublicKey,
) -> QuorumClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        impl tonic::service::Interceptor,
    >,
> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let signer = signer.map(|key| auth::Signer { key, audience });
    QuorumClient::with_interceptor(channel, move |request| match &signer {
        Some(s) => tonic::service::Interceptor::call(&mut s.clone(), request),
        None => Ok(request),
    })
}

#[tokio::test]
async fn only_members_get_answers_and_only_the_proposer_gets_an_epochs_reports() {
    let keys: Vec<Keypair> = (0..3).map(|_| Keypair::generate()).collect();
    let member = lone_member(&keys, 0, None).await;
    let asked = keys[0].public();
    member.board.propose(Arc::new(v1::Proposal {
        epoch: 5,
        ..Default::default()
    }));
    let (epoch, round) = turn_of(&keys, &keys[1].public());

    // A stranger, signing with a key of its own, or not at all; a member signing for another
    // member (a request replayed from elsewhere): no data, UNAUTHENTICATED.
    let strangers = [
        (Some(Keypair::generate()), asked),
        (None, asked),
        (Some(keys[1].clone()), keys[2].public()),
    ];
    for (signer, audience) in strangers {
        let mut c = quorum_client(&member.url, signer, audience).await;
        let codes = [
            c.get_proposal(v1::GetProposalRequest { epoch: 5 })
                .await
                .map(|_| ()),
            c.get_endorsement(v1::GetEndorsementRequest { epoch: 5 })
                .await
                .map(|_| ()),
            c.get_reports(v1::GetReportsRequest { epoch, round })
                .await
                .map(|_| ()),
        ]
        .map(|r| r.map_err(|s| s.code()));
        assert_eq!(codes, [Err(tonic::Code::Unauthenticated); 3]);
    }
    assert_eq!(
        member.board.attested(epoch, round),
        None,
        "no attestation was signed"
    );

    // The proposer of the round gets the reports and an attestation of this round.
    let mut proposer = quorum_client(&member.url, Some(keys[1].clone()), asked).await;
    let proposal = proposer
        .get_proposal(v1::GetProposalRequest { epoch: 5 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(proposal.epoch, 5);
    let held = proposer
        .get_reports(v1::GetReportsRequest { epoch, round })
        .await
        .unwrap()
        .into_inner();
    let attestation = held.attestation.expect("an attestation");
    assert_eq!((attestation.epoch, attestation.round), (epoch, round));
    let given = member.board.attested(epoch, round).expect("remembered");

    // Another member, whose turn it is not, gets nothing; nor does anyone for an epoch that
    // is not ready (which leaves the real attestations alone), nor for absurd epochs.
    let mut other = quorum_client(&member.url, Some(keys[2].clone()), asked).await;
    let code = other
        .get_reports(v1::GetReportsRequest { epoch, round })
        .await
        .unwrap_err()
        .code();
    assert_eq!(code, tonic::Code::PermissionDenied);
    for (e, r) in [(epoch + 100, 0), (u64::MAX, 0), (epoch, u64::MAX)] {
        let code = proposer
            .get_reports(v1::GetReportsRequest { epoch: e, round: r })
            .await
            .unwrap_err()
            .code();
        assert_eq!(code, tonic::Code::FailedPrecondition, "epoch {e} round {r}");
    }
    assert_eq!(member.board.attested(epoch, round), Some(given));

    // A member's request recorded on the wire and sent again (its headers as they were): the
    // first is answered, the copy refused.
    let recorded = auth::Signer {
        key: keys[1].clone(),
        audience: asked,
    }
    .headers(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    let channel = tonic::transport::Endpoint::from_shared(member.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut replayer =
        QuorumClient::with_interceptor(channel, move |mut request: tonic::Request<()>| {
            for (name, value) in &recorded {
                request.metadata_mut().insert(*name, value.parse().unwrap());
            }
            Ok(request)
        });
    let ask = v1::GetProposalRequest { epoch: 5 };
    assert!(replayer.get_proposal(ask).await.is_ok(), "the original");
    for _ in 0..2 {
        let refused = replayer.get_proposal(ask).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        assert!(refused.message().contains("replay"), "{refused:?}");
    }
    assert!(
        proposer
            .get_proposal(v1::GetProposalRequest { epoch: 5 })
            .await
            .is_ok(),
        "the member's own next request is answered"
    );
}

#[tokio::test]
async fn an_oversized_or_trickled_answer_is_no_answer_and_holds_nobody_up() {
    // Four members: three answer (honest, oversized, trickled), the fourth asks all at once.
    let keys: Vec<Keypair> = (0..4).map(|_| Keypair::generate()).collect();
    let honest = lone_member(&keys, 0, None).await;
    let oversize = lone_member(&keys, 1, Some(Rogue::Oversize)).await;
    let trickle = lone_member(&keys, 2, Some(Rogue::Trickle)).await;
    let me = &keys[3];
    let config = lone_config(&keys, 3, None);
    let peers: Vec<(PublicKey, String)> = [&honest, &oversize, &trickle]
        .iter()
        .zip(&keys)
        .map(|(m, k)| (k.public(), m.url.clone()))
        .collect();
    let timeout = config.peer_timeout();
    let peers = board::Peers::new(&peers, me, &config, timeout).unwrap();
    let (epoch, round) = turn_of(&keys, &me.public());

    let started = std::time::Instant::now();
    let answers = peers.all(|p, k| p.reports(k, epoch, round)).await;
    let took = started.elapsed();
    let answered: Vec<bool> = answers.iter().map(|(_, a)| a.is_some()).collect();
    assert_eq!(
        answered,
        [true, false, false],
        "honest, oversized, trickled"
    );
    // The rogues did answer (the server side got the request and signed an attestation).
    assert!(oversize.board.attested(epoch, round).is_some());
    assert!(trickle.board.attested(epoch, round).is_some());
    // All asked at once, each bounded by one timeout (not one after another, not forever).
    assert!(
        took < timeout * 2,
        "{took:?} for three peers with a timeout of {timeout:?}"
    );
}
