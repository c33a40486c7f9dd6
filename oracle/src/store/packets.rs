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

/// A hotspot's packets: reports the router took from it, copies bought (and the data credits
/// they cost their orgs: what it carried), copies delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HotspotPackets {
    pub heard: u64,
    pub bought: u64,
    pub dc: u64,
    pub delivered: u64,
}

/// Copies bought from a hotspot and the data credits they cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Carried {
    pub copies: u64,
    pub dc: u64,
}

/// An org's data credits: on chain as last read (`None` before any read), and charged by the
/// router's receipts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OrgCredits {
    pub oui: u64,
    pub tokens_burned: u64,
    pub dc_bought: u64,
    pub dc_balance: u64,
    pub dc_settled: u64,
    pub dc_unpaid: u64,
    pub read_ns: u64,
}

/// A route's packets: distinct packets it bought copies of, copies bought and delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoutePackets {
    pub route_id: u64,
    pub oui: u64,
    pub packets: u64,
    pub bought: u64,
    /// Data credits its copies cost its org.
    pub dc: u64,
    pub delivered: u64,
}

/// Credits of `copies` copies of `size`-byte frames.
fn dc_of(size: i64, copies: i64) -> u64 {
    hexproof_commitment::packet_dc(u32::try_from(size).unwrap_or(u32::MAX))
        .saturating_mul(u64_of(copies))
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
            new += insert_receipt(&mut tx, receipt, report, None).await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    /// Stores receipts an oracle set agreed on that this store does not hold (another member's
    /// router bought and forwarded them): as delivered, so this oracle's forwarder never sends
    /// them, and without the report (the proposal carries receipts only). Returns how many
    /// were new.
    pub async fn save_agreed_receipts(&self, receipts: &[PacketReceipt]) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut new = 0;
        for receipt in receipts {
            let delivered = Some(i64_of(receipt.bought_ns));
            new += insert_receipt(&mut tx, receipt, &PacketReport::default(), delivered).await?;
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
        let rows = sqlx::query(
            "SELECT payload_size, COUNT(*) AS bought, COUNT(delivered_ns) AS delivered \
             FROM packet_receipts WHERE hotspot = $1 GROUP BY payload_size",
        )
        .bind(hotspot.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut p = HotspotPackets {
            heard: heard.map_or(0, u64_of),
            ..HotspotPackets::default()
        };
        for r in &rows {
            let bought: i64 = r.try_get("bought")?;
            p.bought += u64_of(bought);
            p.dc += dc_of(r.try_get("payload_size")?, bought);
            p.delivered += u64_of(r.try_get("delivered")?);
        }
        Ok(p)
    }

    /// Copies bought from each hotspot (base58 key) so far, and the credits they cost.
    pub async fn bought_by_hotspot(&self) -> Result<std::collections::HashMap<String, Carried>> {
        let rows = sqlx::query(
            "SELECT hotspot, payload_size, COUNT(*) AS bought FROM packet_receipts \
             GROUP BY hotspot, payload_size",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut carried: std::collections::HashMap<String, Carried> = Default::default();
        for r in &rows {
            let bought: i64 = r.try_get("bought")?;
            let c = carried.entry(r.try_get("hotspot")?).or_default();
            c.copies += u64_of(bought);
            c.dc += dc_of(r.try_get("payload_size")?, bought);
        }
        Ok(carried)
    }

    /// Records every org's credits as read from the chain at `read_ns`.
    pub async fn save_org_credits(&self, orgs: &[OrgCredits]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for o in orgs {
            sqlx::query(
                "INSERT INTO org_credits (oui, tokens_burned, dc_bought, dc_balance, dc_settled, \
                 dc_unpaid, read_ns) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (oui) DO UPDATE SET tokens_burned = excluded.tokens_burned, \
                 dc_bought = excluded.dc_bought, dc_balance = excluded.dc_balance, \
                 dc_settled = excluded.dc_settled, dc_unpaid = excluded.dc_unpaid, \
                 read_ns = excluded.read_ns",
            )
            .bind(i64_of(o.oui))
            .bind(i64_of(o.tokens_burned))
            .bind(i64_of(o.dc_bought))
            .bind(i64_of(o.dc_balance))
            .bind(i64_of(o.dc_settled))
            .bind(i64_of(o.dc_unpaid))
            .bind(i64_of(o.read_ns))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every org's credits as last read from the chain, in OUI order.
    pub async fn org_credits(&self) -> Result<Vec<OrgCredits>> {
        let rows = sqlx::query(
            "SELECT oui, tokens_burned, dc_bought, dc_balance, dc_settled, dc_unpaid, read_ns \
             FROM org_credits ORDER BY oui",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OrgCredits {
                    oui: u64_of(r.try_get("oui")?),
                    tokens_burned: u64_of(r.try_get("tokens_burned")?),
                    dc_bought: u64_of(r.try_get("dc_bought")?),
                    dc_balance: u64_of(r.try_get("dc_balance")?),
                    dc_settled: u64_of(r.try_get("dc_settled")?),
                    dc_unpaid: u64_of(r.try_get("dc_unpaid")?),
                    read_ns: u64_of(r.try_get("read_ns")?),
                })
            })
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
        let sizes = sqlx::query(
            "SELECT route_id, payload_size, COUNT(*) AS bought FROM packet_receipts \
             GROUP BY route_id, payload_size",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut dc: BTreeMap<u64, u64> = BTreeMap::new();
        for r in &sizes {
            *dc.entry(u64_of(r.try_get("route_id")?)).or_default() +=
                dc_of(r.try_get("payload_size")?, r.try_get("bought")?);
        }
        rows.iter()
            .map(|r| {
                let route_id = u64_of(r.try_get("route_id")?);
                Ok(RoutePackets {
                    route_id,
                    oui: u64_of(r.try_get("oui")?),
                    packets: u64_of(r.try_get("packets")?),
                    bought: u64_of(r.try_get("bought")?),
                    dc: dc.get(&route_id).copied().unwrap_or(0),
                    delivered: u64_of(r.try_get("delivered")?),
                })
            })
            .collect()
    }

    /// The copies bought in `[start_ns, end_ns)` (each receipt once: its id is the key),
    /// counted by `(hotspot, oui, payload size)`: what data rewards and charges are computed
    /// from (the credits a copy costs are the reward code's rule, not SQL's).
    pub async fn copies_bought(
        &self,
        start_ns: u64,
        end_ns: u64,
    ) -> Result<Vec<(hexproof_proto::PublicKey, u64, u32, u64)>> {
        let rows = sqlx::query(
            "SELECT hotspot, oui, payload_size, COUNT(*) AS n FROM packet_receipts \
             WHERE bought_ns >= $1 AND bought_ns < $2 GROUP BY hotspot, oui, payload_size",
        )
        .bind(i64_of(start_ns))
        .bind(i64_of(end_ns))
        .fetch_all(&self.pool)
        .await?;
        let mut copies = Vec::with_capacity(rows.len());
        for r in &rows {
            // A row without a hotspot key buys nothing anyone can be paid for (the router and
            // the set's checks never store one).
            let Ok(hotspot) = r.try_get::<String, _>("hotspot")?.parse() else {
                continue;
            };
            copies.push((
                hotspot,
                u64_of(r.try_get("oui")?),
                u32::try_from(r.try_get::<i64, _>("payload_size")?).unwrap_or(u32::MAX),
                u64_of(r.try_get("n")?),
            ));
        }
        Ok(copies)
    }

    /// Credits charged to each org (by OUI) by every receipt stored: what the router has
    /// spent of their balances.
    pub async fn charges_by_org(&self) -> Result<BTreeMap<u64, u64>> {
        let rows = sqlx::query(
            "SELECT oui, payload_size, COUNT(*) AS n FROM packet_receipts GROUP BY oui, payload_size",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut charged: BTreeMap<u64, u64> = BTreeMap::new();
        for r in &rows {
            let dc = dc_of(r.try_get("payload_size")?, r.try_get("n")?);
            let total = charged.entry(u64_of(r.try_get("oui")?)).or_default();
            *total = total.saturating_add(dc);
        }
        Ok(charged)
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

/// One receipt row (nothing if its id is stored already); `delivered_ns` set for receipts
/// another member's router delivered. Returns how many rows were new (0 or 1).
async fn insert_receipt(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    receipt: &PacketReceipt,
    report: &PacketReport,
    delivered_ns: Option<i64>,
) -> Result<u64> {
    let done = sqlx::query(
        "INSERT INTO packet_receipts (id, payload_hash, hotspot, oui, route_id, \
         payload_size, bought_ns, receipt, report, delivered_ns) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
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
    .bind(delivered_ns)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}
