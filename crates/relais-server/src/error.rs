//! Errors as HTTP responses: a status, a stable code and a message.
//!
//! Body: `{"error": {"code": "missing_field", "message": "…", …}}`.
//! 503s carry `Retry-After`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use relais_core::message::EventError;
use relais_core::{Error, ErrorCode};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub error: Error,
    /// Per-event problems of a batch, when that is what went wrong.
    pub events: Vec<EventError>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        Error::new(code, message).into()
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError {
            error,
            events: Vec::new(),
        }
    }
}

impl From<relais_store::StoreError> for ApiError {
    fn from(e: relais_store::StoreError) -> Self {
        Error::from(e).into()
    }
}

impl From<EventError> for ApiError {
    fn from(e: EventError) -> Self {
        let where_ = match (&e.index, &e.field) {
            (Some(i), Some(f)) => format!("event {i}, field `{f}`: "),
            (Some(i), None) => format!("event {i}: "),
            (None, Some(f)) => format!("field `{f}`: "),
            (None, None) => String::new(),
        };
        ApiError {
            error: Error::new(e.code, format!("{where_}{}", e.message)),
            events: vec![e],
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.error.code;
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(code = %code, message = %self.error.message, "request failed");
        }
        let mut body = json!({"error": {"code": code, "message": self.error.message}});
        if !self.events.is_empty() {
            body["error"]["events"] = json!(self.events);
        }
        let mut resp = (status, Json(body)).into_response();
        if code == ErrorCode::Overloaded {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(relais_engine::ingest::RETRY_AFTER_SECS),
            );
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
