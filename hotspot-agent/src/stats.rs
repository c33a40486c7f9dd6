//! Counters the agent keeps about itself (read by the swarm's progress line, logs and tests).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

#[derive(Debug, Default)]
pub struct Stats {
    pub beacons: AtomicU64,
    pub witnesses: AtomicU64,
    /// Reports the broker acknowledged.
    pub published: AtomicU64,
    /// Beacons due while no fresh oracle entropy was known.
    pub beacons_waiting_for_entropy: AtomicU64,
    pub tx_errors: AtomicU64,
    pub entropy_accepted: AtomicU64,
    pub entropy_rejected: AtomicU64,
    pub outbox_dropped: AtomicU64,
    pub outbox_pending: AtomicU64,
    pub connected: AtomicBool,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }
}
