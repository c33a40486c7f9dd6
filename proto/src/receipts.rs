//! Packet receipts are signed in batches: the router signs the root of a Merkle tree over the
//! receipts it stores together, and each receipt carries that signature, its place in the tree
//! and its siblings, so each is checked on its own. One ed25519 signature per batch instead of
//! one per copy bought: signing cost a third of the router's work per report.
//!
//! ```text
//! leaf   = sha256(0x00 || "hexproof.v1.PacketReceipt\0" || encode(receipt with signature,
//!                 batch_index and batch_proof cleared))
//! node   = sha256(0x01 || left || right)      (a level of odd length is padded with
//!                                              sha256(0x02), which no leaf or node can be)
//! signed = "hexproof.v1.PacketReceiptBatch\0" || root
//! ```
//!
//! The leaf is the receipt's identity ([`receipt_id`]): the same receipt has the same id
//! whichever batch it was signed in. The prefixes keep a leaf from ever passing for a node.

use ed25519_dalek::Signature;
use prost::Message;
use sha2::{Digest, Sha256};

use crate::{Keypair, PublicKey, SignatureError, v1::PacketReceipt};

const LEAF_DOMAIN: &[u8] = b"hexproof.v1.PacketReceipt\0";
const ROOT_DOMAIN: &[u8] = b"hexproof.v1.PacketReceiptBatch\0";
/// The deepest proof a receipt may carry (a batch of 2^32 receipts).
pub const MAX_PROOF: usize = 32;

/// A receipt's identity: its leaf in any batch.
pub fn receipt_id(r: &PacketReceipt) -> [u8; 32] {
    let mut unsigned = r.clone();
    unsigned.signature.clear();
    unsigned.batch_index = 0;
    unsigned.batch_proof.clear();
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(LEAF_DOMAIN);
    h.update(unsigned.encode_to_vec());
    h.finalize().into()
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

fn root_message(root: &[u8; 32]) -> Vec<u8> {
    [ROOT_DOMAIN, root.as_slice()].concat()
}

/// Names `key` the router of every receipt in `batch` and signs them with one signature: each
/// gets the signature, its index and its proof.
pub fn sign_batch(batch: &mut [PacketReceipt], key: &Keypair) {
    if batch.is_empty() {
        return;
    }
    for r in batch.iter_mut() {
        r.router = key.public().to_bytes().to_vec();
    }
    let mut level: Vec<[u8; 32]> = batch.iter().map(receipt_id).collect();
    let mut proofs: Vec<Vec<Vec<u8>>> = vec![Vec::new(); batch.len()];
    // Where each receipt's subtree sits on the current level.
    let mut at: Vec<usize> = (0..batch.len()).collect();
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            level.push(padding());
        }
        for (proof, i) in proofs.iter_mut().zip(at.iter_mut()) {
            proof.push(level[*i ^ 1].to_vec());
            *i /= 2;
        }
        level = level
            .chunks(2)
            .map(|pair| node(&pair[0], &pair[1]))
            .collect();
    }
    let signature = key.sign(&root_message(&level[0])).to_vec();
    for (i, (r, proof)) in batch.iter_mut().zip(proofs).enumerate() {
        r.signature = signature.clone();
        r.batch_index = i as u32;
        r.batch_proof = proof;
    }
}

/// What pads a level of odd length.
fn padding() -> [u8; 32] {
    Sha256::digest([2u8]).into()
}

/// The root `r`'s proof leads to from its leaf: at each level the index's low bit says on
/// which side the sibling is; the index must be used up by the proof.
fn root_of(r: &PacketReceipt) -> Result<[u8; 32], SignatureError> {
    if r.batch_proof.len() > MAX_PROOF {
        return Err(SignatureError::Invalid);
    }
    let mut hash = receipt_id(r);
    let mut index = u64::from(r.batch_index);
    for sibling in &r.batch_proof {
        let sibling: [u8; 32] = sibling
            .as_slice()
            .try_into()
            .map_err(|_| SignatureError::Invalid)?;
        hash = if index & 1 == 1 {
            node(&sibling, &hash)
        } else {
            node(&hash, &sibling)
        };
        index >>= 1;
    }
    if index != 0 {
        return Err(SignatureError::Invalid);
    }
    Ok(hash)
}

/// Checks `r` against its router's batch signature (strict ed25519) and returns the router.
pub fn verify_receipt(r: &PacketReceipt) -> Result<PublicKey, SignatureError> {
    let router =
        PublicKey::try_from(r.router.as_slice()).map_err(|_| SignatureError::SignerLength)?;
    let signature = Signature::from_slice(&r.signature)
        .map_err(|_| SignatureError::SignatureLength(r.signature.len()))?;
    let root = root_of(r)?;
    router
        .verifying_key()
        .map_err(|_| SignatureError::SignerNotOnCurve)?
        .verify_strict(&root_message(&root), &signature)
        .map_err(|_| SignatureError::Invalid)?;
    Ok(router)
}

/// [`verify_receipt`] over many receipts, checking each batch's signature once: receipts of
/// one batch share a root and a signature, so checking an epoch's receipts costs a hash path
/// per receipt and a signature per batch.
#[derive(Debug, Default)]
pub struct BatchVerifier {
    /// Whether each batch's signature holds.
    checked: std::collections::HashMap<BatchKey, bool>,
}

/// A batch: (router, root, signature).
type BatchKey = ([u8; 32], [u8; 32], [u8; 64]);

impl BatchVerifier {
    /// The router whose batch signature covers `r`, or why none does.
    pub fn verify(&mut self, r: &PacketReceipt) -> Result<PublicKey, SignatureError> {
        let router =
            PublicKey::try_from(r.router.as_slice()).map_err(|_| SignatureError::SignerLength)?;
        let signature: [u8; 64] = r
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| SignatureError::SignatureLength(r.signature.len()))?;
        let root = root_of(r)?;
        let holds = *self
            .checked
            .entry((router.to_bytes(), root, signature))
            .or_insert_with(|| {
                router.verifying_key().is_ok_and(|k| {
                    k.verify_strict(&root_message(&root), &Signature::from_bytes(&signature))
                        .is_ok()
                })
            });
        if holds {
            Ok(router)
        } else {
            Err(SignatureError::Invalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(n: u8) -> PacketReceipt {
        PacketReceipt {
            hotspot: vec![n; 32],
            payload_hash: vec![n; 32],
            payload_size: u32::from(n),
            oui: 1,
            route_id: 7,
            report_id: vec![n; 32],
            bought_ns: u64::from(n),
            ..Default::default()
        }
    }

    /// Every receipt of batches of every size up to 40 verifies on its own and names the
    /// router; its id does not depend on the batch.
    #[test]
    fn each_receipt_of_a_batch_verifies_on_its_own() {
        let key = Keypair::from_secret([9; 32]);
        for size in 1..=40u8 {
            let mut batch: Vec<PacketReceipt> = (0..size).map(receipt).collect();
            for r in &mut batch {
                r.router = key.public().to_bytes().to_vec();
            }
            let ids: Vec<[u8; 32]> = batch.iter().map(receipt_id).collect();
            sign_batch(&mut batch, &key);
            for (r, id) in batch.iter().zip(&ids) {
                assert_eq!(verify_receipt(r), Ok(key.public()), "size {size}");
                assert_eq!(receipt_id(r), *id);
            }
        }
    }

    /// The batch verifier agrees with `verify_receipt` on good and bad receipts alike, and
    /// caches only signatures, not receipts.
    #[test]
    fn the_batch_verifier_agrees_with_verifying_each() {
        let key = Keypair::from_secret([9; 32]);
        let mut batch: Vec<PacketReceipt> = (0..9).map(receipt).collect();
        sign_batch(&mut batch, &key);
        let mut bad = batch[3].clone();
        bad.payload_size += 1;
        let mut forged = batch[4].clone();
        forged.signature[0] ^= 1;
        let mut v = BatchVerifier::default();
        for r in batch.iter().chain([&bad, &forged, &batch[0]]) {
            assert_eq!(v.verify(r), verify_receipt(r));
        }
        assert!(v.verify(&bad).is_err() && v.verify(&forged).is_err());
    }

    /// A receipt changed after signing, moved to another index, given another batch's proof,
    /// a proof with a sibling too many or too few, or signed by another key does not verify.
    #[test]
    fn a_changed_or_misplaced_receipt_does_not_verify() {
        let key = Keypair::from_secret([9; 32]);
        let mut batch: Vec<PacketReceipt> = (0..7).map(receipt).collect();
        sign_batch(&mut batch, &key);
        let mut other: Vec<PacketReceipt> = (10..17).map(receipt).collect();
        sign_batch(&mut other, &key);
        let r = batch[3].clone();
        let mut changed = r.clone();
        changed.payload_size += 1;
        let mut moved = r.clone();
        moved.batch_index = 2;
        let mut foreign = r.clone();
        foreign.batch_proof = other[3].batch_proof.clone();
        let mut longer = r.clone();
        longer.batch_proof.push(vec![0; 32]);
        let mut shorter = r.clone();
        shorter.batch_proof.pop();
        let mut renamed = r.clone();
        renamed.router = Keypair::from_secret([8; 32]).public().to_bytes().to_vec();
        let mut deep = r.clone();
        deep.batch_proof = vec![vec![0; 32]; MAX_PROOF + 1];
        // The same path from an index past the tree (its high bits unused by the proof).
        let mut beyond = r.clone();
        beyond.batch_index += 1 << r.batch_proof.len();
        let mut odd_sibling = r.clone();
        odd_sibling.batch_proof[0].push(0);
        for bad in [
            changed,
            moved,
            foreign,
            longer,
            shorter,
            renamed,
            deep,
            beyond,
            odd_sibling,
        ] {
            assert!(verify_receipt(&bad).is_err(), "{bad:?}");
        }
        // The last receipt of an odd batch is paired with the padding: placed elsewhere it fails.
        let last = batch[6].clone();
        assert_eq!(verify_receipt(&last), Ok(key.public()));
        let mut elsewhere = last;
        elsewhere.batch_index = 4;
        assert!(verify_receipt(&elsewhere).is_err());
    }
}
