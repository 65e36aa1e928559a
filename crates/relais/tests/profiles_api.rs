//! Identity resolution and the 360° profile through the real binary:
//! cross-device merges, conflicts, consent, lookup, access and erasure,
//! workspace isolation.

mod common;

use common::Server;
use serde_json::{json, Value};

both_backends!(
    cart_across_phone_and_laptop_becomes_one_profile,
    two_user_ids_are_never_merged,
    opt_out_survives_a_merge,
    store_associate_lookup,
    export_and_erasure,
    workspaces_are_isolated,
    timeline_pages_and_filters,
);

fn ev(kind: &str, extra: Value) -> Value {
    let mut e = json!({"type": kind});
    e.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    e
}

async fn batch(s: &Server, events: Vec<Value>) {
    let (status, resp) = s.track("/v1/batch", json!({ "batch": events })).await;
    assert_eq!(status, 200, "{resp}");
}

async fn cart_across_phone_and_laptop_becomes_one_profile(s: Server) {
    // Two anonymous sessions, each adds a product...
    batch(&s, vec![
        ev("track", json!({"anonymousId":"phone-7","event":"Product Added","properties":{"product_id":"P1","price":20},
            "context":{"touchpoint":"app","timezone":"Europe/Paris"},"timestamp":"2026-11-01T10:00:00Z"})),
        ev("track", json!({"anonymousId":"laptop-7","event":"Product Added","properties":{"product_id":"P2","price":35},
            "timestamp":"2026-11-01T20:00:00Z"})),
    ]).await;
    s.settle().await;
    let (_, phone) = s.get("/api/v1/profiles/anonymous_id:phone-7").await;
    let (_, laptop) = s.get("/api/v1/profiles/anonymous_id:laptop-7").await;
    assert_ne!(phone["id"], laptop["id"], "two devices, two profiles so far");

    // ...then the customer logs in on both.
    batch(&s, vec![
        ev("identify", json!({"anonymousId":"phone-7","userId":"cust-7","traits":{"email":"Zoe@Example.com","first_name":"Zoé"},
            "context":{"touchpoint":"app"},"timestamp":"2026-11-02T09:00:00Z"})),
        ev("identify", json!({"anonymousId":"laptop-7","userId":"cust-7","timestamp":"2026-11-02T21:00:00Z"})),
    ]).await;
    s.settle().await;
    let (status, p) = s.get("/api/v1/profiles/email:zoe@example.com").await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["id"], phone["id"], "the oldest profile id is kept");
    assert_eq!(p["user_id"], "cust-7");
    assert_eq!(p["event_count"], 4);
    assert_eq!(p["timezone"], "Europe/Paris");
    assert_eq!(p["channels"]["app"]["events"], 2);
    assert_eq!(p["channels"]["web"]["events"], 2);
    let ids = common::identities(&p);
    for want in [
        "anonymous_id:phone-7",
        "anonymous_id:laptop-7",
        "user_id:cust-7",
        "email:zoe@example.com",
    ] {
        assert!(ids.contains(&want.to_owned()), "{want} in {ids:?}");
    }
    // One cart across both devices: each item keeps the channel and device
    // of its last change; the value is the sum.
    let cart = &p["commerce"]["cart"];
    let mut items: Vec<(String, String)> = cart["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a cart: {p}"))
        .iter()
        .map(|i| {
            (
                i["product_id"].as_str().unwrap().to_owned(),
                i["channel"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    items.sort();
    assert_eq!(
        items,
        [("P1".into(), "app".into()), ("P2".into(), "web".into())],
        "{cart}"
    );
    assert_eq!(p["computed"]["cart_value"], 55.0, "{p}");
    assert_eq!(p["computed"]["distinct_channels"], 2, "{p}");
    // Both devices' products are on one timeline, and the old id still resolves.
    let (_, tl) = s
        .get("/api/v1/profiles/user_id:cust-7/events?event=Product%20Added")
        .await;
    let products: Vec<&str> = tl["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["properties"]["product_id"].as_str().unwrap())
        .collect();
    assert_eq!(products, ["P2", "P1"]);
    let laptop_id = laptop["id"].as_str().unwrap();
    let (status, again) = s.get(&format!("/api/v1/profiles/{laptop_id}")).await;
    assert_eq!((status, &again["id"]), (200, &phone["id"]));
    let (_, export) = s.get(&format!("/api/v1/profiles/{laptop_id}/export")).await;
    assert_eq!(export["merges"][0]["kind"], "merge");
    assert_eq!(export["merges"][0]["loser"], laptop["id"]);
}

async fn two_user_ids_are_never_merged(s: Server) {
    batch(
        &s,
        vec![
            ev(
                "identify",
                json!({"userId":"alice","traits":{"email":"shared@x.io"}}),
            ),
            ev("identify", json!({"userId":"bob","anonymousId":"family-tablet"})),
            // Bob's event carries Alice's e-mail: it must land on Bob, nothing merges.
            ev(
                "track",
                json!({"userId":"bob","event":"Clicked","context":{"traits":{"email":"shared@x.io"}}}),
            ),
            // The tablet's anonymous id then used by Alice: stays Bob's.
            ev(
                "track",
                json!({"userId":"alice","anonymousId":"family-tablet","event":"Viewed"}),
            ),
        ],
    )
    .await;
    s.settle().await;
    let (_, alice) = s.get("/api/v1/profiles/user_id:alice").await;
    let (_, bob) = s.get("/api/v1/profiles/user_id:bob").await;
    assert_ne!(alice["id"], bob["id"]);
    assert_eq!(alice["event_count"], 2);
    assert_eq!(bob["event_count"], 2);
    let (_, by_mail) = s.get("/api/v1/profiles/email:shared@x.io").await;
    assert_eq!(by_mail["id"], alice["id"]);
    let (_, by_tablet) = s.get("/api/v1/profiles/anonymous_id:family-tablet").await;
    assert_eq!(by_tablet["id"], bob["id"]);
    let (_, export) = s.get("/api/v1/profiles/user_id:bob/export").await;
    assert!(
        export["merges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "conflict"),
        "{}",
        export["merges"]
    );
}

async fn opt_out_survives_a_merge(s: Server) {
    batch(&s, vec![
        ev("identify", json!({"anonymousId":"web-9","traits":{"consent":{"email":"unsubscribed"}},"timestamp":"2026-01-01T00:00:00Z"})),
        ev("identify", json!({"userId":"u9","traits":{"email":"n@x.io","consent":{"email":"subscribed","sms":"subscribed"}},"timestamp":"2026-06-01T00:00:00Z"})),
        ev("identify", json!({"userId":"u9","anonymousId":"web-9","timestamp":"2026-06-02T00:00:00Z"})),
    ]).await;
    s.settle().await;
    let (_, p) = s.get("/api/v1/profiles/user_id:u9").await;
    assert_eq!(p["consent"]["email"]["status"], "unsubscribed", "{p}");
    assert_eq!(p["consent"]["sms"]["status"], "subscribed");
    assert_eq!(p["consent"]["email"]["source"], "default");
    assert!(p["traits"].get("consent").is_none());
}

async fn store_associate_lookup(s: Server) {
    batch(&s, vec![
        ev("identify", json!({"userId":"c1","traits":{"first_name":"Marie","last_name":"Curie","email":"marie@x.io","phone":"+33 6 12 34 56 78"}})),
        ev("track", json!({"anonymousId":"till-1","event":"Order Completed","context":{"touchpoint":"store","traits":{"loyalty_id":"LOY-42","email":"marie@x.io"}}})),
        ev("identify", json!({"userId":"c2","traits":{"name":"Mario Rossi"}})),
    ]).await;
    s.settle().await;
    for q in [
        "marie@x.io",
        "MARIE@X.IO",
        "%2B33612345678",
        "LOY-42",
        "loyalty_id:LOY-42",
        "cur",
    ] {
        let (status, r) = s.get(&format!("/api/v1/profiles?q={q}")).await;
        assert_eq!(status, 200, "{r}");
        let found = r["profiles"].as_array().unwrap();
        assert_eq!(found.len(), 1, "{q}: {r}");
        assert_eq!(found[0]["email"], "marie@x.io", "{q}");
    }
    let (_, r) = s.get("/api/v1/profiles?q=mar").await;
    assert_eq!(r["profiles"].as_array().unwrap().len(), 2, "{r}");
    let (_, p) = s.get("/api/v1/profiles/loyalty_id:LOY-42").await;
    assert_eq!(p["channels"]["store"]["events"], 1);
    let (status, r) = s.get("/api/v1/profiles?q=").await;
    assert_eq!(
        (status, r["error"]["code"].as_str()),
        (400, Some("missing_field"))
    );
    let (status, r) = s.get("/api/v1/profiles/bad%20ref").await;
    assert_eq!(
        (status, r["error"]["code"].as_str()),
        (400, Some("invalid_field"))
    );
    let (status, _) = s.get("/api/v1/profiles/email:nobody@x.io").await;
    assert_eq!(status, 404);
}

async fn export_and_erasure(s: Server) {
    batch(&s, vec![
        ev("identify", json!({"userId":"gone","traits":{"email":"gone@x.io","name":"Gone Soon"}})),
        ev("track", json!({"userId":"gone","event":"Order Completed","properties":{"address":"1 rue X"},"messageId":"gone-order"})),
        ev("identify", json!({"userId":"stays","traits":{"email":"stays@x.io"}})),
    ]).await;
    s.settle().await;
    let (status, export) = s.get("/api/v1/profiles/email:gone@x.io/export").await;
    assert_eq!(status, 200);
    assert_eq!(export["events"].as_array().unwrap().len(), 2);
    assert_eq!(export["profile"]["traits"]["name"], "Gone Soon");

    let resp = s
        .http
        .delete(s.url("/api/v1/profiles/user_id:gone"))
        .bearer_auth(common::ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["events_erased"], 2);
    assert_eq!(s.get("/api/v1/profiles/email:gone@x.io").await.0, 404);
    assert_eq!(s.get("/api/v1/profiles/user_id:gone").await.0, 404);
    assert_eq!(s.get("/api/v1/profiles/user_id:stays").await.0, 200);
    // The personal data is gone from the store itself, not just hidden.
    let store = s.store().await;
    let log = store.read_log(0, 100).await.unwrap();
    let raw: String = log.iter().map(|e| e.event.payload.clone()).collect();
    assert!(
        !raw.contains("gone@x.io") && !raw.contains("1 rue X") && !raw.contains("Gone Soon"),
        "{raw}"
    );
    assert!(raw.contains("stays@x.io"));
    let ws = relais_core::WorkspaceId(1);
    let audit = store.audit_log(ws, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "profile.erased");
    // A client retrying the erased event does not bring it back.
    batch(
        &s,
        vec![ev(
            "track",
            json!({"userId":"gone","event":"Order Completed","messageId":"gone-order"}),
        )],
    )
    .await;
    s.settle().await;
    assert_eq!(s.get("/api/v1/profiles/user_id:gone").await.0, 404);
}

async fn workspaces_are_isolated(s: Server) {
    let (ok, out, err) = s.cli(&["workspace", "create", "globex"]);
    assert!(ok, "{err}");
    let key = |label: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let (admin2, write2) = (key("admin key: "), key("write key: "));
    batch(
        &s,
        vec![ev(
            "identify",
            json!({"userId":"same","traits":{"email":"same@x.io","name":"Default"}}),
        )],
    )
    .await;
    let body =
        json!({"batch":[{"type":"identify","userId":"same","traits":{"email":"same@x.io","name":"Globex"}}]});
    let (status, _) = s
        .send("/v1/batch", Some(&write2), body.to_string().into_bytes(), &[])
        .await;
    assert_eq!(status, 200);
    s.settle().await;
    let (_, a) = s.get("/api/v1/profiles/user_id:same").await;
    let (_, b) = s.get_as(&admin2, "/api/v1/profiles/user_id:same").await;
    assert_eq!(a["traits"]["name"], "Default");
    assert_eq!(b["traits"]["name"], "Globex");
    assert_ne!(a["id"], b["id"]);
    // Ids of one workspace mean nothing in the other.
    let (status, _) = s
        .get_as(
            &admin2,
            &format!("/api/v1/profiles/{}", a["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 404);
    let (_, found) = s.get_as(&admin2, "/api/v1/profiles?q=default").await;
    assert!(found["profiles"].as_array().unwrap().is_empty());
    let (_, sources) = s.get_as(&admin2, "/api/v1/sources").await;
    assert_eq!(sources["sources"].as_array().unwrap().len(), 1);
}

async fn timeline_pages_and_filters(s: Server) {
    let (status, created) = s
        .http
        .post(s.url("/api/v1/sources"))
        .bearer_auth(common::ADMIN_KEY)
        .json(&json!({"name":"till","channel":"store"}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 201);
    let created: Value = created.json().await.unwrap();
    let till_key = created["write_key"].as_str().unwrap().to_owned();
    let events: Vec<Value> = (0..7)
        .map(|i| ev("track", json!({"userId":"tl","event": format!("E{}", i % 2)})))
        .collect();
    batch(&s, events).await;
    let till = json!({"batch":[{"type":"track","userId":"tl","event":"Order Completed"}]});
    assert_eq!(
        s.send("/v1/batch", Some(&till_key), till.to_string().into_bytes(), &[])
            .await
            .0,
        200
    );
    s.settle().await;
    let (_, p1) = s.get("/api/v1/profiles/user_id:tl/events?limit=3").await;
    assert_eq!(p1["events"].as_array().unwrap().len(), 3);
    assert_eq!(p1["events"][0]["channel"], "store");
    assert_eq!(p1["events"][0]["source"], "till");
    let mut seen = 3;
    let mut before = p1["next_before"].as_i64();
    while let Some(b) = before {
        let (_, p) = s
            .get(&format!("/api/v1/profiles/user_id:tl/events?limit=3&before={b}"))
            .await;
        seen += p["events"].as_array().unwrap().len();
        before = p["next_before"].as_i64();
    }
    assert_eq!(seen, 8);
    let (_, web) = s
        .get("/api/v1/profiles/user_id:tl/events?channel=web&event=E1")
        .await;
    assert_eq!(web["events"].as_array().unwrap().len(), 3);
    let (_, p) = s.get("/api/v1/profiles/user_id:tl").await;
    assert_eq!(p["sources"]["till"]["events"], 1);
    assert_eq!(p["sources"]["default"]["events"], 7);
}
