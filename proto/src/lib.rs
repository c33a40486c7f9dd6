//! The hexproof wire protocol, shared by every part of the system.
//!
//! - [`v1`]: the protobuf messages (generated from `proto/hexproof/v1/*.proto` at build time, with
//!   a pure-Rust compiler, so no system `protoc` is needed), and with the `grpc` feature the
//!   explorer service's tonic client and server.
//! - [`signing`]: the one signing rule. A signature covers the message's domain tag followed by
//!   the message encoded with its signature field empty; agent and oracle both call this module.
//! - [`keys`]: ed25519 keys shown as base58 (valid Solana addresses) and key files in the Solana
//!   CLI's keypair format.
//! - [`topics`]: the MQTT topic names agents publish to and the oracle subscribes to.
//! - [`uplink`]: which frames a hotspot forwards as packet reports (LoRaWAN uplinks).
//! - [`clock`]: time in ns since the Unix epoch, real or accelerated for simulations.
//! - `mqtt` (feature `mqtt`): broker connection settings shared by agent and oracle.
//! - [`entropy`]: whose an entropy id is (the signer's position in the set, in the low byte).
//! - [`beacon`]: the beacon packet, derived from oracle entropy so the oracle can re-derive it.
//! - [`region`]: LoRaWAN region plans (channels, data rates, EIRP limits).
//! - [`location`]: the salted commitment the chain holds in place of a hotspot's exact cell, and
//!   the reveal its reports carry to the oracles.
//! - [`registry`]: the hotspot registry file an operator may give the oracle (exact cells: for the oracles only).
//! - [`maker`]: the maker's API (a maker pays for an owner's transactions) and the check an
//!   agent makes of every message before it signs one.
//! - [`rf`]: radio physics both sides agree on (free-space path loss in integers, noise floor,
//!   demodulation limits, the simulator's log-distance model).
//!
//! Data enters as bytes off the network or a file ([`prost::Message::decode`], [`keys::Keypair::read_file`])
//! and leaves as bytes ([`prost::Message::encode_to_vec`], [`keys::Keypair::write_new_file`]). Nothing
//! here does I/O except the key-file functions.

pub mod beacon;
pub mod clock;
#[cfg(feature = "config")]
pub mod config;
pub mod entropy;
pub mod keys;
pub mod location;
pub mod login;
pub mod maker;
#[cfg(feature = "mqtt")]
pub mod mqtt;
pub mod receipts;
pub mod region;
pub mod registry;
pub mod rf;
pub mod signing;
pub mod topics;
pub mod uplink;

pub use keys::{Keypair, PublicKey};
pub use signing::{SignatureError, Signed};

/// Messages and services of the `hexproof.v1` protobuf package.
#[allow(
    missing_docs,
    clippy::doc_lazy_continuation,
    clippy::large_enum_variant
)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/hexproof.v1.rs"));
}

/// The encoded `FileDescriptorSet` of every `.proto` file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/hexproof_descriptor.bin"));
