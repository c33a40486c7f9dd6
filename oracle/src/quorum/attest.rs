//! Members' signed attestations of when they received each report, and the received time an
//! epoch's inputs give each report: the lower median of what the members attest. A proposer
//! cannot choose it: with every honest member's attestation in (a member that attested refuses
//! a proposal without its attestation), the median lies within the honest members' times; and
//! a member whose own session was slow (an outlier) does not block the others.
//!
//! An attestation names the round it was given for and its cut-off (what the member had
//! received by then): a member gives it only to that round's proposer once the epoch is ready,
//! and endorses only a proposal carrying the newest one it gave for that round, so a proposer
//! cannot gather attestations early and propose with stale ones.

use std::collections::{BTreeMap, HashMap};

use hexproof_proto::{Keypair, PublicKey, v1};
use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"hexproof.v1.attestation/2\0";

/// Which round an attestation is for and what it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub epoch: u64,
    pub round: u64,
    /// The member's clock when it listed its receipts.
    pub cutoff_ns: u64,
}

impl Scope {
    pub fn of(a: &v1::Attestation) -> Scope {
        Scope {
            epoch: a.epoch,
            round: a.round,
            cutoff_ns: a.cutoff_ns,
        }
    }
}

/// The 32 bytes a member signs for `receipts` in `scope`.
pub fn message(scope: Scope, receipts: &[v1::Receipt]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(scope.epoch.to_le_bytes());
    h.update(scope.round.to_le_bytes());
    h.update(scope.cutoff_ns.to_le_bytes());
    for r in receipts {
        h.update(&r.id);
        h.update(r.received_ns.to_le_bytes());
    }
    h.finalize().into()
}

/// `key`'s signed attestation of `receipts` (id, received time) in `scope`.
pub fn attest(key: &Keypair, scope: Scope, receipts: Vec<v1::Receipt>) -> v1::Attestation {
    let signature = key.sign(&message(scope, &receipts)).to_vec();
    v1::Attestation {
        epoch: scope.epoch,
        round: scope.round,
        cutoff_ns: scope.cutoff_ns,
        oracle: key.public().to_bytes().to_vec(),
        receipts,
        signature,
    }
}

/// The member that signed `a`, when it is one of `set`, the signature holds and it is for
/// `epoch`.
pub fn signer(a: &v1::Attestation, epoch: u64, set: &[PublicKey]) -> Option<PublicKey> {
    let key = PublicKey::from(<[u8; 32]>::try_from(a.oracle.as_slice()).ok()?);
    let signature = <[u8; 64]>::try_from(a.signature.as_slice()).ok()?;
    let valid = a.epoch == epoch
        && set.contains(&key)
        && key.verifying_key().is_ok_and(|k| {
            k.verify_strict(
                &message(Scope::of(a), &a.receipts),
                &ed25519_dalek::Signature::from_bytes(&signature),
            )
            .is_ok()
        });
    valid.then_some(key)
}

/// The valid attestations of `epoch` among `all`, one per member (the first of each), by member.
pub fn valid<'a>(
    all: impl IntoIterator<Item = &'a v1::Attestation>,
    epoch: u64,
    set: &[PublicKey],
) -> BTreeMap<PublicKey, &'a v1::Attestation> {
    let mut by_member = BTreeMap::new();
    for a in all {
        if let Some(key) = signer(a, epoch, set) {
            by_member.entry(key).or_insert(a);
        }
    }
    by_member
}

/// Each attested report's received time: the lower median of the members' times (one per
/// member; a member listing a report twice counts its first).
pub fn medians<'a>(
    attestations: impl IntoIterator<Item = &'a v1::Attestation>,
) -> HashMap<[u8; 32], u64> {
    let mut times: HashMap<[u8; 32], Vec<u64>> = HashMap::new();
    for a in attestations {
        let mut seen = std::collections::HashSet::new();
        for r in &a.receipts {
            let Ok(id) = <[u8; 32]>::try_from(r.id.as_slice()) else {
                continue;
            };
            if seen.insert(id) {
                times.entry(id).or_default().push(r.received_ns);
            }
        }
    }
    times
        .into_iter()
        .map(|(id, mut t)| {
            t.sort_unstable();
            (id, t[(t.len() - 1) / 2])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(epoch: u64) -> Scope {
        Scope {
            epoch,
            round: 0,
            cutoff_ns: 1_000,
        }
    }

    fn receipts(times: &[(u8, u64)]) -> Vec<v1::Receipt> {
        times
            .iter()
            .map(|(id, t)| v1::Receipt {
                id: vec![*id; 32],
                received_ns: *t,
            })
            .collect()
    }

    #[test]
    fn the_median_ignores_one_outlier_either_way() {
        let keys: Vec<Keypair> = (1..=3).map(|i| Keypair::from_secret([i; 32])).collect();
        let set: Vec<PublicKey> = keys.iter().map(|k| k.public()).collect();
        let a = [
            attest(&keys[0], at(5), receipts(&[(1, 100), (2, 500)])),
            attest(&keys[1], at(5), receipts(&[(1, 90_000), (2, 510)])),
            attest(&keys[2], at(5), receipts(&[(1, 105), (2, 1)])),
        ];
        let valid = valid(&a, 5, &set);
        assert_eq!(valid.len(), 3);
        let m = medians(valid.values().copied());
        assert_eq!(m[&[1; 32]], 105);
        assert_eq!(m[&[2; 32]], 500);
        // Two values: the lower one; one value: itself.
        let m = medians([&a[0], &a[1]]);
        assert_eq!(m[&[1; 32]], 100);
        assert_eq!(medians([&a[1]])[&[1; 32]], 90_000);
    }

    #[test]
    fn a_changed_time_a_stranger_or_another_epoch_is_not_an_attestation() {
        let member = Keypair::from_secret([1; 32]);
        let stranger = Keypair::from_secret([9; 32]);
        let set = vec![member.public()];
        let good = attest(&member, at(5), receipts(&[(1, 100)]));
        assert_eq!(signer(&good, 5, &set), Some(member.public()));
        assert_eq!(signer(&good, 6, &set), None);
        let mut moved = good.clone();
        moved.receipts[0].received_ns = 99;
        assert_eq!(signer(&moved, 5, &set), None);
        // Another round or cut-off than the member signed.
        let mut other_round = good.clone();
        other_round.round = 1;
        assert_eq!(signer(&other_round, 5, &set), None);
        let mut later = good.clone();
        later.cutoff_ns += 1;
        assert_eq!(signer(&later, 5, &set), None);
        let foreign = attest(&stranger, at(5), receipts(&[(1, 100)]));
        assert_eq!(signer(&foreign, 5, &set), None);
        // Two attestations of one member count once.
        let again = attest(&member, at(5), receipts(&[(1, 7)]));
        assert_eq!(valid([&good, &again], 5, &set).len(), 1);
    }
}
