//! The oracle and the Solana program: the chain side of each closed epoch (submit the signed
//! root, claim for owners as a relayer) and the program's initialization. Everything goes
//! through a [`hexproof_client::Chain`]: an RPC URL (or, in demos and tests, the embedded
//! runtime). The on-chain hotspot registry is [`crate::registry::chain`].

use std::path::PathBuf;

use anyhow::Context;
use hexproof_client::{
    Chain, HexproofError, Pubkey, Signer,
    instructions::{self, AntennaBounds, InitializeArgs},
    read,
};
use hexproof_poc::{
    Limits,
    rewards::{RewardConfig, epoch::ClosedEpoch},
};
use hexproof_proto::{Keypair, PublicKey};
use serde::{Deserialize, Serialize};

use crate::config::ClockConfig;

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
    /// Compute-unit price every transaction offers, micro-lamports per CU (a priority fee;
    /// 0: none). At the default a transaction costs about 200 lamports more.
    pub priority_fee: u64,
}

/// The default priority fee, micro-lamports per compute unit.
pub const DEFAULT_PRIORITY_FEE: u64 = 1_000;

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
            priority_fee: DEFAULT_PRIORITY_FEE,
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

/// The deployment parameters `initialize` takes, for an oracle set and threshold, from the
/// oracle's reward settings and clock: the emission schedule; epochs on the cluster clock (a
/// simulation's accelerated epochs mapped back to wall time); a day's delay for admin
/// changes; a mint window of one epoch holding twice an epoch's emission; antenna bounds of
/// 0–15 dBi and 0–1,000 m (what the oracle's limits accept too); an onboarding fee of
/// [`DEFAULT_ONBOARDING_FEE`].
pub fn init_args(
    oracles: &[PublicKey],
    threshold: u8,
    rewards: &RewardConfig,
    clock: &ClockConfig,
    limits: &Limits,
) -> InitializeArgs {
    let (genesis_ts, epoch_secs) = cluster_epochs(rewards, clock);
    InitializeArgs {
        oracles: oracles.iter().map(pubkey).collect(),
        threshold,
        initial_emission: rewards.initial_emission,
        halving_interval: rewards.halving_interval.max(1),
        genesis_ts,
        epoch_secs,
        deployment: rewards.deployment.0,
        change_delay_secs: 86_400,
        mint_window_secs: epoch_secs,
        mint_window_limit: rewards.initial_emission.saturating_mul(2),
        antenna: AntennaBounds {
            min_gain_ddbi: limits.min_gain_ddbi,
            max_gain_ddbi: limits.max_gain_ddbi,
            min_elevation_m: limits.min_elevation_m,
            max_elevation_m: limits.max_elevation_m,
        },
        onboarding_fee: DEFAULT_ONBOARDING_FEE,
        dc_per_token: rewards.dc_per_token,
    }
}

/// What onboarding a key costs by default, lamports (0.25 SOL, paid into the program's
/// treasury): Helium charged $40 plus $10 per location assertion for the same reason, so that
/// keys without radios cost what honest ones do (issue 28, hole 5).
pub const DEFAULT_ONBOARDING_FEE: u64 = 250_000_000;

/// Where the oracle's epochs fall on the cluster's wall clock: genesis and length in seconds.
/// With an accelerated clock (simulations), network time `t` is wall time
/// `origin + (t − origin) / speed`.
pub fn cluster_epochs(rewards: &RewardConfig, clock: &ClockConfig) -> (i64, i64) {
    let speed = u64::from(clock.speed.max(1));
    let origin = clock.origin_ns.unwrap_or(rewards.genesis_ns);
    let genesis_ns = if rewards.genesis_ns >= origin {
        origin + (rewards.genesis_ns - origin) / speed
    } else {
        origin - (origin - rewards.genesis_ns) / speed
    };
    let epoch_secs = (rewards.epoch_secs / speed).max(1);
    ((genesis_ns / 1_000_000_000) as i64, epoch_secs as i64)
}

/// Creates the program's configuration and mint. `admin` must be the program's upgrade
/// authority.
pub async fn initialize(
    chain: &Chain,
    admin: &hexproof_client::Keypair,
    args: InitializeArgs,
) -> anyhow::Result<()> {
    let ix = instructions::initialize(&admin.pubkey(), args);
    chain
        .send(&[ix], admin, &[])
        .await
        .context("initializing the program")?;
    Ok(())
}

/// Submits a closed epoch with its own signature and any `others` (oracle key, signature):
/// the caller passes as many as the threshold needs, no more (each costs 110 bytes of the
/// 1,232-byte packet).
pub async fn submit_epoch(
    chain: &Chain,
    payer: &hexproof_client::Keypair,
    epoch: &ClosedEpoch,
    others: &[(PublicKey, [u8; 64])],
) -> anyhow::Result<String> {
    let mut signatures = vec![(pubkey(&epoch.oracle), epoch.signature)];
    signatures.extend(others.iter().map(|(k, s)| (pubkey(k), *s)));
    let deployment = hexproof_commitment::Deployment {
        program_id: epoch.program_id.to_bytes(),
        id: epoch.deployment.0,
    };
    let ixs = instructions::submit_epoch(
        &deployment,
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
    /// Owners without a token account of the reward mint: their rewards wait until they open
    /// one (claims never create accounts).
    pub waiting: u64,
}

/// Claims, for every hotspot of `epoch` with more lifetime reward than it was paid, the
/// difference to the owner its ledger names (its owner, or after decommissioning the owner who
/// earned it). The epoch must be the newest one on chain. A claim may pay part of what is owed
/// (the mint window's room); the rest is paid by the next round of claims.
pub async fn claim_all(
    chain: &Chain,
    payer: &hexproof_client::Keypair,
    epoch: &ClosedEpoch,
) -> anyhow::Result<Claims> {
    let tree = epoch.tree();
    let mut done = Claims::default();
    // Once the window (or the cap) has no room, the rest of the round would be refused too.
    let mut no_room = false;
    for (i, row) in epoch.rows.iter().enumerate() {
        let key = pubkey(&row.hotspot);
        let Some(ledger) = read::ledger(chain, &key).await? else {
            continue; // never onboarded
        };
        let proof = || {
            tree.proof(i)
                .with_context(|| format!("no proof for leaf {i}"))
        };
        if row.lifetime <= ledger.claimed {
            // Paid beyond this leaf by a superseded root: record it, so that the cap leaves
            // honest owners their due (`sync_ledger`).
            let excess = ledger.claimed - row.lifetime;
            if excess != ledger.excess {
                let ix = instructions::sync_ledger(&key, row.lifetime, proof()?);
                if let Err(e) = chain.send(&[ix], payer, &[]).await {
                    tracing::warn!(hotspot = %row.hotspot, error = %e, "recording an overpayment");
                }
            }
            continue;
        }
        if no_room {
            continue;
        }
        if chain
            .account(&hexproof_client::pda::owner_tokens(&ledger.owner))
            .await?
            .is_none()
        {
            done.waiting += 1;
            continue;
        }
        let ix = instructions::claim(&key, &ledger.owner, row.lifetime, proof()?);
        match chain.send(&[ix], payer, &[]).await {
            Ok(_) => {
                done.claims += 1;
                let now = read::claimed(chain, &key).await?;
                done.minted += now.saturating_sub(ledger.claimed);
            }
            Err(e) => {
                done.failed += 1;
                no_room =
                    e.is(HexproofError::MintWindowExceeded) || e.is(HexproofError::OverMintCap);
                tracing::warn!(hotspot = %row.hotspot, error = %e, "claim failed");
            }
        }
    }
    metrics::counter!("hexproof_claims_total").increment(done.claims);
    Ok(done)
}

/// What [`settle_all`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Settlements {
    pub orgs: u64,
    /// Credits newly settled.
    pub dc: u64,
    pub failed: u64,
}

/// Settles, for every org of `epoch` whose lifetime charges exceed what its record settled,
/// the difference against its credits (`settle_credits`, with the org's leaf). The epoch must
/// be the newest one on chain. Repeating it settles nothing twice: the record's settled amount
/// is read first and the program takes only what a leaf adds to it.
pub async fn settle_all(
    chain: &Chain,
    payer: &hexproof_client::Keypair,
    epoch: &ClosedEpoch,
) -> anyhow::Result<Settlements> {
    let tree = epoch.tree();
    let mut done = Settlements::default();
    for org in &epoch.orgs {
        let Some(record) = read::org(chain, org.oui).await? else {
            continue; // an org of a routes file, not on chain
        };
        if org.lifetime_dc <= record.dc_settled {
            continue;
        }
        let proof = epoch
            .org_leaf_index(org.oui)
            .and_then(|i| tree.proof(i))
            .with_context(|| format!("no proof for org {}", org.oui))?;
        let ix = instructions::settle_credits(org.oui, org.lifetime_dc, proof);
        match chain.send(&[ix], payer, &[]).await {
            Ok(_) => {
                done.orgs += 1;
                done.dc += org.lifetime_dc - record.dc_settled;
            }
            // Another member of the set settled it first: done.
            Err(e) if e.is(HexproofError::NothingToSettle) => {}
            Err(e) => {
                done.failed += 1;
                tracing::warn!(oui = org.oui, error = %e, "settling an org's charges failed");
            }
        }
    }
    metrics::counter!("hexproof_credits_settled_total").increment(done.dc);
    if done.orgs > 0 {
        tracing::info!(
            epoch = epoch.epoch,
            orgs = done.orgs,
            dc = done.dc,
            "settled orgs' data charges"
        );
    }
    Ok(done)
}

/// Burns `amount` base units of `buyer`'s reward tokens for org `oui`'s data credits (at the
/// deployment's price); `buyer` signs and pays the fee. Returns the org's balance after.
pub async fn buy_credits(
    chain: &Chain,
    buyer: &hexproof_client::Keypair,
    oui: u64,
    amount: u64,
) -> anyhow::Result<u64> {
    let ix = instructions::buy_credits(&buyer.pubkey(), oui, amount);
    chain
        .send(&[ix], buyer, &[])
        .await
        .with_context(|| format!("buying credits for org {oui}"))?;
    Ok(read::org(chain, oui)
        .await?
        .with_context(|| format!("org {oui} vanished"))?
        .dc_balance)
}

/// Creates org `oui` (the admin signs and pays): its owner, payer and DevAddr ranges.
pub async fn create_org(
    chain: &Chain,
    admin: &hexproof_client::Keypair,
    oui: u64,
    owner: &PublicKey,
    payer: &PublicKey,
    dev_addrs: &[(u32, u32)],
) -> anyhow::Result<()> {
    let ix = instructions::create_org(
        &admin.pubkey(),
        oui,
        &pubkey(owner),
        &pubkey(payer),
        ranges(dev_addrs),
    );
    chain
        .send(&[ix], admin, &[])
        .await
        .with_context(|| format!("creating org {oui}"))?;
    Ok(())
}

/// Puts `route` on chain as its org's owner: created when its id is new, changed otherwise.
/// Session keys are not put on chain (they stay in the router's routes file).
pub async fn set_route(
    chain: &Chain,
    owner: &hexproof_client::Keypair,
    route: &hexproof_poc::packets::Route,
) -> anyhow::Result<()> {
    let max_copies = u8::try_from(route.max_copies)
        .ok()
        .filter(|c| *c > 0)
        .with_context(|| format!("route {}: max_copies 1 to 16", route.id))?;
    let args = hexproof_client::RouteArgs {
        max_copies,
        dev_addrs: ranges(&route.dev_addrs),
        euis: route
            .euis
            .iter()
            .map(|&(join_eui, dev_eui)| hexproof_client::EuiPair { join_eui, dev_eui })
            .collect(),
        lns: route.lns.clone(),
        active: route.active,
    };
    let exists = chain
        .account(&hexproof_client::pda::route(route.id))
        .await?
        .is_some();
    let ix = if exists {
        instructions::update_route(&owner.pubkey(), route.oui, route.id, args)
    } else {
        instructions::create_route(&owner.pubkey(), route.oui, route.id, args)
    };
    chain
        .send(&[ix], owner, &[])
        .await
        .with_context(|| format!("putting route {} on chain", route.id))?;
    Ok(())
}

fn ranges(dev_addrs: &[(u32, u32)]) -> Vec<hexproof_client::DevAddrRange> {
    dev_addrs
        .iter()
        .map(|&(start, end)| hexproof_client::DevAddrRange { start, end })
        .collect()
}
