//! Whether the router buys a hotspot's copy of a packet, and for which routes.
//!
//! Copies of one packet (the same PHYPayload, by hash) arrive from every hotspot that heard it.
//! The first starts the packet; each copy within [`RouterLimits::dedupe_window_ns`] of it is
//! bought for every route that takes the packet until that route has `max_copies`, one copy
//! per hotspot. A copy arriving later is late, and the packet's hash is remembered for
//! [`RouterLimits::memory_ns`], so a frame sent again within that time is a replay. Routes
//! holding a device's session key check its frames' MIC and frame counter before buying the
//! first copy, so a hotspot can neither invent that device's frames nor resend old ones (an
//! org that gives no keys has its frames checked by its network server only). Each hotspot's
//! packet reports pass a rate limit (a burst, then a steady rate) before anything is decoded.
//! A copy costs its route's org [`hexproof_commitment::packet_dc`] data credits: an org whose
//! credits (its balance on chain, less what the router charged it since the last settlement)
//! do not cover a copy gets none ([`Drop::NoCredit`]); a top-up shows in the next table.
//!
//! Time is whatever the caller says (`now_ns`, the router's clock): the same offers in the same
//! order give the same purchases.

use std::collections::{HashMap, VecDeque};

use hexproof_proto::PublicKey;
use serde::{Deserialize, Serialize};

use super::{
    Drop,
    frame::{self, Uplink},
    routes::{Owners, RoutingTable},
};

/// The router's limits (`[router]` in the oracle's configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterLimits {
    /// Copies arriving this long after a packet's first copy are late: not bought.
    pub dedupe_window_ns: u64,
    /// How long a packet's hash is remembered: the same frame again within it is a replay.
    pub memory_ns: u64,
    /// Packets remembered at most; the oldest are forgotten first.
    pub max_packets: usize,
    /// Each hotspot's packet reports: this many at once, then `hotspot_per_sec` a second.
    pub hotspot_burst: u32,
    pub hotspot_per_sec: u32,
}

impl Default for RouterLimits {
    fn default() -> Self {
        RouterLimits {
            dedupe_window_ns: 2_000_000_000,
            memory_ns: 600_000_000_000,
            max_packets: 2_000_000,
            hotspot_burst: 100,
            hotspot_per_sec: 10,
        }
    }
}

/// Distinct hotspots remembered per packet; copies from more are not bought (no route buys
/// that many).
pub const MAX_COPIES_SEEN: usize = 64;

/// One copy bought for one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bought {
    pub route: u64,
    pub oui: u64,
    /// Which copy of the packet this is for the route (1 = the first).
    pub copy: u32,
    pub uplink: Uplink,
}

#[derive(Debug)]
struct Packet {
    first_ns: u64,
    hotspots: Vec<PublicKey>,
    /// Per route that takes the packet and passed its checks: copies bought so far.
    bought: Vec<(u64, u32)>,
    /// Why no route takes it, when none does (the same for every copy).
    refused: Option<Drop>,
}

/// The router's memory: packets seen, devices' frame counters, hotspots' rates.
#[derive(Debug, Default)]
pub struct Router {
    limits: RouterLimits,
    packets: HashMap<[u8; 32], Packet>,
    /// Packets in the order they were first seen, for forgetting.
    order: VecDeque<(u64, [u8; 32])>,
    /// (route, DevAddr) → the full frame counter of the device's newest checked frame.
    counters: HashMap<(u64, u32), u32>,
    /// Each hotspot's theoretical arrival time (GCRA).
    rates: HashMap<PublicKey, u64>,
    /// Credits charged per org in all (by OUI): the copies bought, before a restart included
    /// ([`Router::set_charged`]).
    charged: HashMap<u64, u64>,
}

impl Router {
    pub fn new(limits: RouterLimits) -> Router {
        Router {
            limits,
            ..Default::default()
        }
    }

    /// Sets what each org was charged in all so far (the stored receipts, at start).
    pub fn set_charged(&mut self, charged: impl IntoIterator<Item = (u64, u64)>) {
        self.charged = charged.into_iter().collect();
    }

    /// Credits charged to org `oui` in all.
    pub fn charged(&self, oui: u64) -> u64 {
        self.charged.get(&oui).copied().unwrap_or(0)
    }

    /// Packets remembered now.
    pub fn remembered(&self) -> usize {
        self.packets.len()
    }

    /// A hotspot's copy of a packet (`phy`, its PHYPayload) offered at `now_ns`: the copies
    /// bought, one per route, or why none was.
    pub fn offer(
        &mut self,
        table: &RoutingTable,
        hotspot: PublicKey,
        phy: &[u8],
        now_ns: u64,
    ) -> Result<Vec<Bought>, Drop> {
        self.admit(hotspot, now_ns)?;
        let uplink = frame::inspect(phy)?;
        self.forget(now_ns);
        let hash = frame::payload_hash(phy);
        if let Some(p) = self.packets.get_mut(&hash) {
            if p.hotspots.contains(&hotspot) {
                return Err(Drop::Duplicate);
            }
            if now_ns.saturating_sub(p.first_ns) > self.limits.dedupe_window_ns {
                return Err(Drop::Late);
            }
            if let Some(why) = p.refused {
                return Err(why);
            }
            if p.hotspots.len() >= MAX_COPIES_SEEN {
                return Err(Drop::CopiesFull);
            }
            p.hotspots.push(hotspot);
            return buy(table, p, uplink, phy.len(), &mut self.charged);
        }
        let (routes, refused) = self.check(table, &uplink, phy);
        let mut packet = Packet {
            first_ns: now_ns,
            hotspots: vec![hotspot],
            bought: routes.into_iter().map(|r| (r, 0)).collect(),
            refused,
        };
        let result = match refused {
            Some(why) => Err(why),
            None => buy(table, &mut packet, uplink, phy.len(), &mut self.charged),
        };
        self.packets.insert(hash, packet);
        self.order.push_back((now_ns, hash));
        result
    }

    /// Records a copy bought earlier (before a restart: the receipts in the store), so the
    /// packet counts it against `max_copies` and the hotspot's next copy is a duplicate.
    /// Copies older than the memory, and frames that no longer decode, are left out.
    pub fn remember(
        &mut self,
        table: &RoutingTable,
        hotspot: PublicKey,
        phy: &[u8],
        route: u64,
        bought_ns: u64,
    ) {
        if frame::inspect(phy).is_err() {
            return;
        }
        let hash = frame::payload_hash(phy);
        let packet = self.packets.entry(hash).or_insert_with(|| {
            self.order.push_back((bought_ns, hash));
            Packet {
                first_ns: bought_ns,
                hotspots: Vec::new(),
                bought: Vec::new(),
                refused: None,
            }
        });
        packet.first_ns = packet.first_ns.min(bought_ns);
        if !packet.hotspots.contains(&hotspot) && packet.hotspots.len() < MAX_COPIES_SEEN {
            packet.hotspots.push(hotspot);
        }
        if table.route(route).is_some() {
            match packet.bought.iter_mut().find(|(r, _)| *r == route) {
                Some((_, n)) => *n += 1,
                None => packet.bought.push((route, 1)),
            }
        }
    }

    /// The hotspot's rate: a burst of `hotspot_burst`, then `hotspot_per_sec`.
    fn admit(&mut self, hotspot: PublicKey, now_ns: u64) -> Result<(), Drop> {
        let interval = 1_000_000_000 / u64::from(self.limits.hotspot_per_sec.max(1));
        let tolerance = interval * u64::from(self.limits.hotspot_burst.max(1) - 1);
        let tat = self.rates.entry(hotspot).or_insert(0);
        let at = (*tat).max(now_ns);
        if at - now_ns > tolerance {
            return Err(Drop::RateLimited);
        }
        *tat = at + interval;
        Ok(())
    }

    fn forget(&mut self, now_ns: u64) {
        while let Some(&(first, hash)) = self.order.front() {
            if now_ns.saturating_sub(first) <= self.limits.memory_ns
                && self.order.len() < self.limits.max_packets
            {
                break;
            }
            self.order.pop_front();
            self.packets.remove(&hash);
        }
    }

    /// The routes that take a new packet and whose checks it passes, or why none does.
    fn check(
        &mut self,
        table: &RoutingTable,
        uplink: &Uplink,
        phy: &[u8],
    ) -> (Vec<u64>, Option<Drop>) {
        let routes = match table.owners(uplink) {
            Owners::Routes(r) => r,
            Owners::Disabled => return (Vec::new(), Some(Drop::OrgDisabled)),
            Owners::None => return (Vec::new(), Some(Drop::NoRoute)),
        };
        let mut taken = Vec::new();
        let mut refusal = Drop::BadMic;
        for route in routes {
            let Uplink::Data { dev_addr, fcnt, .. } = *uplink else {
                taken.push(route.id);
                continue;
            };
            let Some(key) = route.session_key(dev_addr) else {
                taken.push(route.id);
                continue;
            };
            let last = self
                .counters
                .get(&(route.id, dev_addr))
                .copied()
                .or(key.last_fcnt);
            let full = frame::full_fcnt(last, fcnt);
            if frame::mic_holds(phy, &key.nwk_s_key, full) {
                self.counters.insert((route.id, dev_addr), full);
                taken.push(route.id);
            } else if let Some(last) = last {
                // An old frame sent again: its MIC holds at a counter already used.
                let earlier = (last & 0xffff_0000) | u32::from(fcnt);
                let earlier = if earlier > last {
                    earlier.wrapping_sub(0x1_0000)
                } else {
                    earlier
                };
                if frame::mic_holds(phy, &key.nwk_s_key, earlier) {
                    refusal = Drop::FcntReused;
                }
            }
        }
        if taken.is_empty() {
            (taken, Some(refusal))
        } else {
            (taken, None)
        }
    }
}

/// Buys the copy `packet`'s newest hotspot offers (`size` bytes) for every route not yet full
/// whose org can pay for it, charging the org.
fn buy(
    table: &RoutingTable,
    packet: &mut Packet,
    uplink: Uplink,
    size: usize,
    charged: &mut HashMap<u64, u64>,
) -> Result<Vec<Bought>, Drop> {
    let cost = hexproof_commitment::packet_dc(u32::try_from(size).unwrap_or(u32::MAX));
    let mut bought = Vec::new();
    let mut unpaid = false;
    for (route, count) in &mut packet.bought {
        let Some(r) = table.route(*route) else {
            continue;
        };
        if *count < r.max_copies {
            let spent = charged.entry(r.oui).or_default();
            let credits = table.org(r.oui).and_then(|o| o.credits);
            if let Some(credits) = credits {
                // What the chain settled was charged by someone: never count less (a router
                // on a fresh store, or after another's charges, starts from there).
                *spent = (*spent).max(credits.settled);
                if credits.available(*spent) < cost {
                    unpaid = true;
                    continue;
                }
            }
            *spent = spent.saturating_add(cost);
            *count += 1;
            bought.push(Bought {
                route: r.id,
                oui: r.oui,
                copy: *count,
                uplink,
            });
        }
    }
    match (bought.is_empty(), unpaid) {
        (false, _) => Ok(bought),
        (true, true) => Err(Drop::NoCredit),
        (true, false) => Err(Drop::CopiesFull),
    }
}
