//! The hexproof oracle: the service an oracle operator runs.
//!
//! Data enters as signed beacon and witness reports from MQTT ([`ingest`]), is classified
//! ([`intake`]: decode, size, signature, topic) and stored ([`store`]: SQLite or PostgreSQL),
//! then judged by the proof-of-coverage rules ([`validation`], pure functions) in the
//! [`validator`] loop, with the hotspot [`registry`] and the entropy history the [`entropy`]
//! service publishes. Verdicts leave through storage (every report kept with its verdict and
//! reason) and Prometheus metrics. At each epoch's end [`rewards`] turns the valid activity into
//! token amounts, lifetime totals and a signed Merkle root; [`chain`] submits it to the Solana
//! program, claims for owners, and reads the on-chain hotspot registry. The [`explorer`] serves
//! all of it read-only: gRPC, a web map and JSON.

pub mod audit;
pub mod chain;
pub mod config;
pub mod demo;
pub mod entropy;
pub mod explorer;
pub mod ingest;
pub mod intake;
pub mod registry;
pub mod rewards;
pub mod service;
pub mod store;
pub mod validation;
pub mod validator;
