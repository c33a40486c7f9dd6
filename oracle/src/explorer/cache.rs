//! Closed epochs kept built: a closed epoch never changes, so its reward rows and Merkle tree
//! are read and built once, not per `GetEpoch` or `GetRewardProof`. At most `capacity` epochs
//! are held (the least recently used goes); requests for an epoch being loaded wait for that
//! one load instead of starting their own. An epoch that is not closed is not remembered.

use std::{
    collections::VecDeque,
    future::Future,
    sync::{Arc, Mutex},
};

use hexproof_commitment::{Hash, MerkleTree};
use hexproof_poc::rewards::epoch::ClosedEpoch;
use hexproof_proto::PublicKey;
use tokio::sync::OnceCell;

/// A closed epoch with its tree.
#[derive(Debug)]
pub struct BuiltEpoch {
    pub epoch: ClosedEpoch,
    tree: MerkleTree,
}

impl BuiltEpoch {
    pub fn new(epoch: ClosedEpoch) -> BuiltEpoch {
        BuiltEpoch {
            tree: epoch.tree(),
            epoch,
        }
    }

    /// The leaf index and proof of `hotspot`'s lifetime amount; none when it has no row.
    pub fn proof(&self, hotspot: &PublicKey) -> Option<(usize, Vec<Hash>)> {
        // Rows are in key order, the tree's leaf order.
        let i = self
            .epoch
            .rows
            .binary_search_by_key(hotspot, |r| r.hotspot)
            .ok()?;
        Some((i, self.tree.proof(i)?))
    }
}

type Slot = Arc<OnceCell<Arc<BuiltEpoch>>>;

#[derive(Debug)]
pub struct EpochCache {
    capacity: usize,
    /// Most recently used last.
    slots: Mutex<VecDeque<(u64, Slot)>>,
}

impl EpochCache {
    pub fn new(capacity: usize) -> EpochCache {
        EpochCache {
            capacity,
            slots: Mutex::new(VecDeque::new()),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, Slot)>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Epoch `n` if it is held and built.
    pub fn cached(&self, n: u64) -> Option<Arc<BuiltEpoch>> {
        self.slots()
            .iter()
            .find(|(e, _)| *e == n)
            .and_then(|(_, slot)| slot.get().cloned())
    }

    /// How many epochs are held built.
    pub fn len(&self) -> usize {
        self.slots().iter().filter(|(_, s)| s.initialized()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Epoch `n`, loaded with `load` (once, whoever else asks meanwhile) when it is not held.
    /// `Ok(None)` from `load` (not closed) and errors are not remembered.
    pub async fn get<E, F>(&self, n: u64, load: F) -> Result<Option<Arc<BuiltEpoch>>, E>
    where
        F: Future<Output = Result<Option<ClosedEpoch>, E>>,
    {
        if self.capacity == 0 {
            return Ok(load.await?.map(|e| Arc::new(BuiltEpoch::new(e))));
        }
        let slot = {
            let mut slots = self.slots();
            let slot = match slots.iter().position(|(e, _)| *e == n) {
                Some(i) => slots.remove(i).map(|(_, s)| s).unwrap_or_default(),
                None => Slot::default(),
            };
            slots.push_back((n, slot.clone()));
            slot
        };
        let got = slot
            .get_or_try_init(|| async {
                match load.await? {
                    Some(e) => Ok(Arc::new(BuiltEpoch::new(e))),
                    None => Err(None),
                }
            })
            .await;
        match got {
            Ok(built) => {
                // Room is made once an epoch is in: one that is not closed evicts nothing.
                let mut slots = self.slots();
                while slots.len() > self.capacity {
                    slots.pop_front();
                }
                Ok(Some(built.clone()))
            }
            Err(e) => {
                let mut slots = self.slots();
                slots.retain(|(_, s)| !Arc::ptr_eq(s, &slot) || s.initialized());
                match e {
                    None => Ok(None),
                    Some(e) => Err(e),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hexproof_poc::rewards::epoch::RewardRow;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    fn epoch(n: u64, keys: &[PublicKey]) -> ClosedEpoch {
        let mut rows: Vec<RewardRow> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| RewardRow {
                hotspot: *k,
                beacon: i as u64,
                witness: 1,
                data: 0,
                dc: 0,
                lifetime: 10 + i as u64,
            })
            .collect();
        rows.sort_by_key(|r| r.hotspot);
        ClosedEpoch {
            epoch: n,
            start_ns: 0,
            end_ns: 1,
            emission: 0,
            paid: 0,
            data_pool: 0,
            data_paid: 0,
            remint: 0,
            dust: 0,
            lifetime_total: 0,
            root: [0; 32],
            program_id: PublicKey::from([0; 32]),
            deployment: Default::default(),
            oracle: PublicKey::from([0; 32]),
            signature: [0; 64],
            rows,
            orgs: Vec::new(),
        }
    }

    fn key(i: u8) -> PublicKey {
        hexproof_proto::Keypair::from_secret([i; 32]).public()
    }

    #[tokio::test]
    async fn an_epoch_is_read_once_and_at_most_capacity_are_held() {
        let keys = [key(1), key(2), key(3)];
        let reads = AtomicUsize::new(0);
        let read = |n: u64| {
            let e = epoch(n, &keys);
            let reads = &reads;
            async move {
                reads.fetch_add(1, Relaxed);
                Ok::<_, ()>(Some(e))
            }
        };
        let cache = EpochCache::new(2);
        for n in [1, 1, 2, 1, 2, 2] {
            cache.get(n, read(n)).await.unwrap();
        }
        assert_eq!(reads.load(Relaxed), 2, "epochs 1 and 2 read once each");
        cache.get(3, read(3)).await.unwrap();
        assert_eq!(cache.len(), 2, "at most two held");
        assert!(cache.cached(1).is_none(), "the least recently used went");
        assert!(cache.cached(2).is_some() && cache.cached(3).is_some());

        // Not closed (None) and errors are not remembered.
        let none = cache.get(9, async { Ok::<_, ()>(None) }).await.unwrap();
        assert!(none.is_none());
        assert!(
            cache
                .get(8, async { Err::<Option<ClosedEpoch>, _>(()) })
                .await
                .is_err()
        );
        assert_eq!(cache.len(), 2);
        assert!(cache.cached(2).is_some() && cache.cached(3).is_some());
    }

    #[test]
    fn proofs_verify_and_strangers_have_none() {
        let keys = [key(1), key(2), key(3), key(4), key(5)];
        let mut e = epoch(1, &keys);
        e.root = e.tree().root();
        let built = BuiltEpoch::new(e.clone());
        for row in &e.rows {
            let (i, siblings) = built.proof(&row.hotspot).unwrap();
            assert_eq!(e.rows[i].hotspot, row.hotspot);
            assert!(hexproof_commitment::verify_proof(
                &e.root,
                &hexproof_commitment::leaf(row.hotspot.as_bytes(), row.lifetime),
                &siblings
            ));
        }
        assert!(built.proof(&key(9)).is_none());
    }
}
