//! A beacon with its witnesses: the beacon's rules, each witness's rules against the beacon,
//! duplicates (the first by timestamp, then id, counts), and the deterministic selection of the
//! witnesses that earn ([`crate::selection`]).

use hexproof_proto::{
    PublicKey,
    v1::{BeaconReport, WitnessReport},
};

use crate::{
    HotspotInfo, Invalid, Limits, Reason, Report, Verdict,
    rules::{
        self,
        beacon::BeaconContext,
        witness::{HeardBeacon, WitnessContext},
    },
    selection,
};

/// A pending witness with what it decodes to and who sent it.
#[derive(Debug, Clone)]
pub struct WitnessInput {
    pub stored: Report,
    pub report: Option<WitnessReport>,
    pub witness: Option<HotspotInfo>,
}

/// Judges a beacon and its witnesses: the beacon's rules, each witness's rules against the
/// beacon (when valid), duplicates (first by timestamp, then id), and the deterministic
/// selection of at most `max_witnesses_per_beacon` rewarded witnesses.
pub fn judge_group(
    beacon: &Report,
    report: &BeaconReport,
    ctx: &BeaconContext<'_>,
    witnesses: &[WitnessInput],
    limits: &Limits,
) -> Vec<Verdict> {
    let mut verdicts = Vec::with_capacity(witnesses.len() + 1);
    let beacon_result = rules::beacon::check(report, ctx, limits);
    let beacon_valid = beacon_result.is_ok();
    verdicts.push(match beacon_result {
        Ok(()) => Verdict::valid(beacon.id, None),
        Err(e) => Verdict::invalid(beacon.id, e, None),
    });
    let heard = match (beacon_valid, ctx.beaconer) {
        (true, Some(beaconer)) => Some(HeardBeacon { report, beaconer }),
        _ => None,
    };

    let mut seen: Vec<PublicKey> = Vec::new();
    let mut valid: Vec<usize> = Vec::new();
    for w in witnesses {
        let Some(wr) = &w.report else {
            verdicts.push(Verdict::invalid(
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
        match rules::witness::check(wr, &wctx, limits) {
            Ok(()) => {
                if let Some(k) = key {
                    seen.push(k);
                }
                valid.push(verdicts.len());
                verdicts.push(Verdict::valid(w.stored.id, Some(beacon.id)));
            }
            Err(e) => {
                let invalid_beacon = !beacon_valid && e.reason == Reason::WitnessNoValidBeacon;
                let e = if invalid_beacon {
                    let why = verdicts[0].reason.map_or("", |r| r.code());
                    Invalid::new(e.reason, format!("the beacon it heard is invalid ({why})"))
                } else {
                    e
                };
                verdicts.push(Verdict::invalid(w.stored.id, e, Some(beacon.id)));
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
