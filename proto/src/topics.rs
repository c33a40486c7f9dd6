//! MQTT topics. Agents publish their reports under their own base58 key; the oracle publishes
//! entropy as a retained message. These are the only topics the system uses.

use crate::PublicKey;

/// Prefix of every hexproof topic.
pub const ROOT: &str = "hexproof/v1";
/// Oracle → agents, retained: the newest signed [`crate::v1::Entropy`].
pub const ENTROPY: &str = "hexproof/v1/entropy";
/// Oracle's subscription filter for every beacon report.
pub const BEACONS_FILTER: &str = "hexproof/v1/beacons/+";
/// Oracle's subscription filter for every witness report.
pub const WITNESSES_FILTER: &str = "hexproof/v1/witnesses/+";

/// The router's subscription filter for every packet report.
pub const PACKETS_FILTER: &str = "hexproof/v1/packets/+";

/// Where `hotspot` publishes its [`crate::v1::PacketReport`]s (devices' uplinks it heard).
pub fn packets(hotspot: &PublicKey) -> String {
    format!("{ROOT}/packets/{hotspot}")
}

/// The hotspot a packet topic names; `None` for any other topic.
pub fn packets_of(topic: &str) -> Option<PublicKey> {
    topic
        .strip_prefix(ROOT)?
        .strip_prefix("/packets/")?
        .parse()
        .ok()
}

/// Where `hotspot` publishes its [`crate::v1::BeaconReport`]s.
pub fn beacons(hotspot: &PublicKey) -> String {
    format!("{ROOT}/beacons/{hotspot}")
}

/// Where `hotspot` publishes its [`crate::v1::WitnessReport`]s.
pub fn witnesses(hotspot: &PublicKey) -> String {
    format!("{ROOT}/witnesses/{hotspot}")
}

/// What a topic carries, parsed back from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    Entropy,
    Beacon(PublicKey),
    Witness(PublicKey),
}

impl Topic {
    /// Parses a topic name; `None` for anything that is not one of ours (or names a bad key).
    pub fn parse(topic: &str) -> Option<Topic> {
        if topic == ENTROPY {
            return Some(Topic::Entropy);
        }
        let rest = topic.strip_prefix(ROOT)?.strip_prefix('/')?;
        let (kind, key) = rest.split_once('/')?;
        let key: PublicKey = key.parse().ok()?;
        match kind {
            "beacons" => Some(Topic::Beacon(key)),
            "witnesses" => Some(Topic::Witness(key)),
            _ => None,
        }
    }
}

/// The id the oracle stores a report under (the SHA-256 identity of [`crate::Signed::id`]), from
/// the topic it was published on and its bytes; `None` when the topic is not a report topic or
/// the bytes are not a report of the topic's kind. Publishers use it to account for what they
/// handed over by identity rather than by counting.
pub fn report_id(topic: &str, payload: &[u8]) -> Option<[u8; 32]> {
    use crate::Signed;
    use prost::Message;
    match Topic::parse(topic)? {
        Topic::Beacon(_) => crate::v1::BeaconReport::decode(payload)
            .ok()
            .map(|m| m.id()),
        Topic::Witness(_) => crate::v1::WitnessReport::decode(payload)
            .ok()
            .map(|m| m.id()),
        Topic::Entropy => None,
    }
}

/// The topic a report of `topic`'s kind belongs on: that kind's topic under the key that signed
/// it. `None` when the bytes are not a report of that kind or name no key. A report's id ignores
/// the topic, so whoever forwards reports (a member of an oracle set) files them here: filed
/// under another key's topic, the same signed bytes would be judged `topic_mismatch`.
pub fn home_of(topic: &str, payload: &[u8]) -> Option<String> {
    use crate::Signed;
    use prost::Message;
    match Topic::parse(topic)? {
        Topic::Beacon(_) => {
            let signer = crate::v1::BeaconReport::decode(payload)
                .ok()?
                .signer()
                .ok()?;
            Some(beacons(&signer))
        }
        Topic::Witness(_) => {
            let signer = crate::v1::WitnessReport::decode(payload)
                .ok()?
                .signer()
                .ok()?;
            Some(witnesses(&signer))
        }
        Topic::Entropy => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip() {
        let key = PublicKey::from([7u8; 32]);
        assert_eq!(
            beacons(&key),
            format!(
                "hexproof/v1/beacons/{}",
                bs58::encode([7u8; 32]).into_string()
            )
        );
        assert_eq!(Topic::parse(&beacons(&key)), Some(Topic::Beacon(key)));
        assert_eq!(Topic::parse(&witnesses(&key)), Some(Topic::Witness(key)));
        assert_eq!(Topic::parse(ENTROPY), Some(Topic::Entropy));
        assert_eq!(packets_of(&packets(&key)), Some(key));
        assert_eq!(
            Topic::parse(&packets(&key)),
            None,
            "packets are not reports"
        );
        assert_eq!(packets_of(&beacons(&key)), None);
        assert_eq!(packets_of("hexproof/v1/packets/not-a-key"), None);
    }

    #[test]
    fn report_ids_follow_the_topic_kind() {
        use crate::{Keypair, Signed, v1::BeaconReport};
        use prost::Message;
        let key = Keypair::from_secret([3; 32]);
        let beacon = BeaconReport {
            payload: vec![1, 2, 3],
            ..Default::default()
        }
        .signed(&key);
        let bytes = beacon.encode_to_vec();
        assert_eq!(
            report_id(&beacons(&key.public()), &bytes),
            Some(beacon.id())
        );
        // The same bytes under a witness topic are another (undecodable or other) report.
        assert_ne!(
            report_id(&witnesses(&key.public()), &bytes),
            Some(beacon.id())
        );
        assert_eq!(report_id(ENTROPY, &bytes), None);
        assert_eq!(report_id(&beacons(&key.public()), &[0xFF; 3]), None);
    }

    #[test]
    fn a_report_is_at_home_under_its_signer() {
        use crate::{Keypair, Signed, v1::WitnessReport};
        use prost::Message;
        let key = Keypair::from_secret([3; 32]);
        let rival = Keypair::from_secret([4; 32]).public();
        let bytes = WitnessReport::default().signed(&key).encode_to_vec();
        let home = witnesses(&key.public());
        assert_eq!(home_of(&home, &bytes), Some(home.clone()));
        assert_eq!(home_of(&witnesses(&rival), &bytes), Some(home));
        assert_eq!(home_of(ENTROPY, &bytes), None);
        assert_eq!(home_of(&witnesses(&rival), &[0xFF; 3]), None);
    }

    #[test]
    fn foreign_topics_are_not_ours() {
        assert_eq!(Topic::parse("hexproof/v1/beacons/notbase58!"), None);
        assert_eq!(Topic::parse("hexproof/v1/beacons/"), None);
        assert_eq!(
            Topic::parse("hexproof/v1/other/11111111111111111111111111111111"),
            None
        );
        assert_eq!(
            Topic::parse("elsewhere/beacons/11111111111111111111111111111111"),
            None
        );
    }
}
