//! The beacon packet: what a hotspot's radio transmits and other hotspots witness.
//!
//! The packet is derived from the oracle's entropy, the hotspot's local entropy and the hotspot's
//! key, so nobody can prepare it before the entropy is published, and the oracle can re-derive
//! it to check a report:
//!
//! ```text
//! packet = "HX" || 0x01 || sha256("hexproof.v1.beacon\0" || entropy_id (u64 LE) || entropy ||
//!                                 local_entropy || hotspot pubkey)
//! ```
//!
//! 35 bytes: short enough for every region's beacon data rate (US915 SF9BW125 carries 53).

use sha2::{Digest, Sha256};

use crate::PublicKey;

/// First bytes of every beacon packet ("HX", version 1).
pub const MAGIC: [u8; 3] = [b'H', b'X', 1];
/// Length of a beacon packet.
pub const PACKET_LEN: usize = MAGIC.len() + 32;
/// Local entropy length bounds (bytes).
pub const LOCAL_ENTROPY_MIN: usize = 4;
pub const LOCAL_ENTROPY_MAX: usize = 32;

/// The beacon packet a hotspot transmits for this entropy.
pub fn derive_packet(
    entropy_id: u64,
    entropy: &[u8],
    local_entropy: &[u8],
    hotspot: &PublicKey,
) -> [u8; PACKET_LEN] {
    let mut hash = Sha256::new();
    hash.update(b"hexproof.v1.beacon\0");
    hash.update(entropy_id.to_le_bytes());
    // Lengths prefix the variable parts so no two inputs hash alike.
    hash.update((entropy.len() as u32).to_le_bytes());
    hash.update(entropy);
    hash.update((local_entropy.len() as u32).to_le_bytes());
    hash.update(local_entropy);
    hash.update(hotspot.as_bytes());
    let mut packet = [0u8; PACKET_LEN];
    packet[..MAGIC.len()].copy_from_slice(&MAGIC);
    packet[MAGIC.len()..].copy_from_slice(&hash.finalize());
    packet
}

/// Whether received bytes have the form of a beacon (a radio hears many other packets).
pub fn is_beacon(packet: &[u8]) -> bool {
    packet.len() == PACKET_LEN && packet.starts_with(&MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_depends_on_every_input() {
        let k = PublicKey::from([1; 32]);
        let base = derive_packet(1, &[2; 32], &[3; 4], &k);
        assert!(is_beacon(&base));
        assert_ne!(base, derive_packet(2, &[2; 32], &[3; 4], &k));
        assert_ne!(base, derive_packet(1, &[9; 32], &[3; 4], &k));
        assert_ne!(base, derive_packet(1, &[2; 32], &[3; 5], &k));
        assert_ne!(
            base,
            derive_packet(1, &[2; 32], &[3; 4], &PublicKey::from([4; 32]))
        );
        // Moving a byte between the variable parts changes the packet.
        assert_ne!(
            derive_packet(1, &[2, 2], &[3], &k),
            derive_packet(1, &[2], &[2, 3], &k)
        );
        assert_eq!(base, derive_packet(1, &[2; 32], &[3; 4], &k));
    }

    #[test]
    fn other_packets_are_not_beacons() {
        assert!(!is_beacon(&[]));
        assert!(!is_beacon(&[b'H', b'X', 1]));
        let mut p = [0u8; PACKET_LEN];
        assert!(!is_beacon(&p));
        p[..3].copy_from_slice(&MAGIC);
        assert!(is_beacon(&p));
        assert!(!is_beacon(&[&p[..], &[0]].concat()));
    }
}
