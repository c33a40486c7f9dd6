//! Turns MQTT messages into storable reports: decode by topic, check size, signature and that
//! the signer owns the topic. Pure (no I/O); signatures of a batch are checked on every core.
//!
//! Signatures are verified one by one with strict ed25519 rather than in ed25519-dalek's
//! batches: batch verification uses the cofactored equation with coefficients drawn from the
//! batch itself, so a crafted signature that strict verification rejects could pass or fail
//! depending on which other reports share its batch, and two oracles could disagree on a
//! verdict. Verdicts must be a function of the report alone.

use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;
use hexproof_proto::{
    PublicKey, Signed,
    topics::Topic,
    v1::{BeaconReport, WitnessReport},
};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use hexproof_poc::{Kind, Reason, Status};

use crate::store::NewReport;

/// Reports are a few hundred bytes; anything larger is refused unread.
pub const MAX_REPORT_LEN: usize = 4096;

/// A message as it came off the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub topic: String,
    pub payload: Vec<u8>,
    pub received_ns: u64,
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The hash witnesses and beacons are matched by.
pub fn packet_hash(packet: &[u8]) -> [u8; 32] {
    sha256(&[packet])
}

fn rejected(
    msg: &Incoming,
    kind: Kind,
    hotspot: String,
    reason: Reason,
    detail: String,
) -> NewReport {
    NewReport {
        id: sha256(&[
            b"hexproof.v1.undecodable\0",
            msg.topic.as_bytes(),
            b"\0",
            &msg.payload,
        ]),
        kind,
        hotspot,
        packet_hash: None,
        timestamp_ns: 0,
        received_ns: msg.received_ns,
        payload: msg.payload.clone(),
        status: Status::Invalid,
        reason: Some(reason),
        detail: Some(detail),
        rssi_ddbm: None,
        snr_ddb: None,
        frequency_hz: None,
    }
}

/// Decompressed public keys of the registered hotspots, so their signatures verify without
/// decompressing the key each time. Built from the registry; unknown keys are decompressed on
/// the fly and never added (an attacker inventing keys cannot grow it).
#[derive(Debug, Default, Clone)]
pub struct KeyCache(HashMap<PublicKey, VerifyingKey>);

impl KeyCache {
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        KeyCache(
            keys.into_iter()
                .filter_map(|k| k.verifying_key().ok().map(|v| (k, v)))
                .collect(),
        )
    }

    fn get(&self, signer: &[u8]) -> Option<&VerifyingKey> {
        PublicKey::try_from(signer)
            .ok()
            .and_then(|k| self.0.get(&k))
    }
}

/// Verifies a signed report once, returning its id and the signature verdict.
fn verified<M: Signed>(
    m: &M,
    keys: &KeyCache,
) -> ([u8; 32], Result<PublicKey, hexproof_proto::SignatureError>) {
    match m.verify_with_id_cached(keys.get(m.signer_field())) {
        Ok((signer, id)) => (id, Ok(signer)),
        Err(e) => (m.id(), Err(e)),
    }
}

/// Applies the signature verdict and the topic check to a report built from a signed message.
fn checked(
    msg: &Incoming,
    verdict: Result<PublicKey, hexproof_proto::SignatureError>,
    topic_key: PublicKey,
    base: NewReport,
) -> NewReport {
    let fail = |reason, detail: String, hotspot: String| NewReport {
        status: Status::Invalid,
        reason: Some(reason),
        detail: Some(detail),
        hotspot,
        ..base.clone()
    };
    match verdict {
        Err(e) => fail(Reason::BadSignature, e.to_string(), topic_key.to_string()),
        Ok(signer) if signer != topic_key => fail(
            Reason::TopicMismatch,
            format!("signed by {signer} but published on {}", msg.topic),
            signer.to_string(),
        ),
        // The signer is the topic's key, whose base58 form `base` already holds.
        Ok(_) => base,
    }
}

/// Classifies one message.
pub fn classify(msg: &Incoming, keys: &KeyCache) -> NewReport {
    let (kind, key) = match Topic::parse(&msg.topic) {
        Some(Topic::Beacon(k)) => (Kind::Beacon, k),
        Some(Topic::Witness(k)) => (Kind::Witness, k),
        _ => {
            let tail = msg
                .topic
                .rsplit('/')
                .next()
                .unwrap_or("")
                .chars()
                .take(64)
                .collect();
            return rejected(
                msg,
                Kind::Undecodable,
                tail,
                Reason::Malformed,
                "topic does not name a hotspot key".into(),
            );
        }
    };
    if msg.payload.len() > MAX_REPORT_LEN {
        let detail = format!(
            "{} bytes; reports are at most {MAX_REPORT_LEN}",
            msg.payload.len()
        );
        return rejected(
            msg,
            Kind::Undecodable,
            key.to_string(),
            Reason::Malformed,
            detail,
        );
    }
    match kind {
        Kind::Beacon => decoded::<BeaconReport>(msg, kind, key, keys),
        _ => decoded::<WitnessReport>(msg, kind, key, keys),
    }
}

/// What storage keeps of a report besides its bytes.
trait Report: Signed {
    fn packet(&self) -> &[u8];
    fn timestamp_ns(&self) -> u64;
    fn frequency_hz(&self) -> u64;
    /// RSSI and SNR, for witnesses.
    fn signal(&self) -> Option<(i32, i32)>;
}

impl Report for BeaconReport {
    fn packet(&self) -> &[u8] {
        &self.payload
    }
    fn timestamp_ns(&self) -> u64 {
        self.timestamp_ns
    }
    fn frequency_hz(&self) -> u64 {
        self.frequency_hz
    }
    fn signal(&self) -> Option<(i32, i32)> {
        None
    }
}

impl Report for WitnessReport {
    fn packet(&self) -> &[u8] {
        &self.payload
    }
    fn timestamp_ns(&self) -> u64 {
        self.timestamp_ns
    }
    fn frequency_hz(&self) -> u64 {
        self.frequency_hz
    }
    fn signal(&self) -> Option<(i32, i32)> {
        Some((self.rssi_ddbm, self.snr_ddb))
    }
}

/// Decodes a message of type `M`, then checks its signature and topic.
fn decoded<M: Report>(msg: &Incoming, kind: Kind, key: PublicKey, keys: &KeyCache) -> NewReport {
    let m = match M::decode(msg.payload.as_slice()) {
        Ok(m) => m,
        Err(e) => {
            let detail = format!("not a {}: {e}", M::TYPE_NAME);
            return rejected(
                msg,
                Kind::Undecodable,
                key.to_string(),
                Reason::Malformed,
                detail,
            );
        }
    };
    let (id, verdict) = verified(&m, keys);
    let base = NewReport {
        id,
        kind,
        hotspot: key.to_string(),
        packet_hash: Some(packet_hash(m.packet())),
        timestamp_ns: m.timestamp_ns(),
        received_ns: msg.received_ns,
        payload: msg.payload.clone(),
        status: Status::Pending,
        reason: None,
        detail: None,
        rssi_ddbm: m.signal().map(|(rssi, _)| rssi),
        snr_ddb: m.signal().map(|(_, snr)| snr),
        frequency_hz: Some(m.frequency_hz()),
    };
    checked(msg, verdict, key, base)
}

/// The key whose signature on a classified report verified: the hotspot the report is stored
/// under when it is pending or was published on another hotspot's topic (`topic_mismatch`);
/// none for junk and bad signatures. What ingest charges a report's rate to.
pub fn verified_signer(r: &NewReport) -> Option<PublicKey> {
    match (r.status, r.reason) {
        (Status::Pending, None) | (Status::Invalid, Some(Reason::TopicMismatch)) => {
            r.hotspot.parse().ok()
        }
        _ => None,
    }
}

/// Classifies a batch on every core.
pub fn classify_all(messages: &[Incoming], keys: &KeyCache) -> Vec<NewReport> {
    messages.par_iter().map(|m| classify(m, keys)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hexproof_proto::{Keypair, topics};
    use prost::Message;

    fn beacon_msg(key: &Keypair, topic_key: &PublicKey) -> Incoming {
        let b = BeaconReport {
            payload: vec![1, 2, 3],
            timestamp_ns: 5,
            ..Default::default()
        }
        .signed(key);
        Incoming {
            topic: topics::beacons(topic_key),
            payload: b.encode_to_vec(),
            received_ns: 9,
        }
    }

    #[test]
    fn a_signed_report_on_its_own_topic_is_pending() {
        let k = Keypair::from_secret([1; 32]);
        let r = classify(&beacon_msg(&k, &k.public()), &KeyCache::default());
        assert_eq!(
            (r.kind, r.status, r.reason),
            (Kind::Beacon, Status::Pending, None)
        );
        assert_eq!(r.hotspot, k.public().to_string());
        assert_eq!(r.packet_hash, Some(packet_hash(&[1, 2, 3])));
        assert_eq!(r.timestamp_ns, 5);
    }

    #[test]
    fn garbage_bad_signatures_and_foreign_topics_are_rejected_with_reasons() {
        let k = Keypair::from_secret([1; 32]);
        let other = Keypair::from_secret([2; 32]).public();
        let r = classify(&beacon_msg(&k, &other), &KeyCache::new([k.public()]));
        assert_eq!(
            (r.status, r.reason),
            (Status::Invalid, Some(Reason::TopicMismatch))
        );
        // Published on another's topic, it is still what k signed.
        assert_eq!(verified_signer(&r), Some(k.public()));
        let own = classify(&beacon_msg(&k, &k.public()), &KeyCache::default());
        assert_eq!(verified_signer(&own), Some(k.public()));

        let mut m = beacon_msg(&k, &k.public());
        let n = m.payload.len();
        m.payload[n - 1] ^= 1;
        let bad = classify(&m, &KeyCache::new([k.public()]));
        assert_eq!(bad.reason, Some(Reason::BadSignature));
        assert_eq!(verified_signer(&bad), None, "nobody signed it");

        let junk = Incoming {
            topic: topics::witnesses(&k.public()),
            payload: vec![0xFF; 7],
            received_ns: 1,
        };
        let r = classify(&junk, &KeyCache::default());
        assert_eq!(
            (r.kind, r.reason),
            (Kind::Undecodable, Some(Reason::Malformed))
        );
        assert_eq!(verified_signer(&r), None);
        // The same junk twice has the same id (stored once).
        assert_eq!(classify(&junk, &KeyCache::default()).id, r.id);

        let big = Incoming {
            topic: topics::beacons(&k.public()),
            payload: vec![0; 5000],
            received_ns: 1,
        };
        assert_eq!(
            classify(&big, &KeyCache::default()).reason,
            Some(Reason::Malformed)
        );
        let bad_topic = Incoming {
            topic: "hexproof/v1/beacons/xyz".into(),
            payload: vec![],
            received_ns: 1,
        };
        assert_eq!(
            classify(&bad_topic, &KeyCache::default()).reason,
            Some(Reason::Malformed)
        );
    }

    mod fuzz {
        //! Bad input through classification: any topic, any bytes, valid reports with bytes
        //! flipped, cut or appended. No panic; pending only when the topic's key signed exactly
        //! these bytes; the same message always gets the same id and verdict.

        use proptest::prelude::*;

        use super::*;

        fn topic() -> impl Strategy<Value = String> {
            let k = Keypair::from_secret([1; 32]).public();
            let other = Keypair::from_secret([2; 32]).public();
            prop_oneof![
                3 => Just(topics::beacons(&k)),
                3 => Just(topics::witnesses(&k)),
                1 => Just(topics::beacons(&other)),
                1 => "hexproof/v1/(beacons|witnesses|entropy)/[A-Za-z0-9]{0,50}",
                1 => ".{0,80}",
            ]
        }

        fn payload() -> impl Strategy<Value = Vec<u8>> {
            let k = Keypair::from_secret([1; 32]);
            let beacon = beacon_msg(&k, &k.public()).payload;
            let witness = WitnessReport {
                payload: vec![1, 2, 3],
                rssi_ddbm: -900,
                ..Default::default()
            }
            .signed(&k)
            .encode_to_vec();
            let mutated = |valid: Vec<u8>| {
                (
                    proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
                    any::<usize>(),
                    proptest::collection::vec(any::<u8>(), 0..8),
                )
                    .prop_map(move |(flips, cut, tail)| {
                        let mut p = valid.clone();
                        for (at, x) in flips {
                            let n = p.len();
                            p[at % n] ^= x;
                        }
                        // A third are cut short somewhere.
                        if cut % 3 == 0 {
                            p.truncate(cut / 3 % (p.len() + 1));
                        }
                        p.extend(tail);
                        p
                    })
            };
            prop_oneof![
                2 => mutated(beacon),
                2 => mutated(witness),
                1 => proptest::collection::vec(any::<u8>(), 0..600),
                1 => Just(vec![0u8; MAX_REPORT_LEN + 1]),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 60_000, ..ProptestConfig::default() })]

            #[test]
            fn anything_from_the_broker_classifies_without_panic(
                topic in topic(), payload in payload(), received_ns in any::<u64>(),
            ) {
                let k = Keypair::from_secret([1; 32]);
                let keys = KeyCache::new([k.public()]);
                let msg = Incoming { topic, payload, received_ns };
                let r = classify(&msg, &keys);
                prop_assert_eq!(&r, &classify(&msg, &KeyCache::default()), "the cache changes nothing");
                prop_assert_eq!(r.received_ns, received_ns);
                prop_assert_eq!(r.reason.is_some(), r.status == Status::Invalid);
                // Ingest charges a report to its verified signer: only ever the key whose
                // signature on exactly these bytes verifies.
                if let Some(signer) = verified_signer(&r) {
                    let verified = match Topic::parse(&msg.topic) {
                        Some(Topic::Beacon(_)) => BeaconReport::decode(msg.payload.as_slice())
                            .ok()
                            .and_then(|m| m.verify().ok()),
                        Some(Topic::Witness(_)) => WitnessReport::decode(msg.payload.as_slice())
                            .ok()
                            .and_then(|m| m.verify().ok()),
                        _ => None,
                    };
                    prop_assert_eq!(verified, Some(signer));
                }
                if r.status == Status::Pending {
                    let signer = match Topic::parse(&msg.topic) {
                        Some(Topic::Beacon(t)) => {
                            BeaconReport::decode(msg.payload.as_slice()).unwrap().verify()
                                .map(|s| (s, t))
                        }
                        Some(Topic::Witness(t)) => {
                            WitnessReport::decode(msg.payload.as_slice()).unwrap().verify()
                                .map(|s| (s, t))
                        }
                        _ => return Err(TestCaseError::fail("pending without a report topic")),
                    };
                    let (signer, topic_key) = signer.unwrap();
                    prop_assert_eq!(signer, topic_key);
                    prop_assert!(msg.payload.len() <= MAX_REPORT_LEN);
                }
            }
        }
    }
}
