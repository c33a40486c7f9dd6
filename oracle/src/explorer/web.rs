//! The web map and its JSON API (axum). The page (`oracle/web/`) is compiled into the binary
//! and draws H3 hexes over shipped country outlines, so it works with no internet.
//!
//! JSON: `/api/stats`, `/api/hexes?res=N&page_size=&page_token=`, `/api/hex/{cell}?page_size=
//! &page_token=`, `/api/hotspots?cell=&page_size=&page_token=`, `/api/hotspots/{key}`,
//! `/api/hotspots/{key}/reports?since_ns=&until_ns=&page_size=&page_token=`,
//! `/api/hotspots/{key}/rewards` (coverage and data, by epoch), `/api/hotspots/{key}/packets`
//! (device packets heard, bought, delivered, the data credits carried), `/api/routes` (each
//! route's packets and credits), `/api/orgs` (each org's data credits: bought, burned,
//! balance and settled on chain, charged by receipts), `/api/epochs/{n}` (0: newest; the
//! coverage/data split and each org's charges), `/api/events` (server-sent events: each final
//! verdict as it happens, without its signal), `/api/explain` (every verdict and finding code
//! in plain words; reports and findings carry theirs). Cells are never finer than
//! `[explorer] public_resolution`. Each hex of `/api/hexes` counts the device packets its hotspots
//! carried (`packets`) and their data credits (`dc`).
//!
//! Limits (`[explorer]`): tower's global concurrency limit with load shedding (one request past
//! `max_concurrent` gets 503 at once) and tower-http's timeout (503); `/api/events` holds one of
//! `max_watchers` places while it is open.

use std::{convert::Infallible, sync::Arc};

use axum::{
    Json, Router,
    error_handling::HandleErrorLayer,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use hexproof_poc::Status;
use hexproof_proto::{PublicKey, keys::animal_name};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream::{StreamExt, wrappers::BroadcastStream};
use tokio_util::sync::CancellationToken;

use super::{
    Explorer, ExplorerConfig, LiveVerdict, QueryError,
    views::{HotspotView, ReportView},
};

const INDEX_HTML: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const WORLD: &str = include_str!("../../web/world-110m.json");
const OWNER_HTML: &str = include_str!("../../web/owner.html");
const OWNER_JS: &str = include_str!("../../web/owner.js");

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        let status = match &self {
            QueryError::InvalidArgument(_) => StatusCode::BAD_REQUEST,
            QueryError::NotFound(_) => StatusCode::NOT_FOUND,
            QueryError::Busy(_) => return busy(&self.to_string()),
            QueryError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// 503 with a hint to come back in a second.
fn busy(message: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        Json(json!({ "error": message })),
    )
        .into_response()
}

/// What a request refused by the layers in front of the routes gets.
async fn refused(e: tower::BoxError) -> Response {
    if e.is::<tower::load_shed::error::Overloaded>() {
        metrics::counter!("hexproof_explorer_shed_total", "api" => "http").increment(1);
        busy(
            "the explorer is answering as many requests as it takes at once \
             ([explorer] max_concurrent); try again shortly",
        )
    } else if let Some(b) = e.downcast_ref::<super::clients::ClientBusy>() {
        busy(&b.to_string())
    } else {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response()
    }
}

type Api = Result<Json<Value>, QueryError>;

fn hotspot_json(h: &HotspotView) -> Value {
    let name = h
        .pubkey
        .parse::<PublicKey>()
        .map(|k| animal_name(&k))
        .unwrap_or_default();
    json!({
        "pubkey": h.pubkey, "owner": h.owner, "location": h.location,
        "gain_ddbi": h.gain_ddbi, "elevation_m": h.elevation_m,
        "asserted_at_ns": h.asserted_at_ns, "lifetime_reward": h.lifetime_reward,
        "name": name,
    })
}

pub fn report_json(r: &ReportView) -> Value {
    let reason = match r.status {
        Status::Valid => "valid".to_string(),
        Status::Pending => "pending".to_string(),
        Status::Invalid => r.reason.clone().unwrap_or_default(),
    };
    json!({
        "id": hex::encode(r.id),
        "kind": r.kind.name(),
        "hotspot": r.hotspot,
        "timestamp_ns": r.timestamp_ns,
        "received_ns": r.received_ns,
        "valid": r.status == Status::Valid,
        "reason": reason,
        "detail": r.detail.clone().unwrap_or_default(),
        "beaconer": r.beaconer.clone().unwrap_or_default(),
        "rssi_ddbm": r.rssi_ddbm,
        "snr_ddb": r.snr_ddb,
        "frequency_hz": r.frequency_hz,
        "selected": r.selected,
        // The verdict in plain words for the owner, and what they can do about it.
        "explanation": hexproof_poc::explain::code(&reason).map(|e| e.what),
        "action": hexproof_poc::explain::code(&reason).map(|e| e.action),
    })
}

async fn stats(State(x): State<Arc<Explorer>>) -> Api {
    let s = x.network_stats().await?;
    Ok(Json(json!({
        "hotspots": s.hotspots, "asserted_hotspots": s.asserted_hotspots, "reports": s.reports,
        "valid_beacons": s.valid_beacons, "valid_witnesses": s.valid_witnesses,
        "invalid_reports": s.invalid_reports, "latest_epoch": s.latest_epoch,
        "lifetime_rewards": s.lifetime_rewards, "invalid_by_reason": s.invalid_by_reason,
        "public_resolution": u8::from(x.config.public_resolution()),
    })))
}

#[derive(Debug, Deserialize)]
struct HexesQuery {
    res: Option<u8>,
    #[serde(default)]
    page_size: u32,
    #[serde(default)]
    page_token: String,
}

async fn hexes(State(x): State<Arc<Explorer>>, Query(q): Query<HexesQuery>) -> Api {
    // Hexes are drawn from memory; their packet counts only when the count is at hand.
    let bought = x.bought_by_hotspot().await.unwrap_or_default();
    let (cells, next) = x.hexes(q.res.unwrap_or(7), q.page_size, &q.page_token, &bought)?;
    let out: Vec<Value> = cells
        .iter()
        .map(|(cell, s, hotspots, reward, carried)| {
            let boundary: Vec<[f64; 2]> = cell
                .boundary()
                .iter()
                .map(|ll| {
                    [
                        (ll.lat() * 1e5).round() / 1e5,
                        (ll.lng() * 1e5).round() / 1e5,
                    ]
                })
                .collect();
            json!({
                "cell": cell.to_string(), "boundary": boundary, "hotspots": hotspots,
                "valid_beacons": s.valid_beacons, "valid_witnesses": s.valid_witnesses,
                "invalid": s.invalid, "reward": reward, "packets": carried.copies,
                "dc": carried.dc,
                "rssi_median_ddbm": s.rssi_median_ddbm,
            })
        })
        .collect();
    Ok(Json(json!({ "hexes": out, "next_page_token": next })))
}

async fn hex(
    State(x): State<Arc<Explorer>>,
    Path(cell): Path<String>,
    Query(q): Query<PageQuery>,
) -> Api {
    let h = x.get_hex(&cell, q.page_size, &q.page_token)?;
    let hotspots: Vec<Value> = h
        .hotspots
        .iter()
        .filter_map(|k| x.get_hotspot(k).ok())
        .map(|h| hotspot_json(&h))
        .collect();
    Ok(Json(json!({
        "cell": h.cell, "resolution": h.resolution, "hotspots": hotspots,
        "hotspot_count": h.hotspot_count, "next_page_token": h.next_page_token,
        "valid_beacons": h.valid_beacons, "valid_witnesses": h.valid_witnesses,
        "invalid_reports": h.invalid_reports, "rssi_min_ddbm": h.rssi_min_ddbm,
        "rssi_median_ddbm": h.rssi_median_ddbm, "rssi_max_ddbm": h.rssi_max_ddbm,
        "snr_median_ddb": h.snr_median_ddb, "lifetime_reward": h.lifetime_reward,
    })))
}

#[derive(Debug, Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    cell: String,
    #[serde(default)]
    page_size: u32,
    #[serde(default)]
    page_token: String,
    #[serde(default)]
    since_ns: u64,
    #[serde(default)]
    until_ns: u64,
}

async fn hotspots(State(x): State<Arc<Explorer>>, Query(q): Query<PageQuery>) -> Api {
    let (list, next) = x.list_hotspots(&q.cell, q.page_size, &q.page_token)?;
    Ok(Json(json!({
        "hotspots": list.iter().map(hotspot_json).collect::<Vec<_>>(),
        "next_page_token": next,
    })))
}

async fn hotspot(State(x): State<Arc<Explorer>>, Path(key): Path<String>) -> Api {
    Ok(Json(hotspot_json(&x.get_hotspot(&key)?)))
}

async fn reports(
    State(x): State<Arc<Explorer>>,
    Path(key): Path<String>,
    Query(q): Query<PageQuery>,
) -> Api {
    let (list, next) = x
        .list_reports(&key, q.since_ns, q.until_ns, q.page_size, &q.page_token)
        .await?;
    Ok(Json(json!({
        "reports": list.iter().map(report_json).collect::<Vec<_>>(),
        "next_page_token": next,
    })))
}

async fn rewards(State(x): State<Arc<Explorer>>, Path(key): Path<String>) -> Api {
    let r = x.get_rewards(&key).await?;
    Ok(Json(json!({
        "hotspot": r.hotspot, "lifetime": r.lifetime,
        "epochs": r.epochs.iter().map(|e| json!({
            "epoch": e.epoch, "beacon_amount": e.beacon,
            "witness_amount": e.witness, "data_amount": e.data, "dc": e.dc,
            "total": e.beacon + e.witness + e.data,
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize, Default)]
struct ProofQuery {
    /// 0 (or absent): the newest closed epoch.
    #[serde(default)]
    epoch: u64,
}

/// What a claim needs (the gRPC `GetRewardProof` in JSON): the lifetime amount and the
/// sibling hashes, hex, against the epoch's root.
async fn proof(
    State(x): State<Arc<Explorer>>,
    Path(key): Path<String>,
    Query(q): Query<ProofQuery>,
) -> Api {
    let p = x.get_reward_proof(&key, q.epoch).await?;
    Ok(Json(json!({
        "hotspot": p.hotspot, "epoch": p.epoch, "lifetime": p.lifetime_amount,
        "root": hex::encode(p.merkle_root), "leaf_index": p.leaf_index,
        "proof": p.siblings.iter().map(hex::encode).collect::<Vec<_>>(),
    })))
}

async fn hotspot_packets(State(x): State<Arc<Explorer>>, Path(key): Path<String>) -> Api {
    let p = x.hotspot_packets(&key).await?;
    Ok(Json(json!({
        "hotspot": key, "heard": p.heard, "bought": p.bought, "delivered": p.delivered,
        "dc": p.dc,
    })))
}

async fn route_packets(State(x): State<Arc<Explorer>>) -> Api {
    Ok(Json(json!({ "routes": *x.route_packets().await? })))
}

async fn orgs(State(x): State<Arc<Explorer>>) -> Api {
    let orgs = x.org_credits().await?;
    Ok(Json(json!({
        "orgs": orgs.iter().map(|(o, charged)| json!({
            "oui": o.oui, "tokens_burned": o.tokens_burned, "dc_bought": o.dc_bought,
            "dc_balance": o.dc_balance, "dc_settled": o.dc_settled, "dc_unpaid": o.dc_unpaid,
            "read_ns": o.read_ns, "dc_charged": charged,
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize, Default)]
struct FindingsQuery {
    #[serde(default)]
    hotspot: String,
    #[serde(default)]
    epoch: u64,
    #[serde(default)]
    page_size: u32,
}

async fn findings(State(x): State<Arc<Explorer>>, Query(q): Query<FindingsQuery>) -> Api {
    let list = x.list_findings(&q.hotspot, q.epoch, q.page_size).await?;
    Ok(Json(json!({
        "findings": list.iter().map(|f| json!({
            "epoch": f.epoch, "hotspot": f.finding.hotspot.to_string(),
            "code": f.finding.code.code(), "evidence": f.finding.evidence,
            "suspended": f.finding.code.suspends(),
            "explanation": hexproof_poc::explain::finding(f.finding.code).what,
            "action": hexproof_poc::explain::finding(f.finding.code).action,
        })).collect::<Vec<_>>(),
    })))
}

/// Every verdict and finding code in plain words (what the owner's page and `hotspot-agent
/// status` show).
async fn explain() -> Api {
    Ok(Json(json!({ "codes": hexproof_poc::explain::all() })))
}

async fn epoch(State(x): State<Arc<Explorer>>, Path(n): Path<u64>) -> Api {
    let e = x.get_epoch(n).await?;
    Ok(Json(json!({
        "epoch": e.epoch, "start_ns": e.start_ns, "end_ns": e.end_ns,
        "merkle_root": hex::encode(e.merkle_root), "lifetime_total": e.lifetime_total,
        "epoch_total": e.paid, "dust": e.dust, "hotspot_count": e.hotspot_count,
        "data_pool": e.data_pool, "data_paid": e.data_paid, "remint": e.remint,
        "coverage_paid": e.paid - e.data_paid,
        "orgs": e.orgs.iter().map(|o| json!({
            "oui": o.oui, "dc": o.dc, "lifetime_dc": o.lifetime_dc,
        })).collect::<Vec<_>>(),
        "signatures": e.signatures.iter().map(|(oracle, signature)| json!({
            "oracle": bs58::encode(oracle).into_string(),
            "signature": bs58::encode(signature).into_string(),
        })).collect::<Vec<_>>(),
    })))
}

async fn events(
    State(x): State<Arc<Explorer>>,
) -> Result<Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>>, QueryError> {
    // Held by the stream: free again when the client goes (the stream is dropped).
    let place = x.watcher_place()?;
    let stream = BroadcastStream::new(x.watch()).filter_map(move |item| {
        let _ = &place;
        let live = item.ok()?;
        Some(Ok(Event::default()
            .event("verdict")
            .data(event_data(&live))))
    });
    Ok(
        Sse::new(futures_util::StreamExt::take_until(stream, x.stopped()))
            .keep_alive(KeepAlive::default()),
    )
}

/// A verdict's event data: its JSON, written by the first stream that sends it and copied by
/// the others (every open stream sends every verdict).
fn event_data(live: &LiveVerdict) -> &str {
    live.sse.get_or_init(|| {
        let mut v = report_json(&live.view);
        v["cell"] = json!(live.location.map(|c| c.to_string()));
        v.to_string()
    })
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse + Clone {
    ([(header::CONTENT_TYPE, content_type)], body)
}

/// The map and the API with the limits of `[explorer]` in front.
pub fn router(explorer: Arc<Explorer>) -> Router {
    let config = explorer.config.clone();
    limited(routes(explorer), &config)
}

/// `routes` behind the limits of `config`: a request past `max_concurrent` gets 503 (with
/// `Retry-After`) at once, one not answered within `request_timeout_ms` gets 503. Only the
/// opening of a stream (`/api/events`) is timed.
pub fn limited(routes: Router, config: &ExplorerConfig) -> Router {
    routes.layer(
        tower::ServiceBuilder::new()
            .layer(HandleErrorLayer::new(refused))
            .layer(super::clients::ClientLayer::new(
                config.max_concurrent_per_client,
            ))
            .load_shed()
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                config.max_concurrent,
            ))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                config.request_timeout(),
            )),
    )
}

fn routes(explorer: Arc<Explorer>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/owner",
            get(|| async { asset("text/html; charset=utf-8", OWNER_HTML) }),
        )
        .route(
            "/owner.js",
            get(|| async { asset("text/javascript; charset=utf-8", OWNER_JS) }),
        )
        .route(
            "/world-110m.json",
            get(|| async { asset("application/json", WORLD) }),
        )
        .route("/api/stats", get(stats))
        .route("/api/hexes", get(hexes))
        .route("/api/hex/{cell}", get(hex))
        .route("/api/hotspots", get(hotspots))
        .route("/api/hotspots/{key}", get(hotspot))
        .route("/api/hotspots/{key}/reports", get(reports))
        .route("/api/hotspots/{key}/rewards", get(rewards))
        .route("/api/hotspots/{key}/packets", get(hotspot_packets))
        .route("/api/hotspots/{key}/proof", get(proof))
        .route("/api/routes", get(route_packets))
        .route("/api/orgs", get(orgs))
        .route("/api/epochs/{n}", get(epoch))
        .route("/api/findings", get(findings))
        .route("/api/explain", get(explain))
        .route("/api/events", get(events))
        .with_state(explorer)
}

/// Serves the map and the JSON API on `listener` until `shutdown`.
pub async fn serve(
    explorer: Arc<Explorer>,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = router(explorer).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await;
    if let Err(e) = result {
        tracing::error!(%e, "web map stopped");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    use super::*;

    /// A route that answers after `wait`, behind the limits of `config`.
    fn slow(config: &ExplorerConfig, wait: Duration) -> Router {
        limited(
            Router::new().route(
                "/slow",
                get(move || async move {
                    tokio::time::sleep(wait).await;
                    "done"
                }),
            ),
            config,
        )
    }

    async fn status(router: Router) -> (StatusCode, Option<String>) {
        let r = router
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let retry = r
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        (r.status(), retry)
    }

    #[tokio::test]
    async fn a_request_past_max_concurrent_is_refused_at_once() {
        let config = ExplorerConfig {
            max_concurrent: 1,
            request_timeout_ms: 10_000,
            ..Default::default()
        };
        let router = slow(&config, Duration::from_millis(500));
        let first = tokio::spawn(status(router.clone()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = std::time::Instant::now();
        assert_eq!(
            status(router.clone()).await,
            (StatusCode::SERVICE_UNAVAILABLE, Some("1".into()))
        );
        assert!(
            t.elapsed() < Duration::from_millis(300),
            "refused, not queued"
        );
        assert_eq!(first.await.unwrap().0, StatusCode::OK);
        assert_eq!(
            status(router).await.0,
            StatusCode::OK,
            "its place is free again"
        );
    }

    #[tokio::test]
    async fn a_slow_request_times_out() {
        let config = ExplorerConfig {
            request_timeout_ms: 100,
            ..Default::default()
        };
        let t = std::time::Instant::now();
        assert_eq!(
            status(slow(&config, Duration::from_secs(5))).await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(t.elapsed() < Duration::from_secs(2));
        assert_eq!(
            status(slow(&config, Duration::from_millis(1))).await.0,
            StatusCode::OK
        );
    }
}
