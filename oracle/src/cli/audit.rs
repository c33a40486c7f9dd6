//! `oracle verify`, `oracle export`, `oracle status`: recorded reports and verdict counts.

use std::{collections::BTreeMap, path::Path, sync::Arc};

use hexproof_poc::Status;
use hexproof_proto::PublicKey;
use oracle::{audit, config::Config, registry::StaticRegistry, store::Store};

use super::render;

pub async fn verify(
    registry: &Path,
    reports: &Path,
    config: Option<&Path>,
    oracles: &[PublicKey],
    json: bool,
) -> anyhow::Result<()> {
    let limits = Config::load(config)?.validation;
    let registry = Arc::new(StaticRegistry::load(registry)?);
    let lines = audit::read_lines(reports)?;
    let judged = audit::verify(&lines, registry, limits, oracles).await?;
    if json {
        for j in &judged {
            println!("{}", render::judged_json(j));
        }
        return Ok(());
    }
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for j in &judged {
        let verdict = match (j.status, &j.reason) {
            (Status::Valid, _) if j.selected => "valid (selected)".to_string(),
            (Status::Valid, _) => "valid".to_string(),
            (_, Some(r)) => r.clone(),
            (s, None) => s.name().to_string(),
        };
        *counts
            .entry((j.report.kind.name().to_string(), verdict))
            .or_default() += 1;
    }
    println!("{:<12} {:<32} {:>8}", "kind", "verdict", "reports");
    for ((kind, verdict), n) in counts {
        println!("{kind:<12} {verdict:<32} {n:>8}");
    }
    Ok(())
}

pub async fn export(database: &str, out: &Path) -> anyhow::Result<()> {
    let store = Store::connect(database).await?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    let n = audit::export(&store, &mut file).await?;
    eprintln!("wrote {n} lines to {}", out.display());
    Ok(())
}

pub async fn status(database: &str, json: bool) -> anyhow::Result<()> {
    let store = Store::connect(database).await?;
    let summary = store.verdict_summary().await?;
    if json {
        let rows: Vec<_> = summary
            .iter()
            .map(|(k, s, r, n)| {
                serde_json::json!({"kind": k.name(), "status": s.name(), "reason": r, "count": n})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<12} {:<8} {:<32} {:>8}",
            "kind", "status", "reason", "reports"
        );
        for (k, s, r, n) in summary {
            println!(
                "{:<12} {:<8} {:<32} {n:>8}",
                k.name(),
                s.name(),
                r.unwrap_or_default()
            );
        }
    }
    Ok(())
}
