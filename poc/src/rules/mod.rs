//! The per-report rules: pure functions from a report and what the oracle knows about it
//! (registry, entropy history, the beacon a witness heard) to `Ok` or an [`crate::Invalid`]
//! with its [`crate::Reason`] and a sentence for the owner. The caller gathers the context.

pub mod beacon;
pub mod witness;
