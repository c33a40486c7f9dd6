//! The oracle and the Solana program: the on-chain hotspot registry as a [`Registry`], and the
//! chain side of each closed epoch (submit the signed root, claim for owners as a relayer).
//! Everything goes through a [`hexproof_client::Chain`]: an RPC URL or the embedded runtime.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::Context;
use h3o::CellIndex;
use hexproof_client::{Chain, Pubkey, Signer, instructions, read};
use hexproof_fixtures::Network;
use hexproof_proto::{Keypair, PublicKey, region::RegionPlan};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::{registry::Registry, rewards::epoch::ClosedEpoch, validation::HotspotInfo};

/// `[chain]` in the oracle's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainConfig {
    /// JSON-RPC URL of a cluster where the program is deployed; no chain when absent.
    pub rpc_url: Option<String>,
    /// Pays transaction fees (submissions, relayed claims); the oracle key when absent.
    pub payer: Option<PathBuf>,
    /// Read the hotspot registry from the chain instead of the `registry` file.
    pub registry: bool,
    /// Region plan of every hotspot read from the chain; by asserted location when absent
    /// (the program stores no region).
    pub region: Option<String>,
    /// How often the chain registry is re-read, seconds.
    pub refresh_secs: u64,
    /// Submit each closed epoch (needs a threshold of 1, or the other oracles' signatures).
    pub submit: bool,
    /// Claim for every owner after each submitted epoch (the oracle pays the fees).
    pub claim: bool,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            rpc_url: None,
            payer: None,
            registry: true,
            region: None,
            refresh_secs: 30,
            submit: true,
            claim: false,
        }
    }
}

/// A Solana keypair from one of ours (the same ed25519 secret).
pub fn solana_keypair(key: &Keypair) -> hexproof_client::Keypair {
    hexproof_client::Keypair::new_from_array(key.secret())
}

pub fn pubkey(key: &PublicKey) -> Pubkey {
    Pubkey::new_from_array(key.to_bytes())
}

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

/// Creates the program's configuration and mint with the emission schedule of `rewards`.
pub async fn initialize(
    chain: &Chain,
    admin: &hexproof_client::Keypair,
    oracles: &[PublicKey],
    threshold: u8,
    rewards: &crate::rewards::RewardConfig,
) -> anyhow::Result<()> {
    let ix = instructions::initialize(
        &admin.pubkey(),
        oracles.iter().map(pubkey).collect(),
        threshold,
        rewards.initial_emission,
        rewards.halving_interval,
    );
    chain
        .send(&[ix], admin, &[])
        .await
        .context("initializing the program")?;
    Ok(())
}

/// Onboards every hotspot of a fixture network that is not registered yet (owners pay; each
/// owner is funded with `fund_lamports` first when non-zero). Returns how many were added.
pub async fn onboard_network(
    chain: &Chain,
    network: &Network,
    fund_lamports: u64,
) -> anyhow::Result<usize> {
    if fund_lamports > 0 {
        for owner in &network.owners {
            chain.fund(&pubkey(&owner.pubkey), fund_lamports).await?;
        }
    }
    let mut added = 0;
    for h in &network.hotspots {
        let key = pubkey(&h.key.pubkey);
        if read::hotspot(chain, &key).await?.is_some() {
            continue;
        }
        let owner = network
            .owners
            .iter()
            .find(|o| o.pubkey == h.owner)
            .with_context(|| format!("owner of {} is not in the network file", h.name))?;
        let location: CellIndex = h.asserted_location.parse()?;
        let hotspot_key = solana_keypair(&h.key.keypair()?);
        let owner_key = solana_keypair(&owner.keypair()?);
        let ix = instructions::onboard_hotspot(
            &key,
            &owner_key.pubkey(),
            u64::from(location),
            h.gain_ddbi,
            h.elevation_m,
        );
        chain
            .send(&[ix], &owner_key, &[&hotspot_key])
            .await
            .with_context(|| format!("onboarding {}", h.name))?;
        added += 1;
    }
    Ok(added)
}

/// Submits a closed epoch with its own signature and any `others` (oracle key, signature).
pub async fn submit_epoch(
    chain: &Chain,
    payer: &hexproof_client::Keypair,
    epoch: &ClosedEpoch,
    others: &[(PublicKey, [u8; 64])],
) -> anyhow::Result<String> {
    let mut signatures = vec![(pubkey(&epoch.oracle), epoch.signature)];
    signatures.extend(others.iter().map(|(k, s)| (pubkey(k), *s)));
    let ixs = instructions::submit_epoch(
        &payer.pubkey(),
        epoch.epoch,
        epoch.root,
        epoch.lifetime_total,
        &signatures,
    );
    let signature = chain
        .send(&ixs, payer, &[])
        .await
        .with_context(|| format!("submitting epoch {}", epoch.epoch))?;
    metrics::counter!("hexproof_epochs_submitted_total").increment(1);
    Ok(signature.to_string())
}

/// What [`claim_all`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Claims {
    pub claims: u64,
    pub minted: u64,
    pub failed: u64,
}

/// Claims, for every hotspot of `epoch` with more lifetime reward than it was paid, the
/// difference to its registered owner. The epoch must be the newest one on chain.
pub async fn claim_all(
    chain: &Chain,
    payer: &hexproof_client::Keypair,
    epoch: &ClosedEpoch,
) -> anyhow::Result<Claims> {
    let tree = epoch.tree();
    let mut done = Claims::default();
    for (i, row) in epoch.rows.iter().enumerate() {
        let key = pubkey(&row.hotspot);
        let claimed = read::claimed(chain, &key).await?;
        if row.lifetime <= claimed {
            continue;
        }
        let Some(record) = read::hotspot(chain, &key).await? else {
            continue; // decommissioned: its owner re-onboards to claim
        };
        let proof = tree
            .proof(i)
            .with_context(|| format!("no proof for leaf {i}"))?;
        let ix = instructions::claim(&payer.pubkey(), &key, &record.owner, row.lifetime, proof);
        match chain.send(&[ix], payer, &[]).await {
            Ok(_) => {
                done.claims += 1;
                done.minted += row.lifetime - claimed;
            }
            Err(e) => {
                done.failed += 1;
                tracing::warn!(hotspot = %row.hotspot, error = %e, "claim failed");
            }
        }
    }
    metrics::counter!("hexproof_claims_total").increment(done.claims);
    Ok(done)
}
