//! The explorer as a tonic gRPC service (`hexproof.v1.Explorer`) with server reflection, so
//! grpcurl, evans or Postman work without the .proto files.

use std::{pin::Pin, sync::Arc};

use hexproof_proto::v1::{self, explorer_server};
use tokio_stream::{Stream, StreamExt, wrappers::BroadcastStream};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::{Explorer, QueryError, in_cell, parse_cell, parse_key, verdict_message};

impl From<QueryError> for Status {
    fn from(e: QueryError) -> Status {
        match e {
            QueryError::InvalidArgument(m) => Status::invalid_argument(m),
            QueryError::NotFound(m) => Status::not_found(m),
            e @ (QueryError::Store(_) | QueryError::Sql(_)) => {
                tracing::warn!(error = %e, "explorer query failed");
                Status::unavailable("storage is unavailable; try again")
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExplorerService(pub Arc<Explorer>);

type Verdicts = Pin<Box<dyn Stream<Item = Result<v1::VerdictEvent, Status>> + Send>>;

#[tonic::async_trait]
impl explorer_server::Explorer for ExplorerService {
    async fn get_hotspot(
        &self,
        r: Request<v1::GetHotspotRequest>,
    ) -> Result<Response<v1::Hotspot>, Status> {
        Ok(Response::new(self.0.get_hotspot(&r.get_ref().pubkey)?))
    }

    async fn list_hotspots(
        &self,
        r: Request<v1::ListHotspotsRequest>,
    ) -> Result<Response<v1::ListHotspotsResponse>, Status> {
        let r = r.get_ref();
        let (hotspots, next_page_token) =
            self.0.list_hotspots(&r.cell, r.page_size, &r.page_token)?;
        Ok(Response::new(v1::ListHotspotsResponse {
            hotspots,
            next_page_token,
        }))
    }

    async fn get_hex(&self, r: Request<v1::GetHexRequest>) -> Result<Response<v1::Hex>, Status> {
        Ok(Response::new(self.0.get_hex(&r.get_ref().cell)?))
    }

    async fn list_reports(
        &self,
        r: Request<v1::ListReportsRequest>,
    ) -> Result<Response<v1::ListReportsResponse>, Status> {
        let r = r.get_ref();
        let (reports, next_page_token) = self
            .0
            .list_reports(
                &r.hotspot,
                r.since_ns,
                r.until_ns,
                r.page_size,
                &r.page_token,
            )
            .await?;
        Ok(Response::new(v1::ListReportsResponse {
            reports: reports.iter().map(verdict_message).collect(),
            next_page_token,
        }))
    }

    async fn get_epoch(
        &self,
        r: Request<v1::GetEpochRequest>,
    ) -> Result<Response<v1::EpochRewards>, Status> {
        Ok(Response::new(self.0.get_epoch(r.get_ref().epoch).await?))
    }

    async fn get_rewards(
        &self,
        r: Request<v1::GetRewardsRequest>,
    ) -> Result<Response<v1::HotspotRewards>, Status> {
        Ok(Response::new(
            self.0.get_rewards(&r.get_ref().hotspot).await?,
        ))
    }

    async fn get_reward_proof(
        &self,
        r: Request<v1::GetRewardProofRequest>,
    ) -> Result<Response<v1::RewardProof>, Status> {
        let r = r.get_ref();
        Ok(Response::new(
            self.0.get_reward_proof(&r.hotspot, r.epoch).await?,
        ))
    }

    async fn get_network_stats(
        &self,
        _: Request<v1::GetNetworkStatsRequest>,
    ) -> Result<Response<v1::NetworkStats>, Status> {
        Ok(Response::new(self.0.network_stats().await?))
    }

    type WatchVerdictsStream = Verdicts;

    async fn watch_verdicts(
        &self,
        r: Request<v1::WatchVerdictsRequest>,
    ) -> Result<Response<Verdicts>, Status> {
        let r = r.into_inner();
        let hotspot = (!r.hotspot.is_empty())
            .then(|| parse_key(&r.hotspot).map(|k| k.to_string()))
            .transpose()?;
        let cell = (!r.cell.is_empty())
            .then(|| parse_cell(&r.cell))
            .transpose()?;
        let stream = BroadcastStream::new(self.0.watch()).filter_map(move |item| match item {
            Ok(live) => {
                let wanted = hotspot.as_ref().is_none_or(|h| *h == live.view.hotspot)
                    && cell.is_none_or(|c| in_cell(live.location, c));
                wanted.then(|| {
                    Ok(v1::VerdictEvent {
                        verdict: Some(verdict_message(&live.view)),
                    })
                })
            }
            // A watcher too slow for the stream misses events rather than stalling others.
            Err(_) => None,
        });
        Ok(Response::new(Box::pin(
            futures_util::StreamExt::take_until(stream, self.0.stopped()),
        )))
    }
}

/// Serves the explorer (and reflection) on `listener` until `shutdown`.
pub async fn serve(
    explorer: Arc<Explorer>,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) {
    let reflection = match tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(hexproof_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(%e, "gRPC reflection");
            return;
        }
    };
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(hexproof_proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .ok();
    // No Nagle: small responses would otherwise wait for the peer's delayed ACK (~40 ms).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let result = tonic::transport::Server::builder()
        .add_service(explorer_server::ExplorerServer::new(ExplorerService(
            explorer,
        )))
        .add_service(reflection)
        .add_optional_service(reflection_alpha)
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await;
    if let Err(e) = result {
        tracing::error!(%e, "gRPC explorer stopped");
    }
}
