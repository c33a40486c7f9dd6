//! Verdicts: what waits to be judged, the context judging needs from earlier verdicts, saving
//! verdicts, and counting them.

use std::collections::HashMap;

use hexproof_poc::{Kind, Report, Status, Verdict};
use sqlx::Row;

use super::{
    Result, Store, i32_of, i64_of, id32, kind_of, placeholders, reports::report,
    reports::report_columns, status_of, u64_of,
};

/// Per hotspot and verdict: what the explorer's index starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictCount {
    pub hotspot: String,
    pub kind: Kind,
    pub status: Status,
    pub reason: Option<String>,
    /// Valid witnesses: RSSI and SNR rounded down to whole dB(m); None otherwise.
    pub rssi_dbm: Option<i32>,
    pub snr_db: Option<i32>,
    pub count: u64,
}

/// A judged beacon with a given packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JudgedBeacon {
    pub packet_hash: [u8; 32],
    pub id: [u8; 32],
    pub timestamp_ns: u64,
    pub received_ns: u64,
    pub valid: bool,
}

/// Lists of at most this many values are bound in one `IN (…)`.
const IN_CHUNK: usize = 500;

impl Store {
    /// Pending reports of a kind received before `received_before_ns`, in the order the oracle
    /// received them (then id), at most `limit`. Judging in received order makes a live run
    /// (many passes) and a replay (one pass) judge in the same order.
    async fn pending(
        &self,
        kind: Kind,
        received_before_ns: u64,
        limit: u32,
    ) -> Result<Vec<Report>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            report_columns!(),
            " FROM reports WHERE status = 0 AND kind = $1 AND received_ns < $2 \
             ORDER BY received_ns, id LIMIT $3"
        ))
        .bind(kind as i64)
        .bind(i64_of(received_before_ns))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(report).collect()
    }

    /// Pending beacons received before `received_before_ns`, oldest first, at most `limit`.
    pub async fn pending_beacons(
        &self,
        received_before_ns: u64,
        limit: u32,
    ) -> Result<Vec<Report>> {
        self.pending(Kind::Beacon, received_before_ns, limit).await
    }

    /// Pending witnesses received before `received_before_ns` (their beacon never came, or came
    /// and was judged without them).
    pub async fn stale_pending_witnesses(
        &self,
        received_before_ns: u64,
        limit: u32,
    ) -> Result<Vec<Report>> {
        self.pending(Kind::Witness, received_before_ns, limit).await
    }

    /// Pending witnesses of any of these packets, by timestamp then id.
    pub async fn pending_witnesses_of(&self, packets: &[[u8; 32]]) -> Result<Vec<Report>> {
        let mut out = Vec::new();
        for chunk in packets.chunks(IN_CHUNK) {
            // Only numbered placeholders are formatted in; hashes are bound.
            let sql = format!(
                concat!(
                    "SELECT ",
                    report_columns!(),
                    " FROM reports WHERE kind = 2 AND status = 0 AND packet_hash IN ({}) \
                     ORDER BY timestamp_ns, id"
                ),
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for h in chunk {
                query = query.bind(h.to_vec());
            }
            for row in query.fetch_all(&self.pool).await? {
                out.push(report(&row)?);
            }
        }
        out.sort_by_key(|r| (r.timestamp_ns, r.id));
        Ok(out)
    }

    /// When each witness of these packets was received, whatever its verdict: what the
    /// late-beacon rule looks at.
    pub async fn witness_receipts_of(
        &self,
        packets: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], Vec<u64>>> {
        let mut out: HashMap<[u8; 32], Vec<u64>> = HashMap::new();
        for chunk in packets.chunks(IN_CHUNK) {
            // Only numbered placeholders are formatted in; hashes are bound.
            let sql = format!(
                "SELECT packet_hash, received_ns FROM reports WHERE kind = 2 AND packet_hash IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for h in chunk {
                query = query.bind(h.to_vec());
            }
            for row in query.fetch_all(&self.pool).await? {
                out.entry(id32(row.try_get("packet_hash")?)?)
                    .or_default()
                    .push(u64_of(row.try_get("received_ns")?));
            }
        }
        Ok(out)
    }

    /// Judged beacons with any of these packets.
    pub async fn judged_beacons_with(&self, packets: &[[u8; 32]]) -> Result<Vec<JudgedBeacon>> {
        let mut out = Vec::new();
        for chunk in packets.chunks(IN_CHUNK) {
            // Only numbered placeholders are formatted in; hashes are bound.
            let sql = format!(
                "SELECT packet_hash, id, timestamp_ns, received_ns, status FROM reports WHERE kind = 1 AND status <> 0 \
                 AND packet_hash IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for h in chunk {
                query = query.bind(h.to_vec());
            }
            for row in query.fetch_all(&self.pool).await? {
                out.push(JudgedBeacon {
                    packet_hash: id32(row.try_get("packet_hash")?)?,
                    id: id32(row.try_get("id")?)?,
                    timestamp_ns: u64_of(row.try_get("timestamp_ns")?),
                    received_ns: u64_of(row.try_get("received_ns")?),
                    valid: status_of(row.try_get("status")?)? == Status::Valid,
                });
            }
        }
        Ok(out)
    }

    /// Timestamps of the valid beacons of these hotspots with `from_ns <= timestamp <= to_ns`.
    pub async fn valid_beacon_times(
        &self,
        hotspots: &[String],
        from_ns: u64,
        to_ns: u64,
    ) -> Result<HashMap<String, Vec<u64>>> {
        let mut out: HashMap<String, Vec<u64>> = HashMap::new();
        for chunk in hotspots.chunks(IN_CHUNK) {
            // Only numbered placeholders are formatted in; keys and times are bound.
            let sql = format!(
                "SELECT hotspot, timestamp_ns FROM reports WHERE kind = 1 AND status = 1 \
                 AND timestamp_ns >= $1 AND timestamp_ns <= $2 AND hotspot IN ({})",
                placeholders(3, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(i64_of(from_ns))
                .bind(i64_of(to_ns));
            for h in chunk {
                query = query.bind(h.clone());
            }
            for row in query.fetch_all(&self.pool).await? {
                out.entry(row.try_get("hotspot")?)
                    .or_default()
                    .push(u64_of(row.try_get("timestamp_ns")?));
            }
        }
        Ok(out)
    }

    /// Records verdicts (each with when it was judged) for pending reports in one transaction;
    /// a report already judged keeps its verdict (and of two verdicts for one report, the first
    /// counts). The verdicts go into a temporary table in multi-row statements, then one
    /// `UPDATE … FROM` applies them: a handful of round trips per batch instead of one per
    /// verdict.
    pub async fn save_verdicts(&self, verdicts: &[(Verdict, u64)]) -> Result<()> {
        /// Rows per statement: 8 parameters each, well inside SQLite's and PostgreSQL's limits.
        const ROWS: usize = 512;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "CREATE TEMP TABLE IF NOT EXISTS verdict_batch (id BYTEA PRIMARY KEY, \
             status BIGINT NOT NULL, reason TEXT, detail TEXT, beacon_id BYTEA, \
             selected BIGINT NOT NULL, judged_ns BIGINT NOT NULL, cell BIGINT)",
        )
        .execute(&mut *tx)
        .await?;
        // Empty here: it is emptied before every commit, and a failed transaction rolls back.
        for chunk in verdicts.chunks(ROWS) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", placeholders(i * 8 + 1, 8)))
                .collect();
            // Only numbered placeholders are formatted in; every value is bound.
            let sql = format!(
                "INSERT INTO verdict_batch (id, status, reason, detail, beacon_id, selected, \
                 judged_ns, cell) VALUES {} ON CONFLICT (id) DO NOTHING",
                values.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (v, judged_ns) in chunk {
                query = query
                    .bind(v.id.to_vec())
                    .bind(v.status as i64)
                    .bind(v.reason.map(|r| r.code().to_string()))
                    .bind(v.detail.clone())
                    .bind(v.beacon_id.map(|b| b.to_vec()))
                    .bind(i64::from(v.selected))
                    .bind(i64_of(*judged_ns))
                    .bind(v.cell.map(|c| u64::from(c) as i64));
            }
            query.execute(&mut *tx).await?;
        }
        let updated = sqlx::query(
            "UPDATE reports SET status = v.status, reason = v.reason, detail = v.detail, \
             beacon_id = v.beacon_id, selected = v.selected, judged_ns = v.judged_ns, \
             cell = v.cell FROM verdict_batch v WHERE reports.id = v.id AND reports.status = 0 \
             RETURNING reports.id, reports.status",
        )
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM verdict_batch")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut judged = Vec::with_capacity(updated.len());
        for row in &updated {
            if status_of(row.try_get("status")?)? != Status::Pending {
                judged.push(id32(row.try_get("id")?)?);
            }
        }
        self.announce(judged);
        Ok(())
    }

    /// Reports stamped before `before_ns` that still wait for a verdict.
    pub async fn pending_before(&self, before_ns: u64) -> Result<u64> {
        let n: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM reports WHERE status = 0 AND timestamp_ns < $1")
                .bind(i64_of(before_ns))
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?;
        Ok(u64_of(n))
    }

    /// Final verdicts counted by hotspot, kind, status, reason and (valid witnesses) signal.
    pub async fn verdict_counts(&self) -> Result<Vec<VerdictCount>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(verdict_counts_sql("")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(verdict_count).collect()
    }

    /// The valid witnesses' signal counts of [`Store::verdict_counts`], of reports stamped
    /// before `before_ns` only (what the public explorer's hex summaries are built from: the
    /// signal of reports in epochs that have closed).
    pub async fn signal_counts_before(&self, before_ns: u64) -> Result<Vec<VerdictCount>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(verdict_counts_sql(
            "AND kind = 2 AND status = 1 AND timestamp_ns < $1",
        )))
        .bind(i64_of(before_ns))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(verdict_count).collect()
    }

    /// [`Store::verdict_counts`] of the given hotspots only (keys as stored: base58).
    pub async fn verdict_counts_of(&self, hotspots: &[String]) -> Result<Vec<VerdictCount>> {
        let mut out = Vec::new();
        for chunk in hotspots.chunks(IN_CHUNK) {
            // Only numbered placeholders are formatted in; keys are bound.
            let sql = verdict_counts_sql(&format!(
                "AND hotspot IN ({})",
                placeholders(1, chunk.len())
            ));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for key in chunk {
                query = query.bind(key.clone());
            }
            for r in query.fetch_all(&self.pool).await? {
                out.push(verdict_count(&r)?);
            }
        }
        Ok(out)
    }

    /// How many reports of each kind have each status and reason.
    pub async fn verdict_summary(&self) -> Result<Vec<(Kind, Status, Option<String>, u64)>> {
        self.verdict_summary_between(0, u64::MAX).await
    }

    /// [`Store::verdict_summary`] of reports with `start <= timestamp < end`.
    pub async fn verdict_summary_between(
        &self,
        start: u64,
        end: u64,
    ) -> Result<Vec<(Kind, Status, Option<String>, u64)>> {
        let rows = sqlx::query(
            "SELECT kind, status, reason, COUNT(*) AS n FROM reports \
             WHERE timestamp_ns >= $1 AND timestamp_ns < $2 GROUP BY kind, status, reason \
             ORDER BY kind, status, reason",
        )
        .bind(i64_of(start))
        .bind(i64_of(end))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    kind_of(r.try_get("kind")?)?,
                    status_of(r.try_get("status")?)?,
                    r.try_get("reason")?,
                    u64_of(r.try_get("n")?),
                ))
            })
            .collect()
    }

    /// Reports still waiting for a verdict.
    pub async fn pending_count(&self) -> Result<u64> {
        self.pending_before(u64::MAX >> 1).await
    }
}

/// Final verdicts counted by hotspot, kind, status, reason and whole-unit signal; `filter` is
/// more of the WHERE clause (placeholders only).
fn verdict_counts_sql(filter: &str) -> String {
    // Integer division rounds toward zero; dB(m) x 10 to whole units, floor for negatives.
    format!(
        "SELECT hotspot, kind, status, reason, \
         CASE WHEN status = 1 AND kind = 2 THEN (rssi_ddbm - 9) / 10 END AS rssi_dbm, \
         CASE WHEN status = 1 AND kind = 2 THEN snr_ddb / 10 END AS snr_db, \
         COUNT(*) AS n FROM reports WHERE status <> 0 {filter} \
         GROUP BY hotspot, kind, status, reason, 5, 6"
    )
}

fn verdict_count(r: &sqlx::any::AnyRow) -> Result<VerdictCount> {
    Ok(VerdictCount {
        hotspot: r.try_get("hotspot")?,
        kind: kind_of(r.try_get("kind")?)?,
        status: status_of(r.try_get("status")?)?,
        reason: r.try_get("reason")?,
        rssi_dbm: r.try_get::<Option<i64>, _>("rssi_dbm")?.map(i32_of),
        snr_db: r.try_get::<Option<i64>, _>("snr_db")?.map(i32_of),
        count: u64_of(r.try_get("n")?),
    })
}
