//! Storage of reports, verdicts and entropy through sqlx: SQLite by default (a file, no setup),
//! PostgreSQL with a `postgres://` URL. One schema and one set of migrations
//! (`oracle/migrations`) serve both; queries use only what both understand.
//!
//! Storing is idempotent: a report's primary key is the hash of its signed bytes, so a
//! redelivered or replayed message is stored once.

use std::{str::FromStr, time::Duration};

use sqlx::{
    AnyPool, Row,
    any::{AnyPoolOptions, AnyRow},
};

use crate::validation::{EntropyRecord, Reason};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database URL {0:?} is neither sqlite:// nor postgres://")]
    Url(String),
    #[error("a stored value is out of range: {0}")]
    Corrupt(&'static str),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// What a stored report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Undecodable = 0,
    Beacon = 1,
    Witness = 2,
}

/// Where a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Pending = 0,
    Valid = 1,
    Invalid = 2,
}

impl Kind {
    fn from_i64(v: i64) -> Result<Kind> {
        match v {
            0 => Ok(Kind::Undecodable),
            1 => Ok(Kind::Beacon),
            2 => Ok(Kind::Witness),
            _ => Err(StoreError::Corrupt("report kind")),
        }
    }
}

impl Status {
    fn from_i64(v: i64) -> Result<Status> {
        match v {
            0 => Ok(Status::Pending),
            1 => Ok(Status::Valid),
            2 => Ok(Status::Invalid),
            _ => Err(StoreError::Corrupt("report status")),
        }
    }
}

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

/// A stored report, as validation reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    pub id: [u8; 32],
    pub kind: Kind,
    pub hotspot: String,
    pub packet_hash: Option<[u8; 32]>,
    pub timestamp_ns: u64,
    pub received_ns: u64,
    pub payload: Vec<u8>,
}

/// A verdict for a pending report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub id: [u8; 32],
    pub status: Status,
    pub reason: Option<Reason>,
    pub detail: String,
    pub beacon_id: Option<[u8; 32]>,
    pub selected: bool,
}

/// A stored report with its verdict (for summaries, explorers, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgedReport {
    pub report: StoredReport,
    pub status: Status,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub beacon_id: Option<[u8; 32]>,
    pub selected: bool,
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Ids of reports that just reached their final verdict (each exactly once per process):
    /// what the explorer's live views follow.
    verdicts: tokio::sync::broadcast::Sender<[u8; 32]>,
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

/// The columns [`report_view`] reads (`r`: the report, `b`: its matched beacon).
const VIEW_COLUMNS: &str = "r.id, r.kind, r.hotspot, r.timestamp_ns, r.received_ns, r.status, \
    r.reason, r.detail, r.selected, r.rssi_ddbm, r.snr_ddb, r.frequency_hz, b.hotspot AS beaconer \
    FROM reports r LEFT JOIN reports b ON b.id = r.beacon_id";

fn report_view(row: &AnyRow) -> Result<ReportView> {
    let small = |name: &str| -> Result<Option<i32>> {
        Ok(row
            .try_get::<Option<i64>, _>(name)?
            .map(|v| i32::try_from(v).unwrap_or(0)))
    };
    Ok(ReportView {
        id: hash32(Some(row.try_get("id")?))?.ok_or(StoreError::Corrupt("id"))?,
        kind: Kind::from_i64(row.try_get("kind")?)?,
        hotspot: row.try_get("hotspot")?,
        timestamp_ns: u64_of(row.try_get("timestamp_ns")?),
        received_ns: u64_of(row.try_get("received_ns")?),
        status: Status::from_i64(row.try_get("status")?)?,
        reason: row.try_get("reason")?,
        detail: row.try_get("detail")?,
        beaconer: row.try_get("beaconer")?,
        selected: row.try_get::<i64, _>("selected")? != 0,
        rssi_ddbm: small("rssi_ddbm")?,
        snr_ddb: small("snr_ddb")?,
        frequency_hz: row.try_get::<Option<i64>, _>("frequency_hz")?.map(u64_of),
    })
}

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

fn hash32(v: Option<Vec<u8>>) -> Result<Option<[u8; 32]>> {
    v.map(|b| <[u8; 32]>::try_from(b.as_slice()).map_err(|_| StoreError::Corrupt("hash")))
        .transpose()
}

fn u64_of(v: i64) -> u64 {
    v.max(0) as u64
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The columns [`stored_report`] reads, as a literal for `concat!`.
macro_rules! report_columns {
    () => {
        "id, kind, hotspot, packet_hash, timestamp_ns, received_ns, payload"
    };
}

fn stored_report(row: &AnyRow) -> Result<StoredReport> {
    Ok(StoredReport {
        id: hash32(Some(row.try_get("id")?))?.ok_or(StoreError::Corrupt("id"))?,
        kind: Kind::from_i64(row.try_get("kind")?)?,
        hotspot: row.try_get("hotspot")?,
        packet_hash: hash32(row.try_get("packet_hash")?)?,
        timestamp_ns: u64_of(row.try_get("timestamp_ns")?),
        received_ns: u64_of(row.try_get("received_ns")?),
        payload: row.try_get("payload")?,
    })
}

impl Store {
    /// Connects and brings the schema up to date. `sqlite://PATH` (created when missing) or
    /// `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        if !sqlite && !url.starts_with("postgres:") && !url.starts_with("postgresql:") {
            return Err(StoreError::Url(url.to_string()));
        }
        let url = if sqlite && !url.contains("mode=") && !url.contains(":memory:") {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        } else {
            url.to_string()
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // WAL: readers never block the writer; NORMAL: a committed transaction
                        // survives the process being killed (the OS holds it).
                        sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 10000;",
                        )
                        .execute(conn)
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store {
            pool,
            verdicts: tokio::sync::broadcast::channel(1 << 16).0,
        })
    }

    /// Follows final verdicts as they are written (ids; read them with [`Store::report_views`]).
    /// A receiver that falls behind gets `Lagged` and should re-read what it needs.
    pub fn subscribe_verdicts(&self) -> tokio::sync::broadcast::Receiver<[u8; 32]> {
        self.verdicts.subscribe()
    }

    fn announce(&self, ids: impl IntoIterator<Item = [u8; 32]>) {
        if self.verdicts.receiver_count() > 0 {
            for id in ids {
                let _ = self.verdicts.send(id);
            }
        }
    }

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
                .map(|i| {
                    let p: Vec<String> = (1..=14).map(|c| format!("${}", i * 14 + c)).collect();
                    format!("({})", p.join(", "))
                })
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
            let new: std::collections::HashSet<[u8; 32]> = query
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| hash32(Some(row.try_get("id")?))?.ok_or(StoreError::Corrupt("id")))
                .collect::<Result<_>>()?;
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
    pub async fn missing_reports(&self, ids: &[[u8; 32]]) -> Result<Vec<[u8; 32]>> {
        let mut missing = Vec::new();
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            // Only numbered placeholders are formatted in; ids are bound.
            let sql = format!(
                "SELECT id FROM reports WHERE id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.to_vec());
            }
            let found: std::collections::HashSet<[u8; 32]> = query
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|row| hash32(Some(row.try_get("id")?))?.ok_or(StoreError::Corrupt("id")))
                .collect::<Result<_>>()?;
            missing.extend(chunk.iter().filter(|id| !found.contains(*id)));
        }
        Ok(missing)
    }

    /// Pending reports of a kind received before `received_before_ns`, oldest first by their
    /// own timestamp (then id), at most `limit`.
    async fn pending(
        &self,
        kind: Kind,
        received_before_ns: u64,
        limit: u32,
    ) -> Result<Vec<StoredReport>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            report_columns!(),
            " FROM reports WHERE status = 0 AND kind = $1 AND received_ns < $2 \
             ORDER BY timestamp_ns, id LIMIT $3"
        ))
        .bind(kind as i64)
        .bind(i64_of(received_before_ns))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_report).collect()
    }

    /// Pending beacons received before `received_before_ns`, oldest first, at most `limit`.
    pub async fn pending_beacons(
        &self,
        received_before_ns: u64,
        limit: u32,
    ) -> Result<Vec<StoredReport>> {
        self.pending(Kind::Beacon, received_before_ns, limit).await
    }

    /// Pending witnesses of a packet, by timestamp then id.
    pub async fn pending_witnesses(&self, packet_hash: &[u8; 32]) -> Result<Vec<StoredReport>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            report_columns!(),
            " FROM reports WHERE packet_hash = $1 AND kind = 2 AND status = 0 \
             ORDER BY timestamp_ns, id"
        ))
        .bind(packet_hash.to_vec())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_report).collect()
    }

    /// Pending witnesses received before `received_before_ns` (their beacon never came, or came
    /// and was judged without them).
    pub async fn stale_pending_witnesses(
        &self,
        received_before_ns: u64,
        limit: u32,
    ) -> Result<Vec<StoredReport>> {
        self.pending(Kind::Witness, received_before_ns, limit).await
    }

    /// A judged beacon with this packet: its id and whether it was valid.
    pub async fn judged_beacon_with_packet(
        &self,
        packet_hash: &[u8; 32],
    ) -> Result<Option<([u8; 32], bool)>> {
        let row = sqlx::query(
            "SELECT id, status FROM reports WHERE packet_hash = $1 AND kind = 1 AND status <> 0 \
             ORDER BY status, timestamp_ns, id LIMIT 1",
        )
        .bind(packet_hash.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| -> Result<_> {
            let id = hash32(Some(r.try_get("id")?))?.ok_or(StoreError::Corrupt("id"))?;
            Ok((id, Status::from_i64(r.try_get("status")?)? == Status::Valid))
        })
        .transpose()
    }

    /// The timestamp of the valid beacon of `hotspot` nearest to `timestamp_ns`.
    pub async fn nearest_valid_beacon_ns(
        &self,
        hotspot: &str,
        timestamp_ns: u64,
    ) -> Result<Option<u64>> {
        let ts = i64_of(timestamp_ns);
        let before: Option<i64> = sqlx::query(
            "SELECT MAX(timestamp_ns) AS t FROM reports WHERE hotspot = $1 AND kind = 1 AND status = 1 \
             AND timestamp_ns <= $2",
        )
        .bind(hotspot.to_string())
        .bind(ts)
        .fetch_one(&self.pool)
        .await?
        .try_get("t")?;
        let after: Option<i64> = sqlx::query(
            "SELECT MIN(timestamp_ns) AS t FROM reports WHERE hotspot = $1 AND kind = 1 AND status = 1 \
             AND timestamp_ns >= $2",
        )
        .bind(hotspot.to_string())
        .bind(ts)
        .fetch_one(&self.pool)
        .await?
        .try_get("t")?;
        Ok([before, after]
            .into_iter()
            .flatten()
            .map(u64_of)
            .min_by_key(|t| t.abs_diff(timestamp_ns)))
    }

    /// Records verdicts for pending reports in one transaction (a report already judged keeps
    /// its verdict).
    pub async fn save_verdicts(&self, verdicts: &[Verdict], judged_ns: u64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let mut judged = Vec::with_capacity(verdicts.len());
        for v in verdicts {
            let result = sqlx::query(
                "UPDATE reports SET status = $1, reason = $2, detail = $3, beacon_id = $4, \
                 selected = $5, judged_ns = $6 WHERE id = $7 AND status = 0",
            )
            .bind(v.status as i64)
            .bind(v.reason.map(|r| r.code().to_string()))
            .bind(v.detail.clone())
            .bind(v.beacon_id.map(|b| b.to_vec()))
            .bind(i64::from(v.selected))
            .bind(i64_of(judged_ns))
            .bind(v.id.to_vec())
            .execute(&mut *tx)
            .await?;
            if result.rows_affected() > 0 && v.status != Status::Pending {
                judged.push(v.id);
            }
        }
        tx.commit().await?;
        self.announce(judged);
        Ok(())
    }

    /// Reports with their verdicts, by id (unknown ids are left out).
    pub async fn report_views(&self, ids: &[[u8; 32]]) -> Result<Vec<ReportView>> {
        let mut views = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            // VIEW_COLUMNS is a constant and the placeholders are numbered; ids are bound.
            let sql = format!(
                "SELECT {VIEW_COLUMNS} WHERE r.id IN ({})",
                placeholders.join(", ")
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

    /// Final verdicts counted by hotspot, kind, status, reason and (valid witnesses) signal.
    pub async fn verdict_counts(&self) -> Result<Vec<VerdictCount>> {
        // Integer division rounds toward zero; dB(m) x 10 to whole units, floor for negatives.
        let rows = sqlx::query(
            "SELECT hotspot, kind, status, reason, \
             CASE WHEN status = 1 AND kind = 2 THEN (rssi_ddbm - 9) / 10 END AS rssi_dbm, \
             CASE WHEN status = 1 AND kind = 2 THEN snr_ddb / 10 END AS snr_db, \
             COUNT(*) AS n FROM reports WHERE status <> 0 \
             GROUP BY hotspot, kind, status, reason, 5, 6",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(VerdictCount {
                    hotspot: r.try_get("hotspot")?,
                    kind: Kind::from_i64(r.try_get("kind")?)?,
                    status: Status::from_i64(r.try_get("status")?)?,
                    reason: r.try_get("reason")?,
                    rssi_dbm: r
                        .try_get::<Option<i64>, _>("rssi_dbm")?
                        .map(|v| i32::try_from(v).unwrap_or(0)),
                    snr_db: r
                        .try_get::<Option<i64>, _>("snr_db")?
                        .map(|v| i32::try_from(v).unwrap_or(0)),
                    count: u64_of(r.try_get("n")?),
                })
            })
            .collect()
    }

    pub async fn insert_entropy(&self, e: &EntropyRecord, message: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO entropy (id, data, timestamp_ns, ttl_secs, message) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(i64_of(e.id))
        .bind(e.data.clone())
        .bind(i64_of(e.timestamp_ns))
        .bind(i64::from(e.ttl_secs))
        .bind(message.to_vec())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    fn entropy_row(row: &AnyRow) -> Result<(EntropyRecord, Vec<u8>)> {
        Ok((
            EntropyRecord {
                id: u64_of(row.try_get("id")?),
                data: row.try_get("data")?,
                timestamp_ns: u64_of(row.try_get("timestamp_ns")?),
                ttl_secs: u32::try_from(row.try_get::<i64, _>("ttl_secs")?)
                    .map_err(|_| StoreError::Corrupt("ttl"))?,
            },
            row.try_get("message")?,
        ))
    }

    pub async fn entropy(&self, id: u64) -> Result<Option<EntropyRecord>> {
        let row = sqlx::query(
            "SELECT id, data, timestamp_ns, ttl_secs, message FROM entropy WHERE id = $1",
        )
        .bind(i64_of(id))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Self::entropy_row(&r).map(|(e, _)| e))
            .transpose()
    }

    /// The newest entropy and its signed message.
    pub async fn latest_entropy(&self) -> Result<Option<(EntropyRecord, Vec<u8>)>> {
        let row = sqlx::query(
            "SELECT id, data, timestamp_ns, ttl_secs, message FROM entropy ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Self::entropy_row(&r)).transpose()
    }

    pub async fn count_reports(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM reports")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(u64_of(n))
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
                    Kind::from_i64(r.try_get("kind")?)?,
                    Status::from_i64(r.try_get("status")?)?,
                    r.try_get("reason")?,
                    u64_of(r.try_get("n")?),
                ))
            })
            .collect()
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
                    report: stored_report(r)?,
                    status: Status::from_i64(r.try_get("status")?)?,
                    reason: r.try_get("reason")?,
                    detail: r.try_get("detail")?,
                    beacon_id: hash32(r.try_get("beacon_id")?)?,
                    selected: r.try_get::<i64, _>("selected")? != 0,
                })
            })
            .collect()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

impl FromStr for Kind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Kind> {
        match s {
            "beacon" => Ok(Kind::Beacon),
            "witness" => Ok(Kind::Witness),
            "undecodable" => Ok(Kind::Undecodable),
            _ => Err(StoreError::Corrupt("kind name")),
        }
    }
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Undecodable => "undecodable",
            Kind::Beacon => "beacon",
            Kind::Witness => "witness",
        }
    }
}
