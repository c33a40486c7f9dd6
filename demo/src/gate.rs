//! The embedded broker's gate: MQTT identity and a topic ACL in front of rumqttd, which has
//! neither. Clients connect to the gate; it reads each packet a client sends, lets through only
//! what the client's identity may do, and passes the broker's packets back untouched. rumqttd
//! itself takes only the gate's own credentials ([`crate::broker`], random for each run), so
//! a local process that skips the gate is refused.
//!
//! The rules are those of the production set-up (`scripts/broker-ca`'s mosquitto configuration
//! and pattern ACL):
//! - a client logs in with a signed login ([`hexproof_proto::login`]) naming a registered
//!   hotspot or one of the network's oracles, signed for this gate's name (its address, unless
//!   configured) within [`GateConfig::max_skew`] of the gate's clock, and not seen before;
//!   anyone else gets CONNACK "not authorized";
//! - each identity uses only its own client ids (a hotspot `hotspot-<key>`, an oracle
//!   `hexproof-oracle-<key>` for ingest, `hexproof-oracle-<key>-entropy` and `-router`,
//!   [`hexproof_proto::login`]), so nobody takes over another's session (CONNACK "identifier
//!   rejected"); mosquitto: `use_username_as_clientid`;
//! - a hotspot publishes only `hexproof/v1/{beacons,witnesses,packets}/<its key>`, never retained, and
//!   subscribes only to the entropy topic;
//! - an oracle publishes only entropy and subscribes only under `hexproof/v1/`;
//! - a will is a publish too: a CONNECT whose will the identity may not publish (or a retained
//!   will from a hotspot) is refused (CONNACK "not authorized"); mosquitto checks wills against
//!   its ACL when it publishes them.
//!
//! A client that breaks a rule after CONNECT is disconnected (mosquitto drops a denied publish
//! silently; a gate that cannot answer for the broker closes instead). A socket that sends no
//! CONNECT within [`GateConfig::connect_timeout`] is closed, and beyond
//! [`GateConfig::max_connections`] open connections new sockets are closed at once. Packets over
//! 64 KiB are refused. Refusals are counted in `hexproof_gate_refused_total{reason}`; open
//! connections in `hexproof_gate_connections`.

use std::{
    collections::{BTreeSet, HashMap, HashSet, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use hexproof_proto::{PublicKey, login, topics};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};

/// The largest packet a client may send through the gate.
pub const MAX_PACKET: usize = 64 * 1024;

/// Who a client proved to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    Hotspot(PublicKey),
    Oracle(PublicKey),
}

impl Identity {
    /// The MQTT client ids this identity may connect with.
    pub fn client_ids(self) -> Vec<String> {
        match self {
            Identity::Hotspot(key) => vec![login::hotspot_client_id(&key)],
            Identity::Oracle(key) => vec![
                login::oracle_client_id(&key),
                login::oracle_entropy_client_id(&key),
                login::oracle_router_client_id(&key),
            ],
        }
    }
}

/// The keys the gate lets in.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub hotspots: BTreeSet<PublicKey>,
    pub oracles: BTreeSet<PublicKey>,
}

impl Policy {
    /// The identity a verified login proves, if the gate lets it in.
    pub fn identity(&self, key: &PublicKey) -> Option<Identity> {
        if self.oracles.contains(key) {
            Some(Identity::Oracle(*key))
        } else if self.hotspots.contains(key) {
            Some(Identity::Hotspot(*key))
        } else {
            None
        }
    }
}

/// The gate's settings (in code: the demo has no configuration file).
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// The broker name logins must be signed for; the gate's address (`127.0.0.1:<port>`)
    /// when `None` (the default).
    pub name: Option<String>,
    /// How far a login's time may be from the gate's clock, either way. Default 3 minutes.
    pub max_skew: Duration,
    /// A socket that has not sent its CONNECT within this long is closed. Default 5 s.
    pub connect_timeout: Duration,
    /// Client connections open at once, at most; sockets beyond it are closed at once.
    /// Default 10,000.
    pub max_connections: usize,
    /// Logins remembered to refuse their replay (for `2 × max_skew`), at most; when full, new
    /// logins are refused until old ones expire. Default 100,000 (about 15 MB).
    pub max_remembered_logins: usize,
    /// Logins of one key remembered at most (so one key cannot fill the table): beyond it, that
    /// key's new logins are refused until its old ones expire. Default 120 (one connection
    /// every 3 s on average over `2 × max_skew`).
    pub max_logins_per_key: usize,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            name: None,
            max_skew: Duration::from_secs(180),
            connect_timeout: Duration::from_secs(5),
            max_connections: 10_000,
            max_remembered_logins: 100_000,
            max_logins_per_key: 120,
        }
    }
}

/// How the gate logs in to the broker behind it: rumqttd takes only these credentials.
#[derive(Clone)]
pub struct Upstream {
    pub addr: SocketAddr,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        f.debug_struct("Upstream")
            .field("addr", &self.addr)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A running gate.
#[derive(Debug, Clone)]
pub struct Gate {
    /// Where clients connect (`mqtt://<addr>`).
    pub addr: SocketAddr,
    /// The broker name clients sign their logins for (`[mqtt] login_broker`).
    pub name: String,
}

/// Whether `who` may publish on `topic`.
pub fn may_publish(who: Identity, topic: &str) -> bool {
    match who {
        Identity::Hotspot(key) => {
            topic == topics::beacons(&key)
                || topic == topics::witnesses(&key)
                || topic == topics::packets(&key)
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
    /// No login, a key the gate does not know, or a signature that does not verify.
    NotAuthorized,
    /// A login signed too far from the gate's clock.
    StaleLogin,
    /// A login the gate has seen before.
    ReplayedLogin,
    /// Too many logins remembered (see [`GateConfig::max_remembered_logins`],
    /// [`GateConfig::max_logins_per_key`]).
    Busy,
    /// A client id that is not the identity's own.
    ClientId,
    /// A will the identity may not publish.
    Will,
    /// Not MQTT 3.1.1.
    Protocol,
    Publish,
    /// A retained publish from a hotspot.
    Retain,
    Subscribe,
    Malformed,
    Oversized,
    /// No CONNECT within the timeout.
    ConnectTimeout,
    /// Over the connection cap.
    TooManyConnections,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotAuthorized => "not_authorized",
            Refusal::StaleLogin => "stale_login",
            Refusal::ReplayedLogin => "replayed_login",
            Refusal::Busy => "busy",
            Refusal::ClientId => "client_id",
            Refusal::Will => "will_denied",
            Refusal::Protocol => "protocol",
            Refusal::Publish => "publish_denied",
            Refusal::Retain => "retain_denied",
            Refusal::Subscribe => "subscribe_denied",
            Refusal::Malformed => "malformed",
            Refusal::Oversized => "oversized",
            Refusal::ConnectTimeout => "connect_timeout",
            Refusal::TooManyConnections => "too_many_connections",
        }
    }

    /// The CONNACK return code a refused CONNECT gets (MQTT 3.1.1): 1 unacceptable protocol
    /// version, 2 identifier rejected, 5 not authorized.
    fn connack(self) -> u8 {
        match self {
            Refusal::Protocol => 1,
            Refusal::ClientId => 2,
            _ => 5,
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

fn put_field(out: &mut Vec<u8>, value: &[u8]) {
    // Every field was read with a 2-byte length, or is the gate's own short credential.
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&value[..usize::from(len)]);
}

/// A will: its topic, message and whether it is retained.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Will {
    topic: String,
    message: Vec<u8>,
    /// The will QoS and retain bits of the connect flags.
    flags: u8,
}

impl Will {
    fn retained(&self) -> bool {
        self.flags & 0x20 != 0
    }
}

/// A CONNECT packet (MQTT 3.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Connect {
    clean_session: bool,
    keep_alive: u16,
    client_id: String,
    will: Option<Will>,
    username: Option<String>,
    password: Option<Vec<u8>>,
}

impl Connect {
    fn parse(p: &Packet) -> Result<Connect, Refusal> {
        let (protocol, at) = field(&p.bytes, p.body)?;
        let level = *p.bytes.get(at).ok_or(Refusal::Malformed)?;
        if protocol != b"MQTT" || level != 4 {
            return Err(Refusal::Protocol);
        }
        let flags = *p.bytes.get(at + 1).ok_or(Refusal::Malformed)?;
        if flags & 0x01 != 0 {
            return Err(Refusal::Malformed); // the reserved flag
        }
        let keep_alive = p
            .bytes
            .get(at + 2..at + 4)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or(Refusal::Malformed)?;
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| Refusal::Malformed);
        let (client_id, mut at) = field(&p.bytes, at + 4)?;
        let client_id = text(client_id)?;
        let will = if flags & 0x04 != 0 {
            let (topic, next) = field(&p.bytes, at)?;
            let (message, next) = field(&p.bytes, next)?;
            at = next;
            Some(Will {
                topic: text(topic)?,
                message: message.to_vec(),
                flags: flags & 0x38,
            })
        } else {
            None
        };
        let username = if flags & 0x80 != 0 {
            let (user, next) = field(&p.bytes, at)?;
            at = next;
            Some(text(user)?)
        } else {
            None
        };
        let password = if flags & 0x40 != 0 {
            Some(field(&p.bytes, at)?.0.to_vec())
        } else {
            None
        };
        Ok(Connect {
            clean_session: flags & 0x02 != 0,
            keep_alive,
            client_id,
            will,
            username,
            password,
        })
    }

    /// This CONNECT with the gate's own credentials, for the broker behind it.
    fn upstream(&self, username: &str, password: &str) -> Vec<u8> {
        let mut flags = 0xC0 | (u8::from(self.clean_session) << 1);
        if let Some(will) = &self.will {
            flags |= 0x04 | will.flags;
        }
        let mut body = Vec::new();
        put_field(&mut body, b"MQTT");
        body.push(4);
        body.push(flags);
        body.extend_from_slice(&self.keep_alive.to_be_bytes());
        put_field(&mut body, self.client_id.as_bytes());
        if let Some(will) = &self.will {
            put_field(&mut body, will.topic.as_bytes());
            put_field(&mut body, &will.message);
        }
        put_field(&mut body, username.as_bytes());
        put_field(&mut body, password.as_bytes());
        let mut packet = vec![0x10];
        let mut len = body.len();
        loop {
            let byte = (len % 128) as u8;
            len /= 128;
            packet.push(if len > 0 { byte | 0x80 } else { byte });
            if len == 0 {
                break;
            }
        }
        packet.extend_from_slice(&body);
        packet
    }
}

/// Logins already used, remembered until they are too old to be accepted anyway.
#[derive(Debug, Default)]
struct Seen {
    signatures: HashSet<[u8; 64]>,
    /// Logins remembered per key: each key gets a bounded share of the table.
    per_key: HashMap<PublicKey, usize>,
    /// When each may be forgotten, oldest first.
    expiry: VecDeque<(Instant, PublicKey, [u8; 64])>,
}

impl Seen {
    /// Records `key`'s login `signature`; refused when it was seen before, or (with `max`
    /// remembered in all, or `per_key` for this key) when there is no room: refused rather than
    /// forgotten early.
    fn first_use(
        &mut self,
        key: PublicKey,
        signature: [u8; 64],
        keep: Duration,
        max: usize,
        per_key: usize,
    ) -> Result<(), Refusal> {
        let now = Instant::now();
        while let Some((until, k, s)) = self.expiry.front() {
            if *until > now {
                break;
            }
            self.signatures.remove(s);
            if let Some(n) = self.per_key.get_mut(k) {
                *n -= 1;
                if *n == 0 {
                    self.per_key.remove(k);
                }
            }
            self.expiry.pop_front();
        }
        if self.signatures.contains(&signature) {
            return Err(Refusal::ReplayedLogin);
        }
        let mine = self.per_key.get(&key).copied().unwrap_or(0);
        if self.signatures.len() >= max || mine >= per_key {
            return Err(Refusal::Busy);
        }
        self.signatures.insert(signature);
        *self.per_key.entry(key).or_default() += 1;
        self.expiry.push_back((now + keep, key, signature));
        Ok(())
    }
}

/// What every connection of a gate shares.
#[derive(Debug)]
struct Shared {
    policy: Policy,
    config: GateConfig,
    name: String,
    upstream: Upstream,
    seen: Mutex<Seen>,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Shared {
    /// Who a CONNECT proves to be, if the gate lets it in with what it asks for.
    fn admit(&self, c: &Connect) -> Result<Identity, Refusal> {
        let (Some(user), Some(password)) = (&c.username, &c.password) else {
            return Err(Refusal::NotAuthorized);
        };
        let skew = u64::try_from(self.config.max_skew.as_nanos()).unwrap_or(u64::MAX);
        let verified =
            login::verify(user, password, &self.name, now_ns(), skew).map_err(|e| match e {
                login::LoginError::Stale => Refusal::StaleLogin,
                _ => Refusal::NotAuthorized,
            })?;
        let who = self
            .policy
            .identity(&verified.key)
            .ok_or(Refusal::NotAuthorized)?;
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first_use(
                verified.key,
                verified.signature,
                self.config.max_skew * 2,
                self.config.max_remembered_logins,
                self.config.max_logins_per_key,
            )?;
        if !who.client_ids().contains(&c.client_id) {
            return Err(Refusal::ClientId);
        }
        if let Some(will) = &c.will {
            let retained_by_hotspot = will.retained() && matches!(who, Identity::Hotspot(_));
            if !may_publish(who, &will.topic) || retained_by_hotspot {
                return Err(Refusal::Will);
            }
        }
        Ok(who)
    }
}

/// Checks a packet from an identified client.
fn check(who: Identity, p: &Packet) -> Result<(), Refusal> {
    match p.kind {
        3 => {
            let (topic, _) = field(&p.bytes, p.body)?;
            let topic = std::str::from_utf8(topic).map_err(|_| Refusal::Malformed)?;
            if !may_publish(who, topic) {
                Err(Refusal::Publish)
            } else if p.bytes[0] & 0x01 != 0 && matches!(who, Identity::Hotspot(_)) {
                Err(Refusal::Retain)
            } else {
                Ok(())
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

async fn serve(mut client: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let first = tokio::time::timeout(shared.config.connect_timeout, read_packet(&mut client)).await;
    let connect = match first {
        Err(_) => return refused(Refusal::ConnectTimeout, peer, None),
        Ok(Ok(Some(p))) if p.kind == 1 => p,
        Ok(Ok(_)) => return,
        Ok(Err(why)) => return refused(why, peer, None),
    };
    let admitted = Connect::parse(&connect).and_then(|c| shared.admit(&c).map(|who| (c, who)));
    let (connect, who) = match admitted {
        Ok(admitted) => admitted,
        Err(why) => {
            let _ = client.write_all(&[0x20, 0x02, 0x00, why.connack()]).await;
            return refused(why, peer, None);
        }
    };
    let Ok(mut broker) = TcpStream::connect(shared.upstream.addr).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = broker.set_nodelay(true);
    let upstream_connect = connect.upstream(&shared.upstream.username, &shared.upstream.password);
    if broker.write_all(&upstream_connect).await.is_err() {
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

/// Listens on a free loopback port in front of the broker at `upstream`; returns where clients
/// connect and the name they sign their logins for. Runs until the process ends.
pub async fn start(
    upstream: Upstream,
    policy: Policy,
    config: GateConfig,
) -> std::io::Result<Gate> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let name = config.name.clone().unwrap_or_else(|| addr.to_string());
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let shared = Arc::new(Shared {
        policy,
        config,
        name: name.clone(),
        upstream,
        seen: Mutex::default(),
    });
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((client, peer)) => {
                    // Over the cap: closed at once (dropped), before reading anything.
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        refused(Refusal::TooManyConnections, peer, None);
                        continue;
                    };
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        metrics::gauge!("hexproof_gate_connections").increment(1.0);
                        serve(client, peer, shared).await;
                        metrics::gauge!("hexproof_gate_connections").decrement(1.0);
                        drop(permit);
                    });
                }
                Err(e) => {
                    tracing::warn!(%e, "broker gate: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    });
    Ok(Gate { addr, name })
}

#[cfg(test)]
mod tests {
    use hexproof_proto::Keypair;

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

    fn packet(bytes: Vec<u8>) -> Packet {
        Packet {
            kind: bytes[0] >> 4,
            body: 2,
            bytes,
        }
    }

    /// Hostile framing from a logged-in hotspot: a packet announcing more than 64 KiB, a
    /// remaining length longer than MQTT allows, a topic length pointing past the packet, a
    /// second CONNECT, a subscription hidden after an allowed one, a retained report.
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
        // Its own beacon topic passes; retained, it does not.
        let own = topics::beacons(&a);
        let mut packet = vec![0x30, (own.len() + 2 + 3) as u8];
        packet.extend_from_slice(&(own.len() as u16).to_be_bytes());
        packet.extend_from_slice(own.as_bytes());
        packet.extend_from_slice(b"abc");
        assert_eq!(check_bytes(hotspot, &packet), Ok(()));
        packet[0] |= 0x01;
        assert_eq!(check_bytes(hotspot, &packet), Err(Refusal::Retain));
    }

    #[test]
    fn each_identity_keeps_to_its_topics() {
        let a = PublicKey::from([1; 32]);
        let b = PublicKey::from([2; 32]);
        let hotspot = Identity::Hotspot(a);
        let oracle = Identity::Oracle(b);
        assert!(may_publish(hotspot, &topics::beacons(&a)));
        assert!(may_publish(hotspot, &topics::witnesses(&a)));
        assert!(may_publish(hotspot, &topics::packets(&a)));
        assert!(!may_publish(hotspot, &topics::packets(&b)));
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
        // Client ids: each identity its own.
        assert_eq!(hotspot.client_ids(), [format!("hotspot-{a}")]);
        assert_eq!(
            oracle.client_ids(),
            [
                format!("hexproof-oracle-{b}"),
                format!("hexproof-oracle-{b}-entropy"),
                format!("hexproof-oracle-{b}-router")
            ]
        );
    }

    #[test]
    fn connect_packets_parse_and_rewrite() {
        // CONNECT: MQTT 3.1.1, will (QoS 1, retained), username and password, keep-alive 17.
        let mut body = Vec::new();
        put_field(&mut body, b"MQTT");
        body.extend_from_slice(&[4, 0x80 | 0x40 | 0x20 | 0x08 | 0x04, 0, 17]);
        for f in [
            &b"hotspot-x"[..],
            b"hexproof/v1/entropy",
            b"bye",
            b"user",
            b"secret",
        ] {
            put_field(&mut body, f);
        }
        let mut bytes = vec![0x10, body.len() as u8];
        bytes.extend_from_slice(&body);
        let c = Connect::parse(&packet(bytes)).unwrap();
        let expected = Connect {
            clean_session: false,
            keep_alive: 17,
            client_id: "hotspot-x".into(),
            will: Some(Will {
                topic: topics::ENTROPY.into(),
                message: b"bye".to_vec(),
                flags: 0x28,
            }),
            username: Some("user".into()),
            password: Some(b"secret".to_vec()),
        };
        assert_eq!(c, expected);
        assert!(c.will.as_ref().unwrap().retained());
        // Rewritten for the broker: the gate's credentials, the rest unchanged.
        let up = Connect::parse(&packet(c.upstream("gate", "pw"))).unwrap();
        assert_eq!(
            up,
            Connect {
                username: Some("gate".into()),
                password: Some(b"pw".to_vec()),
                ..expected
            }
        );
        // Not 3.1.1; the reserved flag; cut short.
        let mut v5 = c.upstream("gate", "pw");
        v5[8] = 5;
        assert_eq!(Connect::parse(&packet(v5)), Err(Refusal::Protocol));
        let mut reserved = c.upstream("gate", "pw");
        reserved[9] |= 0x01;
        assert_eq!(Connect::parse(&packet(reserved)), Err(Refusal::Malformed));
        let whole = c.upstream("gate", "pw");
        for cut in 2..whole.len() {
            let mut short = whole[..cut].to_vec();
            short[1] = (cut - 2) as u8;
            assert!(Connect::parse(&packet(short)).is_err(), "cut at {cut}");
        }
    }

    fn shared(policy: Policy) -> Shared {
        Shared {
            policy,
            config: GateConfig::default(),
            name: "gate".into(),
            upstream: Upstream {
                addr: ([127, 0, 0, 1], 1).into(),
                username: "u".into(),
                password: "p".into(),
            },
            seen: Mutex::default(),
        }
    }

    fn connect_as(key: &Keypair, client_id: String, broker: &str, time_ns: u64) -> Connect {
        let (user, password) = login::credentials(key, broker, time_ns);
        Connect {
            clean_session: true,
            keep_alive: 30,
            client_id,
            will: None,
            username: Some(user),
            password: Some(password.into_bytes()),
        }
    }

    /// Logins: fresh, for this gate, once, with the identity's own client id and a will it may
    /// publish.
    #[test]
    fn a_connect_is_admitted_only_as_its_own_identity() {
        let hotspot = Keypair::from_secret([1; 32]);
        let oracle = Keypair::from_secret([2; 32]);
        let gate = shared(Policy {
            hotspots: [hotspot.public()].into(),
            oracles: [oracle.public()].into(),
        });
        // Distinct times: each login is new.
        let t = std::cell::Cell::new(now_ns());
        let now = || {
            t.set(t.get() + 1);
            t.get()
        };
        let h_id = login::hotspot_client_id(&hotspot.public());
        let ok = connect_as(&hotspot, h_id.clone(), "gate", now());
        assert_eq!(gate.admit(&ok), Ok(Identity::Hotspot(hotspot.public())));
        // The same password again, a login for another gate, one from an hour ago.
        assert_eq!(gate.admit(&ok), Err(Refusal::ReplayedLogin));
        let elsewhere = connect_as(&hotspot, h_id.clone(), "gate-2", now());
        assert_eq!(gate.admit(&elsewhere), Err(Refusal::NotAuthorized));
        let old = connect_as(&hotspot, h_id.clone(), "gate", now() - 3_600_000_000_000);
        assert_eq!(gate.admit(&old), Err(Refusal::StaleLogin));
        // The oracle's client ids, taken by the hotspot; the oracle's own two.
        for id in [
            login::oracle_client_id(&oracle.public()),
            login::oracle_entropy_client_id(&oracle.public()),
            String::new(),
        ] {
            let c = connect_as(&hotspot, id.clone(), "gate", now());
            assert_eq!(gate.admit(&c), Err(Refusal::ClientId), "{id}");
            let c = connect_as(&oracle, id.clone(), "gate", now());
            let expected = if id.is_empty() {
                Err(Refusal::ClientId)
            } else {
                Ok(Identity::Oracle(oracle.public()))
            };
            assert_eq!(gate.admit(&c), expected, "{id}");
        }
        // Wills: on a rival's topic, or retained on its own, refused; its own, plain, admitted.
        let rival = topics::witnesses(&oracle.public());
        for (topic, flags, expected) in [
            (rival.as_str(), 0x08, Err(Refusal::Will)),
            (topics::ENTROPY, 0x28, Err(Refusal::Will)),
            (
                &topics::witnesses(&hotspot.public()),
                0x28,
                Err(Refusal::Will),
            ),
            (
                &topics::witnesses(&hotspot.public()),
                0x08,
                Ok(Identity::Hotspot(hotspot.public())),
            ),
        ] {
            let mut c = connect_as(&hotspot, h_id.clone(), "gate", now());
            c.will = Some(Will {
                topic: topic.to_string(),
                message: b"junk".to_vec(),
                flags,
            });
            assert_eq!(gate.admit(&c), expected, "{topic} {flags:x}");
        }
        // No credentials; a stranger.
        let mut anonymous = connect_as(&hotspot, h_id.clone(), "gate", now());
        anonymous.password = None;
        assert_eq!(gate.admit(&anonymous), Err(Refusal::NotAuthorized));
        let stranger = connect_as(&Keypair::from_secret([9; 32]), h_id, "gate", now());
        assert_eq!(gate.admit(&stranger), Err(Refusal::NotAuthorized));
    }

    #[test]
    fn remembered_logins_expire_and_are_bounded() {
        let mut seen = Seen::default();
        let (a, b) = (PublicKey::from([1; 32]), PublicKey::from([2; 32]));
        let keep = Duration::from_millis(50);
        assert_eq!(seen.first_use(a, [1; 64], keep, 3, 2), Ok(()));
        assert_eq!(
            seen.first_use(a, [1; 64], keep, 3, 2),
            Err(Refusal::ReplayedLogin)
        );
        assert_eq!(seen.first_use(a, [2; 64], keep, 3, 2), Ok(()));
        // a has used its share; b still gets in, until the table is full.
        assert_eq!(seen.first_use(a, [3; 64], keep, 3, 2), Err(Refusal::Busy));
        assert_eq!(seen.first_use(b, [4; 64], keep, 3, 2), Ok(()));
        assert_eq!(seen.first_use(b, [5; 64], keep, 3, 2), Err(Refusal::Busy));
        std::thread::sleep(keep * 2);
        assert_eq!(seen.first_use(a, [3; 64], keep, 3, 2), Ok(()));
        assert_eq!(seen.signatures.len(), 1);
        assert_eq!(seen.per_key.len(), 1);
    }
}
