//! The public side of messages: the open pixel, the click redirect, one-click
//! unsubscribe (RFC 8058) and the preference centre. No key: the signed link
//! is the credential. Pages are small, plain HTML.

use crate::AppState;
use axum::extract::{Form, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use relais_engine::messaging::engagement::{self, PREFERENCE_CHANNELS};
use std::collections::HashMap;

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
    0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Always the pixel (a broken image helps nobody); the open is recorded when the link is genuine.
pub async fn open(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    if let Err(e) = engagement::open(&state.engine, token.trim_end_matches(".gif")).await {
        tracing::debug!(error = %e, "open pixel not recorded");
    }
    (
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PIXEL,
    )
        .into_response()
}

pub async fn click(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match engagement::click(&state.engine, &token).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => page(StatusCode::NOT_FOUND, "Link not found", &escape(&e.message)),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}\
         button{{padding:.5rem 1rem}}</style></head><body><h1>{title}</h1>{body}</body></html>"
    );
    (status, Html(html)).into_response()
}

/// The link in the message: a confirmation page (mail scanners follow GET
/// links; only the POST unsubscribes).
pub async fn unsubscribe_page(Path(token): Path<String>) -> Response {
    let token = escape(&token);
    page(
        StatusCode::OK,
        "Unsubscribe",
        &format!(
            "<p>Stop receiving these messages?</p><form method=\"post\" action=\"{token}\">\
             <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\"><button>Unsubscribe</button></form>"
        ),
    )
}

/// RFC 8058 one-click (the mailbox provider POSTs `List-Unsubscribe=One-Click`)
/// and the confirmation form: both unsubscribe.
pub async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match engagement::unsubscribe(&state.engine, &token).await {
        Ok(u) => page(
            StatusCode::OK,
            "You are unsubscribed",
            &format!(
                "<p>You will not receive these {} messages any more.</p><p><a href=\"{}\">Manage all your preferences</a></p>",
                escape(&u.channel),
                escape(&u.preferences_url)
            ),
        ),
        Err(e) => page(StatusCode::NOT_FOUND, "Link not found", &escape(&e.message)),
    }
}

pub async fn preferences_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match engagement::preferences(&state.engine, &token).await {
        Ok((_, _, p)) => {
            let rows: String = PREFERENCE_CHANNELS
                .iter()
                .map(|c| {
                    let on = p.consent.get(*c).is_some_and(|s| s == "subscribed");
                    let off = p.consent.get(*c).is_some_and(|s| s == "unsubscribed");
                    format!(
                        "<p><b>{c}</b> — {} <button name=\"{c}\" value=\"{}\">{}</button></p>",
                        if on {
                            "subscribed"
                        } else if off {
                            "unsubscribed"
                        } else {
                            "no choice yet"
                        },
                        if on { "unsubscribed" } else { "subscribed" },
                        if on { "Unsubscribe" } else { "Subscribe" },
                    )
                })
                .collect();
            page(
                StatusCode::OK,
                "Your preferences",
                &format!("<form method=\"post\">{rows}</form>"),
            )
        }
        Err(e) => page(StatusCode::NOT_FOUND, "Link not found", &escape(&e.message)),
    }
}

pub async fn set_preferences(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    for (channel, value) in &form {
        let subscribed = match value.as_str() {
            "subscribed" => true,
            "unsubscribed" => false,
            _ => {
                return page(
                    StatusCode::BAD_REQUEST,
                    "Not understood",
                    "<p>Choose subscribed or unsubscribed.</p>",
                )
            }
        };
        if let Err(e) = engagement::set_preference(&state.engine, &token, channel, subscribed).await {
            let status = if e.code == relais_core::ErrorCode::NotFound {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::BAD_REQUEST
            };
            return page(status, "Not saved", &escape(&e.message));
        }
    }
    page(
        StatusCode::OK,
        "Preferences saved",
        "<p>Thank you. Your choice applies within seconds.</p>",
    )
}
