//! `mqtts://` with a client certificate: the agent publishes through a mosquitto TLS listener
//! that requires clients to present a certificate signed by the test CA. Certificates are made
//! with the `openssl` command.

mod common;

use std::{path::Path, process::Command, time::Duration};

use common::*;
use hexproof_fixtures::servers::{Mosquitto, Subscriber, free_port};
use hexproof_proto::{Signed, topics, v1::WitnessReport};
use prost::Message;

/// Runs `openssl` with whitespace-separated arguments in `dir`.
fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args.split_whitespace())
        .output()
        .expect("openssl");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openssl {args}: {err}");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
fn make_certificates(dir: &Path) {
    openssl(
        dir,
        "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=ca",
    );
    for (name, cn) in [("server", "127.0.0.1"), ("client", "hotspot")] {
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        openssl(
            dir,
            &format!(
                "req -newkey rsa:2048 -nodes -keyout {name}.key -out {name}.csr -subj /CN={cn}"
            ),
        );
        openssl(
            dir,
            &format!(
                "x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out {name}.pem -days 2 -extfile san.ext"
            ),
        );
    }
    // mosquitto started as root reads its certificates after dropping to its own user.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}

#[test]
fn agent_publishes_over_tls_with_a_client_certificate() {
    let certs = tempfile::tempdir().unwrap();
    make_certificates(certs.path());
    let tls_port = free_port();
    let c = |f: &str| certs.path().join(f).display().to_string();
    let broker = Mosquitto::start_with(&format!(
        "listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
        c("ca.pem"), c("server.pem"), c("server.key")
    ))
    .unwrap();
    // The subscriber uses the plain listener; messages cross listeners.
    let sub = Subscriber::start(&broker, "hexproof/v1/#").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let udp_port = free_udp_port();
    let url = format!("mqtts://127.0.0.1:{tls_port}");
    // The certificates come through the environment, which overrides the config file.
    let mut agent = AgentProcess::start_with_env(
        &AgentSetup {
            dir: dir.path(),
            broker: &url,
            udp_port,
            oracles: vec![],
            beacon_interval_secs: 3600,
            beacon_enabled: false,
        },
        &[
            ("HOTSPOT_AGENT_MQTT__CA_FILE", c("ca.pem")),
            ("HOTSPOT_AGENT_MQTT__CLIENT_CERT_FILE", c("client.pem")),
            ("HOTSPOT_AGENT_MQTT__CLIENT_KEY_FILE", c("client.key")),
        ],
    );
    let mut fwd = Forwarder::connect(udp_port);
    fwd.pull_data(Duration::from_secs(10));
    let heard = beacon_packet(42);
    fwd.push_rxpk(&rxpk(&heard, 868.3, -99, 1.5));
    let topic = topics::witnesses(&agent.pubkey);
    let messages = sub.wait_for(Duration::from_secs(15), |m| {
        m.iter().any(|m| m.topic == topic)
    });
    let w = messages
        .iter()
        .find(|m| m.topic == topic)
        .unwrap_or_else(|| panic!("no witness over TLS\n{}", agent.log()));
    let w = WitnessReport::decode(w.payload.as_slice()).unwrap();
    assert_eq!(w.verify(), Ok(agent.pubkey));
    assert_eq!(w.payload, heard);
    assert!(agent.is_running());
}
