//! The packet router: buys hotspots' copies of devices' uplinks for the routes that own them,
//! signs a receipt for every copy bought, and forwards the copies to each route's network
//! server.
//!
//! Data enters as signed `PacketReport`s on `hexproof/v1/packets/<hotspot>` (its own MQTT
//! session: clean session off, QoS 1, acknowledged to the broker only once its receipts are
//! stored, so a crash loses nothing and a redelivered report buys nothing twice) and as the
//! routing table: the program's orgs and routes read from the chain and kept fresh
//! ([`chain_table`], each org with its data credits: a copy is bought only when its org can pay
//! for it), or a [`RoutesFile`] without a chain; session keys come from the file. The rules
//! are [`hexproof_poc::packets`]'s.
//! It leaves as signed `PacketReceipt`s in the store (the input of data rewards) and as
//! Semtech UDP PUSH_DATA to each route's network server ([`lns`]), retried until acknowledged.
//! Reports from keys the registry does not hold, not signed by their topic's key, or not
//! decoding are refused unstored; every refusal and drop is counted by reason
//! (`hexproof_router_dropped_total{reason}`).

pub mod chain_table;
pub mod lns;

use std::{collections::BTreeMap, path::PathBuf, sync::Arc, time::Duration};

use hexproof_poc::packets::{
    Drop, Org, Route, Router as Rules, RouterLimits, RoutingTable, frame::payload_hash,
};
use hexproof_proto::{
    Keypair, PublicKey, Signed,
    clock::Clock,
    mqtt::MqttConfig,
    topics,
    v1::{PacketReceipt, PacketReport},
};
use prost::Message;
use rumqttc::{AsyncClient, Event, Packet, QoS};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::{registry::Registry, store::Store};

/// `[router]` in the oracle's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// Run the router (off: packet reports are left on the broker for another router).
    pub enabled: bool,
    /// Orgs and routes as JSON ([`RoutesFile`]): the routing table when the oracle has no
    /// chain; with the chain's table, only the routes' session
    /// keys are taken from it (by route id: MIC keys are never put on chain).
    pub routes_file: Option<PathBuf>,
    /// Read orgs and routes from the program's accounts (when `[chain] rpc_url` is set), again
    /// every `[chain] refresh_secs`. Required with a chain (orgs pay with credits bought
    /// there); off only without one.
    pub routes_from_chain: bool,
    pub limits: RouterLimits,
    /// How long a network server has to acknowledge a PUSH_DATA before it is sent again.
    pub lns_ack_timeout_ms: u64,
    /// Copies sent to network servers per pass of the forwarder.
    pub forward_batch: u32,
    /// Let routes name network servers on loopback, private, link-local or broadcast
    /// addresses (off: org owners set routes, and must not aim the router at its own host or
    /// network; on for demos, or a router and its orgs' servers on one private network).
    pub lns_private: bool,
    /// The router connection's own client certificate and key (PEM), in place of `[mqtt]`'s;
    /// required when `[mqtt]` has a client certificate: a broker that names clients by
    /// certificate would give ingest and the router one client id, one persistent session and
    /// each other's messages (`scripts/broker-ca issue-oracle` issues `<key>-router`).
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
}

impl RouterConfig {
    /// The broker settings of the router's connection: `[mqtt]` with the router's certificate.
    pub fn connection(
        &self,
        mqtt: &MqttConfig,
    ) -> Result<MqttConfig, crate::config::ConnectionError> {
        crate::config::own_connection(
            "router",
            mqtt,
            &self.client_cert_file,
            &self.client_key_file,
        )
    }
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            enabled: false,
            routes_file: None,
            routes_from_chain: true,
            limits: RouterLimits::default(),
            lns_ack_timeout_ms: 1_000,
            forward_batch: 256,
            lns_private: false,
            client_cert_file: None,
            client_key_file: None,
        }
    }
}

/// The routing table as a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesFile {
    pub orgs: Vec<Org>,
    pub routes: Vec<Route>,
}

impl RoutesFile {
    pub fn load(path: &std::path::Path) -> anyhow::Result<RoutesFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("routes file {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("routes file {}: {e}", path.display()))
    }

    /// The file's orgs and routes as a checked table.
    pub fn table(&self) -> Result<RoutingTable, hexproof_poc::packets::TableError> {
        RoutingTable::new(self.orgs.clone(), self.routes.clone())
    }

    /// Its routes' session keys by route id (what the chain's table takes from it).
    pub fn session_keys(&self) -> BTreeMap<u64, Vec<hexproof_poc::packets::SessionKey>> {
        self.routes
            .iter()
            .filter(|r| !r.session_keys.is_empty())
            .map(|r| (r.id, r.session_keys.clone()))
            .collect()
    }
}

/// Why a packet report bought nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
pub enum Refusal {
    #[error("not a packet topic")]
    NotPacketTopic,
    #[error("the payload is not a packet report")]
    Undecodable,
    #[error("the signature does not hold")]
    BadSignature,
    #[error("signed by another key than its topic's")]
    TopicMismatch,
    #[error("the hotspot is not registered")]
    Unregistered,
    #[error("the report's radio fields are not a LoRa reception (data rate, frequency)")]
    BadRadio,
    #[error("{0}")]
    Dropped(#[from] Drop),
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotPacketTopic => "not_packet_topic",
            Refusal::Undecodable => "undecodable_report",
            Refusal::BadSignature => "bad_signature",
            Refusal::TopicMismatch => "topic_mismatch",
            Refusal::Unregistered => "unregistered",
            Refusal::BadRadio => "bad_radio",
            Refusal::Dropped(d) => d.code(),
        }
    }
}

/// The router's state: its rules' memory, the table, its key.
#[derive(Debug)]
pub struct PacketRouter {
    rules: Rules,
    table: RoutingTable,
    key: Keypair,
    registry: Arc<dyn Registry>,
    clock: Clock,
    /// Registered hotspots' keys, decompressed once (a seventh of a verification each time).
    keys: std::collections::HashMap<PublicKey, ed25519_dalek::VerifyingKey>,
    /// Refusals and drops by reason since start (shared: [`PacketRouter::counts`]).
    refused: Arc<std::sync::Mutex<BTreeMap<&'static str, u64>>>,
    /// Packets heard per hotspot (registered, signature valid, not a copy it already offered,
    /// within its rate) since [`PacketRouter::take_heard`].
    heard: BTreeMap<PublicKey, u64>,
}

impl PacketRouter {
    pub fn new(
        table: RoutingTable,
        limits: RouterLimits,
        key: Keypair,
        registry: Arc<dyn Registry>,
        clock: Clock,
    ) -> PacketRouter {
        PacketRouter {
            rules: Rules::new(limits),
            table,
            key,
            registry,
            clock,
            keys: Default::default(),
            refused: Arc::default(),
            heard: BTreeMap::new(),
        }
    }

    /// Remembers copies bought before a restart (receipts stored within the rules' memory), so
    /// a report redelivered after a restart buys nothing beyond `max_copies`.
    pub fn remember(&mut self, bought: &[crate::store::StoredReceipt]) {
        for b in bought {
            if let Ok(hotspot) = PublicKey::try_from(b.receipt.hotspot.as_slice()) {
                self.rules.remember(
                    &self.table,
                    hotspot,
                    &b.report.payload,
                    b.receipt.route_id,
                    b.receipt.bought_ns,
                );
            }
        }
    }

    /// Refusals and drops by reason, as they are counted (a handle that outlives the job).
    pub fn counts(&self) -> Arc<std::sync::Mutex<BTreeMap<&'static str, u64>>> {
        self.refused.clone()
    }

    /// The key receipts are signed with ([`PacketRouter::sign`]).
    pub fn key(&self) -> &Keypair {
        &self.key
    }

    /// Signs `bought` as one batch (`hexproof_proto::receipts`): one signature for all.
    pub fn sign(&self, bought: &mut [(PacketReceipt, PacketReport)]) {
        let mut receipts: Vec<PacketReceipt> = bought.iter().map(|(r, _)| r.clone()).collect();
        hexproof_proto::receipts::sign_batch(&mut receipts, &self.key);
        for ((r, _), signed) in bought.iter_mut().zip(receipts) {
            *r = signed;
        }
    }

    /// One message from the broker: the receipts of the copies it bought (unsigned: stored
    /// once [`PacketRouter::sign`] signed their batch), or why it bought none (counted).
    pub fn handle(
        &mut self,
        topic: &str,
        payload: &[u8],
    ) -> Result<Vec<(PacketReceipt, PacketReport)>, Refusal> {
        let result = self.buy(topic, payload);
        if let Err(why) = result {
            *self
                .refused
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(why.code())
                .or_default() += 1;
            metrics::counter!("hexproof_router_dropped_total", "reason" => why.code()).increment(1);
            count_total(why.code(), 1);
        }
        result
    }

    fn buy(
        &mut self,
        topic: &str,
        payload: &[u8],
    ) -> Result<Vec<(PacketReceipt, PacketReport)>, Refusal> {
        let hotspot = topics::packets_of(topic).ok_or(Refusal::NotPacketTopic)?;
        if !self.registry.contains(&hotspot) {
            return Err(Refusal::Unregistered);
        }
        let report = PacketReport::decode(payload).map_err(|_| Refusal::Undecodable)?;
        let key = match self.keys.get(&hotspot) {
            Some(k) => *k,
            None => {
                let k = hotspot.verifying_key().map_err(|_| Refusal::BadSignature)?;
                self.keys.insert(hotspot, k);
                k
            }
        };
        let (signer, report_id) = report
            .verify_with_id_cached(Some(&key))
            .map_err(|_| Refusal::BadSignature)?;
        if signer != hotspot {
            return Err(Refusal::TopicMismatch);
        }
        // What the forwarder must put in a PUSH_DATA: a copy it cannot send is not bought.
        let rate = hexproof_proto::v1::DataRate::try_from(report.data_rate)
            .ok()
            .filter(|r| *r != hexproof_proto::v1::DataRate::Unspecified);
        if rate.is_none() || !(100_000_000..=1_000_000_000).contains(&report.frequency_hz) {
            return Err(Refusal::BadRadio);
        }
        let now = self.clock.now_ns();
        let offered = self.rules.offer(&self.table, hotspot, &report.payload, now);
        // Heard: each LoRaWAN uplink once per hotspot, within its rate (junk, a report sent
        // again, or a flood, does not raise the count).
        if !matches!(
            offered,
            Err(Drop::Duplicate
                | Drop::RateLimited
                | Drop::Oversized
                | Drop::Undecodable
                | Drop::NotUplink)
        ) {
            *self.heard.entry(hotspot).or_default() += 1;
        }
        let bought = offered?;
        let hash = payload_hash(&report.payload);
        Ok(bought
            .into_iter()
            .map(|b| {
                let receipt = PacketReceipt {
                    router: self.key.public().to_bytes().to_vec(),
                    hotspot: hotspot.to_bytes().to_vec(),
                    payload_hash: hash.to_vec(),
                    payload_size: report.payload.len() as u32,
                    oui: b.oui,
                    route_id: b.route,
                    report_id: report_id.to_vec(),
                    bought_ns: now,
                    ..Default::default()
                };
                metrics::counter!("hexproof_router_bought_total").increment(1);
                count_total("bought", 1);
                (receipt, report.clone())
            })
            .collect())
    }

    pub fn table(&self) -> &RoutingTable {
        &self.table
    }

    /// Reports taken per hotspot (base58 key) since the last call.
    pub fn take_heard(&mut self) -> BTreeMap<String, u64> {
        std::mem::take(&mut self.heard)
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect()
    }

    /// Routes by `table` from now on (its owners changed it on chain).
    pub fn set_table(&mut self, table: RoutingTable) {
        self.table = table;
    }
}

/// What the router job runs on.
#[derive(Debug)]
pub struct RouterJob {
    pub router: PacketRouter,
    pub store: Store,
    pub mqtt: MqttConfig,
    /// Signs a fresh login before each connection attempt (`[mqtt] login_broker`).
    pub login: Option<hexproof_proto::mqtt::SignedLogin>,
    pub client_id: String,
    pub config: RouterConfig,
    pub clock: Clock,
    /// Newer routing tables (the chain's, [`chain_table::keep_fresh`]); none: the router's
    /// own table stays.
    pub tables: Option<watch::Receiver<RoutingTable>>,
}

/// The router's MQTT client id (a session apart from ingest's).
pub fn client_id(key: &PublicKey) -> String {
    hexproof_proto::login::oracle_router_client_id(key)
}

/// Refusals and drops by reason of every router in this process, and copies bought (like
/// Prometheus counters, for an in-process reader such as the demo's summary).
pub fn totals() -> BTreeMap<&'static str, u64> {
    TOTALS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

static TOTALS: std::sync::Mutex<BTreeMap<&'static str, u64>> =
    std::sync::Mutex::new(BTreeMap::new());

fn count_total(what: &'static str, n: u64) {
    *TOTALS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(what)
        .or_default() += n;
}

/// Reports the router job holds between commits.
const STORE_BATCH: usize = 256;
const STORE_WAIT: Duration = Duration::from_millis(5);

/// Reports handled since the last commit and the receipts of the copies they bought.
#[derive(Default)]
struct Held {
    reports: Vec<rumqttc::Publish>,
    receipts: Vec<(PacketReceipt, PacketReport)>,
    /// Reports taken per hotspot.
    heard: BTreeMap<String, u64>,
}

impl Held {
    /// Signs the receipts as one batch and stores them with the reports taken per hotspot
    /// (retrying until stored or `shutdown`: false), then acknowledges the reports to the
    /// broker through `client` (none: the session is gone, they come again).
    async fn flush(
        &mut self,
        router: &mut PacketRouter,
        store: &Store,
        client: Option<&AsyncClient>,
        bought: &Notify,
        shutdown: &CancellationToken,
        now_ns: u64,
    ) -> bool {
        for (hotspot, n) in router.take_heard() {
            *self.heard.entry(hotspot).or_default() += n;
        }
        if !self.receipts.is_empty() || !self.heard.is_empty() {
            if self
                .receipts
                .first()
                .is_some_and(|(r, _)| r.signature.is_empty())
            {
                router.sign(&mut self.receipts);
            }
            let mut delay = Duration::from_millis(100);
            loop {
                match store
                    .save_packets(&self.receipts, &self.heard, now_ns)
                    .await
                {
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(%e, "router: storing receipts; retrying");
                        tokio::select! {
                            () = shutdown.cancelled() => return false,
                            () = tokio::time::sleep(delay) => {}
                        }
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
            self.heard.clear();
            if !self.receipts.is_empty() {
                self.receipts.clear();
                bought.notify_one();
            }
        }
        for publish in self.reports.drain(..) {
            if let Some(client) = client
                && let Err(e) = client.try_ack(&publish)
            {
                tracing::warn!(%e, "router: acknowledging");
            }
        }
        true
    }
}

/// Buys packets and forwards them until `shutdown`.
pub async fn run(job: RouterJob, shutdown: CancellationToken) {
    let RouterJob {
        mut router,
        store,
        mqtt,
        login,
        client_id,
        config,
        clock,
        tables,
    } = job;
    // Without a source of newer tables, the router's own is the only one (the sender is
    // kept for as long as the job runs).
    let (_own_table, mut tables) = match tables {
        Some(rx) => (None, rx),
        None => {
            let (tx, rx) = watch::channel(router.table().clone());
            (Some(tx), rx)
        }
    };
    // What every org was charged so far (its receipts): a router that does not know it must
    // not buy, or an org could spend its credits twice.
    let mut delay = Duration::from_millis(100);
    loop {
        match store.charges_by_org().await {
            Ok(charged) => {
                router.rules.set_charged(charged);
                break;
            }
            Err(e) => {
                tracing::warn!(%e, "router: reading what orgs were charged; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    // Copies bought within the rules' memory before a restart count against max_copies.
    let now = clock.now_ns();
    match store
        .receipts_between(now.saturating_sub(config.limits.memory_ns), u64::MAX)
        .await
    {
        Ok(bought) => router.remember(&bought),
        Err(e) => tracing::warn!(%e, "router: reading recent receipts"),
    }
    let mqtt = match config.connection(&mqtt) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(%e, "router: broker settings");
            return;
        }
    };
    let mut options = match mqtt.options(&client_id) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(%e, "router: broker settings");
            return;
        }
    };
    options.set_clean_session(false);
    options.set_manual_acks(true);
    let (client, mut eventloop) = AsyncClient::new(options, 1024);
    let bought = Arc::new(Notify::new());
    let forwarder = tokio::spawn(lns::forward(
        store.clone(),
        tables.clone(),
        config.clone(),
        clock,
        bought.clone(),
        shutdown.clone(),
    ));
    let mut failures = 0u32;
    // Reports handled but not yet stored and acknowledged: their receipts are stored in one
    // transaction and the reports acknowledged together, at most `STORE_BATCH` reports or
    // `STORE_WAIT` after the first (one commit per report would bound the router by the
    // database's commits, not by its work).
    let mut held = Held::default();
    let mut flush_at: Option<tokio::time::Instant> = None;
    loop {
        if let Some(login) = &login {
            login.refresh(&mut eventloop);
        }
        let event = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep_until(flush_at.unwrap_or_else(tokio::time::Instant::now)),
                if flush_at.is_some() =>
            {
                flush_at = None;
                let now = clock.now_ns();
                if !held
                    .flush(&mut router, &store, Some(&client), &bought, &shutdown, now)
                    .await
                {
                    return;
                }
                continue;
            }
            Ok(()) = tables.changed() => {
                router.set_table(tables.borrow_and_update().clone());
                continue;
            }
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                failures = 0;
                if let Err(e) = client.try_subscribe(topics::PACKETS_FILTER, QoS::AtLeastOnce) {
                    tracing::error!(%e, "router: subscribing to packets");
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                if let Ok(receipts) = router.handle(&publish.topic, &publish.payload) {
                    held.receipts.extend(receipts);
                }
                held.reports.push(publish);
                flush_at.get_or_insert_with(|| tokio::time::Instant::now() + STORE_WAIT);
                if held.reports.len() >= STORE_BATCH {
                    flush_at = None;
                    if !held
                        .flush(
                            &mut router,
                            &store,
                            Some(&client),
                            &bought,
                            &shutdown,
                            clock.now_ns(),
                        )
                        .await
                    {
                        return;
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                // Receipts are stored; the reports are not acknowledged on a session that is
                // gone: the broker sends them again, and a copy stored buys nothing twice.
                flush_at = None;
                if !held
                    .flush(
                        &mut router,
                        &store,
                        None,
                        &bought,
                        &shutdown,
                        clock.now_ns(),
                    )
                    .await
                {
                    return;
                }
                failures += 1;
                if failures == 1 || failures.is_multiple_of(10) {
                    tracing::warn!(error = %e, "router: broker connection; reconnecting");
                }
                let delay = Duration::from_millis((200u64 << failures.min(6)).min(10_000));
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    // What it holds is stored (trying for at most 5 s more) and acknowledged before it stops;
    // the connection is driven a moment longer so the acknowledgements reach the broker.
    let give_up = CancellationToken::new();
    let timer = give_up.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        timer.cancel();
    });
    let now = clock.now_ns();
    let stored = held
        .flush(&mut router, &store, Some(&client), &bought, &give_up, now)
        .await;
    if !stored {
        tracing::warn!(
            "router: stopping with receipts unstored; the broker sends their reports again"
        );
    }
    let _ = client.try_disconnect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while let Ok(Ok(event)) = tokio::time::timeout_at(deadline, eventloop.poll()).await {
        if matches!(event, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
            break;
        }
    }
    let _ = forwarder.await;
}
