//! Ingest: a persistent MQTT session (clean session off, QoS 1, manual acknowledgement) on the
//! beacon and witness topics. Messages are classified ([`crate::intake`]) and stored in batches;
//! each is acknowledged to the broker only after the batch is committed, so a crash loses
//! nothing (the broker redelivers) and storage is idempotent, so redelivery counts nothing
//! twice.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hexproof_proto::{clock::Clock, mqtt::MqttConfig, topics};
use rumqttc::{AsyncClient, Event, EventLoop, Packet, Publish, QoS};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    intake::{self, Incoming, KeyCache},
    store::{Status, Store},
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Messages stored per transaction, at most.
    pub batch_max: usize,
    /// How long a message may wait for its batch, milliseconds.
    pub batch_wait_ms: u64,
    /// Store the batch as soon as the broker has sent nothing for this long, milliseconds.
    /// Brokers hold back further messages until earlier ones are acknowledged (mosquitto's
    /// `max_inflight_messages`, 20 by default), so waiting for a full batch would stall them.
    pub batch_idle_ms: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            batch_max: 256,
            batch_wait_ms: 50,
            batch_idle_ms: 2,
        }
    }
}

/// The MQTT client and its event loop, set up for ingest (and entropy publishing).
pub fn connect(
    config: &MqttConfig,
    client_id: &str,
    ingest: &IngestConfig,
) -> anyhow::Result<(AsyncClient, EventLoop)> {
    let mut options = config.options(client_id)?;
    options
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(1 << 20, 1 << 20);
    Ok(AsyncClient::new(options, ingest.batch_max * 2 + 64))
}

/// A message from the broker, tagged with the connection it came on.
struct Received {
    publish: Publish,
    received_ns: u64,
    connection: u64,
}

/// Receives and stores reports until `shutdown`; stores what it holds before returning.
///
/// Two halves: this task drives the MQTT event loop (so keep-alives, acknowledgements and
/// entropy publishing never wait on the database) and hands publishes to a storing task that
/// batches, classifies, commits, and only then acknowledges.
pub async fn run(
    client: AsyncClient,
    mut eventloop: EventLoop,
    store: Store,
    keys: KeyCache,
    config: IngestConfig,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let (tx, rx) = mpsc::channel::<Received>(config.batch_max.max(1) * 4);
    let connection = Arc::new(AtomicU64::new(0));
    let mut storer = tokio::spawn(store_batches(
        rx,
        client.clone(),
        store,
        Arc::new(keys),
        config,
        connection.clone(),
    ));
    let mut failures = 0u32;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    failures = 0;
                    tracing::info!(session_present = ack.session_present, "connected to the broker");
                    for filter in [topics::BEACONS_FILTER, topics::WITNESSES_FILTER] {
                        if let Err(e) = client.try_subscribe(filter, QoS::AtLeastOnce) {
                            tracing::error!(%e, filter, "subscribing");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    metrics::counter!("hexproof_reports_received_total").increment(1);
                    let received = Received {
                        publish,
                        received_ns: clock.now_ns(),
                        connection: connection.load(Ordering::Acquire),
                    };
                    // Waiting here (storage behind) stops reading from the broker: backpressure.
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        sent = tx.send(received) => if sent.is_err() { break },
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    // Messages of the lost connection must not be acknowledged on the next one
                    // (its packet ids mean other messages); the broker redelivers them.
                    connection.fetch_add(1, Ordering::AcqRel);
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(10) {
                        tracing::warn!(error = %e, "broker connection; reconnecting");
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
    // Let the storing task finish what it holds, keep the connection going for its
    // acknowledgements, then give them a moment to leave.
    drop(tx);
    loop {
        tokio::select! {
            _ = &mut storer => break,
            event = eventloop.poll() => if event.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            },
        }
    }
    let _ = tokio::time::timeout(Duration::from_millis(300), async {
        while eventloop.poll().await.is_ok() {}
    })
    .await;
}

/// Collects messages into batches (full, or the broker paused, or the oldest waited long
/// enough) and flushes each; returns when the channel closes, after flushing the rest.
async fn store_batches(
    mut rx: mpsc::Receiver<Received>,
    client: AsyncClient,
    store: Store,
    keys: Arc<KeyCache>,
    config: IngestConfig,
    connection: Arc<AtomicU64>,
) {
    let wait = Duration::from_millis(config.batch_wait_ms.max(1));
    let idle = Duration::from_millis(config.batch_idle_ms.max(1)).min(wait);
    let mut batch = Vec::with_capacity(config.batch_max);
    let mut open = true;
    while open {
        match rx.recv().await {
            Some(first) => batch.push(first),
            None => break,
        }
        let deadline = Instant::now() + wait;
        while batch.len() < config.batch_max {
            let until = (Instant::now() + idle).min(deadline);
            match tokio::time::timeout_at(until.into(), rx.recv()).await {
                Ok(Some(next)) => batch.push(next),
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        flush(&client, &store, &keys, &mut batch, &connection).await;
    }
}

async fn flush(
    client: &AsyncClient,
    store: &Store,
    keys: &Arc<KeyCache>,
    batch: &mut Vec<Received>,
    connection: &AtomicU64,
) {
    if batch.is_empty() {
        return;
    }
    let incoming: Vec<Incoming> = batch
        .iter()
        .map(|r| Incoming {
            topic: r.publish.topic.clone(),
            payload: r.publish.payload.to_vec(),
            received_ns: r.received_ns,
        })
        .collect();
    let keys = keys.clone();
    let reports =
        match tokio::task::spawn_blocking(move || intake::classify_all(&incoming, &keys)).await {
            Ok(r) => r,
            Err(e) => {
                // Not acknowledged: the broker redelivers them after the next reconnect.
                tracing::error!(%e, "classifying a batch");
                batch.clear();
                return;
            }
        };
    let rejected = reports
        .iter()
        .filter(|r| r.status == Status::Invalid)
        .count();
    // Retry storage until it works: acknowledging unstored reports would lose them.
    let mut delay = Duration::from_millis(100);
    let inserted = loop {
        match store.insert_reports(&reports).await {
            Ok(n) => break n,
            Err(e) => {
                tracing::error!(%e, "storing reports; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    };
    metrics::counter!("hexproof_reports_stored_total").increment(inserted);
    metrics::counter!("hexproof_reports_duplicate_total")
        .increment(reports.len() as u64 - inserted);
    for r in reports.iter().filter(|r| r.status == Status::Invalid) {
        if let Some(reason) = r.reason {
            metrics::counter!("hexproof_reports_invalid_total", "kind" => r.kind.name(), "reason" => reason.code()).increment(1);
        }
    }
    if rejected > 0 {
        tracing::info!(rejected, "rejected reports at ingest");
    }
    for r in batch.drain(..) {
        if r.connection != connection.load(Ordering::Acquire) {
            continue;
        }
        if let Err(e) = client.ack(&r.publish).await {
            tracing::warn!(%e, "acknowledging");
        }
    }
}
