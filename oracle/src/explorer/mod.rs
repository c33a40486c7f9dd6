//! The explorer: what the oracle decided and why, read-only, for explorers, wallets and owners.
//!
//! Data enters from the store (reports with verdicts, closed epochs) and the registry; the live
//! [`follower`] turns each final verdict the store announces into an update of the in-memory
//! [`index`] and an event for watchers. [`queries`] answers every request as plain values
//! ([`views`]); they leave through the gRPC service ([`grpc`], tonic, with server reflection;
//! the only place that builds protobuf messages) and the web map with its JSON API ([`web`]).
//! Nothing here writes.

mod follower;
pub mod grpc;
mod hotspots;
pub mod index;
pub mod queries;
pub mod views;
pub mod web;

use std::{net::SocketAddr, sync::Arc};

use h3o::CellIndex;
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
}

impl Default for ExplorerConfig {
    fn default() -> Self {
        ExplorerConfig {
            grpc_listen: Some(SocketAddr::from(([127, 0, 0, 1], 50051))),
            http_listen: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
        }
    }
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
}

/// Starts the explorer's servers (those configured) and its follower; they stop at `shutdown`.
/// A member of an oracle set serves its `quorum` board on the gRPC address too.
pub async fn start(
    config: &ExplorerConfig,
    store: Store,
    registry: Arc<dyn Registry>,
    quorum: Option<Arc<crate::quorum::Board>>,
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: CancellationToken,
) -> anyhow::Result<Arc<Explorer>> {
    let (explorer, verdicts) = Explorer::load(store, registry, shutdown.clone()).await?;
    tasks.spawn(explorer.clone().follow(verdicts, shutdown.clone()));
    anyhow::ensure!(
        quorum.is_none() || config.grpc_listen.is_some(),
        "a member of an oracle set needs [explorer] grpc_listen: its peers ask it there"
    );
    if let Some(addr) = config.grpc_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("gRPC explorer on {addr}: {e}"))?;
        tracing::info!(addr = %listener.local_addr()?, "explorer gRPC listening");
        tasks.spawn(grpc::serve_with(
            explorer.clone(),
            quorum,
            listener,
            shutdown.clone(),
        ));
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
