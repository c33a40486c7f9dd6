//! The explorer: what the oracle decided and why, read-only, for explorers, wallets and owners.
//!
//! Data enters from the store (reports with verdicts, closed epochs) and the registry; a live
//! follower turns each final verdict the store announces into an update of the in-memory
//! [`index`] and an event for watchers. It leaves through the gRPC service ([`grpc`], tonic,
//! with server reflection) and the web map with its JSON API ([`web`]). Nothing here writes.

pub mod grpc;
pub mod index;
pub mod web;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, RwLock},
    time::Duration,
};

use h3o::{CellIndex, Resolution};
use hexproof_proto::{PublicKey, v1};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::{
    registry::Registry,
    rewards::epoch,
    store::{Kind, ReportView, Status, Store, StoreError},
    validation::HotspotInfo,
};
use index::{Index, Summary};

/// `[explorer]` in the oracle's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExplorerConfig {
    /// gRPC API address; none to switch it off.
    pub grpc_listen: Option<SocketAddr>,
    /// Web map and JSON API address; none to switch it off.
    pub http_listen: Option<SocketAddr>,
}

impl Default for ExplorerConfig {
    fn default() -> Self {
        ExplorerConfig {
            grpc_listen: Some(SocketAddr::from(([127, 0, 0, 1], 50051))),
            http_listen: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
        }
    }
}

/// Page sizes: the default when a request asks for 0, and the most one may ask for.
pub const DEFAULT_PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("storage: {0}")]
    Sql(#[from] sqlx::Error),
}

type Result<T> = std::result::Result<T, QueryError>;

fn bad(msg: impl Into<String>) -> QueryError {
    QueryError::InvalidArgument(msg.into())
}

/// A base58 hotspot key from a request.
pub fn parse_key(s: &str) -> Result<PublicKey> {
    if s.is_empty() {
        return Err(bad("a hotspot key is required"));
    }
    s.parse()
        .map_err(|_| bad(format!("{s:?} is not a base58 ed25519 public key")))
}

/// An H3 cell from a request (the usual hex string).
pub fn parse_cell(s: &str) -> Result<CellIndex> {
    s.parse()
        .map_err(|_| bad(format!("{s:?} is not an H3 cell index")))
}

fn page_size(n: u32) -> Result<usize> {
    match n {
        0 => Ok(DEFAULT_PAGE as usize),
        n if n > MAX_PAGE => Err(bad(format!("page_size {n} is above {MAX_PAGE}"))),
        n => Ok(n as usize),
    }
}

/// Whether a hotspot asserted at `location` lies in `cell` (any resolution).
pub fn in_cell(location: Option<CellIndex>, cell: CellIndex) -> bool {
    location.is_some_and(|l| {
        l.resolution() >= cell.resolution() && l.parent(cell.resolution()) == Some(cell)
    })
}

/// Registered hotspots, sorted by key, with their base58 keys, a key lookup, and for every
/// resolution up to the assertion's (12) the hotspots in each occupied cell: a hex of any size
/// is found without scanning the registry. Rebuilt when the registry changes.
#[derive(Debug, Default)]
struct Hotspots {
    list: Vec<HotspotInfo>,
    keys: Vec<String>,
    by_key: HashMap<String, usize>,
    by_cell: HashMap<CellIndex, Vec<usize>>,
}

impl Hotspots {
    fn from_registry(registry: &dyn Registry) -> Hotspots {
        Self::from_list(registry.all())
    }

    fn from_list(list: Vec<HotspotInfo>) -> Hotspots {
        let keys: Vec<String> = list.iter().map(|h| h.pubkey.to_string()).collect();
        let by_key = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
        let mut by_cell: HashMap<CellIndex, Vec<usize>> = HashMap::new();
        for (i, h) in list.iter().enumerate() {
            let Some(location) = h.location else { continue };
            for res in Resolution::range(Resolution::Zero, location.resolution()) {
                if let Some(parent) = location.parent(res) {
                    by_cell.entry(parent).or_default().push(i);
                }
            }
        }
        Hotspots {
            list,
            keys,
            by_key,
            by_cell,
        }
    }

    fn get(&self, key: &str) -> Option<&HotspotInfo> {
        self.by_key.get(key).map(|&i| &self.list[i])
    }

    /// Positions of the hotspots asserted inside `cell`, in key order.
    fn in_cell(&self, cell: CellIndex) -> &[usize] {
        self.by_cell.get(&cell).map_or(&[], Vec::as_slice)
    }
}

/// Lifetime rewards after the newest closed epoch.
#[derive(Debug, Default)]
struct Rewards {
    latest_epoch: u64,
    lifetime: HashMap<String, u64>,
    total: u64,
}

/// A final verdict as watchers receive it, with where its hotspot is asserted.
#[derive(Debug, Clone)]
pub struct LiveVerdict {
    pub view: ReportView,
    pub location: Option<CellIndex>,
}

/// The explorer's state, shared by the gRPC service, the web server and the live follower.
#[derive(Debug)]
pub struct Explorer {
    store: Store,
    registry: Arc<dyn Registry>,
    hotspots: RwLock<Arc<Hotspots>>,
    index: RwLock<Index>,
    rewards: RwLock<Rewards>,
    live: broadcast::Sender<Arc<LiveVerdict>>,
    /// Ends live streams (watchers, server-sent events) so servers can stop.
    stop: CancellationToken,
}

impl Explorer {
    /// Loads the index from the store. Start it before anything writes verdicts, then run
    /// [`Explorer::follow`].
    pub async fn load(
        store: Store,
        registry: Arc<dyn Registry>,
        stop: CancellationToken,
    ) -> Result<(Arc<Explorer>, broadcast::Receiver<[u8; 32]>)> {
        let verdicts = store.subscribe_verdicts();
        let explorer = Arc::new(Explorer {
            hotspots: RwLock::new(Arc::new(Hotspots::from_registry(registry.as_ref()))),
            index: RwLock::new(Index::from_counts(&store.verdict_counts().await?)),
            rewards: RwLock::new(Rewards::default()),
            live: broadcast::channel(4096).0,
            stop,
            store,
            registry,
        });
        explorer.refresh_rewards().await?;
        Ok((explorer, verdicts))
    }

    fn hotspots(&self) -> Arc<Hotspots> {
        self.hotspots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn refresh_rewards(&self) -> Result<()> {
        let Some(latest) = epoch::last_closed(&self.store).await? else {
            return Ok(());
        };
        if self
            .rewards
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .latest_epoch
            == latest
        {
            return Ok(());
        }
        let rows = sqlx::query("SELECT hotspot, lifetime FROM rewards WHERE epoch = $1")
            .bind(i64::try_from(latest).unwrap_or(i64::MAX))
            .fetch_all(self.store.pool())
            .await?;
        let mut lifetime = HashMap::with_capacity(rows.len());
        let mut total = 0u64;
        for r in &rows {
            let amount = r.try_get::<i64, _>("lifetime")?.max(0) as u64;
            total = total.saturating_add(amount);
            lifetime.insert(r.try_get::<String, _>("hotspot")?, amount);
        }
        *self.rewards.write().unwrap_or_else(|e| e.into_inner()) = Rewards {
            latest_epoch: latest,
            lifetime,
            total,
        };
        Ok(())
    }

    /// Follows final verdicts until `shutdown`: updates the index and tells watchers; every
    /// two seconds re-reads the registry and, after a new epoch, the rewards.
    pub async fn follow(
        self: Arc<Self>,
        mut verdicts: broadcast::Receiver<[u8; 32]>,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    let list = self.registry.all();
                    if list != self.hotspots().list {
                        let fresh = Hotspots::from_list(list);
                        *self.hotspots.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
                    }
                    if let Err(e) = self.refresh_rewards().await {
                        tracing::warn!(%e, "explorer: reading rewards");
                    }
                    continue;
                }
                got = verdicts.recv() => got,
            };
            let mut ids = match first {
                Ok(id) => vec![id],
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "explorer fell behind the verdicts; re-reading the index"
                    );
                    verdicts = self.store.subscribe_verdicts();
                    match self.store.verdict_counts().await {
                        Ok(counts) => {
                            *self.index.write().unwrap_or_else(|e| e.into_inner()) =
                                Index::from_counts(&counts)
                        }
                        Err(e) => tracing::warn!(%e, "explorer: re-reading the index"),
                    }
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            };
            while ids.len() < 512 {
                match verdicts.try_recv() {
                    Ok(id) => ids.push(id),
                    Err(_) => break,
                }
            }
            let views = match self.store.report_views(&ids).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(%e, "explorer: reading verdicts");
                    continue;
                }
            };
            let hotspots = self.hotspots();
            {
                let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
                for v in &views {
                    index.apply(v);
                }
            }
            for view in views {
                let location = hotspots.get(&view.hotspot).and_then(|h| h.location);
                let _ = self.live.send(Arc::new(LiveVerdict { view, location }));
            }
        }
    }

    /// Final verdicts from now on.
    pub fn watch(&self) -> broadcast::Receiver<Arc<LiveVerdict>> {
        self.live.subscribe()
    }

    /// Resolves when the explorer stops: live streams end with it.
    pub fn stopped(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.stop.clone().cancelled_owned()
    }

    fn lifetime(&self, key: &str) -> u64 {
        self.rewards
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .lifetime
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    fn hotspot_message(&self, h: &HotspotInfo) -> v1::Hotspot {
        let key = h.pubkey.to_string();
        v1::Hotspot {
            lifetime_reward: self.lifetime(&key),
            pubkey: key,
            owner: h.owner.to_string(),
            location: h.location.map(|c| c.to_string()).unwrap_or_default(),
            gain_ddbi: h.gain_ddbi,
            elevation_m: h.elevation_m,
            asserted_at_ns: h.asserted_at_ns,
        }
    }

    pub fn get_hotspot(&self, key: &str) -> Result<v1::Hotspot> {
        let key = parse_key(key)?.to_string();
        let hotspots = self.hotspots();
        let h = hotspots
            .get(&key)
            .ok_or_else(|| QueryError::NotFound(format!("hotspot {key} is not registered")))?;
        Ok(self.hotspot_message(h))
    }

    /// A page of hotspots (by key), optionally only those asserted inside `cell`.
    pub fn list_hotspots(
        &self,
        cell: &str,
        page: u32,
        token: &str,
    ) -> Result<(Vec<v1::Hotspot>, String)> {
        let cell = (!cell.is_empty()).then(|| parse_cell(cell)).transpose()?;
        let page = page_size(page)?;
        let after = (!token.is_empty())
            .then(|| parse_key(token).map_err(|_| bad("bad page_token")))
            .transpose()?;
        let hotspots = self.hotspots();
        let start = after.map_or(0, |a| hotspots.list.partition_point(|h| h.pubkey <= a));
        let mut out = Vec::with_capacity(page);
        let mut next = String::new();
        for h in &hotspots.list[start..] {
            if cell.is_some_and(|c| !in_cell(h.location, c)) {
                continue;
            }
            if out.len() == page {
                next = out
                    .last()
                    .map(|h: &v1::Hotspot| h.pubkey.clone())
                    .unwrap_or_default();
                break;
            }
            out.push(self.hotspot_message(h));
        }
        Ok((out, next))
    }

    pub fn get_hex(&self, cell: &str) -> Result<v1::Hex> {
        let cell = parse_cell(cell)?;
        let hotspots = self.hotspots();
        let keys: Vec<&str> = hotspots
            .in_cell(cell)
            .iter()
            .map(|&i| hotspots.keys[i].as_str())
            .collect();
        let s: Summary = self
            .index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .summarize(keys.iter().copied());
        let lifetime_reward = {
            let rewards = self.rewards.read().unwrap_or_else(|e| e.into_inner());
            keys.iter()
                .map(|k| rewards.lifetime.get(*k).copied().unwrap_or(0))
                .sum()
        };
        let keys = keys.into_iter().map(str::to_string).collect();
        Ok(v1::Hex {
            cell: cell.to_string(),
            resolution: u8::from(cell.resolution()).into(),
            hotspots: keys,
            valid_beacons: s.valid_beacons,
            valid_witnesses: s.valid_witnesses,
            invalid_reports: s.invalid,
            rssi_min_ddbm: s.rssi_min_ddbm,
            rssi_median_ddbm: s.rssi_median_ddbm,
            rssi_max_ddbm: s.rssi_max_ddbm,
            snr_median_ddb: s.snr_median_ddb,
            lifetime_reward,
        })
    }

    /// Every occupied cell at `resolution` with its summary: what the map draws.
    pub fn hexes(&self, resolution: u8) -> Result<Vec<(CellIndex, Summary, usize, u64)>> {
        let res = Resolution::try_from(resolution)
            .map_err(|_| bad(format!("resolution {resolution} is not 0..=15")))?;
        let hotspots = self.hotspots();
        let mut cells: std::collections::BTreeMap<CellIndex, Vec<String>> = Default::default();
        for (h, key) in hotspots.list.iter().zip(&hotspots.keys) {
            if let Some(parent) = h.location.and_then(|l| l.parent(res)) {
                cells.entry(parent).or_default().push(key.clone());
            }
        }
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        Ok(cells
            .into_iter()
            .map(|(cell, keys)| {
                let reward = keys.iter().map(|k| self.lifetime(k)).sum();
                let s = index.summarize(keys.iter().map(String::as_str));
                (cell, s, keys.len(), reward)
            })
            .collect())
    }

    /// A page of a hotspot's reports with verdicts, oldest first, time-bounded.
    pub async fn list_reports(
        &self,
        hotspot: &str,
        since_ns: u64,
        until_ns: u64,
        page: u32,
        token: &str,
    ) -> Result<(Vec<ReportView>, String)> {
        let key = parse_key(hotspot)?.to_string();
        let until = if until_ns == 0 {
            u64::MAX >> 1
        } else {
            until_ns
        };
        if since_ns >= until {
            return Err(bad("since_ns must be before until_ns"));
        }
        let page = page_size(page)?;
        let after = if token.is_empty() {
            None
        } else {
            let (ts, id) = token.split_once('.').ok_or_else(|| bad("bad page_token"))?;
            let ts: u64 = ts.parse().map_err(|_| bad("bad page_token"))?;
            let id: [u8; 32] = hex::decode(id)
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| bad("bad page_token"))?;
            Some((ts, id))
        };
        let mut reports = self
            .store
            .hotspot_reports(&key, since_ns, until, after, page as u32 + 1)
            .await?;
        let next = if reports.len() > page {
            reports.truncate(page);
            reports
                .last()
                .map(|r| format!("{}.{}", r.timestamp_ns, hex::encode(r.id)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok((reports, next))
    }

    /// A closed epoch's header (0: the newest).
    pub async fn get_epoch(&self, n: u64) -> Result<v1::EpochRewards> {
        let n = if n == 0 {
            epoch::last_closed(&self.store)
                .await?
                .ok_or_else(|| QueryError::NotFound("no epoch closed yet".into()))?
        } else {
            n
        };
        let e = epoch::load(&self.store, n)
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("epoch {n} is not closed")))?;
        Ok(v1::EpochRewards {
            epoch: e.epoch,
            start_ns: e.start_ns,
            end_ns: e.end_ns,
            merkle_root: e.root.to_vec(),
            lifetime_total: e.lifetime_total,
            epoch_total: e.paid,
            dust: e.dust,
            hotspot_count: e.rows.len() as u32,
            signatures: vec![v1::OracleSignature {
                oracle: e.oracle.to_bytes().to_vec(),
                signature: e.signature.to_vec(),
            }],
        })
    }

    pub async fn get_rewards(&self, hotspot: &str) -> Result<v1::HotspotRewards> {
        let key = parse_key(hotspot)?.to_string();
        let rows = sqlx::query(
            "SELECT epoch, beacon_amount, witness_amount, lifetime FROM rewards \
             WHERE hotspot = $1 ORDER BY epoch",
        )
        .bind(key.clone())
        .fetch_all(self.store.pool())
        .await?;
        let mut epochs = Vec::with_capacity(rows.len());
        let mut lifetime = 0;
        for r in &rows {
            let get = |c: &str| -> Result<u64> { Ok(r.try_get::<i64, _>(c)?.max(0) as u64) };
            let (b, w) = (get("beacon_amount")?, get("witness_amount")?);
            lifetime = get("lifetime")?;
            epochs.push(v1::EpochReward {
                epoch: get("epoch")?,
                beacon_amount: b,
                witness_amount: w,
                total: b + w,
            });
        }
        if epochs.is_empty() && self.hotspots().get(&key).is_none() {
            return Err(QueryError::NotFound(format!(
                "hotspot {key} is not registered and has no rewards"
            )));
        }
        Ok(v1::HotspotRewards {
            hotspot: key,
            epochs,
            lifetime,
        })
    }

    pub async fn get_reward_proof(&self, hotspot: &str, n: u64) -> Result<v1::RewardProof> {
        let key = parse_key(hotspot)?;
        let header = self.get_epoch(n).await?;
        let e = epoch::load(&self.store, header.epoch)
            .await?
            .ok_or_else(|| QueryError::NotFound("epoch vanished".into()))?;
        let i = e
            .rows
            .iter()
            .position(|r| r.hotspot == key)
            .ok_or_else(|| {
                QueryError::NotFound(format!("{key} has no reward in epoch {}", e.epoch))
            })?;
        let proof = e
            .tree()
            .proof(i)
            .ok_or_else(|| QueryError::NotFound("no proof".into()))?;
        Ok(v1::RewardProof {
            hotspot: key.to_string(),
            epoch: e.epoch,
            lifetime_amount: e.rows[i].lifetime,
            merkle_root: e.root.to_vec(),
            siblings: proof.iter().map(|h| h.to_vec()).collect(),
            leaf_index: i as u64,
        })
    }

    pub async fn network_stats(&self) -> Result<v1::NetworkStats> {
        let reports = self.store.count_reports().await?;
        let hotspots = self.hotspots();
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        let (valid_beacons, valid_witnesses, invalid_reports) = index.totals();
        let rewards = self.rewards.read().unwrap_or_else(|e| e.into_inner());
        Ok(v1::NetworkStats {
            hotspots: hotspots.list.len() as u64,
            asserted_hotspots: hotspots
                .list
                .iter()
                .filter(|h| h.location.is_some())
                .count() as u64,
            reports,
            valid_beacons,
            valid_witnesses,
            invalid_reports,
            latest_epoch: rewards.latest_epoch,
            lifetime_rewards: rewards.total,
            invalid_by_reason: index
                .invalid_by_reason()
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        })
    }
}

/// A stored verdict as the API shows it.
pub fn verdict_message(v: &ReportView) -> v1::ReportVerdict {
    v1::ReportVerdict {
        kind: match v.kind {
            Kind::Beacon => v1::ReportKind::Beacon,
            Kind::Witness => v1::ReportKind::Witness,
            Kind::Undecodable => v1::ReportKind::Unspecified,
        } as i32,
        id: v.id.to_vec(),
        hotspot: v.hotspot.clone(),
        timestamp_ns: v.timestamp_ns,
        received_ns: v.received_ns,
        valid: v.status == Status::Valid,
        reason: match v.status {
            Status::Valid => "valid".into(),
            Status::Pending => "pending".into(),
            Status::Invalid => v.reason.clone().unwrap_or_default(),
        },
        detail: v.detail.clone().unwrap_or_default(),
        beaconer: v.beaconer.clone().unwrap_or_default(),
        rssi_ddbm: v.rssi_ddbm.unwrap_or(0),
        snr_ddb: v.snr_ddb.unwrap_or(0),
        frequency_hz: v.frequency_hz.unwrap_or(0),
        selected: v.selected,
    }
}

/// Starts the explorer's servers (those configured) and its follower; they stop at `shutdown`.
pub async fn start(
    config: &ExplorerConfig,
    store: Store,
    registry: Arc<dyn Registry>,
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: CancellationToken,
) -> anyhow::Result<Arc<Explorer>> {
    let (explorer, verdicts) = Explorer::load(store, registry, shutdown.clone()).await?;
    tasks.spawn(explorer.clone().follow(verdicts, shutdown.clone()));
    if let Some(addr) = config.grpc_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("gRPC explorer on {addr}: {e}"))?;
        tracing::info!(addr = %listener.local_addr()?, "explorer gRPC listening");
        tasks.spawn(grpc::serve(explorer.clone(), listener, shutdown.clone()));
    }
    if let Some(addr) = config.http_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("web map on {addr}: {e}"))?;
        tracing::info!(addr = %listener.local_addr()?, "explorer web map on http://{}", listener.local_addr()?);
        tasks.spawn(web::serve(explorer.clone(), listener, shutdown.clone()));
    }
    Ok(explorer)
}
