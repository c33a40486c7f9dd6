//! ed25519 keys: public keys shown as base58 (so a hotspot key is also a valid Solana address)
//! and key files in the Solana CLI's keypair format (a JSON array of 64 numbers: the 32-byte
//! secret followed by the 32-byte public key), written with mode 0600.

use std::{fmt, fs, io::Write, path::Path, str::FromStr};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

/// A 32-byte ed25519 public key. Displays and parses as base58.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    pub const LEN: usize = 32;

    pub fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as a curve point, for signature verification. Fails for byte strings that are not
    /// a valid compressed Edwards point.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::NotOnCurve)
    }
}

impl From<[u8; 32]> for PublicKey {
    fn from(bytes: [u8; 32]) -> Self {
        PublicKey(bytes)
    }
}

impl TryFrom<&[u8]> for PublicKey {
    type Error = KeyError;
    fn try_from(bytes: &[u8]) -> Result<Self, KeyError> {
        <[u8; 32]>::try_from(bytes)
            .map(PublicKey)
            .map_err(|_| KeyError::Length(bytes.len()))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).into_string())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        // 32 bytes are at most 44 base58 digits: anything longer is refused before decoding
        // (base58 decoding costs the square of the length).
        if s.len() > 44 {
            return Err(KeyError::Base58(s.chars().take(64).collect()));
        }
        let mut bytes = [0u8; 32];
        let n = bs58::decode(s)
            .onto(&mut bytes)
            .map_err(|_| KeyError::Base58(s.chars().take(64).collect()))?;
        if n != 32 {
            return Err(KeyError::Length(n));
        }
        Ok(PublicKey(bytes))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why bytes or text are not a public key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("a public key is 32 bytes, got {0}")]
    Length(usize),
    #[error("not base58: {0:?}")]
    Base58(String),
    #[error("32 bytes that are not an ed25519 public key (not a curve point)")]
    NotOnCurve,
}

/// An ed25519 keypair: a hotspot's, an owner's or an oracle's.
#[derive(Clone)]
pub struct Keypair(SigningKey);

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        write!(f, "Keypair({})", self.public())
    }
}

impl Keypair {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        Keypair(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// The key for a 32-byte secret seed (deterministic; fixtures use it).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Keypair(SigningKey::from_bytes(&secret))
    }

    pub fn secret(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// The 64 bytes of the Solana CLI keypair format: secret, then public key.
    pub fn to_keypair_bytes(&self) -> [u8; 64] {
        self.0.to_keypair_bytes()
    }

    /// Parses the 64 bytes of the Solana CLI keypair format, checking that the public half
    /// belongs to the secret half.
    pub fn from_keypair_bytes(bytes: &[u8]) -> Result<Self, KeyFileError> {
        let bytes: &[u8; 64] = bytes
            .try_into()
            .map_err(|_| KeyFileError::Length(bytes.len()))?;
        SigningKey::from_keypair_bytes(bytes)
            .map(Keypair)
            .map_err(|_| KeyFileError::Mismatch)
    }

    /// Reads a key file in the Solana CLI format. The file must not be readable by group or
    /// others (mode 0600 or stricter), as the Solana CLI and ssh also insist.
    pub fn read_file(path: &Path) -> Result<Self, KeyFileError> {
        let at = |e: KeyFileError| e.at(path);
        let meta = fs::metadata(path).map_err(|e| at(KeyFileError::Io(e)))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(at(KeyFileError::Permissions(mode)));
            }
        }
        if meta.len() > 4096 {
            return Err(at(KeyFileError::TooLarge(meta.len())));
        }
        let text = fs::read_to_string(path).map_err(|e| at(KeyFileError::Io(e)))?;
        let bytes: Vec<u8> =
            serde_json::from_str(&text).map_err(|e| at(KeyFileError::Json(e.to_string())))?;
        Self::from_keypair_bytes(&bytes).map_err(at)
    }

    /// Writes the key to a new file with mode 0600, in the Solana CLI's exact text format.
    /// Refuses to overwrite an existing file: losing a hotspot key loses its rewards.
    pub fn write_new_file(&self, path: &Path) -> Result<(), KeyFileError> {
        let at = |e: KeyFileError| e.at(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| at(KeyFileError::Io(e)))?;
        }
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| at(KeyFileError::Io(e)))?;
        let text = serde_json::to_string(&self.to_keypair_bytes().to_vec())
            .map_err(|e| at(KeyFileError::Json(e.to_string())))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| at(KeyFileError::Io(e)))
    }
}

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the key file is readable by others (mode {0:o}); run `chmod 600` on it, a leaked key \
         lets anyone report as this hotspot"
    )]
    Permissions(u32),
    #[error("a key file is a few hundred bytes, this one has {0}")]
    TooLarge(u64),
    #[error("not a JSON array of 64 numbers from 0 to 255 (Solana CLI keypair format): {0}")]
    Json(String),
    #[error("a keypair is 64 bytes (32 secret + 32 public), got {0}")]
    Length(usize),
    #[error("the public half does not belong to the secret half")]
    Mismatch,
    #[error("{path}: {source}")]
    At {
        path: String,
        #[source]
        source: Box<KeyFileError>,
    },
}

impl KeyFileError {
    fn at(self, path: &Path) -> Self {
        KeyFileError::At {
            path: path.display().to_string(),
            source: Box::new(self),
        }
    }

    /// The error without the path it happened at.
    pub fn kind(&self) -> &KeyFileError {
        match self {
            KeyFileError::At { source, .. } => source.kind(),
            other => other,
        }
    }
}

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "kind", "lively", "merry",
    "nimble", "proud", "quiet", "rapid", "shy", "witty",
];
const COLOURS: &[&str] = &[
    "amber", "azure", "coral", "crimson", "ebony", "golden", "hazel", "indigo", "ivory", "jade",
    "lilac", "ochre", "olive", "ruby", "silver", "teal",
];
const ANIMALS: &[&str] = &[
    "badger", "bison", "crane", "falcon", "ferret", "gecko", "heron", "ibex", "lynx", "marten",
    "moose", "otter", "owl", "panda", "raven", "wombat",
];

/// A readable name derived from a public key ("brave-amber-otter"): what maps and tables show
/// next to the base58 key. Not unique (4,096 names); never an identity.
pub fn animal_name(key: &PublicKey) -> String {
    let h = sha2::Sha256::digest(key.as_bytes());
    format!(
        "{}-{}-{}",
        ADJECTIVES[(h[0] & 15) as usize],
        COLOURS[(h[1] & 15) as usize],
        ANIMALS[(h[2] & 15) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58_round_trip_and_errors() {
        let key = Keypair::from_secret([1; 32]).public();
        assert_eq!(key.to_string().parse::<PublicKey>(), Ok(key));
        assert_eq!(
            "11111111111111111111111111111111".parse::<PublicKey>(),
            Ok(PublicKey::from([0; 32]))
        );
        assert!(matches!(
            "0OIl".parse::<PublicKey>(),
            Err(KeyError::Base58(_))
        ));
        // 31 bytes of base58.
        let short = bs58::encode([9u8; 31]).into_string();
        assert_eq!(short.parse::<PublicKey>(), Err(KeyError::Length(31)));
        assert_eq!(
            PublicKey::try_from(&[0u8; 33][..]),
            Err(KeyError::Length(33))
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let kp = Keypair::from_secret([0xAB; 32]);
        let shown = format!("{kp:?}");
        assert!(shown.contains(&kp.public().to_string()));
        assert!(!shown.contains("171")); // 0xAB as a number
    }
}
