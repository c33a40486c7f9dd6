//! A closed epoch: what each hotspot earned in it and in all, the Merkle root over the lifetime
//! amounts, and the oracle's signature over the epoch message the program checks.

use std::collections::BTreeMap;

use hexproof_commitment::{Deployment, Hash, MerkleTree, epoch_message};
use hexproof_proto::{Keypair, PublicKey};

use super::{Activity, DeploymentId, EpochRewards, RewardConfig, accumulate, compute, tree};

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
    pub deployment: DeploymentId,
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
        let deployment = Deployment {
            program_id: self.program_id.to_bytes(),
            id: self.deployment.0,
        };
        epoch_message(&deployment, self.epoch, &self.root, self.lifetime_total)
    }
}

/// Everything a closed epoch is, from its activity and the previous lifetime amounts.
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
        deployment: config.deployment,
        oracle: oracle.public(),
        signature: [0; 64],
        rows,
    };
    closed.signature = oracle.sign(&closed.message());
    closed
}
