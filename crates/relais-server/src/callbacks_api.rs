//! Provider callbacks and inbound messages over HTTP: Twilio (status and
//! inbound SMS, `X-Twilio-Signature`), WhatsApp Cloud API (`GET` check with
//! the verify token, `POST` signed with `X-Hub-Signature-256`), and the
//! bounce/complaint intake for e-mail (admin key; a raw DSN/ARF message or
//! JSON). The work is in `relais_engine::messaging::callbacks`; this layer
//! checks who is calling and reads the body.

use crate::api::Admin;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use relais_channels::{email, sms::twilio, whatsapp};
use relais_core::ErrorCode;
use relais_engine::messaging::callbacks::{self, Applied};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/callbacks/twilio/status", post(twilio_status))
        .route("/callbacks/twilio/inbound", post(twilio_inbound))
        .route("/callbacks/whatsapp", get(whatsapp_verify).post(whatsapp_webhook))
        .route("/api/v1/feedback/email", post(email_feedback))
}

fn not_configured(what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("{what} is not configured on this server (see docs/channels.md)"),
    )
}

fn bad_signature(header: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        format!("the `{header}` signature does not match this request"),
    )
}

/// A Twilio form after its signature is checked. Twilio signs the URL it
/// called: our public URL (`channels.public_url`) and the path and query.
fn twilio_form(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Vec<(String, String)>> {
    let cfg = &state.engine.config.channels;
    let token = cfg
        .twilio
        .as_ref()
        .map(|t| t.auth_token.as_str())
        .ok_or_else(|| not_configured("Twilio"))?;
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let base = state.engine.messaging.signer.base().trim_end_matches('/');
    let full_url = format!("{base}{}", uri.path_and_query().map_or("", |p| p.as_str()));
    let given = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !twilio::verify_signature(token, &full_url, &form, given) {
        tracing::warn!(url = %full_url, "refused a Twilio callback: bad X-Twilio-Signature");
        return Err(bad_signature("X-Twilio-Signature"));
    }
    Ok(form)
}

pub async fn twilio_status(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Applied>> {
    let form = twilio_form(&state, &uri, &headers, &body)?;
    let update = twilio::parse_status_callback(&form).ok_or_else(|| {
        ApiError::new(
            ErrorCode::MissingField,
            "a status callback needs MessageSid and MessageStatus",
        )
    })?;
    Ok(Json(callbacks::twilio_status(&state.engine, &update).await?))
}

/// Answers TwiML with no reply: Twilio's own opt-out handling (or the
/// Messaging Service's) answers STOP/START/HELP; Relais records them.
pub async fn twilio_inbound(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form = twilio_form(&state, &uri, &headers, &body)?;
    let m = twilio::parse_inbound(&form).ok_or_else(|| {
        ApiError::new(
            ErrorCode::MissingField,
            "an inbound message needs From and MessageSid",
        )
    })?;
    callbacks::twilio_inbound(&state.engine, &m).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/xml")],
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>",
    )
        .into_response())
}

/// Meta's subscription check: echo `hub.challenge` when the token matches.
pub async fn whatsapp_verify(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<String> {
    let cfg = state.engine.config.channels.whatsapp.as_ref();
    let expected = cfg
        .and_then(|c| c.verify_token.as_deref())
        .ok_or_else(|| not_configured("channels.whatsapp.verify_token"))?;
    let ok = q.get("hub.mode").map(String::as_str) == Some("subscribe")
        && q.get("hub.verify_token").map(String::as_str) == Some(expected);
    if !ok {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "hub.mode must be `subscribe` and hub.verify_token the configured verify token",
        ));
    }
    q.get("hub.challenge")
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorCode::MissingField, "hub.challenge is missing"))
}

pub async fn whatsapp_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Applied>> {
    let cfg = state.engine.config.channels.whatsapp.as_ref();
    let secret = cfg
        .and_then(|c| c.app_secret.as_deref())
        .ok_or_else(|| not_configured("channels.whatsapp.app_secret"))?;
    let given = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !whatsapp::verify_signature(secret, &body, given) {
        tracing::warn!("refused a WhatsApp webhook: bad X-Hub-Signature-256");
        return Err(bad_signature("X-Hub-Signature-256"));
    }
    let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!("the webhook body is not JSON: {e}"),
        )
    })?;
    let events = whatsapp::parse_webhook(&v);
    Ok(Json(callbacks::whatsapp(&state.engine, &events).await?))
}

#[utoipa::path(post, path = "/api/v1/feedback/email", tag = "messages",
    request_body(content = callbacks::EmailFeedback, description = "a raw DSN (RFC 3464) or ARF (RFC 5965) message as `message/rfc822`, or JSON: one object or an array"),
    responses((status = 200, description = "what was applied: messages, suppressions, consent changes, unknown reports"),
              (status = 400, description = "not a report, or invalid JSON (nothing applied)")),
    security(("admin_key" = [])))]
pub async fn email_feedback(
    State(state): State<AppState>,
    Admin(ws): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Applied>> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let engine = &state.engine;
    let applied = if json {
        let v = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("the body is not JSON: {e}")))?;
        callbacks::email_json(engine, ws, callbacks::one_or_many(v)?).await?
    } else {
        let feedback = email::parse_feedback(&body)
            .map_err(|e| ApiError::new(ErrorCode::InvalidBody, format!("cannot read the report: {e}")))?;
        callbacks::email_report(engine, ws, feedback).await?
    };
    Ok(Json(applied))
}
