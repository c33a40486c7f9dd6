//! The packet path's rules: what a device's LoRaWAN uplink is ([`frame`]), which organisation's
//! route owns it ([`routes`]), and whether the router buys a hotspot's copy of it ([`router`]).
//!
//! Data enters as a hotspot's verified packet report (its key and the PHYPayload it heard), the
//! routing table and the router's clock; it leaves as copies bought per route ([`Bought`]) or a
//! [`Drop`] with its reason. The router job (in the oracle) does the I/O around it: MQTT in,
//! signed receipts and the network server out.

pub mod frame;
pub mod router;
pub mod routes;

#[cfg(test)]
mod tests;

pub use frame::{MAX_PHY_PAYLOAD, Uplink};
pub use router::{Bought, Router, RouterLimits};
pub use routes::{Credits, Org, Route, RoutingTable, SessionKey, TableError};

/// Why a copy of a packet was not bought. Every drop is counted by its [`Drop::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
pub enum Drop {
    #[error("the frame is longer than LoRa carries ({MAX_PHY_PAYLOAD} bytes)")]
    Oversized,
    #[error("the frame is not a LoRaWAN uplink the codec can decode")]
    Undecodable,
    #[error("the frame is not an uplink (a downlink or proprietary frame)")]
    NotUplink,
    #[error("no route takes this DevAddr or these EUIs")]
    NoRoute,
    #[error("only routes of disabled organisations take it")]
    OrgDisabled,
    #[error("the MIC does not hold under the route's session key")]
    BadMic,
    #[error("the device's frame counter was already used (a frame sent again)")]
    FcntReused,
    #[error("this hotspot already offered this packet")]
    Duplicate,
    #[error("the copy came after the packet's dedupe window (a late copy or a replay)")]
    Late,
    #[error("every route that takes it has bought its max_copies")]
    CopiesFull,
    #[error("the hotspot is over its packet rate")]
    RateLimited,
    #[error("the orgs whose routes take it have no data credits left for it")]
    NoCredit,
}

impl Drop {
    pub const ALL: [Drop; 12] = [
        Drop::Oversized,
        Drop::Undecodable,
        Drop::NotUplink,
        Drop::NoRoute,
        Drop::OrgDisabled,
        Drop::BadMic,
        Drop::FcntReused,
        Drop::Duplicate,
        Drop::Late,
        Drop::CopiesFull,
        Drop::RateLimited,
        Drop::NoCredit,
    ];

    /// The reason's name in metrics, the explorer and summaries.
    pub fn code(self) -> &'static str {
        match self {
            Drop::Oversized => "oversized",
            Drop::Undecodable => "undecodable",
            Drop::NotUplink => "not_uplink",
            Drop::NoRoute => "no_route",
            Drop::OrgDisabled => "org_disabled",
            Drop::BadMic => "bad_mic",
            Drop::FcntReused => "fcnt_reused",
            Drop::Duplicate => "duplicate",
            Drop::Late => "late",
            Drop::CopiesFull => "copies_full",
            Drop::RateLimited => "rate_limited",
            Drop::NoCredit => "no_credit",
        }
    }
}
