//! The hotspot registry file an operator can give the oracle instead of reading the on-chain
//! registry: each hotspot's key, owner, exact asserted H3 cell, antenna and region plan. The
//! exact cells are private (the chain holds only resolution-8 cells and commitments: give the
//! file to the oracles only). No secret key ever goes in it (the fixture generator writes one beside each
//! test network, whose own file carries test secrets).
//!
//! JSON: `{"hotspots": [{"pubkey": "…", "owner": "…", "location": "8c1f…", "gain_ddbi": 30,
//! "elevation_m": 8, "region": "EU868", "asserted_at_ns": 0}, …]}`.

use serde::{Deserialize, Serialize};

use crate::PublicKey;

/// One registered hotspot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryEntry {
    pub pubkey: PublicKey,
    pub owner: PublicKey,
    /// Asserted location: an H3 resolution-12 cell index (hex string).
    pub location: String,
    /// Antenna gain, dBi × 10.
    pub gain_ddbi: i32,
    /// Antenna height above ground, metres.
    pub elevation_m: i32,
    /// LoRaWAN region plan name ("EU868", "US915", …).
    pub region: String,
    /// When the location was asserted, ns since the Unix epoch (0: long ago).
    #[serde(default)]
    pub asserted_at_ns: u64,
}

/// A registry file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    pub hotspots: Vec<RegistryEntry>,
}

/// Why a registry file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RegistryFileError {
    #[error("reading registry file {0}: {1}")]
    Io(String, std::io::Error),
    #[error("registry file {0}: {1}")]
    Json(String, serde_json::Error),
}

impl RegistryFile {
    /// The file text: pretty JSON with a final newline, the same bytes on every machine.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a registry always serializes");
        text.push('\n');
        text
    }

    pub fn load(path: &std::path::Path) -> Result<RegistryFile, RegistryFileError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| RegistryFileError::Io(shown.clone(), e))?;
        serde_json::from_str(&text).map_err(|e| RegistryFileError::Json(shown, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_unknown_fields() {
        let file = RegistryFile {
            hotspots: vec![RegistryEntry {
                pubkey: PublicKey::from([1; 32]),
                owner: PublicKey::from([2; 32]),
                location: "8c1f1d4a6c6c1ff".into(),
                gain_ddbi: 30,
                elevation_m: 8,
                region: "EU868".into(),
                asserted_at_ns: 0,
            }],
        };
        let text = file.to_json();
        assert_eq!(serde_json::from_str::<RegistryFile>(&text).unwrap(), file);
        // A fixture entry (with a secret) is not a registry entry.
        let with_secret = text.replace("\"gain_ddbi\"", "\"secret\": \"00\", \"gain_ddbi\"");
        assert!(serde_json::from_str::<RegistryFile>(&with_secret).is_err());
    }
}
