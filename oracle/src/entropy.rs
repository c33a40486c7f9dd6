//! The entropy service: on a schedule, draws 32 random bytes, signs them as an `Entropy`
//! message, stores it (the history beacons are checked against) and publishes it on
//! `hexproof/v1/entropy` as a retained message, so an agent that connects gets the newest one.
//!
//! It publishes over an MQTT connection of its own (client id `<oracle>-entropy`, clean
//! session): entropy lives for minutes, and must not queue behind the acknowledgements of a
//! busy ingest.

use std::time::Duration;

use hexproof_proto::mqtt::MqttConfig;
use hexproof_proto::{Keypair, Signed, clock::Clock, topics, v1::Entropy};
use prost::Message;
use rand::RngCore;
use rumqttc::{AsyncClient, EventLoop, QoS};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use hexproof_poc::EntropyRecord;

use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EntropyConfig {
    /// Seconds between new entropy. Default 60: three overlapping valid ones at any time.
    pub interval_secs: u64,
    /// How long beacons may use one, seconds. Default 180: Helium iot-verifier's
    /// `ENTROPY_LIFESPAN`.
    pub ttl_secs: u32,
}

impl Default for EntropyConfig {
    fn default() -> Self {
        EntropyConfig {
            interval_secs: 60,
            ttl_secs: 180,
        }
    }
}

/// A new signed entropy message following `previous_id`.
pub fn make(
    key: &Keypair,
    previous_id: u64,
    now_ns: u64,
    ttl_secs: u32,
) -> (EntropyRecord, Entropy) {
    let mut data = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut data);
    let record = EntropyRecord {
        id: previous_id + 1,
        data: data.clone(),
        timestamp_ns: now_ns,
        ttl_secs,
    };
    let message = Entropy {
        id: record.id,
        data,
        timestamp_ns: now_ns,
        ttl_secs,
        ..Default::default()
    }
    .signed(key);
    (record, message)
}

/// Keeps the entropy connection up until `shutdown`.
async fn drive(mut eventloop: EventLoop, shutdown: CancellationToken) {
    let mut failures = 0u32;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            event = eventloop.poll() => match event {
                Ok(_) => failures = 0,
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(10) {
                        tracing::warn!(error = %e, "entropy connection; reconnecting");
                    }
                    let delay = Duration::from_millis((200u64 << failures.min(6)).min(10_000));
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            },
        }
    }
}

/// Publishes entropy until `shutdown`. Stores each before publishing it, so nothing a hotspot
/// can use is missing from the history.
pub async fn run(
    key: Keypair,
    store: Store,
    mqtt: MqttConfig,
    config: EntropyConfig,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let client_id = format!("hexproof-oracle-{}-entropy", key.public());
    let (client, eventloop) = match mqtt.options(&client_id) {
        Ok(options) => AsyncClient::new(options, 16),
        Err(e) => {
            tracing::error!(%e, "entropy connection settings; no entropy will be published");
            return;
        }
    };
    let driver = tokio::spawn(drive(eventloop, shutdown.clone()));
    let interval = clock.real(Duration::from_secs(config.interval_secs.max(1)));
    loop {
        let now = clock.now_ns();
        let latest = match store.latest_entropy().await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(%e, "reading entropy history");
                None
            }
        };
        // Re-announce the newest when it is younger than the interval (a restart), else make one.
        let fresh = latest.as_ref().filter(|(e, _)| {
            now.saturating_sub(e.timestamp_ns) < config.interval_secs * 1_000_000_000
        });
        let (message, wait) = match fresh {
            Some((e, bytes)) => {
                let age = Duration::from_nanos(now.saturating_sub(e.timestamp_ns));
                (bytes.clone(), interval.saturating_sub(clock.real(age)))
            }
            None => {
                let previous = latest.map_or(0, |(e, _)| e.id);
                let (record, message) = make(&key, previous, now, config.ttl_secs);
                let bytes = message.encode_to_vec();
                if let Err(e) = store.insert_entropy(&record, &bytes).await {
                    tracing::error!(%e, "storing entropy; not publishing it");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
                metrics::counter!("hexproof_entropy_published_total").increment(1);
                tracing::debug!(id = record.id, "new entropy");
                (bytes, interval)
            }
        };
        let next = tokio::time::Instant::now() + wait.max(Duration::from_millis(10));
        // Never wait on the connection (at shutdown nobody drives it any more): a full request
        // queue is retried until the next entropy is due.
        let mut failures = 0u32;
        while let Err(e) =
            client.try_publish(topics::ENTROPY, QoS::AtLeastOnce, true, message.clone())
        {
            failures += 1;
            if failures == 1 {
                metrics::counter!("hexproof_entropy_publish_retries_total").increment(1);
                tracing::warn!(%e, "publishing entropy; retrying");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            if tokio::time::Instant::now() >= next {
                break;
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep_until(next) => {}
        }
    }
    let _ = driver.await;
}
