//! RFM scores over HTTP: a refresh on demand. `relais_engine::rfm` does the
//! work (it also runs on a schedule).

use crate::api::{wait_if_asked, Admin, WaitParam};
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::{Query, State};
use axum::Json;
use relais_engine::rfm;

#[utoipa::path(post, path = "/api/v1/rfm/refresh", tag = "segments",
    params(("wait" = Option<u64>, Query, description = "first wait up to this many ms for ingested events to be processed")),
    responses((status = 200, description = "the workspace's new RFM cut points (20/40/60/80 % quantiles of days since the last order, order count and lifetime value over its buyers; `null` without buyers), the number of buyers, and the segments reading an RFM score, now being recomputed")),
    security(("admin_key" = [])))]
pub async fn refresh(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Query(q): Query<WaitParam>,
) -> ApiResult<Json<rfm::RefreshView>> {
    wait_if_asked(&state, q.wait).await?;
    Ok(Json(rfm::refresh(&state.engine, ws).await?))
}
