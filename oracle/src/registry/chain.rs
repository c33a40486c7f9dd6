//! The on-chain hotspot registry as a [`Registry`]: every hotspot record of the program, read
//! through a [`hexproof_client::Chain`] and re-read on a schedule.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::Context;
use h3o::CellIndex;
use hexproof_client::{Chain, read};
use hexproof_poc::HotspotInfo;
use hexproof_proto::{PublicKey, region::RegionPlan};
use tokio_util::sync::CancellationToken;

use super::Registry;

/// The on-chain hotspot registry, held in memory and re-read by [`ChainRegistry::refresh`].
#[derive(Debug)]
pub struct ChainRegistry {
    hotspots: RwLock<HashMap<PublicKey, Registered>>,
    region: Option<&'static RegionPlan>,
}

#[derive(Debug, Clone)]
struct Registered {
    asserted_at_slot: u64,
    info: HotspotInfo,
}

/// Slot length the assertion times are estimated with (Solana's target).
const SLOT_NS: u64 = 400_000_000;

impl ChainRegistry {
    /// `region`: one plan for every hotspot, or by location when `None`.
    pub fn new(region: Option<&str>) -> anyhow::Result<Self> {
        let region = match region {
            Some(name) => Some(
                RegionPlan::by_name(name).with_context(|| format!("unknown region plan {name}"))?,
            ),
            None => None,
        };
        Ok(ChainRegistry {
            hotspots: RwLock::new(HashMap::new()),
            region,
        })
    }

    /// Re-reads every hotspot record; `now_ns` dates the assertions (slots back from now).
    /// Returns how many hotspots are registered. Records that do not decode are skipped.
    pub async fn refresh(&self, chain: &Chain, now_ns: u64) -> anyhow::Result<usize> {
        let slot = chain.slot().await?;
        let records = read::hotspots(chain).await?;
        let mut fresh = HashMap::with_capacity(records.len());
        for h in records {
            let Ok(location) = CellIndex::try_from(h.location) else {
                tracing::warn!(hotspot = %h.hotspot, location = h.location, "registered location is not a cell; skipped");
                continue;
            };
            let key = PublicKey::from(h.hotspot.to_bytes());
            // Date an assertion once, when first seen at its slot: later refreshes keep the
            // date (re-deriving it from "now" would move it whenever the clocks differ, e.g.
            // a simulation's accelerated clock against real slots).
            let known = self
                .hotspots
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .filter(|old| old.asserted_at_slot == h.asserted_at_slot)
                .map(|old| old.info.asserted_at_ns);
            let age_ns = slot
                .saturating_sub(h.asserted_at_slot)
                .saturating_mul(SLOT_NS);
            fresh.insert(
                key,
                Registered {
                    asserted_at_slot: h.asserted_at_slot,
                    info: HotspotInfo {
                        pubkey: key,
                        owner: PublicKey::from(h.owner.to_bytes()),
                        location: Some(location),
                        gain_ddbi: h.gain_ddbi,
                        elevation_m: h.elevation_m,
                        asserted_at_ns: known.unwrap_or_else(|| now_ns.saturating_sub(age_ns)),
                        region: self.region.unwrap_or_else(|| {
                            let at = h3o::LatLng::from(location);
                            RegionPlan::for_location(at.lat(), at.lng())
                        }),
                    },
                },
            );
        }
        let n = fresh.len();
        *self.hotspots.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        metrics::gauge!("hexproof_registry_hotspots").set(n as f64);
        Ok(n)
    }

    /// Refreshes every `every` until `shutdown`.
    pub async fn keep_fresh(
        self: Arc<Self>,
        chain: Arc<Chain>,
        clock: hexproof_proto::clock::Clock,
        every: Duration,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
            if let Err(e) = self.refresh(&chain, clock.now_ns()).await {
                tracing::warn!(error = %e, "reading the chain registry; keeping the last one");
            }
        }
    }
}

impl Registry for ChainRegistry {
    fn get(&self, key: &PublicKey) -> Option<HotspotInfo> {
        self.hotspots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .map(|r| r.info.clone())
    }

    fn all(&self) -> Vec<HotspotInfo> {
        let mut all: Vec<_> = self
            .hotspots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|r| r.info.clone())
            .collect();
        all.sort_by_key(|h| h.pubkey);
        all
    }
}
