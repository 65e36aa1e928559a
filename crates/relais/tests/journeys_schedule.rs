//! Scheduled journeys through the real binary: a broadcast to a segment at
//! a set time, a birthday (date-trait) journey at a local time, and a
//! broadcast and a timer burst killed with `kill -9` mid-way that,
//! restarted, reach every member exactly once.

mod common;

use common::{passages, wait_for, Server};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

both_backends!(
    broadcast_to_a_segment_at_a_time,
    birthdays_at_local_time,
    broadcast_survives_kill_9_mid_walk,
    timer_burst_survives_kill_9
);

fn rfc3339_in(ms: i64) -> String {
    let now = jiff::Timestamp::now().as_millisecond();
    jiff::Timestamp::from_millisecond(now + ms).unwrap().to_string()
}

async fn segment(s: &Server, name: &str, plan: &str) -> String {
    let (code, seg) = s
        .admin(
            "POST",
            "/api/v1/segments",
            Some(json!({"name": name, "condition": {"trait": "plan", "op": "eq", "value": plan}})),
        )
        .await;
    assert!(code == 201 || code == 200, "{seg}");
    seg["id"].as_str().unwrap().to_owned()
}

async fn apply(s: &Server, doc: Value) -> (String, Value) {
    let (code, out) = s
        .admin_post(
            "/api/v1/journeys/apply?activate=true",
            "application/json",
            doc.to_string(),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    (out["journey"]["id"].as_str().unwrap().to_owned(), out)
}

async fn broadcast_to_a_segment_at_a_time(s: Server) {
    let batch: Vec<Value> = [
        ("ann", "gold"),
        ("bob", "gold"),
        ("cid", "silver"),
        ("dee", "gold"),
    ]
    .iter()
    .map(|(u, plan)| {
        json!({"type": "identify", "userId": u,
                   "traits": {"email": format!("{u}@example.com"), "first_name": u, "plan": plan}})
    })
    .collect();
    let (code, body) = s.track("/v1/batch", json!({ "batch": batch })).await;
    assert_eq!(code, 200, "{body}");
    s.settle().await;
    let seg = segment(&s, "Gold", "gold").await;
    let (jid, out) = apply(
        &s,
        json!({
            "name": "Gold sale", "reentry": "always",
            "trigger": {"schedule": {"segment": seg, "at": rfc3339_in(2_000)}},
            "steps": [{"id": "mail", "type": "send", "channel": "email",
                       "content": {"email": {"subject": "{{ traits.first_name }}, gold members first",
                                             "html": "<p>Sale</p>"}}}]
        }),
    )
    .await;
    assert_eq!(out["action"], "created", "{out}");
    assert!(s.all_messages().await.is_empty(), "nothing before the time");
    wait_for(
        || async { s.all_messages().await.len() == 3 },
        "three gold members mailed",
    )
    .await;
    let msgs = s.all_messages().await;
    let mut subjects: Vec<&str> = msgs
        .iter()
        .map(|m| m["content"]["subject"].as_str().unwrap())
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "ann, gold members first",
            "bob, gold members first",
            "dee, gold members first"
        ]
    );
    assert!(
        passages(&s, "cid").await.is_empty(),
        "silver is not in the audience"
    );
    // The run is walked once: a later tick adds nobody.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(s.all_messages().await.len(), 3);
    let (code, stats) = s.get(&format!("/api/v1/journeys/{jid}/stats")).await;
    assert_eq!(code, 200, "{stats}");
    assert_eq!(stats["entered"], 3, "{stats}");
    let runs = stats["runs"].as_array().expect("runs in the statistics");
    assert_eq!(runs.len(), 1, "{stats}");
    assert_eq!(
        (runs[0]["entered"].as_i64(), runs[0]["done"].as_bool()),
        (Some(3), Some(true))
    );
}

async fn birthdays_at_local_time(s: Server) {
    // The test's "09:00" is the current minute in UTC+14, so the day's run
    // is walking now; a UTC+14 profile starts at once, a Paris one waits.
    let kiri = jiff::tz::TimeZone::get("Pacific/Kiritimati").unwrap();
    let local = jiff::Timestamp::now().to_zoned(kiri);
    let hm = format!("{:02}:{:02}", local.hour(), local.minute());
    let today = local.date();
    let birthday = format!("1990-{:02}-{:02}", today.month(), today.day());
    let other = if today.day() == 1 {
        "1990-01-02"
    } else {
        "1990-01-01"
    };
    let batch = json!({"batch": [
        {"type": "identify", "userId": "kai", "context": {"timezone": "Pacific/Kiritimati"},
         "traits": {"email": "kai@example.com", "birthday": birthday}},
        {"type": "identify", "userId": "pia", "context": {"timezone": "Europe/Paris"},
         "traits": {"email": "pia@example.com", "birthday": birthday}},
        {"type": "identify", "userId": "zed", "context": {"timezone": "Pacific/Kiritimati"},
         "traits": {"email": "zed@example.com", "birthday": other}},
        {"type": "identify", "userId": "nod", "traits": {"email": "nod@example.com"}},
    ]});
    let (code, body) = s.track("/v1/batch", batch).await;
    assert_eq!(code, 200, "{body}");
    s.settle().await;
    let (_, out) = apply(
        &s,
        json!({
            "name": "Birthday", "reentry": "always",
            "trigger": {"date": {"trait": "birthday", "yearly": true, "local_time": hm}},
            "steps": [{"id": "wish", "type": "send", "channel": "email",
                       "content": {"email": {"subject": "Happy birthday ({{ data.trigger.day }})",
                                             "html": "<p>🎂</p>"}}}]
        }),
    )
    .await;
    assert_eq!(out["journey"]["warnings"], json!([]), "{out}");
    wait_for(
        || async { !s.all_messages().await.is_empty() },
        "kai's birthday e-mail",
    )
    .await;
    wait_for(|| async { passages(&s, "pia").await.len() == 1 }, "pia entered").await;
    let msgs = s.all_messages().await;
    assert_eq!(msgs.len(), 1, "only kai's time has come: {msgs:?}");
    assert_eq!(msgs[0]["content"]["subject"], format!("Happy birthday ({today})"));
    let pia = &passages(&s, "pia").await[0];
    assert_eq!(
        (pia["status"].as_str(), pia["step"].as_str()),
        (Some("active"), Some("wish")),
        "{pia}"
    );
    assert!(passages(&s, "zed").await.is_empty() && passages(&s, "nod").await.is_empty());
}

async fn broadcast_survives_kill_9_mid_walk(s: Server) {
    // The walk sends as it enters: kill while the first pages are out.
    kill_9_mid_send(s, json!([])).await;
}

async fn timer_burst_survives_kill_9(s: Server) {
    // Every member parked on the same 3-second delay: kill while they fire.
    kill_9_mid_send(s, json!([{"id": "park", "type": "delay", "for": {"seconds": 3}}])).await;
}

/// A broadcast to 2,500 members, its steps before the send given; the
/// server is killed (SIGKILL) as soon as the first message is queued and
/// started again: every member gets exactly one message.
async fn kill_9_mid_send(mut s: Server, before_send: Value) {
    const N: usize = 2_500;
    for chunk in (0..N).collect::<Vec<_>>().chunks(500) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"type": "identify", "userId": format!("u{i}"), "traits": {"email": format!("u{i}@example.com"), "plan": "all"}}))
            .collect();
        let (code, body) = s.track("/v1/batch", json!({ "batch": batch })).await;
        assert_eq!(code, 200, "{body}");
    }
    s.settle().await;
    let seg = segment(&s, "Everyone", "all").await;
    wait_for(
        || async {
            let (_, v) = s.get(&format!("/api/v1/segments/{seg}")).await;
            v["size"].as_u64() == Some(N as u64)
        },
        "the segment's backfill",
    )
    .await;
    let mut steps = before_send.as_array().cloned().unwrap_or_default();
    steps.push(json!({"id": "mail", "type": "send", "channel": "email",
                      "content": {"email": {"subject": "News", "html": "<p>News</p>"}}}));
    apply(
        &s,
        json!({
            "name": "Everyone", "trigger": {"schedule": {"segment": seg, "at": rfc3339_in(500)}},
            "steps": steps
        }),
    )
    .await;
    // Kill as soon as the sends have begun, then start again.
    let mut before = 0;
    for _ in 0..600 {
        before = s.all_messages().await.len();
        if before > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    s.restart();
    eprintln!("killed with {before} of {N} messages queued");
    let mut msgs = Vec::new();
    for _ in 0..240 {
        msgs = s.all_messages().await;
        if msgs.len() >= N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let msgs = if msgs.len() >= N {
        s.all_messages().await
    } else {
        msgs
    };
    let mut per_profile: HashMap<String, usize> = HashMap::new();
    for m in &msgs {
        *per_profile
            .entry(m["profile_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let twice: Vec<_> = per_profile.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "messaged twice: {twice:?}");
    assert_eq!(per_profile.len(), N, "every member once (killed at {before})");
}
