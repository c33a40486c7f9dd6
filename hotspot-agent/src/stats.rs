//! Counters the agent keeps about itself (read by the swarm's progress line, logs and tests).

use std::sync::{
    Mutex,
    atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
};

#[derive(Debug, Default)]
pub struct Stats {
    pub beacons: AtomicU64,
    pub witnesses: AtomicU64,
    /// Device uplinks heard and reported to the router.
    pub packets: AtomicU64,
    /// Reports the broker acknowledged.
    pub published: AtomicU64,
    /// Beacons due while no fresh oracle entropy was known.
    pub beacons_waiting_for_entropy: AtomicU64,
    pub tx_errors: AtomicU64,
    pub entropy_accepted: AtomicU64,
    pub entropy_rejected: AtomicU64,
    /// Reports dropped from a full outbox (its `max_reports`) or unreadable in it.
    pub outbox_dropped: AtomicU64,
    /// Reports that could not be written to the outbox at all (disk full, I/O error): lost.
    pub outbox_lost: AtomicU64,
    pub outbox_pending: AtomicU64,
    pub connected: AtomicBool,
    /// The ids of the reports the broker acknowledged, when recording is on (simulations and
    /// tests account by identity: every acknowledged report must be stored by the oracle).
    acknowledged: Mutex<Option<Vec<[u8; 32]>>>,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }

    /// Stats that also record the id of every acknowledged report.
    pub fn recording_acks() -> Self {
        Stats {
            acknowledged: Mutex::new(Some(Vec::new())),
            ..Stats::default()
        }
    }

    pub fn records_acks(&self) -> bool {
        self.acknowledged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    pub(crate) fn record_ack(&self, id: [u8; 32]) {
        if let Some(ids) = self
            .acknowledged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            ids.push(id);
        }
    }

    /// The recorded acknowledged report ids (empty when not recording).
    pub fn acknowledged_ids(&self) -> Vec<[u8; 32]> {
        self.acknowledged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_default()
    }
}
