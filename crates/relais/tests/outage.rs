//! The SMTP server is down for a while, then back: every e-mail accepted
//! meanwhile is delivered exactly once, and ingestion is unaffected (events
//! acknowledged and processed while the provider fails).

mod common;
#[path = "../../../tests/support/smtp_sink.rs"]
mod smtp_sink;

use common::{Backend, Server};
use serde_json::{json, Value};
use smtp_sink::Sink;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

both_backends_with_config!(smtp_down_then_up);

const PROFILES: usize = 10;
const PER_PROFILE: usize = 3;

async fn count(s: &Server, status: &str) -> usize {
    let (code, page) = s
        .get(&format!(
            "/api/v1/messages?channel=email&status={status}&limit=500"
        ))
        .await;
    assert_eq!(code, 200, "{page}");
    page["messages"].as_array().unwrap().len()
}

async fn smtp_down_then_up(backend: Backend) {
    // A port nobody listens on yet: the SMTP server of this test, later.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        r#"
[engine.channels]
breaker_failures = 3
breaker_open_secs = 1

[engine.channels.retry]
max_attempts = 100
base_ms = 100
max_ms = 800

[engine.channels.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
timeout_secs = 5
"#
    );
    let s = Server::start_with_config(backend, Some(&config));
    for p in 0..PROFILES {
        let (code, body) = s
            .track(
                "/v1/identify",
                json!({"userId": format!("u{p}"), "traits": {"email": format!("u{p}@client.example")}}),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }
    s.settle().await;
    let mut ids = Vec::new();
    for p in 0..PROFILES {
        for k in 0..PER_PROFILE {
            let (code, m) = s
                .admin(
                    "POST",
                    "/api/v1/messages",
                    Some(
                        json!({"profile": format!("user_id:u{p}"), "channel": "email", "transactional": true,
                                "idempotency_key": format!("receipt-{p}-{k}"),
                                "content": {"subject": "Receipt {{ data.k }}", "html": "<p>Thanks</p>"},
                                "data": {"k": k}}),
                    ),
                )
                .await;
            assert_eq!(code, 201, "{m}");
            ids.push(m["id"].as_str().unwrap().to_owned());
        }
    }

    // Down: attempts fail and are retried; nothing is lost, nothing settles as sent.
    let mut retried = false;
    for _ in 0..100 {
        let (_, m) = s.get(&format!("/api/v1/messages/{}", ids[0])).await;
        if m["attempts"].as_i64().unwrap_or(0) >= 2 {
            retried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(retried, "the first message was retried while the server was down");
    assert_eq!(count(&s, "sent").await, 0);

    // Ingestion meanwhile: acknowledged and processed as usual.
    let started = Instant::now();
    for i in 0..50 {
        let batch: Vec<Value> = (0..10)
            .map(|j| {
                json!({"type":"track","userId": format!("u{}", (i + j) % PROFILES),"event":"Page Viewed",
                            "messageId": format!("pv-{i}-{j}")})
            })
            .collect();
        let (code, body) = s.track("/v1/batch", json!({"batch": batch})).await;
        assert_eq!(code, 200, "{body}");
    }
    s.settle().await;
    let (_, events) = s.get("/api/v1/profiles/user_id:u0/events?limit=200").await;
    let views = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "Page Viewed")
        .count();
    assert_eq!(views, 50, "every event of u0 processed during the outage");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "ingestion was not held up: {:?}",
        started.elapsed()
    );

    // Back up: everything goes, once.
    let sink = Sink::start_on(port, &[]).await;
    for _ in 0..300 {
        if count(&s, "sent").await == ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(&s, "sent").await, ids.len(), "all sent after the outage");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for entry in sink.log() {
        let eml = String::from_utf8(sink.eml(&entry)).unwrap();
        let id = eml
            .lines()
            .find_map(|l| l.strip_prefix("X-Relais-Message-Id: "))
            .expect("X-Relais-Message-Id")
            .trim()
            .to_owned();
        *seen.entry(id).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = ids.iter().map(|i| (i.clone(), 1)).collect();
    assert_eq!(seen, expected, "each message delivered exactly once");
    let (_, m) = s.get(&format!("/api/v1/messages/{}", ids[0])).await;
    let log = m["attempt_log"].as_array().unwrap();
    assert!(
        log.iter().any(|a| a["outcome"] == "retry") && log.last().unwrap()["outcome"] == "accepted",
        "{log:?}"
    );
}
