//! The commitment between the oracle and the Solana program, defined once and used by both.
//!
//! - [`epoch_message`]: the exact bytes each oracle signs with ed25519 for an epoch (bound to
//!   one [`Deployment`]), and that the program finds in the Ed25519 signature-verification
//!   instruction of a submission; [`oracle_set_message`]: what the current set signs to approve
//!   its successor.
//! - [`leaf`], [`node`], [`MerkleTree`], [`verify_proof`]: the reward tree. Leaves are
//!   `(hotspot, lifetime amount)`, sorted by hotspot key; hashing is domain separated (0x00 for
//!   leaves, 0x01 for nodes) and nodes hash their children in sorted order, so a proof is just the
//!   list of siblings.
//! - [`org_leaf`]: an organisation's lifetime data credits charged, in the same tree after the
//!   hotspots; [`DcPrice`] and [`packet_dc`]: what credits cost in tokens and a copy costs in
//!   credits.
//! - [`EmissionSchedule`]: how much an epoch may emit; the oracle pays it out and the program caps
//!   cumulative minting by it (a compromised oracle cannot mint more).
//!
//! Everything here is integer arithmetic with bounded loops, fit for an on-chain program.

use solana_sha256_hasher::hashv;

/// A 32-byte hash.
pub type Hash = [u8; 32];

/// Prefix of the signed epoch message: names the protocol and the layout version.
pub const EPOCH_MESSAGE_DOMAIN: &[u8; 16] = b"hexproof-epoch/3";
/// Prefix of the message with which an oracle set approves its successor.
pub const ORACLE_SET_MESSAGE_DOMAIN: &[u8; 16] = b"hexproof-oset/1\0";
/// Length of every signed message: a 16-byte domain, then a 32-byte digest of the fields. The
/// fields are hashed rather than spelled out so that the Ed25519 instruction carrying seven
/// signatures, and a priority-fee instruction beside it, stay inside Solana's 1,232-byte packet.
pub const SIGNED_MESSAGE_LEN: usize = 16 + 32;
/// Length of [`epoch_message`].
pub const EPOCH_MESSAGE_LEN: usize = SIGNED_MESSAGE_LEN;
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

fn signed_message(domain: &[u8; 16], fields: &[&[u8]]) -> [u8; SIGNED_MESSAGE_LEN] {
    let mut m = [0u8; SIGNED_MESSAGE_LEN];
    m[..16].copy_from_slice(domain);
    let mut parts: [&[u8]; 12] = [&[]; 12];
    parts[0] = domain;
    let n = fields.len().min(parts.len() - 1);
    parts[1..=n].copy_from_slice(&fields[..n]);
    m[16..].copy_from_slice(&hashv(&parts[..=n]).to_bytes());
    m
}

/// The bytes an oracle signs for an epoch: `domain || sha256(domain || program id ||
/// deployment id || epoch (u64 LE) || Merkle root || lifetime total (u64 LE))`.
pub fn epoch_message(
    deployment: &Deployment,
    epoch: u64,
    root: &Hash,
    lifetime_total: u64,
) -> [u8; EPOCH_MESSAGE_LEN] {
    signed_message(
        EPOCH_MESSAGE_DOMAIN,
        &[
            &deployment.program_id,
            &deployment.id,
            &epoch.to_le_bytes(),
            root,
            &lifetime_total.to_le_bytes(),
        ],
    )
}

/// The bytes each member of the current oracle set signs to approve a proposed successor:
/// `domain || sha256(domain || program id || deployment id || threshold || n || key₁ … keyₙ ||
/// effective-at (i64 LE))`. Binding the proposal's effective time means an approval counts for
/// that one proposal only, not for the same set proposed again later.
pub fn oracle_set_message(
    deployment: &Deployment,
    oracles: &[[u8; 32]],
    threshold: u8,
    effective_at: i64,
) -> [u8; SIGNED_MESSAGE_LEN] {
    let mut keys = [0u8; 32 * 8];
    let n = oracles.len().min(8);
    for (i, k) in oracles[..n].iter().enumerate() {
        keys[32 * i..32 * (i + 1)].copy_from_slice(k);
    }
    signed_message(
        ORACLE_SET_MESSAGE_DOMAIN,
        &[
            &deployment.program_id,
            &deployment.id,
            &[threshold, n as u8],
            &keys[..32 * n],
            &effective_at.to_le_bytes(),
        ],
    )
}

/// A leaf: `sha256(0x00 || hotspot || lifetime amount (u64 LE))`.
pub fn leaf(hotspot: &[u8; 32], lifetime_amount: u64) -> Hash {
    hashv(&[&[0x00], hotspot, &lifetime_amount.to_le_bytes()]).to_bytes()
}

/// An organisation's leaf: `sha256(0x02 || oui (u64 LE) || lifetime data credits charged (u64
/// LE))`. Org leaves follow the hotspot leaves in the same tree (sorted by OUI); the domain byte
/// keeps an org's charges from ever proving as a hotspot's amount, or the other way round.
pub fn org_leaf(oui: u64, lifetime_dc: u64) -> Hash {
    hashv(&[&[0x02], &oui.to_le_bytes(), &lifetime_dc.to_le_bytes()]).to_bytes()
}

/// Base units in one whole reward token (the mint has 6 decimals).
pub const TOKEN_BASE_UNITS: u64 = 1_000_000;

/// The price of data credits: how many credits one whole token buys. The same number prices a
/// purchase (tokens burned → credits) and the data pool's payment (credits carried → tokens), so
/// nobody can get more tokens for carrying credits than were burned to buy them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DcPrice {
    pub dc_per_token: u64,
}

impl DcPrice {
    /// Credits `tokens` base units buy (rounded down).
    pub fn credits_for(&self, tokens: u64) -> u64 {
        (u128::from(tokens) * u128::from(self.dc_per_token) / u128::from(TOKEN_BASE_UNITS))
            .min(u128::from(u64::MAX)) as u64
    }

    /// Token base units `credits` are worth (rounded down; 0 for a zero price).
    pub fn tokens_for(&self, credits: u64) -> u64 {
        if self.dc_per_token == 0 {
            return 0;
        }
        (u128::from(credits) * u128::from(TOKEN_BASE_UNITS) / u128::from(self.dc_per_token))
            .min(u128::from(u64::MAX)) as u64
    }
}

/// Data credits one copy of a packet costs: one per started 24 bytes of PHYPayload, at least
/// one (Helium's rule).
pub fn packet_dc(payload_size: u32) -> u64 {
    u64::from(payload_size.max(24)).div_ceil(24)
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

/// A windowed mint limit (a circuit breaker): what was minted decays linearly to nothing over
/// `window_secs`; a mint that would lift the decayed total above `limit` is refused. The
/// program keeps one in its configuration (claims mint what it has room for; an owner who
/// waits is paid later) and the tokenomics simulator runs the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MintWindow {
    pub window_secs: i64,
    pub limit: u64,
    /// The decayed total at `updated_ts`.
    pub value: u64,
    pub updated_ts: i64,
}

impl MintWindow {
    /// The decayed total at `now`.
    pub fn decayed(&self, now: i64) -> u64 {
        let elapsed = now.saturating_sub(self.updated_ts).max(0);
        let window = self.window_secs.max(1);
        if elapsed >= window {
            return 0;
        }
        let left = (window - elapsed) as u128;
        (u128::from(self.value) * left / window as u128) as u64
    }

    /// What may be minted at `now` without exceeding the limit.
    pub fn room(&self, now: i64) -> u64 {
        self.limit.saturating_sub(self.decayed(now))
    }

    /// Records `amount` minted at `now`; `None` (nothing recorded) when it would exceed the
    /// limit.
    pub fn admit(&mut self, amount: u64, now: i64) -> Option<()> {
        let total = self.decayed(now).checked_add(amount)?;
        if total > self.limit {
            return None;
        }
        self.value = total;
        // Never backwards: a clock that steps back must not revive decayed mints' room.
        self.updated_ts = self.updated_ts.max(now);
        Some(())
    }
}

/// The most the program lets have been minted: the newest signed lifetime total (with what
/// claims already paid beyond it, `excess`), and never more than what the schedule lets the
/// `epochs_ended` epochs emit plus the tokens burned for data credits (re-minted: net
/// emissions). `Config::mint_cap` on chain and the tokenomics simulator both call this.
pub fn mint_cap(
    schedule: &EmissionSchedule,
    epochs_ended: u64,
    burned: u64,
    signed_total: u64,
    excess: u64,
) -> u64 {
    let by_clock = schedule.cumulative(epochs_ended).saturating_add(burned);
    signed_total.saturating_add(excess).min(by_clock)
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
        // In i128: `now − genesis` of two extreme i64 values does not fit an i64.
        let elapsed = i128::from(now) - i128::from(self.genesis_ts);
        (elapsed / i128::from(self.epoch_secs.max(1))).min(i128::from(u64::MAX)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_messages_bind_every_field() {
        let d = Deployment {
            program_id: [1; 32],
            id: [3; 32],
        };
        let m = epoch_message(&d, 7, &[2; 32], 1_000);
        assert_eq!(&m[..16], EPOCH_MESSAGE_DOMAIN);
        for other in [
            epoch_message(&Deployment { id: [4; 32], ..d }, 7, &[2; 32], 1_000),
            epoch_message(
                &Deployment {
                    program_id: [4; 32],
                    ..d
                },
                7,
                &[2; 32],
                1_000,
            ),
            epoch_message(&d, 8, &[2; 32], 1_000),
            epoch_message(&d, 7, &[3; 32], 1_000),
            epoch_message(&d, 7, &[2; 32], 1_001),
        ] {
            assert_ne!(other, m);
        }
        let set = oracle_set_message(&d, &[[5; 32], [6; 32]], 2, 100);
        assert_eq!(&set[..16], ORACLE_SET_MESSAGE_DOMAIN);
        for other in [
            oracle_set_message(&d, &[[5; 32], [6; 32]], 1, 100),
            oracle_set_message(&d, &[[5; 32]], 2, 100),
            oracle_set_message(&d, &[[6; 32], [5; 32]], 2, 100),
            oracle_set_message(&d, &[[5; 32], [6; 32]], 2, 101),
            oracle_set_message(
                &Deployment { id: [4; 32], ..d },
                &[[5; 32], [6; 32]],
                2,
                100,
            ),
        ] {
            assert_ne!(other, set);
        }
        assert_ne!(&set[16..], &m[16..]);
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
    fn credits_never_pay_more_tokens_than_bought_them() {
        assert_eq!(packet_dc(0), 1);
        assert_eq!(packet_dc(24), 1);
        assert_eq!(packet_dc(25), 2);
        assert_eq!(packet_dc(255), 11);
        for dc_per_token in [1, 7, 100_000, 3_333_333, u64::MAX] {
            let price = DcPrice { dc_per_token };
            for tokens in [0, 1, 9, 10, 999_999, 1_000_000, 123_456_789, u64::MAX / 3] {
                let dc = price.credits_for(tokens);
                assert!(price.tokens_for(dc) <= tokens, "{dc_per_token} {tokens}");
            }
        }
        assert_eq!(
            DcPrice {
                dc_per_token: 100_000
            }
            .credits_for(1_000_000),
            100_000
        );
        assert_eq!(DcPrice { dc_per_token: 0 }.tokens_for(5), 0);
        assert_ne!(org_leaf(1, 2), leaf(&[0; 32], 2));
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
        let extreme = EpochClock {
            genesis_ts: i64::MIN,
            epoch_secs: 1,
        };
        assert_eq!(extreme.completed(i64::MAX), u64::MAX, "no overflow");
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
