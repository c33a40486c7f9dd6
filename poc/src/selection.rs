//! Which valid witnesses of a beacon earn rewards: at most N, chosen by the beacon's entropy so
//! nobody can choose who is selected (neither witnesses by reporting first, nor the oracle).

use sha2::{Digest, Sha256};

/// Ranks witnesses by `sha256(entropy || beacon id || witness report id)` and marks the first
/// `max` as selected. The result is independent of the order of `witnesses`.
pub fn select(
    entropy: &[u8],
    beacon_id: &[u8; 32],
    witnesses: &[[u8; 32]],
    max: usize,
) -> Vec<bool> {
    let mut ranked: Vec<([u8; 32], usize)> = witnesses
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut h = Sha256::new();
            h.update(b"hexproof.v1.witness-selection\0");
            h.update(entropy);
            h.update(beacon_id);
            h.update(id);
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

    fn ids(n: u8) -> Vec<[u8; 32]> {
        (0..n).map(|i| [i; 32]).collect()
    }

    #[test]
    fn selects_at_most_max_and_all_when_fewer() {
        assert_eq!(
            select(b"e", &[0; 32], &ids(20), 14)
                .iter()
                .filter(|s| **s)
                .count(),
            14
        );
        assert!(select(b"e", &[0; 32], &ids(5), 14).iter().all(|s| *s));
        assert!(select(b"e", &[0; 32], &[], 14).is_empty());
    }

    #[test]
    fn order_of_arrival_does_not_matter() {
        let forward = ids(20);
        let mut backward = forward.clone();
        backward.reverse();
        let a = select(b"entropy", &[1; 32], &forward, 14);
        let b = select(b"entropy", &[1; 32], &backward, 14);
        let chosen_a: Vec<_> = forward
            .iter()
            .zip(&a)
            .filter(|(_, s)| **s)
            .map(|(id, _)| *id)
            .collect();
        let mut chosen_b: Vec<_> = backward
            .iter()
            .zip(&b)
            .filter(|(_, s)| **s)
            .map(|(id, _)| *id)
            .collect();
        chosen_b.sort();
        let mut chosen_a = chosen_a;
        chosen_a.sort();
        assert_eq!(chosen_a, chosen_b);
    }

    #[test]
    fn entropy_changes_who_is_chosen() {
        let w = ids(20);
        assert_ne!(
            select(b"one", &[1; 32], &w, 5),
            select(b"two", &[1; 32], &w, 5)
        );
    }
}
