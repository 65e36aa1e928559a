//! Segments and computed traits over HTTP. Handlers parse and authorise;
//! `relais_engine::segments` does the work.

use crate::api::{wait_if_asked, Admin, WaitParam};
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use relais_core::{ErrorCode, ProfileId, SegmentId, WorkspaceId};
use relais_engine::segments::{self, preview};
use relais_engine::{computed_traits, profiles};
use serde::Deserialize;
use serde_json::{json, Value};

fn body<T>(b: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.body_text()))
}

fn segment_id(s: &str) -> ApiResult<SegmentId> {
    SegmentId::parse(s).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("{s:?} is not a segment id (seg_<n>)"),
        )
    })
}

#[utoipa::path(post, path = "/api/v1/segments", tag = "segments",
    request_body(content = Value, description = "{\"name\", \"description\"?, \"condition\"} — see docs/conditions.md"),
    responses((status = 201, description = "created; computed over existing profiles in the background (`status: backfilling`)"),
              (status = 400, description = "invalid condition: the message names the node", body = crate::openapi::ErrorBody),
              (status = 409, description = "name taken", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn create_segment(
    State(state): State<AppState>,
    Admin(ws): Admin,
    b: Result<Json<segments::SegmentInput>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<segments::SegmentView>)> {
    let input = body(b)?;
    Ok((
        StatusCode::CREATED,
        Json(segments::create(&state.engine, ws, input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/segments", tag = "segments",
    responses((status = 200, description = "the workspace's segments with their live size")), security(("admin_key" = [])))]
pub async fn list_segments(State(state): State<AppState>, Admin(ws): Admin) -> ApiResult<Json<Value>> {
    let list = segments::list(&state.engine, ws).await?;
    Ok(Json(json!({ "segments": list })))
}

#[utoipa::path(get, path = "/api/v1/segments/{id}", tag = "segments",
    params(("id" = String, Path, description = "seg_<n>")),
    responses((status = 200, description = "definition, live size, backfill progress"),
              (status = 404, description = "no such segment", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn get_segment(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
    Query(q): Query<WaitParam>,
) -> ApiResult<Json<segments::SegmentView>> {
    wait_if_asked(&state, q.wait).await?;
    Ok(Json(segments::get(&state.engine, ws, segment_id(&id)?).await?))
}

#[utoipa::path(put, path = "/api/v1/segments/{id}", tag = "segments",
    params(("id" = String, Path, description = "seg_<n>")),
    request_body(content = Value, description = "{\"name\", \"description\"?, \"condition\"}"),
    responses((status = 200, description = "updated; a changed condition is recomputed in the background"),
              (status = 400, description = "invalid condition", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn update_segment(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
    b: Result<Json<segments::SegmentInput>, JsonRejection>,
) -> ApiResult<Json<segments::SegmentView>> {
    let id = segment_id(&id)?;
    let input = body(b)?;
    Ok(Json(segments::update(&state.engine, ws, id, input).await?))
}

#[utoipa::path(delete, path = "/api/v1/segments/{id}", tag = "segments",
    params(("id" = String, Path, description = "seg_<n>")),
    responses((status = 204, description = "deleted (membership history is kept)"),
              (status = 409, description = "another segment refers to it", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn delete_segment(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    segments::delete(&state.engine, ws, segment_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct MembersParams {
    pub after: Option<String>,
    pub limit: Option<usize>,
    pub wait: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/segments/{id}/members", tag = "segments",
    params(("id" = String, Path, description = "seg_<n>"),
           ("after" = Option<String>, Query, description = "cursor: `next_after` of the previous page"),
           ("limit" = Option<usize>, Query, description = "page size, 1-1000 (default 100)")),
    responses((status = 200, description = "members with their identifiers, by profile id")),
    security(("admin_key" = [])))]
pub async fn segment_members(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
    Query(p): Query<MembersParams>,
) -> ApiResult<Json<segments::MembersPage>> {
    wait_if_asked(&state, p.wait).await?;
    let after = match p.after.as_deref() {
        None | Some("") => None,
        Some(a) => Some(ProfileId::parse(a).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidField,
                format!("after={a:?} is not a profile id (prof_<n>)"),
            )
        })?),
    };
    let page = segments::members(&state.engine, ws, segment_id(&id)?, after, p.limit.unwrap_or(100)).await?;
    Ok(Json(page))
}

#[utoipa::path(post, path = "/api/v1/segments/preview", tag = "segments",
    request_body(content = Value, description = "{\"condition\", \"sample\"?, \"budget_ms\"?}"),
    responses((status = 200, description = "size (exact, or extrapolated past the time budget) and sample members"),
              (status = 400, description = "invalid condition", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn preview_segment(
    State(state): State<AppState>,
    Admin(ws): Admin,
    b: Result<Json<preview::PreviewInput>, JsonRejection>,
) -> ApiResult<Json<preview::PreviewView>> {
    let input = body(b)?;
    Ok(Json(preview::preview(&state.engine, ws, input).await?))
}

#[utoipa::path(get, path = "/api/v1/profiles/{ref}/segments", tag = "segments",
    params(("ref" = String, Path, description = "profile reference")),
    responses((status = 200, description = "current segments and membership history (newest first)")),
    security(("admin_key" = [])))]
pub async fn profile_segments(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(reference): Path<String>,
    Query(q): Query<WaitParam>,
) -> ApiResult<Json<segments::ProfileSegments>> {
    wait_if_asked(&state, q.wait).await?;
    let id = profiles::resolve_ref(&state.engine, ws, &reference).await?;
    let id = current(&state, ws, id).await?;
    Ok(Json(segments::of_profile(&state.engine, ws, id).await?))
}

/// Follows merges: the profile that holds `id` now.
async fn current(state: &AppState, ws: WorkspaceId, id: ProfileId) -> ApiResult<ProfileId> {
    let p = state
        .engine
        .store
        .get_profile(ws, id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no profile {id}")))?;
    Ok(p.id)
}

#[utoipa::path(put, path = "/api/v1/computed-traits/{name}", tag = "segments",
    params(("name" = String, Path, description = "the trait's name")),
    request_body(content = Value, description = "{\"event\", \"where\"?, \"within\"|\"between\"?, \"fn\", \"property\"?} — see docs/conditions.md"),
    responses((status = 200, description = "saved"), (status = 400, description = "invalid definition", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn put_computed_trait(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(name): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let def = body(b)?;
    Ok(Json(computed_traits::put(&state.engine, ws, &name, def).await?))
}

#[utoipa::path(get, path = "/api/v1/computed-traits", tag = "segments",
    responses((status = 200, description = "user-defined computed traits")), security(("admin_key" = [])))]
pub async fn list_computed_traits(State(state): State<AppState>, Admin(ws): Admin) -> ApiResult<Json<Value>> {
    Ok(Json(computed_traits::list(&state.engine, ws).await?))
}

#[utoipa::path(delete, path = "/api/v1/computed-traits/{name}", tag = "segments",
    params(("name" = String, Path, description = "the trait's name")),
    responses((status = 204, description = "deleted"), (status = 409, description = "a segment uses it", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn delete_computed_trait(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    computed_traits::delete(&state.engine, ws, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
