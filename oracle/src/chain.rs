//! The oracle and the Solana program: the chain side of each closed epoch (submit the signed
//! root, claim for owners as a relayer) and the program's initialization. Everything goes
//! through a [`hexproof_client::Chain`]: an RPC URL (or, in demos and tests, the embedded
//! runtime). The on-chain hotspot registry is [`crate::registry::chain`].

use std::path::PathBuf;

use anyhow::Context;
use hexproof_client::{Chain, Pubkey, Signer, instructions, read};
use hexproof_poc::rewards::{RewardConfig, epoch::ClosedEpoch};
use hexproof_proto::{Keypair, PublicKey};
use serde::{Deserialize, Serialize};

/// `[chain]` in the oracle's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainConfig {
    /// JSON-RPC URL of a cluster where the program is deployed; no chain when absent.
    pub rpc_url: Option<String>,
    /// Pays transaction fees (submissions, relayed claims); the oracle key when absent.
    pub payer: Option<PathBuf>,
    /// Read the hotspot registry from the chain instead of the `registry_file`.
    pub read_registry: bool,
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
            read_registry: true,
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

/// Creates the program's configuration and mint with the emission schedule of `rewards`.
pub async fn initialize(
    chain: &Chain,
    admin: &hexproof_client::Keypair,
    oracles: &[PublicKey],
    threshold: u8,
    rewards: &RewardConfig,
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
