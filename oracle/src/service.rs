//! `oracle run`: ingest, entropy and validation as tasks sharing one store and one MQTT
//! connection, stopped together by a shutdown token.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use hexproof_proto::Keypair;
use tokio_util::sync::CancellationToken;

use crate::{
    chain::{self, ChainRegistry},
    config::Config,
    entropy, ingest,
    intake::KeyCache,
    registry::{Registry, StaticRegistry},
    store::Store,
    validator::Validator,
};
use hexproof_client::Chain;

/// Runs the oracle until `shutdown`, then lets every task finish what it holds.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let chain = config
        .chain
        .rpc_url
        .as_deref()
        .map(|url| Arc::new(Chain::rpc(url)));
    run_with_chain(config, chain, shutdown).await
}

/// [`run`] with a chain given by the caller (the demo's embedded runtime) instead of
/// `chain.rpc_url`.
pub async fn run_with_chain(
    config: Config,
    chain: Option<Arc<Chain>>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let key = Keypair::read_file(&config.key).context("loading the oracle key")?;
    let epoch_key = key.clone();
    let store = Store::connect(&config.database)
        .await
        .with_context(|| format!("opening the database {}", redact(&config.database)))?;
    let clock = config.clock.clock();
    let mut tasks = tokio::task::JoinSet::new();
    let registry: Arc<dyn Registry> = match &chain {
        Some(chain) if config.chain.registry => {
            let registry = Arc::new(ChainRegistry::new(config.chain.region.as_deref())?);
            let n = registry
                .refresh(chain, clock.now_ns())
                .await
                .context("reading the hotspot registry from the chain")?;
            tracing::info!(hotspots = n, "hotspot registry read from the chain");
            tasks.spawn(registry.clone().keep_fresh(
                chain.clone(),
                clock,
                Duration::from_secs(config.chain.refresh_secs.max(1)),
                shutdown.clone(),
            ));
            registry
        }
        _ => Arc::new(StaticRegistry::load(&config.registry)?),
    };
    let payer = match &config.chain.payer {
        Some(path) => Keypair::read_file(path).context("loading the chain payer key")?,
        None => key.clone(),
    };
    if let Some(addr) = config.metrics_listen {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .with_context(|| format!("starting the metrics endpoint on {addr}"))?;
    }
    let client_id = format!("hexproof-oracle-{}", key.public());
    let (client, eventloop) = ingest::connect(&config.mqtt, &client_id, &config.ingest)?;
    tracing::info!(oracle = %key.public(), database = %redact(&config.database), broker = %config.mqtt.url, "oracle starting");

    // The explorer first: it counts every verdict written from here on.
    crate::explorer::start(
        &config.explorer,
        store.clone(),
        registry.clone(),
        &mut tasks,
        shutdown.clone(),
    )
    .await?;
    let keys = KeyCache::new(registry.all().iter().map(|h| h.pubkey));
    tasks.spawn(ingest::run(
        ingest::Ingest {
            client,
            eventloop,
            store: store.clone(),
            keys,
            config: config.ingest.clone(),
            clock,
            pipeline: Arc::new(ingest::Pipeline::default()),
        },
        shutdown.clone(),
    ));
    tasks.spawn(entropy::run(
        key,
        store.clone(),
        config.mqtt.clone(),
        config.entropy.clone(),
        clock,
        shutdown.clone(),
    ));
    let store_for_epochs = store.clone();
    let registry_for_epochs = registry.clone();
    let validator = Validator::new(store, registry, config.validation.clone());
    let every = clock
        .real(Duration::from_secs(1))
        .max(Duration::from_millis(50));
    tasks.spawn(validator.run(clock, every, shutdown.clone()));
    tasks.spawn(close_epochs(
        store_for_epochs,
        registry_for_epochs,
        config.rewards.clone(),
        epoch_key,
        chain.map(|chain| ChainDuty {
            chain,
            payer: crate::chain::solana_keypair(&payer),
            submit: config.chain.submit,
            claim: config.chain.claim,
        }),
        clock,
        shutdown.clone(),
    ));
    // Every task stops at the shutdown token; give them a moment to finish what they hold
    // (nothing is lost if one is cut short: reports are acknowledged only once stored, verdicts
    // and epochs are written in transactions).
    let all_done = async { while tasks.join_next().await.is_some() {} };
    tokio::select! {
        () = all_done => {}
        () = async { shutdown.cancelled().await; tokio::time::sleep(Duration::from_secs(10)).await } => {
            tracing::warn!("tasks still running 10 s after shutdown; stopping them");
        }
    }
    tracing::info!("oracle stopped");
    Ok(())
}

/// What the oracle does on chain after closing epochs.
struct ChainDuty {
    chain: Arc<Chain>,
    payer: hexproof_client::Keypair,
    submit: bool,
    claim: bool,
}

impl ChainDuty {
    /// Submits the newest closed epoch if the chain holds an older one, then claims for
    /// owners. The newest root holds every lifetime amount, so older epochs need not go.
    async fn sync(&self, store: &Store) -> anyhow::Result<()> {
        let Some(newest) = crate::rewards::epoch::last_closed(store).await? else {
            return Ok(());
        };
        let on_chain = hexproof_client::read::config(&self.chain)
            .await?
            .context("the program is not initialized")?;
        let epoch = crate::rewards::epoch::load(store, newest)
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
        }
        Ok(())
    }
}

/// Closes every epoch that is ready, once a second (of real time), until `shutdown`; then
/// does its chain duty, if any.
async fn close_epochs(
    store: Store,
    registry: Arc<dyn Registry>,
    config: crate::rewards::RewardConfig,
    key: Keypair,
    chain: Option<ChainDuty>,
    clock: hexproof_proto::clock::Clock,
    shutdown: CancellationToken,
) {
    // Chain work to do: after each close, and again after a failure (every 10 s).
    let mut pending = chain.is_some();
    let mut last_try = std::time::Instant::now();
    loop {
        match crate::rewards::epoch::close_ready(
            &store,
            registry.as_ref(),
            &config,
            &key,
            clock.now_ns(),
        )
        .await
        {
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

/// A database URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}
