//! How much ingest holds, and whether it is stuck: messages received from the broker but not
//! yet stored and acknowledged (`hexproof_ingest_waiting`), and a stall flag
//! (`hexproof_ingest_stalled`, `hexproof_ingest_stalls_total`) raised when messages wait and
//! none was stored for the configured time.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use tokio_util::sync::CancellationToken;

/// Counters shared by the event loop (received) and the storer (done), and how far storage
/// has caught up with what was received.
#[derive(Debug, Default)]
pub struct Pipeline {
    received: AtomicU64,
    done: AtomicU64,
    /// Every message received at or before this time (ns) is stored (or refused).
    stored_through_ns: AtomicU64,
}

impl Pipeline {
    /// Counts a message in; call before stamping its received time.
    pub(super) fn received(&self) {
        self.received.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts `n` messages out, the newest received at `newest_received_ns` (messages are
    /// stored in the order received).
    pub(super) fn done(&self, n: u64, newest_received_ns: u64) {
        self.stored_through_ns
            .fetch_max(newest_received_ns, Ordering::AcqRel);
        self.done.fetch_add(n, Ordering::AcqRel);
    }

    /// The time up to which every received message is in storage, given `now_ns` read
    /// *before* this call: `now_ns` when nothing waits, else just before the oldest waiting
    /// message. What the judge may treat as complete.
    pub fn settled_ns(&self, now_ns: u64) -> u64 {
        if self.waiting() == 0 {
            now_ns
        } else {
            self.stored_through_ns
                .load(Ordering::Acquire)
                .saturating_sub(1)
                .min(now_ns)
        }
    }

    /// Messages received and not yet stored (or refused).
    pub fn waiting(&self) -> u64 {
        self.received
            .load(Ordering::Acquire)
            .saturating_sub(self.done.load(Ordering::Acquire))
    }

    /// Messages stored (or refused) since start.
    pub fn done_total(&self) -> u64 {
        self.done.load(Ordering::Acquire)
    }
}

/// What the watchdog concludes from one look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Idle,
    Flowing,
    /// Work waits and nothing was stored for at least the stall time.
    Stalled,
}

/// Tracks progress between looks.
#[derive(Debug)]
pub struct Watch {
    last_done: u64,
    last_progress: Instant,
    stall: Duration,
}

impl Watch {
    pub fn new(stall: Duration, now: Instant) -> Self {
        Watch {
            last_done: 0,
            last_progress: now,
            stall,
        }
    }

    pub fn look(&mut self, waiting: u64, done: u64, now: Instant) -> Health {
        if done != self.last_done || waiting == 0 {
            self.last_done = done;
            self.last_progress = now;
            return if waiting == 0 {
                Health::Idle
            } else {
                Health::Flowing
            };
        }
        if now.duration_since(self.last_progress) >= self.stall {
            Health::Stalled
        } else {
            Health::Flowing
        }
    }
}

/// Looks once a second until `shutdown`.
pub async fn run(pipeline: std::sync::Arc<Pipeline>, stall: Duration, shutdown: CancellationToken) {
    let mut watch = Watch::new(stall, Instant::now());
    let mut stalled = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let waiting = pipeline.waiting();
        metrics::gauge!("hexproof_ingest_waiting").set(waiting as f64);
        let health = watch.look(waiting, pipeline.done_total(), Instant::now());
        let now_stalled = health == Health::Stalled;
        if now_stalled && !stalled {
            metrics::counter!("hexproof_ingest_stalls_total").increment(1);
            tracing::warn!(
                waiting,
                "ingest stalled: messages wait and none was stored for {} s",
                stall.as_secs()
            );
        } else if stalled && !now_stalled {
            tracing::info!("ingest flows again");
        }
        stalled = now_stalled;
        metrics::gauge!("hexproof_ingest_stalled").set(if stalled { 1.0 } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_is_work_waiting_without_progress() {
        let t0 = Instant::now();
        let s = Duration::from_secs(30);
        let mut w = Watch::new(s, t0);
        assert_eq!(w.look(0, 0, t0), Health::Idle);
        assert_eq!(w.look(5, 10, t0 + Duration::from_secs(1)), Health::Flowing);
        // Nothing stored for 29 s: still flowing; at 30 s: stalled.
        assert_eq!(w.look(5, 10, t0 + Duration::from_secs(30)), Health::Flowing);
        assert_eq!(w.look(5, 10, t0 + Duration::from_secs(31)), Health::Stalled);
        // Progress clears it; an idle pipeline is never stalled.
        assert_eq!(w.look(5, 11, t0 + Duration::from_secs(32)), Health::Flowing);
        assert_eq!(w.look(0, 11, t0 + Duration::from_secs(100)), Health::Idle);
    }
}
