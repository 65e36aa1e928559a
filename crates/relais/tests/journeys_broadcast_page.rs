//! A broadcast's first send is governed and written a page at a time
//! (crates/relais-engine/src/journeys/page.rs); every other send goes one
//! profile at a time through the runner. Differential test: two servers
//! with the same profiles and the same governance (a cap, opt-in SMS, a
//! suppressed address, quiet hours in the profile's zone, a ranked channel
//! list); one sends by a scheduled broadcast, the other by the API trigger
//! of a journey with the same steps. Each profile must get the same
//! messages with the same statuses and reasons on both.

mod common;

use common::{wait_for, Backend, Server};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

both_backends_with_config!(broadcast_pages_decide_as_one_at_a_time);

const USERS: [&str; 6] = ["mail", "sms", "none", "supp", "cap", "quiet"];

fn config() -> String {
    // Quiet now in UTC (the "quiet" profile's zone), never in the default
    // zone (UTC+14) of the others.
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let hm = |h: i64| {
        format!(
            "{:02}:{:02}",
            (now.hour() as i64 + h).rem_euclid(24),
            now.minute()
        )
    };
    format!(
        "[engine.governance]\nopt_in_channels = [\"sms\"]\ndefault_timezone = \"Pacific/Kiritimati\"\n\
         frequency_caps = [{{ max = 1, days = 1 }}]\n\
         quiet_hours = {{ start = \"{}\", end = \"{}\" }}\n",
        hm(-1),
        hm(2)
    )
}

/// The same six profiles on a server: each meets one governance rule.
async fn profiles(s: &Server) -> String {
    let people = [
        ("mail", json!({"email": "mail@example.com", "plan": "all"}), None),
        ("sms", json!({"phone": "+33600000002", "plan": "all"}), None),
        (
            "none",
            json!({"email": "none@example.com", "phone": "+33600000003", "plan": "all"}),
            None,
        ),
        (
            "supp",
            json!({"email": "supp@example.com", "phone": "+33600000004", "plan": "all"}),
            None,
        ),
        ("cap", json!({"email": "cap@example.com", "plan": "all"}), None),
        (
            "quiet",
            json!({"email": "quiet@example.com", "plan": "all"}),
            Some("UTC"),
        ),
    ];
    let mut batch: Vec<Value> = people
        .iter()
        .map(|(u, traits, tz)| {
            let mut ev = json!({"type": "identify", "userId": u, "traits": traits});
            if let Some(tz) = tz {
                ev["context"] = json!({"timezone": tz});
            }
            ev
        })
        .collect();
    for u in ["sms", "supp"] {
        batch.push(
            json!({"type": "track", "userId": u, "event": "Subscribed", "properties": {"channel": "sms"}}),
        );
    }
    batch.push(json!({"type": "track", "userId": "none", "event": "Unsubscribed", "properties": {"channel": "email"}}));
    let (code, body) = s.track("/v1/batch", json!({ "batch": batch })).await;
    assert_eq!(code, 200, "{body}");
    s.settle().await;
    let store = s.store().await;
    let ws = store.list_workspaces().await.unwrap()[0].id;
    store
        .put_suppression(&relais_store::Suppression {
            workspace_id: ws,
            channel: "email".into(),
            address: "supp@example.com".into(),
            reason: "hard_bounce".into(),
            message_id: None,
            created_at: 0,
        })
        .await
        .unwrap();
    // "cap" already had today's one marketing message.
    let (code, m) = s
        .admin(
            "POST",
            "/api/v1/messages",
            Some(json!({"profile": "user_id:cap", "channel": "email",
                        "content": {"subject": "Earlier", "html": "<p>Earlier</p>"}})),
        )
        .await;
    assert!(code == 200 || code == 201, "{m}");
    let (code, seg) = s
        .admin(
            "POST",
            "/api/v1/segments",
            Some(json!({"name": "All", "condition": {"trait": "plan", "op": "eq", "value": "all"}})),
        )
        .await;
    assert!(code == 200 || code == 201, "{seg}");
    let seg = seg["id"].as_str().unwrap().to_owned();
    wait_for(
        || async {
            let (_, v) = s.get(&format!("/api/v1/segments/{seg}")).await;
            v["size"].as_u64() == Some(USERS.len() as u64)
        },
        "every profile in the segment",
    )
    .await;
    seg
}

fn journey(trigger: Value) -> Value {
    json!({
        "name": "Winter sale", "reentry": "always", "trigger": trigger,
        "steps": [{"id": "promo", "type": "send", "channels": ["email", "sms", "push"],
                   "content": {"email": {"subject": "Hello {{ traits.plan }}", "html": "<p>Sale</p>"},
                               "sms": {"body": "Sale"}, "push": {"title": "Sale", "body": "Sale"}}}]
    })
}

async fn apply(s: &Server, doc: Value) -> String {
    let (code, out) = s
        .admin_post(
            "/api/v1/journeys/apply?activate=true",
            "application/json",
            doc.to_string(),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    out["journey"]["id"].as_str().unwrap().to_owned()
}

/// Per user, the journey's messages as (channel, status, reason without
/// the message's own id, deferred by quiet hours), and the path's trace kinds.
async fn outcome(s: &Server) -> BTreeMap<String, (Vec<(String, String, String, bool)>, Vec<String>)> {
    let mut out = BTreeMap::new();
    for u in USERS {
        let (code, page) = s
            .get(&format!("/api/v1/messages?profile=user_id:{u}&limit=50"))
            .await;
        assert_eq!(code, 200, "{page}");
        let mut msgs: Vec<(String, String, String, bool)> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["campaign"] == "Winter sale")
            .map(|m| {
                let deferred = match (m["next_attempt_at"].as_str(), m["created_at"].as_str()) {
                    (Some(n), Some(c)) => {
                        let (n, c): (jiff::Timestamp, jiff::Timestamp) =
                            (n.parse().unwrap(), c.parse().unwrap());
                        n.as_millisecond() - c.as_millisecond() > 60_000
                    }
                    _ => false,
                };
                // Whether the dispatcher got to it yet is timing, not governance.
                let status = match m["status"].as_str().unwrap() {
                    "sending" | "sent" | "delivered" => "queued",
                    other => other,
                };
                (
                    m["channel"].as_str().unwrap().to_owned(),
                    status.to_owned(),
                    m["reason"].as_str().unwrap_or("").to_owned(),
                    deferred,
                )
            })
            .collect();
        msgs.sort();
        let (code, passages) = s.get(&format!("/api/v1/profiles/user_id:{u}/journeys")).await;
        assert_eq!(code, 200, "{passages}");
        let kinds: Vec<String> = passages[0]["trace"]
            .as_array()
            .map(|t| {
                t.iter()
                    .map(|r| r["kind"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.insert(u.to_owned(), (msgs, kinds));
    }
    out
}

async fn broadcast_pages_decide_as_one_at_a_time(backend: Backend) {
    let config = config();
    let paged = Server::start_with_config(backend.clone(), Some(&config));
    let single = Server::start_with_config(backend, Some(&config));
    let seg = profiles(&paged).await;
    profiles(&single).await;

    let at = jiff::Timestamp::from_millisecond(jiff::Timestamp::now().as_millisecond() + 500)
        .unwrap()
        .to_string();
    apply(&paged, journey(json!({"schedule": {"segment": seg, "at": at}}))).await;
    let jid = apply(&single, journey(json!({"api": true}))).await;
    for u in USERS {
        let (code, t) = single
            .admin(
                "POST",
                &format!("/api/v1/journeys/{jid}/trigger"),
                Some(json!({"profile": format!("user_id:{u}")})),
            )
            .await;
        assert_eq!((code, t["entered"].as_bool()), (200, Some(true)), "{u}: {t}");
    }
    for (name, srv) in [("paged", &paged), ("single", &single)] {
        let mut ok = false;
        for _ in 0..200 {
            let o = outcome(srv).await;
            if o.values()
                .all(|(m, k)| !m.is_empty() && k.iter().any(|k| k == "exited"))
            {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ok, "{name}: every passage done: {:?}", outcome(srv).await);
    }
    let (a, b) = (outcome(&paged).await, outcome(&single).await);
    assert_eq!(a, b, "broadcast page vs one at a time");

    // And the decisions are the ones governance should make.
    let msgs = |u: &str| -> Vec<(String, String, String)> {
        a[u].0
            .iter()
            .map(|(c, s, r, _)| (c.clone(), s.clone(), r.split(':').next().unwrap_or("").to_owned()))
            .collect()
    };
    let t = |c: &str, s: &str, r: &str| (c.to_owned(), s.to_owned(), r.to_owned());
    assert_eq!(msgs("mail"), [t("email", "queued", "")]);
    assert_eq!(msgs("sms")[1], t("sms", "queued", ""), "{:?}", msgs("sms"));
    assert!(msgs("sms")[0].2.starts_with("unreachable"), "{:?}", msgs("sms"));
    assert_eq!(
        msgs("none"),
        [
            t("email", "skipped", "no_consent"),
            t("push", "skipped", &msgs("none")[1].2),
            t("sms", "skipped", "no_consent")
        ]
    );
    assert_eq!(
        msgs("supp"),
        [t("email", "skipped", "suppressed"), t("sms", "queued", "")]
    );
    assert_eq!(
        msgs("cap")[0],
        t("email", "skipped", "capped"),
        "{:?}",
        msgs("cap")
    );
    assert_eq!(msgs("quiet"), [t("email", "queued", "")]);
    assert!(a["quiet"].0[0].3, "deferred to the end of the quiet hours");
    assert!(!a["mail"].0[0].3, "not deferred in UTC+14");
    assert_eq!(
        a["mail"].1,
        ["entered", "sent", "exited"],
        "the page's trace is the runner's"
    );
}
