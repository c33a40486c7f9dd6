//! The embedded broker's gate: MQTT identity and a topic ACL in front of rumqttd, which has
//! neither. Clients connect to the gate; it reads each packet a client sends, lets through only
//! what the client's identity may do, and passes the broker's packets back untouched.
//!
//! The rules are those of the production set-up (`scripts/broker-ca`'s pattern ACL):
//! - a client logs in with a signed login ([`hexproof_proto::login`]) naming a registered
//!   hotspot or one of the network's oracles; anyone else gets CONNACK "not authorized";
//! - a hotspot publishes only `hexproof/v1/{beacons,witnesses}/<its key>` and subscribes only to
//!   the entropy topic;
//! - an oracle publishes only entropy and subscribes only under `hexproof/v1/`.
//!
//! A client that breaks a rule is disconnected (mosquitto drops a denied publish silently; a
//! gate that cannot answer for the broker closes instead). Refusals are counted in
//! `hexproof_gate_refused_total{reason}`. Packets over 64 KiB are refused as well.

use std::{collections::BTreeSet, net::SocketAddr, sync::Arc};

use hexproof_proto::{PublicKey, login, topics};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// The largest packet a client may send through the gate.
pub const MAX_PACKET: usize = 64 * 1024;

/// Who a client proved to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    Hotspot(PublicKey),
    Oracle(PublicKey),
}

/// The keys the gate lets in.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub hotspots: BTreeSet<PublicKey>,
    pub oracles: BTreeSet<PublicKey>,
}

impl Policy {
    /// The identity a CONNECT's username and password prove, if the gate lets it in.
    pub fn identify(&self, username: &str, password: &[u8]) -> Option<Identity> {
        let key = login::verify(username, password)?;
        if self.oracles.contains(&key) {
            Some(Identity::Oracle(key))
        } else if self.hotspots.contains(&key) {
            Some(Identity::Hotspot(key))
        } else {
            None
        }
    }
}

/// Whether `who` may publish on `topic`.
pub fn may_publish(who: Identity, topic: &str) -> bool {
    match who {
        Identity::Hotspot(key) => {
            topic == topics::beacons(&key) || topic == topics::witnesses(&key)
        }
        Identity::Oracle(_) => topic == topics::ENTROPY,
    }
}

/// Whether `who` may subscribe to `filter`.
pub fn may_subscribe(who: Identity, filter: &str) -> bool {
    match who {
        Identity::Hotspot(_) => filter == topics::ENTROPY,
        Identity::Oracle(_) => filter
            .strip_prefix(topics::ROOT)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
    }
}

/// Why a client was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotAuthorized,
    Publish,
    Subscribe,
    Malformed,
    Oversized,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotAuthorized => "not_authorized",
            Refusal::Publish => "publish_denied",
            Refusal::Subscribe => "subscribe_denied",
            Refusal::Malformed => "malformed",
            Refusal::Oversized => "oversized",
        }
    }
}

/// One MQTT control packet as the client sent it.
struct Packet {
    kind: u8,
    /// The whole packet, fixed header included.
    bytes: Vec<u8>,
    /// Where the variable header starts in `bytes`.
    body: usize,
}

/// Reads one packet; `Ok(None)` when the connection ends (closed or reset, even mid-packet: that
/// is the client going away, not a refusal).
async fn read_packet(r: &mut (impl AsyncRead + Unpin)) -> Result<Option<Packet>, Refusal> {
    let mut first = [0u8; 1];
    match r.read(&mut first).await {
        Ok(0) | Err(_) => return Ok(None),
        Ok(_) => {}
    }
    let mut bytes = vec![first[0]];
    let mut length = 0usize;
    for i in 0..4 {
        let Ok(b) = r.read_u8().await else {
            return Ok(None);
        };
        bytes.push(b);
        length |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            break;
        }
        if i == 3 {
            return Err(Refusal::Malformed);
        }
    }
    if length > MAX_PACKET {
        return Err(Refusal::Oversized);
    }
    let body = bytes.len();
    bytes.resize(body + length, 0);
    if r.read_exact(&mut bytes[body..]).await.is_err() {
        return Ok(None);
    }
    Ok(Some(Packet {
        kind: first[0] >> 4,
        bytes,
        body,
    }))
}

/// A length-prefixed field at `at`: its bytes and where the next field starts.
fn field(bytes: &[u8], at: usize) -> Result<(&[u8], usize), Refusal> {
    let len = bytes
        .get(at..at + 2)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .ok_or(Refusal::Malformed)?;
    let value = bytes.get(at + 2..at + 2 + len).ok_or(Refusal::Malformed)?;
    Ok((value, at + 2 + len))
}

/// The username and password of a CONNECT packet (MQTT 3.1.1).
fn credentials(p: &Packet) -> Result<(String, Vec<u8>), Refusal> {
    let (_protocol, at) = field(&p.bytes, p.body)?;
    let flags = *p.bytes.get(at + 1).ok_or(Refusal::Malformed)?;
    let (_client_id, mut at) = field(&p.bytes, at + 4)?;
    if flags & 0x04 != 0 {
        at = field(&p.bytes, at)?.1; // will topic
        at = field(&p.bytes, at)?.1; // will message
    }
    if flags & 0x80 == 0 || flags & 0x40 == 0 {
        return Err(Refusal::NotAuthorized);
    }
    let (user, at) = field(&p.bytes, at)?;
    let (password, _) = field(&p.bytes, at)?;
    let user = String::from_utf8(user.to_vec()).map_err(|_| Refusal::NotAuthorized)?;
    Ok((user, password.to_vec()))
}

/// Checks a packet from an identified client.
fn check(who: Identity, p: &Packet) -> Result<(), Refusal> {
    match p.kind {
        3 => {
            let (topic, _) = field(&p.bytes, p.body)?;
            let topic = std::str::from_utf8(topic).map_err(|_| Refusal::Malformed)?;
            if may_publish(who, topic) {
                Ok(())
            } else {
                Err(Refusal::Publish)
            }
        }
        8 => {
            let mut at = p.body + 2; // packet id
            while at < p.bytes.len() {
                let (filter, next) = field(&p.bytes, at)?;
                let filter = std::str::from_utf8(filter).map_err(|_| Refusal::Malformed)?;
                if !may_subscribe(who, filter) {
                    return Err(Refusal::Subscribe);
                }
                at = next + 1; // requested QoS
            }
            Ok(())
        }
        1 => Err(Refusal::Malformed), // a second CONNECT
        _ => Ok(()),
    }
}

fn refused(why: Refusal, peer: SocketAddr, who: Option<Identity>) {
    metrics::counter!("hexproof_gate_refused_total", "reason" => why.code()).increment(1);
    tracing::warn!(%peer, ?who, reason = why.code(), "broker gate refused a client");
}

async fn serve(mut client: TcpStream, peer: SocketAddr, upstream: SocketAddr, policy: Arc<Policy>) {
    let connect = match read_packet(&mut client).await {
        Ok(Some(p)) if p.kind == 1 => p,
        Ok(_) => return,
        Err(why) => return refused(why, peer, None),
    };
    let who = match credentials(&connect) {
        Ok((user, password)) => policy.identify(&user, &password),
        Err(_) => None,
    };
    let Some(who) = who else {
        // CONNACK, return code 5: not authorized.
        let _ = client.write_all(&[0x20, 0x02, 0x00, 0x05]).await;
        return refused(Refusal::NotAuthorized, peer, None);
    };
    let Ok(mut broker) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = broker.set_nodelay(true);
    if broker.write_all(&connect.bytes).await.is_err() {
        return;
    }
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut broker_rx, mut broker_tx) = broker.into_split();
    // The broker's side ends the connection too: then the client's side stops at once.
    let mut down = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut broker_rx, &mut client_tx).await;
    });
    let up = async {
        loop {
            match read_packet(&mut client_rx).await {
                Ok(Some(p)) => {
                    if let Err(why) = check(who, &p) {
                        refused(why, peer, Some(who));
                        break;
                    }
                    if broker_tx.write_all(&p.bytes).await.is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(why) => {
                    refused(why, peer, Some(who));
                    break;
                }
            }
        }
    };
    tokio::select! {
        () = up => down.abort(),
        _ = &mut down => {}
    }
}

/// Listens on a free loopback port in front of the broker at `upstream`; returns the gate's
/// address. Runs until the process ends.
pub async fn start(upstream: SocketAddr, policy: Policy) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let policy = Arc::new(policy);
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((client, peer)) => {
                    tokio::spawn(serve(client, peer, upstream, policy.clone()));
                }
                Err(e) => {
                    tracing::warn!(%e, "broker gate: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_bytes(who: Identity, bytes: &[u8]) -> Result<(), Refusal> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut reader = bytes;
        match runtime.block_on(read_packet(&mut reader))? {
            Some(p) => check(who, &p),
            None => Err(Refusal::Malformed), // the stream ended: nothing reached the broker
        }
    }

    /// Hostile framing from a logged-in hotspot: a packet announcing more than 64 KiB, a
    /// remaining length longer than MQTT allows, a topic length pointing past the packet, a
    /// second CONNECT, a subscription hidden after an allowed one.
    #[test]
    fn hostile_framing_is_refused() {
        let a = PublicKey::from([1; 32]);
        let hotspot = Identity::Hotspot(a);
        // PUBLISH announcing 100 KiB: refused before reading it.
        assert_eq!(
            check_bytes(hotspot, &[0x30, 0x80, 0x80, 0x06]),
            Err(Refusal::Oversized)
        );
        // A fifth length byte.
        assert_eq!(
            check_bytes(hotspot, &[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(Refusal::Malformed)
        );
        // A topic length of 200 in a 4-byte body.
        assert_eq!(
            check_bytes(hotspot, &[0x30, 0x04, 0x00, 0xc8, b'a', b'b']),
            Err(Refusal::Malformed)
        );
        // A second CONNECT.
        assert_eq!(check_bytes(hotspot, &[0x10, 0x00]), Err(Refusal::Malformed));
        // SUBSCRIBE: entropy (allowed), then every beacon.
        let mut body = vec![0x00, 0x01];
        for filter in [topics::ENTROPY, topics::BEACONS_FILTER] {
            body.extend_from_slice(&(filter.len() as u16).to_be_bytes());
            body.extend_from_slice(filter.as_bytes());
            body.push(1);
        }
        let mut packet = vec![0x82, body.len() as u8];
        packet.extend_from_slice(&body);
        assert_eq!(check_bytes(hotspot, &packet), Err(Refusal::Subscribe));
        // Its own beacon topic passes.
        let own = topics::beacons(&a);
        let mut packet = vec![0x30, (own.len() + 2 + 3) as u8];
        packet.extend_from_slice(&(own.len() as u16).to_be_bytes());
        packet.extend_from_slice(own.as_bytes());
        packet.extend_from_slice(b"abc");
        assert_eq!(check_bytes(hotspot, &packet), Ok(()));
    }

    #[test]
    fn each_identity_keeps_to_its_topics() {
        let a = PublicKey::from([1; 32]);
        let b = PublicKey::from([2; 32]);
        let hotspot = Identity::Hotspot(a);
        let oracle = Identity::Oracle(b);
        assert!(may_publish(hotspot, &topics::beacons(&a)));
        assert!(may_publish(hotspot, &topics::witnesses(&a)));
        assert!(!may_publish(hotspot, &topics::witnesses(&b)));
        assert!(!may_publish(hotspot, topics::ENTROPY));
        assert!(!may_publish(hotspot, "hexproof/v1/beacons/+"));
        assert!(may_subscribe(hotspot, topics::ENTROPY));
        for filter in [topics::BEACONS_FILTER, "hexproof/v1/#", "#", "+/+/+"] {
            assert!(!may_subscribe(hotspot, filter), "{filter}");
        }
        assert!(may_publish(oracle, topics::ENTROPY));
        assert!(!may_publish(oracle, &topics::beacons(&a)));
        assert!(may_subscribe(oracle, topics::BEACONS_FILTER));
        assert!(may_subscribe(oracle, "hexproof/v1/#"));
        assert!(!may_subscribe(oracle, "#"));
        assert!(!may_subscribe(oracle, "hexproof/v10/#"));
    }
}
