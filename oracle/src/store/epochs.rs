//! Epochs: what an epoch's verdicts tally to (the input of the reward rules), and closed epochs
//! with their reward rows.

use std::collections::BTreeMap;

use hexproof_poc::{
    Reason,
    rewards::{
        DeploymentId,
        activity::Tally,
        epoch::{ClosedEpoch, Lifetimes, OrgRow, RewardRow},
    },
};
use hexproof_proto::PublicKey;
use sqlx::Row;

use super::{Result, Store, StoreError, hash32, i64_of, id32, kind_of, status_of, u64_of};

/// How an epoch of an oracle set was agreed: [`Store::epoch_quorum`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpochQuorum {
    pub proposer: Option<PublicKey>,
    pub signatures: Vec<(PublicKey, [u8; 64])>,
}

/// One epoch a hotspot earned in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotspotEpoch {
    pub epoch: u64,
    pub beacon: u64,
    pub witness: u64,
    pub data: u64,
    pub dc: u64,
    pub lifetime: u64,
}

fn key_of(text: &str) -> Result<PublicKey> {
    text.parse().map_err(|_| StoreError::Corrupt("hotspot key"))
}

impl Store {
    /// Verdicts of the reports stamped in `[start_ns, end_ns)`, counted by hotspot, kind,
    /// status, reason, selection and (beacons) whether a valid witness heard them.
    pub async fn epoch_tallies(&self, start_ns: u64, end_ns: u64) -> Result<Vec<Tally>> {
        let rows = sqlx::query(
            "SELECT hotspot, kind, status, reason, selected, \
             CASE WHEN kind = 1 AND status = 1 AND id IN \
               (SELECT beacon_id FROM reports WHERE kind = 2 AND status = 1) THEN 1 ELSE 0 END \
               AS witnessed, \
             COUNT(*) AS n FROM reports \
             WHERE kind <> 0 AND timestamp_ns >= $1 AND timestamp_ns < $2 \
             GROUP BY hotspot, kind, status, reason, selected, 6",
        )
        .bind(i64_of(start_ns))
        .bind(i64_of(end_ns))
        .fetch_all(&self.pool)
        .await?;
        let mut tallies = Vec::with_capacity(rows.len());
        for r in &rows {
            let Ok(hotspot) = r.try_get::<String, _>("hotspot")?.parse::<PublicKey>() else {
                continue;
            };
            let reason = match r.try_get::<Option<String>, _>("reason")? {
                Some(code) => {
                    Some(Reason::from_code(&code).ok_or(StoreError::Corrupt("reason code"))?)
                }
                None => None,
            };
            tallies.push(Tally {
                hotspot,
                kind: kind_of(r.try_get("kind")?)?,
                status: status_of(r.try_get("status")?)?,
                reason,
                selected: r.try_get::<i64, _>("selected")? != 0,
                witnessed: r.try_get::<i64, _>("witnessed")? != 0,
                count: u64_of(r.try_get("n")?),
            });
        }
        Ok(tallies)
    }

    /// The newest closed epoch, if any.
    pub async fn last_closed_epoch(&self) -> Result<Option<u64>> {
        let n: Option<i64> = sqlx::query("SELECT MAX(epoch) AS e FROM epochs")
            .fetch_one(&self.pool)
            .await?
            .try_get("e")?;
        Ok(n.map(u64_of))
    }

    /// Whether a report stamped at or after `at_ns` is stored, not counting reports stamped
    /// more than `skew_ns` after they were received (a hotspot's clock running ahead): how far
    /// the stream of reports this oracle has stored has come. A range read on the timestamp
    /// index, not a scan.
    pub async fn stored_stamped_since(&self, at_ns: u64, skew_ns: u64) -> Result<bool> {
        let found = sqlx::query(
            "SELECT 1 AS one FROM reports \
             WHERE timestamp_ns >= $1 AND kind <> 0 AND timestamp_ns <= received_ns + $2 \
             LIMIT 1",
        )
        .bind(i64_of(at_ns))
        .bind(i64_of(skew_ns))
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// The earliest report timestamp stored (undecodable reports have none).
    pub async fn first_report_ns(&self) -> Result<Option<u64>> {
        let t: Option<i64> =
            sqlx::query("SELECT MIN(timestamp_ns) AS t FROM reports WHERE timestamp_ns > 0")
                .fetch_one(&self.pool)
                .await?
                .try_get("t")?;
        Ok(t.map(u64_of))
    }

    /// Reads a closed epoch.
    /// When closed epoch `epoch` ended (ns), without reading its rows.
    pub async fn closed_epoch_end(&self, epoch: u64) -> Result<Option<u64>> {
        let end: Option<i64> = sqlx::query("SELECT end_ns FROM epochs WHERE epoch = $1")
            .bind(i64_of(epoch))
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("end_ns"))
            .transpose()?;
        Ok(end.map(u64_of))
    }

    pub async fn closed_epoch(&self, epoch: u64) -> Result<Option<ClosedEpoch>> {
        let Some(row) = sqlx::query(
            "SELECT epoch, start_ns, end_ns, emission, paid, data_pool, data_paid, remint, dust, \
             lifetime_total, merkle_root, program_id, deployment, oracle, signature \
             FROM epochs WHERE epoch = $1",
        )
        .bind(i64_of(epoch))
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let signature: Vec<u8> = row.try_get("signature")?;
        let rows = sqlx::query(
            "SELECT hotspot, beacon_amount, witness_amount, data_amount, dc, lifetime \
             FROM rewards WHERE epoch = $1",
        )
        .bind(i64_of(epoch))
        .fetch_all(&self.pool)
        .await?;
        let mut rows = rows
            .iter()
            .map(|r| {
                Ok(RewardRow {
                    hotspot: key_of(&r.try_get::<String, _>("hotspot")?)?,
                    beacon: u64_of(r.try_get("beacon_amount")?),
                    witness: u64_of(r.try_get("witness_amount")?),
                    data: u64_of(r.try_get("data_amount")?),
                    dc: u64_of(r.try_get("dc")?),
                    lifetime: u64_of(r.try_get("lifetime")?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        rows.sort_by_key(|r| r.hotspot);
        let orgs = self.org_charges(epoch).await?;
        Ok(Some(ClosedEpoch {
            epoch: u64_of(row.try_get("epoch")?),
            start_ns: u64_of(row.try_get("start_ns")?),
            end_ns: u64_of(row.try_get("end_ns")?),
            emission: u64_of(row.try_get("emission")?),
            paid: u64_of(row.try_get("paid")?),
            data_pool: u64_of(row.try_get("data_pool")?),
            data_paid: u64_of(row.try_get("data_paid")?),
            remint: u64_of(row.try_get("remint")?),
            dust: u64_of(row.try_get("dust")?),
            lifetime_total: u64_of(row.try_get("lifetime_total")?),
            root: id32(row.try_get("merkle_root")?)?,
            program_id: PublicKey::from(id32(row.try_get("program_id")?)?),
            deployment: DeploymentId(hash32(row.try_get("deployment")?)?.unwrap_or_default()),
            oracle: PublicKey::from(id32(row.try_get("oracle")?)?),
            signature: signature
                .try_into()
                .map_err(|_| StoreError::Corrupt("signature"))?,
            rows,
            orgs,
        }))
    }

    /// Every org's charges in `epoch` (those ever charged), in OUI (leaf) order.
    pub async fn org_charges(&self, epoch: u64) -> Result<Vec<OrgRow>> {
        let rows = sqlx::query(
            "SELECT oui, dc, lifetime_dc FROM org_charges WHERE epoch = $1 ORDER BY oui",
        )
        .bind(i64_of(epoch))
        .fetch_all(&self.pool)
        .await?;
        let orgs = rows
            .iter()
            .map(|r| {
                Ok(OrgRow {
                    oui: u64_of(r.try_get("oui")?),
                    dc: u64_of(r.try_get("dc")?),
                    lifetime_dc: u64_of(r.try_get("lifetime_dc")?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(orgs)
    }

    /// Lifetime amounts (hotspots' tokens, orgs' credits charged) after `epoch` (empty when it
    /// is not closed).
    pub async fn lifetimes_after(&self, epoch: u64) -> Result<Lifetimes> {
        Ok(Lifetimes {
            hotspots: self.lifetime_after(epoch).await?,
            orgs: self
                .org_charges(epoch)
                .await?
                .into_iter()
                .map(|o| (o.oui, o.lifetime_dc))
                .collect(),
        })
    }

    /// Whether `hotspot` has a reward row in `epoch` (a primary-key lookup): what answers a
    /// proof request for a key that earned nothing without reading the epoch.
    pub async fn has_reward(&self, epoch: u64, hotspot: &PublicKey) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS one FROM rewards WHERE epoch = $1 AND hotspot = $2")
                .bind(i64_of(epoch))
                .bind(hotspot.to_string())
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// Lifetime amounts after `epoch` (empty when it is not closed).
    pub async fn lifetime_after(&self, epoch: u64) -> Result<BTreeMap<PublicKey, u64>> {
        let rows = sqlx::query("SELECT hotspot, lifetime FROM rewards WHERE epoch = $1")
            .bind(i64_of(epoch))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    key_of(&r.try_get::<String, _>("hotspot")?)?,
                    u64_of(r.try_get("lifetime")?),
                ))
            })
            .collect()
    }

    /// Every epoch a hotspot has a reward row in, oldest first.
    pub async fn hotspot_epochs(&self, hotspot: &PublicKey) -> Result<Vec<HotspotEpoch>> {
        let rows = sqlx::query(
            "SELECT epoch, beacon_amount, witness_amount, data_amount, dc, lifetime FROM rewards \
             WHERE hotspot = $1 ORDER BY epoch",
        )
        .bind(hotspot.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HotspotEpoch {
                    epoch: u64_of(r.try_get("epoch")?),
                    beacon: u64_of(r.try_get("beacon_amount")?),
                    witness: u64_of(r.try_get("witness_amount")?),
                    data: u64_of(r.try_get("data_amount")?),
                    dc: u64_of(r.try_get("dc")?),
                    lifetime: u64_of(r.try_get("lifetime")?),
                })
            })
            .collect()
    }

    /// Stores a closed epoch in one transaction (a second store of the same epoch changes
    /// nothing).
    pub async fn save_closed_epoch(&self, e: &ClosedEpoch, closed_ns: u64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO epochs (epoch, start_ns, end_ns, emission, paid, dust, lifetime_total, \
             hotspot_count, merkle_root, program_id, deployment, oracle, signature, closed_ns, \
             data_pool, data_paid, remint) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (epoch) DO NOTHING",
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
        .bind(e.deployment.0.to_vec())
        .bind(e.oracle.to_bytes().to_vec())
        .bind(e.signature.to_vec())
        .bind(i64_of(closed_ns))
        .bind(i64_of(e.data_pool))
        .bind(i64_of(e.data_paid))
        .bind(i64_of(e.remint))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            for r in &e.rows {
                sqlx::query(
                    "INSERT INTO rewards (epoch, hotspot, beacon_amount, witness_amount, \
                     data_amount, dc, lifetime) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(i64_of(e.epoch))
                .bind(r.hotspot.to_string())
                .bind(i64_of(r.beacon))
                .bind(i64_of(r.witness))
                .bind(i64_of(r.data))
                .bind(i64_of(r.dc))
                .bind(i64_of(r.lifetime))
                .execute(&mut *tx)
                .await?;
            }
            for o in &e.orgs {
                sqlx::query(
                    "INSERT INTO org_charges (epoch, oui, dc, lifetime_dc) VALUES ($1, $2, $3, $4)",
                )
                .bind(i64_of(e.epoch))
                .bind(i64_of(o.oui))
                .bind(i64_of(o.dc))
                .bind(i64_of(o.lifetime_dc))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records which set member proposed a closed epoch and the signatures it landed with
    /// (repeating it changes nothing).
    pub async fn save_quorum(
        &self,
        epoch: u64,
        proposer: &PublicKey,
        signatures: &[(PublicKey, [u8; 64])],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE epochs SET proposer = $1 WHERE epoch = $2")
            .bind(proposer.to_bytes().to_vec())
            .bind(i64_of(epoch))
            .execute(&mut *tx)
            .await?;
        for (oracle, signature) in signatures {
            sqlx::query(
                "INSERT INTO epoch_signatures (epoch, oracle, signature) VALUES ($1, $2, $3) \
                 ON CONFLICT (epoch, oracle) DO NOTHING",
            )
            .bind(i64_of(epoch))
            .bind(oracle.to_bytes().to_vec())
            .bind(signature.to_vec())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Who proposed a closed epoch (none for a single oracle's) and the signatures it landed
    /// with, by oracle key.
    pub async fn epoch_quorum(&self, epoch: u64) -> Result<EpochQuorum> {
        let proposer: Option<Vec<u8>> = sqlx::query("SELECT proposer FROM epochs WHERE epoch = $1")
            .bind(i64_of(epoch))
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("proposer"))
            .transpose()?
            .flatten();
        let rows = sqlx::query(
            "SELECT oracle, signature FROM epoch_signatures WHERE epoch = $1 ORDER BY oracle",
        )
        .bind(i64_of(epoch))
        .fetch_all(&self.pool)
        .await?;
        let signatures = rows
            .iter()
            .map(|r| {
                let signature: Vec<u8> = r.try_get("signature")?;
                Ok((
                    PublicKey::from(id32(r.try_get("oracle")?)?),
                    signature
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("signature"))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(EpochQuorum {
            proposer: proposer.map(id32).transpose()?.map(PublicKey::from),
            signatures,
        })
    }
}
