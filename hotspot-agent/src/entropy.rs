//! The oracle entropy the agent beacons with: accepts only well-formed entropy signed by a
//! configured oracle, and hands out the newest one still valid. Newest is by timestamp (never
//! more than [`MAX_FUTURE_NS`] ahead), not by id: ids are the oracles' to choose, and one
//! member publishing an id far ahead would otherwise make every real one after look old.

use hexproof_proto::{PublicKey, Signed, v1::Entropy};
use prost::Message;

/// Entropy messages are a few hundred bytes; anything much larger is refused unread.
pub const MAX_MESSAGE_LEN: usize = 1024;
/// Required length of the entropy bytes.
pub const ENTROPY_LEN: usize = 32;
/// Entropy is not used when it expires within this margin (ns): the beacon must reach the
/// oracle while it is still valid.
pub const EXPIRY_MARGIN_NS: u64 = 5_000_000_000;
/// Entropy claiming to come from further in the future than this is refused (clock skew, ns).
/// Below the oracles' own skew allowance (`entropy_skew_secs`, 10 s): entropy the agent takes as
/// newest is entropy the oracles take too, so no oracle can pin agents to entropy stamped ahead.
pub const MAX_FUTURE_NS: u64 = 5_000_000_000;

/// Why an entropy message was ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntropyRejected {
    #[error("message of {0} bytes is over the {MAX_MESSAGE_LEN}-byte limit")]
    TooLarge(usize),
    #[error("not an Entropy message: {0}")]
    Malformed(String),
    #[error("signed by {0}, which is not a configured oracle")]
    UnknownOracle(String),
    #[error("bad signature: {0}")]
    Signature(#[from] hexproof_proto::SignatureError),
    #[error("entropy is {0} bytes, not {ENTROPY_LEN}")]
    Length(usize),
    #[error("timestamp is in the future")]
    Future,
    #[error("already expired")]
    Expired,
    #[error("entropy {0} is not newer than the current {1}")]
    NotNewer(u64, u64),
}

#[derive(Debug, Clone)]
pub struct EntropyStore {
    oracles: Vec<PublicKey>,
    newest: Option<Entropy>,
}

impl EntropyStore {
    pub fn new(oracles: Vec<PublicKey>) -> Self {
        EntropyStore {
            oracles,
            newest: None,
        }
    }

    /// Checks raw bytes from the entropy topic and keeps them when they are newer.
    pub fn accept(&mut self, bytes: &[u8], now_ns: u64) -> Result<&Entropy, EntropyRejected> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(EntropyRejected::TooLarge(bytes.len()));
        }
        let entropy =
            Entropy::decode(bytes).map_err(|e| EntropyRejected::Malformed(e.to_string()))?;
        let signer = entropy.signer()?;
        if !self.oracles.contains(&signer) {
            return Err(EntropyRejected::UnknownOracle(signer.to_string()));
        }
        entropy.verify()?;
        if entropy.data.len() != ENTROPY_LEN {
            return Err(EntropyRejected::Length(entropy.data.len()));
        }
        if entropy.timestamp_ns > now_ns.saturating_add(MAX_FUTURE_NS) {
            return Err(EntropyRejected::Future);
        }
        if expires_ns(&entropy) <= now_ns {
            return Err(EntropyRejected::Expired);
        }
        if let Some(current) = &self.newest
            && (entropy.timestamp_ns, entropy.id) <= (current.timestamp_ns, current.id)
        {
            return Err(EntropyRejected::NotNewer(entropy.id, current.id));
        }
        Ok(self.newest.insert(entropy))
    }

    /// The entropy to beacon with now, if one is valid long enough.
    pub fn fresh(&self, now_ns: u64) -> Option<&Entropy> {
        self.newest
            .as_ref()
            .filter(|e| expires_ns(e) > now_ns.saturating_add(EXPIRY_MARGIN_NS))
    }
}

fn expires_ns(e: &Entropy) -> u64 {
    e.timestamp_ns
        .saturating_add(u64::from(e.ttl_secs) * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hexproof_proto::Keypair;

    const NOW: u64 = 1_800_000_000_000_000_000;

    fn oracle() -> Keypair {
        Keypair::from_secret([1; 32])
    }

    fn entropy(id: u64, ts: u64, key: &Keypair) -> Vec<u8> {
        Entropy {
            id,
            data: vec![id as u8; 32],
            timestamp_ns: ts,
            ttl_secs: 600,
            ..Default::default()
        }
        .signed(key)
        .encode_to_vec()
    }

    #[test]
    fn accepts_newer_signed_entropy_and_serves_it_while_fresh() {
        let mut store = EntropyStore::new(vec![oracle().public()]);
        assert!(store.fresh(NOW).is_none());
        store.accept(&entropy(1, NOW, &oracle()), NOW).unwrap();
        assert_eq!(store.fresh(NOW).unwrap().id, 1);
        store.accept(&entropy(2, NOW, &oracle()), NOW).unwrap();
        assert_eq!(store.fresh(NOW).unwrap().id, 2);
        // Not fresh once it expires within the margin.
        assert!(store.fresh(NOW + 596_000_000_000).is_none());
    }

    #[test]
    fn rejects_every_kind_of_bad_entropy() {
        let mut store = EntropyStore::new(vec![oracle().public()]);
        let stranger = Keypair::from_secret([2; 32]);
        assert!(matches!(
            store.accept(&entropy(1, NOW, &stranger), NOW),
            Err(EntropyRejected::UnknownOracle(_))
        ));
        assert!(matches!(
            store.accept(&[0xFF; 40], NOW),
            Err(EntropyRejected::Malformed(_))
        ));
        assert_eq!(
            store.accept(&vec![0; 5000], NOW).unwrap_err(),
            EntropyRejected::TooLarge(5000)
        );
        let mut tampered = entropy(1, NOW, &oracle());
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            store.accept(&tampered, NOW),
            Err(EntropyRejected::Signature(_))
        ));
        let short = Entropy {
            id: 3,
            data: vec![1; 8],
            timestamp_ns: NOW,
            ttl_secs: 600,
            ..Default::default()
        }
        .signed(&oracle())
        .encode_to_vec();
        assert_eq!(
            store.accept(&short, NOW).unwrap_err(),
            EntropyRejected::Length(8)
        );
        assert_eq!(
            store
                .accept(&entropy(1, NOW - 700_000_000_000, &oracle()), NOW)
                .unwrap_err(),
            EntropyRejected::Expired
        );
        assert_eq!(
            store
                .accept(&entropy(1, NOW + 60_000_000_000, &oracle()), NOW)
                .unwrap_err(),
            EntropyRejected::Future
        );
        store.accept(&entropy(5, NOW, &oracle()), NOW).unwrap();
        assert_eq!(
            store.accept(&entropy(5, NOW, &oracle()), NOW).unwrap_err(),
            EntropyRejected::NotNewer(5, 5)
        );
        // Nothing bad displaced the good one.
        assert_eq!(store.fresh(NOW).unwrap().id, 5);
    }

    /// An oracle's id far ahead (near `i64::MAX`) is taken while newest, and the next real
    /// entropy, published later with an ordinary id, replaces it; entropy stamped more than a
    /// few seconds ahead (which would hold off the real ones by timestamp) is refused.
    #[test]
    fn an_id_far_ahead_does_not_hold_off_later_entropy() {
        let mut store = EntropyStore::new(vec![oracle().public()]);
        let ahead = (i64::MAX as u64 >> 8) << 8;
        store.accept(&entropy(ahead, NOW, &oracle()), NOW).unwrap();
        let later = NOW + 60_000_000_000;
        store.accept(&entropy(7, later, &oracle()), later).unwrap();
        assert_eq!(store.fresh(later).unwrap().id, 7);
        assert_eq!(
            store
                .accept(&entropy(8, later + 6_000_000_000, &oracle()), later)
                .unwrap_err(),
            EntropyRejected::Future
        );
    }
}
