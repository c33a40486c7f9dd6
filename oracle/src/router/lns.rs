//! Delivery to network servers: every bought copy as a Semtech UDP PUSH_DATA (the protocol
//! ChirpStack's gateway bridge and most LoRaWAN network servers take from packet forwarders),
//! from the gateway [`gateway_eui`] of the hotspot that heard it, to its route's `lns` address
//! (`host:port`, `udp://` optional). A copy is marked delivered when its PUSH_ACK comes back;
//! until then it is sent again every pass, so a network server that goes away gets every copy
//! when it returns, and a copy acknowledged once is never sent again.

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use hexproof_poc::packets::RoutingTable;
use hexproof_proto::{PublicKey, clock::Clock, v1::DataRate};
use semtech_udp::{
    CodingRate, MacAddress, Modulation, SerializablePacket,
    push_data::{self, CRC, RxPk, RxPkV1},
};
use sha2::{Digest, Sha256};
use tokio::{net::UdpSocket, sync::Notify};
use tokio_util::sync::CancellationToken;

use super::RouterConfig;
use crate::store::{Store, StoredReceipt};

/// The gateway EUI a hotspot has at network servers: the first 8 bytes of
/// SHA-256("hexproof gateway" || key).
pub fn gateway_eui(hotspot: &PublicKey) -> [u8; 8] {
    let h = Sha256::new()
        .chain_update(b"hexproof gateway")
        .chain_update(hotspot.to_bytes())
        .finalize();
    h[..8].try_into().expect("8 of 32 bytes")
}

/// The PUSH_DATA datagram carrying `copy`, with `token`.
pub fn push_data(copy: &StoredReceipt, token: u16) -> Option<Vec<u8>> {
    let hotspot = PublicKey::try_from(copy.receipt.hotspot.as_slice()).ok()?;
    let report = &copy.report;
    let rate = DataRate::try_from(report.data_rate).ok()?;
    let rxpk = RxPk::V1(RxPkV1 {
        chan: 0,
        codr: Some(CodingRate::_4_5),
        data: report.payload.clone(),
        datr: semtech_udp::DataRate::from_str(rate.as_str_name()).ok()?,
        freq: report.frequency_hz as f64 / 1e6,
        lsnr: report.snr_ddb as f32 / 10.0,
        modu: Modulation::LORA,
        rfch: 0,
        rssi: report.rssi_ddbm.div_euclid(10),
        rssis: None,
        size: report.payload.len() as u64,
        stat: CRC::OK,
        tmst: (report.timestamp_ns / 1_000) as u32,
        time: None,
    });
    let mut packet = push_data::Packet::from_rxpk(MacAddress::from(gateway_eui(&hotspot)), rxpk);
    packet.random_token = token;
    let mut buffer = vec![0u8; 4096];
    let n = packet.serialize(&mut buffer).ok()? as usize;
    buffer.truncate(n);
    Some(buffer)
}

fn address(lns: &str) -> Option<String> {
    let a = lns.strip_prefix("udp://").unwrap_or(lns);
    (!a.is_empty()).then(|| a.to_string())
}

/// Copies sent and not yet acknowledged, by network server: token → receipt id. Kept across
/// passes, so an acknowledgement that comes late still marks its copy.
type InFlight = HashMap<String, HashMap<u16, [u8; 32]>>;

/// A network server's address as the forwarder last found it: a socket connected to what the
/// name resolved to (looked up again after [`RESOLVE_EVERY`], so a server that moves is
/// followed), or a failure (not tried again for [`RETRY_FAILED`], so a name that never
/// resolves costs one lookup a minute, not one per copy).
enum Target {
    Open {
        socket: Arc<UdpSocket>,
        since: std::time::Instant,
    },
    Failed {
        since: std::time::Instant,
    },
}

const RESOLVE_EVERY: Duration = Duration::from_secs(300);
const RETRY_FAILED: Duration = Duration::from_secs(60);

impl Target {
    fn open(socket: Arc<UdpSocket>) -> Target {
        Target::Open {
            socket,
            since: std::time::Instant::now(),
        }
    }

    fn failed() -> Target {
        Target::Failed {
            since: std::time::Instant::now(),
        }
    }

    fn fresh(&self) -> bool {
        match self {
            Target::Open { since, .. } => since.elapsed() < RESOLVE_EVERY,
            Target::Failed { since } => since.elapsed() < RETRY_FAILED,
        }
    }

    fn socket(&self) -> Option<&Arc<UdpSocket>> {
        match self {
            Target::Open { socket, .. } => Some(socket),
            Target::Failed { .. } => None,
        }
    }
}

type Sockets = HashMap<String, Target>;

/// Tokens remembered per network server at most; past it the oldest passes' are forgotten
/// (their copies are sent again when due).
const MAX_IN_FLIGHT: usize = 16_384;

/// Forwards undelivered copies until `shutdown`: a pass whenever something was bought (or
/// every second) over the copies due; a copy not acknowledged within `lns_ack_timeout_ms`
/// waits longer before each next send (1 s doubling to 5 min), so copies that cannot be
/// delivered now (a network server away, a route gone) never hold up the others.
pub async fn forward(
    store: Store,
    tables: tokio::sync::watch::Receiver<RoutingTable>,
    config: RouterConfig,
    clock: Clock,
    bought: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut sockets = Sockets::new();
    let mut in_flight = InFlight::new();
    loop {
        let pending = match store
            .due_receipts(clock.now_ns(), config.forward_batch)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(%e, "router: reading undelivered copies");
                Vec::new()
            }
        };
        let full = pending.len() as u32 >= config.forward_batch;
        if !pending.is_empty() {
            let table = tables.borrow().clone();
            // Sockets of addresses no route names any more are closed (an org changing its
            // address at every refresh cannot pile up sockets).
            let named: std::collections::HashSet<String> = table
                .routes()
                .iter()
                .filter_map(|r| address(&r.lns))
                .collect();
            sockets.retain(|a, s| named.contains(a) && s.fresh());
            in_flight.retain(|a, _| named.contains(a));
            pass(
                &table,
                &config,
                &mut sockets,
                &mut in_flight,
                &store,
                clock,
                pending,
            )
            .await;
        }
        if full {
            continue; // more are due
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = bought.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Sends `pending` to their network servers, marks those acknowledged and postpones the rest.
async fn pass(
    table: &RoutingTable,
    config: &RouterConfig,
    sockets: &mut Sockets,
    in_flight: &mut InFlight,
    store: &Store,
    clock: Clock,
    pending: Vec<StoredReceipt>,
) {
    let mut sent_to: BTreeMap<String, usize> = BTreeMap::new();
    for copy in &pending {
        // The route of the receipt's own org: a copy never goes to another org's address.
        let Some(lns) = table
            .route(copy.receipt.route_id)
            .filter(|r| r.oui == copy.receipt.oui)
            .and_then(|r| address(&r.lns))
        else {
            continue; // the route is gone from the table: kept, postponed below
        };
        let socket = match sockets.get(&lns) {
            Some(Target::Open { socket, .. }) => socket.clone(),
            // An address that could not be used a moment ago: its copies wait (postponed
            // below) without another lookup each.
            Some(Target::Failed { .. }) => continue,
            None => match connect(&lns, config.lns_private).await {
                Ok(socket) => {
                    sockets.insert(lns.clone(), Target::open(socket.clone()));
                    socket
                }
                Err(e) => {
                    tracing::warn!(%e, lns, "router: network server address");
                    sockets.insert(lns.clone(), Target::failed());
                    continue;
                }
            },
        };
        let tokens = in_flight.entry(lns.clone()).or_default();
        if tokens.len() >= MAX_IN_FLIGHT {
            tokens.clear();
        }
        // A random token no copy in flight has: an acknowledgement names its copy.
        let token = loop {
            let t: u16 = rand::random();
            if !tokens.contains_key(&t) {
                break t;
            }
        };
        let Some(datagram) = push_data(copy, token) else {
            continue;
        };
        if socket.send(&datagram).await.is_ok() {
            tokens.insert(token, copy.id);
            *sent_to.entry(lns).or_default() += 1;
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(config.lns_ack_timeout_ms);
    let mut acked = Vec::new();
    for (lns, sent) in sent_to {
        let Some(socket) = sockets.get(&lns).and_then(Target::socket).cloned() else {
            continue;
        };
        let tokens = in_flight.entry(lns.clone()).or_default();
        let mut buffer = [0u8; 64];
        let mut heard = 0;
        while heard < sent && !tokens.is_empty() {
            let Ok(Ok(n)) = tokio::time::timeout_at(deadline, socket.recv(&mut buffer)).await
            else {
                break;
            };
            if let Ok(semtech_udp::Down::PushAck(ack)) =
                semtech_udp::Packet::parse_downlink(&buffer[..n])
                && let Some(id) = tokens.remove(&ack.random_token)
            {
                acked.push(id);
                heard += 1;
            }
        }
        if heard < sent {
            metrics::counter!("hexproof_router_unacknowledged_total")
                .increment((sent - heard) as u64);
            tracing::debug!(
                lns,
                waiting = sent - heard,
                "router: copies not acknowledged yet"
            );
        }
    }
    let now = clock.now_ns();
    if !acked.is_empty() {
        if let Err(e) = store.mark_delivered(&acked, now).await {
            tracing::warn!(%e, "router: marking copies delivered");
            return;
        }
        metrics::counter!("hexproof_router_delivered_total").increment(acked.len() as u64);
    }
    let late: Vec<(&[u8; 32], u32)> = pending
        .iter()
        .filter(|c| !acked.contains(&c.id))
        .map(|c| (&c.id, c.attempts))
        .collect();
    if !late.is_empty()
        && let Err(e) = store.postpone(&late, now).await
    {
        tracing::warn!(%e, "router: postponing copies");
    }
}

/// How long resolving a network server's host name may take (an org names it: a name whose
/// DNS never answers must not stall delivery for everyone).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(1);

async fn connect(lns: &str, allow_private: bool) -> std::io::Result<Arc<UdpSocket>> {
    let target: SocketAddr = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(lns))
        .await
        .map_err(|_| std::io::Error::other("resolving took over a second"))??
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    if !allowed(target.ip(), allow_private) {
        return Err(std::io::Error::other(format!(
            "{target} is a loopback, private, link-local or broadcast address \
             ([router] lns_private allows them)"
        )));
    }
    let local: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().expect("an address")
    } else {
        "[::]:0".parse().expect("an address")
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(target).await?;
    Ok(Arc::new(socket))
}

/// Whether the router sends to `ip`: routes are set by org owners, so by default only public
/// unicast addresses (not the router's own host, its private network, or a broadcast).
fn allowed(ip: std::net::IpAddr, allow_private: bool) -> bool {
    use std::net::IpAddr;
    let special = match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0 // "this network"
                || a >= 240 // reserved
                || (a == 100 && (b & 0xc0) == 64) // carrier-grade NAT
                || (a == 198 && (b & 0xfe) == 18) // benchmarking
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments (DS-Lite)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // An IPv4 address inside: mapped, NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4.
            let inner =
                |hi: u16, lo: u16| std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
            let embedded = if let Some(v4) = v6.to_ipv4_mapped() {
                Some(v4)
            } else if s[0] == 0x64 && s[1] == 0xff9b {
                Some(inner(s[6], s[7]))
            } else if s[0] == 0x2002 {
                Some(inner(s[1], s[2]))
            } else {
                None
            };
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local
                || embedded.is_some_and(|v4| !allowed(IpAddr::V4(v4), false))
        }
    };
    allow_private || !special
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Org owners name network servers: the router's own host, private networks, link-local
    /// (cloud metadata) and broadcast addresses are refused unless the operator allows them.
    #[test]
    fn only_public_unicast_network_servers_by_default() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::a00:1",
            "2002:a00:1::1",
            "0.1.2.3",
            "240.0.0.1",
            "198.18.0.1",
            "192.0.0.1",
            "fec0::1",
        ] {
            let ip: std::net::IpAddr = bad.parse().unwrap();
            assert!(!allowed(ip, false), "{bad}");
            assert!(allowed(ip, true), "{bad}");
        }
        for good in [
            "8.8.8.8",
            "2001:4860:4860::8888",
            "100.128.0.1",
            "64:ff9b::808:808",
        ] {
            assert!(allowed(good.parse().unwrap(), false), "{good}");
        }
    }
}
