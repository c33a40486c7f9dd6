//! The router's receipts: stored when a copy is bought, marked when its network server has it.

use hexproof_proto::v1::{PacketReceipt, PacketReport};
use std::collections::BTreeMap;

use prost::Message;
use sqlx::Row;

use super::{Result, Store, StoreError, i64_of, id32, u64_of};

/// A bought copy waiting for (or past) delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReceipt {
    pub id: [u8; 32],
    pub receipt: PacketReceipt,
    pub report: PacketReport,
    pub delivered_ns: Option<u64>,
    /// Sends not acknowledged so far.
    pub attempts: u32,
}

/// A hotspot's packets: reports the router took from it, copies bought, copies delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HotspotPackets {
    pub heard: u64,
    pub bought: u64,
    pub delivered: u64,
}

/// A route's packets: distinct packets it bought copies of, copies bought and delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoutePackets {
    pub route_id: u64,
    pub oui: u64,
    pub packets: u64,
    pub bought: u64,
    pub delivered: u64,
}

/// How long a copy waits after `attempts` sends were not acknowledged: 1 s, doubling, at most
/// 5 minutes.
pub fn backoff_ns(attempts: u32) -> u64 {
    1_000_000_000u64
        .saturating_mul(1 << attempts.min(9))
        .min(300_000_000_000)
}

impl Store {
    /// Stores receipts with the reports they bought; a copy already bought (same packet,
    /// hotspot and route) is left as it was. Returns how many were new.
    pub async fn save_receipts(&self, bought: &[(PacketReceipt, PacketReport)]) -> Result<u64> {
        self.save_packets(bought, &BTreeMap::new(), 0).await
    }

    /// [`Store::save_receipts`], and in the same transaction adds `heard` (reports taken per
    /// hotspot, base58 key) to each hotspot's count, as of `now_ns`.
    pub async fn save_packets(
        &self,
        bought: &[(PacketReceipt, PacketReport)],
        heard: &BTreeMap<String, u64>,
        now_ns: u64,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        for (hotspot, n) in heard {
            sqlx::query(
                "INSERT INTO packet_heard (hotspot, heard, last_ns) VALUES ($1, $2, $3) \
                 ON CONFLICT (hotspot) DO UPDATE SET heard = packet_heard.heard + excluded.heard, \
                 last_ns = excluded.last_ns",
            )
            .bind(hotspot.clone())
            .bind(i64_of(*n))
            .bind(i64_of(now_ns))
            .execute(&mut *tx)
            .await?;
        }
        let mut new = 0;
        for (receipt, report) in bought {
            let done = sqlx::query(
                "INSERT INTO packet_receipts (id, payload_hash, hotspot, oui, route_id, \
                 payload_size, bought_ns, receipt, report) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(hexproof_proto::receipts::receipt_id(receipt).to_vec())
            .bind(receipt.payload_hash.clone())
            .bind(
                hexproof_proto::PublicKey::try_from(receipt.hotspot.as_slice())
                    .map(|k| k.to_string())
                    .unwrap_or_default(),
            )
            .bind(i64_of(receipt.oui))
            .bind(i64_of(receipt.route_id))
            .bind(i64::from(receipt.payload_size))
            .bind(i64_of(receipt.bought_ns))
            .bind(receipt.encode_to_vec())
            .bind(report.encode_to_vec())
            .execute(&mut *tx)
            .await?;
            new += done.rows_affected();
        }
        tx.commit().await?;
        Ok(new)
    }

    /// Up to `limit` receipts not yet delivered, oldest first.
    pub async fn undelivered_receipts(&self, limit: u32) -> Result<Vec<StoredReceipt>> {
        let rows = sqlx::query(
            "SELECT id, receipt, report, attempts FROM packet_receipts \
             WHERE delivered_ns IS NULL ORDER BY bought_ns, id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| stored(r, None)).collect()
    }

    /// Up to `limit` undelivered receipts due for a send at `now_ns`, those waiting longest
    /// first.
    pub async fn due_receipts(&self, now_ns: u64, limit: u32) -> Result<Vec<StoredReceipt>> {
        let rows = sqlx::query(
            "SELECT id, receipt, report, attempts FROM packet_receipts \
             WHERE delivered_ns IS NULL AND next_attempt_ns <= $1 \
             ORDER BY next_attempt_ns, bought_ns, id LIMIT $2",
        )
        .bind(i64_of(now_ns))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| stored(r, None)).collect()
    }

    /// Copies sent and not acknowledged: each waits [`backoff_ns`] of its attempts.
    pub async fn postpone(&self, copies: &[(&[u8; 32], u32)], now_ns: u64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (id, attempts) in copies {
            sqlx::query(
                "UPDATE packet_receipts SET attempts = $1, next_attempt_ns = $2 \
                 WHERE id = $3 AND delivered_ns IS NULL",
            )
            .bind(i64::from(attempts.saturating_add(1)))
            .bind(i64_of(now_ns.saturating_add(backoff_ns(*attempts))))
            .bind(id.to_vec())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks receipts delivered at `at_ns`.
    pub async fn mark_delivered(&self, ids: &[[u8; 32]], at_ns: u64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for id in ids {
            sqlx::query(
                "UPDATE packet_receipts SET delivered_ns = $1 WHERE id = $2 AND delivered_ns IS NULL",
            )
            .bind(i64_of(at_ns))
            .bind(id.to_vec())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `hotspot`'s (base58 key) packets so far.
    pub async fn hotspot_packets(&self, hotspot: &str) -> Result<HotspotPackets> {
        let heard: Option<i64> = sqlx::query("SELECT heard FROM packet_heard WHERE hotspot = $1")
            .bind(hotspot.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("heard"))
            .transpose()?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS bought, COUNT(delivered_ns) AS delivered FROM packet_receipts \
             WHERE hotspot = $1",
        )
        .bind(hotspot.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(HotspotPackets {
            heard: heard.map_or(0, u64_of),
            bought: u64_of(row.try_get("bought")?),
            delivered: u64_of(row.try_get("delivered")?),
        })
    }

    /// Copies bought from each hotspot (base58 key) so far.
    pub async fn bought_by_hotspot(&self) -> Result<std::collections::HashMap<String, u64>> {
        let rows =
            sqlx::query("SELECT hotspot, COUNT(*) AS bought FROM packet_receipts GROUP BY hotspot")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("hotspot")?, u64_of(r.try_get("bought")?))))
            .collect()
    }

    /// Every route's packets so far, by route id.
    pub async fn route_packets(&self) -> Result<Vec<RoutePackets>> {
        let rows = sqlx::query(
            "SELECT route_id, oui, COUNT(DISTINCT payload_hash) AS packets, COUNT(*) AS bought, \
             COUNT(delivered_ns) AS delivered FROM packet_receipts \
             GROUP BY route_id, oui ORDER BY route_id, oui",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RoutePackets {
                    route_id: u64_of(r.try_get("route_id")?),
                    oui: u64_of(r.try_get("oui")?),
                    packets: u64_of(r.try_get("packets")?),
                    bought: u64_of(r.try_get("bought")?),
                    delivered: u64_of(r.try_get("delivered")?),
                })
            })
            .collect()
    }

    /// Every receipt bought in `[start_ns, end_ns)`, in purchase order.
    pub async fn receipts_between(&self, start_ns: u64, end_ns: u64) -> Result<Vec<StoredReceipt>> {
        let rows = sqlx::query(
            "SELECT id, receipt, report, delivered_ns, attempts FROM packet_receipts \
             WHERE bought_ns >= $1 AND bought_ns < $2 ORDER BY bought_ns, id",
        )
        .bind(i64_of(start_ns))
        .bind(i64_of(end_ns))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let delivered: Option<i64> = r.try_get("delivered_ns")?;
                stored(r, delivered.map(u64_of))
            })
            .collect()
    }
}

fn stored(r: &sqlx::any::AnyRow, delivered_ns: Option<u64>) -> Result<StoredReceipt> {
    let receipt: Vec<u8> = r.try_get("receipt")?;
    let report: Vec<u8> = r.try_get("report")?;
    let attempts: i64 = r.try_get("attempts")?;
    Ok(StoredReceipt {
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        id: id32(r.try_get("id")?)?,
        receipt: PacketReceipt::decode(receipt.as_slice())
            .map_err(|_| StoreError::Corrupt("packet receipt"))?,
        report: PacketReport::decode(report.as_slice())
            .map_err(|_| StoreError::Corrupt("packet report"))?,
        delivered_ns,
    })
}
