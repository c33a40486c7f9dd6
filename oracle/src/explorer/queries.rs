//! The explorer's state and its queries: everything an API asks, answered from the in-memory
//! index and hotspot index where it can, from the store where it must.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use h3o::{CellIndex, Resolution};
use hexproof_poc::HotspotInfo;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};

use super::clients::{Client, Share, Shares};
use tokio_util::sync::CancellationToken;

use super::{
    ExplorerConfig, LiveVerdict, MAX_PAGE, QueryError, Result, bad,
    cache::{BuiltEpoch, EpochCache},
    hotspots::{Hotspots, in_cell},
    index::{Index, Summary},
    page_size, parse_key, parse_public_cell, public_cell,
    views::{
        EpochRewardView, EpochView, HexView, HotspotView, NetworkView, ProofView, ReportView,
        RewardsView,
    },
};
use crate::{registry::Registry, store::Store};

/// Lifetime rewards after the newest closed epoch.
#[derive(Debug, Default)]
pub(super) struct Rewards {
    pub(super) latest_epoch: u64,
    /// When the newest closed epoch ended (ns): reports before it have their signal served.
    pub(super) closed_until_ns: u64,
    pub(super) lifetime: HashMap<String, u64>,
    pub(super) total: u64,
}

/// The explorer's state, shared by the gRPC service, the web server and the live follower.
#[derive(Debug)]
pub struct Explorer {
    pub(super) store: Store,
    pub(super) registry: Arc<dyn Registry>,
    pub(super) hotspots: RwLock<Arc<Hotspots>>,
    pub(super) index: RwLock<Index>,
    /// The signal (RSSI, SNR) of valid witnesses in closed epochs only, rebuilt when an epoch
    /// closes: hex summaries take theirs from here, so no live reception's signal is public.
    pub(super) signal: RwLock<Index>,
    pub(super) rewards: RwLock<Rewards>,
    pub(super) live: broadcast::Sender<Arc<LiveVerdict>>,
    /// Ends live streams (watchers, server-sent events) so servers can stop.
    stop: CancellationToken,
    pub(super) config: ExplorerConfig,
    /// Places for requests that read the database or sum more than a page of hotspots.
    heavy: Arc<Semaphore>,
    /// Places for live streams.
    watchers: Arc<Semaphore>,
    /// What each client holds of those.
    heavy_shares: Arc<Shares>,
    watcher_shares: Arc<Shares>,
    epochs: EpochCache,
    /// The number of stored reports and when it was counted; the lock is held while counting.
    report_count: Mutex<Option<(Instant, u64)>>,
    counting: tokio::sync::Mutex<()>,
    /// Copies bought from each hotspot (base58 key), and each route's packets: each read at
    /// most once per `stats_ttl_ms`.
    bought: Cached<HashMap<String, crate::store::Carried>>,
    routes: Cached<Vec<crate::store::RoutePackets>>,
}

/// An occupied cell with its summary, hotspot count and lifetime reward.
/// A cell: its verdict summary, hotspots, lifetime reward and device packets its hotspots
/// carried (copies bought from them, and the data credits they cost).
pub type CellSummary = (CellIndex, Summary, usize, u64, crate::store::Carried);

/// A place taken by a request or a live stream, with its client's share of such places; both
/// are free again when this is dropped.
#[derive(Debug)]
pub struct Place(
    #[allow(dead_code)] Option<Share>,
    #[allow(dead_code)] OwnedSemaphorePermit,
);

impl Explorer {
    /// [`Explorer::load_with`] the default limits.
    pub async fn load(
        store: Store,
        registry: Arc<dyn Registry>,
        stop: CancellationToken,
    ) -> Result<(Arc<Explorer>, broadcast::Receiver<[u8; 32]>)> {
        Self::load_with(store, registry, ExplorerConfig::default(), stop).await
    }

    /// Loads the index from the store. Start it before anything writes verdicts, then run
    /// [`Explorer::follow`]. `config` gives the limits (its addresses are not used here).
    pub async fn load_with(
        store: Store,
        registry: Arc<dyn Registry>,
        config: ExplorerConfig,
        stop: CancellationToken,
    ) -> Result<(Arc<Explorer>, broadcast::Receiver<[u8; 32]>)> {
        let verdicts = store.subscribe_verdicts();
        let hotspots = Hotspots::from_list(registry.all());
        let index = Index::from_counts(&store.verdict_counts().await?, |k| {
            hotspots.get(k).is_some()
        });
        let explorer = Arc::new(Explorer {
            hotspots: RwLock::new(Arc::new(hotspots)),
            index: RwLock::new(index),
            signal: RwLock::new(Index::default()),
            rewards: RwLock::new(Rewards::default()),
            live: broadcast::channel(4096).0,
            stop,
            store,
            registry,
            heavy: Arc::new(Semaphore::new(config.max_heavy)),
            watchers: Arc::new(Semaphore::new(config.max_watchers)),
            heavy_shares: Shares::new(config.max_heavy_per_client),
            watcher_shares: Shares::new(config.max_watchers_per_client),
            epochs: EpochCache::new(config.epoch_cache),
            report_count: Mutex::new(None),
            counting: tokio::sync::Mutex::new(()),
            bought: Cached::default(),
            routes: Cached::default(),
            config,
        });
        explorer.refresh_rewards().await?;
        Ok((explorer, verdicts))
    }

    pub(super) fn hotspots(&self) -> Arc<Hotspots> {
        self.hotspots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) async fn refresh_rewards(&self) -> Result<()> {
        let Some(latest) = self.store.last_closed_epoch().await? else {
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
        let lifetime: HashMap<String, u64> = self
            .store
            .lifetime_after(latest)
            .await?
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let total = lifetime.values().fold(0u64, |a, v| a.saturating_add(*v));
        let closed_until_ns = self.store.closed_epoch_end(latest).await?.unwrap_or(0);
        let signal = self.store.signal_counts_before(closed_until_ns).await?;
        let hotspots = self.hotspots();
        *self.signal.write().unwrap_or_else(|e| e.into_inner()) =
            Index::from_counts(&signal, |k| hotspots.get(k).is_some());
        *self.rewards.write().unwrap_or_else(|e| e.into_inner()) = Rewards {
            latest_epoch: latest,
            closed_until_ns,
            lifetime,
            total,
        };
        Ok(())
    }

    /// Final verdicts from now on.
    pub fn watch(&self) -> broadcast::Receiver<Arc<LiveVerdict>> {
        self.live.subscribe()
    }

    /// A place for a live stream, held as long as the stream is open; `Busy` when
    /// `max_watchers` are open.
    pub fn watcher_place(&self) -> Result<Place> {
        let share = self.share(&self.watcher_shares, "watchers", || {
            format!(
                "your address has {} live streams open, the most one client may; close one",
                self.config.max_watchers_per_client
            )
        })?;
        let place = self.watchers.clone().try_acquire_owned().map_err(|_| {
            metrics::counter!("hexproof_explorer_refused_total", "reason" => "watchers")
                .increment(1);
            QueryError::Busy(format!(
                "{} live streams are open, the most this explorer serves; try again later",
                self.config.max_watchers
            ))
        })?;
        metrics::gauge!("hexproof_explorer_watchers")
            .set((self.config.max_watchers - self.watchers.available_permits()) as f64);
        Ok(Place(share, place))
    }

    /// The current request's client's share of `shares`; none for a request without a client.
    fn share(
        &self,
        shares: &Arc<Shares>,
        reason: &'static str,
        refusal: impl FnOnce() -> String,
    ) -> Result<Option<Share>> {
        let Some(client) = Client::current() else {
            return Ok(None);
        };
        match shares.take(client) {
            Some(share) => Ok(Some(share)),
            None => {
                metrics::counter!("hexproof_explorer_refused_total", "reason" => reason, "scope" => "client")
                    .increment(1);
                tracing::debug!(%client, reason, "a client is over its share");
                Err(QueryError::Busy(refusal()))
            }
        }
    }

    /// A place for a request that reads the database or sums many hotspots; `Busy` when
    /// `max_heavy` are under way. Refused at once: a flood of such requests does not queue.
    fn heavy(&self) -> Result<Place> {
        let share = self.share(&self.heavy_shares, "heavy", || {
            format!(
                "your address has {} requests that read the database under way, the most one \
                 client may; wait for them",
                self.config.max_heavy_per_client
            )
        })?;
        let place = self.heavy.clone().try_acquire_owned().map_err(|_| {
            metrics::counter!("hexproof_explorer_refused_total", "reason" => "heavy").increment(1);
            QueryError::Busy(format!(
                "{} requests that read the database are under way, the most this explorer \
                 serves at once; try again shortly",
                self.config.max_heavy
            ))
        })?;
        Ok(Place(share, place))
    }

    /// A heavy place when `hotspots` is more than a page: summing a few is cheap.
    fn heavy_if_many(&self, hotspots: usize) -> Result<Option<Place>> {
        (hotspots > MAX_PAGE as usize)
            .then(|| self.heavy())
            .transpose()
    }

    /// How many hotspots the index has an entry for (registered ones with verdicts).
    pub fn indexed_hotspots(&self) -> usize {
        self.index.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// How many closed epochs are held built.
    pub fn cached_epochs(&self) -> usize {
        self.epochs.len()
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

    /// Verdict counts (live) over `keys`, with the signal of closed epochs only.
    fn summary<'a>(&self, keys: impl Iterator<Item = &'a str> + Clone) -> Summary {
        let mut s = self
            .index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .summarize(keys.clone());
        let signal = self
            .signal
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .summarize(keys);
        s.rssi_min_ddbm = signal.rssi_min_ddbm;
        s.rssi_median_ddbm = signal.rssi_median_ddbm;
        s.rssi_max_ddbm = signal.rssi_max_ddbm;
        s.snr_median_ddb = signal.snr_median_ddb;
        s
    }

    fn hotspot_view(&self, h: &HotspotInfo) -> HotspotView {
        let key = h.pubkey.to_string();
        HotspotView {
            lifetime_reward: self.lifetime(&key),
            pubkey: key,
            owner: h.owner.to_string(),
            location: h
                .location
                .map(|c| public_cell(c, self.config.public_resolution()).to_string())
                .unwrap_or_default(),
            gain_ddbi: h.gain_ddbi,
            elevation_m: h.elevation_m,
            asserted_at_ns: h.asserted_at_ns,
        }
    }

    pub fn get_hotspot(&self, key: &str) -> Result<HotspotView> {
        let key = parse_key(key)?.to_string();
        let hotspots = self.hotspots();
        let h = hotspots
            .get(&key)
            .ok_or_else(|| QueryError::NotFound(format!("hotspot {key} is not registered")))?;
        Ok(self.hotspot_view(h))
    }

    /// A page of hotspots (by key), optionally only those asserted inside `cell`.
    pub fn list_hotspots(
        &self,
        cell: &str,
        page: u32,
        token: &str,
    ) -> Result<(Vec<HotspotView>, String)> {
        let public = self.config.public_resolution();
        let cell = (!cell.is_empty())
            .then(|| parse_public_cell(cell, public))
            .transpose()?;
        let page = page_size(page)?;
        let after = (!token.is_empty())
            .then(|| parse_key(token).map_err(|_| bad("bad page_token")))
            .transpose()?;
        let hotspots = self.hotspots();
        let start = after.map_or(0, |a| hotspots.list.partition_point(|h| h.pubkey <= a));
        let mut out: Vec<HotspotView> = Vec::with_capacity(page);
        let mut next = String::new();
        for h in &hotspots.list[start..] {
            if cell.is_some_and(|c| !in_cell(h.location, c)) {
                continue;
            }
            if out.len() == page {
                next = out.last().map(|h| h.pubkey.clone()).unwrap_or_default();
                break;
            }
            out.push(self.hotspot_view(h));
        }
        Ok((out, next))
    }

    /// A hex's summary over every hotspot in it, and a page of those hotspots (by key).
    pub fn get_hex(&self, cell: &str, page: u32, token: &str) -> Result<HexView> {
        let cell = parse_public_cell(cell, self.config.public_resolution())?;
        let page = page_size(page)?;
        let after = (!token.is_empty())
            .then(|| parse_key(token).map_err(|_| bad("bad page_token")))
            .transpose()?;
        let hotspots = self.hotspots();
        let inside = hotspots.in_cell(cell);
        let _place = self.heavy_if_many(inside.len())?;
        let keys = || inside.iter().map(|&i| hotspots.keys[i].as_str());
        let s = self.summary(keys());
        let lifetime_reward = {
            let rewards = self.rewards.read().unwrap_or_else(|e| e.into_inner());
            keys()
                .map(|k| rewards.lifetime.get(k).copied().unwrap_or(0))
                .fold(0u64, u64::saturating_add)
        };
        let start = after.map_or(0, |a| {
            inside.partition_point(|&i| hotspots.list[i].pubkey <= a)
        });
        let listed: Vec<String> = inside[start..]
            .iter()
            .take(page)
            .map(|&i| hotspots.keys[i].clone())
            .collect();
        let next_page_token = if start + listed.len() < inside.len() {
            listed.last().cloned().unwrap_or_default()
        } else {
            String::new()
        };
        Ok(HexView {
            cell: cell.to_string(),
            resolution: u8::from(cell.resolution()).into(),
            hotspots: listed,
            hotspot_count: inside.len() as u64,
            next_page_token,
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

    /// A page of the occupied cells at `resolution` (in cell order) with each one's summary,
    /// hotspot count and lifetime reward: what the map draws; and the next page's token.
    /// Copies bought from each hotspot, counted at most once per `stats_ttl_ms` (a scan of the
    /// receipts in a heavy place; while it is read, or every heavy place is taken, the last
    /// count; busy before the first).
    pub async fn bought_by_hotspot(&self) -> Result<Arc<HashMap<String, crate::store::Carried>>> {
        let ttl = Duration::from_millis(self.config.stats_ttl_ms);
        self.bought
            .get(ttl, || self.heavy(), || self.store.bought_by_hotspot())
            .await
    }

    pub fn hexes(
        &self,
        resolution: u8,
        page: u32,
        token: &str,
        bought: &HashMap<String, crate::store::Carried>,
    ) -> Result<(Vec<CellSummary>, String)> {
        let res = Resolution::try_from(resolution)
            .map_err(|_| bad(format!("resolution {resolution} is not 0..=15")))?;
        if res > self.config.public_resolution() {
            return Err(bad(format!(
                "resolution {resolution} is finer than the public resolution {}",
                u8::from(self.config.public_resolution())
            )));
        }
        let page = page_size(page)?;
        let after = (!token.is_empty())
            .then(|| parse_public_cell(token, res).map_err(|_| bad("bad page_token")))
            .transpose()?;
        let hotspots = self.hotspots();
        let cells = hotspots.cells(res);
        let start = after.map_or(0, |a| cells.partition_point(|c| *c <= a));
        let cells = &cells[start..cells.len().min(start + page)];
        let _place = self.heavy_if_many(cells.iter().map(|c| hotspots.in_cell(*c).len()).sum())?;
        let out: Vec<_> = cells
            .iter()
            .map(|&cell| {
                let inside = hotspots.in_cell(cell);
                let keys = || inside.iter().map(|&i| hotspots.keys[i].as_str());
                let reward = keys()
                    .map(|k| self.lifetime(k))
                    .fold(0u64, u64::saturating_add);
                let packets = keys().filter_map(|k| bought.get(k)).fold(
                    crate::store::Carried::default(),
                    |a, c| crate::store::Carried {
                        copies: a.copies.saturating_add(c.copies),
                        dc: a.dc.saturating_add(c.dc),
                    },
                );
                (cell, self.summary(keys()), inside.len(), reward, packets)
            })
            .collect();
        let next = if start + out.len() < hotspots.cells(res).len() {
            out.last().map(|c| c.0.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok((out, next))
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
        let _place = self.heavy()?;
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
        // The signal a report measured is served once its epoch has closed (live, it would
        // let a copier forge receptions matching an honest hotspot's).
        let closed_until = self
            .rewards
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .closed_until_ns;
        for r in &mut reports {
            // The rule's own words state distances and signal to the metre and the dB: the
            // public gets the code's explanation instead, always.
            r.detail = None;
            if r.timestamp_ns >= closed_until {
                r.rssi_ddbm = None;
                r.snr_ddb = None;
                r.frequency_hz = None;
            }
        }
        Ok((reports, next))
    }

    /// The number of the newest closed epoch when `n` is 0, else `n`.
    async fn epoch_number(&self, n: u64) -> Result<u64> {
        if n != 0 {
            return Ok(n);
        }
        self.store
            .last_closed_epoch()
            .await?
            .ok_or_else(|| QueryError::NotFound("no epoch closed yet".into()))
    }

    /// Closed epoch `n` (0: the newest), built, from the cache or read once.
    async fn closed_epoch(&self, n: u64) -> Result<Arc<BuiltEpoch>> {
        let n = self.epoch_number(n).await?;
        self.epochs
            .get(n, self.store.closed_epoch(n))
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("epoch {n} is not closed")))
    }

    /// A closed epoch's header (0: the newest), with its signatures: the oracle set's when it
    /// was agreed by several, else this oracle's own.
    pub async fn get_epoch(&self, n: u64) -> Result<EpochView> {
        let _place = self.heavy()?;
        let built = self.closed_epoch(n).await?;
        let e = &built.epoch;
        // Signatures may still be added after closing (an oracle set's): read each time.
        let quorum = self.store.epoch_quorum(e.epoch).await?;
        let signatures = if quorum.signatures.is_empty() {
            vec![(e.oracle.to_bytes(), e.signature)]
        } else {
            quorum
                .signatures
                .iter()
                .map(|(k, s)| (k.to_bytes(), *s))
                .collect()
        };
        Ok(EpochView {
            epoch: e.epoch,
            start_ns: e.start_ns,
            end_ns: e.end_ns,
            merkle_root: e.root,
            lifetime_total: e.lifetime_total,
            paid: e.paid,
            dust: e.dust,
            hotspot_count: e.rows.len() as u32,
            signatures,
            data_pool: e.data_pool,
            data_paid: e.data_paid,
            remint: e.remint,
            orgs: e.orgs.clone(),
        })
    }

    pub async fn get_rewards(&self, hotspot: &str) -> Result<RewardsView> {
        let key = parse_key(hotspot)?;
        let _place = self.heavy()?;
        let rows = self.store.hotspot_epochs(&key).await?;
        let key = key.to_string();
        if rows.is_empty() && self.hotspots().get(&key).is_none() {
            return Err(QueryError::NotFound(format!(
                "hotspot {key} is not registered and has no rewards"
            )));
        }
        Ok(RewardsView {
            hotspot: key,
            lifetime: rows.last().map_or(0, |r| r.lifetime),
            epochs: rows
                .iter()
                .map(|r| EpochRewardView {
                    epoch: r.epoch,
                    beacon: r.beacon,
                    witness: r.witness,
                    data: r.data,
                    dc: r.dc,
                })
                .collect(),
        })
    }

    /// What detection found: for one hotspot (`hotspot` not empty), one epoch (`epoch` not 0),
    /// or both; newest epoch first, at most `page_size` (default and cap as for reports).
    pub async fn list_findings(
        &self,
        hotspot: &str,
        epoch: u64,
        page_size: u32,
    ) -> Result<Vec<crate::store::findings::EpochFinding>> {
        let key = if hotspot.is_empty() {
            None
        } else {
            Some(parse_key(hotspot)?)
        };
        let epoch = (epoch > 0).then_some(epoch);
        let _place = self.heavy()?;
        Ok(self
            .store
            .findings(epoch, key.as_ref(), super::page_size(page_size)? as u32)
            .await?)
    }

    /// `hotspot`'s packets: reports the router took from it, copies bought and delivered (a
    /// registered hotspot only; one indexed count).
    pub async fn hotspot_packets(&self, hotspot: &str) -> Result<crate::store::HotspotPackets> {
        let key = parse_key(hotspot)?.to_string();
        if self.hotspots().get(&key).is_none() {
            return Err(QueryError::NotFound(format!(
                "hotspot {key} is not registered"
            )));
        }
        let _place = self.heavy()?;
        Ok(self.store.hotspot_packets(&key).await?)
    }

    /// Every org's data credits: as the router last read them from the chain (bought, burned,
    /// balance, settled) and charged by this oracle's receipts, by OUI.
    pub async fn org_credits(&self) -> Result<Vec<(crate::store::OrgCredits, u64)>> {
        let _place = self.heavy()?;
        let on_chain = self.store.org_credits().await?;
        let charged = self.store.charges_by_org().await?;
        let mut out: std::collections::BTreeMap<u64, (crate::store::OrgCredits, u64)> =
            on_chain.into_iter().map(|o| (o.oui, (o, 0))).collect();
        for (oui, dc) in charged {
            out.entry(oui)
                .or_insert_with(|| {
                    (
                        crate::store::OrgCredits {
                            oui,
                            ..Default::default()
                        },
                        0,
                    )
                })
                .1 = dc;
        }
        Ok(out.into_values().collect())
    }

    /// Every route's packets: distinct packets bought, copies bought and delivered (a scan of
    /// the receipts in a heavy place, at most once per `stats_ttl_ms`; while it is read, or
    /// every heavy place is taken, the last answer; busy before the first).
    pub async fn route_packets(&self) -> Result<Arc<Vec<crate::store::RoutePackets>>> {
        let ttl = Duration::from_millis(self.config.stats_ttl_ms);
        self.routes
            .get(ttl, || self.heavy(), || self.store.route_packets())
            .await
    }

    /// What a claim needs: `hotspot`'s lifetime amount after epoch `n` (0: the newest) and
    /// its proof against the epoch's root. A key without a row in the epoch is answered with one
    /// primary-key lookup, without reading the epoch.
    pub async fn get_reward_proof(&self, hotspot: &str, n: u64) -> Result<ProofView> {
        let key = parse_key(hotspot)?;
        let _place = self.heavy()?;
        let n = self.epoch_number(n).await?;
        let no_reward = || QueryError::NotFound(format!("{key} has no reward in closed epoch {n}"));
        let built = match self.epochs.cached(n) {
            Some(built) => built,
            None if !self.store.has_reward(n, &key).await? => return Err(no_reward()),
            None => self.closed_epoch(n).await?,
        };
        let e = &built.epoch;
        let (i, siblings) = built.proof(&key).ok_or_else(no_reward)?;
        Ok(ProofView {
            hotspot: key.to_string(),
            epoch: e.epoch,
            lifetime_amount: e.rows[i].lifetime,
            merkle_root: e.root,
            siblings,
            leaf_index: i as u64,
        })
    }

    /// The number of stored reports, counted at most once per `stats_ttl_ms`; while one
    /// request counts, others take the previous count.
    async fn report_count(&self) -> Result<u64> {
        let ttl = Duration::from_millis(self.config.stats_ttl_ms);
        let cached = || *self.report_count.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = |c: Option<(Instant, u64)>| c.filter(|(at, _)| at.elapsed() < ttl);
        if let Some((_, n)) = fresh(cached()) {
            return Ok(n);
        }
        let _counting = match (self.counting.try_lock(), cached()) {
            (Ok(guard), _) => guard,
            (Err(_), Some((_, stale))) => return Ok(stale),
            (Err(_), None) => self.counting.lock().await,
        };
        if let Some((_, n)) = fresh(cached()) {
            return Ok(n);
        }
        let _place = match self.heavy() {
            Ok(place) => place,
            Err(busy) => return cached().map(|(_, n)| n).ok_or(busy),
        };
        let n = self.store.count_reports().await?;
        *self.report_count.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), n));
        Ok(n)
    }

    pub async fn network_stats(&self) -> Result<NetworkView> {
        let reports = self.report_count().await?;
        let hotspots = self.hotspots();
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        let (valid_beacons, valid_witnesses, invalid_reports) = index.totals();
        let rewards = self.rewards.read().unwrap_or_else(|e| e.into_inner());
        Ok(NetworkView {
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
            invalid_by_reason: index.invalid_by_reason().clone(),
        })
    }
}

/// A value read from the store at most once per TTL by one request at a time; the others take
/// the last value (an empty one before the first read): never a queue of scans.
#[derive(Debug, Default)]
struct Cached<T> {
    value: Mutex<Option<(Instant, Arc<T>)>>,
    reading: tokio::sync::Mutex<()>,
}

impl<T: Default> Cached<T> {
    async fn get<F>(
        &self,
        ttl: Duration,
        place: impl FnOnce() -> Result<Place>,
        read: impl FnOnce() -> F,
    ) -> Result<Arc<T>>
    where
        F: std::future::Future<Output = std::result::Result<T, crate::store::StoreError>>,
    {
        let last = || {
            self.value
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map(|(at, v)| (*at, v.clone()))
        };
        // The last value, if there is one; before the first read, busy.
        let stale = |busy: QueryError| last().map(|(_, v)| v).ok_or(busy);
        if let Some((at, v)) = last()
            && at.elapsed() < ttl
        {
            return Ok(v);
        }
        let Ok(_reading) = self.reading.try_lock() else {
            return stale(QueryError::Busy(
                "another request is counting; try again".into(),
            ));
        };
        let _place = match place() {
            Ok(place) => place,
            Err(busy) => return stale(busy),
        };
        match read().await {
            Ok(v) => {
                let v = Arc::new(v);
                *self.value.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((Instant::now(), v.clone()));
                Ok(v)
            }
            Err(e) => stale(e.into()),
        }
    }
}
