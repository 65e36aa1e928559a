//! The Standard Webhooks provider against local receivers: signatures checked
//! with `verify` and recomputed independently, the SSRF guard (literal IPs,
//! names resolving to loopback), redirects, and answer handling.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, post};
use axum::Router;
use base64::Engine;
use hmac::{Hmac, Mac};
use relais_channels::webhook::{self, WebhookConfig, WebhookProvider, WebhookSecret};
use relais_channels::{Address, Content, Outgoing, Provider, SendError, WebhookContent};
use serde_json::{json, Value};
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Default)]
struct Receiver {
    hits: Mutex<Vec<(String, HeaderMap, Bytes)>>,
}

async fn record(
    State(r): State<Arc<Receiver>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    r.hits
        .lock()
        .unwrap()
        .push((path.clone(), headers.clone(), body.clone()));
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let verified = webhook::verify(&secret, &headers, &body, Duration::from_secs(300)).is_ok();
    match path.as_str() {
        "/ok" if verified => axum::Json(json!({"received": true})).into_response(),
        "/ok" => (StatusCode::UNAUTHORIZED, "bad signature").into_response(),
        "/text" => "thanks".into_response(),
        "/big" => "é".repeat(100).into_response(),
        "/redirect" => Redirect::temporary("/ok").into_response(),
        "/gone" => (StatusCode::GONE, "endpoint disabled").into_response(),
        "/busy" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "12")],
            "slow down",
        )
            .into_response(),
        "/fail" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "/bad" => (StatusCode::BAD_REQUEST, "nope").into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn start() -> (Arc<Receiver>, SocketAddr) {
    let r = Arc::new(Receiver::default());
    let app = Router::new()
        .route("/{*path}", any(record))
        .route("/", post(record))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, addr)
}

fn open_config() -> WebhookConfig {
    let mut c = WebhookConfig::new(SECRET);
    c.allow_private = true;
    c.timeout_secs = 5;
    c
}

fn event(url: String) -> Outgoing {
    Outgoing {
        id: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W".into(),
        to: Address::Url { url },
        content: Content::Webhook(WebhookContent {
            event_type: "journey.step".into(),
            payload: json!({"profile_id": "p_42", "step": "welcome"}),
            store_response: None,
        }),
    }
}

/// HMAC-SHA256 over `{id}.{timestamp}.{body}` with the decoded secret, written
/// here from the spec rather than through the crate's own `sign`.
fn recompute(headers: &HeaderMap, body: &[u8]) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.strip_prefix("whsec_").unwrap())
        .unwrap();
    let id = headers["webhook-id"].to_str().unwrap();
    let ts = headers["webhook-timestamp"].to_str().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn delivers_a_signed_event() {
    let (r, addr) = start().await;
    let p = WebhookProvider::new(open_config()).unwrap();
    assert_eq!(p.name(), "webhook");
    let ok = p.send(&event(format!("http://{addr}/ok"))).await.unwrap();
    assert_eq!(
        ok.detail,
        Some(json!({"status": 200, "body": {"received": true}, "truncated": false, "json": true}))
    );
    let hits = r.hits.lock().unwrap().clone();
    let (_, headers, body) = &hits[0];
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["webhook-id"], "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
    assert_eq!(
        headers["webhook-signature"].to_str().unwrap(),
        recompute(headers, body)
    );
    let ts: i64 = headers["webhook-timestamp"].to_str().unwrap().parse().unwrap();
    assert!((jiff::Timestamp::now().as_second() - ts).abs() < 60);
    let v: Value = serde_json::from_slice(body).unwrap();
    let rfc3339 = jiff::Timestamp::from_second(ts).unwrap().to_string();
    assert_eq!(
        v,
        json!({"type": "journey.step", "timestamp": rfc3339, "data": {"profile_id": "p_42", "step": "welcome"}})
    );
}

#[tokio::test]
async fn answers_are_kept_short() {
    let (_r, addr) = start().await;
    let mut cfg = open_config();
    cfg.max_response_bytes = 51;
    let p = WebhookProvider::new(cfg).unwrap();
    let ok = p.send(&event(format!("http://{addr}/text"))).await.unwrap();
    let detail = ok.detail.unwrap();
    assert_eq!(
        (&detail["body"], &detail["json"]),
        (&json!("thanks"), &json!(false))
    );
    let ok = p.send(&event(format!("http://{addr}/big"))).await.unwrap();
    let detail = ok.detail.unwrap();
    // 51 bytes would cut an "é" in two: 25 whole characters are kept.
    assert_eq!(detail["body"], "é".repeat(25));
    assert_eq!(detail["truncated"], true);
    assert_eq!(detail["json"], false, "a cut answer is not read as JSON");
}

#[tokio::test]
async fn loopback_is_refused_by_default() {
    let (r, addr) = start().await;
    let strict = WebhookProvider::new(WebhookConfig::new(SECRET)).unwrap();
    for url in [
        format!("http://{addr}/ok"),
        format!("http://localhost:{}/ok", addr.port()),
        format!("http://[::1]:{}/ok", addr.port()),
        format!("http://2130706433:{}/ok", addr.port()),
    ] {
        let e = strict.send(&event(url.clone())).await.unwrap_err();
        let SendError::Permanent { reason, .. } = &e else {
            panic!("{url}: {e:?}");
        };
        assert!(
            reason.contains("resolves to a private address"),
            "{url}: {reason}"
        );
    }
    let e = strict
        .send(&event("ftp://example.com/x".into()))
        .await
        .unwrap_err();
    assert!(!e.is_retryable());
    let e = strict.send(&event("not a url".into())).await.unwrap_err();
    assert!(
        matches!(
            e,
            SendError::Permanent {
                invalid_address: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(r.hits.lock().unwrap().is_empty(), "nothing reached the receiver");
}

#[tokio::test]
async fn exceptions_allow_private_destinations() {
    let (r, addr) = start().await;
    let open = WebhookProvider::new(open_config()).unwrap();
    open.send(&event(format!("http://{addr}/ok"))).await.unwrap();
    let mut cfg = WebhookConfig::new(SECRET);
    cfg.allowed_hosts = vec!["LocalHost".into()];
    let listed = WebhookProvider::new(cfg).unwrap();
    listed
        .send(&event(format!("http://localhost:{}/ok", addr.port())))
        .await
        .unwrap();
    let e = listed
        .send(&event(format!("http://{addr}/ok")))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("private address"), "{e}");
    assert_eq!(r.hits.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (r, addr) = start().await;
    let p = WebhookProvider::new(open_config()).unwrap();
    let e = p
        .send(&event(format!("http://{addr}/redirect")))
        .await
        .unwrap_err();
    let SendError::Permanent { reason, .. } = &e else {
        panic!("{e:?}");
    };
    assert!(
        reason.contains("307") && reason.contains("not followed"),
        "{reason}"
    );
    let paths: Vec<String> = r.hits.lock().unwrap().iter().map(|h| h.0.clone()).collect();
    assert_eq!(paths, ["/redirect"]);
}

#[tokio::test]
async fn error_statuses_are_classified() {
    let (_r, addr) = start().await;
    let p = WebhookProvider::new(open_config()).unwrap();
    let url = |path: &str| format!("http://{addr}{path}");
    let e = p.send(&event(url("/gone"))).await.unwrap_err();
    assert!(
        matches!(
            e,
            SendError::Permanent {
                invalid_address: true,
                ..
            }
        ),
        "{e:?}"
    );
    let e = p.send(&event(url("/busy"))).await.unwrap_err();
    assert_eq!(
        e,
        SendError::Retryable {
            reason: "webhook: HTTP 429: slow down".into(),
            retry_after: Some(Duration::from_secs(12)),
        }
    );
    assert!(p.send(&event(url("/fail"))).await.unwrap_err().is_retryable());
    let e = p.send(&event(url("/bad"))).await.unwrap_err();
    assert!(
        matches!(
            e,
            SendError::Permanent {
                invalid_address: false,
                ..
            }
        ),
        "{e:?}"
    );
    // A refused connection (nothing listening) is worth a retry.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let e = p.send(&event(format!("http://{closed}/ok"))).await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
}
