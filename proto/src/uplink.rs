//! Which frames a hotspot forwards to the router: anything shaped like a LoRaWAN uplink (a
//! join request or a data frame up, LoRaWAN major version 1, at most 255 bytes). The router
//! decodes and routes them (`hexproof_poc::packets`); this is only the hotspot's sieve, so
//! downlinks it overhears and other traffic stay off the network.

/// The shortest uplink: MHDR, FHDR without options (7 bytes), MIC.
pub const MIN_UPLINK: usize = 12;
/// The longest LoRa frame.
pub const MAX_UPLINK: usize = 255;

/// Whether `frame` is shaped like a LoRaWAN uplink.
pub fn looks_like_uplink(frame: &[u8]) -> bool {
    let Some(&mhdr) = frame.first() else {
        return false;
    };
    let (mtype, major) = (mhdr >> 5, mhdr & 0b11);
    (MIN_UPLINK..=MAX_UPLINK).contains(&frame.len()) && major == 0 && matches!(mtype, 0 | 2 | 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uplinks_pass_and_downlinks_do_not() {
        let mut frame = vec![0x40; 20];
        assert!(looks_like_uplink(&frame), "unconfirmed data up");
        frame[0] = 0x80;
        assert!(looks_like_uplink(&frame), "confirmed data up");
        frame[0] = 0x00;
        assert!(looks_like_uplink(&frame), "join request");
        for down in [0x20, 0x60, 0xa0, 0xe0, 0x41] {
            frame[0] = down;
            assert!(!looks_like_uplink(&frame), "{down:#x}");
        }
        assert!(!looks_like_uplink(&[0x40; 11]));
        assert!(!looks_like_uplink(&[0x40; 256]));
        assert!(!looks_like_uplink(&[]));
    }
}
