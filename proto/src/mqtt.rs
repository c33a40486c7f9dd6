//! MQTT connection settings shared by the agent and the oracle (feature `mqtt`): one config
//! section, one way to turn it into rumqttc options (plain or TLS with rustls, credentials,
//! client certificates), and signed logins made afresh for every connection attempt
//! ([`SignedLogin`]).

use std::{
    path::PathBuf,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rumqttc::{EventLoop, MqttOptions, TlsConfiguration, Transport};
use serde::{Deserialize, Serialize};

/// Broker connection settings (`[mqtt]` in the config file).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// `mqtt://host:port` or `mqtts://host:port` (TLS); user and password may be in the URL.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Log in with the client's own key instead ([`crate::login`]): username = the key,
    /// password = a login signed for the broker of this name, made afresh for each connection
    /// attempt. For brokers without client certificates (the demo's gate names itself by its
    /// listening address); overrides `username` and `password`. Unset by default.
    pub login_broker: Option<String>,
    /// PEM CA bundle for `mqtts://`; the system's roots when absent.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and key, for brokers that authenticate clients by certificate.
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    pub keep_alive_secs: u64,
    /// Reports published but not yet acknowledged, at most.
    pub inflight: u16,
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
    /// On shutdown, keep publishing what is held (outbox, unacknowledged) for at most this long
    /// before disconnecting, milliseconds; whatever is left stays in the outbox for next time.
    pub flush_on_shutdown_ms: u64,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            url: "mqtt://127.0.0.1:1883".into(),
            username: None,
            password: None,
            login_broker: None,
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
            keep_alive_secs: 30,
            inflight: 32,
            reconnect_min_ms: 500,
            reconnect_max_ms: 30_000,
            flush_on_shutdown_ms: 3_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MqttConfigError {
    #[error("broker URL {0:?}: {1}")]
    Url(String, String),
    #[error("reading {0}: {1}")]
    File(String, std::io::Error),
}

/// The largest packet a client takes from the broker. rumqttc drops the connection on a larger
/// one, so junk larger than this (e.g. retained on the entropy topic by anyone an anonymous
/// broker lets publish) would disconnect every subscriber; brokers should refuse packets over
/// 64 KiB (`scripts/broker-ca conf` sets mosquitto's `max_packet_size`).
pub const MAX_INCOMING_PACKET: usize = 1 << 20;

/// A signed login ([`crate::login`]) put into an event loop's options before each connection
/// attempt: a password is valid for minutes and once, so a reconnect needs a new one.
#[derive(Debug, Clone)]
pub struct SignedLogin {
    key: crate::Keypair,
    broker: String,
}

impl SignedLogin {
    pub fn new(key: crate::Keypair, broker: impl Into<String>) -> Self {
        SignedLogin {
            key,
            broker: broker.into(),
        }
    }

    /// Call before each `eventloop.poll()`: when the event loop is about to connect (it has no
    /// connection), puts a login signed now into its options.
    pub fn refresh(&self, eventloop: &mut EventLoop) {
        if eventloop.network.is_none() {
            let now_ns = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
            let (user, password) = crate::login::credentials(&self.key, &self.broker, now_ns);
            eventloop.mqtt_options.set_credentials(user, password);
        }
    }
}

impl MqttConfig {
    /// The signed login of `key` when `login_broker` is set.
    pub fn signed_login(&self, key: &crate::Keypair) -> Option<SignedLogin> {
        self.login_broker
            .as_ref()
            .map(|broker| SignedLogin::new(key.clone(), broker.clone()))
    }

    /// rumqttc options for a client with this id (clean session; callers that need a persistent
    /// session turn it off).
    pub fn options(&self, client_id: &str) -> Result<MqttOptions, MqttConfigError> {
        let bad = |why: &str| MqttConfigError::Url(self.url.clone(), why.into());
        let url = url::Url::parse(&self.url).map_err(|e| bad(&e.to_string()))?;
        let tls = match url.scheme() {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => return Err(bad(&format!("scheme {other:?} is not mqtt:// or mqtts://"))),
        };
        let host = url.host_str().ok_or_else(|| bad("no host"))?;
        let port = url.port().unwrap_or(if tls { 8883 } else { 1883 });
        let mut options = MqttOptions::new(client_id, host, port);
        options
            .set_keep_alive(Duration::from_secs(self.keep_alive_secs.max(5)))
            .set_clean_session(true)
            .set_inflight(self.inflight.max(1))
            .set_max_packet_size(MAX_INCOMING_PACKET, 256 * 1024);
        let user = self
            .username
            .clone()
            .or_else(|| (!url.username().is_empty()).then(|| url.username().to_string()));
        let password = self
            .password
            .clone()
            .or_else(|| url.password().map(str::to_string));
        if let Some(user) = user {
            options.set_credentials(user, password.unwrap_or_default());
        }
        if tls {
            let read = |p: &PathBuf| {
                std::fs::read(p).map_err(|e| MqttConfigError::File(p.display().to_string(), e))
            };
            let client_auth = match (&self.client_cert_file, &self.client_key_file) {
                (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
                _ => None,
            };
            let config = match &self.ca_file {
                Some(ca) => TlsConfiguration::Simple {
                    ca: read(ca)?,
                    alpn: None,
                    client_auth,
                },
                None => TlsConfiguration::default(),
            };
            options.set_transport(Transport::tls_with_config(config));
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_credentials() {
        let mut c = MqttConfig {
            url: "mqtt://alice:secret@broker.example:1999".into(),
            ..Default::default()
        };
        let o = c.options("id").unwrap();
        assert_eq!(o.broker_address(), ("broker.example".to_string(), 1999));
        let login = o.credentials().unwrap();
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("alice", "secret")
        );
        c.url = "mqtts://broker.example".into();
        assert_eq!(c.options("id").unwrap().broker_address().1, 8883);
        c.url = "http://broker.example".into();
        assert!(matches!(c.options("id"), Err(MqttConfigError::Url(..))));
        c.url = "not a url".into();
        assert!(c.options("id").is_err());
        c.url = "mqtts://b".into();
        c.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(matches!(c.options("id"), Err(MqttConfigError::File(..))));
    }

    #[test]
    fn a_signed_login_is_made_afresh_for_each_connection() {
        let key = crate::Keypair::from_secret([7; 32]);
        let c = MqttConfig {
            login_broker: Some("gate".into()),
            ..Default::default()
        };
        assert!(MqttConfig::default().signed_login(&key).is_none());
        let login = c.signed_login(&key).unwrap();
        let mut eventloop = EventLoop::new(c.options("id").unwrap(), 8);
        let mut passwords = Vec::new();
        for _ in 0..2 {
            login.refresh(&mut eventloop);
            let l = eventloop.mqtt_options.credentials().unwrap();
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            let verified = crate::login::verify(
                &l.username,
                l.password.as_bytes(),
                "gate",
                now.as_nanos() as u64,
                60_000_000_000,
            );
            assert_eq!(verified.map(|v| v.key), Ok(key.public()));
            passwords.push(l.password);
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_ne!(passwords[0], passwords[1], "a new password each time");
    }
}
