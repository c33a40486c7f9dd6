//! The explorer as a tonic gRPC service (`hexproof.v1.Explorer`) with server reflection, so
//! grpcurl, evans or Postman work without the .proto files. The explorer's answers become
//! protobuf messages here and nowhere else.
//!
//! Limits (`[explorer]`, [`limits`]): tower's global concurrency limit with load shedding in
//! front of the service, so one request past `max_concurrent` is refused at once with
//! `RESOURCE_EXHAUSTED`; tower's timeout (`DEADLINE_EXCEEDED` after `request_timeout_ms`; a
//! client's own `grpc-timeout` still applies); `WatchVerdicts` holds one of `max_watchers`
//! places for as long as its stream is open.

use std::{pin::Pin, sync::Arc};

use hexproof_proto::v1::{self, explorer_server};
use tokio_stream::{Stream, StreamExt, wrappers::BroadcastStream};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use hexproof_poc::{Kind, Status as Verdict};

use super::{
    Explorer, QueryError, in_cell, parse_key, parse_public_cell,
    views::{EpochView, HexView, HotspotView, NetworkView, ProofView, ReportView, RewardsView},
};

impl From<QueryError> for Status {
    fn from(e: QueryError) -> Status {
        match e {
            QueryError::InvalidArgument(m) => Status::invalid_argument(m),
            QueryError::NotFound(m) => Status::not_found(m),
            QueryError::Busy(m) => Status::resource_exhausted(m),
            e @ QueryError::Store(_) => {
                tracing::warn!(error = %e, "explorer query failed");
                Status::unavailable("storage is unavailable; try again")
            }
        }
    }
}

fn hotspot(h: HotspotView) -> v1::Hotspot {
    v1::Hotspot {
        pubkey: h.pubkey,
        owner: h.owner,
        location: h.location,
        gain_ddbi: h.gain_ddbi,
        elevation_m: h.elevation_m,
        asserted_at_ns: h.asserted_at_ns,
        lifetime_reward: h.lifetime_reward,
    }
}

fn hex(h: HexView) -> v1::Hex {
    v1::Hex {
        cell: h.cell,
        resolution: h.resolution,
        hotspots: h.hotspots,
        hotspot_count: h.hotspot_count,
        next_page_token: h.next_page_token,
        valid_beacons: h.valid_beacons,
        valid_witnesses: h.valid_witnesses,
        invalid_reports: h.invalid_reports,
        rssi_min_ddbm: h.rssi_min_ddbm,
        rssi_median_ddbm: h.rssi_median_ddbm,
        rssi_max_ddbm: h.rssi_max_ddbm,
        snr_median_ddb: h.snr_median_ddb,
        lifetime_reward: h.lifetime_reward,
    }
}

fn epoch(e: EpochView) -> v1::EpochRewards {
    v1::EpochRewards {
        epoch: e.epoch,
        start_ns: e.start_ns,
        end_ns: e.end_ns,
        merkle_root: e.merkle_root.to_vec(),
        lifetime_total: e.lifetime_total,
        epoch_total: e.paid,
        dust: e.dust,
        hotspot_count: e.hotspot_count,
        data_pool: e.data_pool,
        data_paid: e.data_paid,
        remint: e.remint,
        orgs: e
            .orgs
            .iter()
            .map(|o| v1::OrgCharge {
                oui: o.oui,
                dc: o.dc,
                lifetime_dc: o.lifetime_dc,
            })
            .collect(),
        signatures: e
            .signatures
            .iter()
            .map(|(oracle, signature)| v1::OracleSignature {
                oracle: oracle.to_vec(),
                signature: signature.to_vec(),
            })
            .collect(),
    }
}

fn rewards(r: RewardsView) -> v1::HotspotRewards {
    v1::HotspotRewards {
        hotspot: r.hotspot,
        lifetime: r.lifetime,
        epochs: r
            .epochs
            .iter()
            .map(|e| v1::EpochReward {
                epoch: e.epoch,
                beacon_amount: e.beacon,
                witness_amount: e.witness,
                data_amount: e.data,
                dc: e.dc,
                total: e.beacon + e.witness + e.data,
            })
            .collect(),
    }
}

fn proof(p: ProofView) -> v1::RewardProof {
    v1::RewardProof {
        hotspot: p.hotspot,
        epoch: p.epoch,
        lifetime_amount: p.lifetime_amount,
        merkle_root: p.merkle_root.to_vec(),
        siblings: p.siblings.iter().map(|h| h.to_vec()).collect(),
        leaf_index: p.leaf_index,
    }
}

fn network(n: NetworkView) -> v1::NetworkStats {
    v1::NetworkStats {
        hotspots: n.hotspots,
        asserted_hotspots: n.asserted_hotspots,
        reports: n.reports,
        valid_beacons: n.valid_beacons,
        valid_witnesses: n.valid_witnesses,
        invalid_reports: n.invalid_reports,
        latest_epoch: n.latest_epoch,
        lifetime_rewards: n.lifetime_rewards,
        invalid_by_reason: n.invalid_by_reason.into_iter().collect(),
    }
}

/// A stored verdict as the API shows it.
pub fn verdict_message(v: &ReportView) -> v1::ReportVerdict {
    v1::ReportVerdict {
        kind: match v.kind {
            Kind::Beacon => v1::ReportKind::Beacon,
            Kind::Witness => v1::ReportKind::Witness,
            Kind::Undecodable => v1::ReportKind::Unspecified,
        } as i32,
        id: v.id.to_vec(),
        hotspot: v.hotspot.clone(),
        timestamp_ns: v.timestamp_ns,
        received_ns: v.received_ns,
        valid: v.status == Verdict::Valid,
        reason: match v.status {
            Verdict::Valid => "valid".into(),
            Verdict::Pending => "pending".into(),
            Verdict::Invalid => v.reason.clone().unwrap_or_default(),
        },
        detail: v.detail.clone().unwrap_or_default(),
        beaconer: v.beaconer.clone().unwrap_or_default(),
        rssi_ddbm: v.rssi_ddbm.unwrap_or(0),
        snr_ddb: v.snr_ddb.unwrap_or(0),
        frequency_hz: v.frequency_hz.unwrap_or(0),
        selected: v.selected,
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
        Ok(Response::new(hotspot(
            self.0.get_hotspot(&r.get_ref().pubkey)?,
        )))
    }

    async fn list_hotspots(
        &self,
        r: Request<v1::ListHotspotsRequest>,
    ) -> Result<Response<v1::ListHotspotsResponse>, Status> {
        let r = r.get_ref();
        let (hotspots, next_page_token) =
            self.0.list_hotspots(&r.cell, r.page_size, &r.page_token)?;
        Ok(Response::new(v1::ListHotspotsResponse {
            hotspots: hotspots.into_iter().map(hotspot).collect(),
            next_page_token,
        }))
    }

    async fn get_hex(&self, r: Request<v1::GetHexRequest>) -> Result<Response<v1::Hex>, Status> {
        let r = r.get_ref();
        Ok(Response::new(hex(self.0.get_hex(
            &r.cell,
            r.page_size,
            &r.page_token,
        )?)))
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
        Ok(Response::new(epoch(
            self.0.get_epoch(r.get_ref().epoch).await?,
        )))
    }

    async fn get_rewards(
        &self,
        r: Request<v1::GetRewardsRequest>,
    ) -> Result<Response<v1::HotspotRewards>, Status> {
        Ok(Response::new(rewards(
            self.0.get_rewards(&r.get_ref().hotspot).await?,
        )))
    }

    async fn get_reward_proof(
        &self,
        r: Request<v1::GetRewardProofRequest>,
    ) -> Result<Response<v1::RewardProof>, Status> {
        let r = r.get_ref();
        Ok(Response::new(proof(
            self.0.get_reward_proof(&r.hotspot, r.epoch).await?,
        )))
    }

    async fn list_findings(
        &self,
        r: Request<v1::ListFindingsRequest>,
    ) -> Result<Response<v1::ListFindingsResponse>, Status> {
        let r = r.get_ref();
        let list = self
            .0
            .list_findings(&r.hotspot, r.epoch, r.page_size)
            .await?;
        Ok(Response::new(v1::ListFindingsResponse {
            findings: list
                .into_iter()
                .map(|f| v1::Finding {
                    epoch: f.epoch,
                    hotspot: f.finding.hotspot.to_string(),
                    code: f.finding.code.code().to_string(),
                    evidence: f.finding.evidence,
                    suspended: f.finding.code.suspends(),
                })
                .collect(),
        }))
    }

    async fn get_network_stats(
        &self,
        _: Request<v1::GetNetworkStatsRequest>,
    ) -> Result<Response<v1::NetworkStats>, Status> {
        Ok(Response::new(network(self.0.network_stats().await?)))
    }

    async fn get_hotspot_packets(
        &self,
        r: Request<v1::GetHotspotPacketsRequest>,
    ) -> Result<Response<v1::HotspotPackets>, Status> {
        let pubkey = r.into_inner().pubkey;
        let p = self.0.hotspot_packets(&pubkey).await?;
        Ok(Response::new(v1::HotspotPackets {
            pubkey,
            heard: p.heard,
            bought: p.bought,
            delivered: p.delivered,
            dc: p.dc,
        }))
    }

    async fn list_route_packets(
        &self,
        _: Request<v1::ListRoutePacketsRequest>,
    ) -> Result<Response<v1::ListRoutePacketsResponse>, Status> {
        let routes = self.0.route_packets().await?;
        Ok(Response::new(v1::ListRoutePacketsResponse {
            routes: routes
                .iter()
                .map(|r| v1::RoutePackets {
                    route_id: r.route_id,
                    oui: r.oui,
                    packets: r.packets,
                    bought: r.bought,
                    delivered: r.delivered,
                    dc: r.dc,
                })
                .collect(),
        }))
    }

    async fn list_orgs(
        &self,
        _: Request<v1::ListOrgsRequest>,
    ) -> Result<Response<v1::ListOrgsResponse>, Status> {
        let orgs = self.0.org_credits().await?;
        Ok(Response::new(v1::ListOrgsResponse {
            orgs: orgs
                .iter()
                .map(|(o, charged)| v1::OrgCredits {
                    oui: o.oui,
                    tokens_burned: o.tokens_burned,
                    dc_bought: o.dc_bought,
                    dc_balance: o.dc_balance,
                    dc_settled: o.dc_settled,
                    dc_unpaid: o.dc_unpaid,
                    read_ns: o.read_ns,
                    dc_charged: *charged,
                })
                .collect(),
        }))
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
            .then(|| parse_public_cell(&r.cell, self.0.config.public_resolution()))
            .transpose()?;
        // Held by the stream: free again when the watcher goes (the stream is dropped).
        let place = self.0.watcher_place()?;
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
        let stream = stream.map(move |event| {
            let _ = &place;
            event
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
        .layer(limits(&explorer.config))
        .add_service(explorer_server::ExplorerServer::new(ExplorerService(
            explorer.clone(),
        )))
        .add_service(reflection)
        .add_optional_service(reflection_alpha)
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await;
    if let Err(e) = result {
        tracing::error!(%e, "gRPC explorer stopped");
    }
}

/// The layers in front of every gRPC service: errors as statuses, each client's share (and
/// its scope), load shedding, the global concurrency limit, the timeout (outermost first).
pub type Limits = tower::layer::util::Stack<
    tower::timeout::TimeoutLayer,
    tower::layer::util::Stack<
        tower::limit::GlobalConcurrencyLimitLayer,
        tower::layer::util::Stack<
            tower::load_shed::LoadShedLayer,
            tower::layer::util::Stack<
                super::clients::ClientLayer,
                tower::layer::util::Stack<
                    tower::util::MapErrLayer<fn(tower::BoxError) -> tower::BoxError>,
                    tower::layer::util::Identity,
                >,
            >,
        >,
    >,
>;

/// The limits of `config` as tower layers for tonic's `Server::layer`: a request past
/// `max_concurrent` gets `RESOURCE_EXHAUSTED` at once, one not answered within
/// `request_timeout_ms` gets `DEADLINE_EXCEEDED`. Only the opening of a stream is timed.
pub fn limits(config: &super::ExplorerConfig) -> Limits {
    tower::ServiceBuilder::new()
        .map_err(refused as fn(tower::BoxError) -> tower::BoxError)
        .layer(super::clients::ClientLayer::new(
            config.max_concurrent_per_client,
        ))
        .load_shed()
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            config.max_concurrent,
        ))
        .timeout(config.request_timeout())
        .into_inner()
}

/// A request the layers refused, as the status its client gets (tonic sends a boxed `Status`
/// as it is).
fn refused(e: tower::BoxError) -> tower::BoxError {
    if e.is::<tower::load_shed::error::Overloaded>() {
        metrics::counter!("hexproof_explorer_shed_total", "api" => "grpc").increment(1);
        Box::new(Status::resource_exhausted(
            "the explorer is answering as many requests as it takes at once \
             ([explorer] max_concurrent); try again shortly",
        ))
    } else if let Some(busy) = e.downcast_ref::<super::clients::ClientBusy>() {
        Box::new(Status::resource_exhausted(busy.to_string()))
    } else if e.is::<tower::timeout::error::Elapsed>() {
        metrics::counter!("hexproof_explorer_timeouts_total", "api" => "grpc").increment(1);
        Box::new(Status::deadline_exceeded(
            "the request took longer than this explorer allows ([explorer] request_timeout_ms)",
        ))
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use std::{
        convert::Infallible,
        future::Future,
        task::{Context, Poll},
        time::{Duration, Instant},
    };

    use hexproof_proto::v1::explorer_client::ExplorerClient;
    use tonic::{Code, body::Body, codegen::http, server::NamedService};

    use super::*;
    use crate::explorer::ExplorerConfig;

    /// A stand-in for the explorer that takes `0` to answer anything (with an empty message).
    #[derive(Clone)]
    struct Slow(Duration);

    impl NamedService for Slow {
        const NAME: &'static str = "hexproof.v1.Explorer";
    }

    impl tower::Service<http::Request<Body>> for Slow {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<Body>) -> Self::Future {
            let wait = self.0;
            Box::pin(async move {
                tokio::time::sleep(wait).await;
                Ok(http::Response::builder()
                    .header("content-type", "application/grpc")
                    .header("grpc-status", "0")
                    .body(Body::empty())
                    .unwrap())
            })
        }
    }

    /// `Slow(wait)` behind the limits of `config`, on a free port.
    async fn serve_slow(
        config: &ExplorerConfig,
        wait: Duration,
    ) -> ExplorerClient<tonic::transport::Channel> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tonic::transport::Server::builder()
            .layer(limits(config))
            .add_service(Slow(wait))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
        tokio::spawn(server);
        ExplorerClient::connect(format!("http://127.0.0.1:{port}"))
            .await
            .unwrap()
    }

    async fn call(mut c: ExplorerClient<tonic::transport::Channel>) -> Code {
        match c.get_network_stats(v1::GetNetworkStatsRequest {}).await {
            Ok(_) => Code::Ok,
            Err(s) => s.code(),
        }
    }

    #[tokio::test]
    async fn a_request_past_max_concurrent_is_refused_at_once() {
        let config = ExplorerConfig {
            max_concurrent: 1,
            request_timeout_ms: 10_000,
            ..Default::default()
        };
        let c = serve_slow(&config, Duration::from_millis(500)).await;
        let first = tokio::spawn(call(c.clone()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = Instant::now();
        assert_eq!(call(c.clone()).await, Code::ResourceExhausted);
        assert!(
            t.elapsed() < Duration::from_millis(300),
            "refused, not queued"
        );
        // The stand-in's empty answer is not a message: what matters is it was let through.
        assert_ne!(first.await.unwrap(), Code::ResourceExhausted);
        assert_ne!(
            call(c).await,
            Code::ResourceExhausted,
            "its place is free again"
        );
    }

    #[tokio::test]
    async fn a_slow_request_times_out() {
        let config = ExplorerConfig {
            request_timeout_ms: 100,
            ..Default::default()
        };
        let c = serve_slow(&config, Duration::from_secs(5)).await;
        let t = Instant::now();
        assert_eq!(call(c).await, Code::DeadlineExceeded);
        assert!(t.elapsed() < Duration::from_secs(2));
    }
}
