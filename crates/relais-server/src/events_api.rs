//! The catalogue of event names over HTTP: what each workspace has tracked
//! (journeys warn about names never seen). Thin: the work is in
//! `relais_engine::event_names`.

use crate::api::{wait_if_asked, Admin, WaitParam};
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use relais_engine::event_names;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/events/names", get(names))
}

#[utoipa::path(get, path = "/api/v1/events/names", tag = "events",
    params(("wait" = Option<u64>, Query, description = "first wait up to this many ms for ingested events to be processed")),
    responses((status = 200, description = "every tracked event name the workspace has seen, by name, with when it was first and last seen and about how often; and Relais' own event names", body = event_names::EventNamesView),
              (status = 401, description = "no or unknown admin key", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn names(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Query(q): Query<WaitParam>,
) -> ApiResult<Json<event_names::EventNamesView>> {
    wait_if_asked(&state, q.wait).await?;
    Ok(Json(event_names::list(&state.engine, ws).await?))
}
