//! Broker identity, set up exactly as `scripts/broker-ca` documents it for operators: mosquitto
//! with a TLS listener that requires a client certificate, takes the certificate's CN (the
//! client's public key) as its username, and applies the pattern ACL. Clients connect through
//! the same `[mqtt]` settings the agent and the oracle use (rustls, client certificate).
//!
//! A hotspot's reports on its own topics reach the oracle; a report it publishes on another
//! hotspot's topic, entropy it publishes, and other hotspots' reports it subscribes to, reach
//! nobody; a client without a certificate cannot connect. A hotspot that sends an oracle's
//! client id neither ends the oracle's connection nor takes its session (and the reports queued
//! in it); a will on another hotspot's topic, or retained on the entropy topic, is never
//! published; sockets beyond the connection cap are closed at once.

use std::{path::Path, process::Command, time::Duration};

use hexproof_fixtures::servers::{Mosquitto, free_port};
use hexproof_proto::{Keypair, PublicKey, mqtt::MqttConfig, topics};
use rumqttc::{AsyncClient, Event, Packet, QoS};

fn broker_ca(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/broker-ca");
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "broker-ca {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A connected client of `key`, subscribed to `filters`; what it receives goes to the channel.
async fn client(
    dir: &Path,
    port: u16,
    key: &PublicKey,
    filters: &[&str],
) -> (
    AsyncClient,
    tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) {
    let config = MqttConfig {
        url: format!("mqtts://127.0.0.1:{port}"),
        ca_file: Some(dir.join("ca.pem")),
        client_cert_file: Some(dir.join(format!("clients/{key}.pem"))),
        client_key_file: Some(dir.join(format!("clients/{key}.key"))),
        ..MqttConfig::default()
    };
    let options = config.options(&format!("test-{key}")).unwrap();
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    for f in filters {
        client.subscribe(*f, QoS::AtLeastOnce).await.unwrap();
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut ready = Some(ready_tx);
    let expected = filters.len();
    tokio::spawn(async move {
        let mut acked = 0;
        if expected == 0 {
            ready.take().map(|r| r.send(()));
        }
        loop {
            let event = match eventloop.poll().await {
                Ok(event) => event,
                Err(e) => {
                    eprintln!("connection ended: {e}");
                    break;
                }
            };
            match event {
                Event::Incoming(Packet::SubAck(_)) => {
                    acked += 1;
                    if acked == expected {
                        ready.take().map(|r| r.send(()));
                    }
                }
                Event::Incoming(Packet::ConnAck(_)) if expected == 0 => {
                    ready.take().map(|r| r.send(()));
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
                }
                _ => {}
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), ready_rx)
        .await
        .expect("connected and subscribed")
        .unwrap();
    (client, rx)
}

fn drain(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while let Ok(m) = rx.try_recv() {
        out.push(m);
    }
    out
}

/// A TLS listener configured by `scripts/broker-ca conf` (on loopback), certificates for the
/// hotspots `keys` and the oracle `oracle` (`issue-oracle`), and the ACL.
fn broker_for(
    dir: &Path,
    keys: &[PublicKey],
    oracle: &PublicKey,
    conf_args: &[&str],
) -> (Mosquitto, u16) {
    let d = dir.to_str().unwrap();
    broker_ca(&["init", d]);
    for key in keys {
        broker_ca(&["issue", d, &key.to_string()]);
    }
    broker_ca(&["issue-oracle", d, &oracle.to_string()]);
    broker_ca(&["acl", d, &oracle.to_string()]);
    let port = free_port();
    let conf = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/broker-ca"))
        .args(["conf", d, &port.to_string()])
        .args(conf_args)
        .output()
        .unwrap();
    assert!(conf.status.success());
    let conf = String::from_utf8(conf.stdout).unwrap().replace(
        &format!("listener {port}\n"),
        &format!("listener {port} 127.0.0.1\n"),
    );
    (Mosquitto::start_with(&conf).unwrap(), port)
}

/// What a raw client saw: a publish (topic, payload), its CONNACK, or the connection's end.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Connected,
    Message(String, Vec<u8>),
    Ended(String),
}

/// A client with certificate `name` (`clients/<name>.pem`), sending `client_id`, with a clean
/// session or not and an optional will; it does not reconnect. Its event loop runs in the
/// returned task: aborting it drops the socket without DISCONNECT (the broker then publishes
/// the will).
fn raw_client(
    dir: &Path,
    port: u16,
    name: &str,
    client_id: &str,
    clean: bool,
    will: Option<rumqttc::LastWill>,
) -> (
    AsyncClient,
    tokio::sync::mpsc::UnboundedReceiver<Seen>,
    tokio::task::JoinHandle<()>,
) {
    let config = MqttConfig {
        url: format!("mqtts://127.0.0.1:{port}"),
        ca_file: Some(dir.join("ca.pem")),
        client_cert_file: Some(dir.join(format!("clients/{name}.pem"))),
        client_key_file: Some(dir.join(format!("clients/{name}.key"))),
        ..MqttConfig::default()
    };
    let mut options = config.options(client_id).unwrap();
    options.set_clean_session(clean);
    if let Some(will) = will {
        options.set_last_will(will);
    }
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = tx.send(Seen::Connected);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send(Seen::Message(p.topic.clone(), p.payload.to_vec()));
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Seen::Ended(e.to_string()));
                    break;
                }
            }
        }
    });
    (client, rx, task)
}

/// Everything seen within `wait`.
async fn seen_within(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Seen>,
    wait: Duration,
) -> Vec<Seen> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(s)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        out.push(s);
    }
    out
}

/// Issue 27 item 9: before `use_username_as_clientid`, a hotspot sending the oracle's client id
/// ended the oracle's connection and took its persistent session: the reports queued in it were
/// dropped (the hotspot may not read them) and never reached the oracle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hotspot_cannot_take_over_an_oracles_session() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let a = Keypair::from_secret([1; 32]).public();
    let b = Keypair::from_secret([2; 32]).public();
    let oracle = Keypair::from_secret([3; 32]).public();
    let (_broker, port) = broker_for(dir, &[a, b], &oracle, &[]);
    let oracle_id = hexproof_proto::login::oracle_client_id(&oracle);
    let o_name = oracle.to_string();

    // The oracle's persistent session, subscribed to every beacon; it goes away.
    let (o, mut o_rx, o_task) = raw_client(dir, port, &o_name, &oracle_id, false, None);
    o.subscribe(topics::BEACONS_FILTER, QoS::AtLeastOnce)
        .await
        .unwrap();
    let first = seen_within(&mut o_rx, Duration::from_secs(2)).await;
    assert_eq!(first, [Seen::Connected]);
    o.disconnect().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), o_task).await;

    // Hotspot a reports (queued for the oracle); hotspot b connects with the oracle's client id.
    let (a_client, mut a_rx, _a_task) = raw_client(dir, port, &a.to_string(), "a", true, None);
    assert_eq!(
        seen_within(&mut a_rx, Duration::from_secs(2)).await,
        [Seen::Connected]
    );
    a_client
        .publish(
            topics::beacons(&a),
            QoS::AtLeastOnce,
            false,
            b"queued".to_vec(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_b, mut b_rx, _b_task) = raw_client(dir, port, &b.to_string(), &oracle_id, false, None);
    let b_seen = seen_within(&mut b_rx, Duration::from_secs(2)).await;
    assert!(
        b_seen.iter().all(|s| !matches!(s, Seen::Message(..))),
        "b was handed the oracle's messages: {b_seen:?}"
    );

    // The oracle comes back to its session: the queued report is there.
    let (_o, mut o_rx, _o_task) = raw_client(dir, port, &o_name, &oracle_id, false, None);
    let back = seen_within(&mut o_rx, Duration::from_secs(3)).await;
    assert_eq!(
        back,
        [
            Seen::Connected,
            Seen::Message(topics::beacons(&a), b"queued".to_vec())
        ],
        "the oracle's session survived b"
    );
    // b connecting again with the oracle's id while the oracle is online does not end it.
    let (_b2, mut b2_rx, _b2_task) = raw_client(dir, port, &b.to_string(), &oracle_id, false, None);
    assert_eq!(
        seen_within(&mut b2_rx, Duration::from_secs(2)).await,
        [Seen::Connected]
    );
    let after = seen_within(&mut o_rx, Duration::from_secs(1)).await;
    assert!(after.is_empty(), "the oracle was disconnected: {after:?}");
}

/// Issue 27 item 10 on mosquitto: a hotspot's will is a publish like any other, held to the
/// ACL: on another hotspot's topic or on the entropy topic (retained) it reaches nobody, and no
/// retained junk waits for the next subscriber; a will on its own topic is published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wills_keep_to_the_acl() {
    use rumqttc::LastWill;
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let a = Keypair::from_secret([1; 32]).public();
    let b = Keypair::from_secret([2; 32]).public();
    let oracle = Keypair::from_secret([3; 32]).public();
    let (_broker, port) = broker_for(dir, &[a, b], &oracle, &[]);
    let (o, mut o_rx, _o_task) = raw_client(dir, port, &oracle.to_string(), "o", true, None);
    o.subscribe("hexproof/v1/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    assert_eq!(
        seen_within(&mut o_rx, Duration::from_secs(2)).await,
        [Seen::Connected]
    );

    for (topic, retain, payload) in [
        (topics::witnesses(&b), false, &b"rival"[..]),
        (topics::ENTROPY.to_string(), true, b"entropy"),
        (topics::witnesses(&a), false, b"own"),
    ] {
        let will = LastWill::new(topic, payload.to_vec(), QoS::AtLeastOnce, retain);
        let (_a, mut a_rx, a_task) = raw_client(dir, port, &a.to_string(), "a", true, Some(will));
        assert_eq!(
            seen_within(&mut a_rx, Duration::from_secs(2)).await,
            [Seen::Connected]
        );
        // Gone without DISCONNECT: the broker publishes the will, if the ACL lets it.
        a_task.abort();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let got = seen_within(&mut o_rx, Duration::from_secs(2)).await;
    assert_eq!(
        got,
        [Seen::Message(topics::witnesses(&a), b"own".to_vec())],
        "only a's will on its own topic is published"
    );
    // No retained junk on the entropy topic for the next agent.
    let (b_client, mut b_rx, _b_task) = raw_client(dir, port, &b.to_string(), "b", true, None);
    b_client
        .subscribe(topics::ENTROPY, QoS::AtLeastOnce)
        .await
        .unwrap();
    assert_eq!(
        seen_within(&mut b_rx, Duration::from_secs(2)).await,
        [Seen::Connected]
    );
}

/// Issue 27 item 12 on mosquitto: it has no CONNECT timeout, so `scripts/broker-ca conf` caps
/// the listener's connections (`max_connections`, here 20): sockets beyond it are closed at
/// once, however they came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_beyond_the_cap_are_closed() {
    use std::io::Read;
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let oracle = Keypair::from_secret([3; 32]).public();
    let (_broker, port) = broker_for(dir, &[], &oracle, &["20"]);
    let sockets: Vec<std::net::TcpStream> = (0..30)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let closed = sockets
        .iter()
        .filter(|s| {
            let mut s: &std::net::TcpStream = s;
            s.set_nonblocking(true).unwrap();
            match s.read(&mut [0u8; 16]) {
                Ok(0) => true,
                Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                Ok(_) => false,
            }
        })
        .count();
    assert_eq!(closed, 10, "the ten sockets over the cap are closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotspots_speak_only_as_themselves_and_read_only_entropy() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let a = Keypair::from_secret([1; 32]).public();
    let b = Keypair::from_secret([2; 32]).public();
    let oracle = Keypair::from_secret([3; 32]).public();
    broker_ca(&["init", dir.to_str().unwrap()]);
    for key in [a, b, oracle] {
        broker_ca(&["issue", dir.to_str().unwrap(), &key.to_string()]);
    }
    broker_ca(&["acl", dir.to_str().unwrap(), &oracle.to_string()]);
    let port = free_port();
    let conf = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/broker-ca"))
        .args(["conf", dir.to_str().unwrap(), &port.to_string()])
        .output()
        .unwrap();
    let conf = String::from_utf8(conf.stdout).unwrap().replace(
        &format!("listener {port}\n"),
        &format!("listener {port} 127.0.0.1\n"),
    );
    let _broker = Mosquitto::start_with(&conf).unwrap();

    let (_o, mut oracle_rx) = client(
        dir,
        port,
        &oracle,
        &[
            topics::BEACONS_FILTER,
            topics::WITNESSES_FILTER,
            topics::ENTROPY,
        ],
    )
    .await;
    let (a_client, mut a_rx) = client(dir, port, &a, &["hexproof/v1/#"]).await;
    let (b_client, mut b_rx) = client(dir, port, &b, &[topics::ENTROPY]).await;

    // A's own reports; then A posing as B, and A posing as an oracle.
    for (topic, payload) in [
        (topics::beacons(&a), b"a-beacon".to_vec()),
        (topics::witnesses(&a), b"a-witness".to_vec()),
        (topics::witnesses(&b), b"a-as-b".to_vec()),
        (topics::ENTROPY.to_string(), b"a-entropy".to_vec()),
    ] {
        a_client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }
    b_client
        .publish(
            topics::beacons(&b),
            QoS::AtLeastOnce,
            false,
            b"b-beacon".to_vec(),
        )
        .await
        .unwrap();
    _o.publish(
        topics::ENTROPY,
        QoS::AtLeastOnce,
        false,
        b"oracle-entropy".to_vec(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let payloads = |v: Vec<(String, Vec<u8>)>| -> Vec<String> {
        let mut p: Vec<String> = v
            .into_iter()
            .map(|(_, p)| String::from_utf8_lossy(&p).into_owned())
            .collect();
        p.sort();
        p
    };
    assert_eq!(
        payloads(drain(&mut oracle_rx)),
        ["a-beacon", "a-witness", "b-beacon", "oracle-entropy"],
        "the oracle reads every hotspot's own reports and entropy, nothing forged"
    );
    assert_eq!(
        payloads(drain(&mut a_rx)),
        ["oracle-entropy"],
        "a hotspot subscribed to everything reads only entropy"
    );
    assert_eq!(payloads(drain(&mut b_rx)), ["oracle-entropy"]);

    // Without a certificate there is no connection at all.
    let anonymous = MqttConfig {
        url: format!("mqtts://127.0.0.1:{port}"),
        ca_file: Some(dir.join("ca.pem")),
        ..MqttConfig::default()
    };
    let (_c, mut eventloop) = AsyncClient::new(anonymous.options("anonymous").unwrap(), 8);
    let first = tokio::time::timeout(Duration::from_secs(5), eventloop.poll())
        .await
        .expect("an answer");
    assert!(
        !matches!(first, Ok(Event::Incoming(Packet::ConnAck(_)))),
        "connected without a certificate: {first:?}"
    );
}
