//! Journeys over HTTP (docs/journeys.md): definitions in JSON or YAML,
//! apply (journeys as code), activate/pause, trigger by API, statistics, a
//! profile's passages with every decision, and coupon pools. Thin: the
//! work is in `relais_engine::journeys`.

use crate::api::Admin;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use relais_core::ErrorCode;
use relais_engine::journeys::{self, coupons};
use serde::Deserialize;
use serde_json::Value;

const MAX_BODY: usize = 1 << 20;
const MAX_CODES_BODY: usize = 64 << 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/journeys", post(create).get(list))
        .route("/api/v1/journeys/apply", post(apply))
        .route("/api/v1/journeys/{id}", get(get_one).put(update))
        .route("/api/v1/journeys/{id}/activate", post(activate))
        .route("/api/v1/journeys/{id}/pause", post(pause))
        .route("/api/v1/journeys/{id}/trigger", post(trigger))
        .route("/api/v1/journeys/{id}/stats", get(stats))
        .route("/api/v1/profiles/{reference}/journeys", get(of_profile))
        .route("/api/v1/coupon-pools", get(pools))
        .route("/api/v1/coupon-pools/{pool}", get(pool))
        .route("/api/v1/coupon-pools/{pool}/codes", post(import_codes))
        .route("/api/v1/coupon-pools/{pool}/generate", post(generate_codes))
}

/// A definition from JSON, or YAML when the content type says so.
async fn document(headers: &HeaderMap, body: Body) -> ApiResult<Value> {
    let bytes = crate::tracking::read_body(headers, body, MAX_BODY).await?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if ct.contains("yaml") {
        let v: Value = serde_yaml_ng::from_slice(&bytes)
            .map_err(|e| ApiError::new(ErrorCode::InvalidBody, format!("the YAML does not parse: {e}")))?;
        return Ok(v);
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("the JSON does not parse: {e}")))
}

#[utoipa::path(post, path = "/api/v1/journeys", tag = "journeys",
    request_body(description = "a journey definition (docs/journeys.md)", content(("application/json"), ("application/yaml"))),
    responses((status = 201, description = "created as a draft", body = journeys::JourneyView),
              (status = 400, description = "invalid_journey: names the step and the problem", body = crate::openapi::ErrorBody),
              (status = 409, description = "a journey of that name exists", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Admin(ws): Admin,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<journeys::JourneyView>)> {
    let doc = document(&headers, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(journeys::create(&state.engine, ws, doc).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ApplyQuery {
    /// Activate after applying (`true`/`false`, default false).
    pub activate: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/journeys/apply", tag = "journeys", params(ApplyQuery),
    request_body(description = "a journey definition, matched by name", content(("application/json"), ("application/yaml"))),
    responses((status = 200, description = "created, updated (new version) or unchanged", body = journeys::ApplyOutcome),
              (status = 400, description = "invalid_journey", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn apply(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Query(q): Query<ApplyQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<journeys::ApplyOutcome>> {
    let doc = document(&headers, body).await?;
    Ok(Json(
        journeys::apply(&state.engine, ws, doc, q.activate.unwrap_or(false)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/journeys", tag = "journeys",
    responses((status = 200, description = "every journey of the workspace", body = Vec<journeys::JourneyView>)),
    security(("admin_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Admin(ws): Admin,
) -> ApiResult<Json<Vec<journeys::JourneyView>>> {
    Ok(Json(journeys::list(&state.engine, ws).await?))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}", tag = "journeys",
    responses((status = 200, body = journeys::JourneyView), (status = 404, body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<journeys::JourneyView>> {
    Ok(Json(journeys::get(&state.engine, ws, &id).await?))
}

#[utoipa::path(put, path = "/api/v1/journeys/{id}", tag = "journeys",
    request_body(description = "the new definition (same name)", content(("application/json"), ("application/yaml"))),
    responses((status = 200, description = "a new version; profiles inside finish theirs", body = journeys::JourneyView),
              (status = 400, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<journeys::JourneyView>> {
    let doc = document(&headers, body).await?;
    Ok(Json(journeys::update(&state.engine, ws, &id, doc).await?))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/activate", tag = "journeys",
    responses((status = 200, description = "entries open", body = journeys::JourneyView)),
    security(("admin_key" = [])))]
pub async fn activate(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<journeys::JourneyView>> {
    Ok(Json(
        journeys::set_status(&state.engine, ws, &id, "active").await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/pause", tag = "journeys",
    responses((status = 200, description = "no new entries; profiles inside hold until resumed", body = journeys::JourneyView)),
    security(("admin_key" = [])))]
pub async fn pause(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<journeys::JourneyView>> {
    Ok(Json(
        journeys::set_status(&state.engine, ws, &id, "paused").await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/trigger", tag = "journeys", request_body = journeys::TriggerRequest,
    responses((status = 200, description = "entered, or not (already inside, re-entry rule, entry condition)", body = journeys::TriggerOutcome),
              (status = 409, description = "the journey is not active", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn trigger(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
    Json(req): Json<journeys::TriggerRequest>,
) -> ApiResult<Json<journeys::TriggerOutcome>> {
    Ok(Json(journeys::trigger(&state.engine, ws, &id, req).await?))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}/stats", tag = "journeys",
    responses((status = 200, body = journeys::JourneyStats)),
    security(("admin_key" = [])))]
pub async fn stats(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<journeys::JourneyStats>> {
    Ok(Json(journeys::stats(&state.engine, ws, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/profiles/{reference}/journeys", tag = "journeys",
    responses((status = 200, description = "every passage of the profile, newest first, with every decision", body = Vec<journeys::PassageView>)),
    security(("admin_key" = [])))]
pub async fn of_profile(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(reference): Path<String>,
) -> ApiResult<Json<Vec<journeys::PassageView>>> {
    let pid = relais_engine::profiles::resolve_ref(&state.engine, ws, &reference).await?;
    Ok(Json(journeys::of_profile(&state.engine, ws, pid).await?))
}

#[utoipa::path(get, path = "/api/v1/coupon-pools", tag = "journeys",
    responses((status = 200, body = Vec<coupons::PoolView>)), security(("admin_key" = [])))]
pub async fn pools(
    State(state): State<AppState>,
    Admin(ws): Admin,
) -> ApiResult<Json<Vec<coupons::PoolView>>> {
    Ok(Json(coupons::list(&state.engine, ws).await?))
}

#[utoipa::path(get, path = "/api/v1/coupon-pools/{pool}", tag = "journeys",
    responses((status = 200, body = coupons::PoolView), (status = 404, body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn pool(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(pool): Path<String>,
) -> ApiResult<Json<coupons::PoolView>> {
    Ok(Json(coupons::stats(&state.engine, ws, &pool).await?))
}

#[utoipa::path(post, path = "/api/v1/coupon-pools/{pool}/codes", tag = "journeys",
    request_body(description = "CSV: one code per line (first column), optional `code` header", content_type = "text/csv", content = String),
    responses((status = 200, description = "the pool's counts after the import (codes already there are skipped)", body = coupons::PoolView),
              (status = 400, description = "a line that is not a code, named", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn import_codes(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(pool): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<coupons::PoolView>> {
    let bytes = crate::tracking::read_body(&headers, body, MAX_CODES_BODY).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::new(ErrorCode::InvalidBody, "the CSV is not UTF-8"))?;
    let codes = coupons::parse_csv(text)?;
    Ok(Json(coupons::import(&state.engine, ws, &pool, codes).await?))
}

#[utoipa::path(post, path = "/api/v1/coupon-pools/{pool}/generate", tag = "journeys", request_body = coupons::Generate,
    responses((status = 200, description = "the pool's counts after adding the codes", body = coupons::PoolView)),
    security(("admin_key" = [])))]
pub async fn generate_codes(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(pool): Path<String>,
    Json(g): Json<coupons::Generate>,
) -> ApiResult<Json<coupons::PoolView>> {
    Ok(Json(coupons::generate(&state.engine, ws, &pool, g).await?))
}
