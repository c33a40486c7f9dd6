//! Reports: storing what ingest classified, and reading reports back (for judging, audits,
//! explorers).

use std::collections::HashSet;

use hexproof_poc::{Kind, Reason, Report, Status};
use sqlx::{Row, any::AnyRow};

use super::{
    Result, Store, hash32, i32_of, i64_of, id32, kind_of, placeholders, status_of, u64_of,
};

/// A report as ingest stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    pub id: [u8; 32],
    pub kind: Kind,
    pub hotspot: String,
    pub packet_hash: Option<[u8; 32]>,
    pub timestamp_ns: u64,
    pub received_ns: u64,
    pub payload: Vec<u8>,
    /// Pending, or Invalid when ingest already rejected it (malformed, bad signature).
    pub status: Status,
    pub reason: Option<Reason>,
    pub detail: Option<String>,
    pub rssi_ddbm: Option<i32>,
    pub snr_ddb: Option<i32>,
    pub frequency_hz: Option<u64>,
}

/// A stored report with its verdict (for summaries, audits, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgedReport {
    pub report: Report,
    pub status: Status,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub beacon_id: Option<[u8; 32]>,
    pub selected: bool,
}

/// A stored report with its verdict and the beaconer a witness was matched to, as explorers
/// show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportView {
    pub id: [u8; 32],
    pub kind: Kind,
    pub hotspot: String,
    pub timestamp_ns: u64,
    pub received_ns: u64,
    pub status: Status,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub beaconer: Option<String>,
    pub selected: bool,
    pub rssi_ddbm: Option<i32>,
    pub snr_ddb: Option<i32>,
    pub frequency_hz: Option<u64>,
}

/// A stored report's bytes as it was received (what `oracle export` writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedReport {
    pub id: [u8; 32],
    pub kind: Kind,
    pub hotspot: String,
    pub payload: Vec<u8>,
    pub received_ns: u64,
}

/// The columns [`report`] reads, as a literal for `concat!`.
macro_rules! report_columns {
    () => {
        "id, kind, hotspot, packet_hash, timestamp_ns, received_ns, payload"
    };
}
pub(super) use report_columns;

pub(super) fn report(row: &AnyRow) -> Result<Report> {
    Ok(Report {
        id: id32(row.try_get("id")?)?,
        kind: kind_of(row.try_get("kind")?)?,
        hotspot: row.try_get("hotspot")?,
        packet_hash: hash32(row.try_get("packet_hash")?)?,
        timestamp_ns: u64_of(row.try_get("timestamp_ns")?),
        received_ns: u64_of(row.try_get("received_ns")?),
        payload: row.try_get("payload")?,
    })
}

/// The columns [`report_view`] reads (`r`: the report, `b`: its matched beacon).
const VIEW_COLUMNS: &str = "r.id, r.kind, r.hotspot, r.timestamp_ns, r.received_ns, r.status, \
    r.reason, r.detail, r.selected, r.rssi_ddbm, r.snr_ddb, r.frequency_hz, b.hotspot AS beaconer \
    FROM reports r LEFT JOIN reports b ON b.id = r.beacon_id";

fn report_view(row: &AnyRow) -> Result<ReportView> {
    let small = |name: &str| -> Result<Option<i32>> {
        Ok(row.try_get::<Option<i64>, _>(name)?.map(i32_of))
    };
    Ok(ReportView {
        id: id32(row.try_get("id")?)?,
        kind: kind_of(row.try_get("kind")?)?,
        hotspot: row.try_get("hotspot")?,
        timestamp_ns: u64_of(row.try_get("timestamp_ns")?),
        received_ns: u64_of(row.try_get("received_ns")?),
        status: status_of(row.try_get("status")?)?,
        reason: row.try_get("reason")?,
        detail: row.try_get("detail")?,
        beaconer: row.try_get("beaconer")?,
        selected: row.try_get::<i64, _>("selected")? != 0,
        rssi_ddbm: small("rssi_ddbm")?,
        snr_ddb: small("snr_ddb")?,
        frequency_hz: row.try_get::<Option<i64>, _>("frequency_hz")?.map(u64_of),
    })
}

fn received_report(r: &AnyRow) -> Result<ReceivedReport> {
    Ok(ReceivedReport {
        id: id32(r.try_get("id")?)?,
        kind: kind_of(r.try_get("kind")?)?,
        hotspot: r.try_get("hotspot")?,
        payload: r.try_get("payload")?,
        received_ns: u64_of(r.try_get("received_ns")?),
    })
}

/// The ids of `rows` (a query selecting `id`).
fn ids(rows: &[AnyRow]) -> Result<HashSet<[u8; 32]>> {
    rows.iter().map(|row| id32(row.try_get("id")?)).collect()
}

impl Store {
    /// Stores reports in one transaction; returns how many were new (already stored ones are
    /// left as they are). Rows go in multi-row statements, which is what keeps a remote
    /// PostgreSQL from costing a round trip per report.
    pub async fn insert_reports(&self, reports: &[NewReport]) -> Result<u64> {
        /// Rows per statement: 14 parameters each, well inside SQLite's and PostgreSQL's limits.
        const ROWS: usize = 128;
        let mut tx = self.pool.begin().await?;
        let mut inserted = 0;
        let mut rejected = Vec::new();
        for chunk in reports.chunks(ROWS) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", placeholders(i * 14 + 1, 14)))
                .collect();
            // Only numbered placeholders are formatted in; every value is bound.
            let sql = format!(
                "INSERT INTO reports (id, kind, hotspot, packet_hash, timestamp_ns, received_ns, \
                 payload, status, reason, detail, rssi_ddbm, snr_ddb, frequency_hz, judged_ns) \
                 VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
                values.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                query = query
                    .bind(r.id.to_vec())
                    .bind(r.kind as i64)
                    .bind(r.hotspot.clone())
                    .bind(r.packet_hash.map(|h| h.to_vec()))
                    .bind(i64_of(r.timestamp_ns))
                    .bind(i64_of(r.received_ns))
                    .bind(r.payload.clone())
                    .bind(r.status as i64)
                    .bind(r.reason.map(|x| x.code().to_string()))
                    .bind(r.detail.clone())
                    .bind(r.rssi_ddbm.map(i64::from))
                    .bind(r.snr_ddb.map(i64::from))
                    .bind(r.frequency_hz.map(i64_of))
                    .bind((r.status != Status::Pending).then_some(i64_of(r.received_ns)));
            }
            let new = ids(&query.fetch_all(&mut *tx).await?)?;
            inserted += new.len() as u64;
            rejected.extend(
                chunk
                    .iter()
                    .filter(|r| r.status != Status::Pending && new.contains(&r.id))
                    .map(|r| r.id),
            );
        }
        tx.commit().await?;
        self.announce(rejected);
        Ok(inserted)
    }

    /// The ids of `ids` that are not stored (accounting by identity: what a publisher was
    /// acknowledged for and the oracle does not hold).
    pub async fn missing_reports(&self, ids_wanted: &[[u8; 32]]) -> Result<Vec<[u8; 32]>> {
        let mut missing = Vec::new();
        for chunk in ids_wanted.chunks(500) {
            // Only numbered placeholders are formatted in; ids are bound.
            let sql = format!(
                "SELECT id FROM reports WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.to_vec());
            }
            let found = ids(&query.fetch_all(&self.pool).await?)?;
            missing.extend(chunk.iter().filter(|id| !found.contains(*id)));
        }
        Ok(missing)
    }

    pub async fn count_reports(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM reports")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(u64_of(n))
    }

    /// Every report with its verdict, in storage order (timestamp, id).
    pub async fn judged_reports(&self) -> Result<Vec<JudgedReport>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            report_columns!(),
            ", status, reason, detail, beacon_id, selected FROM reports \
             ORDER BY timestamp_ns, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JudgedReport {
                    report: report(r)?,
                    status: status_of(r.try_get("status")?)?,
                    reason: r.try_get("reason")?,
                    detail: r.try_get("detail")?,
                    beacon_id: hash32(r.try_get("beacon_id")?)?,
                    selected: r.try_get::<i64, _>("selected")? != 0,
                })
            })
            .collect()
    }

    /// Every report's bytes in the order received (then id).
    pub async fn received_reports(&self) -> Result<Vec<ReceivedReport>> {
        let rows = sqlx::query(
            "SELECT id, kind, hotspot, payload, received_ns FROM reports \
             ORDER BY received_ns, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(received_report).collect()
    }

    /// The decodable reports stamped in `[start_ns, end_ns)`, in the order received (then id):
    /// an epoch's inputs as this oracle holds them.
    pub async fn received_reports_stamped(
        &self,
        start_ns: u64,
        end_ns: u64,
    ) -> Result<Vec<ReceivedReport>> {
        let rows = sqlx::query(
            "SELECT id, kind, hotspot, payload, received_ns FROM reports \
             WHERE kind <> 0 AND timestamp_ns >= $1 AND timestamp_ns < $2 \
             ORDER BY received_ns, id",
        )
        .bind(i64_of(start_ns))
        .bind(i64_of(end_ns))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(received_report).collect()
    }

    /// Reports with their verdicts, by id (unknown ids are left out).
    pub async fn report_views(&self, wanted: &[[u8; 32]]) -> Result<Vec<ReportView>> {
        let mut views = Vec::with_capacity(wanted.len());
        for chunk in wanted.chunks(500) {
            // VIEW_COLUMNS is a constant and the placeholders are numbered; ids are bound.
            let sql = format!(
                "SELECT {VIEW_COLUMNS} WHERE r.id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.to_vec());
            }
            for row in query.fetch_all(&self.pool).await? {
                views.push(report_view(&row)?);
            }
        }
        Ok(views)
    }

    /// A hotspot's reports with `since_ns <= timestamp < until_ns`, in (timestamp, id) order,
    /// starting after the cursor `after` (timestamp, id), at most `limit`.
    pub async fn hotspot_reports(
        &self,
        hotspot: &str,
        since_ns: u64,
        until_ns: u64,
        after: Option<(u64, [u8; 32])>,
        limit: u32,
    ) -> Result<Vec<ReportView>> {
        let (after_ts, after_id) = after.map_or((0, Vec::new()), |(t, id)| (t, id.to_vec()));
        // VIEW_COLUMNS is a constant; every value is bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VIEW_COLUMNS} WHERE r.hotspot = $1 AND r.timestamp_ns >= $2 \
             AND r.timestamp_ns < $3 AND (r.timestamp_ns > $4 OR (r.timestamp_ns = $4 AND r.id > $5)) \
             ORDER BY r.timestamp_ns, r.id LIMIT $6"
        )))
        .bind(hotspot.to_string())
        .bind(i64_of(since_ns.max(after_ts)))
        .bind(i64_of(until_ns))
        .bind(i64_of(after_ts))
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(report_view).collect()
    }
}
