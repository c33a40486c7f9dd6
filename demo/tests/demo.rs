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
//! 3. The one-command path: the embedded rumqttd behind its gate; and the gate itself against
//!    real MQTT clients: signed logins only, each good once, at this gate, for minutes; each
//!    identity kept to its topics and its own client ids (no session takeover); wills held to
//!    the same rules; rumqttd reachable only through the gate; silent sockets closed and
//!    connections capped.

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
    let summary_and_chain = demo_through(Some(broker.url()), network, 2, 1_200, 120, 1, dir).await;
    (summary_and_chain.0, summary_and_chain.1, broker)
}

/// `oracle demo --broker <broker>` (the embedded, gated broker when `None`) for `epochs`
/// epochs of `epoch_secs`.
async fn demo_through(
    broker: Option<String>,
    network: &str,
    epochs: u64,
    epoch_secs: u64,
    speed: u32,
    oracles: usize,
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
        broker,
        database: None,
        state_dir: dir.to_path_buf(),
        explorer: ExplorerConfig {
            grpc_listen: Some("127.0.0.1:0".parse().unwrap()),
            http_listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Default::default()
        },
        progress: false,
        oracles,
        metrics: true,
        medium: demo::MediumModel::default(),
        devices: 10,
        maker_listen: Some("127.0.0.1:0".parse().unwrap()),
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
    // The data inputs are the router's signed receipts, taken as they are.
    let bought: Vec<_> = live
        .receipts_between(0, u64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.receipt, s.report))
        .collect();
    assert!(!bought.is_empty(), "the demo's devices' copies were bought");
    replay.save_receipts(&bought).await.unwrap();
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
    // Each owner holds its lifetime rewards, less what its payer burned for the org's credits.
    let mut burned = 0;
    for (owner, lifetime) in &per_owner {
        let held = read::token_balance(&chain, &pubkey(owner)).await.unwrap();
        assert!(held <= *lifetime, "owner {owner}");
        burned += lifetime - held;
    }
    let org = read::org(&chain, 1).await.unwrap().unwrap();
    assert_eq!(burned, org.tokens_burned);
    assert_eq!(on_chain.burned, org.tokens_burned);
    assert_eq!(on_chain.minted, newest.lifetime_total);

    // The newcomer was onboarded by the agent through its maker, earned, and its owner holds
    // what it earned and no SOL at all.
    let n = summary
        .newcomer
        .as_ref()
        .expect("a newcomer onboarded through its maker");
    assert!(n.onboarding.starts_with("done: transaction"), "{n:?}");
    assert!(
        n.claim.starts_with("done: transaction") || n.claim.starts_with("nothing to do"),
        "{n:?}"
    );
    let earned = newest
        .rows
        .iter()
        .find(|r| r.hotspot == n.hotspot)
        .map_or(0, |r| r.lifetime);
    assert!(earned > 0, "{n:?}");
    assert_eq!((n.owner_tokens, n.owner_lamports), (earned, 0), "{n:?}");
    let fee = on_chain.onboarding_fee;
    assert!(n.maker_spent >= fee, "{n:?}");
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
        // Nothing for coverage. A spoofer's radio is real, so the devices' frames it carries
        // (bought by the router when its copy was among the first) are paid at the peg like
        // anyone's; a replayer, suspended by detection, is paid nothing, not even for data.
        let mut data = BTreeMap::<String, u64>::new();
        for report in &summary.epochs {
            let e = live.closed_epoch(report.epoch).await.unwrap().unwrap();
            for r in e
                .rows
                .iter()
                .filter(|r| keys.contains(&r.hotspot.to_string()))
            {
                let carried = data.entry(r.hotspot.to_string()).or_default();
                *carried += r.data;
                assert_eq!(
                    (r.beacon, r.witness, r.lifetime),
                    (0, 0, *carried),
                    "{behaviour:?} {} earned for coverage in epoch {}",
                    r.hotspot,
                    report.epoch
                );
                if behaviour == Behaviour::BeaconReplayer {
                    assert_eq!(r.data, 0, "{} suspended but paid for data", r.hotspot);
                }
            }
        }
        for key in &keys {
            let claimed = read::claimed(&chain, &pubkey(&key.parse().unwrap()))
                .await
                .unwrap();
            assert_eq!(claimed, data.get(key).copied().unwrap_or(0), "{key}");
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
    let (summary, _chain) =
        demo_through(Some(broker.url()), "net-200", 1, 1_200, 60, 1, dir.path()).await;
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

/// The one-command path: the embedded rumqttd behind its gate, every client (agents, the
/// oracle's ingest and entropy) logged in with its key. Everything acknowledged is stored and
/// every epoch lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_behind_its_gate_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Three oracles behind the gate, two of them signing each epoch. Three epochs: credits
    // are bought once epoch 1's rewards are claimed, which on a loaded machine can come after
    // epoch 2 has gone by (seen once in CI: nothing charged in two epochs).
    let (summary, _chain) = demo_through(None, "net-25", 3, 1_200, 120, 3, dir.path()).await;
    assert!(summary.reports_acknowledged > 500, "{summary:?}");
    assert!(
        summary.acknowledged_not_stored.is_empty(),
        "acknowledged but not stored: {:?}",
        summary.acknowledged_not_stored
    );
    assert_eq!(summary.epochs.len(), 3);
    assert!(summary.epochs.iter().all(|e| e.on_chain && e.paid > 0));
    for e in &summary.epochs {
        assert!(e.proposer.is_some(), "epoch {}: who proposed", e.epoch);
        assert!(e.signers.len() >= 2, "epoch {}: {:?}", e.epoch, e.signers);
    }
    // The packet path in the one-command run: devices' frames bought and delivered, every
    // one checked by the network server (MIC, counter, payload), none refused; the unrouted
    // devices' frames dropped as no_route (copies per packet: `oracle/tests/router.rs`).
    let p = &summary.packets;
    assert!(p.sent > 0 && p.reported > 0 && p.bought > 0, "{p:?}");
    assert!(p.network_server.delivered > 0, "{p:?}");
    assert_eq!(p.network_server.refused, 0, "{p:?}");
    assert!(
        p.network_server.copies <= 2 * p.network_server.delivered,
        "{p:?}"
    );
    assert_eq!(
        p.network_server.copies, p.bought,
        "every copy bought arrived once: {p:?}"
    );
    assert!(p.dropped.get("no_route").copied().unwrap_or(0) > 0, "{p:?}");
    // Data credits: nothing is bought before an owner has tokens to burn (epoch 1 is claimed
    // first); then the honest owners' payer buys the org's credits, the copies are charged,
    // the landed epochs' charges are settled against them once, and the carriers are paid.
    assert!(
        p.dropped.get("no_credit").copied().unwrap_or(0) > 0,
        "{p:?}"
    );
    let org = p.orgs.iter().find(|o| o.oui == 1).expect("the demo org");
    assert!(org.tokens_burned > 0 && org.dc_bought > 0, "{org:?}");
    let charged: u64 = summary.epochs.iter().map(|e| e.dc_charged).sum();
    assert!(charged > 0, "{:?}", summary.epochs);
    assert_eq!(org.dc_settled, charged, "{org:?}");
    assert!(summary.epochs.iter().map(|e| e.data_paid).sum::<u64>() > 0);
}

mod gate {
    use std::{
        io::Read,
        time::{Duration, SystemTime, UNIX_EPOCH},
    };

    use hexproof_demo::gate::{self, Gate, GateConfig, Policy, Upstream};
    use hexproof_proto::{Keypair, login, topics};
    use rumqttc::{AsyncClient, ConnectReturnCode, Event, LastWill, MqttOptions, Packet, QoS};
    use tokio::sync::mpsc;

    fn now_ns() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    }

    /// `key`'s login to `gate`, signed now.
    fn creds(key: &Keypair, gate: &Gate) -> (String, String) {
        login::credentials(key, &gate.name, now_ns())
    }

    /// The embedded broker behind a gate for net-25 (oracle: its first oracle key).
    async fn start(config: GateConfig) -> (Gate, Upstream, hexproof_fixtures::Network) {
        let network = hexproof_fixtures::network("net-25").unwrap();
        let upstream = hexproof_demo::broker::start_embedded_broker().unwrap();
        let policy = Policy {
            hotspots: network.hotspots.iter().map(|h| h.key.pubkey).collect(),
            oracles: [network.oracles[0].pubkey].into(),
        };
        let gate = gate::start(upstream.clone(), policy, config).await.unwrap();
        (gate, upstream, network)
    }

    /// A client; its events (packets received, the connection's end) on a channel. It does not
    /// reconnect: its task ends with the connection (aborting the task drops the socket without
    /// DISCONNECT, so the broker publishes its will).
    struct Client {
        client: AsyncClient,
        events: mpsc::UnboundedReceiver<Result<Packet, String>>,
        task: tokio::task::JoinHandle<()>,
    }

    fn connect_with(
        addr: std::net::SocketAddr,
        id: &str,
        login: Option<(String, String)>,
        clean: bool,
        will: Option<LastWill>,
    ) -> Client {
        let mut options = MqttOptions::new(id, addr.ip().to_string(), addr.port());
        options.set_clean_session(clean);
        if let Some((user, password)) = login {
            options.set_credentials(user, password);
        }
        if let Some(will) = will {
            options.set_last_will(will);
        }
        let (client, mut eventloop) = AsyncClient::new(options, 16);
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(p)) => {
                        let _ = tx.send(Ok(p));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.send(Err(format!("{e:?}")));
                        return;
                    }
                }
            }
        });
        Client {
            client,
            events,
            task,
        }
    }

    fn connect(addr: std::net::SocketAddr, id: &str, login: Option<(String, String)>) -> Client {
        connect_with(addr, id, login, true, None)
    }

    impl Client {
        /// Everything received within `wait`.
        async fn drain(&mut self, wait: Duration) -> Vec<Result<Packet, String>> {
            let mut out = Vec::new();
            let deadline = tokio::time::Instant::now() + wait;
            while let Ok(Some(e)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
                out.push(e);
            }
            out
        }

        async fn connected(&mut self) -> bool {
            self.drain(Duration::from_millis(500)).await.iter().any(
                |e| matches!(e, Ok(Packet::ConnAck(a)) if a.code == ConnectReturnCode::Success),
            )
        }
    }

    fn published(events: &[Result<Packet, String>]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Ok(Packet::Publish(p)) => Some(p.topic.clone()),
                _ => None,
            })
            .collect()
    }

    fn dropped(events: &[Result<Packet, String>]) -> bool {
        events.iter().any(|e| e.is_err())
    }

    /// Refused at CONNECT with this return code (rumqttc: `ConnectionRefused(code)`).
    fn refused_with(events: &[Result<Packet, String>], code: &str) -> bool {
        events
            .iter()
            .any(|e| matches!(e, Err(s) if s.contains(&format!("ConnectionRefused({code})"))))
    }

    /// The production ACL (`scripts/broker-ca`) on the embedded broker: only signed logins of
    /// known keys get in; a hotspot publishes only its own report topics and reads only
    /// entropy; only oracles publish entropy. A client that breaks a rule is disconnected and
    /// what it sent never reaches anyone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_gate_keeps_every_client_to_its_topics() {
        let (gate, _upstream, network) = start(GateConfig::default()).await;
        let addr = gate.addr;
        let oracle_key = network.oracles[0].keypair().unwrap();
        let a = network.hotspots[0].key.keypair().unwrap();
        let b = network.hotspots[1].key.keypair().unwrap();

        // No login, a stranger's valid login, b's name with a's password: refused.
        let stranger = Keypair::generate();
        let (b_user, _) = creds(&b, &gate);
        let (_, a_password) = creds(&a, &gate);
        let a_id = login::hotspot_client_id(&a.public());
        for (what, creds) in [
            ("anonymous", None),
            ("stranger", Some(creds(&stranger, &gate))),
            ("impostor", Some((b_user, a_password))),
        ] {
            let mut c = connect(addr, &a_id, creds);
            let events = c.drain(Duration::from_millis(800)).await;
            assert!(refused_with(&events, "NotAuthorized"), "{what}: {events:?}");
        }

        // The oracle reads everything of ours; a hotspot reads entropy.
        let oracle_id = login::oracle_client_id(&oracle_key.public());
        let mut oracle = connect(addr, &oracle_id, Some(creds(&oracle_key, &gate)));
        assert!(oracle.connected().await);
        oracle
            .client
            .subscribe("hexproof/v1/#", QoS::AtLeastOnce)
            .await
            .unwrap();
        let b_id = login::hotspot_client_id(&b.public());
        let mut listener = connect(addr, &b_id, Some(creds(&b, &gate)));
        assert!(listener.connected().await);
        listener
            .client
            .subscribe(topics::ENTROPY, QoS::AtLeastOnce)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;

        // Allowed: a's own beacon; the oracle's entropy.
        let mut hotspot = connect(addr, &a_id, Some(creds(&a, &gate)));
        assert!(hotspot.connected().await);
        let own = topics::beacons(&a.public());
        hotspot
            .client
            .publish(&own, QoS::AtLeastOnce, false, b"mine".to_vec())
            .await
            .unwrap();
        oracle
            .client
            .publish(
                topics::ENTROPY,
                QoS::AtLeastOnce,
                false,
                b"entropy".to_vec(),
            )
            .await
            .unwrap();
        // Two publishers: their messages may arrive in either order.
        let mut seen = published(&oracle.drain(Duration::from_millis(800)).await);
        seen.sort();
        let mut expected = vec![own.clone(), topics::ENTROPY.to_string()];
        expected.sort();
        assert_eq!(seen, expected);
        assert_eq!(
            published(&listener.drain(Duration::from_millis(300)).await),
            [topics::ENTROPY]
        );

        // Refused: hotspots (others than a, each under its own id) publishing as b, publishing
        // retained entropy, reading everyone's beacons.
        for (i, what) in [
            "as another hotspot",
            "on the entropy topic",
            "reading beacons",
        ]
        .into_iter()
        .enumerate()
        {
            let c_key = network.hotspots[2 + i].key.keypair().unwrap();
            let c_id = login::hotspot_client_id(&c_key.public());
            let mut bad = connect(addr, &c_id, Some(creds(&c_key, &gate)));
            assert!(bad.connected().await, "{what}");
            let c = &bad.client;
            match what {
                "as another hotspot" => {
                    let topic = topics::witnesses(&b.public());
                    c.publish(topic, QoS::AtLeastOnce, false, b"forged".to_vec())
                        .await
                }
                "on the entropy topic" => {
                    c.publish(topics::ENTROPY, QoS::AtLeastOnce, true, b"fake".to_vec())
                        .await
                }
                _ => c.subscribe(topics::BEACONS_FILTER, QoS::AtLeastOnce).await,
            }
            .unwrap();
            let events = bad.drain(Duration::from_millis(800)).await;
            assert!(dropped(&events), "{what}: not disconnected");
            assert!(published(&events).is_empty(), "{what}: {events:?}");
        }
        // Nothing forged reached the oracle or the hotspot reading entropy; honest traffic flows.
        hotspot
            .client
            .publish(&own, QoS::AtLeastOnce, false, b"again".to_vec())
            .await
            .unwrap();
        assert_eq!(
            published(&oracle.drain(Duration::from_millis(800)).await),
            [own]
        );
        assert!(published(&listener.drain(Duration::from_millis(300)).await).is_empty());
    }

    /// Issue 27 item 9: a registered hotspot connecting with an oracle's client id (its own,
    /// valid login) is refused ("identifier rejected"): it neither ends the oracle's connection
    /// nor takes its persistent session and the reports queued in it. (Before, the gate ignored
    /// the client id: the hotspot kicked the oracle and was handed its queued beacons.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hotspot_cannot_take_over_an_oracles_session() {
        let (gate, _upstream, network) = start(GateConfig::default()).await;
        let addr = gate.addr;
        let oracle_key = network.oracles[0].keypair().unwrap();
        let a = network.hotspots[0].key.keypair().unwrap();
        let b = network.hotspots[1].key.keypair().unwrap();
        let oracle_id = login::oracle_client_id(&oracle_key.public());

        // The oracle's persistent session, subscribed to beacons; it goes away.
        let mut oracle = connect_with(
            addr,
            &oracle_id,
            Some(creds(&oracle_key, &gate)),
            false,
            None,
        );
        assert!(oracle.connected().await);
        oracle
            .client
            .subscribe(topics::BEACONS_FILTER, QoS::AtLeastOnce)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        oracle.client.disconnect().await.unwrap();
        let _ = oracle.drain(Duration::from_millis(300)).await;

        // a reports three beacons, queued in the oracle's session.
        let a_id = login::hotspot_client_id(&a.public());
        let mut hotspot = connect(addr, &a_id, Some(creds(&a, &gate)));
        assert!(hotspot.connected().await);
        for i in 0..3u8 {
            hotspot
                .client
                .publish(
                    topics::beacons(&a.public()),
                    QoS::AtLeastOnce,
                    false,
                    vec![i],
                )
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;

        // b, with its own valid login, asks for the oracle's ingest and entropy client ids.
        for id in [
            oracle_id.clone(),
            login::oracle_entropy_client_id(&oracle_key.public()),
        ] {
            let mut thief = connect_with(addr, &id, Some(creds(&b, &gate)), false, None);
            let events = thief.drain(Duration::from_millis(800)).await;
            assert!(refused_with(&events, "BadClientId"), "{id}: {events:?}");
            assert!(published(&events).is_empty(), "{id}: handed {events:?}");
        }

        // The oracle comes back to its session: every queued beacon is there, and b asking for
        // its id again while it is connected does not end its connection.
        let mut oracle = connect_with(
            addr,
            &oracle_id,
            Some(creds(&oracle_key, &gate)),
            false,
            None,
        );
        let events = oracle.drain(Duration::from_millis(1_000)).await;
        assert_eq!(published(&events).len(), 3, "{events:?}");
        let mut thief = connect_with(addr, &oracle_id, Some(creds(&b, &gate)), false, None);
        assert!(refused_with(
            &thief.drain(Duration::from_millis(800)).await,
            "BadClientId"
        ));
        assert!(!dropped(&oracle.drain(Duration::from_millis(300)).await));
    }

    /// Issue 27 item 10 at the gate: a will is a publish, held to the same rules. A hotspot's
    /// will on another hotspot's witness topic, or retained on the entropy topic, is refused at
    /// CONNECT and never published; a plain will on its own topic is. (Before, the broker
    /// published any will.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wills_keep_to_the_topic_rules() {
        let (gate, _upstream, network) = start(GateConfig::default()).await;
        let addr = gate.addr;
        let oracle_key = network.oracles[0].keypair().unwrap();
        let a = network.hotspots[0].key.keypair().unwrap();
        let b = network.hotspots[1].key.keypair().unwrap();
        let mut oracle = connect(
            addr,
            &login::oracle_client_id(&oracle_key.public()),
            Some(creds(&oracle_key, &gate)),
        );
        assert!(oracle.connected().await);
        oracle
            .client
            .subscribe("hexproof/v1/#", QoS::AtLeastOnce)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;

        let a_id = login::hotspot_client_id(&a.public());
        for (topic, retain) in [
            (topics::witnesses(&b.public()), false),
            (topics::ENTROPY.to_string(), true),
            (topics::ENTROPY.to_string(), false),
        ] {
            let will = LastWill::new(&topic, b"junk".to_vec(), QoS::AtLeastOnce, retain);
            let mut c = connect_with(addr, &a_id, Some(creds(&a, &gate)), true, Some(will));
            let events = c.drain(Duration::from_millis(500)).await;
            assert!(
                refused_with(&events, "NotAuthorized"),
                "{topic}: {events:?}"
            );
            c.task.abort();
        }
        // Its own topic: admitted, and published when it goes without DISCONNECT.
        let own = topics::witnesses(&a.public());
        let will = LastWill::new(&own, b"gone".to_vec(), QoS::AtLeastOnce, false);
        let mut c = connect_with(addr, &a_id, Some(creds(&a, &gate)), true, Some(will));
        assert!(c.connected().await);
        c.task.abort();
        let events = oracle.drain(Duration::from_millis(1_500)).await;
        assert_eq!(published(&events), [own], "only the will on its own topic");
        // No retained junk waits on the entropy topic.
        let b_id = login::hotspot_client_id(&b.public());
        let mut reader = connect(addr, &b_id, Some(creds(&b, &gate)));
        assert!(reader.connected().await);
        reader
            .client
            .subscribe(topics::ENTROPY, QoS::AtLeastOnce)
            .await
            .unwrap();
        assert!(published(&reader.drain(Duration::from_millis(800)).await).is_empty());
    }

    /// Issue 27 item 11: the embedded rumqttd takes only the gate's per-run credentials. A local
    /// process that connects to it directly (anonymous, or with a hotspot's valid login) gets
    /// no session and no report. (Before, an anonymous `#` subscriber read every report.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_embedded_broker_takes_only_the_gate() {
        let (gate, upstream, network) = start(GateConfig::default()).await;
        let a = network.hotspots[0].key.keypair().unwrap();
        let a_id = login::hotspot_client_id(&a.public());
        let mut spies = vec![
            connect(upstream.addr, "spy", None),
            connect(upstream.addr, &a_id, Some(creds(&a, &gate))),
            connect(
                upstream.addr,
                "guess",
                Some((upstream.username.clone(), "password".into())),
            ),
        ];
        for spy in &spies {
            // Queued until a connection exists; it never does (an error once the client gave up).
            let _ = spy.client.subscribe("#", QoS::AtLeastOnce).await;
        }
        let mut hotspot = connect(gate.addr, &a_id, Some(creds(&a, &gate)));
        assert!(hotspot.connected().await);
        for i in 0..100u8 {
            hotspot
                .client
                .publish(
                    topics::beacons(&a.public()),
                    QoS::AtLeastOnce,
                    false,
                    vec![i],
                )
                .await
                .unwrap();
        }
        for (i, spy) in spies.iter_mut().enumerate() {
            let events = spy.drain(Duration::from_millis(1_500)).await;
            assert!(
                !events.iter().any(|e| matches!(e, Ok(Packet::ConnAck(_)))),
                "spy {i} connected: {events:?}"
            );
            assert!(published(&events).is_empty(), "spy {i} read reports");
            assert!(dropped(&events), "spy {i}: {events:?}");
        }
    }

    /// Issue 27 item 12: a login is good once, at this gate, for minutes. The same password
    /// again (a captured login), one signed for another broker and one signed an hour ago are
    /// refused; a socket that sends no CONNECT is closed after the timeout (here 3 s), and
    /// beyond the connection cap (here 150) sockets are closed at once; afterwards honest
    /// clients connect. (Before, the password was one fixed signature, valid forever, and 200
    /// silent sockets stayed open.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn logins_are_fresh_and_silent_sockets_are_closed() {
        let config = GateConfig {
            connect_timeout: Duration::from_secs(3),
            max_connections: 150,
            ..GateConfig::default()
        };
        let (gate, _upstream, network) = start(config).await;
        let a = network.hotspots[0].key.keypair().unwrap();
        let a_id = login::hotspot_client_id(&a.public());

        let captured = creds(&a, &gate);
        let mut first = connect(gate.addr, &a_id, Some(captured.clone()));
        assert!(first.connected().await);
        first.client.disconnect().await.unwrap();
        let _ = first.drain(Duration::from_millis(300)).await;
        let hour_ns = 3_600_000_000_000;
        for (what, login) in [
            ("replayed", captured),
            (
                "another broker",
                login::credentials(&a, "127.0.0.1:1", now_ns()),
            ),
            (
                "an hour old",
                login::credentials(&a, &gate.name, now_ns() - hour_ns),
            ),
            (
                "an hour ahead",
                login::credentials(&a, &gate.name, now_ns() + hour_ns),
            ),
        ] {
            let mut c = connect(gate.addr, &a_id, Some(login));
            let events = c.drain(Duration::from_millis(800)).await;
            assert!(refused_with(&events, "NotAuthorized"), "{what}: {events:?}");
        }

        // 200 sockets that never send CONNECT.
        let sockets: Vec<std::net::TcpStream> = (0..200)
            .map(|_| std::net::TcpStream::connect(gate.addr).unwrap())
            .collect();
        // Closed: the read says end of stream (or reset); open: it would block.
        let closed = || {
            sockets
                .iter()
                .filter(|s| {
                    let mut s: &std::net::TcpStream = s;
                    s.set_nonblocking(true).unwrap();
                    match s.read(&mut [0u8; 8]) {
                        Ok(0) => true,
                        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                        Ok(_) => false,
                    }
                })
                .count()
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(closed(), 50, "beyond the cap: closed at once");
        tokio::time::sleep(Duration::from_millis(3_500)).await;
        assert_eq!(closed(), 200, "closed after the CONNECT timeout");
        let mut honest = connect(gate.addr, &a_id, Some(creds(&a, &gate)));
        assert!(honest.connected().await);
    }
}
