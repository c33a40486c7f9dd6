//! A member that cheats, for tests and the demo to show what the set does with it. It is set
//! only in code (`QuorumConfig::rogue` is never read from a file).

use hexproof_poc::rewards::epoch::ClosedEpoch;
use hexproof_proto::Keypair;

/// How a rogue member cheats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rogue {
    /// Signs epochs that pay its friend (the first hotspot of every epoch) a tenth of the
    /// epoch's emission on top of its honest amount, and tries to land them alone.
    Inflate,
}

impl Rogue {
    /// Turns an honest epoch into the one this rogue signs.
    pub fn cheat(&self, epoch: &mut ClosedEpoch, key: &Keypair) {
        match self {
            Rogue::Inflate => {
                let extra = (epoch.emission / 10).max(1);
                let Some(friend) = epoch.rows.first_mut() else {
                    return;
                };
                friend.beacon += extra;
                friend.lifetime += extra;
                epoch.paid += extra;
                epoch.dust = epoch.dust.saturating_sub(extra);
                epoch.lifetime_total += extra;
                epoch.root = epoch.tree().root();
                epoch.signature = key.sign(&epoch.message());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inflated_epoch_is_signed_and_pays_more() {
        use hexproof_poc::rewards::epoch::RewardRow;
        let key = Keypair::from_secret([7; 32]);
        let friend = Keypair::from_secret([8; 32]).public();
        let mut e = ClosedEpoch {
            epoch: 3,
            start_ns: 0,
            end_ns: 1,
            emission: 1_000,
            paid: 900,
            dust: 100,
            lifetime_total: 900,
            root: [0; 32],
            program_id: key.public(),
            deployment: Default::default(),
            oracle: key.public(),
            signature: [0; 64],
            rows: vec![RewardRow {
                hotspot: friend,
                beacon: 900,
                witness: 0,
                lifetime: 900,
            }],
        };
        let honest_root = e.tree().root();
        Rogue::Inflate.cheat(&mut e, &key);
        assert_eq!(e.rows[0].lifetime, 1_000);
        assert_eq!(e.lifetime_total, 1_000);
        assert_ne!(e.root, honest_root);
        assert_eq!(e.root, e.tree().root());
        let k = key.public().verifying_key().unwrap();
        k.verify_strict(
            &e.message(),
            &ed25519_dalek::Signature::from_bytes(&e.signature),
        )
        .unwrap();
    }
}
