//! One running hotspot: its radio, its agent and its MQTT link, as tasks sharing an outbox.

use hexproof_proto::clock::Clock;
use std::sync::{Arc, Mutex};

use hexproof_proto::PublicKey;
use tokio::{sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{
    agent::{Agent, Conduct, Hotspot},
    config::{BeaconConfig, OutboxConfig},
    entropy::EntropyStore,
    mqtt::{self, MqttConfig},
    outbox::Outbox,
    radio::Radio,
    stats::Stats,
};

/// What a node is made of.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub hotspot: Hotspot,
    pub oracles: Vec<PublicKey>,
    pub beacon: BeaconConfig,
    pub mqtt: MqttConfig,
    pub outbox: OutboxConfig,
    pub clock: Clock,
    /// Record the id of every report the broker acknowledged ([`Stats::acknowledged_ids`]).
    pub record_acks: bool,
    /// Departures from the protocol (simulated adversaries only; default none).
    pub conduct: Conduct,
}

/// Starts a hotspot's tasks on `tasks`; they stop when `shutdown` is cancelled.
pub fn spawn(
    config: NodeConfig,
    radio: impl Radio,
    tasks: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Arc<Stats>> {
    let pubkey = config.hotspot.key.public();
    let outbox = Outbox::open(
        &config.outbox.dir,
        config.outbox.max_reports,
        config.outbox.sync,
    )?;
    if !outbox.is_empty() {
        tracing::info!(pending = outbox.len(), hotspot = %pubkey, "reports from an earlier run wait in the outbox");
    }
    let stats = Arc::new(if config.record_acks {
        Stats::recording_acks()
    } else {
        Stats::default()
    });
    stats
        .outbox_pending
        .store(outbox.len() as u64, std::sync::atomic::Ordering::Relaxed);
    let outbox = Arc::new(Mutex::new(outbox));
    let new_reports = Arc::new(Notify::new());
    let (entropy_tx, entropy_rx) = tokio::sync::mpsc::channel(8);
    let options = config
        .mqtt
        .options(&hexproof_proto::login::hotspot_client_id(&pubkey))?;
    let login = config.mqtt.signed_login(&config.hotspot.key);

    let radio = radio.start(shutdown.clone());
    let agent = Agent::new(
        config.hotspot,
        config.beacon,
        config.clock,
        EntropyStore::new(config.oracles),
        outbox.clone(),
        new_reports.clone(),
        stats.clone(),
    )
    .with_conduct(config.conduct);
    tasks.spawn(agent.run(radio, entropy_rx, shutdown.clone()));
    tasks.spawn(mqtt::run(
        config.mqtt,
        options,
        login,
        outbox,
        new_reports,
        entropy_tx,
        stats.clone(),
        shutdown.clone(),
    ));
    Ok(stats)
}
