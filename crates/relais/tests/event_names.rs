//! The catalogue of event names through the real binary: tracked names show
//! up in `GET /api/v1/events/names`, survive a `kill -9`, and journeys get an
//! "unknown event name" warning, naming the trigger or the step, for each
//! name the workspace has never seen (Relais' own events are always known).

mod common;

use common::{wait_for, Server};
use serde_json::{json, Value};

both_backends!(names_are_catalogued_and_journeys_warn_about_unseen_ones);

async fn names(s: &Server) -> Value {
    let (code, v) = s.get("/api/v1/events/names?wait=10000").await;
    assert_eq!(code, 200, "{v}");
    v
}

fn listed(v: &Value) -> Vec<String> {
    v["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The paths of the journey's "unknown event name" warnings.
fn unknown(out: &Value) -> Vec<String> {
    out["journey"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["message"].as_str().unwrap().contains("unknown event name"))
        .map(|w| w["path"].as_str().unwrap().to_owned())
        .collect()
}

async fn names_are_catalogued_and_journeys_warn_about_unseen_ones(mut s: Server) {
    let batch = json!({"batch": [
        {"type": "track", "userId": "u1", "event": "Order Completed", "properties": {"total": 10}},
        {"type": "track", "userId": "u1", "event": "Order Completed", "properties": {"total": 12}},
        {"type": "track", "userId": "u2", "event": "Cart Viewed"},
        {"type": "page", "userId": "u2", "name": "Home"},
        {"type": "identify", "userId": "u2", "traits": {"email": "u2@example.com"}},
    ]});
    let (code, body) = s.track("/v1/batch", batch).await;
    assert_eq!(code, 200, "{body}");
    let v = names(&s).await;
    assert_eq!(listed(&v), vec!["Cart Viewed", "Order Completed"], "{v}");
    let order = &v["names"][1];
    assert!(order["count"].as_i64().unwrap() >= 1, "{v}");
    assert!(order["first_seen"].as_str().unwrap().ends_with('Z'), "{v}");
    assert_eq!(order["builtin"], false);
    assert_eq!(v["complete"], true);
    let builtin: Vec<&str> = v["builtin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for n in [
        "Email Opened",
        "Segment Entered",
        "Back In Stock",
        "Task Completed",
    ] {
        assert!(builtin.contains(&n), "{n} in {builtin:?}");
    }

    let doc = json!({
        "name": "Checkout",
        "trigger": {"event": "Checkout Startd"},
        "exit": {"events": [{"event": "Order Completed"}]},
        "steps": [
            {"id": "wait", "type": "wait_for_event", "event": "Email Opened",
             "timeout": {"hours": 1}, "on_timeout": "check"},
            {"id": "check", "type": "condition", "if": {"event": "Coupon Applied"},
             "then": "exit", "else": "mail"},
            {"id": "mail", "type": "send", "channel": "email",
             "content": {"email": {"subject": "Hi", "html": "<p>hi</p>"}}}
        ]
    });
    let (code, out) = s.admin("POST", "/api/v1/journeys/apply", Some(doc.clone())).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(unknown(&out), vec!["trigger", "steps[1] (check).if"], "{out}");
    let msg = out["journey"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["path"] == "trigger")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(msg.contains("\"Checkout Startd\""), "{msg}");

    // The catalogue is in the store: a kill -9 forgets nothing, and a name
    // first seen after the restart is recorded too.
    s.restart(); // kill -9, then start again
    assert_eq!(listed(&names(&s).await), vec!["Cart Viewed", "Order Completed"]);
    let (code, body) = s
        .track(
            "/v1/track",
            json!({"userId": "u1", "event": "Coupon Applied", "properties": {"coupon": "X"}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    wait_for(
        || async { listed(&names(&s).await).contains(&"Coupon Applied".to_owned()) },
        "Coupon Applied catalogued",
    )
    .await;
    let (code, out) = s.admin("POST", "/api/v1/journeys/apply", Some(doc)).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["action"], "unchanged", "{out}");
    assert_eq!(unknown(&out), vec!["trigger"], "{out}");

    let (code, _) = s.get_as("relais_ak_not_a_key", "/api/v1/events/names").await;
    assert_eq!(code, 401);
    let api: Value = reqwest::get(s.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(api["paths"]["/api/v1/events/names"]["get"].is_object());
}
