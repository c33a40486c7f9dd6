//! Storage of reports, verdicts, entropy and closed epochs through sqlx: SQLite by default (a
//! file, no setup), PostgreSQL with a `postgres://` URL. One schema and one set of migrations
//! (`oracle/migrations`) serve both; queries use only what both understand. Every query of the
//! oracle lives in this module, one file per table's concern:
//!
//! - [`reports`]: storing what ingest classified, reading reports and views of them;
//! - [`verdicts`]: what waits for judging, the context judging needs, saving verdicts, counts;
//! - [`entropy`]: the entropy history beacons are checked against;
//! - [`epochs`]: what an epoch's verdicts tally to, closed epochs and their reward rows.
//!
//! Storing is idempotent: a report's primary key is the hash of its signed bytes, so a
//! redelivered or replayed message is stored once. Verdicts only ever replace `pending`, and
//! each final verdict is announced once ([`Store::subscribe_verdicts`]).

pub mod entropy;
pub mod epochs;
pub mod findings;
pub mod packets;
pub mod reports;
pub mod verdicts;

use std::time::Duration;

use hexproof_poc::{Kind, Status};
use sqlx::{AnyPool, any::AnyPoolOptions};

pub use packets::{Carried, HotspotPackets, OrgCredits, RoutePackets, StoredReceipt};
pub use reports::{JudgedReport, NewReport, ReportView};
pub use verdicts::{JudgedBeacon, VerdictCount};

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

/// The database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Ids of reports that just reached their final verdict (each exactly once per process):
    /// what the explorer's live views follow.
    verdicts: tokio::sync::broadcast::Sender<[u8; 32]>,
    /// What [`Store::reader`] connects to (may hold a password: never printed).
    url: std::sync::Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects and brings the schema up to date. `sqlite://PATH` (created when missing) or
    /// `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store> {
        let (url, sqlite) = Self::url(url)?;
        let pool = Self::pool(
            &url,
            sqlite,
            if sqlite { 4 } else { 8 },
            Duration::from_secs(30),
        )
        .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store {
            pool,
            verdicts: tokio::sync::broadcast::channel(1 << 16).0,
            url: url.into(),
        })
    }

    /// The same database through a pool of its own with at most `connections` connections, a
    /// caller waiting at most `acquire_timeout` for one: readers that must not take connections
    /// from ingest and judging (the explorer). It follows the same verdicts. An in-memory
    /// SQLite database cannot be opened twice: there the pool is shared.
    pub async fn reader(&self, connections: u32, acquire_timeout: Duration) -> Result<Store> {
        let (url, sqlite) = Self::url(&self.url)?;
        if url.contains(":memory:") {
            return Ok(self.clone());
        }
        Ok(Store {
            pool: Self::pool(&url, sqlite, connections.max(1), acquire_timeout).await?,
            verdicts: self.verdicts.clone(),
            url: self.url.clone(),
        })
    }

    /// The URL to connect to, and whether it is SQLite's.
    fn url(url: &str) -> Result<(String, bool)> {
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
        Ok((url, sqlite))
    }

    async fn pool(
        url: &str,
        sqlite: bool,
        connections: u32,
        acquire_timeout: Duration,
    ) -> Result<AnyPool> {
        Ok(AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(acquire_timeout)
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
            .connect(url)
            .await?)
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
}

// The one place where stored integers and bytes become the oracle's types.

/// Integers are stored as BIGINT (i64) in both databases.
fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u64_of(v: i64) -> u64 {
    v.max(0) as u64
}

fn i32_of(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(0)
}

fn hash32(v: Option<Vec<u8>>) -> Result<Option<[u8; 32]>> {
    v.map(|b| <[u8; 32]>::try_from(b.as_slice()).map_err(|_| StoreError::Corrupt("hash")))
        .transpose()
}

fn id32(v: Vec<u8>) -> Result<[u8; 32]> {
    hash32(Some(v))?.ok_or(StoreError::Corrupt("id"))
}

fn kind_of(v: i64) -> Result<Kind> {
    Kind::from_number(v).ok_or(StoreError::Corrupt("report kind"))
}

fn status_of(v: i64) -> Result<Status> {
    Status::from_number(v).ok_or(StoreError::Corrupt("report status"))
}

/// `$first, $first+1, …` for `n` bound values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
