//! The judging loop: judges pending beacons together with their witnesses once the witness
//! window has passed, and sweeps up witnesses whose beacon never came. The context (registry,
//! entropy history, earlier verdicts) is gathered from storage a chunk of beacons at a time;
//! the judging itself is the pure [`hexproof_poc::judge::judge_group`].
//!
//! Verdicts depend on the stored reports and their received times only, never on when a pass
//! runs: with `w` the witness window, a witness joins the first beacon of its packet (in
//! received order) received at most `w` before it and at most `2w` after it; a pass at `now`
//! judges beacons received up to `now − w` and sweeps witnesses received before `now − 3w`,
//! where `now` never passes what ingest has finished storing ([`Pipeline::settled_ns`]). A
//! live run (many passes) and a replay of its database (one pass) give the same verdicts.
//! A beacon received more than `2w` after a witness of its packet was held back
//! (`beacon_late`): every witness received before `b − w` is stored when it is judged, so this
//! too depends on stored received times only.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use hexproof_poc::{
    EntropyRecord, Invalid, Kind, Limits, Reason, Report, Status, Verdict,
    judge::{WitnessInput, judge_group},
    rules::beacon::BeaconContext,
};
use hexproof_proto::{
    Signed,
    clock::Clock,
    v1::{BeaconReport, WitnessReport},
};
use prost::Message;
use tokio_util::sync::CancellationToken;

use crate::{
    ingest::Pipeline,
    registry::Registry,
    store::{JudgedBeacon, Result, Store},
};

/// Beacons judged per chunk (one round of context queries, one transaction of verdicts).
const CHUNK: u32 = 256;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassStats {
    pub beacons: usize,
    pub witnesses: usize,
    pub orphans: usize,
}

/// The judge: storage, registry, limits, and a cache of entropy records.
#[derive(Debug)]
pub struct Judge {
    store: Store,
    registry: Arc<dyn Registry>,
    limits: Limits,
    entropy: HashMap<u64, EntropyRecord>,
    /// The ingest feeding `store`, when live: passes wait for it to store what it received.
    ingest: Option<Arc<Pipeline>>,
}

/// Whether a witness received at `witness_ns` is in the window of a beacon received at
/// `beacon_ns`: at most `w` after it, at most `2w` before it.
fn in_window(beacon_ns: u64, witness_ns: u64, w: u64) -> bool {
    witness_ns <= beacon_ns.saturating_add(w) && witness_ns.saturating_add(2 * w) >= beacon_ns
}

fn record_metrics(verdicts: &[(Verdict, Kind)]) {
    for (v, kind) in verdicts {
        let kind = kind.name();
        match v.reason {
            None => metrics::counter!("hexproof_reports_valid_total", "kind" => kind).increment(1),
            Some(r) => metrics::counter!("hexproof_reports_invalid_total", "kind" => kind, "reason" => r.code()).increment(1),
        }
    }
}

/// The timestamp in `times` nearest to `t`.
fn nearest(times: Option<&Vec<u64>>, t: u64) -> Option<u64> {
    times?.iter().copied().min_by_key(|x| x.abs_diff(t))
}

impl Judge {
    pub fn new(store: Store, registry: Arc<dyn Registry>, limits: Limits) -> Self {
        Judge {
            store,
            registry,
            limits,
            entropy: HashMap::new(),
            ingest: None,
        }
    }

    /// Live judging: never judges past what `ingest` has stored.
    pub fn after_ingest(mut self, ingest: Arc<Pipeline>) -> Self {
        self.ingest = Some(ingest);
        self
    }

    async fn entropy(&mut self, id: u64) -> Result<Option<EntropyRecord>> {
        if let Some(e) = self.entropy.get(&id) {
            return Ok(Some(e.clone()));
        }
        let e = self.store.entropy(id).await?;
        if let Some(e) = &e {
            self.entropy.insert(id, e.clone());
        }
        Ok(e)
    }

    /// Judges every beacon whose witness window has passed at `now_ns`, then the witnesses left
    /// without a beacon.
    pub async fn pass(&mut self, now_ns: u64) -> Result<PassStats> {
        let wait = self.limits.witness_wait_secs * 1_000_000_000;
        let mut stats = PassStats::default();
        loop {
            let beacons = self
                .store
                .pending_beacons(now_ns.saturating_sub(wait), CHUNK)
                .await?;
            if beacons.is_empty() {
                break;
            }
            stats.beacons += beacons.len();
            stats.witnesses += self.judge_beacons(&beacons).await?;
        }
        // Witnesses still pending three windows after arrival: their beacon never came in time.
        loop {
            let orphans = self
                .store
                .stale_pending_witnesses(now_ns.saturating_sub(3 * wait), 2 * CHUNK)
                .await?;
            if orphans.is_empty() {
                break;
            }
            stats.orphans += orphans.len();
            self.judge_orphans(&orphans, now_ns).await?;
        }
        Ok(stats)
    }

    /// Judges a chunk of beacons (oldest first) with their pending witnesses, in one
    /// transaction; returns how many witnesses were judged.
    async fn judge_beacons(&mut self, beacons: &[Report]) -> Result<usize> {
        let packets: Vec<[u8; 32]> = {
            let set: HashSet<[u8; 32]> = beacons.iter().filter_map(|b| b.packet_hash).collect();
            set.into_iter().collect()
        };
        let receipts = self.store.witness_receipts_of(&packets).await?;
        let mut witnesses: HashMap<[u8; 32], Vec<Report>> = HashMap::new();
        for w in self.store.pending_witnesses_of(&packets).await? {
            if let Some(h) = w.packet_hash {
                witnesses.entry(h).or_default().push(w);
            }
        }
        // Packets a valid beacon already carried, and each beaconer's valid beacon times
        // within one interval of the chunk: what the duplicate and frequency rules look at.
        let mut beaconed: HashSet<[u8; 32]> = self
            .store
            .judged_beacons_with(&packets)
            .await?
            .into_iter()
            .filter(|b| b.valid)
            .map(|b| b.packet_hash)
            .collect();
        let interval = self.limits.beacon_interval_secs * 1_000_000_000;
        let (lo, hi) = beacons.iter().fold((u64::MAX, 0), |(lo, hi), b| {
            (lo.min(b.timestamp_ns), hi.max(b.timestamp_ns))
        });
        let hotspots: Vec<String> = {
            let set: HashSet<&String> = beacons.iter().map(|b| &b.hotspot).collect();
            set.into_iter().cloned().collect()
        };
        let mut valid_times = self
            .store
            .valid_beacon_times(
                &hotspots,
                lo.saturating_sub(interval),
                hi.saturating_add(interval),
            )
            .await?;

        let mut saved: Vec<(Verdict, u64)> = Vec::new();
        let mut judged: Vec<(Verdict, Kind)> = Vec::new();
        let mut witness_count = 0;
        for beacon in beacons {
            let malformed = |detail: String| {
                Verdict::invalid(beacon.id, Invalid::new(Reason::Malformed, detail), None)
            };
            let Some(hash) = beacon.packet_hash else {
                saved.push((malformed("no packet".into()), beacon.received_ns));
                continue;
            };
            let report = match BeaconReport::decode(beacon.payload.as_slice()) {
                Ok(r) => r,
                Err(e) => {
                    saved.push((malformed(e.to_string()), beacon.received_ns));
                    continue;
                }
            };
            let beaconer = report.signer().ok().and_then(|k| self.registry.get(&k));
            let entropy = self.entropy(report.entropy_id).await?;
            // The first beacon of a packet takes the witnesses in its window; the others stay
            // pending for a later beacon of the packet or the orphan sweep.
            let window = self.limits.witness_wait_secs * 1_000_000_000;
            let mine: Vec<Report> = match witnesses.get_mut(&hash) {
                Some(all) => {
                    let (mine, rest) = std::mem::take(all)
                        .into_iter()
                        .partition(|w| in_window(beacon.received_ns, w.received_ns, window));
                    *all = rest;
                    mine
                }
                None => Vec::new(),
            };
            let inputs: Vec<WitnessInput> = mine
                .into_iter()
                .map(|stored| {
                    let report = WitnessReport::decode(stored.payload.as_slice()).ok();
                    let witness = report
                        .as_ref()
                        .and_then(|r| r.signer().ok())
                        .and_then(|k| self.registry.get(&k));
                    WitnessInput {
                        stored,
                        report,
                        witness,
                    }
                })
                .collect();
            let ctx = BeaconContext {
                beaconer: beaconer.as_ref(),
                entropy: entropy.as_ref(),
                nearest_valid_beacon_ns: nearest(
                    valid_times.get(&beacon.hotspot),
                    report.timestamp_ns,
                ),
                duplicate_packet: beaconed.contains(&hash),
                received_ns: beacon.received_ns,
                early_witnesses: receipts.get(&hash).map_or(0, |times| {
                    times
                        .iter()
                        .filter(|&&t| t.saturating_add(2 * window) < beacon.received_ns)
                        .count()
                }),
            };
            let verdicts = judge_group(beacon, &report, &ctx, &inputs, &self.limits);
            if verdicts[0].status == Status::Valid {
                beaconed.insert(hash);
                valid_times
                    .entry(beacon.hotspot.clone())
                    .or_default()
                    .push(report.timestamp_ns);
            }
            let judged_at = inputs
                .iter()
                .map(|w| w.stored.received_ns)
                .fold(beacon.received_ns, u64::max);
            witness_count += inputs.len();
            for (i, v) in verdicts.into_iter().enumerate() {
                let kind = if i == 0 { Kind::Beacon } else { Kind::Witness };
                judged.push((v.clone(), kind));
                saved.push((v, judged_at));
            }
        }
        self.store.save_verdicts(&saved).await?;
        record_metrics(&judged);
        Ok(witness_count)
    }

    /// Witnesses whose beacon never came in time: late (their beacon was judged valid without
    /// them) or without a valid beacon.
    async fn judge_orphans(&mut self, orphans: &[Report], now_ns: u64) -> Result<()> {
        let packets: Vec<[u8; 32]> = {
            let set: HashSet<[u8; 32]> = orphans.iter().filter_map(|w| w.packet_hash).collect();
            set.into_iter().collect()
        };
        // Judged beacons by packet. Only those whose window closed before the witness arrived
        // speak for it (they are judged by the time any pass sweeps it, whatever its timing);
        // a valid one first, then the earliest.
        let window = self.limits.witness_wait_secs * 1_000_000_000;
        let mut by_packet: HashMap<[u8; 32], Vec<JudgedBeacon>> = HashMap::new();
        for b in self.store.judged_beacons_with(&packets).await? {
            by_packet.entry(b.packet_hash).or_default().push(b);
        }
        let mut verdicts = Vec::with_capacity(orphans.len());
        for w in orphans {
            let judged = w
                .packet_hash
                .and_then(|h| by_packet.get(&h))
                .and_then(|beacons| {
                    beacons
                        .iter()
                        .filter(|b| b.received_ns.saturating_add(window) < w.received_ns)
                        .min_by_key(|b| (!b.valid, b.timestamp_ns, b.id))
                })
                .map(|b| (b.id, b.valid, b.timestamp_ns));
            let judged = judged.as_ref();
            let (e, beacon_id) = match judged {
                Some((id, true, _)) => (
                    Invalid::new(
                        Reason::WitnessLate,
                        "arrived after its beacon had been judged",
                    ),
                    Some(*id),
                ),
                Some((id, false, _)) => (
                    Invalid::new(
                        Reason::WitnessNoValidBeacon,
                        "the beacon it heard is invalid",
                    ),
                    Some(*id),
                ),
                None => (
                    Invalid::new(
                        Reason::WitnessNoValidBeacon,
                        "no beacon with this packet was received in its window",
                    ),
                    None,
                ),
            };
            verdicts.push(Verdict::invalid(w.id, e, beacon_id));
        }
        let judged: Vec<(Verdict, Kind)> = verdicts
            .iter()
            .map(|v| (v.clone(), Kind::Witness))
            .collect();
        let saved: Vec<(Verdict, u64)> = verdicts.into_iter().map(|v| (v, now_ns)).collect();
        self.store.save_verdicts(&saved).await?;
        record_metrics(&judged);
        Ok(())
    }

    /// Runs passes every `every` of real time until `shutdown`.
    pub async fn run(mut self, clock: Clock, every: Duration, shutdown: CancellationToken) {
        loop {
            let now = clock.now_ns();
            let settled = self.ingest.as_ref().map_or(now, |p| p.settled_ns(now));
            match self.pass(settled).await {
                Ok(s) if s.beacons + s.orphans > 0 => {
                    tracing::debug!(
                        beacons = s.beacons,
                        witnesses = s.witnesses,
                        orphans = s.orphans,
                        "judging pass"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::error!(%e, "judging pass failed; will retry"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}
