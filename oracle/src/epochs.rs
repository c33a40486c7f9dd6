//! Closing epochs, and the chain duty that follows: once an epoch has ended (plus the close
//! delay) and every report stamped in it has a verdict, its verdicts are tallied from storage,
//! the pure reward rules ([`hexproof_poc::rewards`]) turn them into rewards, lifetime amounts,
//! a Merkle root and the oracle's signature, and the closed epoch is stored in one transaction.
//! Closing is a function of the stored verdicts: closing twice gives the same result, and an
//! interrupted close is simply done again. Then, with a chain configured, the newest closed
//! epoch is submitted and claimed for owners.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use hexproof_client::Chain;
use hexproof_poc::{
    HotspotInfo, Kind, Status,
    detect::{self, Finding},
    rewards::{
        DataActivity, RewardConfig, activity,
        epoch::{ClosedEpoch, Lifetimes, build},
    },
};
use hexproof_proto::{Keypair, clock::Clock};
use tokio_util::sync::CancellationToken;

use crate::{
    chain,
    registry::Registry,
    store::{Result, Store},
};

/// A computed epoch and what detection found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computed {
    pub epoch: ClosedEpoch,
    pub findings: Vec<Finding>,
}

/// Recomputes an epoch from stored verdicts and receipts and the previous epoch's lifetime
/// amounts.
pub async fn recompute(
    store: &Store,
    registry: &dyn Registry,
    config: &RewardConfig,
    epoch: u64,
    oracle: &Keypair,
) -> Result<Computed> {
    let previous = if epoch > 1 {
        store.lifetimes_after(epoch - 1).await?
    } else {
        Lifetimes::default()
    };
    compute(store, registry, config, epoch, &previous, oracle).await
}

/// An epoch from the verdicts and receipts `store` holds and the given lifetime amounts before
/// it: detection over the epoch's receptions ([`hexproof_poc::detect`]), then the reward rules
/// (coverage from verdicts, data from the copies the router bought in the epoch).
pub async fn compute(
    store: &Store,
    registry: &dyn Registry,
    config: &RewardConfig,
    epoch: u64,
    previous: &Lifetimes,
    oracle: &Keypair,
) -> Result<Computed> {
    let (start, end) = config.bounds(epoch);
    let tallies = store.epoch_tallies(start, end).await?;
    let receptions = store.epoch_receptions(start, end).await?;
    let hotspots = located(registry.all(), &store.revealed_cells(start, end).await?);
    let mut valid_beacons: BTreeMap<hexproof_proto::PublicKey, u64> = BTreeMap::new();
    for t in &tallies {
        if (t.kind, t.status) == (Kind::Beacon, Status::Valid) {
            *valid_beacons.entry(t.hotspot).or_default() += t.count;
        }
    }
    let detection = detect::detect(&receptions, &hotspots, &valid_beacons);
    let activity = activity::activity(&tallies, &hotspots, config, &detection);
    let data = DataActivity::from_copies(store.copies_bought(start, end).await?)
        .unpaid_for(&activity::suspended(&tallies, config, &detection));
    Ok(Computed {
        epoch: build(epoch, config, &activity, &data, previous, oracle),
        findings: detection.findings,
    })
}

/// The registry's hotspots with the exact cells the epoch's valid reports were judged on, for
/// those the chain places by commitment only (the newest by the reports' own time, then id: a
/// hotspot that moved in the epoch is placed where it ended). Every hotspot that earns in the
/// epoch has a valid report, so a cell; one without stays unlocated and detection and the hex
/// grid leave it out. A function of the epoch's agreed reports alone.
pub fn located(
    mut hotspots: Vec<HotspotInfo>,
    cells: &BTreeMap<hexproof_proto::PublicKey, h3o::CellIndex>,
) -> Vec<HotspotInfo> {
    for h in &mut hotspots {
        if h.location.is_none() && h.placement.is_some() {
            h.location = cells.get(&h.pubkey).copied();
        }
    }
    hotspots
}

/// Whether an epoch may close at `now_ns`: its end plus the close delay has passed and no report
/// stamped before its end still waits for a verdict.
pub async fn ready(store: &Store, config: &RewardConfig, epoch: u64, now_ns: u64) -> Result<bool> {
    let (_, end) = config.bounds(epoch);
    if now_ns < end + config.close_delay_secs * 1_000_000_000 {
        return Ok(false);
    }
    Ok(store.pending_before(end).await? == 0)
}

/// Closes, in order, every epoch that is ready at `now_ns`; returns them.
pub async fn close_ready(
    store: &Store,
    registry: &dyn Registry,
    config: &RewardConfig,
    oracle: &Keypair,
    now_ns: u64,
) -> Result<Vec<ClosedEpoch>> {
    let mut closed = Vec::new();
    // The first epoch closed is the one of the network's first report: nothing before it has
    // anything to commit.
    let mut next = match store.last_closed_epoch().await? {
        Some(e) => e + 1,
        None => match store.first_report_ns().await? {
            Some(t) => config.epoch_of(t).max(1),
            None => return Ok(closed),
        },
    };
    while ready(store, config, next, now_ns).await? {
        let Computed { epoch: e, findings } =
            recompute(store, registry, config, next, oracle).await?;
        crate::crash::point("epoch.before_save");
        // Findings first: a crash between the two stores them again, unchanged.
        store.save_findings(e.epoch, &findings).await?;
        store.save_closed_epoch(&e, now_ns).await?;
        crate::crash::point("epoch.after_save");
        metrics::counter!("hexproof_epochs_closed_total").increment(1);
        tracing::info!(epoch = e.epoch, paid = e.paid, dust = e.dust, hotspots = e.rows.len(), root = %hex::encode(e.root), "closed epoch");
        closed.push(e);
        next += 1;
    }
    Ok(closed)
}

/// What the oracle does on chain after closing epochs.
#[derive(Debug)]
pub struct ChainDuty {
    pub chain: Arc<Chain>,
    pub payer: hexproof_client::Keypair,
    pub submit: bool,
    pub claim: bool,
}

impl ChainDuty {
    /// Submits the newest closed epoch if the chain holds an older one, then settles orgs'
    /// data charges against their credits and claims for owners. The newest root holds every lifetime amount, so older epochs need not go.
    /// Safe to repeat after any failure: what the chain already holds (the epoch, each
    /// hotspot's claimed amount) is read back first, so nothing is submitted or paid twice.
    /// An error (including any failed claim) means: try again later.
    pub async fn sync(&self, store: &Store) -> anyhow::Result<()> {
        use anyhow::Context;
        let Some(newest) = store.last_closed_epoch().await? else {
            return Ok(());
        };
        let on_chain = hexproof_client::read::config(&self.chain)
            .await?
            .context("the program is not initialized")?;
        let epoch = store
            .closed_epoch(newest)
            .await?
            .context("closed epoch vanished")?;
        let ours_on_chain = if on_chain.epoch < newest {
            if !self.submit {
                return Ok(());
            }
            let signature = chain::submit_epoch(&self.chain, &self.payer, &epoch, &[]).await?;
            tracing::info!(epoch = newest, %signature, "epoch submitted on chain");
            true
        } else {
            // Claims need our root to be the newest on chain (not another oracle's, not later).
            on_chain.epoch == newest && on_chain.root == epoch.root
        };
        if ours_on_chain {
            let settled = chain::settle_all(&self.chain, &self.payer, &epoch).await?;
            anyhow::ensure!(
                settled.failed == 0,
                "{} settlements of epoch {newest} failed",
                settled.failed
            );
        }
        if self.claim && ours_on_chain {
            let claims = chain::claim_all(&self.chain, &self.payer, &epoch).await?;
            if claims.claims > 0 || claims.failed > 0 {
                tracing::info!(
                    epoch = newest,
                    claims = claims.claims,
                    minted = claims.minted,
                    failed = claims.failed,
                    "claimed for owners"
                );
            }
            anyhow::ensure!(
                claims.failed == 0,
                "{} claims of epoch {newest} failed",
                claims.failed
            );
        }
        Ok(())
    }
}

/// Closes every epoch that is ready, once a second (of real time), until `shutdown`; then
/// does its chain duty, if any (after each close, and again every 10 s after a failure).
pub async fn run(
    store: Store,
    registry: Arc<dyn Registry>,
    config: RewardConfig,
    key: Keypair,
    chain: Option<ChainDuty>,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let mut pending = chain.is_some();
    let mut last_try = std::time::Instant::now();
    loop {
        match close_ready(&store, registry.as_ref(), &config, &key, clock.now_ns()).await {
            Ok(closed) => {
                pending |= !closed.is_empty();
                if let Some(duty) = chain.as_ref()
                    && pending
                    && (!closed.is_empty() || last_try.elapsed() >= Duration::from_secs(10))
                {
                    last_try = std::time::Instant::now();
                    match duty.sync(&store).await {
                        Ok(()) => pending = false,
                        Err(e) => {
                            tracing::error!(error = %format!("{e:#}"), "chain duty; will retry")
                        }
                    }
                }
            }
            Err(e) => tracing::error!(%e, "closing epochs; will retry"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
