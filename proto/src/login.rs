//! Signed MQTT logins, for brokers without client certificates (the demo's embedded broker
//! behind its gate): a client authenticates as an ed25519 key by sending the key (base58) as its
//! MQTT username and, as its password, the key's signature (base58) of
//! `hexproof/mqtt-login/v1|<username>`. The password proves the key, not freshness: whoever
//! sees it on the wire can replay it, so it belongs on loopback or inside TLS. Production
//! brokers use client certificates named by the key (`scripts/broker-ca`).

use ed25519_dalek::Signature;

use crate::{Keypair, PublicKey};

const DOMAIN: &[u8] = b"hexproof/mqtt-login/v1|";

fn message(username: &str) -> Vec<u8> {
    [DOMAIN, username.as_bytes()].concat()
}

/// The (username, password) that log `key` in.
pub fn credentials(key: &Keypair) -> (String, String) {
    let username = key.public().to_string();
    let password = bs58::encode(key.sign(&message(&username))).into_string();
    (username, password)
}

/// The key a (username, password) pair proves, if it does (strict ed25519).
pub fn verify(username: &str, password: &[u8]) -> Option<PublicKey> {
    let key: PublicKey = username.parse().ok()?;
    let signature = bs58::decode(password).into_vec().ok()?;
    let signature = Signature::from_slice(&signature).ok()?;
    key.verifying_key()
        .ok()?
        .verify_strict(&message(username), &signature)
        .ok()?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_proves_its_key_and_nothing_else() {
        let a = Keypair::from_secret([1; 32]);
        let b = Keypair::from_secret([2; 32]);
        let (user, password) = credentials(&a);
        assert_eq!(verify(&user, password.as_bytes()), Some(a.public()));
        // Another key's name with a's password, a tampered password, garbage: refused.
        let (b_user, _) = credentials(&b);
        assert_eq!(verify(&b_user, password.as_bytes()), None);
        let mut tampered = password.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(verify(&user, &tampered), None);
        assert_eq!(verify("not a key", b"x"), None);
        assert_eq!(verify(&user, b""), None);
    }
}
