//! `oracle run`: ingest, entropy and validation as tasks sharing one store and one MQTT
//! connection, stopped together by a shutdown token.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use hexproof_proto::Keypair;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config, entropy, ingest, intake::KeyCache, registry::Registry,
    registry::StaticRegistry, store::Store, validator::Validator,
};

/// Runs the oracle until `shutdown`, then lets every task finish what it holds.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let key = Keypair::read_file(&config.key).context("loading the oracle key")?;
    let epoch_key = key.clone();
    let store = Store::connect(&config.database)
        .await
        .with_context(|| format!("opening the database {}", redact(&config.database)))?;
    let registry = Arc::new(StaticRegistry::load(&config.registry)?);
    let clock = config.clock.clock();
    if let Some(addr) = config.metrics_listen {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .with_context(|| format!("starting the metrics endpoint on {addr}"))?;
    }
    let client_id = format!("hexproof-oracle-{}", key.public());
    let (client, eventloop) = ingest::connect(&config.mqtt, &client_id, &config.ingest)?;
    tracing::info!(oracle = %key.public(), database = %redact(&config.database), broker = %config.mqtt.url, "oracle starting");

    let mut tasks = tokio::task::JoinSet::new();
    let keys = KeyCache::new(registry.all().iter().map(|h| h.pubkey));
    tasks.spawn(ingest::run(
        client.clone(),
        eventloop,
        store.clone(),
        keys,
        config.ingest.clone(),
        clock,
        shutdown.clone(),
    ));
    tasks.spawn(entropy::run(
        key,
        store.clone(),
        client,
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

/// Closes every epoch that is ready, once a second (of real time), until `shutdown`.
async fn close_epochs(
    store: Store,
    registry: Arc<StaticRegistry>,
    config: crate::rewards::RewardConfig,
    key: Keypair,
    clock: hexproof_proto::clock::Clock,
    shutdown: CancellationToken,
) {
    loop {
        if let Err(e) = crate::rewards::epoch::close_ready(
            &store,
            registry.as_ref(),
            &config,
            &key,
            clock.now_ns(),
        )
        .await
        {
            tracing::error!(%e, "closing epochs; will retry");
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
