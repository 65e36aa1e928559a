//! Governance across journeys, through the real binary: the global control
//! group (the same profiles held out of every marketing journey, every
//! decision recorded with its reason, transactional journeys still reaching
//! them) and quiet hours in each profile's time zone (deferred or dropped
//! as each journey says; transactional sends go at once).

mod common;

use common::{Backend, Server};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

both_backends_with_config!(
    control_group_is_held_out_of_every_marketing_journey,
    quiet_hours_in_the_profile_zone_defer_or_drop
);

const N: usize = 200;

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
        msgs = s.all_messages().await;
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

async fn quiet_hours_in_the_profile_zone_defer_or_drop(backend: Backend) {
    // Quiet from an hour ago to two hours on, in UTC (the default zone):
    // quiet now for a UTC profile, not for one six hours east.
    let now = jiff::Timestamp::now();
    let hm = |h: i64| {
        let t = now + jiff::SignedDuration::from_hours(h);
        format!(
            "{:02}:{:02}",
            t.to_zoned(jiff::tz::TimeZone::UTC).hour(),
            t.to_zoned(jiff::tz::TimeZone::UTC).minute()
        )
    };
    let config = format!(
        "[engine.governance]\nopt_in_channels = []\nquiet_hours = {{ start = \"{}\", end = \"{}\" }}\n",
        hm(-1),
        hm(2)
    );
    let s = Server::start_with_config(backend, Some(&config));
    let batch = json!({"batch": [
        {"type": "identify", "userId": "utc", "traits": {"email": "utc@example.com"}},
        {"type": "identify", "userId": "dhaka", "context": {"timezone": "Asia/Dhaka"},
         "traits": {"email": "dhaka@example.com"}},
    ]});
    let (code, body) = s.track("/v1/batch", batch).await;
    assert_eq!(code, 200, "{body}");
    s.settle().await;
    for (name, quiet, transactional) in [
        ("Deferred", "defer", false),
        ("Dropped", "drop", false),
        ("Alert", "defer", true),
    ] {
        let doc = json!({
            "name": name, "quiet_hours": quiet, "transactional": transactional, "reentry": "always",
            "trigger": {"event": "Go"},
            "steps": [{"id": "mail", "type": "send", "channel": "email",
                       "content": {"email": {"subject": name, "html": "<p>Hi</p>"}}}]
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
    for who in ["utc", "dhaka"] {
        let (code, body) = s.track("/v1/track", json!({"userId": who, "event": "Go"})).await;
        assert_eq!(code, 200, "{body}");
    }
    let mut msgs = Vec::new();
    for _ in 0..200 {
        msgs = s.all_messages().await;
        if msgs.len() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(msgs.len(), 6, "{msgs:?}");
    let (_, utc) = s.get("/api/v1/profiles/user_id:utc").await;
    let utc_id = utc["id"].as_str().unwrap().to_owned();
    let find = |campaign: &str, to_utc: bool| {
        msgs.iter()
            .find(|m| m["campaign"] == campaign && (m["profile_id"] == utc_id.as_str()) == to_utc)
            .unwrap_or_else(|| panic!("{campaign} to utc={to_utc}: {msgs:?}"))
            .clone()
    };
    let deferred = find("Deferred", true);
    assert_ne!(deferred["status"], "skipped", "{deferred}");
    let not_before = deferred["next_attempt_at"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    assert!(
        not_before.is_some_and(|t| t > now + jiff::SignedDuration::from_mins(90)),
        "held until the quiet hours end: {deferred}"
    );
    let dropped = find("Dropped", true);
    assert_eq!(dropped["status"], "skipped", "{dropped}");
    assert!(
        dropped["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("quiet_hours"),
        "{dropped}"
    );
    for campaign in ["Deferred", "Dropped"] {
        let m = find(campaign, false);
        assert_ne!(m["status"], "skipped", "outside quiet hours in Dhaka: {m}");
    }
    let alert = find("Alert", true);
    assert_ne!(alert["status"], "skipped", "{alert}");
    assert!(
        alert["next_attempt_at"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .is_none_or(|t| t <= jiff::Timestamp::now()),
        "transactional: not deferred: {alert}"
    );
}
