//! The validation loop: judges pending beacons together with their witnesses once the witness
//! window has passed, and sweeps up witnesses whose beacon never came. Context (registry,
//! entropy history, earlier verdicts) is gathered from storage; the judging itself is the pure
//! [`judge_group`].

use std::{collections::HashMap, sync::Arc, time::Duration};

use hexproof_proto::{
    PublicKey, Signed,
    clock::Clock,
    v1::{BeaconReport, WitnessReport},
};
use prost::Message;
use tokio_util::sync::CancellationToken;

use crate::{
    registry::Registry,
    store::{Kind, Status, Store, StoredReport, Verdict},
    validation::{
        self, EntropyRecord, HotspotInfo, Invalid, Limits, Reason,
        beacon::BeaconContext,
        selection,
        witness::{HeardBeacon, WitnessContext},
    },
};

/// A pending witness with what it decodes to and who sent it.
#[derive(Debug, Clone)]
pub struct WitnessInput {
    pub stored: StoredReport,
    pub report: Option<WitnessReport>,
    pub witness: Option<HotspotInfo>,
}

fn invalid(id: [u8; 32], e: Invalid, beacon_id: Option<[u8; 32]>) -> Verdict {
    Verdict {
        id,
        status: Status::Invalid,
        reason: Some(e.reason),
        detail: e.detail,
        beacon_id,
        selected: false,
    }
}

/// Judges a beacon and its witnesses: the beacon's rules, each witness's rules against the
/// beacon (when valid), duplicates (first by timestamp, then id), and the deterministic
/// selection of at most `max_witnesses_per_beacon` rewarded witnesses.
pub fn judge_group(
    beacon: &StoredReport,
    report: &BeaconReport,
    ctx: &BeaconContext<'_>,
    witnesses: &[WitnessInput],
    limits: &Limits,
) -> Vec<Verdict> {
    let mut verdicts = Vec::with_capacity(witnesses.len() + 1);
    let beacon_result = validation::beacon::check(report, ctx, limits);
    let beacon_valid = beacon_result.is_ok();
    verdicts.push(match beacon_result {
        Ok(()) => Verdict {
            id: beacon.id,
            status: Status::Valid,
            reason: None,
            detail: String::new(),
            beacon_id: None,
            selected: false,
        },
        Err(e) => invalid(beacon.id, e, None),
    });
    let heard = match (beacon_valid, ctx.beaconer) {
        (true, Some(beaconer)) => Some(HeardBeacon { report, beaconer }),
        _ => None,
    };

    let mut seen: Vec<PublicKey> = Vec::new();
    let mut valid: Vec<usize> = Vec::new();
    for w in witnesses {
        let Some(wr) = &w.report else {
            verdicts.push(invalid(
                w.stored.id,
                Invalid::new(Reason::Malformed, "stored payload no longer decodes"),
                Some(beacon.id),
            ));
            continue;
        };
        let key = PublicKey::try_from(wr.witness.as_slice()).ok();
        let duplicate = key.is_some_and(|k| seen.contains(&k));
        let wctx = WitnessContext {
            witness: w.witness.as_ref(),
            beacon: heard,
            duplicate,
            received_ns: w.stored.received_ns,
        };
        match validation::witness::check(wr, &wctx, limits) {
            Ok(()) => {
                if let Some(k) = key {
                    seen.push(k);
                }
                valid.push(verdicts.len());
                verdicts.push(Verdict {
                    id: w.stored.id,
                    status: Status::Valid,
                    reason: None,
                    detail: String::new(),
                    beacon_id: Some(beacon.id),
                    selected: false,
                });
            }
            Err(e) => {
                let invalid_beacon = !beacon_valid && e.reason == Reason::WitnessNoValidBeacon;
                let e = if invalid_beacon {
                    let why = verdicts[0].reason.map_or("", |r| r.code());
                    Invalid::new(e.reason, format!("the beacon it heard is invalid ({why})"))
                } else {
                    e
                };
                verdicts.push(invalid(w.stored.id, e, Some(beacon.id)));
            }
        }
    }
    if let Some(entropy) = ctx.entropy {
        let ids: Vec<[u8; 32]> = valid.iter().map(|&i| verdicts[i].id).collect();
        let chosen = selection::select(
            &entropy.data,
            &beacon.id,
            &ids,
            limits.max_witnesses_per_beacon,
        );
        for (&i, chosen) in valid.iter().zip(chosen) {
            verdicts[i].selected = chosen;
        }
    }
    verdicts
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassStats {
    pub beacons: usize,
    pub witnesses: usize,
    pub orphans: usize,
}

/// The validator: storage, registry, limits, and a cache of entropy records.
#[derive(Debug)]
pub struct Validator {
    store: Store,
    registry: Arc<dyn Registry>,
    limits: Limits,
    entropy: HashMap<u64, EntropyRecord>,
}

fn record_metrics(kind: Kind, verdicts: &[Verdict]) {
    for (i, v) in verdicts.iter().enumerate() {
        let kind = if i == 0 && kind == Kind::Beacon {
            "beacon"
        } else {
            "witness"
        };
        match v.reason {
            None => metrics::counter!("hexproof_reports_valid_total", "kind" => kind).increment(1),
            Some(r) => metrics::counter!("hexproof_reports_invalid_total", "kind" => kind, "reason" => r.code()).increment(1),
        }
    }
}

impl Validator {
    pub fn new(store: Store, registry: Arc<dyn Registry>, limits: Limits) -> Self {
        Validator {
            store,
            registry,
            limits,
            entropy: HashMap::new(),
        }
    }

    async fn entropy(&mut self, id: u64) -> crate::store::Result<Option<EntropyRecord>> {
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
    pub async fn pass(&mut self, now_ns: u64) -> crate::store::Result<PassStats> {
        let wait = self.limits.witness_wait_secs * 1_000_000_000;
        let mut stats = PassStats::default();
        loop {
            let beacons = self
                .store
                .pending_beacons(now_ns.saturating_sub(wait), 256)
                .await?;
            if beacons.is_empty() {
                break;
            }
            for beacon in &beacons {
                stats.beacons += 1;
                stats.witnesses += self.judge_beacon(beacon).await?;
            }
        }
        // Witnesses still pending three windows after arrival: their beacon never came in time.
        loop {
            let orphans = self
                .store
                .stale_pending_witnesses(now_ns.saturating_sub(3 * wait), 512)
                .await?;
            if orphans.is_empty() {
                break;
            }
            let mut verdicts = Vec::with_capacity(orphans.len());
            for w in &orphans {
                let judged = match &w.packet_hash {
                    Some(h) => self.store.judged_beacon_with_packet(h).await?,
                    None => None,
                };
                let (e, beacon_id) = match judged {
                    Some((id, true)) => (
                        Invalid::new(
                            Reason::WitnessLate,
                            "arrived after its beacon had been judged",
                        ),
                        Some(id),
                    ),
                    Some((id, false)) => (
                        Invalid::new(
                            Reason::WitnessNoValidBeacon,
                            "the beacon it heard is invalid",
                        ),
                        Some(id),
                    ),
                    None => (
                        Invalid::new(
                            Reason::WitnessNoValidBeacon,
                            "no beacon with this packet was reported",
                        ),
                        None,
                    ),
                };
                verdicts.push(invalid(w.id, e, beacon_id));
            }
            stats.orphans += verdicts.len();
            record_metrics(Kind::Witness, &verdicts);
            self.store.save_verdicts(&verdicts, now_ns).await?;
        }
        Ok(stats)
    }

    async fn judge_beacon(&mut self, beacon: &StoredReport) -> crate::store::Result<usize> {
        let Some(hash) = beacon.packet_hash else {
            let v = invalid(
                beacon.id,
                Invalid::new(Reason::Malformed, "no packet"),
                None,
            );
            self.store.save_verdicts(&[v], beacon.received_ns).await?;
            return Ok(0);
        };
        let witnesses = self.store.pending_witnesses(&hash).await?;
        let report = match BeaconReport::decode(beacon.payload.as_slice()) {
            Ok(r) => r,
            Err(e) => {
                let v = invalid(
                    beacon.id,
                    Invalid::new(Reason::Malformed, e.to_string()),
                    None,
                );
                self.store.save_verdicts(&[v], beacon.received_ns).await?;
                return Ok(0);
            }
        };
        let beaconer = report.signer().ok().and_then(|k| self.registry.get(&k));
        let entropy = self.entropy(report.entropy_id).await?;
        let nearest = self
            .store
            .nearest_valid_beacon_ns(&beacon.hotspot, report.timestamp_ns)
            .await?;
        let duplicate_packet = matches!(
            self.store.judged_beacon_with_packet(&hash).await?,
            Some((_, true))
        );
        let inputs: Vec<WitnessInput> = witnesses
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
            nearest_valid_beacon_ns: nearest,
            duplicate_packet,
            received_ns: beacon.received_ns,
        };
        let verdicts = judge_group(beacon, &report, &ctx, &inputs, &self.limits);
        record_metrics(Kind::Beacon, &verdicts);
        let judged_at = beacon.received_ns.max(
            inputs
                .iter()
                .map(|w| w.stored.received_ns)
                .max()
                .unwrap_or(0),
        );
        self.store.save_verdicts(&verdicts, judged_at).await?;
        Ok(inputs.len())
    }

    /// Runs passes every `every` of real time until `shutdown`, then one last pass.
    pub async fn run(mut self, clock: Clock, every: Duration, shutdown: CancellationToken) {
        loop {
            match self.pass(clock.now_ns()).await {
                Ok(s) if s.beacons + s.orphans > 0 => {
                    tracing::debug!(
                        beacons = s.beacons,
                        witnesses = s.witnesses,
                        orphans = s.orphans,
                        "validation pass"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::error!(%e, "validation pass failed; will retry"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}
