//! The admin REST API (`/api/v1/…`, admin key as `Authorization: Bearer`).
//! Handlers parse and authorise; the engine does the work.

use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use relais_core::{Error, ErrorCode, WorkspaceId};
use relais_engine::{admin, profiles};
use relais_store::TimelineQuery;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// The workspace of the admin key the request carries.
pub struct Admin(pub WorkspaceId);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "send an admin key as `Authorization: Bearer <key>`",
                )
            })?;
        Ok(Admin(state.engine.auth.admin(key).await?))
    }
}

const MAX_WAIT: Duration = Duration::from_secs(60);

/// `?wait=<ms>`: wait until everything ingested before this request is
/// processed (for scripts and tests; never needed in steady state).
pub(crate) async fn wait_if_asked(state: &AppState, wait_ms: Option<u64>) -> ApiResult<()> {
    let Some(ms) = wait_ms else { return Ok(()) };
    let head = state.engine.store.log_head().await?;
    let timeout = Duration::from_millis(ms).min(MAX_WAIT);
    if !state.engine.pipeline.wait_processed(head, timeout).await {
        return Err(ApiError::new(
            ErrorCode::Timeout,
            format!("events up to #{head} were not processed within {ms} ms"),
        ));
    }
    Ok(())
}

#[derive(Deserialize, Default)]
pub struct WaitParam {
    pub wait: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/profiles/{ref}", tag = "profiles",
    params(("ref" = String, Path, description = "prof_<n> or type:value (email:…, phone:…, user_id:…, anonymous_id:…, loyalty_id:…)"),
           ("wait" = Option<u64>, Query, description = "wait up to this many ms for ingested events to be processed")),
    responses((status = 200, description = "the 360° profile"), (status = 404, description = "no such profile", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn get_profile(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(reference): Path<String>,
    Query(q): Query<WaitParam>,
) -> ApiResult<Json<profiles::ProfileView>> {
    wait_if_asked(&state, q.wait).await?;
    let id = profiles::resolve_ref(&state.engine, ws, &reference).await?;
    Ok(Json(profiles::get(&state.engine, ws, id).await?))
}

#[derive(Deserialize)]
pub struct TimelineParams {
    pub before: Option<i64>,
    pub limit: Option<usize>,
    pub channel: Option<String>,
    pub event: Option<String>,
    pub wait: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/profiles/{ref}/events", tag = "profiles",
    params(("ref" = String, Path, description = "profile reference"),
           ("before" = Option<i64>, Query, description = "cursor: `next_before` of the previous page"),
           ("limit" = Option<usize>, Query, description = "page size, 1-500 (default 50)"),
           ("channel" = Option<String>, Query, description = "only this touchpoint channel"),
           ("event" = Option<String>, Query, description = "only this event (or page/screen) name"),
           ("wait" = Option<u64>, Query, description = "wait for processing, ms")),
    responses((status = 200, description = "the cross-channel timeline, newest first")),
    security(("admin_key" = [])))]
pub async fn profile_events(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(reference): Path<String>,
    Query(p): Query<TimelineParams>,
) -> ApiResult<Json<profiles::TimelinePage>> {
    wait_if_asked(&state, p.wait).await?;
    let id = profiles::resolve_ref(&state.engine, ws, &reference).await?;
    let q = TimelineQuery {
        before: p.before,
        limit: p.limit.unwrap_or(50),
        channel: p.channel,
        name: p.event,
    };
    Ok(Json(profiles::timeline(&state.engine, ws, id, q).await?))
}

#[derive(Deserialize)]
pub struct SearchParams {
    pub q: Option<String>,
    pub limit: Option<usize>,
    pub wait: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/profiles", tag = "profiles",
    params(("q" = String, Query, description = "e-mail, phone, loyalty id, type:value, or the start of a name"),
           ("limit" = Option<usize>, Query, description = "at most this many (1-100, default 20)")),
    responses((status = 200, description = "matching profiles"), (status = 400, description = "no query", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn search_profiles(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Query(p): Query<SearchParams>,
) -> ApiResult<Json<Value>> {
    wait_if_asked(&state, p.wait).await?;
    let q = p.q.unwrap_or_default();
    let found = profiles::search(&state.engine, ws, &q, p.limit.unwrap_or(20)).await?;
    Ok(Json(json!({ "profiles": found })))
}

#[utoipa::path(get, path = "/api/v1/profiles/{ref}/export", tag = "privacy",
    params(("ref" = String, Path, description = "profile reference")),
    responses((status = 200, description = "everything held on the person (right of access)")),
    security(("admin_key" = [])))]
pub async fn export_profile(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(reference): Path<String>,
) -> ApiResult<Json<profiles::Export>> {
    let id = profiles::resolve_ref(&state.engine, ws, &reference).await?;
    Ok(Json(profiles::export(&state.engine, ws, id).await?))
}

#[utoipa::path(delete, path = "/api/v1/profiles/{ref}", tag = "privacy",
    params(("ref" = String, Path, description = "profile reference")),
    responses((status = 200, description = "erased: profile, identifiers and event payloads removed; an audit record stays")),
    security(("admin_key" = [])))]
pub async fn erase_profile(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(reference): Path<String>,
) -> ApiResult<Json<profiles::ErasureReport>> {
    let id = profiles::resolve_ref(&state.engine, ws, &reference).await?;
    Ok(Json(profiles::erase(&state.engine, ws, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewSource {
    /// Unique in the workspace.
    pub name: String,
    /// Default touchpoint channel of its events: web, app, store, call_centre, crm, server, …
    pub channel: String,
}

#[utoipa::path(post, path = "/api/v1/sources", tag = "admin", request_body = NewSource,
    responses((status = 201, description = "the source and its write key (shown once)"),
              (status = 409, description = "name taken", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn create_source(
    State(state): State<AppState>,
    Admin(ws): Admin,
    body: Result<Json<NewSource>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(body) = body.map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.body_text()))?;
    let (source, key) =
        admin::create_source(&state.engine.store, ws, &body.name, &body.channel, None).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"source": source_json(&source), "write_key": key})),
    ))
}

fn source_json(s: &relais_store::Source) -> Value {
    json!({"id": s.id.to_string(), "name": s.name, "channel": s.channel,
           "created_at": relais_core::time::format_ms(s.created_at)})
}

#[utoipa::path(get, path = "/api/v1/sources", tag = "admin",
    responses((status = 200, description = "the workspace's sources")), security(("admin_key" = [])))]
pub async fn list_sources(State(state): State<AppState>, Admin(ws): Admin) -> ApiResult<Json<Value>> {
    let sources = state.engine.store.list_sources(ws).await?;
    Ok(Json(
        json!({"sources": sources.iter().map(source_json).collect::<Vec<_>>()}),
    ))
}

#[utoipa::path(get, path = "/api/v1/pipeline", tag = "admin",
    params(("wait" = Option<u64>, Query, description = "first wait up to this many ms for everything ingested so far to be processed")),
    responses((status = 200, description = "log head, processed position and lag"),
              (status = 504, description = "not processed in time", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn pipeline(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<WaitParam>,
) -> ApiResult<Json<Value>> {
    wait_if_asked(&state, q.wait).await?;
    let head = state.engine.store.log_head().await?;
    let processed = state.engine.pipeline.processed();
    Ok(Json(
        json!({"log_head": head, "processed": processed, "lag_events": (head - processed).max(0)}),
    ))
}

/// Fallback for unknown paths: a JSON 404 like every other error.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    Error::new(ErrorCode::NotFound, format!("no route for {}", uri.path())).into()
}
