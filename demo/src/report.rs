//! What the demo shows of each closed epoch: verdicts, top earners, the root and what the chain
//! did with it.

use std::collections::BTreeMap;

use anyhow::Context;
use hexproof_client::{Chain, read};
use hexproof_fixtures::Network;
use hexproof_poc::{Kind, Status, rewards::RewardConfig};
use oracle::store::Store;
use serde::Serialize;

/// One closed epoch as the demo prints it.
#[derive(Debug, Clone, Serialize)]
pub struct EpochReport {
    pub epoch: u64,
    pub hotspots_active: usize,
    pub beacons_valid: u64,
    pub witnesses_valid: u64,
    /// Invalid reports by kind and reason ("witness/witness_too_far").
    pub invalid: BTreeMap<String, u64>,
    /// Hotspot name, key, what it earned this epoch.
    pub top_earners: Vec<(String, String, u64)>,
    pub paid: u64,
    /// Data: credits the router charged orgs for the epoch's copies, the tokens the data pool
    /// paid the hotspots that carried them, and the tokens re-minted for those credits.
    pub dc_charged: u64,
    pub data_paid: u64,
    pub remint: u64,
    pub merkle_root: String,
    /// The program's newest epoch and root equal this one's.
    pub on_chain: bool,
    /// In an oracle set: the member (`oracle-<i>`, the network's order) that proposed the
    /// inputs, and the members whose signatures of this root were seen.
    pub proposer: Option<String>,
    pub signers: Vec<String>,
    /// Tokens minted to owners by the claims after this epoch, and in all.
    pub minted: u64,
    pub minted_total: u64,
}

/// What epoch `n` judged, paid and put on chain.
pub async fn report_epoch(
    store: &Store,
    chain: &Chain,
    network: &Network,
    rewards: &RewardConfig,
    n: u64,
    minted_before: u64,
) -> anyhow::Result<EpochReport> {
    let e = store
        .closed_epoch(n)
        .await?
        .context("closed epoch vanished")?;
    let (start, end) = rewards.bounds(n);
    let mut beacons_valid = 0;
    let mut witnesses_valid = 0;
    let mut invalid = BTreeMap::new();
    for (kind, status, reason, count) in store.verdict_summary_between(start, end).await? {
        match (kind, status) {
            (Kind::Beacon, Status::Valid) => beacons_valid += count,
            (Kind::Witness, Status::Valid) => witnesses_valid += count,
            (_, Status::Invalid) => {
                *invalid
                    .entry(format!(
                        "{}/{}",
                        kind.name(),
                        reason.unwrap_or_else(|| "unknown".into())
                    ))
                    .or_insert(0) += count;
            }
            _ => {}
        }
    }
    let mut earned: Vec<_> = e
        .rows
        .iter()
        .filter(|r| r.beacon + r.witness > 0)
        .map(|r| {
            let name = network
                .hotspot(&r.hotspot)
                .map_or_else(|| r.hotspot.to_string(), |h| h.name.clone());
            (name, r.hotspot.to_string(), r.beacon + r.witness)
        })
        .collect();
    let hotspots_active = earned.len();
    earned.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    earned.truncate(5);
    let on = read::config(chain)
        .await?
        .context("program not initialized")?;
    let quorum = store.epoch_quorum(n).await?;
    let name = |key: &hexproof_proto::PublicKey| {
        network
            .oracles
            .iter()
            .position(|o| o.pubkey == *key)
            .map_or_else(|| key.to_string(), |i| format!("oracle-{i}"))
    };
    Ok(EpochReport {
        epoch: n,
        hotspots_active,
        beacons_valid,
        witnesses_valid,
        invalid,
        top_earners: earned,
        paid: e.paid,
        dc_charged: e.orgs.iter().map(|o| o.dc).sum(),
        data_paid: e.data_paid,
        remint: e.remint,
        merkle_root: hex::encode(e.root),
        on_chain: on.epoch == n && on.root == e.root,
        proposer: quorum.proposer.as_ref().map(name),
        signers: {
            let mut names: Vec<String> = quorum.signatures.iter().map(|(k, _)| name(k)).collect();
            names.sort();
            names
        },
        minted: on.minted.saturating_sub(minted_before),
        minted_total: on.minted,
    })
}

/// Prints an epoch as a compact table.
pub fn print_epoch(r: &EpochReport) {
    println!(
        "── epoch {} ── {} hotspots earned {} · root {}…",
        r.epoch,
        r.hotspots_active,
        r.paid,
        &r.merkle_root[..16]
    );
    println!(
        "   valid: {} beacons, {} witnesses   invalid: {}",
        r.beacons_valid,
        r.witnesses_valid,
        if r.invalid.is_empty() {
            "none".to_string()
        } else {
            r.invalid
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if r.dc_charged > 0 {
        println!(
            "   data: {} credits charged · {} paid to carriers · {} re-minted",
            r.dc_charged, r.data_paid, r.remint
        );
    }
    for (name, key, amount) in &r.top_earners {
        println!("   {amount:>14}  {name:<24} {}…", &key[..8.min(key.len())]);
    }
    if let Some(proposer) = &r.proposer {
        println!(
            "   quorum: proposed by {proposer} · signed by {} ({})",
            r.signers.join(", "),
            r.signers.len()
        );
    }
    println!(
        "   on chain: {} · minted to owners {} (total {})",
        if r.on_chain {
            "root submitted"
        } else {
            "NOT submitted"
        },
        r.minted,
        r.minted_total
    );
}
