//! The in-app and web inbox over HTTP (docs/channels/inbox.md): an app or
//! site lists its user's in-app messages, follows new ones live
//! (server-sent events) and reports reads, clicks and dismissals.
//!
//! Every inbox request carries the write key (like tracking) and the user id
//! with its `user_hash` (identity verification): the write key is public, the
//! hash is what keeps one user out of another's inbox. Thin over
//! `relais_engine::messaging::inbox`.

use crate::api::Admin;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream;
use relais_core::ErrorCode;
use relais_engine::messaging::inbox::{self, Action, InboxMessage, InboxPage, InboxQuery, LiveEvent, Viewer};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::time::Instant;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// A stream ends after this long and the browser reconnects (resuming from
/// its `Last-Event-ID`, so nothing is lost): an open stream would otherwise
/// hold a graceful shutdown forever, and proxies drop very long responses.
const STREAM_LIFETIME: Duration = Duration::from_secs(30);
/// How soon EventSource reconnects after a stream ends.
const RECONNECT: Duration = Duration::from_secs(1);
/// Comments on a quiet stream, so proxies keep the connection.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub fn routes() -> Router<AppState> {
    // Browsers call the inbox cross-origin, as they send events.
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request())
        .allow_credentials(true)
        .max_age(Duration::from_secs(86_400));
    let public = Router::new()
        .route("/v1/inbox", get(list))
        .route("/v1/inbox/stream", get(live))
        .route("/v1/inbox/{message_id}/read", post(read))
        .route("/v1/inbox/{message_id}/click", post(click))
        .route("/v1/inbox/{message_id}/dismiss", post(dismiss))
        .layer(cors);
    public.route("/api/v1/inbox/identity-secret", get(identity_secret))
}

/// Who is asking, for requests that cannot set headers (EventSource,
/// `navigator.sendBeacon`); the headers win when both are sent.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhoParams {
    /// The user id (or header `X-Relais-User-Id`).
    pub user_id: Option<String>,
    /// hex HMAC-SHA256 of the user id under the workspace's identity secret
    /// (or header `X-Relais-User-Hash`).
    pub user_hash: Option<String>,
    /// The write key, when it cannot go in `Authorization` (EventSource).
    pub write_key: Option<String>,
}

/// A verified inbox viewer: write key, then user id and hash.
pub struct Verified(pub Viewer);

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

impl FromRequestParts<AppState> for Verified {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let q = Query::<WhoParams>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .map_err(|e| ApiError::new(ErrorCode::InvalidField, format!("query: {e}")))?;
        let key = crate::tracking::header_key(&parts.headers)
            .or(q.write_key)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "no write key: send it as the HTTP Basic user name, as `Authorization: Bearer <key>` \
                 or as the `write_key` query parameter",
                )
            })?;
        let (ws, _) = state.engine.auth.writer(&key).await?;
        let h = &parts.headers;
        let user_id = header_str(h, "x-relais-user-id").or(q.user_id.as_deref());
        let hash = header_str(h, "x-relais-user-hash").or(q.user_hash.as_deref());
        Ok(Verified(inbox::verify(&state.engine, ws, user_id, hash).await?))
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1–100, default 20.
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Also list dismissed messages (default false).
    #[serde(default)]
    pub include_dismissed: bool,
}

#[utoipa::path(get, path = "/v1/inbox", tag = "inbox", params(WhoParams, PageParams),
    responses((status = 200, description = "the user's delivered in-app messages, newest first, with read/clicked/dismissed state and the unread count", body = InboxPage),
              (status = 400, description = "user_id missing (missing_field) or a bad cursor", body = crate::openapi::ErrorBody),
              (status = 401, description = "no or unknown write key", body = crate::openapi::ErrorBody),
              (status = 403, description = "user_hash missing or not the HMAC of user_id (forbidden)", body = crate::openapi::ErrorBody)),
    security(("write_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Verified(v): Verified,
    Query(p): Query<PageParams>,
) -> ApiResult<Json<InboxPage>> {
    let q = InboxQuery {
        limit: p.limit,
        cursor: p.cursor,
        include_dismissed: p.include_dismissed,
    };
    Ok(Json(inbox::list(&state.engine, &v, &q).await?))
}

fn live_event(e: LiveEvent, resume: i64) -> Result<Event, axum::Error> {
    let base = Event::default().id(resume.to_string());
    match e {
        LiveEvent::Message(m) => base.event("message").json_data(m),
        // EventSource drops events without data: say why.
        LiveEvent::Resync => Ok(base
            .event("resync")
            .data(r#"{"reason":"messages may have been missed"}"#)),
    }
}

#[utoipa::path(get, path = "/v1/inbox/stream", tag = "inbox", params(WhoParams,
        ("Last-Event-ID" = Option<String>, Header, description = "sent by EventSource when it reconnects: the messages delivered since are sent first")),
    responses((status = 200, content_type = "text/event-stream", body = String,
                description = "server-sent events: `message` (data: an inbox message as JSON) for each newly delivered in-app message of this user; `resync` when messages may have been missed (fetch /v1/inbox again). The stream ends every 30 s; EventSource reconnects and resumes by itself."),
              (status = 401, description = "no or unknown write key", body = crate::openapi::ErrorBody),
              (status = 403, description = "user_hash missing or wrong", body = crate::openapi::ErrorBody)),
    security(("write_key" = [])))]
pub async fn live(
    State(state): State<AppState>,
    Verified(v): Verified,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let since = header_str(&headers, "last-event-id").and_then(|s| s.parse::<i64>().ok());
    let live = inbox::live(state.engine.clone(), v, since).await?;
    let deadline = Instant::now() + STREAM_LIFETIME;
    let closing = state.closing.subscribe();
    let events = stream::unfold(
        (live, closing, true),
        move |(mut live, mut closing, first)| async move {
            if first {
                // Sets the reconnection delay and a resume point, so a client
                // that saw no message yet still resumes without a gap.
                let hello = Event::default()
                    .retry(RECONNECT)
                    .id(live.resume_point().to_string())
                    .comment("connected");
                return Some((Ok(hello), (live, closing, false)));
            }
            let e = tokio::select! {
                e = tokio::time::timeout_at(deadline, live.next()) => e.ok().flatten()?,
                // The server is stopping: end now, the client reconnects to the next one.
                _ = closing.wait_for(|c| *c) => return None,
            };
            let event = live_event(e, live.resume_point());
            Some((event, (live, closing, false)))
        },
    );
    // nginx and others buffer responses unless told not to.
    let headers = [(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    )];
    Ok((
        headers,
        Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)),
    ))
}

/// `POST /v1/inbox/{id}/click` body (optional): the URL that was followed.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ClickBody {
    pub url: Option<String>,
}

async fn act(state: &AppState, v: &Viewer, id: &str, action: Action) -> ApiResult<Json<InboxMessage>> {
    Ok(Json(inbox::act(&state.engine, v, id, action).await?))
}

#[utoipa::path(post, path = "/v1/inbox/{message_id}/read", tag = "inbox", params(("message_id" = String, Path), WhoParams),
    responses((status = 200, description = "read (the first time is kept; `In-App Message Viewed` is logged once)", body = InboxMessage),
              (status = 403, description = "user_hash missing or wrong", body = crate::openapi::ErrorBody),
              (status = 404, description = "no such delivered in-app message in this user's inbox", body = crate::openapi::ErrorBody)),
    security(("write_key" = [])))]
pub async fn read(
    State(state): State<AppState>,
    Verified(v): Verified,
    Path(id): Path<String>,
) -> ApiResult<Json<InboxMessage>> {
    act(&state, &v, &id, Action::Read).await
}

#[utoipa::path(post, path = "/v1/inbox/{message_id}/click", tag = "inbox", params(("message_id" = String, Path), WhoParams),
    request_body(content = Option<ClickBody>, description = "optional: the URL followed (each distinct URL is one `In-App Message Clicked`)"),
    responses((status = 200, description = "clicked (implies read)", body = InboxMessage),
              (status = 400, description = "a body that is not `{\"url\": …}`", body = crate::openapi::ErrorBody),
              (status = 403, description = "user_hash missing or wrong", body = crate::openapi::ErrorBody),
              (status = 404, description = "no such delivered in-app message in this user's inbox", body = crate::openapi::ErrorBody)),
    security(("write_key" = [])))]
pub async fn click(
    State(state): State<AppState>,
    Verified(v): Verified,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<InboxMessage>> {
    // Any content type: navigator.sendBeacon posts text/plain.
    let b: ClickBody = if body.iter().all(u8::is_ascii_whitespace) {
        ClickBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("body: {e}")))?
    };
    act(&state, &v, &id, Action::Click { url: b.url }).await
}

#[utoipa::path(post, path = "/v1/inbox/{message_id}/dismiss", tag = "inbox", params(("message_id" = String, Path), WhoParams),
    responses((status = 200, description = "dismissed: no longer listed (`In-App Message Dismissed` logged once)", body = InboxMessage),
              (status = 403, description = "user_hash missing or wrong", body = crate::openapi::ErrorBody),
              (status = 404, description = "no such delivered in-app message in this user's inbox", body = crate::openapi::ErrorBody)),
    security(("write_key" = [])))]
pub async fn dismiss(
    State(state): State<AppState>,
    Verified(v): Verified,
    Path(id): Path<String>,
) -> ApiResult<Json<InboxMessage>> {
    act(&state, &v, &id, Action::Dismiss).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdentitySecret {
    /// The key of `user_hash = hex(HMAC-SHA256(secret, user_id))`; keep it on
    /// the brand's servers, never in an app.
    pub secret: String,
}

#[utoipa::path(get, path = "/api/v1/inbox/identity-secret", tag = "inbox",
    responses((status = 200, description = "the workspace's identity-verification secret (generated on first use)", body = IdentitySecret)),
    security(("admin_key" = [])))]
pub async fn identity_secret(
    State(state): State<AppState>,
    Admin(ws): Admin,
) -> ApiResult<Json<IdentitySecret>> {
    Ok(Json(IdentitySecret {
        secret: inbox::identity_secret(&state.engine, ws).await?,
    }))
}
