//! The agent's configuration: defaults, overridden by a TOML file, overridden by environment
//! variables (`HOTSPOT_AGENT_` prefix, `__` between levels: `HOTSPOT_AGENT_MQTT__URL`),
//! overridden by command-line flags. `config.example.toml` documents every key.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use hexproof_proto::PublicKey;
use serde::{Deserialize, Serialize};

use crate::mqtt::MqttConfig;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The hotspot's key file (Solana CLI keypair format).
    pub key: PathBuf,
    /// LoRaWAN region plan: EU868, US915, AU915, AS923_1, KR920.
    pub region: String,
    /// Antenna gain in dBi x 10, as registered on chain (limits transmit power to the region's
    /// EIRP).
    pub gain_ddbi: i32,
    /// The exact H3 resolution-12 cell the owner asserted (hex), as `hotspot-agent onboard` or
    /// `assert` printed it. The chain holds its resolution-8 parent and a commitment; the agent
    /// reveals the cell to the oracles in its signed reports. Without it no beacon or witness
    /// of this hotspot is judged valid.
    pub location: Option<String>,
    /// Oracle public keys whose entropy the agent accepts (base58).
    pub oracles: Vec<PublicKey>,
    pub mqtt: MqttConfig,
    pub beacon: BeaconConfig,
    pub outbox: OutboxConfig,
    pub radio: RadioConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BeaconConfig {
    pub enabled: bool,
    /// Time between beacons, seconds; the oracle refuses beacons sent more often.
    pub interval_secs: u64,
    /// Up to this much random delay is added to each interval, seconds.
    pub jitter_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    pub dir: PathBuf,
    /// Reports kept while the broker is unreachable; the oldest are dropped beyond it.
    pub max_reports: usize,
    /// Flush each report to the disk before it counts as stored (survives power cuts).
    pub sync: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RadioConfig {
    /// Where the Semtech packet forwarder sends its datagrams (its `server_address` and
    /// `serv_port_up`/`serv_port_down`).
    pub listen: SocketAddr,
    /// How long to wait for the forwarder's TX_ACK, milliseconds.
    pub tx_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            key: "/var/lib/hotspot-agent/hotspot.json".into(),
            region: "EU868".into(),
            gain_ddbi: 12,
            location: None,
            oracles: Vec::new(),
            mqtt: MqttConfig::default(),
            beacon: BeaconConfig::default(),
            outbox: OutboxConfig::default(),
            radio: RadioConfig::default(),
        }
    }
}

impl Default for BeaconConfig {
    fn default() -> Self {
        // Helium's IoT hotspots beacon about every 6 hours.
        BeaconConfig {
            enabled: true,
            interval_secs: 6 * 3600,
            jitter_secs: 3600,
        }
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            dir: "/var/lib/hotspot-agent/outbox".into(),
            max_reports: 10_000,
            sync: true,
        }
    }
}

impl Default for RadioConfig {
    fn default() -> Self {
        RadioConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 1680)),
            tx_timeout_ms: 5_000,
        }
    }
}

impl Config {
    /// Defaults, then the file (when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        hexproof_proto::config::load(file, "HOTSPOT_AGENT_")
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
            assert_eq!(config.region, "EU868");
            assert_eq!(config.mqtt.url, "mqtt://127.0.0.1:1883");
            jail.set_env("HOTSPOT_AGENT_MQTT__URL", "mqtts://broker:8883");
            jail.set_env("HOTSPOT_AGENT_BEACON__INTERVAL_SECS", "60");
            let config = Config::load(Some(&example)).map_err(|e| e.to_string())?;
            assert_eq!(config.mqtt.url, "mqtts://broker:8883");
            assert_eq!(config.beacon.interval_secs, 60);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn typos_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "regoin = \"EU868\"")?;
            let err = Config::load(Some(Path::new("bad.toml"))).unwrap_err();
            assert!(err.to_string().contains("regoin"), "{err}");
            assert!(Config::load(Some(Path::new("missing.toml"))).is_err());
            Ok(())
        });
    }
}
