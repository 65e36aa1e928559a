//! Real-time segments through the real binary: the marketer's flow
//! (preview, save, watch a profile enter and leave), time windows closed by
//! scheduled checks, backfill, validation, computed traits, and the
//! commerce state on the profile.

mod common;

use common::Server;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_backends!(
    abandoned_app_cart_enters_and_store_order_exits,
    time_window_closes_without_any_event,
    backfill_covers_existing_profiles_and_new_events,
    definitions_are_validated,
    computed_trait_and_repeat_viewers,
);

fn now_iso(offset_ms: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(offset_ms);
    t.to_string()
}

async fn batch(s: &Server, events: Vec<Value>) {
    let (status, resp) = s.track("/v1/batch", json!({ "batch": events })).await;
    assert_eq!(status, 200, "{resp}");
}

async fn create(s: &Server, name: &str, condition: Value) -> String {
    let (status, seg) = s
        .admin(
            "POST",
            "/api/v1/segments",
            Some(json!({"name": name, "condition": condition})),
        )
        .await;
    assert_eq!(status, 201, "{seg}");
    let id = seg["id"].as_str().unwrap().to_owned();
    wait_active(s, &id).await;
    id
}

async fn wait_active(s: &Server, id: &str) {
    let path = format!("/api/v1/segments/{id}");
    common::wait_for(
        || async { s.get(&path).await.1["status"] == "active" },
        "the backfill to finish",
    )
    .await;
}

async fn size(s: &Server, id: &str) -> i64 {
    let (status, seg) = s.get(&format!("/api/v1/segments/{id}?wait=20000")).await;
    assert_eq!(status, 200, "{seg}");
    seg["size"].as_i64().unwrap()
}

fn names(timeline: &Value) -> Vec<String> {
    timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The "done when": added to cart on the app in the last 24 h, no
/// order since, reachable by e-mail; enters on the app event, leaves when
/// the order arrives from the store till (identified by loyalty card).
async fn abandoned_app_cart_enters_and_store_order_exits(s: Server) {
    batch(
        &s,
        vec![json!({"type":"identify","userId":"c1","anonymousId":"phone-1",
        "traits":{"email":"ana@example.com","loyalty_id":"L-77"},"timestamp":now_iso(-60_000)})],
    )
    .await;
    let condition = json!({"and":[
        {"event":"Product Added","where":[{"property":"$channel","op":"eq","value":"app"}],
         "within":{"hours":24},"not_followed_by":{"event":"Order Completed"}},
        {"reachable":"email"}]});
    s.settle().await;
    let (status, preview) = s
        .admin(
            "POST",
            "/api/v1/segments/preview",
            Some(json!({"condition": condition})),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["size"], 0);
    assert_eq!(preview["exact"], true);
    assert_eq!(preview["evaluated"], 1);

    let id = create(&s, "App cart abandoners", condition.clone()).await;
    assert_eq!(size(&s, &id).await, 0);

    // The qualifying event, on the app.
    let acked = Instant::now();
    batch(
        &s,
        vec![
            json!({"type":"track","anonymousId":"phone-1","event":"Product Added",
        "properties":{"product_id":"P1","price":49.9,"quantity":1},
        "context":{"touchpoint":"app"},"timestamp":now_iso(0)}),
        ],
    )
    .await;
    let path = format!("/api/v1/segments/{id}");
    common::wait_for(
        || async { s.get(&path).await.1["size"] == 1 },
        "the profile to enter",
    )
    .await;
    eprintln!(
        "entered {} ms after the acknowledgement",
        acked.elapsed().as_millis()
    );

    let (_, members) = s.get(&format!("/api/v1/segments/{id}/members")).await;
    let member = &members["members"][0];
    assert!(member["entered_at"].is_string(), "{members}");
    assert!(
        common::identities(member).contains(&"email:ana@example.com".to_owned()),
        "{members}"
    );
    let (_, profile) = s.get("/api/v1/profiles/user_id:c1?wait=20000").await;
    assert_eq!(profile["segments"][0]["segment_id"], id.as_str(), "{profile}");
    assert_eq!(
        profile["commerce"]["cart"]["items"][0]["product_id"], "P1",
        "{profile}"
    );
    let (_, preview) = s
        .admin(
            "POST",
            "/api/v1/segments/preview",
            Some(json!({"condition": condition})),
        )
        .await;
    assert_eq!(preview["size"], 1, "{preview}");
    assert!(
        common::identities(&preview["sample"][0]).contains(&"user_id:c1".to_owned()),
        "{preview}"
    );
    assert!(preview["sample"][0].get("entered_at").is_none(), "{preview}");

    // The order, at the store till, by loyalty card only.
    batch(&s, vec![json!({"type":"track","anonymousId":"till-9","event":"Order Completed",
        "properties":{"order_id":"O-1","total":49.9,"products":[{"product_id":"P1","quantity":1,"price":49.9}]},
        "context":{"touchpoint":"store","traits":{"loyalty_id":"L-77"}},"timestamp":now_iso(1_000)})])
    .await;
    assert_eq!(
        size(&s, &id).await,
        0,
        "the order from the store ends the membership"
    );

    let (_, segs) = s.get("/api/v1/profiles/user_id:c1/segments").await;
    let history = segs["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{segs}");
    assert_eq!(history[0]["change"], "exited");
    assert_eq!(history[1]["change"], "entered");
    assert_eq!(history[0]["cause"], "event");
    assert!(history[0]["cause_seq"].as_i64().unwrap() > history[1]["cause_seq"].as_i64().unwrap());
    // Both changes are on the timeline, after the events that caused them.
    s.settle().await;
    let (_, timeline) = s.get("/api/v1/profiles/user_id:c1/events?wait=20000").await;
    let n = names(&timeline);
    assert_eq!(
        &n[..4],
        [
            "Segment Exited",
            "Order Completed",
            "Segment Entered",
            "Product Added"
        ],
        "{timeline}"
    );
    let exited = &timeline["events"][0];
    assert_eq!(exited["channel"], "internal");
    assert_eq!(exited["event"]["properties"]["segment_id"], id.as_str());
    let (_, profile) = s.get("/api/v1/profiles/user_id:c1").await;
    let items = profile["commerce"]["cart"]["items"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(items, 0, "the store order emptied the app cart: {profile}");
    assert_eq!(profile["computed"]["order_count"], 1);
}

/// "Added to cart in the last 24 h": the event is 24 h minus 3 s old, so the
/// profile must leave about 3 s later with no event at all.
async fn time_window_closes_without_any_event(s: Server) {
    let id = create(
        &s,
        "Recent adders",
        json!({"event":"Product Added","within":{"hours":24}}),
    )
    .await;
    batch(
        &s,
        vec![json!({"type":"track","userId":"u-old","event":"Product Added",
        "properties":{"product_id":"P1"},"timestamp":now_iso(-86_400_000 + 3_000)})],
    )
    .await;
    assert_eq!(size(&s, &id).await, 1);
    let started = Instant::now();
    let path = format!("/api/v1/segments/{id}");
    common::wait_for(
        || async { s.get(&path).await.1["size"] == 0 },
        "the window to close",
    )
    .await;
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(8), "left after {waited:?}");
    let (_, segs) = s.get("/api/v1/profiles/user_id:u-old/segments").await;
    assert_eq!(segs["history"][0]["cause"], "timer", "{segs}");
    s.settle().await;
    let (_, timeline) = s.get("/api/v1/profiles/user_id:u-old/events").await;
    assert_eq!(names(&timeline)[0], "Segment Exited");
}

/// A segment created over existing profiles is computed by a backfill; it
/// does not emit "entered" events for them (nobody entered: they were in).
async fn backfill_covers_existing_profiles_and_new_events(s: Server) {
    let mut events = Vec::new();
    for i in 0..60 {
        events.push(json!({"type":"identify","userId":format!("b{i}"),
            "traits":{"tier": if i % 3 == 0 {"gold"} else {"silver"}, "age": 20 + i}}));
    }
    batch(&s, events).await;
    s.settle().await;
    let (status, seg) = s
        .admin(
            "POST",
            "/api/v1/segments",
            Some(json!({"name":"Gold","condition":{"trait":"tier","op":"eq","value":"gold"}})),
        )
        .await;
    assert_eq!(status, 201, "{seg}");
    let id = seg["id"].as_str().unwrap().to_owned();
    // Events arriving while it is computed are not missed.
    batch(
        &s,
        vec![json!({"type":"identify","userId":"b1","traits":{"tier":"gold"}})],
    )
    .await;
    wait_active(&s, &id).await;
    assert_eq!(size(&s, &id).await, 21);
    let (_, page1) = s.get(&format!("/api/v1/segments/{id}/members?limit=15")).await;
    let next = page1["next_after"].as_str().unwrap();
    let (_, page2) = s
        .get(&format!("/api/v1/segments/{id}/members?limit=15&after={next}"))
        .await;
    assert_eq!(page1["members"].as_array().unwrap().len(), 15);
    assert_eq!(page2["members"].as_array().unwrap().len(), 6);
    assert!(page2.get("next_after").is_none());
    let (_, segs) = s.get("/api/v1/profiles/user_id:b0/segments").await;
    assert_eq!(segs["history"][0]["cause"], "backfill", "{segs}");
    let (_, timeline) = s.get("/api/v1/profiles/user_id:b0/events").await;
    assert!(!names(&timeline).contains(&"Segment Entered".to_owned()));

    // Editing the condition recomputes it.
    let (status, seg) = s
        .admin(
            "PUT",
            &format!("/api/v1/segments/{id}"),
            Some(json!({"name":"Gold or older","condition":{"or":[
                {"trait":"tier","op":"eq","value":"gold"},{"trait":"age","op":"gte","value":70}]}})),
        )
        .await;
    assert_eq!(status, 200, "{seg}");
    assert_eq!(seg["version"], 2);
    wait_active(&s, &id).await;
    assert_eq!(size(&s, &id).await, 21 + 7, "ages 70..79 not already gold: 7");
}

async fn definitions_are_validated(s: Server) {
    let post = |body: Value| s.admin("POST", "/api/v1/segments", Some(body));
    let (status, err) = post(
        json!({"name":"x","condition":{"and":[{"trait":"a","op":"eq","value":1},
        {"trait":"b","op":"bigger","value":2}]}}),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["code"], "invalid_condition");
    let msg = err["error"]["message"].as_str().unwrap();
    assert!(msg.contains("and[1]") && msg.contains("bigger"), "{msg}");

    // Stock and prices change outside the profile's events: journeys only.
    let (status, err) = post(json!({"name":"x","condition":{"or":[{"reachable":"email"},
        {"commerce":"available_online","product":{"from":"wishlist"}}]}}))
    .await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (400, &json!("invalid_condition")),
        "{err}"
    );
    let msg = err["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("cannot use \"commerce\"") && msg.contains("journey"),
        "{msg}"
    );

    let (status, err) = post(json!({"name":"x","condition":{"in_segment":"seg_999"}})).await;
    assert_eq!(status, 400, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("seg_999"));

    let (status, err) = post(json!({"name":"x"})).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["code"], "invalid_body");

    let a = create(&s, "A", json!({"trait":"tier","op":"exists"})).await;
    let b = create(&s, "B", json!({"in_segment": a})).await;
    let (status, err) = post(json!({"name":"A","condition":{"trait":"x","op":"exists"}})).await;
    assert_eq!(status, 409, "{err}");
    let (status, err) = s
        .admin(
            "PUT",
            &format!("/api/v1/segments/{a}"),
            Some(json!({"name":"A","condition":{"in_segment": b}})),
        )
        .await;
    assert_eq!(status, 400, "a cycle is refused: {err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("circle"),
        "{err}"
    );
    let (status, err) = s.admin("DELETE", &format!("/api/v1/segments/{a}"), None).await;
    assert_eq!(status, 409, "used by B: {err}");
    let (status, _) = s.admin("DELETE", &format!("/api/v1/segments/{b}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = s.get(&format!("/api/v1/segments/{b}")).await;
    assert_eq!(status, 404);
    let (status, _) = s.get("/api/v1/segments/nope").await;
    assert_eq!(status, 404);
}

/// "Viewed the same product 3 times this week but did not buy", and a
/// user-defined computed trait kept live.
async fn computed_trait_and_repeat_viewers(s: Server) {
    let (status, ct) = s
        .admin(
            "PUT",
            "/api/v1/computed-traits/views_7d",
            Some(json!({"event":"Product Viewed","within":{"days":7},"fn":"count"})),
        )
        .await;
    assert_eq!(status, 200, "{ct}");
    let (status, err) = s
        .admin(
            "PUT",
            "/api/v1/computed-traits/order_count",
            Some(json!({"event":"X","fn":"count"})),
        )
        .await;
    assert_eq!(status, 409, "built-in names are reserved: {err}");
    let id = create(
        &s,
        "Hesitant",
        json!({"and":[
        {"event":"Product Viewed","where":[{"property":"product_id","op":"eq","value":"P9"}],
         "within":{"days":7},"count":{"op":"gte","value":3}},
        {"not":{"event":"Order Completed","within":{"days":7}}},
        {"computed":"views_7d","op":"gte","value":3}]}),
    )
    .await;
    let view = |t: i64, p: &str| {
        json!({"type":"track","userId":"v1","event":"Product Viewed",
        "properties":{"product_id":p},"timestamp":now_iso(t)})
    };
    batch(
        &s,
        vec![
            view(-3 * 86_400_000, "P9"),
            view(-86_400_000, "P1"),
            view(-1000, "P9"),
        ],
    )
    .await;
    assert_eq!(size(&s, &id).await, 0, "two views of P9 only");
    batch(&s, vec![view(0, "P9")]).await;
    assert_eq!(size(&s, &id).await, 1);
    let (_, profile) = s.get("/api/v1/profiles/user_id:v1").await;
    assert_eq!(profile["computed"]["views_7d"], 4, "{profile}");
    batch(
        &s,
        vec![json!({"type":"track","userId":"v1","event":"Order Completed",
        "properties":{"order_id":"O9","total":10},"timestamp":now_iso(0)})],
    )
    .await;
    assert_eq!(size(&s, &id).await, 0, "bought");
    let (status, err) = s.admin("DELETE", "/api/v1/computed-traits/views_7d", None).await;
    assert_eq!(status, 409, "used by a segment: {err}");

    // Changing the trait's definition recomputes the segments that read it.
    let viewers = create(&s, "Viewers", json!({"computed":"views_7d","op":"gte","value":3})).await;
    assert_eq!(size(&s, &viewers).await, 1);
    let (status, _) = s
        .admin(
            "PUT",
            "/api/v1/computed-traits/views_7d",
            Some(json!({"event":"Product Viewed","within":{"days":7},"fn":"count",
                        "where":[{"property":"product_id","op":"eq","value":"P1"}]})),
        )
        .await;
    assert_eq!(status, 200);
    wait_active(&s, &viewers).await;
    assert_eq!(size(&s, &viewers).await, 0, "one view of P1 only");
    let (_, profile) = s.get("/api/v1/profiles/user_id:v1").await;
    assert_eq!(profile["computed"]["views_7d"], 1, "{profile}");
}
