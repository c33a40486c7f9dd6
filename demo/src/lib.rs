//! The whole hexproof system in one process, for a first look and for end-to-end tests: an MQTT
//! broker (the embedded [`broker`], or any broker by URL), the oracle (`oracle::service`) on
//! SQLite (or PostgreSQL), every hotspot of a fixture network as an agent on the simulated
//! radio medium, and a Solana runtime (embedded, or an RPC URL) where [`chain`] onboards the
//! hotspots and initializes the program; the oracle submits each epoch and claims for owners.
//!
//! Data enters as [`DemoOptions`] (the `hexproof-demo` command line) and a fixture network
//! file; it leaves as an [`EpochReport`] per closed epoch and a [`DemoSummary`], which accounts
//! by report id for everything the broker acknowledged to the hotspots.
//!
//! [`scorecard`] runs an anti-gaming scenario twice (with and without its adversaries) and
//! scores what the oracle paid and found. [`payer`] buys the orgs' data credits with tokens
//! their owners earned (an honest org's top-ups, a wash trader's everything). [`newcomer`] is
//! one owner's journey: a hotspot onboarded and claimed through the agent and a maker, its
//! owner holding no SOL.
//!
//! Nothing here is part of the production oracle: the `oracle` binary links none of it.

pub mod broker;
pub mod chain;
pub mod gate;
pub mod lns;
pub mod newcomer;
pub mod payer;
pub mod report;
pub mod run;
pub mod scorecard;

pub use run::{DemoOptions, DemoSummary, EpochReport, MediumModel, print_epoch, run};
