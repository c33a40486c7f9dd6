//! The commitment between the oracle and the Solana program, defined once and used by both.
//!
//! - [`epoch_message`]: the exact bytes each oracle signs with ed25519 for an epoch (bound to
//!   one [`Deployment`]), and that the program finds in the Ed25519 signature-verification
//!   instruction of a submission.
//! - [`leaf`], [`node`], [`MerkleTree`], [`verify_proof`]: the reward tree. Leaves are
//!   `(hotspot, lifetime amount)`, sorted by hotspot key; hashing is domain separated (0x00 for
//!   leaves, 0x01 for nodes) and nodes hash their children in sorted order, so a proof is just the
//!   list of siblings.
//! - [`EmissionSchedule`]: how much an epoch may emit; the oracle pays it out and the program caps
//!   cumulative minting by it (a compromised oracle cannot mint more).
//!
//! Everything here is integer arithmetic with bounded loops, fit for an on-chain program.

use solana_sha256_hasher::hashv;

/// A 32-byte hash.
pub type Hash = [u8; 32];

/// Prefix of the signed epoch message: names the protocol and the layout version.
pub const EPOCH_MESSAGE_DOMAIN: &[u8; 16] = b"hexproof-epoch/2";
/// Length of [`epoch_message`]: domain, program id, deployment, epoch, root, lifetime total.
pub const EPOCH_MESSAGE_LEN: usize = 16 + 32 + 32 + 8 + 32 + 8;
/// Proofs longer than this are refused: 2^24 leaves (16.7 million hotspots), and the longest
/// claim transaction still fits Solana's 1,232-byte packet.
pub const MAX_PROOF_LEN: usize = 24;

/// Which deployment an epoch is for: the program id and a value fixed when that deployment
/// was initialized (a devnet and a mainnet deployment of the same program under the same
/// oracle keys have different values, so a signature for one never counts on the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    pub program_id: [u8; 32],
    pub id: [u8; 32],
}

/// The bytes an oracle signs for an epoch: `domain || program id || deployment id || epoch
/// (u64 LE) || Merkle root || lifetime total (u64 LE)`.
pub fn epoch_message(
    deployment: &Deployment,
    epoch: u64,
    root: &Hash,
    lifetime_total: u64,
) -> [u8; EPOCH_MESSAGE_LEN] {
    let mut m = [0u8; EPOCH_MESSAGE_LEN];
    m[..16].copy_from_slice(EPOCH_MESSAGE_DOMAIN);
    m[16..48].copy_from_slice(&deployment.program_id);
    m[48..80].copy_from_slice(&deployment.id);
    m[80..88].copy_from_slice(&epoch.to_le_bytes());
    m[88..120].copy_from_slice(root);
    m[120..128].copy_from_slice(&lifetime_total.to_le_bytes());
    m
}

/// The fields of an epoch message, if `bytes` is one.
pub fn parse_epoch_message(bytes: &[u8]) -> Option<(Deployment, u64, Hash, u64)> {
    if bytes.len() != EPOCH_MESSAGE_LEN || &bytes[..16] != EPOCH_MESSAGE_DOMAIN {
        return None;
    }
    let deployment = Deployment {
        program_id: bytes[16..48].try_into().ok()?,
        id: bytes[48..80].try_into().ok()?,
    };
    let epoch = u64::from_le_bytes(bytes[80..88].try_into().ok()?);
    let root: Hash = bytes[88..120].try_into().ok()?;
    let total = u64::from_le_bytes(bytes[120..128].try_into().ok()?);
    Some((deployment, epoch, root, total))
}

/// A leaf: `sha256(0x00 || hotspot || lifetime amount (u64 LE))`.
pub fn leaf(hotspot: &[u8; 32], lifetime_amount: u64) -> Hash {
    hashv(&[&[0x00], hotspot, &lifetime_amount.to_le_bytes()]).to_bytes()
}

/// An inner node: `sha256(0x01 || min(a, b) || max(a, b))`.
pub fn node(a: &Hash, b: &Hash) -> Hash {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    hashv(&[&[0x01], lo, hi]).to_bytes()
}

/// Whether `leaf` is in the tree with `root`, given its siblings from the bottom up.
pub fn verify_proof(root: &Hash, leaf: &Hash, proof: &[Hash]) -> bool {
    if proof.len() > MAX_PROOF_LEN {
        return false;
    }
    let mut h = *leaf;
    for sibling in proof {
        h = node(&h, sibling);
    }
    h == *root
}

/// The root of an empty tree.
pub const EMPTY_ROOT: Hash = [0u8; 32];

/// A Merkle tree over leaves in a fixed order. An odd node at the end of a level is carried up
/// unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    pub fn new(leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().map(Vec::as_slice).unwrap_or(&[]);
            let above: Vec<Hash> = below
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => node(a, b),
                    [a] => *a,
                    _ => EMPTY_ROOT,
                })
                .collect();
            levels.push(above);
        }
        MerkleTree { levels }
    }

    pub fn root(&self) -> Hash {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or(EMPTY_ROOT)
    }

    pub fn len(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The siblings of leaf `index`, bottom up.
    pub fn proof(&self, mut index: usize) -> Option<Vec<Hash>> {
        if index >= self.len() {
            return None;
        }
        let mut proof = Vec::new();
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = index ^ 1;
            if let Some(h) = level.get(sibling) {
                proof.push(*h);
            }
            index /= 2;
        }
        Some(proof)
    }
}

/// Emission per epoch: `initial_per_epoch`, halved every `halving_interval` epochs (epochs count
/// from 1). Both sides compute it the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmissionSchedule {
    pub initial_per_epoch: u64,
    pub halving_interval: u64,
}

impl EmissionSchedule {
    /// What epoch `epoch` (from 1) may emit.
    pub fn emission(&self, epoch: u64) -> u64 {
        if epoch == 0 {
            return 0;
        }
        let halvings = (epoch - 1) / self.halving_interval.max(1);
        if halvings >= 64 {
            0
        } else {
            self.initial_per_epoch >> halvings
        }
    }

    /// Everything epochs 1..=epoch may emit together (saturating). At most 65 loop turns.
    pub fn cumulative(&self, epoch: u64) -> u64 {
        let interval = self.halving_interval.max(1);
        let mut total: u64 = 0;
        let mut start = 1u64;
        let mut halvings = 0u32;
        while start <= epoch && halvings < 64 {
            let end = epoch.min(start.saturating_add(interval - 1));
            let per = self.initial_per_epoch >> halvings;
            total = total.saturating_add(per.saturating_mul(end - start + 1));
            start = start.saturating_add(interval);
            halvings += 1;
        }
        total
    }
}

/// Epochs in cluster time: epoch `n` (from 1) covers `[genesis + (n − 1) × length, genesis + n ×
/// length)` seconds of the cluster clock. An epoch may be committed only once it has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochClock {
    pub genesis_ts: i64,
    pub epoch_secs: i64,
}

impl EpochClock {
    /// When epoch `epoch` ends (`None` for epoch 0 or when it overflows).
    pub fn end_of(&self, epoch: u64) -> Option<i64> {
        let n = i64::try_from(epoch).ok().filter(|n| *n >= 1)?;
        self.genesis_ts
            .checked_add(n.checked_mul(self.epoch_secs.max(1))?)
    }

    /// How many epochs have ended at `now` (0 before the first one ends).
    pub fn completed(&self, now: i64) -> u64 {
        if now <= self.genesis_ts {
            return 0;
        }
        ((now - self.genesis_ts) / self.epoch_secs.max(1)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_message_round_trips() {
        let d = Deployment {
            program_id: [1; 32],
            id: [3; 32],
        };
        let m = epoch_message(&d, 7, &[2; 32], 1_000);
        assert_eq!(parse_epoch_message(&m), Some((d, 7, [2; 32], 1_000)));
        let other = Deployment { id: [4; 32], ..d };
        assert_ne!(epoch_message(&other, 7, &[2; 32], 1_000), m);
        assert_eq!(parse_epoch_message(&m[1..]), None);
        let mut other = m;
        other[0] ^= 1;
        assert_eq!(parse_epoch_message(&other), None);
    }

    #[test]
    fn every_leaf_proves_and_tampering_fails() {
        for n in [1usize, 2, 3, 5, 8, 13, 100] {
            let leaves: Vec<Hash> = (0..n)
                .map(|i| leaf(&[i as u8; 32], i as u64 * 10))
                .collect();
            let tree = MerkleTree::new(leaves.clone());
            for (i, l) in leaves.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                assert!(verify_proof(&tree.root(), l, &proof), "n={n} i={i}");
                assert!(!verify_proof(
                    &tree.root(),
                    &leaf(&[i as u8; 32], i as u64 * 10 + 1),
                    &proof
                ));
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0] = node(first, first);
                    assert!(!verify_proof(&tree.root(), l, &bad));
                }
            }
            assert!(tree.proof(n).is_none());
        }
        assert_eq!(MerkleTree::new(vec![]).root(), EMPTY_ROOT);
        // Leaves and nodes never collide: a node is not a leaf of the level above.
        assert_ne!(leaf(&[0; 32], 0), node(&[0; 32], &[0; 32]));
    }

    #[test]
    fn epochs_end_on_the_cluster_clock() {
        let c = EpochClock {
            genesis_ts: 1_000,
            epoch_secs: 60,
        };
        assert_eq!(c.end_of(0), None);
        assert_eq!(c.end_of(1), Some(1_060));
        assert_eq!(c.end_of(u64::MAX), None);
        assert_eq!(c.completed(999), 0);
        assert_eq!(c.completed(1_059), 0);
        assert_eq!(c.completed(1_060), 1);
        assert_eq!(c.completed(1_185), 3);
        for e in 1..50u64 {
            assert_eq!(c.completed(c.end_of(e).unwrap()), e);
            assert_eq!(c.completed(c.end_of(e).unwrap() - 1), e - 1);
        }
    }

    #[test]
    fn emission_halves_and_sums() {
        let s = EmissionSchedule {
            initial_per_epoch: 1_000,
            halving_interval: 3,
        };
        let per: Vec<u64> = (0..=8).map(|e| s.emission(e)).collect();
        assert_eq!(per, vec![0, 1_000, 1_000, 1_000, 500, 500, 500, 250, 250]);
        for e in 0..=200 {
            assert_eq!(
                s.cumulative(e),
                (1..=e).map(|k| s.emission(k)).sum::<u64>(),
                "epoch {e}"
            );
        }
        let max = EmissionSchedule {
            initial_per_epoch: u64::MAX,
            halving_interval: 1,
        };
        assert_eq!(max.cumulative(u64::MAX), u64::MAX);
    }
}
