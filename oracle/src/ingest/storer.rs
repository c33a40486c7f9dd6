//! The storing half of ingest: batches messages, classifies them on every core, commits, and
//! only then acknowledges them to the broker.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hexproof_poc::Status;
use rumqttc::{AsyncClient, QoS};
use tokio::sync::mpsc;

use super::{
    IngestConfig, Pipeline, Received, Session,
    admission::{Admission, Refusal},
};
use crate::{
    classify::{self, Incoming, KeyCache},
    store::Store,
};

/// Sends acknowledgements without ever waiting on the event loop.
#[derive(Debug)]
pub(super) struct Acker {
    client: AsyncClient,
    session: Session,
}

impl Acker {
    pub(super) fn new(client: AsyncClient, session: Session) -> Self {
        Acker { client, session }
    }

    /// Queues acknowledgements of the current connection's messages into the client; keeps
    /// those that found the queue full. Messages of an earlier connection are dropped: the
    /// broker redelivers them, and their packet ids now mean other messages.
    fn try_ack(&self, waiting: &mut Vec<Received>) {
        let connection = self.session.0.lock().unwrap_or_else(|e| e.into_inner());
        waiting.retain(|r| {
            if r.connection != *connection {
                return false;
            }
            match self.client.try_ack(&r.publish) {
                Ok(()) => false,
                Err(_) => {
                    metrics::counter!("hexproof_ingest_acks_deferred_total").increment(1);
                    true
                }
            }
        });
    }

    /// Acknowledges every message, retrying while the client's queue is full.
    async fn ack_all(&self, mut waiting: Vec<Received>) {
        loop {
            self.try_ack(&mut waiting);
            if waiting.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// Collects messages into batches (full, or the broker paused, or the oldest waited long
/// enough) and stores each; returns when the channel closes, after storing the rest.
pub(super) async fn run(
    mut rx: mpsc::UnboundedReceiver<Received>,
    acker: Acker,
    store: Store,
    keys: Arc<KeyCache>,
    config: IngestConfig,
    pipeline: Arc<Pipeline>,
    qos0_waiting: Arc<AtomicU64>,
) {
    let wait = Duration::from_millis(config.batch_wait_ms.max(1));
    let idle = Duration::from_millis(config.batch_idle_ms.max(1)).min(wait);
    let batch_max = config.batch_max.max(1);
    let mut admission = Admission::new(config.limits);
    let take = |r: Received, batch: &mut Vec<Received>| {
        if r.publish.qos == QoS::AtMostOnce {
            qos0_waiting.fetch_sub(1, Ordering::AcqRel);
        }
        metrics::histogram!("hexproof_ingest_queue_seconds").record(r.at.elapsed().as_secs_f64());
        batch.push(r);
    };
    let mut open = true;
    while open {
        let mut batch = Vec::with_capacity(batch_max);
        match rx.recv().await {
            Some(first) => take(first, &mut batch),
            None => break,
        }
        let deadline = Instant::now() + wait;
        while batch.len() < batch_max {
            let until = (Instant::now() + idle).min(deadline);
            match tokio::time::timeout_at(until.into(), rx.recv()).await {
                Ok(Some(next)) => take(next, &mut batch),
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        let newest = batch.iter().map(|r| r.received_ns).max().unwrap_or(0);
        if store_batch(&store, &keys, &mut admission, &batch).await {
            crate::crash::point("ingest.after_commit");
            acker.ack_all(batch).await;
        }
        pipeline.done(n, newest);
    }
}

/// Admits, classifies and commits a batch; false when it could not be classified (then it is
/// not acknowledged, and the broker redelivers it after the next reconnect). Refused messages
/// are counted, not stored, and acknowledged with the rest.
async fn store_batch(
    store: &Store,
    keys: &Arc<KeyCache>,
    admission: &mut Admission,
    batch: &[Received],
) -> bool {
    let incoming: Vec<Incoming> = batch
        .iter()
        .filter(|r| {
            match admission.admit(&r.publish.topic, r.publish.payload.len(), r.received_ns) {
                Ok(()) => true,
                Err(refusal) => {
                    refused(refusal);
                    false
                }
            }
        })
        .map(|r| Incoming {
            topic: r.publish.topic.clone(),
            payload: r.publish.payload.to_vec(),
            received_ns: r.received_ns,
        })
        .collect();
    if incoming.is_empty() {
        return true;
    }
    let keys = keys.clone();
    let reports =
        match tokio::task::spawn_blocking(move || classify::classify_all(&incoming, &keys)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%e, "classifying a batch");
                return false;
            }
        };
    let started = Instant::now();
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
    metrics::histogram!("hexproof_ingest_commit_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("hexproof_reports_stored_total").increment(inserted);
    metrics::counter!("hexproof_reports_duplicate_total")
        .increment(reports.len() as u64 - inserted);
    let mut rejected = 0;
    for r in reports.iter().filter(|r| r.status == Status::Invalid) {
        rejected += 1;
        if let Some(reason) = r.reason {
            metrics::counter!("hexproof_reports_invalid_total", "kind" => r.kind.name(), "reason" => reason.code()).increment(1);
        }
    }
    if rejected > 0 {
        tracing::info!(rejected, "rejected reports at ingest");
    }
    true
}

fn refused(refusal: Refusal) {
    metrics::counter!("hexproof_ingest_refused_total", "reason" => refusal.code()).increment(1);
}
