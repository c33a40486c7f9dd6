//! The pure core of hexproof's proof of coverage: everything that decides what a report is
//! worth, and nothing that touches a socket, a file or a database.
//!
//! Data enters as values the caller gathered — reports ([`Report`]), the registry's view of
//! hotspots ([`HotspotInfo`]), the entropy history ([`EntropyRecord`]), [`Limits`] — and leaves
//! as verdicts ([`Verdict`], with a [`Reason`] for every rejection) and, per epoch, rewards,
//! lifetime amounts and a signed Merkle commitment ([`rewards`]).
//!
//! - [`rules`]: the per-report beacon and witness rules, one [`Reason`] each.
//! - [`judge`]: a beacon with its witnesses: the rules, duplicates, and [`selection`] of the
//!   witnesses that earn.
//! - [`detect`]: what a whole epoch of receptions says about a hotspot that no single report
//!   can (signal against asserted geometry, one radio behind several keys, beacons nobody
//!   nearby hears), as findings with evidence that suspend the hotspot for the epoch.
//! - [`packets`]: the packet path's rules: what a device's uplink is, which route owns it,
//!   and which hotspots' copies the router buys.
//! - [`rewards`]: what an epoch's verdicts earn ([`rewards::activity`]), hex density scaling
//!   ([`rewards::density`], HIP-17), the reward split and the closed epoch
//!   ([`rewards::epoch`]).
//!
//! Every function here is deterministic: the same inputs give the same verdicts, rewards and
//! root on any machine, which is what lets independent oracles agree and anyone re-check an
//! epoch. Integers only wherever a result is committed.

pub mod detect;
pub mod explain;
pub mod judge;
pub mod limits;
pub mod model;
pub mod packets;
pub mod reason;
pub mod rewards;
pub mod rules;
pub mod selection;
#[cfg(test)]
pub(crate) mod testkit;

pub use limits::Limits;
pub use model::{EntropyRecord, HotspotInfo, Kind, Placed, Report, Status, Verdict, distance_m};
pub use reason::{Invalid, Reason};

pub(crate) const NS_PER_SEC: u64 = 1_000_000_000;
