//! Closing epochs: gathers an epoch's valid activity from storage, computes rewards and
//! lifetime amounts, commits them in a Merkle root, signs the commitment and stores it all in
//! one transaction. Closing is a function of the stored verdicts: closing twice gives the same
//! result, and an interrupted close is simply done again at the next start.

use std::collections::BTreeMap;

use h3o::CellIndex;
use hexproof_commitment::{Hash, MerkleTree, epoch_message};
use hexproof_proto::{Keypair, PublicKey};
use sqlx::Row;

use super::{Activity, EpochRewards, RewardConfig, accumulate, compute, density, tree};
use crate::{
    registry::Registry,
    store::{Store, StoreError},
};

type Result<T> = std::result::Result<T, StoreError>;

/// One leaf of a closed epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardRow {
    pub hotspot: PublicKey,
    /// What this epoch paid.
    pub beacon: u64,
    pub witness: u64,
    /// Lifetime amount after this epoch (the leaf's amount).
    pub lifetime: u64,
}

/// A closed epoch as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedEpoch {
    pub epoch: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub emission: u64,
    pub paid: u64,
    pub dust: u64,
    pub lifetime_total: u64,
    pub root: Hash,
    pub program_id: PublicKey,
    pub oracle: PublicKey,
    pub signature: [u8; 64],
    /// Every hotspot with a lifetime amount, in key (leaf) order.
    pub rows: Vec<RewardRow>,
}

impl ClosedEpoch {
    pub fn tree(&self) -> MerkleTree {
        tree(&self.rows.iter().map(|r| (r.hotspot, r.lifetime)).collect()).0
    }

    /// The signed message (see `hexproof_commitment::epoch_message`).
    pub fn message(&self) -> [u8; hexproof_commitment::EPOCH_MESSAGE_LEN] {
        epoch_message(
            self.program_id.as_bytes(),
            self.epoch,
            &self.root,
            self.lifetime_total,
        )
    }
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u64_of(v: i64) -> u64 {
    v.max(0) as u64
}

/// Valid beacons and selected valid witnesses per hotspot with timestamps in the epoch, and the
/// density scales of every registered hotspot.
pub async fn activity(
    store: &Store,
    registry: &dyn Registry,
    config: &RewardConfig,
    epoch: u64,
) -> Result<Activity> {
    let (start, end) = config.bounds(epoch);
    let count = |sql: &'static str| async move {
        let rows = sqlx::query(sql)
            .bind(i64_of(start))
            .bind(i64_of(end))
            .fetch_all(store.pool())
            .await?;
        let mut out = BTreeMap::new();
        for r in rows {
            let key: String = r.try_get("hotspot")?;
            let n: i64 = r.try_get("n")?;
            if let Ok(k) = key.parse::<PublicKey>() {
                out.insert(k, u64_of(n));
            }
        }
        Ok::<_, StoreError>(out)
    };
    // A beacon earns only when someone validly witnessed it (a beacon nobody can hear proves
    // no coverage).
    let mut beacons = count(
        "SELECT hotspot, COUNT(*) AS n FROM reports WHERE kind = 1 AND status = 1 \
         AND timestamp_ns >= $1 AND timestamp_ns < $2 AND id IN \
         (SELECT beacon_id FROM reports WHERE kind = 2 AND status = 1) GROUP BY hotspot",
    )
    .await?;
    let mut witnesses = count(
        "SELECT hotspot, COUNT(*) AS n FROM reports WHERE kind = 2 AND status = 1 AND selected = 1 \
         AND timestamp_ns >= $1 AND timestamp_ns < $2 GROUP BY hotspot",
    )
    .await?;
    if config.fraud_suspension_threshold > 0 {
        let fraud = count(
            "SELECT hotspot, COUNT(*) AS n FROM reports WHERE kind = 2 AND status = 2 \
             AND reason IN ('witness_time_window', 'witness_rssi_too_high') \
             AND timestamp_ns >= $1 AND timestamp_ns < $2 GROUP BY hotspot",
        )
        .await?;
        for (hotspot, n) in fraud {
            if n >= config.fraud_suspension_threshold {
                beacons.remove(&hotspot);
                witnesses.remove(&hotspot);
            }
        }
    }
    let hotspots = registry.all();
    let cells: Vec<CellIndex> = hotspots.iter().filter_map(|h| h.location).collect();
    let cell_scales = density::scales(&cells, &config.density);
    let scales = hotspots
        .iter()
        .filter(|h| beacons.contains_key(&h.pubkey) || witnesses.contains_key(&h.pubkey))
        .map(|h| {
            (
                h.pubkey,
                h.location
                    .and_then(|c| cell_scales.get(&c).copied())
                    .unwrap_or(density::SCALE_ONE),
            )
        })
        .collect();
    Ok(Activity {
        beacons,
        witnesses,
        scales,
    })
}

/// Everything a closed epoch is, from its activity and the previous lifetime amounts (pure).
pub fn build(
    epoch: u64,
    config: &RewardConfig,
    activity: &Activity,
    previous: &BTreeMap<PublicKey, u64>,
    oracle: &Keypair,
) -> ClosedEpoch {
    let (start_ns, end_ns) = config.bounds(epoch);
    let emission = config.schedule().emission(epoch);
    let rewards: EpochRewards = compute(emission, activity, config.beacon_share_bps);
    let lifetime = accumulate(previous, &rewards);
    let (t, keys) = tree(&lifetime);
    let rows = keys
        .iter()
        .map(|k| {
            let r = rewards.rewards.get(k).copied().unwrap_or_default();
            RewardRow {
                hotspot: *k,
                beacon: r.beacon,
                witness: r.witness,
                lifetime: lifetime[k],
            }
        })
        .collect();
    let mut closed = ClosedEpoch {
        epoch,
        start_ns,
        end_ns,
        emission,
        paid: rewards.paid,
        dust: rewards.dust,
        lifetime_total: lifetime.values().sum(),
        root: t.root(),
        program_id: config.program_id,
        oracle: oracle.public(),
        signature: [0; 64],
        rows,
    };
    closed.signature = oracle.sign(&closed.message());
    closed
}

/// The newest closed epoch, if any.
pub async fn last_closed(store: &Store) -> Result<Option<u64>> {
    let n: Option<i64> = sqlx::query("SELECT MAX(epoch) AS e FROM epochs")
        .fetch_one(store.pool())
        .await?
        .try_get("e")?;
    Ok(n.map(u64_of))
}

/// The earliest report timestamp stored (undecodable reports have none).
pub async fn first_report_ns(store: &Store) -> Result<Option<u64>> {
    let t: Option<i64> =
        sqlx::query("SELECT MIN(timestamp_ns) AS t FROM reports WHERE timestamp_ns > 0")
            .fetch_one(store.pool())
            .await?
            .try_get("t")?;
    Ok(t.map(u64_of))
}

/// Whether an epoch may close at `now_ns`: its end plus the close delay has passed and no report
/// stamped before its end still waits for a verdict.
pub async fn ready(store: &Store, config: &RewardConfig, epoch: u64, now_ns: u64) -> Result<bool> {
    let (_, end) = config.bounds(epoch);
    if now_ns < end + config.close_delay_secs * 1_000_000_000 {
        return Ok(false);
    }
    let pending: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM reports WHERE status = 0 AND timestamp_ns < $1")
            .bind(i64_of(end))
            .fetch_one(store.pool())
            .await?
            .try_get("n")?;
    Ok(pending == 0)
}

/// Reads a closed epoch.
pub async fn load(store: &Store, epoch: u64) -> Result<Option<ClosedEpoch>> {
    let Some(row) = sqlx::query(
        "SELECT epoch, start_ns, end_ns, emission, paid, dust, lifetime_total, merkle_root, program_id, \
         oracle, signature FROM epochs WHERE epoch = $1",
    )
    .bind(i64_of(epoch))
    .fetch_optional(store.pool())
    .await?
    else {
        return Ok(None);
    };
    let bytes32 = |name: &str| -> Result<[u8; 32]> {
        let v: Vec<u8> = row.try_get(name)?;
        v.try_into()
            .map_err(|_| StoreError::Corrupt("32-byte column"))
    };
    let signature: Vec<u8> = row.try_get("signature")?;
    let rows = sqlx::query(
        "SELECT hotspot, beacon_amount, witness_amount, lifetime FROM rewards WHERE epoch = $1",
    )
    .bind(i64_of(epoch))
    .fetch_all(store.pool())
    .await?;
    let mut rows = rows
        .iter()
        .map(|r| {
            let key: String = r.try_get("hotspot")?;
            Ok(RewardRow {
                hotspot: key
                    .parse()
                    .map_err(|_| StoreError::Corrupt("hotspot key"))?,
                beacon: u64_of(r.try_get("beacon_amount")?),
                witness: u64_of(r.try_get("witness_amount")?),
                lifetime: u64_of(r.try_get("lifetime")?),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    rows.sort_by_key(|r| r.hotspot);
    Ok(Some(ClosedEpoch {
        epoch: u64_of(row.try_get("epoch")?),
        start_ns: u64_of(row.try_get("start_ns")?),
        end_ns: u64_of(row.try_get("end_ns")?),
        emission: u64_of(row.try_get("emission")?),
        paid: u64_of(row.try_get("paid")?),
        dust: u64_of(row.try_get("dust")?),
        lifetime_total: u64_of(row.try_get("lifetime_total")?),
        root: bytes32("merkle_root")?,
        program_id: PublicKey::from(bytes32("program_id")?),
        oracle: PublicKey::from(bytes32("oracle")?),
        signature: signature
            .try_into()
            .map_err(|_| StoreError::Corrupt("signature"))?,
        rows,
    }))
}

/// Lifetime amounts after `epoch` (empty before epoch 1 or when it is not closed).
pub async fn lifetime_after(store: &Store, epoch: u64) -> Result<BTreeMap<PublicKey, u64>> {
    Ok(load(store, epoch)
        .await?
        .map(|e| e.rows.iter().map(|r| (r.hotspot, r.lifetime)).collect())
        .unwrap_or_default())
}

/// Stores a closed epoch in one transaction (a second store of the same epoch changes nothing).
pub async fn save(store: &Store, e: &ClosedEpoch, closed_ns: u64) -> Result<()> {
    let mut tx = store.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO epochs (epoch, start_ns, end_ns, emission, paid, dust, lifetime_total, hotspot_count, \
         merkle_root, program_id, oracle, signature, closed_ns) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (epoch) DO NOTHING",
    )
    .bind(i64_of(e.epoch))
    .bind(i64_of(e.start_ns))
    .bind(i64_of(e.end_ns))
    .bind(i64_of(e.emission))
    .bind(i64_of(e.paid))
    .bind(i64_of(e.dust))
    .bind(i64_of(e.lifetime_total))
    .bind(e.rows.len() as i64)
    .bind(e.root.to_vec())
    .bind(e.program_id.to_bytes().to_vec())
    .bind(e.oracle.to_bytes().to_vec())
    .bind(e.signature.to_vec())
    .bind(i64_of(closed_ns))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        for r in &e.rows {
            sqlx::query(
                "INSERT INTO rewards (epoch, hotspot, beacon_amount, witness_amount, lifetime) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(i64_of(e.epoch))
            .bind(r.hotspot.to_string())
            .bind(i64_of(r.beacon))
            .bind(i64_of(r.witness))
            .bind(i64_of(r.lifetime))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Recomputes an epoch from stored verdicts and the previous epoch's lifetime amounts.
pub async fn recompute(
    store: &Store,
    registry: &dyn Registry,
    config: &RewardConfig,
    epoch: u64,
    oracle: &Keypair,
) -> Result<ClosedEpoch> {
    let previous = if epoch > 1 {
        lifetime_after(store, epoch - 1).await?
    } else {
        BTreeMap::new()
    };
    let activity = activity(store, registry, config, epoch).await?;
    Ok(build(epoch, config, &activity, &previous, oracle))
}

/// Closes, in order, every epoch that is ready at `now_ns`; returns them.
pub async fn close_ready(
    store: &Store,
    registry: &dyn Registry,
    config: &RewardConfig,
    oracle: &Keypair,
    now_ns: u64,
) -> Result<Vec<ClosedEpoch>> {
    let mut closed = Vec::new();
    // The first epoch closed is the one of the network's first report: nothing before it has
    // anything to commit.
    let mut next = match last_closed(store).await? {
        Some(e) => e + 1,
        None => match first_report_ns(store).await? {
            Some(t) => config.epoch_of(t).max(1),
            None => return Ok(closed),
        },
    };
    while ready(store, config, next, now_ns).await? {
        let e = recompute(store, registry, config, next, oracle).await?;
        save(store, &e, now_ns).await?;
        metrics::counter!("hexproof_epochs_closed_total").increment(1);
        tracing::info!(epoch = e.epoch, paid = e.paid, dust = e.dust, hotspots = e.rows.len(), root = %hex_of(&e.root), "closed epoch");
        closed.push(e);
        next += 1;
    }
    Ok(closed)
}

pub fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
