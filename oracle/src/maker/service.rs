//! The maker's HTTP API: `POST /v1/prepare` (an `Action` → a message to sign),
//! `POST /v1/submit` (the signed message → the transaction's signature), `GET /v1/status`
//! (balance, budget, alarms). Every refusal is a JSON `Refusal` with its code and words.
//! [`serve`] also checks the balance every `balance_check_secs` for the low-balance alarm.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{ConnectInfo, DefaultBodyLimit, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use hexproof_proto::maker::RefusalCode;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use super::{Maker, MakerError};

/// The largest request read (a claim's proof of 32 hashes is about 2.2 KB).
const MAX_BODY: usize = 64 << 10;
/// Requests handled at once.
const CONCURRENCY: usize = 64;

impl IntoResponse for MakerError {
    fn into_response(self) -> Response {
        let status = match self.code() {
            RefusalCode::BadRequest | RefusalCode::BadSignature => StatusCode::BAD_REQUEST,
            RefusalCode::NotEntitled => StatusCode::FORBIDDEN,
            RefusalCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            RefusalCode::Expired | RefusalCode::Done => StatusCode::CONFLICT,
            RefusalCode::Refused => StatusCode::UNPROCESSABLE_ENTITY,
            RefusalCode::BudgetSpent | RefusalCode::OutOfFunds | RefusalCode::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        (status, Json(self.refusal())).into_response()
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, MakerError> {
    serde_json::from_slice(body).map_err(|e| MakerError::BadRequest(format!("bad request: {e}")))
}

async fn prepare(
    State(maker): State<Arc<Maker>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Response, MakerError> {
    let action = parse(&body)?;
    Ok(Json(maker.prepare(action, from.ip()).await?).into_response())
}

async fn submit(State(maker): State<Arc<Maker>>, body: Bytes) -> Result<Response, MakerError> {
    let signed = parse(&body)?;
    Ok(Json(maker.submit(signed).await?).into_response())
}

async fn status(State(maker): State<Arc<Maker>>) -> Result<Response, MakerError> {
    Ok(Json(maker.status().await?).into_response())
}

pub fn router(maker: Arc<Maker>) -> Router {
    Router::new()
        .route("/v1/prepare", post(prepare))
        .route("/v1/submit", post(submit))
        .route("/v1/status", get(status))
        .with_state(maker)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower::limit::ConcurrencyLimitLayer::new(CONCURRENCY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            // Longer than a send waits for confirmation (a blockhash lives 60–90 s), shorter
            // than the agent waits for the answer.
            Duration::from_secs(100),
        ))
}

/// Serves the API on `listener` and checks the balance periodically, until `shutdown`.
pub async fn serve(
    maker: Arc<Maker>,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) {
    let every = Duration::from_secs(maker.config.balance_check_secs.max(1));
    let watcher = {
        let maker = maker.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = maker.check_balance().await {
                    tracing::warn!(%e, "reading the maker's balance");
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(every) => {}
                }
            }
        })
    };
    let app = router(maker).into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    {
        tracing::error!(%e, "maker API stopped");
    }
    let _ = watcher.await;
}
