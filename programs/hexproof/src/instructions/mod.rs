pub mod accept_admin;
pub mod accept_hotspot;
pub mod admin;
pub mod apply_oracles;
pub mod assert_location;
pub mod buy_credits;
pub mod cancel_changes;
pub mod claim;
pub mod create_org;
pub mod create_route;
pub mod decommission_hotspot;
pub mod initialize;
pub mod onboard_hotspot;
pub mod propose_admin;
pub mod propose_oracles;
pub mod remove_route;
pub mod set_org;
pub mod set_paused;
pub mod settle_credits;
pub mod submit_epoch;
pub mod sync_ledger;
pub mod transfer_hotspot;
pub mod update_org;
pub mod update_route;

// Each module's `handler` collides under the globs; Anchor's #[program] needs the globs for
// the account structs and their generated client modules (Anchor's own template does this).
#[allow(ambiguous_glob_reexports)]
pub use accept_hotspot::*;
#[allow(ambiguous_glob_reexports)]
pub use admin::*;
#[allow(ambiguous_glob_reexports)]
pub use apply_oracles::*;
#[allow(ambiguous_glob_reexports)]
pub use assert_location::*;
#[allow(ambiguous_glob_reexports)]
pub use buy_credits::*;
#[allow(ambiguous_glob_reexports)]
pub use claim::*;
#[allow(ambiguous_glob_reexports)]
pub use create_org::*;
#[allow(ambiguous_glob_reexports)]
pub use create_route::*;
#[allow(ambiguous_glob_reexports)]
pub use decommission_hotspot::*;
#[allow(ambiguous_glob_reexports)]
pub use initialize::*;
#[allow(ambiguous_glob_reexports)]
pub use onboard_hotspot::*;
#[allow(ambiguous_glob_reexports)]
pub use remove_route::*;
#[allow(ambiguous_glob_reexports)]
pub use set_org::*;
#[allow(ambiguous_glob_reexports)]
pub use settle_credits::*;
#[allow(ambiguous_glob_reexports)]
pub use submit_epoch::*;
#[allow(ambiguous_glob_reexports)]
pub use sync_ledger::*;
#[allow(ambiguous_glob_reexports)]
pub use transfer_hotspot::*;
#[allow(ambiguous_glob_reexports)]
pub use update_org::*;
#[allow(ambiguous_glob_reexports)]
pub use update_route::*;
