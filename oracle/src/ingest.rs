//! Ingest: a persistent MQTT session (clean session off, QoS 1, manual acknowledgement) on the
//! beacon and witness topics. Messages are classified ([`crate::intake`]) and stored in batches;
//! each is acknowledged to the broker only after the batch is committed, so a crash loses
//! nothing (the broker redelivers) and storage is idempotent, so redelivery counts nothing
//! twice.

use std::time::{Duration, Instant};

use hexproof_proto::{clock::Clock, mqtt::MqttConfig, topics};
use rumqttc::{AsyncClient, Event, EventLoop, Packet, Publish, QoS};
use serde::{Deserialize, Serialize};
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
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            batch_max: 256,
            batch_wait_ms: 50,
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

struct Batch {
    messages: Vec<Publish>,
    received: Vec<u64>,
    started: Option<Instant>,
}

/// Receives and stores reports until `shutdown`; stores what it holds before returning.
pub async fn run(
    client: AsyncClient,
    mut eventloop: EventLoop,
    store: Store,
    keys: KeyCache,
    config: IngestConfig,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let keys = std::sync::Arc::new(keys);
    let mut batch = Batch {
        messages: Vec::new(),
        received: Vec::new(),
        started: None,
    };
    let wait = Duration::from_millis(config.batch_wait_ms.max(1));
    let mut failures = 0u32;
    loop {
        let deadline = batch.started.map(|s| s + wait);
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = async { tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now).into()).await }, if deadline.is_some() => {
                flush(&client, &store, &keys, &mut batch).await;
            }
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
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    metrics::counter!("hexproof_reports_received_total").increment(1);
                    batch.received.push(clock.now_ns());
                    batch.messages.push(p);
                    batch.started.get_or_insert_with(Instant::now);
                    if batch.messages.len() >= config.batch_max {
                        flush(&client, &store, &keys, &mut batch).await;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(10) {
                        tracing::warn!(error = %e, "broker connection; reconnecting");
                    }
                    // Unacknowledged messages will be redelivered: drop them, they are not stored.
                    batch.messages.clear();
                    batch.received.clear();
                    batch.started = None;
                    let delay = Duration::from_millis((200u64 << failures.min(6)).min(10_000));
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            },
        }
    }
    flush(&client, &store, &keys, &mut batch).await;
    // Let the acknowledgements out before leaving.
    let _ = tokio::time::timeout(Duration::from_millis(300), async {
        while eventloop.poll().await.is_ok() {}
    })
    .await;
}

async fn flush(
    client: &AsyncClient,
    store: &Store,
    keys: &std::sync::Arc<KeyCache>,
    batch: &mut Batch,
) {
    batch.started = None;
    if batch.messages.is_empty() {
        return;
    }
    let incoming: Vec<Incoming> = batch
        .messages
        .iter()
        .zip(&batch.received)
        .map(|(p, &received_ns)| Incoming {
            topic: p.topic.clone(),
            payload: p.payload.to_vec(),
            received_ns,
        })
        .collect();
    let keys = keys.clone();
    let reports =
        match tokio::task::spawn_blocking(move || intake::classify_all(&incoming, &keys)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%e, "classifying a batch");
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
    for p in batch.messages.drain(..) {
        if let Err(e) = client.ack(&p).await {
            tracing::warn!(%e, "acknowledging");
        }
    }
    batch.received.clear();
}
