//! Ingest: a persistent MQTT session (clean session off, QoS 1, manual acknowledgement) on the
//! beacon and witness topics. Messages are classified ([`crate::classify`]) and stored in
//! batches; each is acknowledged to the broker only after its batch is committed, so a crash
//! loses nothing (the broker redelivers) and storage is idempotent, so redelivery counts
//! nothing twice. Reports of keys the registry does not hold (as it reads now: the chain
//! registry refreshes) are refused unstored ([`admission`]).
//!
//! Two tasks that never wait on each other:
//! - the **event loop** ([`run`]) only ever awaits the MQTT connection. It hands every publish
//!   to the storer over an unbounded channel, so keep-alives, acknowledgements and entropy
//!   publishing never wait on the database;
//! - the **storer** ([`storer`]) batches, classifies, commits and then acknowledges with
//!   non-blocking sends into the client's request queue, retrying while it is full (the event
//!   loop drains it), so storage never waits on the event loop either.
//!
//! Back-pressure is the broker's: it sends at most its inflight window of unacknowledged QoS 1
//! messages (mosquitto's `max_inflight_messages`), so what waits in memory is bounded by that
//! window. QoS 0 messages (no honest agent sends them; nobody redelivers them) beyond
//! [`IngestConfig::max_qos0_waiting`] are dropped and counted. [`watchdog`] publishes how much
//! waits and flags a pipeline that holds work but makes no progress.

pub mod admission;
mod storer;
pub mod watchdog;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hexproof_proto::{
    clock::Clock,
    mqtt::{MqttConfig, SignedLogin},
    topics,
};
use rumqttc::{AsyncClient, Event, EventLoop, Packet, Publish, QoS};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{classify::KeyCache, registry::Registry, store::Store};

pub use watchdog::Pipeline;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Messages stored per transaction, at most.
    pub batch_max: usize,
    /// How long a message may wait for its batch, milliseconds.
    pub batch_wait_ms: u64,
    /// Store the batch as soon as the broker has sent nothing for this long, milliseconds.
    /// Brokers hold back further messages until earlier ones are acknowledged (mosquitto's
    /// `max_inflight_messages`), so waiting for a full batch would stall them.
    pub batch_idle_ms: u64,
    /// QoS 0 messages waiting to be stored, at most; more are dropped and counted
    /// (`hexproof_ingest_qos0_dropped_total`). Agents publish at QoS 1, which the broker's
    /// inflight window bounds.
    pub max_qos0_waiting: u64,
    /// Capacity of the MQTT client's request queue (acknowledgements, entropy, subscriptions).
    pub request_queue: usize,
    /// Largest MQTT packet accepted from the broker, bytes. Set the broker's `max_packet_size`
    /// no larger, or an oversized message would be redelivered to a session that cannot read it.
    pub max_packet_bytes: usize,
    /// The watchdog reports a stall when messages wait and none was stored for this long,
    /// seconds.
    pub stall_secs: u64,
    /// Per-hotspot rate limits, charged to a report's verified signer; unknown topics, oversized
    /// payloads and unregistered keys are refused too.
    pub limits: admission::RateLimits,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            batch_max: 512,
            batch_wait_ms: 50,
            batch_idle_ms: 2,
            max_qos0_waiting: 10_000,
            request_queue: 8_192,
            max_packet_bytes: 1 << 20,
            stall_secs: 30,
            limits: admission::RateLimits::default(),
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
        .set_max_packet_size(ingest.max_packet_bytes, ingest.max_packet_bytes);
    Ok(AsyncClient::new(options, ingest.request_queue.max(64)))
}

/// A message from the broker, tagged with the connection it came on.
#[derive(Debug)]
struct Received {
    publish: Publish,
    received_ns: u64,
    at: Instant,
    connection: u64,
}

/// Which broker connection the event loop is on. Acknowledgements carry packet ids, which mean
/// other messages on another connection, so one is only sent for a message of the current
/// connection, and the check and the send happen under this lock; the event loop takes it to
/// move on to a new connection (and to drop acknowledgements still queued for the old one).
#[derive(Debug, Clone, Default)]
struct Session(Arc<Mutex<u64>>);

impl Session {
    fn current(&self) -> u64 {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connection is gone: later acknowledgements of its messages are dropped (the broker
    /// redelivers those messages), and so are any still queued in the client.
    fn lost(&self, eventloop: &mut EventLoop) {
        let mut connection = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *connection += 1;
        eventloop.clean();
    }
}

/// What ingest runs on.
pub struct Ingest {
    pub client: AsyncClient,
    pub eventloop: EventLoop,
    pub store: Store,
    /// Decompressed keys of the registered hotspots (a cache: keys registered later are
    /// decompressed as they come).
    pub keys: KeyCache,
    /// Who is registered: reports of anyone else are refused.
    pub registry: Arc<dyn Registry>,
    /// Signs a fresh login before each connection attempt (`[mqtt] login_broker`).
    pub login: Option<SignedLogin>,
    pub config: IngestConfig,
    pub clock: Clock,
    pub pipeline: Arc<Pipeline>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Receives and stores reports until `shutdown`; stores and acknowledges what it holds before
/// returning.
pub async fn run(ingest: Ingest, shutdown: CancellationToken) {
    let Ingest {
        client,
        mut eventloop,
        store,
        keys,
        registry,
        login,
        config,
        clock,
        pipeline,
    } = ingest;
    let (tx, rx) = mpsc::unbounded_channel::<Received>();
    let session = Session::default();
    let qos0_waiting = Arc::new(AtomicU64::new(0));
    let mut storer = tokio::spawn(storer::run(
        rx,
        storer::Acker::new(client.clone(), session.clone()),
        store,
        Arc::new(keys),
        registry,
        config.clone(),
        pipeline.clone(),
        qos0_waiting.clone(),
    ));
    let watchdog = tokio::spawn(watchdog::run(
        pipeline.clone(),
        Duration::from_secs(config.stall_secs.max(1)),
        shutdown.clone(),
    ));
    let mut failures = 0u32;
    loop {
        if let Some(login) = &login {
            login.refresh(&mut eventloop);
        }
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
                    if publish.qos == QoS::AtMostOnce {
                        if qos0_waiting.load(Ordering::Acquire) >= config.max_qos0_waiting {
                            metrics::counter!("hexproof_ingest_qos0_dropped_total").increment(1);
                            continue;
                        }
                        qos0_waiting.fetch_add(1, Ordering::AcqRel);
                    }
                    pipeline.received();
                    let received = Received {
                        publish,
                        received_ns: clock.now_ns(),
                        at: Instant::now(),
                        connection: session.current(),
                    };
                    // Unbounded: the broker's inflight window bounds it. Closed only when the
                    // storer has died, which the join below reports.
                    if tx.send(received).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    session.lost(&mut eventloop);
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
    // Let the storer finish what it holds, keep the connection going for its
    // acknowledgements, then give them a moment to leave.
    drop(tx);
    loop {
        if let Some(login) = &login {
            login.refresh(&mut eventloop);
        }
        tokio::select! {
            result = &mut storer => {
                if let Err(e) = result {
                    tracing::error!(%e, "the storing task failed");
                }
                break;
            }
            event = eventloop.poll() => if event.is_err() {
                session.lost(&mut eventloop);
                tokio::time::sleep(Duration::from_millis(50)).await;
            },
        }
    }
    let _ = tokio::time::timeout(Duration::from_millis(300), async {
        while eventloop.poll().await.is_ok() {}
    })
    .await;
    watchdog.abort();
}
