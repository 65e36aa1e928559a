//! A webhook's JSON answer stored on the profile (`store_response`,
//! docs/journeys.md), through the real binary: a journey's webhook steps
//! call a receiver in this test, and what it answers shows up as traits in
//! `GET /api/v1/profiles/{ref}`; an answer that is not JSON is not stored
//! and `Webhook Sent` says why; a message retried after a `kill -9` still
//! stores its answer (the setting lives in the stored message).

mod common;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use common::{wait_for, Backend, Server};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

both_backends_with_config!(
    journey_webhook_answers_become_traits,
    a_retry_after_a_restart_still_stores_the_answer
);

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Default)]
struct Receiver {
    /// `/flaky` answers 503 while this is false.
    up: AtomicBool,
    flaky_hits: AtomicUsize,
}

async fn tier() -> Response {
    Json(json!({"tier": "gold", "points": 1200})).into_response()
}

async fn text() -> Response {
    "OK".into_response()
}

async fn flaky(State(r): State<Arc<Receiver>>) -> Response {
    r.flaky_hits.fetch_add(1, Ordering::SeqCst);
    if r.up.load(Ordering::SeqCst) {
        Json(json!({"tier": "silver"})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response()
    }
}

/// The receiver's base URL.
async fn receiver(state: Arc<Receiver>) -> String {
    let app = Router::new()
        .route("/tier", post(tier))
        .route("/text", post(text))
        .route("/flaky", post(flaky))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn config() -> String {
    format!(
        r#"
[engine.channels]
lease_secs = 3
breaker_failures = 1000

[engine.channels.retry]
max_attempts = 100
base_ms = 100
max_ms = 500

[engine.channels.webhook]
secret = "{SECRET}"
allow_private = true
"#
    )
}

async fn identify(s: &Server, user: &str) {
    let (code, body) = s
        .track(
            "/v1/identify",
            json!({"userId": user, "traits": {"email": format!("{user}@example.com")}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
}

async fn traits(s: &Server, user: &str) -> Value {
    let (code, p) = s
        .get(&format!("/api/v1/profiles/user_id:{user}?wait=10000"))
        .await;
    assert_eq!(code, 200, "{p}");
    p["traits"].clone()
}

async fn journey_webhook_answers_become_traits(backend: Backend) {
    let r = Arc::new(Receiver::default());
    let url = receiver(r.clone()).await;
    let s = Server::start_with_config(backend, Some(&config()));
    identify(&s, "ana").await;

    // A bad setting is refused, naming the step.
    let bad = json!({"name": "Bad", "trigger": {"api": true},
        "steps": [{"id": "tier", "type": "webhook",
                   "content": {"url": format!("{url}/tier"), "store_response": {"trait": "loyalty_tier", "path": "tier"}}}]});
    let (code, out) = s.admin("POST", "/api/v1/journeys", Some(bad)).await;
    assert_eq!(code, 400, "{out}");
    assert_eq!(out["error"]["code"], "invalid_journey", "{out}");
    let msg = out["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("steps[0] (tier).content.store_response.path"),
        "{msg}"
    );

    let doc = json!({
        "name": "Loyalty tier",
        "trigger": {"event": "Account Opened"},
        "steps": [
            {"id": "tier", "type": "webhook",
             "content": {"url": format!("{url}/tier"), "payload": {"ask": "tier"},
                         "store_response": {"trait": "loyalty_tier", "path": "/tier"}}},
            {"id": "whole", "type": "webhook",
             "content": {"url": format!("{url}/tier"), "store_response": {"trait": "loyalty"}}},
            {"id": "text", "type": "webhook",
             "content": {"url": format!("{url}/text"), "store_response": {"trait": "note"}}}
        ]
    });
    let (code, out) = s
        .admin("POST", "/api/v1/journeys/apply?activate=true", Some(doc))
        .await;
    assert_eq!(code, 200, "{out}");
    let (code, body) = s
        .track(
            "/v1/track",
            json!({"userId": "ana", "event": "Account Opened", "properties": {}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");

    wait_for(
        || async {
            let t = traits(&s, "ana").await;
            t["loyalty_tier"] == "gold" && t["loyalty"] == json!({"tier": "gold", "points": 1200})
        },
        "the answers as traits",
    )
    .await;
    // The text answer: sent, not stored, and the reason on `Webhook Sent`.
    wait_for(
        || async {
            let msgs = s.all_messages().await;
            msgs.len() == 3 && msgs.iter().all(|m| m["status"] == "sent")
        },
        "three webhooks sent",
    )
    .await;
    s.settle().await;
    let (code, page) = s
        .get("/api/v1/profiles/user_id:ana/events?event=Webhook%20Sent&limit=10")
        .await;
    assert_eq!(code, 200, "{page}");
    let props: Vec<Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["properties"].clone())
        .collect();
    assert_eq!(props.len(), 3, "{page}");
    let stored: Vec<&str> = props
        .iter()
        .filter_map(|p| p["response_stored"].as_str())
        .collect();
    assert_eq!(stored.len(), 2, "{props:?}");
    assert!(stored.contains(&"loyalty_tier") && stored.contains(&"loyalty"));
    let why: Vec<&str> = props
        .iter()
        .filter_map(|p| p["response_not_stored"].as_str())
        .collect();
    assert_eq!(why, vec!["the answer is not JSON"], "{props:?}");
    let t = traits(&s, "ana").await;
    assert!(t.get("note").is_none(), "{t}");
    assert_eq!(t["email"], "ana@example.com", "other traits untouched");
    let names = s.event_names("user_id:ana").await;
    assert_eq!(
        names.iter().filter(|n| *n == "Webhook Response Stored").count(),
        2,
        "{names:?}"
    );
}

async fn a_retry_after_a_restart_still_stores_the_answer(backend: Backend) {
    let r = Arc::new(Receiver::default());
    let url = receiver(r.clone()).await;
    let mut s = Server::start_with_config(backend, Some(&config()));
    identify(&s, "bo").await;
    s.settle().await;

    // The API checks the setting too.
    let (code, out) = s
        .admin(
            "POST",
            "/api/v1/messages",
            Some(
                json!({"profile": "user_id:bo", "channel": "webhook", "transactional": true,
                        "content": {"url": format!("{url}/flaky"), "store_response": {"trait": " "}}}),
            ),
        )
        .await;
    assert_eq!(code, 400, "{out}");
    assert_eq!(out["error"]["code"], "invalid_field", "{out}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("content.store_response.trait"),
        "{out}"
    );

    let (code, m) = s
        .admin(
            "POST",
            "/api/v1/messages",
            Some(
                json!({"profile": "user_id:bo", "channel": "webhook", "transactional": true,
                        "content": {"url": format!("{url}/flaky"),
                                    "store_response": {"trait": "tier", "path": "/tier"}}}),
            ),
        )
        .await;
    assert!(code == 200 || code == 201, "{m}");
    let id = m["id"].as_str().unwrap().to_owned();
    assert!(
        m["content"].to_string().contains("store_response"),
        "the setting is in the stored message: {m}"
    );
    // Refused at least once, and the retry written down: then kill -9.
    wait_for(
        || async {
            let (_, m) = s.get(&format!("/api/v1/messages/{id}")).await;
            r.flaky_hits.load(Ordering::SeqCst) >= 1
                && m["status"] == "queued"
                && m["attempts"].as_i64() >= Some(1)
        },
        "a refused attempt recorded",
    )
    .await;
    s.kill9();
    r.up.store(true, Ordering::SeqCst);
    s.restart();
    s.message_when(&id, "sent").await;
    wait_for(
        || async { traits(&s, "bo").await["tier"] == "silver" },
        "the answer stored after the restart",
    )
    .await;
}
