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
use hexproof_poc::{HotspotInfo, Placed};
use hexproof_proto::{PublicKey, clock::Clock, location::Placement, region::RegionPlan};
use tokio_util::sync::CancellationToken;

use super::Registry;

/// The on-chain hotspot registry, held in memory and re-read by [`ChainRegistry::refresh`].
#[derive(Debug)]
pub struct ChainRegistry {
    hotspots: RwLock<HashMap<PublicKey, HotspotInfo>>,
    region: Option<&'static RegionPlan>,
    clock: Clock,
}

/// Network time (ns) of a cluster timestamp (seconds): the same clock mapping the oracle runs
/// on (an accelerated simulation's network time is `origin + (wall − origin) × speed`).
pub fn network_ns_of(cluster_ts: i64, clock: &Clock) -> u64 {
    let wall = u64::try_from(cluster_ts)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000);
    let origin = clock.origin_ns();
    let speed = u64::from(clock.speed());
    if wall >= origin {
        origin.saturating_add((wall - origin).saturating_mul(speed))
    } else {
        origin.saturating_sub((origin - wall).saturating_mul(speed))
    }
}

impl ChainRegistry {
    /// `region`: one plan for every hotspot, or by location when `None`; `clock`: the
    /// oracle's, which dates each assertion from the cluster time the program recorded.
    pub fn new(region: Option<&str>, clock: Clock) -> anyhow::Result<Self> {
        let region = match region {
            Some(name) => Some(
                RegionPlan::by_name(name).with_context(|| format!("unknown region plan {name}"))?,
            ),
            None => None,
        };
        Ok(ChainRegistry {
            hotspots: RwLock::new(HashMap::new()),
            region,
            clock,
        })
    }

    /// Re-reads every hotspot record. Returns how many hotspots are registered. Records that
    /// do not decode are skipped. Each assertion is dated by the cluster time the program
    /// recorded with it, so every oracle of a set dates it the same.
    pub async fn refresh(&self, chain: &Chain) -> anyhow::Result<usize> {
        let records = read::hotspots(chain).await?;
        let mut fresh = HashMap::with_capacity(records.len());
        for h in records {
            // The chain holds the resolution-8 cell and a commitment to the exact one, which
            // the hotspot's own reports reveal (judging opens it: `HotspotInfo::located`).
            let Some(public_cell) = CellIndex::try_from(h.location)
                .ok()
                .filter(|c| c.resolution() == hexproof_proto::location::PUBLIC_RESOLUTION)
            else {
                tracing::warn!(hotspot = %h.hotspot, location = h.location, "registered location is not a resolution-8 cell; skipped");
                continue;
            };
            let key = PublicKey::from(h.hotspot.to_bytes());
            fresh.insert(
                key,
                HotspotInfo {
                    pubkey: key,
                    owner: PublicKey::from(h.owner.to_bytes()),
                    location: None,
                    gain_ddbi: h.gain_ddbi,
                    elevation_m: h.elevation_m,
                    asserted_at_ns: network_ns_of(h.asserted_at_ts, &self.clock),
                    region: self.region.unwrap_or_else(|| {
                        let at = h3o::LatLng::from(public_cell);
                        RegionPlan::for_location(at.lat(), at.lng())
                    }),
                    placement: Some(Placed {
                        current: Placement {
                            public_cell,
                            commitment: h.location_commitment,
                        },
                        // Zeros before a second assertion.
                        previous: CellIndex::try_from(h.previous_location)
                            .ok()
                            .filter(|_| h.previous_location_commitment != [0; 32])
                            .map(|cell| Placement {
                                public_cell: cell,
                                commitment: h.previous_location_commitment,
                            }),
                    }),
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
        every: Duration,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
            if let Err(e) = self.refresh(&chain).await {
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
            .cloned()
    }

    fn all(&self) -> Vec<HotspotInfo> {
        let mut all: Vec<_> = self
            .hotspots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by_key(|h| h.pubkey);
        all
    }
}
