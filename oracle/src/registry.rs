//! Who each hotspot is: key, owner, asserted location, antenna, region. The validator asks a
//! [`Registry`]; where the answers come from is the implementation's business: a registry file
//! in the fixtures format here, the on-chain registry where configured.

use std::{collections::HashMap, path::Path};

use anyhow::Context;
use h3o::CellIndex;
use hexproof_fixtures::Network;
use hexproof_proto::{PublicKey, region::RegionPlan};

use crate::validation::HotspotInfo;

pub trait Registry: Send + Sync + std::fmt::Debug {
    fn get(&self, key: &PublicKey) -> Option<HotspotInfo>;
    fn all(&self) -> Vec<HotspotInfo>;
}

/// A fixed registry (a fixtures network file).
#[derive(Debug, Clone, Default)]
pub struct StaticRegistry {
    hotspots: HashMap<PublicKey, HotspotInfo>,
}

impl StaticRegistry {
    pub fn new(hotspots: impl IntoIterator<Item = HotspotInfo>) -> Self {
        StaticRegistry {
            hotspots: hotspots.into_iter().map(|h| (h.pubkey, h)).collect(),
        }
    }

    /// The hotspots of a fixture network, their locations asserted at `asserted_at_ns`.
    pub fn from_network(network: &Network, asserted_at_ns: u64) -> anyhow::Result<Self> {
        let hotspots = network
            .hotspots
            .iter()
            .map(|h| {
                let location: CellIndex = h.asserted_location.parse().with_context(|| {
                    format!("hotspot {}: bad cell {}", h.name, h.asserted_location)
                })?;
                let region = RegionPlan::by_name(&h.region)
                    .with_context(|| format!("hotspot {}: unknown region {}", h.name, h.region))?;
                Ok(HotspotInfo {
                    pubkey: h.key.pubkey,
                    owner: h.owner,
                    location: Some(location),
                    gain_ddbi: h.gain_ddbi,
                    elevation_m: h.elevation_m,
                    asserted_at_ns,
                    region,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self::new(hotspots))
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        Self::from_network(&Network::load(path)?, 0)
    }
}

impl Registry for StaticRegistry {
    fn get(&self, key: &PublicKey) -> Option<HotspotInfo> {
        self.hotspots.get(key).cloned()
    }

    fn all(&self) -> Vec<HotspotInfo> {
        let mut all: Vec<_> = self.hotspots.values().cloned().collect();
        all.sort_by_key(|h| h.pubkey);
        all
    }
}
