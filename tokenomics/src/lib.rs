//! hexproof's token design by scenario analysis.
//!
//! A scenario file (TOML, [`scenario::Scenario`]) goes in: the deployment's token parameters
//! and the world around them (a token price path, device demand, hosts' costs and payback
//! appetite, an adversary's share of keys and how often detection finds them), named stress
//! tests and an optional two-parameter sweep. [`model::simulate`] runs the network day by
//! day over years on the deployment's own code: the emission schedule and mint cap from
//! `hexproof-commitment` (what the program enforces) and the coverage/data split with the
//! credits' peg and re-mint from `hexproof-poc`'s reward code. [`monte_carlo`] runs it many
//! times (seeded: the same figures on any machine), and [`report`] writes what comes out:
//! per-epoch quantiles and every run as CSV, fan charts, stress comparisons and a sweep heat
//! map as SVG, and one self-contained HTML report. No I/O outside [`report`].
//!
//! [`hip149`] holds Helium's published pay band for data deployers, to compare against.

pub mod hip149;
pub mod metrics;
pub mod model;
pub mod monte_carlo;
pub mod report;
pub mod scenario;

pub use metrics::{EpochMetrics, METRICS};
pub use model::{Draws, simulate};
pub use monte_carlo::{Outcome, run};
pub use scenario::Scenario;
