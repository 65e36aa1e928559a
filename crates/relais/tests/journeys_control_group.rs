//! The global control group across journeys, through the real binary: the
//! same profiles (a stable bucket) get no marketing message from any
//! journey, every decision is recorded with its reason, and transactional
//! journeys still reach them.

mod common;

use common::{Backend, Server};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

both_backends_with_config!(control_group_is_held_out_of_every_marketing_journey);

const N: usize = 200;

async fn all_messages(s: &Server) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let (code, page) = s.get(&format!("/api/v1/messages?limit=500{cursor}")).await;
        assert_eq!(code, 200, "{page}");
        out.extend(page["messages"].as_array().cloned().unwrap_or_default());
        match page["next"].as_str() {
            Some(n) => cursor = format!("&cursor={n}"),
            None => return out,
        }
    }
}

async fn control_group_is_held_out_of_every_marketing_journey(backend: Backend) {
    let config = "[engine.governance]\ncontrol_group_percent = 15.0\nopt_in_channels = []\n";
    let s = Server::start_with_config(backend, Some(config));
    let batch: Vec<Value> = (0..N)
        .map(|i| json!({"type": "identify", "userId": format!("c{i}"), "traits": {"email": format!("c{i}@example.com"), "plan": "all"}}))
        .collect();
    let (code, body) = s.track("/v1/batch", json!({ "batch": batch })).await;
    assert_eq!(code, 200, "{body}");
    s.settle().await;
    let (code, seg) = s
        .admin(
            "POST",
            "/api/v1/segments",
            Some(json!({"name": "All", "condition": {"trait": "plan", "op": "eq", "value": "all"}})),
        )
        .await;
    assert!(code == 200 || code == 201, "{seg}");
    let seg = seg["id"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        let (_, v) = s.get(&format!("/api/v1/segments/{seg}")).await;
        if v["size"].as_u64() == Some(N as u64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let at = jiff::Timestamp::from_millisecond(jiff::Timestamp::now().as_millisecond() + 1_000)
        .unwrap()
        .to_string();
    for (name, transactional) in [("Promo A", false), ("Promo B", false), ("Receipt", true)] {
        let doc = json!({
            "name": name, "transactional": transactional,
            "trigger": {"schedule": {"segment": seg, "at": at}},
            "steps": [{"id": "mail", "type": "send", "channel": "email",
                       "content": {"email": {"subject": name, "html": "<p>Hello</p>"}}}]
        });
        let (code, out) = s
            .admin_post(
                "/api/v1/journeys/apply?activate=true",
                "application/json",
                doc.to_string(),
            )
            .await;
        assert_eq!(code, 200, "{out}");
    }
    let mut msgs = Vec::new();
    for _ in 0..300 {
        msgs = all_messages(&s).await;
        if msgs.len() >= 3 * N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(msgs.len(), 3 * N, "one decision per profile and journey");
    let mut held: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for m in &msgs {
        let campaign = m["campaign"].as_str().unwrap();
        let reason = m["reason"].as_str().unwrap_or_default();
        if m["status"] == "skipped" {
            assert!(
                reason.starts_with("control_group"),
                "only the control group holds back here: {m}"
            );
            held.entry(campaign)
                .or_default()
                .insert(m["profile_id"].as_str().unwrap().to_owned());
        }
    }
    let (a, b) = (&held["Promo A"], &held["Promo B"]);
    assert_eq!(a, b, "the same profiles are held out of both marketing journeys");
    assert!((10..=55).contains(&a.len()), "about 15 % of {N}: {}", a.len());
    assert!(
        !held.contains_key("Receipt"),
        "transactional journeys reach the control group"
    );
}
