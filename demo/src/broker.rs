//! The embedded MQTT broker of the one-command run: rumqttd on a free loopback port.

use std::time::Duration;

use rand::RngCore;

use crate::gate::Upstream;

/// The embedded broker: rumqttd on a free loopback port, in its own threads (it has no stop;
/// it ends with the process). It has no identity or ACL of its own: the demo puts
/// [`crate::gate`] in front of it, and rumqttd takes only the credentials returned here
/// (random for each run, held by the gate), so a local process that skips the gate is refused.
pub fn start_embedded_broker() -> anyhow::Result<Upstream> {
    use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let username = "hexproof-gate".to_string();
    let password = hex::encode(secret);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 100_000,
            max_outgoing_packet_count: 1_000,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            ..Default::default()
        },
        v4: Some(
            [(
                "loopback".to_string(),
                ServerSettings {
                    name: "loopback".into(),
                    listen,
                    tls: None,
                    next_connection_delay_ms: 0,
                    connections: ConnectionSettings {
                        connection_timeout_ms: 60_000,
                        max_payload_size: 1 << 20,
                        max_inflight_count: 1_000,
                        auth: Some([(username.clone(), password.clone())].into()),
                        external_auth: None,
                        dynamic_filters: true,
                    },
                },
            )]
            .into(),
        ),
        ..Default::default()
    };
    std::thread::Builder::new()
        .name("rumqttd".into())
        .spawn(move || {
            let mut broker = Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(%e, "embedded MQTT broker stopped");
            }
        })?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(listen).is_ok() {
            return Ok(Upstream {
                addr: listen,
                username,
                password,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    anyhow::bail!("the embedded broker did not come up on {listen}")
}
