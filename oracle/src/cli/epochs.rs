//! `oracle epoch close|show`, `oracle rewards replay|proof`.

use anyhow::Context;
use oracle::epochs;

use super::{EpochCommand, RewardsCommand, closed_epoch, open, render};

pub async fn epoch(command: EpochCommand) -> anyhow::Result<()> {
    match command {
        EpochCommand::Close {
            config,
            at_ns,
            json,
        } => {
            let (config, store, registry, key) = open(config.as_deref()).await?;
            anyhow::ensure!(
                config.quorum.peers.is_empty(),
                "this oracle is a member of an oracle set ([quorum] peers): its epochs close \
                 when the set agrees (`oracle run`), not by hand"
            );
            let now = at_ns.unwrap_or_else(|| config.clock.clock().now_ns());
            let closed = epochs::close_ready(&store, &registry, &config.rewards, &key, now).await?;
            for e in &closed {
                if json {
                    println!("{}", render::epoch_json(e));
                } else {
                    render::print_epoch(e);
                }
            }
            if closed.is_empty() {
                eprintln!("no epoch is ready to close");
            }
        }
        EpochCommand::Show {
            epoch,
            config,
            json,
        } => {
            let (_, store, _, _) = open(config.as_deref()).await?;
            let e = closed_epoch(&store, Some(epoch)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&render::epoch_json(&e))?);
            } else {
                render::print_epoch(&e);
            }
        }
    }
    Ok(())
}

pub async fn rewards(command: RewardsCommand) -> anyhow::Result<()> {
    match command {
        RewardsCommand::Replay {
            epoch,
            config,
            json,
        } => {
            let (config, store, registry, key) = open(config.as_deref()).await?;
            let stored = closed_epoch(&store, Some(epoch)).await?;
            let again = epochs::recompute(&store, &registry, &config.rewards, epoch, &key)
                .await?
                .epoch;
            let same = stored.root == again.root && stored.rows == again.rows;
            let (a, b) = (hex::encode(stored.root), hex::encode(again.root));
            if json {
                println!(
                    "{}",
                    serde_json::json!({"epoch": epoch, "stored_root": a, "recomputed_root": b, "match": same})
                );
            } else {
                let verdict = if same { "MATCH" } else { "MISMATCH" };
                println!("epoch {epoch}: stored root {a}  recomputed {b}  {verdict}");
            }
            anyhow::ensure!(
                same,
                "recomputing epoch {epoch} gives another result than the stored one"
            );
        }
        RewardsCommand::Proof {
            epoch,
            hotspot,
            config,
            json,
        } => {
            let (_, store, _, _) = open(config.as_deref()).await?;
            let e = closed_epoch(&store, Some(epoch)).await?;
            let index = e
                .rows
                .iter()
                .position(|r| r.hotspot == hotspot)
                .with_context(|| format!("{hotspot} has no reward at epoch {epoch}"))?;
            let proof = e.tree().proof(index).context("proof")?;
            let amount = e.rows[index].lifetime;
            let root = hex::encode(e.root);
            if json {
                println!(
                    "{}",
                    serde_json::json!({"epoch": epoch, "hotspot": hotspot.to_string(),
                        "lifetime_amount": amount, "leaf_index": index, "merkle_root": root,
                        "proof": proof.iter().map(hex::encode).collect::<Vec<_>>()})
                );
            } else {
                println!(
                    "hotspot {hotspot}  epoch {epoch}  lifetime {amount}  leaf {index}  root {root}"
                );
                for (i, p) in proof.iter().enumerate() {
                    println!("  sibling {i:>2}: {}", hex::encode(p));
                }
            }
        }
    }
    Ok(())
}
