//! What a LoRaWAN uplink says about itself before anyone holds its keys: its kind, the device
//! address or EUIs a route is chosen by, its frame counter, and its identity (the hash of its
//! bytes). Decoded with ChirpStack's codec (`lrwn`); MIC checks need a session key
//! ([`mic_holds`]).

use lrwn::{AES128Key, FType, MACVersion, Payload, PhyPayload};
use sha2::{Digest, Sha256};

use super::Drop;

/// The largest PHYPayload LoRa carries (its length field is a byte).
pub const MAX_PHY_PAYLOAD: usize = 255;

/// An uplink as the router sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Uplink {
    /// A data frame of an activated device: routed by its DevAddr.
    Data {
        dev_addr: u32,
        /// The 16 low bits of the frame counter (all the frame carries).
        fcnt: u16,
        confirmed: bool,
    },
    /// A join request: routed by (JoinEUI, DevEUI).
    Join {
        join_eui: u64,
        dev_eui: u64,
        dev_nonce: u16,
    },
}

/// A packet's identity across the copies hotspots report: SHA-256 of its PHYPayload.
pub fn payload_hash(phy: &[u8]) -> [u8; 32] {
    Sha256::digest(phy).into()
}

/// Decodes `phy` far enough to route it. Frames over [`MAX_PHY_PAYLOAD`], frames the codec
/// cannot decode, and anything that is not an uplink (downlinks, proprietary frames) are
/// dropped with their reason.
pub fn inspect(phy: &[u8]) -> Result<Uplink, Drop> {
    if phy.len() > MAX_PHY_PAYLOAD {
        return Err(Drop::Oversized);
    }
    // The shortest uplink is a data frame with an empty FHDR tail: MHDR 1, FHDR 7, MIC 4.
    if phy.len() < 12 {
        return Err(Drop::Undecodable);
    }
    let frame = PhyPayload::from_slice(phy).map_err(|_| Drop::Undecodable)?;
    // Only the canonical encoding: the codec ignores some bits (the MHDR's RFU bits), so one
    // frame could otherwise be sent as several byte strings, each a new packet by its hash.
    if frame.to_vec().ok().as_deref() != Some(phy) {
        return Err(Drop::Undecodable);
    }
    match (frame.mhdr.f_type, frame.payload) {
        (FType::UnconfirmedDataUp | FType::ConfirmedDataUp, Payload::MACPayload(mac)) => {
            Ok(Uplink::Data {
                dev_addr: u32::from_be_bytes(mac.fhdr.devaddr.to_be_bytes()),
                fcnt: mac.fhdr.f_cnt as u16,
                confirmed: frame.mhdr.f_type == FType::ConfirmedDataUp,
            })
        }
        (FType::JoinRequest, Payload::JoinRequest(join)) => Ok(Uplink::Join {
            join_eui: u64::from_be_bytes(join.join_eui.to_be_bytes()),
            dev_eui: u64::from_be_bytes(join.dev_eui.to_be_bytes()),
            dev_nonce: join.dev_nonce,
        }),
        (FType::UnconfirmedDataUp | FType::ConfirmedDataUp | FType::JoinRequest, _) => {
            Err(Drop::Undecodable)
        }
        _ => Err(Drop::NotUplink),
    }
}

/// Whether a LoRaWAN 1.0 data uplink's MIC holds under `nwk_s_key` with the full frame counter
/// `fcnt` (the frame carries its 16 low bits). False for anything that is not such a frame.
pub fn mic_holds(phy: &[u8], nwk_s_key: &[u8; 16], fcnt: u32) -> bool {
    let Ok(mut frame) = PhyPayload::from_slice(phy) else {
        return false;
    };
    let Payload::MACPayload(mac) = &mut frame.payload else {
        return false;
    };
    mac.fhdr.f_cnt = fcnt;
    let key = AES128Key::from_bytes(*nwk_s_key);
    frame
        .validate_uplink_data_mic(MACVersion::LoRaWAN1_0, 0, 0, 0, &key, &key)
        .unwrap_or(false)
}

/// The full frame counter of a frame carrying `low` after one whose counter was `last`: the
/// smallest value above `last` with those low bits (LoRaWAN's rule for 32-bit counters).
pub fn full_fcnt(last: Option<u32>, low: u16) -> u32 {
    let Some(last) = last else {
        return u32::from(low);
    };
    let candidate = (last & 0xffff_0000) | u32::from(low);
    if candidate > last {
        candidate
    } else {
        candidate.wrapping_add(0x1_0000)
    }
}
