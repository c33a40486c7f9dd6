//! The explorer: what the oracle decided and why, read-only, for explorers, wallets and owners.
//!
//! Data enters from the store (reports with verdicts, closed epochs) and the registry; the live
//! [`follower`] turns each final verdict the store announces into an update of the in-memory
//! [`index`] and an event for watchers. [`queries`] answers every request as plain values
//! ([`views`]); they leave through the gRPC service ([`grpc`], tonic, with server reflection;
//! the only place that builds protobuf messages) and the web map with its JSON API ([`web`]).
//! Nothing here writes.
//!
//! The explorer is public, so it has limits ([`ExplorerConfig`]): each server takes a bounded
//! number of requests at once and refuses the next at once (tower's global concurrency limit
//! and load shedding), lets no client hold more than its share of the costly places
//! ([`clients`]), times requests out, reads the database through a small pool of its own
//! so ingest and judging keep theirs, and takes a bounded number of live streams. Closed epochs
//! are kept built ([`cache`]); lists, hexes included, come in pages.

pub mod cache;
pub mod clients;
mod follower;
pub mod grpc;
mod hotspots;
pub mod index;
pub mod queries;
pub mod views;
pub mod web;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use h3o::{CellIndex, Resolution};
use hexproof_proto::PublicKey;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::{
    registry::Registry,
    store::{ReportView, Store, StoreError},
};

pub use hotspots::in_cell;
pub use queries::Explorer;

/// `[explorer]` in the oracle's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExplorerConfig {
    /// gRPC API address; none to switch it off.
    pub grpc_listen: Option<SocketAddr>,
    /// Web map and JSON API address; none to switch it off.
    pub http_listen: Option<SocketAddr>,
    /// Requests each server (gRPC, HTTP) works on at once; one more is refused at once
    /// (`RESOURCE_EXHAUSTED`, HTTP 503), not queued. Live streams count only while they open.
    pub max_concurrent: usize,
    /// Of those, what one client (an IPv4 address or IPv6 /56) has under way; its next is
    /// refused the same way while other clients are served.
    pub max_concurrent_per_client: usize,
    /// Of those, requests that read the database or sum more than a page of hotspots, both
    /// servers together; one more is refused the same way.
    pub max_heavy: usize,
    /// Of `max_heavy`, what one client (an IPv4 address or IPv6 /56) holds at once; its next
    /// is refused the same way while others are served.
    pub max_heavy_per_client: usize,
    /// A request not answered within this is ended (`DEADLINE_EXCEEDED`, HTTP 503); only the
    /// opening of a live stream is timed.
    pub request_timeout_ms: u64,
    /// Live streams open at once, `WatchVerdicts` and `/api/events` together; one more is
    /// refused (`RESOURCE_EXHAUSTED`, HTTP 503). A stream that closes frees its place.
    pub max_watchers: usize,
    /// Of `max_watchers`, what one client holds at once.
    pub max_watchers_per_client: usize,
    /// Connections of the explorer's own database pool (ingest and judging have theirs).
    pub db_connections: u32,
    /// Closed epochs kept in memory with their reward trees (`GetEpoch`, `GetRewardProof`).
    pub epoch_cache: usize,
    /// How old the report count of `GetNetworkStats` may be.
    pub stats_ttl_ms: u64,
    /// The finest H3 resolution a location is served at (0–8, default 8, cells of about
    /// 0.7 km²; a finer value is served as 8, the finest the chain holds): hotspots' locations, hex pages, map cells and live events are given as the
    /// cell at this resolution that holds the asserted one, and a query for a finer cell is
    /// refused (it would tell whether a hotspot stands in it). The oracles judge on the exact
    /// cell; this only limits what the public explorer serves.
    pub public_resolution: u8,
}

impl Default for ExplorerConfig {
    fn default() -> Self {
        ExplorerConfig {
            grpc_listen: Some(SocketAddr::from(([127, 0, 0, 1], 50051))),
            http_listen: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
            max_concurrent: 128,
            max_concurrent_per_client: 32,
            max_heavy: 8,
            max_heavy_per_client: 2,
            request_timeout_ms: 5_000,
            max_watchers: 256,
            max_watchers_per_client: 16,
            db_connections: 2,
            epoch_cache: 4,
            stats_ttl_ms: 2_000,
            public_resolution: 8,
        }
    }
}

impl ExplorerConfig {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms.max(1))
    }

    /// [`ExplorerConfig::public_resolution`] as an H3 resolution, at most 8 (the finest the
    /// chain holds); a value past 15 is served as the coarsest (0): a typo never turns the
    /// protection off.
    pub fn public_resolution(&self) -> Resolution {
        Resolution::try_from(self.public_resolution)
            .unwrap_or(Resolution::Zero)
            .min(hexproof_proto::location::PUBLIC_RESOLUTION)
    }
}

/// `cell` as the public may see it: its parent at `public` when it is finer.
pub fn public_cell(cell: CellIndex, public: Resolution) -> CellIndex {
    if cell.resolution() > public {
        cell.parent(public).unwrap_or(cell)
    } else {
        cell
    }
}

/// An H3 cell from a public request, no finer than `public`.
pub fn parse_public_cell(s: &str, public: Resolution) -> Result<CellIndex> {
    let cell = parse_cell(s)?;
    if cell.resolution() > public {
        return Err(bad(format!(
            "cell {s} is at resolution {}, finer than the public resolution {}: hotspots' \
             exact locations are not served",
            u8::from(cell.resolution()),
            u8::from(public)
        )));
    }
    Ok(cell)
}

/// Page sizes: the default when a request asks for 0, and the most one may ask for.
pub const DEFAULT_PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    /// A limit of [`ExplorerConfig`] is reached: try again later.
    #[error("{0}")]
    Busy(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, QueryError>;

fn bad(msg: impl Into<String>) -> QueryError {
    QueryError::InvalidArgument(msg.into())
}

/// A base58 hotspot key from a request.
pub fn parse_key(s: &str) -> Result<PublicKey> {
    if s.is_empty() {
        return Err(bad("a hotspot key is required"));
    }
    s.parse()
        .map_err(|_| bad(format!("{s:?} is not a base58 ed25519 public key")))
}

/// An H3 cell from a request (the usual hex string).
pub fn parse_cell(s: &str) -> Result<CellIndex> {
    s.parse()
        .map_err(|_| bad(format!("{s:?} is not an H3 cell index")))
}

fn page_size(n: u32) -> Result<usize> {
    match n {
        0 => Ok(DEFAULT_PAGE as usize),
        n if n > MAX_PAGE => Err(bad(format!("page_size {n} is above {MAX_PAGE}"))),
        n => Ok(n as usize),
    }
}

/// A final verdict as watchers receive it, with where its hotspot is asserted.
#[derive(Debug, Clone)]
pub struct LiveVerdict {
    pub view: ReportView,
    pub location: Option<CellIndex>,
    /// Its server-sent event's data, written once for every `/api/events` stream.
    sse: std::sync::OnceLock<String>,
}

impl LiveVerdict {
    /// A verdict for the public live streams: its hotspot's location at the `public`
    /// resolution, and without the signal it measured (RSSI, SNR, frequency): a live feed of
    /// those would let a copier forge receptions that match an honest hotspot's and frame it.
    /// They are served with the report once its epoch has closed (`ListReports`).
    pub fn new(
        mut view: ReportView,
        location: Option<CellIndex>,
        public: Resolution,
    ) -> LiveVerdict {
        // The rule's detail states distances and signal: never public (`list_reports`).
        view.detail = None;
        view.rssi_ddbm = None;
        view.snr_ddb = None;
        view.frequency_hz = None;
        LiveVerdict {
            view,
            location: location.map(|c| public_cell(c, public)),
            sse: std::sync::OnceLock::new(),
        }
    }
}

/// Starts the explorer's servers (those configured) and its follower; they stop at `shutdown`.
pub async fn start(
    config: &ExplorerConfig,
    store: Store,
    registry: Arc<dyn Registry>,
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: CancellationToken,
) -> anyhow::Result<Arc<Explorer>> {
    // Reads go through a pool of their own, waiting for a connection no longer than a request
    // may take: a flood of explorer queries cannot take ingest's connections.
    let reader = store
        .reader(config.db_connections, config.request_timeout())
        .await?;
    let (explorer, verdicts) =
        Explorer::load_with(reader, registry, config.clone(), shutdown.clone()).await?;
    tasks.spawn(explorer.clone().follow(verdicts, shutdown.clone()));
    if let Some(addr) = config.grpc_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("gRPC explorer on {addr}: {e}"))?;
        tracing::info!(addr = %listener.local_addr()?, "explorer gRPC listening");
        tasks.spawn(grpc::serve(explorer.clone(), listener, shutdown.clone()));
    }
    if let Some(addr) = config.http_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("web map on {addr}: {e}"))?;
        tracing::info!(addr = %listener.local_addr()?, "explorer web map on http://{}", listener.local_addr()?);
        tasks.spawn(web::serve(explorer.clone(), listener, shutdown.clone()));
    }
    Ok(explorer)
}
