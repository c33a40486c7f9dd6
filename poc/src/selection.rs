//! Which valid witnesses of a beacon earn rewards: at most N, ranked by the oracle's entropy, the
//! beaconer's key and each witness's key, so nobody can choose who is selected: not the
//! witnesses (by reporting first, or by grinding the bytes of their report: a report's id is
//! theirs to vary, their key is fixed at onboarding), not the beaconer (its local entropy,
//! which it can grind, does not enter; it beacons at most once per entropy), and not the order
//! of arrival. The beaconer's key makes each beacon's ranking its own.

use hexproof_proto::PublicKey;
use sha2::{Digest, Sha256};

/// Ranks witnesses by `sha256(domain || entropy || beaconer key || witness key)` and marks the
/// first `max` as selected. The result is independent of the order of `witnesses`.
pub fn select(
    entropy: &[u8],
    beaconer: &PublicKey,
    witnesses: &[PublicKey],
    max: usize,
) -> Vec<bool> {
    let mut ranked: Vec<([u8; 32], usize)> = witnesses
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let mut h = Sha256::new();
            h.update(b"hexproof.v2.witness-selection\0");
            h.update(entropy);
            h.update(beaconer.as_bytes());
            h.update(key.as_bytes());
            (h.finalize().into(), i)
        })
        .collect();
    ranked.sort_unstable();
    let mut selected = vec![false; witnesses.len()];
    for &(_, i) in ranked.iter().take(max) {
        selected[i] = true;
    }
    selected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beaconer() -> PublicKey {
        PublicKey::from([0xAA; 32])
    }

    fn keys(n: u8) -> Vec<PublicKey> {
        (0..n).map(|i| PublicKey::from([i; 32])).collect()
    }

    fn chosen(witnesses: &[PublicKey], selected: &[bool]) -> Vec<PublicKey> {
        let mut out: Vec<PublicKey> = witnesses
            .iter()
            .zip(selected)
            .filter(|(_, s)| **s)
            .map(|(k, _)| *k)
            .collect();
        out.sort();
        out
    }

    #[test]
    fn selects_at_most_max_and_all_when_fewer() {
        assert_eq!(
            select(b"e", &beaconer(), &keys(20), 14)
                .iter()
                .filter(|s| **s)
                .count(),
            14
        );
        assert!(select(b"e", &beaconer(), &keys(5), 14).iter().all(|s| *s));
        assert!(select(b"e", &beaconer(), &[], 14).is_empty());
    }

    #[test]
    fn order_of_arrival_does_not_matter() {
        let forward = keys(20);
        let mut backward = forward.clone();
        backward.reverse();
        assert_eq!(
            chosen(&forward, &select(b"entropy", &beaconer(), &forward, 14)),
            chosen(&backward, &select(b"entropy", &beaconer(), &backward, 14))
        );
    }

    #[test]
    fn entropy_changes_who_is_chosen() {
        let w = keys(20);
        assert_ne!(
            select(b"one", &beaconer(), &w, 5),
            select(b"two", &beaconer(), &w, 5)
        );
    }

    #[test]
    fn each_beaconer_ranks_its_witnesses_its_own_way() {
        let w = keys(20);
        let other = PublicKey::from([0xBB; 32]);
        assert_ne!(
            select(b"one", &beaconer(), &w, 5),
            select(b"one", &other, &w, 5)
        );
    }
}
