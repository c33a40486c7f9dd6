//! The entropy history: every entropy this oracle and the other members of its oracle set
//! published, as signed. An entropy id's low byte is its publisher's position in the set.

use hexproof_poc::EntropyRecord;
use sqlx::{Row, any::AnyRow};

use super::{Result, Store, StoreError, i64_of, u64_of};

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

impl Store {
    pub async fn insert_entropy(&self, e: &EntropyRecord, message: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO entropy (id, data, timestamp_ns, ttl_secs, message) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
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

    pub async fn entropy(&self, id: u64) -> Result<Option<EntropyRecord>> {
        let row = sqlx::query(
            "SELECT id, data, timestamp_ns, ttl_secs, message FROM entropy WHERE id = $1",
        )
        .bind(i64_of(id))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| entropy_row(&r).map(|(e, _)| e)).transpose()
    }

    /// The newest entropy and its signed message.
    pub async fn latest_entropy(&self) -> Result<Option<(EntropyRecord, Vec<u8>)>> {
        let row = sqlx::query(
            "SELECT id, data, timestamp_ns, ttl_secs, message FROM entropy ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| entropy_row(&r)).transpose()
    }

    /// The newest entropy published by the set member at `index` (the ids' low byte).
    pub async fn latest_entropy_of(&self, index: u8) -> Result<Option<(EntropyRecord, Vec<u8>)>> {
        let row = sqlx::query(
            "SELECT id, data, timestamp_ns, ttl_secs, message FROM entropy \
             WHERE id % 256 = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(i64::from(index))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| entropy_row(&r)).transpose()
    }

    /// Entropy published in `[from_ns, to_ns)`, with its signed messages, oldest first.
    pub async fn entropy_between(
        &self,
        from_ns: u64,
        to_ns: u64,
    ) -> Result<Vec<(EntropyRecord, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT id, data, timestamp_ns, ttl_secs, message FROM entropy \
             WHERE timestamp_ns >= $1 AND timestamp_ns < $2 ORDER BY timestamp_ns, id",
        )
        .bind(i64_of(from_ns))
        .bind(i64_of(to_ns))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entropy_row).collect()
    }

    /// Every entropy with its signed message, oldest first.
    pub async fn entropy_history(&self) -> Result<Vec<(EntropyRecord, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT id, data, timestamp_ns, ttl_secs, message FROM entropy ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entropy_row).collect()
    }
}
