//! Detection's inputs and outputs: an epoch's receptions (witness reports of valid beacons,
//! with both sides' statements) and the findings stored with each closed epoch.

use hexproof_poc::detect::{Code, Finding, Heard, Reception};
use hexproof_proto::{PublicKey, v1::BeaconReport};
use prost::Message;
use sqlx::Row;

use super::{Result, Store, StoreError, i32_of, i64_of, id32, u64_of};

/// A stored finding with its epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochFinding {
    pub epoch: u64,
    pub finding: Finding,
}

fn heard(status: i64, reason: Option<&str>) -> Heard {
    match (status, reason) {
        (1, _) => Heard::Valid,
        (_, Some("witness_beacon_inconsistent")) => Heard::BeaconInconsistent,
        (_, Some("witness_rssi_too_high")) => Heard::TooLoud,
        _ => Heard::Other,
    }
}

impl Store {
    /// The exact cell each hotspot's valid reports stamped in `[start_ns, end_ns)` revealed (the
    /// newest, by timestamp then id), for hotspots the chain places by commitment only. A
    /// function of the epoch's reports alone, so a replaying member finds the same.
    pub async fn revealed_cells(
        &self,
        start_ns: u64,
        end_ns: u64,
    ) -> Result<std::collections::BTreeMap<PublicKey, h3o::CellIndex>> {
        let rows = sqlx::query(
            "SELECT hotspot, cell FROM reports WHERE cell IS NOT NULL \
             AND timestamp_ns >= $1 AND timestamp_ns < $2 ORDER BY timestamp_ns, id",
        )
        .bind(i64_of(start_ns))
        .bind(i64_of(end_ns))
        .fetch_all(&self.pool)
        .await?;
        let mut cells = std::collections::BTreeMap::new();
        for r in &rows {
            let (Ok(key), Ok(cell)) = (
                r.try_get::<String, _>("hotspot")?.parse::<PublicKey>(),
                h3o::CellIndex::try_from(u64_of(r.try_get("cell")?)),
            ) else {
                continue;
            };
            cells.insert(key, cell);
        }
        Ok(cells)
    }

    /// Every judged witness report stamped in `[start_ns, end_ns)` that matched a valid beacon,
    /// with the beacon's stated power. A beacon payload that no longer decodes, or a key that
    /// does not parse, leaves its reception out (it could not have been valid).
    pub async fn epoch_receptions(&self, start_ns: u64, end_ns: u64) -> Result<Vec<Reception>> {
        let rows = sqlx::query(
            "SELECT w.hotspot AS witness, w.status, w.reason, w.rssi_ddbm, w.snr_ddb, \
             b.id AS beacon, b.hotspot AS beaconer, b.payload AS beacon_payload \
             FROM reports w JOIN reports b ON b.id = w.beacon_id \
             WHERE w.kind = 2 AND w.status <> 0 AND b.status = 1 \
             AND w.timestamp_ns >= $1 AND w.timestamp_ns < $2",
        )
        .bind(i64_of(start_ns))
        .bind(i64_of(end_ns))
        .fetch_all(&self.pool)
        .await?;
        let mut powers: std::collections::HashMap<[u8; 32], Option<i32>> = Default::default();
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let beacon = id32(r.try_get("beacon")?)?;
            let power = match powers.get(&beacon) {
                Some(p) => *p,
                None => {
                    let payload: Vec<u8> = r.try_get("beacon_payload")?;
                    let p = BeaconReport::decode(payload.as_slice())
                        .ok()
                        .map(|b| b.tx_power_ddbm);
                    powers.insert(beacon, p);
                    p
                }
            };
            let (Some(tx_power_ddbm), Ok(beaconer), Ok(witness)) = (
                power,
                r.try_get::<String, _>("beaconer")?.parse::<PublicKey>(),
                r.try_get::<String, _>("witness")?.parse::<PublicKey>(),
            ) else {
                continue;
            };
            let reason: Option<String> = r.try_get("reason")?;
            out.push(Reception {
                beacon,
                beaconer,
                witness,
                rssi_ddbm: i32_of(r.try_get::<Option<i64>, _>("rssi_ddbm")?.unwrap_or(0)),
                snr_ddb: i32_of(r.try_get::<Option<i64>, _>("snr_ddb")?.unwrap_or(0)),
                tx_power_ddbm,
                heard: heard(r.try_get("status")?, reason.as_deref()),
            });
        }
        Ok(out)
    }

    /// Stores an epoch's findings (storing them again changes nothing).
    pub async fn save_findings(&self, epoch: u64, findings: &[Finding]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for f in findings {
            sqlx::query(
                "INSERT INTO findings (epoch, hotspot, code, evidence) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (epoch, hotspot, code) DO NOTHING",
            )
            .bind(i64_of(epoch))
            .bind(f.hotspot.to_string())
            .bind(f.code.code())
            .bind(&f.evidence)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Findings of one epoch (`epoch`) or one hotspot (`hotspot`), or both; newest epoch first,
    /// at most `limit`.
    pub async fn findings(
        &self,
        epoch: Option<u64>,
        hotspot: Option<&PublicKey>,
        limit: u32,
    ) -> Result<Vec<EpochFinding>> {
        let rows = sqlx::query(
            "SELECT epoch, hotspot, code, evidence FROM findings \
             WHERE ($1 < 0 OR epoch = $1) AND ($2 = '' OR hotspot = $2) \
             ORDER BY epoch DESC, hotspot, code LIMIT $3",
        )
        .bind(epoch.map_or(-1, i64_of))
        .bind(hotspot.map(|k| k.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EpochFinding {
                    epoch: u64_of(r.try_get("epoch")?),
                    finding: Finding {
                        hotspot: r
                            .try_get::<String, _>("hotspot")?
                            .parse()
                            .map_err(|_| StoreError::Corrupt("finding hotspot"))?,
                        code: Code::from_code(&r.try_get::<String, _>("code")?)
                            .ok_or(StoreError::Corrupt("finding code"))?,
                        evidence: r.try_get("evidence")?,
                    },
                })
            })
            .collect()
    }
}
