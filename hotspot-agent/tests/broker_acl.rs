//! Broker identity, set up exactly as `scripts/broker-ca` documents it for operators: mosquitto
//! with a TLS listener that requires a client certificate, takes the certificate's CN (the
//! client's public key) as its username, and applies the pattern ACL. Clients connect through
//! the same `[mqtt]` settings the agent and the oracle use (rustls, client certificate).
//!
//! A hotspot's reports on its own topics reach the oracle; a report it publishes on another
//! hotspot's topic, entropy it publishes, and other hotspots' reports it subscribes to, reach
//! nobody; a client without a certificate cannot connect.

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
