//! Who owns a packet: organisations (an OUI, its owner and payer) and their routes (DevAddr
//! ranges, EUI pairs, how many copies of a packet to buy, the network server to deliver to).
//! The table is read from the chain by the router; here it is values and a lookup.

use std::collections::BTreeMap;

use hexproof_proto::PublicKey;
use serde::{Deserialize, Serialize};

use super::frame::Uplink;

/// An organisation: the party that buys its devices' packets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub oui: u64,
    pub owner: PublicKey,
    /// Who pays for its packets.
    pub payer: PublicKey,
    /// A disabled org's routes buy nothing (the admin stopped it).
    pub enabled: bool,
    /// Its data credits as the chain last showed them; none: not charged (a routes file
    /// without a chain).
    #[serde(default)]
    pub credits: Option<Credits>,
}

/// An org's data credits on chain: its balance, and how much of its lifetime charges the
/// balance has already paid (settled). Charges the router made since are still to come off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credits {
    pub balance: u64,
    pub settled: u64,
}

impl Credits {
    /// What the org may still spend, given its lifetime charges so far.
    pub fn available(&self, charged: u64) -> u64 {
        self.balance
            .saturating_sub(charged.saturating_sub(self.settled))
    }
}

/// A device whose frames a route checks before buying them: a session-key filter. Frames from
/// its DevAddr whose MIC does not hold under its key are not bought (a hotspot cannot invent
/// them), and its frame counter must move forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionKey {
    pub dev_addr: u32,
    /// The LoRaWAN 1.0 NwkSKey (the MIC key).
    pub nwk_s_key: [u8; 16],
    /// The device's newest frame counter the org knows of (frames carry only its 16 low bits,
    /// so a device past 65,535 needs it); none: the device starts at 0.
    #[serde(default)]
    pub last_fcnt: Option<u32>,
}

/// One route of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub id: u64,
    pub oui: u64,
    /// Copies of one packet bought at most (from distinct hotspots), at least 1.
    pub max_copies: u32,
    /// DevAddr ranges, both ends included.
    pub dev_addrs: Vec<(u32, u32)>,
    /// (JoinEUI, DevEUI) pairs whose join requests it takes; DevEUI 0 takes every device of
    /// the JoinEUI.
    pub euis: Vec<(u64, u64)>,
    /// Devices whose frames are checked before they are bought (not on chain: the org gives
    /// them to the router).
    #[serde(default)]
    pub session_keys: Vec<SessionKey>,
    /// Where bought copies go (the network server's address, in the router's protocol).
    pub lns: String,
    pub active: bool,
}

/// Why a routing table cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("route {0} buys no copies (max_copies 0)")]
    NoCopies(u64),
    #[error("route {route}: DevAddr range {start:08x}..{end:08x} ends before it starts")]
    BackwardsRange { route: u64, start: u32, end: u32 },
    #[error("route {route} names organisation {oui}, which does not exist")]
    UnknownOrg { route: u64, oui: u64 },
    #[error("route id {0} appears twice")]
    DuplicateRoute(u64),
}

/// Organisations and routes, checked.
#[derive(Debug, Clone, Default)]
pub struct RoutingTable {
    orgs: BTreeMap<u64, Org>,
    /// Sorted by id.
    routes: Vec<Route>,
}

/// What a lookup found for an uplink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owners<'a> {
    /// Active routes of enabled orgs that take it.
    Routes(Vec<&'a Route>),
    /// Only routes of disabled orgs (or inactive routes) take it.
    Disabled,
    /// No route takes it.
    None,
}

impl RoutingTable {
    pub fn new(
        orgs: impl IntoIterator<Item = Org>,
        routes: impl IntoIterator<Item = Route>,
    ) -> Result<RoutingTable, TableError> {
        let orgs: BTreeMap<u64, Org> = orgs.into_iter().map(|o| (o.oui, o)).collect();
        let mut routes: Vec<Route> = routes.into_iter().collect();
        routes.sort_by_key(|r| r.id);
        for (i, r) in routes.iter().enumerate() {
            if i > 0 && routes[i - 1].id == r.id {
                return Err(TableError::DuplicateRoute(r.id));
            }
            if r.max_copies == 0 {
                return Err(TableError::NoCopies(r.id));
            }
            if !orgs.contains_key(&r.oui) {
                return Err(TableError::UnknownOrg {
                    route: r.id,
                    oui: r.oui,
                });
            }
            if let Some(&(start, end)) = r.dev_addrs.iter().find(|(s, e)| e < s) {
                return Err(TableError::BackwardsRange {
                    route: r.id,
                    start,
                    end,
                });
            }
        }
        Ok(RoutingTable { orgs, routes })
    }

    pub fn orgs(&self) -> &BTreeMap<u64, Org> {
        &self.orgs
    }

    pub fn org(&self, oui: u64) -> Option<&Org> {
        self.orgs.get(&oui)
    }

    pub fn route(&self, id: u64) -> Option<&Route> {
        self.routes
            .binary_search_by_key(&id, |r| r.id)
            .ok()
            .map(|i| &self.routes[i])
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The routes that take `uplink`, in id order.
    pub fn owners(&self, uplink: &Uplink) -> Owners<'_> {
        let mut live = Vec::new();
        let mut disabled = false;
        for r in self.routes.iter().filter(|r| r.takes(uplink)) {
            if r.active && self.orgs.get(&r.oui).is_some_and(|o| o.enabled) {
                live.push(r);
            } else {
                disabled = true;
            }
        }
        match (live.is_empty(), disabled) {
            (false, _) => Owners::Routes(live),
            (true, true) => Owners::Disabled,
            (true, false) => Owners::None,
        }
    }
}

impl Route {
    /// Whether this route's ranges or EUI pairs take `uplink` (active or not).
    pub fn takes(&self, uplink: &Uplink) -> bool {
        match *uplink {
            Uplink::Data { dev_addr, .. } => self
                .dev_addrs
                .iter()
                .any(|&(s, e)| (s..=e).contains(&dev_addr)),
            Uplink::Join {
                join_eui, dev_eui, ..
            } => self
                .euis
                .iter()
                .any(|&(j, d)| j == join_eui && (d == 0 || d == dev_eui)),
        }
    }

    /// The session key this route holds for `dev_addr`, if it checks that device.
    pub fn session_key(&self, dev_addr: u32) -> Option<&SessionKey> {
        self.session_keys.iter().find(|k| k.dev_addr == dev_addr)
    }
}
