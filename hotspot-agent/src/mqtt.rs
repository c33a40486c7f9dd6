//! The MQTT side of the agent: one connection (rumqttc) that publishes the outbox at QoS 1,
//! deletes each report when its PUBACK arrives, and forwards the oracle's retained entropy.
//!
//! The connection uses a clean session: after any reconnect, whatever was in flight is simply
//! published again from the outbox (the oracle de-duplicates by report id), so the outbox on
//! disk is the only state that matters. Reconnects back off exponentially with jitter. With a
//! signed login (`[mqtt] login_broker`), each connection attempt logs in with a fresh one.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

pub use hexproof_proto::mqtt::{MqttConfig, SignedLogin};
use hexproof_proto::topics;
use rand::Rng;
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::{outbox::Outbox, stats::Stats};

/// Publishes the outbox; forwards entropy messages to `entropy`. Once `shutdown` is cancelled
/// it keeps publishing what it holds for up to `flush_on_shutdown_ms`, then disconnects.
/// `login`: signs a fresh login before each connection attempt.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    config: MqttConfig,
    options: MqttOptions,
    login: Option<SignedLogin>,
    outbox: Arc<Mutex<Outbox>>,
    new_reports: Arc<Notify>,
    entropy: mpsc::Sender<Vec<u8>>,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
) {
    let window = usize::from(config.inflight.max(1));
    let (client, eventloop) = AsyncClient::new(options, window * 2 + 8);
    let mut link = Link {
        client,
        outbox,
        stats,
        connected: false,
        cursor: 0,
        requested: VecDeque::new(),
        inflight: HashMap::new(),
        window,
    };
    link.drive(eventloop, &config, login, new_reports, entropy, shutdown)
        .await;
}

struct Link {
    client: AsyncClient,
    outbox: Arc<Mutex<Outbox>>,
    stats: Arc<Stats>,
    connected: bool,
    /// Every stored report below this was handed to the client on this connection.
    cursor: u64,
    /// Reports handed to the client, not yet given a packet id, in order (with their report id
    /// when acknowledgements are recorded).
    requested: VecDeque<(u64, Option<[u8; 32]>)>,
    /// Packet id → report, sent and awaiting PUBACK.
    inflight: HashMap<u16, (u64, Option<[u8; 32]>)>,
    window: usize,
}

impl Link {
    /// Hands stored reports to the client until the window is full.
    fn fill(&mut self) {
        if !self.connected {
            return;
        }
        let outbox = Arc::clone(&self.outbox);
        let mut outbox = outbox.lock().unwrap_or_else(|e| e.into_inner());
        while self.requested.len() + self.inflight.len() < self.window {
            let Some(seq) = outbox.next_from(self.cursor) else {
                break;
            };
            let entry = match outbox.get(seq) {
                Ok(Some(entry)) => entry,
                Ok(None) => {
                    self.cursor = seq + 1;
                    continue;
                }
                Err(e) => {
                    tracing::error!(%e, seq, "unreadable outbox report discarded");
                    outbox.discard(seq);
                    Stats::add(&self.stats.outbox_dropped, 1);
                    self.cursor = seq + 1;
                    continue;
                }
            };
            let id = if self.stats.records_acks() {
                topics::report_id(&entry.topic, &entry.payload)
            } else {
                None
            };
            match self
                .client
                .try_publish(entry.topic, QoS::AtLeastOnce, false, entry.payload)
            {
                Ok(()) => {
                    self.requested.push_back((seq, id));
                    self.cursor = seq + 1;
                }
                Err(e) => {
                    // The request queue is full: this one goes out on the next call.
                    tracing::debug!(%e, "request queue full");
                    break;
                }
            }
        }
    }

    /// Nothing in the outbox and nothing awaiting an acknowledgement.
    fn holds_nothing(&self) -> bool {
        self.requested.is_empty()
            && self.inflight.is_empty()
            && self
                .outbox
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
    }

    fn acked(&mut self, pkid: u16) {
        let Some((seq, id)) = self.inflight.remove(&pkid) else {
            return;
        };
        if let Some(id) = id {
            self.stats.record_ack(id);
        }
        let mut outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = outbox.remove(seq) {
            tracing::error!(%e, seq, "could not remove an acknowledged report");
        }
        Stats::add(&self.stats.published, 1);
        self.stats
            .outbox_pending
            .store(outbox.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    async fn drive(
        &mut self,
        mut eventloop: EventLoop,
        config: &MqttConfig,
        login: Option<SignedLogin>,
        new_reports: Arc<Notify>,
        entropy: mpsc::Sender<Vec<u8>>,
        shutdown: CancellationToken,
    ) {
        let mut failures: u32 = 0;
        // Once shutdown is asked for: until when the link keeps publishing what it holds.
        let mut flush_until: Option<tokio::time::Instant> = None;
        loop {
            if let Some(deadline) = flush_until
                && (!self.connected
                    || self.holds_nothing()
                    || tokio::time::Instant::now() >= deadline)
            {
                break;
            }
            let flush_deadline = flush_until.unwrap_or_else(tokio::time::Instant::now);
            if let Some(login) = &login {
                login.refresh(&mut eventloop);
            }
            tokio::select! {
                () = shutdown.cancelled(), if flush_until.is_none() => {
                    flush_until = Some(
                        tokio::time::Instant::now()
                            + Duration::from_millis(config.flush_on_shutdown_ms),
                    );
                }
                () = tokio::time::sleep_until(flush_deadline), if flush_until.is_some() => {}
                () = new_reports.notified() => self.fill(),
                event = eventloop.poll() => match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        tracing::info!(url = %config.url, "connected to the broker");
                        failures = 0;
                        self.connected = true;
                        self.stats.connected.store(true, std::sync::atomic::Ordering::Relaxed);
                        self.cursor = 0;
                        self.requested.clear();
                        self.inflight.clear();
                        if let Err(e) = self.client.try_subscribe(topics::ENTROPY, QoS::AtLeastOnce) {
                            tracing::warn!(%e, "could not subscribe to entropy");
                        }
                        self.fill();
                    }
                    Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                        if let Some(sent) = self.requested.pop_front() {
                            self.inflight.insert(pkid, sent);
                        }
                    }
                    Ok(Event::Incoming(Packet::PubAck(ack))) => {
                        self.acked(ack.pkid);
                        self.fill();
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topics::ENTROPY => {
                        if entropy.try_send(p.payload.to_vec()).is_err() {
                            tracing::debug!("entropy message dropped: agent busy");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        if self.connected {
                            tracing::warn!(error = %e, "lost the broker; reports wait in the outbox");
                        } else if failures.is_multiple_of(10) {
                            tracing::warn!(error = %e, url = %config.url, "cannot reach the broker");
                        }
                        self.connected = false;
                        self.stats.connected.store(false, std::sync::atomic::Ordering::Relaxed);
                        if matches!(e, ConnectionError::RequestsDone) {
                            break;
                        }
                        if flush_until.is_some() {
                            break;
                        }
                        let delay = backoff(config, failures);
                        failures = failures.saturating_add(1);
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(delay) => {}
                        }
                    }
                },
            }
        }
        // Everything unacknowledged is still in the outbox; say goodbye if we can.
        if self.connected {
            let _ = self.client.try_disconnect();
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                while let Ok(event) = eventloop.poll().await {
                    if matches!(event, Event::Outgoing(Outgoing::Disconnect)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
}

/// Exponential backoff with ±25% jitter.
fn backoff(config: &MqttConfig, failures: u32) -> Duration {
    let base = config
        .reconnect_min_ms
        .saturating_mul(1u64 << failures.min(16))
        .min(config.reconnect_max_ms.max(config.reconnect_min_ms));
    let jitter = rand::thread_rng().gen_range(0..=base / 2);
    Duration::from_millis(base - base / 4 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap() {
        let c = MqttConfig::default();
        assert!(backoff(&c, 0) <= Duration::from_millis(750));
        assert!(backoff(&c, 3) >= Duration::from_millis(3000));
        assert!(backoff(&c, 30) <= Duration::from_millis(37_500));
    }
}
