//! A closed epoch: what each hotspot earned in it and in all, what each organisation was
//! charged for data in it and in all, the Merkle root over both, and the oracle's signature
//! over the epoch message the program checks.

use std::collections::BTreeMap;

use hexproof_commitment::{Deployment, Hash, MerkleTree, epoch_message};
use hexproof_proto::{Keypair, PublicKey};

use super::{
    Activity, DataActivity, DeploymentId, EpochRewards, RewardConfig, accumulate,
    accumulate_charges, compute_with_data, tree_with_orgs,
};

/// One leaf of a closed epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardRow {
    pub hotspot: PublicKey,
    /// What this epoch paid.
    pub beacon: u64,
    pub witness: u64,
    /// Paid from the data pool for `dc` credits carried this epoch.
    pub data: u64,
    pub dc: u64,
    /// Lifetime amount after this epoch (the leaf's amount).
    pub lifetime: u64,
}

/// An organisation's data charges: credits charged this epoch (its receipts) and in all (the
/// leaf the program settles its balance against).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgRow {
    pub oui: u64,
    pub dc: u64,
    pub lifetime_dc: u64,
}

/// Lifetime amounts before an epoch: tokens per hotspot, credits charged per org.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifetimes {
    pub hotspots: BTreeMap<PublicKey, u64>,
    pub orgs: BTreeMap<u64, u64>,
}

impl Lifetimes {
    /// Coverage only (no org was ever charged).
    pub fn of_hotspots(hotspots: BTreeMap<PublicKey, u64>) -> Lifetimes {
        Lifetimes {
            hotspots,
            orgs: BTreeMap::new(),
        }
    }
}

/// A closed epoch as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedEpoch {
    pub epoch: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub emission: u64,
    pub paid: u64,
    /// The data pool and what of it was paid (included in `paid`; the rest went to coverage).
    pub data_pool: u64,
    pub data_paid: u64,
    /// Tokens re-minted for the credits spent in the epoch: `paid + dust = emission + remint`.
    pub remint: u64,
    pub dust: u64,
    pub lifetime_total: u64,
    pub root: Hash,
    pub program_id: PublicKey,
    pub deployment: DeploymentId,
    pub oracle: PublicKey,
    pub signature: [u8; 64],
    /// Every hotspot with a lifetime amount, in key (leaf) order: leaf `i` is `rows[i]`.
    pub rows: Vec<RewardRow>,
    /// Every org ever charged, in OUI order: leaves after the hotspots'.
    pub orgs: Vec<OrgRow>,
}

impl ClosedEpoch {
    pub fn tree(&self) -> MerkleTree {
        tree_with_orgs(
            &self.rows.iter().map(|r| (r.hotspot, r.lifetime)).collect(),
            &self.orgs.iter().map(|o| (o.oui, o.lifetime_dc)).collect(),
        )
        .0
    }

    /// The leaf index of org `oui`'s charges.
    pub fn org_leaf_index(&self, oui: u64) -> Option<usize> {
        let i = self.orgs.binary_search_by_key(&oui, |o| o.oui).ok()?;
        Some(self.rows.len() + i)
    }

    /// Lifetime amounts after this epoch.
    pub fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            hotspots: self.rows.iter().map(|r| (r.hotspot, r.lifetime)).collect(),
            orgs: self.orgs.iter().map(|o| (o.oui, o.lifetime_dc)).collect(),
        }
    }

    /// The signed message (see `hexproof_commitment::epoch_message`).
    pub fn message(&self) -> [u8; hexproof_commitment::EPOCH_MESSAGE_LEN] {
        let deployment = Deployment {
            program_id: self.program_id.to_bytes(),
            id: self.deployment.0,
        };
        epoch_message(&deployment, self.epoch, &self.root, self.lifetime_total)
    }
}

/// Everything a closed epoch is, from its coverage and data activity and the lifetime amounts
/// before it.
pub fn build(
    epoch: u64,
    config: &RewardConfig,
    activity: &Activity,
    data: &DataActivity,
    previous: &Lifetimes,
    oracle: &Keypair,
) -> ClosedEpoch {
    let (start_ns, end_ns) = config.bounds(epoch);
    let emission = config.schedule().emission(epoch);
    let rewards: EpochRewards = compute_with_data(emission, activity, data, config);
    let lifetime = accumulate(&previous.hotspots, &rewards);
    let charges = accumulate_charges(&previous.orgs, &data.charged);
    let (t, keys) = tree_with_orgs(&lifetime, &charges);
    let rows = keys
        .iter()
        .map(|k| {
            let r = rewards.rewards.get(k).copied().unwrap_or_default();
            RewardRow {
                hotspot: *k,
                beacon: r.beacon,
                witness: r.witness,
                data: r.data,
                dc: data.carried.get(k).copied().unwrap_or(0),
                lifetime: lifetime[k],
            }
        })
        .collect();
    let orgs = charges
        .iter()
        .map(|(&oui, &lifetime_dc)| OrgRow {
            oui,
            dc: data.charged.get(&oui).copied().unwrap_or(0),
            lifetime_dc,
        })
        .collect();
    let mut closed = ClosedEpoch {
        epoch,
        start_ns,
        end_ns,
        emission,
        paid: rewards.paid,
        data_pool: rewards.data_pool,
        data_paid: rewards.data_paid,
        remint: rewards.remint,
        dust: rewards.dust,
        lifetime_total: lifetime.values().sum(),
        root: t.root(),
        program_id: config.program_id,
        deployment: config.deployment,
        oracle: oracle.public(),
        signature: [0; 64],
        rows,
        orgs,
    };
    closed.signature = oracle.sign(&closed.message());
    closed
}
