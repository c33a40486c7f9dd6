//! The one signing rule of the protocol.
//!
//! A signed message is signed by the key in its own signer field (`hotspot`, `witness` or
//! `oracle`). The signature covers
//!
//! ```text
//! domain || encode(message with signature = [])
//! ```
//!
//! where `domain` is the message's full protobuf name and a zero byte
//! (`"hexproof.v1.BeaconReport\0"`). The domain separates message types: a signature made for a
//! beacon never verifies as a witness, even if the two encodings happened to coincide.
//! Verification re-encodes the decoded message, so unknown fields a sender adds are not covered
//! and make the signature fail rather than ride along unsigned.

use ed25519_dalek::{Signature, VerifyingKey};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::{
    Keypair, PublicKey,
    v1::{BeaconReport, Entropy, PacketReport, WitnessReport},
};

/// A protobuf message that carries its signer's key and an ed25519 signature.
pub trait Signed: Message + Clone + Default {
    /// The message's full protobuf name, e.g. `"hexproof.v1.BeaconReport"`.
    const TYPE_NAME: &'static str;

    /// The signer's public key field (32 bytes when well formed).
    fn signer_field(&self) -> &[u8];
    fn set_signer_field(&mut self, key: PublicKey);
    fn signature_field(&self) -> &[u8];
    fn signature_field_mut(&mut self) -> &mut Vec<u8>;

    /// The exact bytes the signature covers.
    fn signing_bytes(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.signature_field_mut().clear();
        let mut out = Vec::with_capacity(Self::TYPE_NAME.len() + 1 + unsigned.encoded_len());
        out.extend_from_slice(Self::TYPE_NAME.as_bytes());
        out.push(0);
        unsigned
            .encode(&mut out)
            .expect("a Vec grows to fit any encoding");
        out
    }

    /// Sets the signer field to `key`'s public key and signs.
    fn sign(&mut self, key: &Keypair) {
        self.set_signer_field(key.public());
        let signature = key.sign(&self.signing_bytes());
        *self.signature_field_mut() = signature.to_vec();
    }

    /// Builder-style [`Signed::sign`].
    fn signed(mut self, key: &Keypair) -> Self {
        self.sign(key);
        self
    }

    /// The signer's key, checked for form (not for authenticity: see [`Signed::verify`]).
    fn signer(&self) -> Result<PublicKey, SignatureError> {
        PublicKey::try_from(self.signer_field()).map_err(|_| SignatureError::SignerLength)
    }

    /// Checks the signature against the signer field (strict ed25519: no malleable or
    /// small-order forms) and returns the signer.
    fn verify(&self) -> Result<PublicKey, SignatureError> {
        self.verify_with_id().map(|(signer, _)| signer)
    }

    /// [`Signed::verify`] and [`Signed::id`] together, encoding the message once.
    fn verify_with_id(&self) -> Result<(PublicKey, [u8; 32]), SignatureError> {
        self.verify_with_id_cached(None)
    }

    /// As [`Signed::verify_with_id`], with the signer's key already decompressed when the
    /// caller has it (decompressing a point costs about a seventh of a verification). A cached
    /// key for another signer is ignored.
    fn verify_with_id_cached(
        &self,
        cached: Option<&VerifyingKey>,
    ) -> Result<(PublicKey, [u8; 32]), SignatureError> {
        let (signer, signature) = self.signature_parts()?;
        let signing = self.signing_bytes();
        let decompressed;
        let key = match cached {
            Some(k) if k.as_bytes() == signer.as_bytes() => k,
            _ => {
                decompressed = signer
                    .verifying_key()
                    .map_err(|_| SignatureError::SignerNotOnCurve)?;
                &decompressed
            }
        };
        key.verify_strict(&signing, &signature)
            .map_err(|_| SignatureError::Invalid)?;
        Ok((
            signer,
            id_from_signing_bytes(&signing, self.signature_field()),
        ))
    }

    /// The signer and signature, checked for form, for callers that verify in batches.
    fn signature_parts(&self) -> Result<(PublicKey, Signature), SignatureError> {
        let signer = self.signer()?;
        let signature = Signature::from_slice(self.signature_field())
            .map_err(|_| SignatureError::SignatureLength(self.signature_field().len()))?;
        Ok((signer, signature))
    }

    /// The message's identity: SHA-256 of its domain and its full encoding, signature included.
    /// ed25519 signatures are deterministic, so the same report always has the same id.
    fn id(&self) -> [u8; 32] {
        id_from_signing_bytes(&self.signing_bytes(), self.signature_field())
    }
}

/// Field number of `signature` in every signed message. It is the highest, so the encoding of a
/// signed message is the encoding without it followed by this one field.
const SIGNATURE_FIELD: u32 = 15;

/// `sha256(domain || full encoding)` from the signing bytes (`domain || encoding without the
/// signature`) and the signature: the full encoding is the unsigned one with the signature field
/// appended.
fn id_from_signing_bytes(signing: &[u8], signature: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(signing);
    if !signature.is_empty() {
        let mut field = Vec::with_capacity(signature.len() + 3);
        prost::encoding::bytes::encode(SIGNATURE_FIELD, &signature.to_vec(), &mut field);
        hash.update(field);
    }
    hash.finalize().into()
}

/// Why a signed message does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signer key is not 32 bytes")]
    SignerLength,
    #[error("signer key is not an ed25519 public key")]
    SignerNotOnCurve,
    #[error("signature is {0} bytes, not 64")]
    SignatureLength(usize),
    #[error("signature does not match the message and signer")]
    Invalid,
}

macro_rules! signed {
    ($ty:ty, $name:literal, $signer:ident) => {
        impl Signed for $ty {
            const TYPE_NAME: &'static str = $name;
            fn signer_field(&self) -> &[u8] {
                &self.$signer
            }
            fn set_signer_field(&mut self, key: PublicKey) {
                self.$signer = key.to_bytes().to_vec();
            }
            fn signature_field(&self) -> &[u8] {
                &self.signature
            }
            fn signature_field_mut(&mut self) -> &mut Vec<u8> {
                &mut self.signature
            }
        }
    };
}

signed!(BeaconReport, "hexproof.v1.BeaconReport", hotspot);
signed!(WitnessReport, "hexproof.v1.WitnessReport", witness);
signed!(Entropy, "hexproof.v1.Entropy", oracle);
signed!(PacketReport, "hexproof.v1.PacketReport", hotspot);

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut in `id_from_signing_bytes` is the definition: hash of domain and the full
    /// encoding.
    #[test]
    fn id_is_the_hash_of_the_full_encoding() {
        let key = Keypair::from_secret([5; 32]);
        let b = BeaconReport {
            payload: vec![1; 40],
            timestamp_ns: 77,
            ..Default::default()
        }
        .signed(&key);
        let mut h = Sha256::new();
        h.update(b"hexproof.v1.BeaconReport\0");
        h.update(b.encode_to_vec());
        let expected: [u8; 32] = h.finalize().into();
        assert_eq!(b.id(), expected);
        assert_eq!(b.verify_with_id().unwrap().1, expected);
        let mut unsigned = b.clone();
        unsigned.signature.clear();
        let mut h = Sha256::new();
        h.update(b"hexproof.v1.BeaconReport\0");
        h.update(unsigned.encode_to_vec());
        assert_eq!(unsigned.id(), <[u8; 32]>::from(h.finalize()));
    }
}
