//! The oracle's configuration: defaults, then a TOML file, then environment variables
//! (`ORACLE_` prefix, `__` between levels: `ORACLE_MQTT__URL`), then command-line flags.
//! `oracle/config.example.toml` documents every key.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use hexproof_proto::{clock::Clock, mqtt::MqttConfig};
use serde::{Deserialize, Serialize};

use hexproof_poc::{Limits, rewards::RewardConfig};

use crate::{
    chain::ChainConfig, entropy::EntropyConfig, explorer::ExplorerConfig, ingest::IngestConfig,
    quorum::QuorumConfig,
};

/// Why a second broker connection of the oracle (entropy, router) cannot be set up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConnectionError {
    #[error(
        "[mqtt] has a client certificate but [{0}] has none: the {0} connection needs a \
         certificate of its own (`scripts/broker-ca issue-oracle`), or a broker that names \
         clients by certificate gives it ingest's client id and ends one connection's session \
         whenever the other connects"
    )]
    SharedCertificate(&'static str),
    #[error("[{0}] client_cert_file and client_key_file go together")]
    HalfCertificate(&'static str),
}

/// The settings of the oracle's connection named by `section`: `mqtt` with the section's own
/// client certificate, which it must have when `mqtt` has one.
pub fn own_connection(
    section: &'static str,
    mqtt: &MqttConfig,
    cert: &Option<PathBuf>,
    key: &Option<PathBuf>,
) -> Result<MqttConfig, ConnectionError> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(MqttConfig {
            client_cert_file: Some(cert.clone()),
            client_key_file: Some(key.clone()),
            ..mqtt.clone()
        }),
        (None, None) if mqtt.client_cert_file.is_some() => {
            Err(ConnectionError::SharedCertificate(section))
        }
        (None, None) => Ok(mqtt.clone()),
        _ => Err(ConnectionError::HalfCertificate(section)),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The oracle's signing key (Solana CLI keypair format).
    pub key: PathBuf,
    /// `sqlite://PATH` (default, created when missing) or `postgres://user@host/db`.
    pub database: String,
    /// The hotspot registry file (public facts only; see `hexproof_proto::registry`), used when
    /// the registry is not read from the chain (`[chain] read_registry` with an `rpc_url`).
    pub registry_file: PathBuf,
    pub mqtt: MqttConfig,
    pub entropy: EntropyConfig,
    pub validation: Limits,
    pub ingest: IngestConfig,
    pub rewards: RewardConfig,
    pub chain: ChainConfig,
    /// The oracle set this oracle is a member of (alone by default).
    pub quorum: QuorumConfig,
    pub explorer: ExplorerConfig,
    pub router: crate::router::RouterConfig,
    /// Prometheus metrics endpoint (`/metrics`); none when absent.
    pub metrics_listen: Option<SocketAddr>,
    pub clock: ClockConfig,
}

/// Time: real by default; a simulation may run it faster (agents and oracle then need the same
/// speed and origin).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ClockConfig {
    pub speed: u32,
    /// Real instant (ns since the Unix epoch) the accelerated clock starts from; now if absent.
    pub origin_ns: Option<u64>,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            speed: 1,
            origin_ns: None,
        }
    }
}

impl ClockConfig {
    pub fn clock(&self) -> Clock {
        match (self.speed, self.origin_ns) {
            (0 | 1, _) => Clock::system(),
            (speed, Some(origin)) => Clock::accelerated_from(origin, speed),
            (speed, None) => Clock::accelerated(speed),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            key: "oracle-key.json".into(),
            database: "sqlite://oracle.db".into(),
            registry_file: "fixtures/networks/net-200.registry.json".into(),
            mqtt: MqttConfig::default(),
            entropy: EntropyConfig::default(),
            validation: Limits::default(),
            ingest: IngestConfig::default(),
            rewards: RewardConfig::default(),
            chain: ChainConfig::default(),
            quorum: QuorumConfig::default(),
            explorer: ExplorerConfig::default(),
            router: crate::router::RouterConfig::default(),
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            clock: ClockConfig::default(),
        }
    }
}

impl Config {
    /// Defaults, then the file (when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        hexproof_proto::config::load(file, "ORACLE_")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)]
    fn the_example_config_parses_and_env_overrides_it() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        figment::Jail::expect_with(|jail| {
            let config = Config::load(Some(&example)).map_err(|e| e.to_string())?;
            assert_eq!(config, Config::default());
            jail.set_env("ORACLE_DATABASE", "postgres://oracle@db/hexproof");
            jail.set_env("ORACLE_VALIDATION__MAX_WITNESSES_PER_BEACON", "10");
            let config = Config::load(Some(&example)).map_err(|e| e.to_string())?;
            assert_eq!(config.database, "postgres://oracle@db/hexproof");
            assert_eq!(config.validation.max_witnesses_per_beacon, 10);
            Ok(())
        });
    }
}
