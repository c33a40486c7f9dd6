//! Signed MQTT logins, for brokers without client certificates (the demo's embedded broker
//! behind its gate): a client authenticates as an ed25519 key by sending the key (base58) as its
//! MQTT username and, as its password, `base58(time_ns || signature)`: the time it logged in
//! (nanoseconds since the Unix epoch, 8 bytes big-endian) and the key's signature of
//! `hexproof/mqtt-login/v2|<broker>|<username>|<time_ns, 8 bytes big-endian>`.
//!
//! The broker names itself (`<broker>`: the demo's gate uses its listening address) and
//! accepts a login only for its own name and within a few minutes of its clock, so a password
//! seen on the wire is worth nothing at another broker or later; the gate also refuses the
//! same password twice. A client therefore signs a fresh login for every connection attempt
//! (`hexproof_proto::mqtt::SignedLogin`). Production brokers use client certificates named by
//! the key instead (`scripts/broker-ca`).
//!
//! MQTT client ids are tied to identities too ([`hotspot_client_id`], [`oracle_client_id`],
//! [`oracle_entropy_client_id`]): a broker that lets an identity use only its own ids keeps
//! anyone from taking over another's session.

use ed25519_dalek::Signature;

use crate::{Keypair, PublicKey};

const DOMAIN: &[u8] = b"hexproof/mqtt-login/v2|";

/// The MQTT client id of a hotspot's agent.
pub fn hotspot_client_id(key: &PublicKey) -> String {
    format!("hotspot-{key}")
}

/// The MQTT client id of an oracle's ingest connection (a persistent session).
pub fn oracle_client_id(key: &PublicKey) -> String {
    format!("hexproof-oracle-{key}")
}

/// The MQTT client id of an oracle's entropy connection (apart from ingest, clean session).
pub fn oracle_entropy_client_id(key: &PublicKey) -> String {
    format!("hexproof-oracle-{key}-entropy")
}

/// The MQTT client id of an oracle's packet router (a persistent session of its own).
pub fn oracle_router_client_id(key: &PublicKey) -> String {
    format!("hexproof-oracle-{key}-router")
}

fn message(broker: &str, username: &str, time_ns: u64) -> Vec<u8> {
    [
        DOMAIN,
        broker.as_bytes(),
        b"|",
        username.as_bytes(),
        b"|",
        &time_ns.to_be_bytes(),
    ]
    .concat()
}

/// The (username, password) that log `key` in to the broker named `broker` at `time_ns`
/// (real time, ns since the Unix epoch).
pub fn credentials(key: &Keypair, broker: &str, time_ns: u64) -> (String, String) {
    let username = key.public().to_string();
    let signature = key.sign(&message(broker, &username, time_ns));
    let password =
        bs58::encode([&time_ns.to_be_bytes()[..], &signature[..]].concat()).into_string();
    (username, password)
}

/// A login that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Login {
    pub key: PublicKey,
    /// When the client signed it (its clock), ns since the Unix epoch.
    pub time_ns: u64,
    /// The signature: unique to this login, what a broker remembers to refuse a replay.
    pub signature: [u8; 64],
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("the username is not a public key")]
    Username,
    #[error("the password is not a signed login")]
    Malformed,
    #[error("signed too far from the broker's time")]
    Stale,
    #[error("the signature does not verify (another key, broker or time)")]
    Signature,
}

impl LoginError {
    /// Short name for counters.
    pub fn code(self) -> &'static str {
        match self {
            LoginError::Username => "bad_username",
            LoginError::Malformed => "malformed_login",
            LoginError::Stale => "stale_login",
            LoginError::Signature => "bad_login_signature",
        }
    }
}

/// The login a (username, password) pair proves to the broker named `broker` whose clock reads
/// `now_ns`, when it was signed within `max_skew_ns` of that (either way; strict ed25519).
pub fn verify(
    username: &str,
    password: &[u8],
    broker: &str,
    now_ns: u64,
    max_skew_ns: u64,
) -> Result<Login, LoginError> {
    let key: PublicKey = username.parse().map_err(|_| LoginError::Username)?;
    // 72 bytes are at most 99 base58 digits; longer is refused before decoding (whose cost
    // is the square of the length, paid before anything is verified).
    if password.len() > 99 {
        return Err(LoginError::Malformed);
    }
    let bytes = bs58::decode(password)
        .into_vec()
        .map_err(|_| LoginError::Malformed)?;
    let (Ok(time), Ok(signature)) = (
        <[u8; 8]>::try_from(bytes.get(..8).unwrap_or_default()),
        <[u8; 64]>::try_from(bytes.get(8..).unwrap_or_default()),
    ) else {
        return Err(LoginError::Malformed);
    };
    let time_ns = u64::from_be_bytes(time);
    if time_ns.abs_diff(now_ns) > max_skew_ns {
        return Err(LoginError::Stale);
    }
    key.verifying_key()
        .map_err(|_| LoginError::Username)?
        .verify_strict(
            &message(broker, username, time_ns),
            &Signature::from_bytes(&signature),
        )
        .map_err(|_| LoginError::Signature)?;
    Ok(Login {
        key,
        time_ns,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000_000_000;

    #[test]
    fn a_login_proves_its_key_and_nothing_else() {
        let a = Keypair::from_secret([1; 32]);
        let b = Keypair::from_secret([2; 32]);
        let now = 1_800_000_000 * 1_000_000_000;
        let (user, password) = credentials(&a, "gate", now);
        let login = verify(&user, password.as_bytes(), "gate", now, MIN).unwrap();
        assert_eq!((login.key, login.time_ns), (a.public(), now));
        // Another key's name with a's password, a tampered password, garbage: refused.
        let (b_user, _) = credentials(&b, "gate", now);
        assert_eq!(
            verify(&b_user, password.as_bytes(), "gate", now, MIN),
            Err(LoginError::Signature)
        );
        let mut tampered = password.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(verify(&user, &tampered, "gate", now, MIN).is_err());
        assert_eq!(
            verify("not a key", b"x", "gate", now, MIN),
            Err(LoginError::Username)
        );
        assert_eq!(
            verify(&user, b"", "gate", now, MIN),
            Err(LoginError::Malformed)
        );
        assert_eq!(
            verify(&user, b"0OIl", "gate", now, MIN),
            Err(LoginError::Malformed)
        );
    }

    /// Review of issue 27: base58 decoding costs the square of the length, and it ran before
    /// anything was verified: a 64 KiB password cost the gate a second of CPU per CONNECT.
    /// Anything longer than the longest real password is refused undecoded; no real one is.
    #[test]
    fn an_overlong_password_or_key_is_refused_before_decoding() {
        let a = Keypair::from_secret([1; 32]);
        let now = 1_800_000_000 * 1_000_000_000;
        let (user, _) = credentials(&a, "gate", now);
        let long = vec![b'z'; 64 << 10];
        assert_eq!(
            verify(&user, &long, "gate", now, MIN),
            Err(LoginError::Malformed)
        );
        let long_key = "z".repeat(64 << 10);
        assert_eq!(
            verify(&long_key, b"x", "gate", now, MIN),
            Err(LoginError::Username)
        );
        // The longest encodings of 72, 64 and 32 bytes fit the caps.
        assert!(bs58::encode([0xFF; 72]).into_string().len() <= 99);
        assert!(bs58::encode([0xFF; 64]).into_string().len() <= 88);
        let widest = bs58::encode([0xFF; 32]).into_string();
        assert!(widest.len() <= 44);
        assert!(widest.parse::<PublicKey>().is_ok());
    }

    #[test]
    fn a_login_is_bound_to_its_broker_and_its_time() {
        let a = Keypair::from_secret([1; 32]);
        let now = 1_800_000_000 * 1_000_000_000;
        let (user, password) = credentials(&a, "gate-1", now);
        let p = password.as_bytes();
        // Another broker's name: refused.
        assert_eq!(
            verify(&user, p, "gate-2", now, MIN),
            Err(LoginError::Signature)
        );
        // Within the skew either way: accepted; beyond it: refused.
        assert!(verify(&user, p, "gate-1", now + MIN, MIN).is_ok());
        assert!(verify(&user, p, "gate-1", now - MIN, MIN).is_ok());
        assert_eq!(
            verify(&user, p, "gate-1", now + MIN + 1, MIN),
            Err(LoginError::Stale)
        );
        assert_eq!(
            verify(&user, p, "gate-1", now - MIN - 1, MIN),
            Err(LoginError::Stale)
        );
        // The time is signed: moving it forward breaks the signature.
        let mut bytes = bs58::decode(&password).into_vec().unwrap();
        bytes[7] ^= 1;
        let moved = bs58::encode(bytes).into_string();
        assert_eq!(
            verify(&user, moved.as_bytes(), "gate-1", now, MIN),
            Err(LoginError::Signature)
        );
        // Extreme times do not overflow.
        assert_eq!(
            verify(&user, p, "gate-1", u64::MAX, u64::MAX / 2),
            Err(LoginError::Stale)
        );
        let (user0, zero) = credentials(&a, "gate-1", 0);
        assert!(verify(&user0, zero.as_bytes(), "gate-1", 0, 0).is_ok());
    }
}
