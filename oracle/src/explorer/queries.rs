//! The explorer's state and its queries: everything an API asks, answered from the in-memory
//! index and hotspot index where it can, from the store where it must.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use h3o::{CellIndex, Resolution};
use hexproof_poc::HotspotInfo;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{
    LiveVerdict, QueryError, Result, bad,
    hotspots::{Hotspots, in_cell},
    index::{Index, Summary},
    page_size, parse_cell, parse_key,
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
    pub(super) rewards: RwLock<Rewards>,
    pub(super) live: broadcast::Sender<Arc<LiveVerdict>>,
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
            hotspots: RwLock::new(Arc::new(Hotspots::from_list(registry.all()))),
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
        *self.rewards.write().unwrap_or_else(|e| e.into_inner()) = Rewards {
            latest_epoch: latest,
            lifetime,
            total,
        };
        Ok(())
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

    fn hotspot_view(&self, h: &HotspotInfo) -> HotspotView {
        let key = h.pubkey.to_string();
        HotspotView {
            lifetime_reward: self.lifetime(&key),
            pubkey: key,
            owner: h.owner.to_string(),
            location: h.location.map(|c| c.to_string()).unwrap_or_default(),
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
        let cell = (!cell.is_empty()).then(|| parse_cell(cell)).transpose()?;
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

    pub fn get_hex(&self, cell: &str) -> Result<HexView> {
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
        Ok(HexView {
            cell: cell.to_string(),
            resolution: u8::from(cell.resolution()).into(),
            hotspots: keys.into_iter().map(str::to_string).collect(),
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

    /// Every occupied cell at `resolution` with its summary, hotspot count and lifetime reward:
    /// what the map draws.
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

    async fn closed_epoch(&self, n: u64) -> Result<hexproof_poc::rewards::epoch::ClosedEpoch> {
        let n = self.epoch_number(n).await?;
        self.store
            .closed_epoch(n)
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("epoch {n} is not closed")))
    }

    /// A closed epoch's header (0: the newest), with its signatures: the oracle set's when it
    /// was agreed by several, else this oracle's own.
    pub async fn get_epoch(&self, n: u64) -> Result<EpochView> {
        let e = self.closed_epoch(n).await?;
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
        })
    }

    pub async fn get_rewards(&self, hotspot: &str) -> Result<RewardsView> {
        let key = parse_key(hotspot)?;
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
        Ok(self
            .store
            .findings(epoch, key.as_ref(), super::page_size(page_size)? as u32)
            .await?)
    }

    pub async fn get_reward_proof(&self, hotspot: &str, n: u64) -> Result<ProofView> {
        let key = parse_key(hotspot)?;
        let e = self.closed_epoch(n).await?;
        let i = e
            .rows
            .iter()
            .position(|r| r.hotspot == key)
            .ok_or_else(|| {
                QueryError::NotFound(format!("{key} has no reward in epoch {}", e.epoch))
            })?;
        let siblings = e
            .tree()
            .proof(i)
            .ok_or_else(|| QueryError::NotFound("no proof".into()))?;
        Ok(ProofView {
            hotspot: key.to_string(),
            epoch: e.epoch,
            lifetime_amount: e.rows[i].lifetime,
            merkle_root: e.root,
            siblings,
            leaf_index: i as u64,
        })
    }

    pub async fn network_stats(&self) -> Result<NetworkView> {
        let reports = self.store.count_reports().await?;
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
