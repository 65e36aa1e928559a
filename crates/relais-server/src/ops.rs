//! Operations: health, Prometheus metrics, the OpenAPI document.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use metrics::gauge;
use serde_json::json;
use utoipa::OpenApi;

#[utoipa::path(get, path = "/health", tag = "ops",
    responses((status = 200, description = "the store answers"), (status = 503, description = "the store does not answer")))]
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.engine.store.log_head().await {
        Ok(head) => (
            StatusCode::OK,
            Json(
                json!({"status": "ok", "store": state.engine.store.engine(), "log_head": head,
                        "processed": state.engine.pipeline.processed()}),
            ),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "unavailable", "store": state.engine.store.engine(), "error": e.to_string()}),
            ),
        ),
    }
}

#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format: ingest rate, log lag, processing lag, errors")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(head) = state.engine.store.log_head().await {
        let processed = state.engine.pipeline.processed();
        gauge!("relais_log_head").set(head as f64);
        gauge!("relais_log_lag_events").set((head - processed).max(0) as f64);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

pub async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::ApiDoc::openapi())
}

/// `POST /v1/track` (also `/v1/identify`, `/v1/page`, `/v1/screen`,
/// `/v1/group`, `/v1/alias` and `/v1/t`, `/v1/i`, `/v1/p`, `/v1/s`, `/v1/g`,
/// `/v1/a`): one Segment message. Documented here; served by `tracking`.
#[utoipa::path(post, path = "/v1/track", tag = "tracking",
    request_body(content = serde_json::Value, description = "a Segment message; JSON whatever the Content-Type; gzip accepted"),
    responses((status = 200, description = "durable in the event log"),
              (status = 400, description = "invalid event: code, field and message", body = crate::openapi::ErrorBody),
              (status = 401, description = "missing or unknown write key", body = crate::openapi::ErrorBody),
              (status = 413, description = "body over the limit", body = crate::openapi::ErrorBody),
              (status = 503, description = "saturated: retry after Retry-After seconds", body = crate::openapi::ErrorBody)),
    security(("write_key" = [])))]
#[allow(dead_code)]
pub async fn track_doc() {}

/// `POST /v1/batch` (also `/v1/b`, `/v1/import`): up to 2,500 messages.
/// Valid events are kept even if others are bad; the bad ones are listed
/// in the 200 answer (`rejected`), and if none is valid the answer is 400.
#[utoipa::path(post, path = "/v1/batch", tag = "tracking",
    request_body(content = serde_json::Value, description = "{\"batch\": [messages], \"sentAt\": …, \"writeKey\": …}"),
    responses((status = 200, description = "the valid events are durable; `rejected` lists the others"),
              (status = 400, description = "no valid event, or not a batch", body = crate::openapi::ErrorBody),
              (status = 401, description = "missing or unknown write key", body = crate::openapi::ErrorBody),
              (status = 413, description = "body over the limit", body = crate::openapi::ErrorBody),
              (status = 503, description = "saturated: retry after Retry-After seconds", body = crate::openapi::ErrorBody)),
    security(("write_key" = [])))]
#[allow(dead_code)]
pub async fn batch_doc() {}
