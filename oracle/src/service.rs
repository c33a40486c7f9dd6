//! `oracle run`: ingest, entropy, judging, epochs (with their chain duty) and the explorer as
//! tasks sharing one store, stopped together by a shutdown token.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use hexproof_client::Chain;
use hexproof_proto::{Keypair, clock::Clock};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    classify::KeyCache,
    config::Config,
    entropy, epochs, ingest,
    judging::Judge,
    registry::{Registry, StaticRegistry, chain::ChainRegistry},
    store::Store,
};

/// Runs the oracle until `shutdown`, then lets every task finish what it holds.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let chain = config
        .chain
        .rpc_url
        .as_deref()
        .map(|url| Arc::new(Chain::rpc(url).with_priority_fee(config.chain.priority_fee)));
    run_with_chain(config, chain, shutdown).await
}

/// The registry: the chain's (kept fresh by a task on `tasks`) or the registry file's.
async fn registry(
    config: &Config,
    chain: Option<&Arc<Chain>>,
    clock: Clock,
    tasks: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Arc<dyn Registry>> {
    let Some(chain) = chain.filter(|_| config.chain.read_registry) else {
        return Ok(Arc::new(StaticRegistry::load(&config.registry_file)?));
    };
    let registry = Arc::new(ChainRegistry::new(config.chain.region.as_deref(), clock)?);
    let n = registry
        .refresh(chain)
        .await
        .context("reading the hotspot registry from the chain")?;
    tracing::info!(hotspots = n, "hotspot registry read from the chain");
    tasks.spawn(registry.clone().keep_fresh(
        chain.clone(),
        Duration::from_secs(config.chain.refresh_secs.max(1)),
        shutdown.clone(),
    ));
    Ok(registry)
}

/// Refuses to start against a deployment whose value differs from `[rewards] deployment` (every
/// signature would be refused there), or whose data-credit price differs from `[rewards]
/// dc_per_token` (the data pool would pay credits back at another price than sold them).
async fn check_deployment(chain: &Chain, config: &Config) -> anyhow::Result<()> {
    match hexproof_client::read::config(chain).await? {
        Some(on_chain) => {
            anyhow::ensure!(
                on_chain.deployment == config.rewards.deployment.0,
                "the program's deployment value is {}, [rewards] deployment is {} (unset when \
                 all zeros): set it to the program's (`oracle chain show`)",
                hex::encode(on_chain.deployment),
                config.rewards.deployment
            );
            anyhow::ensure!(
                on_chain.dc_per_token == config.rewards.dc_per_token,
                "the program sells {} data credits a token, [rewards] dc_per_token is {}: set it \
                 to the program's (`oracle chain show`)",
                on_chain.dc_per_token,
                config.rewards.dc_per_token
            );
        }
        None => tracing::warn!("the program is not initialized yet"),
    }
    Ok(())
}

/// [`run`] with a chain given by the caller (the demo's embedded runtime) instead of
/// `chain.rpc_url`.
pub async fn run_with_chain(
    config: Config,
    chain: Option<Arc<Chain>>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let key = Keypair::read_file(&config.key).context("loading the oracle key")?;
    let store = Store::connect(&config.database)
        .await
        .with_context(|| format!("opening the database {}", redact(&config.database)))?;
    let clock = config.clock.clock();
    if let Some(chain) = &chain {
        check_deployment(chain, &config).await?;
    }
    let mut tasks = JoinSet::new();
    let registry = registry(&config, chain.as_ref(), clock, &mut tasks, &shutdown).await?;
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
    let client_id = hexproof_proto::login::oracle_client_id(&key.public());
    let (client, eventloop) = ingest::connect(&config.mqtt, &client_id, &config.ingest)?;
    config.entropy.connection(&config.mqtt)?;
    tracing::info!(oracle = %key.public(), database = %redact(&config.database), broker = %config.mqtt.url, "oracle starting");

    // A member of an oracle set agrees on epochs with the others (and needs the chain to land
    // them); alone, it closes and signs them itself.
    let in_set = !config.quorum.peers.is_empty();
    anyhow::ensure!(
        !in_set || chain.is_some(),
        "a member of an oracle set needs a chain ([chain] rpc_url) to land epochs on"
    );
    let board = in_set.then(|| {
        crate::quorum::Board::new(
            store.clone(),
            key.clone(),
            config.rewards.clone(),
            config.validation.clone(),
            clock,
            config.quorum.clone(),
        )
    });
    // The explorer first: it counts every verdict written from here on.
    crate::explorer::start(
        &config.explorer,
        store.clone(),
        registry.clone(),
        &mut tasks,
        shutdown.clone(),
    )
    .await?;
    if let Some(board) = &board {
        let addr = config.quorum.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("the Quorum service on {addr} ([quorum] listen)"))?;
        tracing::info!(addr = %listener.local_addr()?, "Quorum service listening (members only)");
        tasks.spawn(crate::quorum::board::serve(
            board.clone(),
            listener,
            shutdown.clone(),
        ));
    }
    let pipeline = Arc::new(ingest::Pipeline::default());
    tasks.spawn(ingest::run(
        ingest::Ingest {
            client,
            eventloop,
            store: store.clone(),
            keys: KeyCache::new(registry.all().iter().map(|h| h.pubkey)),
            registry: registry.clone(),
            login: config.mqtt.signed_login(&key),
            config: config.ingest.clone(),
            clock,
            pipeline: pipeline.clone(),
        },
        shutdown.clone(),
    ));
    if config.router.enabled {
        config.router.connection(&config.mqtt)?;
        let file = match &config.router.routes_file {
            Some(path) => crate::router::RoutesFile::load(path)?,
            None => crate::router::RoutesFile::default(),
        };
        // With a chain, every copy is paid for with credits bought on chain, and the epoch
        // re-mints what they cost: an org from the file (no credits) would be re-minted tokens
        // nobody burned, which the program refuses (the epoch would never land).
        anyhow::ensure!(
            chain.is_none() || config.router.routes_from_chain,
            "[router] routes_from_chain = false with a chain: orgs then pay no data credits, and \
             epochs re-minting their charges would be refused on chain; route by the chain's \
             table (the routes file gives session keys)"
        );
        let (table, tables) = match chain.as_ref().filter(|_| config.router.routes_from_chain) {
            Some(chain) => {
                if !file.orgs.is_empty() {
                    tracing::warn!(
                        "router: orgs and routes come from the chain; the routes file's give only \
                         session keys ([router] routes_from_chain = false to route by the file)"
                    );
                }
                let keys = file.session_keys();
                let table = crate::router::chain_table::read(chain, &keys)
                    .await
                    .context("reading orgs and routes from the chain")?;
                let (tx, rx) = tokio::sync::watch::channel(table.clone());
                tasks.spawn(crate::router::chain_table::keep_fresh(
                    chain.clone(),
                    keys,
                    tx,
                    Duration::from_secs(config.chain.refresh_secs.max(1)),
                    Some(store.clone()),
                    shutdown.clone(),
                ));
                (table, Some(rx))
            }
            None => (file.table()?, None),
        };
        tracing::info!(routes = table.routes().len(), "packet router starting");
        tasks.spawn(crate::router::run(
            crate::router::RouterJob {
                router: crate::router::PacketRouter::new(
                    table,
                    config.router.limits.clone(),
                    key.clone(),
                    registry.clone(),
                    clock,
                ),
                store: store.clone(),
                mqtt: config.mqtt.clone(),
                login: config.mqtt.signed_login(&key),
                client_id: crate::router::client_id(&key.public()),
                config: config.router.clone(),
                clock,
                tables,
            },
            shutdown.clone(),
        ));
    }
    let me = key.public();
    tasks.spawn(entropy::run(
        entropy::Publisher {
            key: key.clone(),
            set: config.quorum.set(&me),
        },
        store.clone(),
        config.mqtt.clone(),
        config.entropy.clone(),
        clock,
        shutdown.clone(),
    ));
    let every = clock
        .real(Duration::from_secs(1))
        .max(Duration::from_millis(50));
    tasks.spawn(
        Judge::new(store.clone(), registry.clone(), config.validation.clone())
            .after_ingest(pipeline)
            .run(clock, every, shutdown.clone()),
    );
    let payer = crate::chain::solana_keypair(&payer);
    match (board, chain) {
        (Some(board), Some(chain)) => {
            let member = crate::quorum::Member {
                store,
                registry,
                limits: config.validation.clone(),
                rewards: config.rewards.clone(),
                key,
                config: config.quorum.clone(),
                chain,
                payer,
                claim: config.chain.claim,
                clock,
                board,
            };
            tasks.spawn(member.run(shutdown.clone()));
        }
        (_, chain) => {
            tasks.spawn(epochs::run(
                store,
                registry,
                config.rewards.clone(),
                key,
                chain.map(|chain| epochs::ChainDuty {
                    chain,
                    payer,
                    submit: config.chain.submit,
                    claim: config.chain.claim,
                }),
                clock,
                shutdown.clone(),
            ));
        }
    }
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

/// Cancels the token on Ctrl-C or SIGTERM.
pub fn stop_on_signals(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(%e, "installing a SIGTERM handler");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        shutdown.cancel();
    });
}
