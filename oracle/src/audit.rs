//! Recorded reports as a file, for audit and debugging: `oracle export` writes what a database
//! holds, `oracle verify` judges such a file offline from scratch (a throwaway SQLite database,
//! the same classification and judging code as the live oracle).
//!
//! The format is JSON lines, one message each, in the order received:
//! `{"topic": "...", "payload": "<hex>", "received_ns": 123}`. Entropy messages
//! (`hexproof/v1/entropy`) come first.

use std::{io::Write, path::Path, sync::Arc};

use anyhow::Context;
use hexproof_poc::{EntropyRecord, Kind, Limits};
use hexproof_proto::{PublicKey, Signed, topics, v1::Entropy};
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::{
    classify::{self, Incoming},
    judging::Judge,
    registry::Registry,
    store::{JudgedReport, Store},
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub topic: String,
    pub payload: String,
    pub received_ns: u64,
}

impl Line {
    pub fn incoming(&self) -> anyhow::Result<Incoming> {
        Ok(Incoming {
            topic: self.topic.clone(),
            payload: hex::decode(&self.payload).context("payload is not hex")?,
            received_ns: self.received_ns,
        })
    }
}

pub fn read_lines(path: &Path) -> anyhow::Result<Vec<Line>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{}:{}", path.display(), i + 1))
        })
        .collect()
}

/// Writes a database's entropy and reports as recorded lines.
pub async fn export(store: &Store, out: &mut impl Write) -> anyhow::Result<usize> {
    let mut n = 0;
    for (record, message) in store.entropy_history().await? {
        let line = Line {
            topic: topics::ENTROPY.into(),
            payload: hex::encode(message),
            received_ns: record.timestamp_ns,
        };
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
        n += 1;
    }
    for r in store.received_reports().await? {
        let topic = match r.kind {
            Kind::Beacon => format!("{}/beacons/{}", topics::ROOT, r.hotspot),
            _ => format!("{}/witnesses/{}", topics::ROOT, r.hotspot),
        };
        let line = Line {
            topic,
            payload: hex::encode(r.payload),
            received_ns: r.received_ns,
        };
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
        n += 1;
    }
    Ok(n)
}

/// Judges recorded lines from scratch in a throwaway database; returns every report with its
/// verdict. Entropy lines must be signed by one of `oracles` (any signer when empty).
pub async fn verify(
    lines: &[Line],
    registry: Arc<dyn Registry>,
    limits: Limits,
    oracles: &[PublicKey],
) -> anyhow::Result<Vec<JudgedReport>> {
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("verify.db").display()
    ))
    .await?;
    judge_into(&store, lines, registry, limits, oracles).await?;
    Ok(store.judged_reports().await?)
}

/// Stores recorded lines in `store` and judges them all (every window closed).
pub async fn judge_into(
    store: &Store,
    lines: &[Line],
    registry: Arc<dyn Registry>,
    limits: Limits,
    oracles: &[PublicKey],
) -> anyhow::Result<()> {
    let mut messages = Vec::new();
    let mut last = 0;
    for line in lines {
        let incoming = line.incoming()?;
        last = last.max(incoming.received_ns);
        if incoming.topic == topics::ENTROPY {
            let e = Entropy::decode(incoming.payload.as_slice())
                .context("an entropy line does not decode")?;
            let signer = e
                .verify()
                .context("an entropy line is not validly signed")?;
            anyhow::ensure!(
                oracles.is_empty() || oracles.contains(&signer),
                "entropy signed by {signer}, not a given oracle"
            );
            let record = EntropyRecord {
                id: e.id,
                data: e.data.clone(),
                timestamp_ns: e.timestamp_ns,
                ttl_secs: e.ttl_secs,
            };
            store.insert_entropy(&record, &incoming.payload).await?;
        } else {
            messages.push(incoming);
        }
    }
    let keys = classify::KeyCache::new(registry.all().iter().map(|h| h.pubkey));
    store
        .insert_reports(&classify::classify_all(&messages, &keys))
        .await?;
    let mut judge = Judge::new(store.clone(), registry, limits.clone());
    // Late enough that every window has closed.
    let end = last + (limits.witness_wait_secs * 4 + 1) * 1_000_000_000;
    judge.pass(end).await?;
    Ok(())
}
