//! Files for partners over HTTP: the print shop's daily batch of letters
//! (CSV + PDF) and a segment as an ads audience (Meta / Google CSV). Thin:
//! the work is in `relais_engine::messaging::exports`.

use crate::api::Admin;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use relais_core::{ErrorCode, SegmentId};
use relais_engine::messaging::exports;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/exports/letters/{date}/letters.csv", get(letters_csv))
        .route("/api/v1/exports/letters/{date}/letters.pdf", get(letters_pdf))
        .route("/api/v1/segments/{id}/audience", get(audience))
}

fn attachment(content_type: &'static str, file_name: String, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/exports/letters/{date}/letters.csv", tag = "exports",
    params(("date" = String, Path, description = "the batch day, YYYY-MM-DD (the printer's time zone)")),
    responses((status = 200, description = "one row per letter of the batch: message_id,name,company,line1,line2,postal_code,city,state,country,pages", content_type = "text/csv", body = String),
              (status = 400, description = "not a date (invalid_field)", body = crate::openapi::ErrorBody),
              (status = 404, description = "no letter in that batch", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn letters_csv(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(date): Path<String>,
) -> ApiResult<Response> {
    let date = exports::parse_date(&date)?;
    let f = exports::letters_batch(&state.engine.store, ws, date).await?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        format!("{}.csv", f.batch),
        f.csv,
    ))
}

#[utoipa::path(get, path = "/api/v1/exports/letters/{date}/letters.pdf", tag = "exports",
    params(("date" = String, Path, description = "the batch day, YYYY-MM-DD (the printer's time zone)")),
    responses((status = 200, description = "every letter of the batch, A4 for DL window envelopes, each starting on an odd page", content_type = "application/pdf", body = Vec<u8>),
              (status = 400, description = "not a date (invalid_field)", body = crate::openapi::ErrorBody),
              (status = 404, description = "no letter in that batch", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn letters_pdf(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(date): Path<String>,
) -> ApiResult<Response> {
    let date = exports::parse_date(&date)?;
    let f = exports::letters_batch(&state.engine.store, ws, date).await?;
    Ok(attachment("application/pdf", format!("{}.pdf", f.batch), f.pdf))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AudienceQuery {
    /// `meta` (Custom Audiences) or `google` (Customer Match).
    pub platform: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/segments/{id}/audience", tag = "segments", params(AudienceQuery),
    responses((status = 200, description = "hashed e-mails and phones of the members that marketing may use (control group, unsubscribed and suppressed addresses left out)", content_type = "text/csv", body = String),
              (status = 400, description = "platform missing or not meta/google (invalid_field)", body = crate::openapi::ErrorBody),
              (status = 404, description = "no such segment", body = crate::openapi::ErrorBody),
              (status = 409, description = "the segment is still backfilling", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn audience(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
    Query(q): Query<AudienceQuery>,
) -> ApiResult<Response> {
    let name = q.platform.ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidField,
            "platform: missing (?platform=meta or ?platform=google)",
        )
    })?;
    let platform = exports::parse_platform(&name)?;
    let segment = SegmentId::parse(&id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("{id:?} is not a segment id (seg_<n>)"),
        )
    })?;
    let e = &state.engine;
    let out = exports::audience(
        &e.store,
        &e.config.governance,
        ws,
        segment,
        platform,
        &mut |_, _| {},
    )
    .await?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        format!("{segment}-{name}.csv"),
        out.csv,
    ))
}
