//! Who each hotspot is: key, owner, asserted location, antenna, region. Judging asks a
//! [`Registry`]; where the answers come from is the implementation's business: an operator's
//! registry file ([`StaticRegistry`], the public-facts format of
//! [`hexproof_proto::registry`]), or the on-chain registry ([`chain::ChainRegistry`]).

pub mod chain;

use std::{collections::HashMap, path::Path};

use anyhow::Context;
use h3o::CellIndex;
use hexproof_poc::HotspotInfo;
use hexproof_proto::{
    PublicKey,
    region::RegionPlan,
    registry::{RegistryEntry, RegistryFile},
};

pub trait Registry: Send + Sync + std::fmt::Debug {
    fn get(&self, key: &PublicKey) -> Option<HotspotInfo>;
    /// Every registered hotspot, sorted by key.
    fn all(&self) -> Vec<HotspotInfo>;
    /// Whether `key` is a registered hotspot (now: a refreshed registry answers for its newest
    /// contents).
    fn contains(&self, key: &PublicKey) -> bool {
        self.get(key).is_some()
    }
}

/// A fixed registry (an operator's registry file).
#[derive(Debug, Clone, Default)]
pub struct StaticRegistry {
    hotspots: HashMap<PublicKey, HotspotInfo>,
}

/// A registry entry as the rules see it.
pub fn hotspot_info(e: &RegistryEntry) -> anyhow::Result<HotspotInfo> {
    let location: CellIndex = e
        .location
        .parse()
        .with_context(|| format!("hotspot {}: bad cell {}", e.pubkey, e.location))?;
    let region = RegionPlan::by_name(&e.region)
        .with_context(|| format!("hotspot {}: unknown region {}", e.pubkey, e.region))?;
    Ok(HotspotInfo {
        pubkey: e.pubkey,
        owner: e.owner,
        location: Some(location),
        gain_ddbi: e.gain_ddbi,
        elevation_m: e.elevation_m,
        asserted_at_ns: e.asserted_at_ns,
        region,
        placement: None,
    })
}

impl StaticRegistry {
    pub fn new(hotspots: impl IntoIterator<Item = HotspotInfo>) -> Self {
        StaticRegistry {
            hotspots: hotspots.into_iter().map(|h| (h.pubkey, h)).collect(),
        }
    }

    pub fn from_file(file: &RegistryFile) -> anyhow::Result<Self> {
        let hotspots = file
            .hotspots
            .iter()
            .map(hotspot_info)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self::new(hotspots))
    }

    /// Reads a registry file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        Self::from_file(&RegistryFile::load(path)?)
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
