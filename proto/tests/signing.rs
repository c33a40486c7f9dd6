//! Every message encodes and decodes; signatures verify and break as they must.

use hexproof_proto::{
    Keypair, SignatureError, Signed,
    v1::{BeaconReport, DataRate, Entropy, EpochRewards, OracleSignature, WitnessReport},
};
use proptest::prelude::*;
use prost::Message;

fn hotspot() -> Keypair {
    Keypair::from_secret([11; 32])
}

fn beacon() -> BeaconReport {
    BeaconReport {
        entropy_id: 42,
        entropy_data: vec![5; 32],
        local_entropy: vec![1, 2, 3, 4],
        payload: (0..52).collect(),
        frequency_hz: 867_100_000,
        data_rate: DataRate::Sf9bw125 as i32,
        tx_power_ddbm: 270,
        timestamp_ns: 1_764_000_000_000_000_000,
        ..Default::default()
    }
    .signed(&hotspot())
}

fn witness() -> WitnessReport {
    WitnessReport {
        payload: (0..52).collect(),
        timestamp_ns: 1_764_000_000_000_500_000,
        frequency_hz: 867_100_000,
        data_rate: DataRate::Sf9bw125 as i32,
        rssi_ddbm: -1012,
        snr_ddb: -35,
        ..Default::default()
    }
    .signed(&Keypair::from_secret([12; 32]))
}

fn entropy() -> Entropy {
    Entropy {
        id: 7,
        data: vec![0xEE; 32],
        timestamp_ns: 1_764_000_000_000_000_000,
        ttl_secs: 300,
        ..Default::default()
    }
    .signed(&Keypair::from_secret([13; 32]))
}

/// Flips each byte of the encoded message in turn: the result must either not decode or not
/// verify. Returns how many positions were tried.
fn every_flip_breaks<M: Signed>(message: &M) -> usize {
    let bytes = message.encode_to_vec();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut tampered = bytes.clone();
            tampered[i] ^= mask;
            if let Ok(decoded) = M::decode(tampered.as_slice()) {
                assert!(
                    decoded.verify().is_err(),
                    "{}: flipping byte {i} with {mask:#x} still verifies",
                    M::TYPE_NAME
                );
            }
        }
    }
    bytes.len()
}

#[test]
fn signed_messages_verify_as_their_signer() {
    assert_eq!(beacon().verify(), Ok(hotspot().public()));
    assert_eq!(
        witness().verify(),
        Ok(Keypair::from_secret([12; 32]).public())
    );
    assert_eq!(
        entropy().verify(),
        Ok(Keypair::from_secret([13; 32]).public())
    );
}

#[test]
fn signed_messages_survive_the_wire() {
    let b = beacon();
    let decoded = BeaconReport::decode(b.encode_to_vec().as_slice()).unwrap();
    assert_eq!(decoded, b);
    assert!(decoded.verify().is_ok());
    let w = witness();
    assert!(
        WitnessReport::decode(w.encode_to_vec().as_slice())
            .unwrap()
            .verify()
            .is_ok()
    );
    let e = entropy();
    assert!(
        Entropy::decode(e.encode_to_vec().as_slice())
            .unwrap()
            .verify()
            .is_ok()
    );
}

#[test]
fn flipping_any_byte_breaks_verification() {
    assert!(every_flip_breaks(&beacon()) > 150);
    assert!(every_flip_breaks(&witness()) > 100);
    assert!(every_flip_breaks(&entropy()) > 100);
}

#[test]
fn flipping_any_payload_or_signature_bit_breaks_verification() {
    let b = beacon();
    for i in 0..b.payload.len() {
        let mut t = b.clone();
        t.payload[i] ^= 1;
        assert_eq!(t.verify(), Err(SignatureError::Invalid));
    }
    for i in 0..64 {
        for bit in 0..8 {
            let mut t = b.clone();
            t.signature[i] ^= 1 << bit;
            assert!(t.verify().is_err(), "signature byte {i} bit {bit}");
        }
    }
}

#[test]
fn a_beacon_signature_does_not_verify_as_a_witness() {
    // A beacon and a witness that encode to the very same bytes (only field 1, the key, is set):
    // only the domain tag tells them apart.
    let key = hotspot();
    let b = BeaconReport::default().signed(&key);
    let mut w = WitnessReport {
        witness: key.public().to_bytes().to_vec(),
        ..Default::default()
    };
    let mut unsigned_b = b.clone();
    unsigned_b.signature.clear();
    assert_eq!(unsigned_b.encode_to_vec(), w.encode_to_vec());
    w.signature = b.signature.clone();
    assert_eq!(w.verify(), Err(SignatureError::Invalid));
    assert!(b.verify().is_ok());
}

#[test]
fn malformed_keys_and_signatures_are_reported_not_panicked() {
    let mut b = beacon();
    b.hotspot.truncate(31);
    assert_eq!(b.verify(), Err(SignatureError::SignerLength));
    let mut b = beacon();
    b.signature.push(0);
    assert_eq!(b.verify(), Err(SignatureError::SignatureLength(65)));
    let mut b = beacon();
    b.signature.clear();
    assert_eq!(b.verify(), Err(SignatureError::SignatureLength(0)));
    // A signature with the right form by a different key.
    let mut b = beacon();
    b.hotspot = Keypair::from_secret([99; 32]).public().to_bytes().to_vec();
    assert_eq!(b.verify(), Err(SignatureError::Invalid));
}

#[test]
fn unknown_fields_are_not_carried_unsigned() {
    let mut bytes = beacon().encode_to_vec();
    // Field 14, wire type 2 (bytes), 3 bytes long.
    bytes.extend_from_slice(&[0x72, 3, 1, 2, 3]);
    let decoded = BeaconReport::decode(bytes.as_slice()).unwrap();
    // prost drops the unknown field; what verifies is exactly what was signed.
    assert!(decoded.verify().is_ok());
    assert_eq!(decoded, beacon());
}

#[test]
fn report_ids_are_stable_and_distinct() {
    assert_eq!(beacon().id(), beacon().id());
    assert_ne!(beacon().id(), witness().id());
    let mut other = beacon();
    other.timestamp_ns += 1;
    let other = other.signed(&hotspot());
    assert_ne!(beacon().id(), other.id());
}

#[test]
fn garbage_bytes_never_panic() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for len in 0..400 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        if let Ok(b) = BeaconReport::decode(bytes.as_slice()) {
            assert!(b.verify().is_err());
        }
        if let Ok(w) = WitnessReport::decode(bytes.as_slice()) {
            assert!(w.verify().is_err());
        }
        if let Ok(e) = Entropy::decode(bytes.as_slice()) {
            assert!(e.verify().is_err());
        }
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

proptest! {
    #[test]
    fn beacon_round_trips(
        hotspot in bytes(40), entropy_id in any::<u64>(), entropy_data in bytes(40),
        local_entropy in bytes(40), payload in bytes(260), frequency_hz in any::<u64>(),
        data_rate in 0i32..19, tx_power_ddbm in any::<i32>(), timestamp_ns in any::<u64>(),
        signature in bytes(70), cell in any::<u64>(), salt in bytes(40),
    ) {
        let location = Some(hexproof_proto::v1::LocationReveal { cell, salt });
        let m = BeaconReport { hotspot, entropy_id, entropy_data, local_entropy, payload,
            frequency_hz, data_rate, tx_power_ddbm, timestamp_ns, location, signature };
        prop_assert_eq!(BeaconReport::decode(m.encode_to_vec().as_slice()).unwrap(), m);
    }

    #[test]
    fn witness_round_trips(
        witness in bytes(40), payload in bytes(260), timestamp_ns in any::<u64>(),
        frequency_hz in any::<u64>(), data_rate in 0i32..19, rssi_ddbm in any::<i32>(),
        snr_ddb in any::<i32>(), signature in bytes(70), cell in any::<u64>(),
    ) {
        let location = (cell % 2 == 0).then(|| hexproof_proto::v1::LocationReveal {
            cell,
            salt: vec![7; 32],
        });
        let m = WitnessReport { witness, payload, timestamp_ns, frequency_hz, data_rate,
            rssi_ddbm, snr_ddb, location, signature };
        prop_assert_eq!(WitnessReport::decode(m.encode_to_vec().as_slice()).unwrap(), m);
    }

    #[test]
    fn entropy_round_trips(
        id in any::<u64>(), data in bytes(40), timestamp_ns in any::<u64>(),
        ttl_secs in any::<u32>(), oracle in bytes(40), signature in bytes(70),
    ) {
        let m = Entropy { id, data, timestamp_ns, ttl_secs, oracle, signature };
        prop_assert_eq!(Entropy::decode(m.encode_to_vec().as_slice()).unwrap(), m);
    }

    #[test]
    fn epoch_rewards_round_trip(
        epoch in any::<u64>(), start_ns in any::<u64>(), end_ns in any::<u64>(),
        merkle_root in bytes(33), lifetime_total in any::<u64>(), epoch_total in any::<u64>(),
        dust in any::<u64>(), hotspot_count in any::<u32>(),
        sigs in proptest::collection::vec((bytes(33), bytes(65)), 0..8),
    ) {
        let m = EpochRewards { epoch, start_ns, end_ns, merkle_root, lifetime_total, epoch_total,
            dust, hotspot_count, data_pool: dust / 2, data_paid: dust / 3, remint: epoch_total / 2,
            orgs: vec![hexproof_proto::v1::OrgCharge { oui: epoch, dc: dust, lifetime_dc: lifetime_total }],
            signatures: sigs.into_iter()
                .map(|(oracle, signature)| OracleSignature { oracle, signature }).collect() };
        prop_assert_eq!(EpochRewards::decode(m.encode_to_vec().as_slice()).unwrap(), m);
    }

    #[test]
    fn any_signed_beacon_verifies_and_only_its_own_content(
        secret in any::<[u8; 32]>(), payload in bytes(260), timestamp_ns in any::<u64>(),
        other_ts in any::<u64>(),
    ) {
        let key = Keypair::from_secret(secret);
        let b = BeaconReport { payload, timestamp_ns, ..Default::default() }.signed(&key);
        prop_assert_eq!(b.verify(), Ok(key.public()));
        let mut t = b.clone();
        t.timestamp_ns = other_ts;
        prop_assert_eq!(t.verify().is_ok(), other_ts == timestamp_ns);
    }
}

#[test]
fn data_rates_have_their_lora_names() {
    assert_eq!(DataRate::Sf9bw125.as_str_name(), "SF9BW125");
    assert_eq!(
        DataRate::from_str_name("SF12BW125"),
        Some(DataRate::Sf12bw125)
    );
}
