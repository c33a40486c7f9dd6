//! How commands print: tables for people, JSON for programs.

use hexproof_poc::{Status, rewards::epoch::ClosedEpoch};
use oracle::store::JudgedReport;
use serde_json::{Value, json};

pub fn epoch_json(e: &ClosedEpoch) -> Value {
    json!({
        "epoch": e.epoch,
        "start_ns": e.start_ns,
        "end_ns": e.end_ns,
        "emission": e.emission,
        "paid": e.paid,
        "dust": e.dust,
        "lifetime_total": e.lifetime_total,
        "hotspots": e.rows.len(),
        "merkle_root": hex::encode(e.root),
        "program_id": e.program_id.to_string(),
        "oracle": e.oracle.to_string(),
        "signature": hex::encode(e.signature),
        "rewards": e.rows.iter().filter(|r| r.beacon + r.witness > 0).map(|r| json!({
            "hotspot": r.hotspot.to_string(), "beacon": r.beacon, "witness": r.witness,
            "lifetime": r.lifetime,
        })).collect::<Vec<_>>(),
    })
}

pub fn print_epoch(e: &ClosedEpoch) {
    println!(
        "epoch {}  [{}, {})  root {}",
        e.epoch,
        e.start_ns,
        e.end_ns,
        hex::encode(e.root)
    );
    println!(
        "emission {}  paid {}  dust {}  lifetime total {}  hotspots {}",
        e.emission,
        e.paid,
        e.dust,
        e.lifetime_total,
        e.rows.len()
    );
    println!(
        "{:<46} {:>14} {:>14} {:>16}",
        "hotspot", "beacon", "witness", "lifetime"
    );
    let mut rows: Vec<_> = e.rows.iter().filter(|r| r.beacon + r.witness > 0).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.beacon + r.witness));
    for r in rows {
        println!(
            "{:<46} {:>14} {:>14} {:>16}",
            r.hotspot.to_string(),
            r.beacon,
            r.witness,
            r.lifetime
        );
    }
}

/// One report's verdict as a JSON line.
pub fn judged_json(j: &JudgedReport) -> Value {
    json!({
        "id": hex::encode(j.report.id),
        "kind": j.report.kind.name(),
        "hotspot": j.report.hotspot,
        "timestamp_ns": j.report.timestamp_ns,
        "valid": j.status == Status::Valid,
        "reason": j.reason,
        "detail": j.detail,
        "selected": j.selected,
    })
}
