//! The storing half of ingest: batches messages, refuses what no registered hotspot's topic
//! names, classifies the rest on every core, charges each report to the rate of the registered
//! key whose signature verifies (junk to a shared bucket), commits, and only then acknowledges
//! them to the broker.

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
    admission::{self, Admission, Payer, Refusal},
};
use crate::{
    classify::{self, Incoming, KeyCache},
    registry::Registry,
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
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    mut rx: mpsc::UnboundedReceiver<Received>,
    acker: Acker,
    store: Store,
    keys: Arc<KeyCache>,
    registry: Arc<dyn Registry>,
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
        if store_batch(&store, &keys, registry.as_ref(), &mut admission, &batch).await {
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
    registry: &dyn Registry,
    admission: &mut Admission,
    batch: &[Received],
) -> bool {
    // Before any signature is checked: topics naming no registered hotspot, oversized payloads.
    let incoming: Vec<Incoming> = batch
        .iter()
        .filter(
            |r| match admission::topic_key(&r.publish.topic, r.publish.payload.len()) {
                Ok(key) if registry.contains(&key) => true,
                Ok(_) => {
                    refused(Refusal::Unregistered);
                    false
                }
                Err(refusal) => {
                    refused(refusal);
                    false
                }
            },
        )
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
    let classified =
        match tokio::task::spawn_blocking(move || classify::classify_all(&incoming, &keys)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%e, "classifying a batch");
                return false;
            }
        };
    // Each report spends the rate of the registered key that signed it; what nobody registered
    // signed spends the shared bucket.
    let reports: Vec<_> = classified
        .into_iter()
        .filter(|r| {
            let payer = match classify::verified_signer(r) {
                Some(signer) if registry.contains(&signer) => Payer::Signer(signer),
                Some(_) => {
                    refused(Refusal::Unregistered);
                    return false;
                }
                None => Payer::Unattributed,
            };
            match admission.charge(payer, r.received_ns) {
                Ok(()) => true,
                Err(refusal) => {
                    refused(refusal);
                    false
                }
            }
        })
        .collect();
    if reports.is_empty() {
        return true;
    }
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

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, sync::RwLock};

    use hexproof_poc::HotspotInfo;
    use hexproof_proto::{
        Keypair, PublicKey, Signed, region::RegionPlan, topics, v1::WitnessReport,
    };
    use prost::Message;
    use rumqttc::Publish;

    use super::*;
    use crate::ingest::admission::RateLimits;

    /// A registry that changes while ingest runs, as the chain registry does when it refreshes.
    #[derive(Debug, Default)]
    struct Live(RwLock<HashMap<PublicKey, HotspotInfo>>);

    impl Live {
        fn register(&self, key: PublicKey) {
            let info = HotspotInfo {
                pubkey: key,
                owner: key,
                location: None,
                gain_ddbi: 0,
                elevation_m: 0,
                asserted_at_ns: 0,
                region: RegionPlan::by_name("EU868").unwrap(),
                placement: None,
            };
            self.0.write().unwrap().insert(key, info);
        }
    }

    impl Registry for Live {
        fn get(&self, key: &PublicKey) -> Option<HotspotInfo> {
            self.0.read().unwrap().get(key).cloned()
        }
        fn all(&self) -> Vec<HotspotInfo> {
            self.0.read().unwrap().values().cloned().collect()
        }
    }

    fn witness(key: &Keypair, i: u64) -> Vec<u8> {
        WitnessReport {
            payload: i.to_le_bytes().to_vec(),
            timestamp_ns: i,
            ..Default::default()
        }
        .signed(key)
        .encode_to_vec()
    }

    fn received(topic: String, payload: Vec<u8>) -> Received {
        Received {
            publish: Publish::new(topic, QoS::AtLeastOnce, payload),
            received_ns: 1_000,
            at: Instant::now(),
            connection: 0,
        }
    }

    /// Rates charge only what a registered key signed: junk on a victim's topic and a rival's
    /// reports published there spend the junk bucket and the rival's own, never the victim's;
    /// unregistered keys store nothing, until the registry holds them.
    #[tokio::test]
    async fn rates_charge_the_signer_and_unregistered_keys_store_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("o.db").display()))
            .await
            .unwrap();
        let (victim, rival, stranger) = (
            Keypair::from_secret([1; 32]),
            Keypair::from_secret([2; 32]),
            Keypair::from_secret([3; 32]),
        );
        let registry = Live::default();
        registry.register(victim.public());
        registry.register(rival.public());
        let keys = Arc::new(KeyCache::new([victim.public(), rival.public()]));
        let mut admission = Admission::new(RateLimits {
            burst: 5,
            per_minute: 1,
            max_keys: 100,
        });
        let on_victim = topics::witnesses(&victim.public());
        let mut batch = Vec::new();
        // 50 junk payloads and 10 of the rival's signed reports on the victim's topic.
        for i in 0..50u8 {
            batch.push(received(on_victim.clone(), vec![i; 40]));
        }
        for i in 0..10 {
            batch.push(received(on_victim.clone(), witness(&rival, i)));
        }
        // The stranger's reports, on its own topic and on the victim's.
        let stranger_own = witness(&stranger, 100);
        batch.push(received(
            topics::witnesses(&stranger.public()),
            stranger_own.clone(),
        ));
        batch.push(received(on_victim.clone(), witness(&stranger, 101)));
        // Then the victim's own five.
        for i in 0..5 {
            batch.push(received(on_victim.clone(), witness(&victim, 200 + i)));
        }
        assert!(store_batch(&store, &keys, &registry, &mut admission, &batch).await);
        let reports = store.judged_reports().await.unwrap();
        let from = |k: &Keypair| {
            reports
                .iter()
                .filter(|r| r.report.hotspot == k.public().to_string())
                .count()
        };
        let junk = reports
            .iter()
            .filter(|r| r.reason.as_deref() == Some("malformed"))
            .count();
        assert_eq!(
            from(&victim),
            5 + junk,
            "all five of the victim's own reports"
        );
        assert_eq!(junk, 5, "the junk bucket's burst");
        assert_eq!(from(&rival), 5, "the rival's burst, charged to the rival");
        assert_eq!(from(&stranger), 0, "unregistered: nothing stored");
        assert_eq!(reports.len(), 15);

        // Onboarded later (a registry refresh): its next report is admitted.
        registry.register(stranger.public());
        let batch = [received(
            topics::witnesses(&stranger.public()),
            stranger_own,
        )];
        assert!(store_batch(&store, &keys, &registry, &mut admission, &batch).await);
        assert_eq!(store.count_reports().await.unwrap(), 16);
    }
}
