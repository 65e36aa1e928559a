//! The Segment HTTP tracking API: `/v1/track`, `/v1/identify`, … `/v1/batch`
//! and the browser short forms (`/v1/t`, …). Parse, authorise, hand to the
//! engine's ingest; 200 only once the events are durable.

use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use base64::Engine as _;
use metrics::counter;
use relais_core::message::{parse_body, EventError, MessageType};
use relais_core::profile::location;
use relais_core::ErrorCode;
use relais_engine::ingest::to_log_events;
use serde_json::{json, Value};
use std::io::Read;

/// Where the write key is: HTTP Basic user name (Segment's convention),
/// `Bearer`, or nothing (then the body's `writeKey`).
pub(crate) fn header_key(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    if let Some(b) = auth
        .strip_prefix("Basic ")
        .or_else(|| auth.strip_prefix("basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD.decode(b.trim()).ok()?;
        let s = String::from_utf8(decoded).ok()?;
        return Some(s.split_once(':').map_or(s.as_str(), |(u, _)| u).to_owned());
    }
    auth.strip_prefix("Bearer ").map(|k| k.trim().to_owned())
}

/// Bodies declared up to this many times the limit are read (and dropped)
/// before the 413 is sent.
const DRAIN_FACTOR: usize = 4;

/// Reads the body within the request limit, un-gzipping if asked.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than {limit} bytes; send smaller batches"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared.filter(|n| *n > limit) {
        // A client that is already sending would get a broken pipe instead
        // of the answer if the connection closed now: read and drop a body
        // of reasonable size first (a huge one is cut short).
        if n <= DRAIN_FACTOR * limit {
            let _ = axum::body::to_bytes(body, DRAIN_FACTOR * limit).await;
        }
        return Err(too_large());
    }
    let raw = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(raw),
        Some("gzip") | Some("x-gzip") => {
            let mut out = Vec::with_capacity(raw.len() * 4);
            flate2::read::MultiGzDecoder::new(&raw[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    ApiError::new(ErrorCode::InvalidGzip, format!("the body is not valid gzip: {e}"))
                })?;
            if out.len() > limit {
                return Err(too_large());
            }
            Ok(out.into())
        }
        Some(other) => Err(ApiError::new(
            ErrorCode::UnsupportedEncoding,
            format!("Content-Encoding {other:?} is not supported; use gzip or none"),
        )),
    }
}

/// Handles one tracking request for `kind` (`None` = batch).
pub async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
    kind: Option<MessageType>,
) -> ApiResult<Json<Value>> {
    let result = ingest_inner(&state, &headers, body, kind).await;
    let status = match &result {
        Ok(_) => "200",
        Err(e) => match e.error.code.http_status() {
            400 => "400",
            401 => "401",
            413 => "413",
            503 => "503",
            _ => "other",
        },
    };
    counter!("relais_ingest_requests_total", "status" => status).increment(1);
    result
}

async fn ingest_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    kind: Option<MessageType>,
) -> ApiResult<Json<Value>> {
    let engine = &state.engine;
    let limits = engine.config.limits;
    // Authorise from the header before reading the body when we can.
    let from_header = header_key(headers);
    let early = match &from_header {
        Some(k) => Some(engine.auth.writer(k).await?),
        None => None,
    };
    let bytes = read_body(headers, body, limits.max_request_bytes).await?;
    let received_at = relais_core::time::now_ms();
    let mut parsed = parse_body(&bytes, kind, received_at, &limits)?;
    if let Some(country) = proxy_country(headers, engine.config.country_header.as_deref()) {
        for e in &mut parsed.events {
            if let Some(p) = location::stamp_country(&e.payload, &country) {
                e.payload = p;
            }
        }
    }
    let (ws, source) = match early {
        Some(p) => p,
        None => {
            let key = parsed.write_key.as_deref().ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "no write key: send it as the HTTP Basic user name or as `writeKey` in the body",
                )
            })?;
            engine.auth.writer(key).await?
        }
    };
    let rejected = parsed.rejected;
    counter!("relais_ingest_events_total", "outcome" => "rejected").increment(rejected.len() as u64);
    if parsed.events.is_empty() && !rejected.is_empty() {
        return Err(all_rejected(rejected));
    }
    let accepted = parsed.events.len();
    engine
        .ingest
        .submit(to_log_events(ws, &source, parsed.events))
        .await?;
    if rejected.is_empty() {
        return Ok(Json(json!({"success": true})));
    }
    tracing::warn!(workspace = %ws, source = %source.name, accepted, rejected = rejected.len(),
        "batch partly accepted: bad events were rejected and reported");
    Ok(Json(
        json!({"success": true, "accepted": accepted, "rejected": rejected}),
    ))
}

/// The client's country as the proxy in front of Relais passed it, when
/// one is configured (`engine.country_header`) and the request has it.
fn proxy_country(headers: &HeaderMap, name: Option<&str>) -> Option<String> {
    let value = headers.get(name?)?.to_str().ok()?;
    location::header_country(value)
}

fn all_rejected(rejected: Vec<EventError>) -> ApiError {
    let n = rejected.len();
    let first = rejected[0].clone();
    let mut err = ApiError::from(first);
    if n > 1 {
        err.error.message = format!("all {n} events were rejected; first: {}", err.error.message);
    }
    err.events = rejected;
    err
}
