//! The hexproof oracle: the service an oracle operator runs.
//!
//! Data enters as signed beacon and witness reports from MQTT ([`ingest`]: a persistent
//! session), is classified ([`classify`]: decode, size, signature, topic) and stored
//! ([`store`]: SQLite or PostgreSQL, every query of the oracle), then judged in the [`judging`]
//! loop by the pure proof-of-coverage rules of [`hexproof_poc`], with the hotspot [`registry`]
//! (a registry file or the chain) and the entropy history the [`entropy`] service publishes.
//! Verdicts leave through storage (every report kept with its verdict and reason) and
//! Prometheus metrics. At each epoch's end [`epochs`] tallies the verdicts, lets
//! [`hexproof_poc::rewards`] turn them into token amounts, lifetime totals and a signed Merkle
//! root, and hands it to [`chain`] (submission, relayed claims). The [`explorer`] serves all of
//! it read-only: gRPC, a web map and JSON. In an oracle set, [`quorum`] replaces the lone
//! close: the members agree on each epoch's inputs over gRPC and land it with M signatures.
//! The [`router`] buys hotspots' copies of devices' packets for the routes that own them,
//! signs a receipt for each and forwards them to the routes' network servers. The [`maker`]
//! (`oracle maker`, a separate service a hardware maker runs) pays for its hotspots' owners'
//! transactions so that they need no SOL. [`audit`]
//! exports and re-judges recorded reports;
//! [`service`] wires the tasks of `oracle run` together; [`crash`] holds the named crash
//! points fault-injection tests arm.

pub mod audit;
pub mod chain;
pub mod classify;
pub mod config;
pub mod crash;
pub mod entropy;
pub mod epochs;
pub mod explorer;
pub mod ingest;
pub mod judging;
pub mod maker;
pub mod quorum;
pub mod registry;
pub mod router;
pub mod service;
pub mod store;
