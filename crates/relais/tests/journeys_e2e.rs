//! Journeys from the field, end to end through the real binary: events in
//! through the tracking API, messages out through the sandbox providers,
//! decisions read back from `GET /api/v1/profiles/{ref}/journeys`.
//!
//! Waits are seconds instead of hours so the scenarios run in a test; the
//! engine treats a 2-second wait exactly as a 4-hour one (a timer row).

mod common;

use common::{messages_of, passages, trace_steps, wait_for, Server};
use serde_json::{json, Value};

both_backends!(
    abandoned_cart_across_devices,
    healthcare_reminders_stop_at_three,
    win_back_coupons_and_coherent_offers,
    apply_from_the_command_line,
    a_passage_follows_its_profile_into_a_merge,
    update_profile_steps_set_traits_and_consent
);

const CART_YAML: &str = r#"
name: Abandoned cart
trigger:
  event: Checkout Started
  where:
    - {property: cart_id, op: exists}
exit:
  events:
    - {event: Order Completed}
goal: {event: Order Completed, within: {days: 7}}
reentry: always
steps:
  - id: wait_order
    type: wait_for_event
    event: Order Completed
    correlate: cart_id
    timeout: {seconds: 2}
    on_event: exit
    on_timeout: email
  - id: email
    type: send
    channel: email
    content:
      email:
        subject: "{{ traits.first_name }}, your cart is waiting"
        html: "<p>{% for p in data.trigger.products %}{{ p.name }} {% endfor %}</p>"
  - id: wait_open
    type: wait_for_event
    event: Email Opened
    correlate: {property: message_id, message_of: email}
    timeout: {seconds: 2}
    on_event: exit
    on_timeout: nudge
  - id: nudge
    type: send
    channels: [sms, push]
    content:
      sms: {body: "Your cart is waiting"}
      push: {title: "Your cart", body: "is waiting"}
"#;

async fn identify(s: &Server, user: &str, traits: Value) {
    let (code, body) = s
        .track(
            "/v1/identify",
            json!({"userId": user, "traits": traits, "context": {"device": {"token": format!("tok-{user}")}}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
}

async fn event(s: &Server, user: &str, name: &str, touchpoint: &str, props: Value) {
    let (code, body) = s
        .track(
            "/v1/track",
            json!({"userId": user, "event": name, "properties": props, "context": {"touchpoint": touchpoint}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
}

/// Creates a journey from its JSON document and activates it; its id.
async fn create_active(s: &Server, journey: Value) -> String {
    let (code, out) = s.admin("POST", "/api/v1/journeys", Some(journey)).await;
    assert_eq!(code, 201, "{out}");
    let jid = out["id"].as_str().unwrap().to_owned();
    let (code, _) = s
        .admin("POST", &format!("/api/v1/journeys/{jid}/activate"), None)
        .await;
    assert_eq!(code, 200);
    jid
}

/// Enters a user through the journey's API trigger.
async fn trigger(s: &Server, jid: &str, user: &str) {
    let (code, t) = s
        .admin(
            "POST",
            &format!("/api/v1/journeys/{jid}/trigger"),
            Some(json!({"profile": format!("user_id:{user}")})),
        )
        .await;
    assert_eq!((code, t["entered"].as_bool()), (200, Some(true)), "{t}");
}

async fn until_passage_done(s: &Server, who: &str, what: &str) {
    wait_for(
        || async {
            passages(s, who)
                .await
                .first()
                .is_some_and(|p| p["status"] == "done")
        },
        what,
    )
    .await;
}

async fn abandoned_cart_across_devices(s: Server) {
    let (code, out) = s
        .admin_post(
            "/api/v1/journeys/apply?activate=true",
            "application/yaml",
            CART_YAML,
        )
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        (out["action"].as_str(), out["activated"].as_bool()),
        (Some("created"), Some(true))
    );
    // Applying the same file again changes nothing.
    let (_, again) = s
        .admin_post(
            "/api/v1/journeys/apply?activate=true",
            "application/yaml",
            CART_YAML,
        )
        .await;
    assert_eq!(
        (again["action"].as_str(), again["activated"].as_bool()),
        (Some("unchanged"), Some(false))
    );
    let jid = out["journey"]["id"].as_str().unwrap().to_owned();

    // Ann: no SMS consent, so the nudge falls back to push.
    identify(
        &s,
        "ann",
        json!({"email": "ann@example.com", "first_name": "Ann", "phone": "+33612345678"}),
    )
    .await;
    // Bob orders at the store till before the wait is over.
    identify(
        &s,
        "bob",
        json!({"email": "bob@example.com", "first_name": "Bob"}),
    )
    .await;
    s.settle().await;
    let cart = json!({"cart_id": "c-ann", "products": [{"name": "Red shoes"}, {"name": "Blue socks"}]});
    event(&s, "ann", "Checkout Started", "app", cart).await;
    event(
        &s,
        "bob",
        "Checkout Started",
        "web",
        json!({"cart_id": "c-bob", "products": [{"name": "Hat"}]}),
    )
    .await;
    s.settle().await;
    wait_for(
        || async { passages(&s, "bob").await.len() == 1 },
        "bob enters the journey",
    )
    .await;
    event(
        &s,
        "bob",
        "Order Completed",
        "store",
        json!({"order_id": "o-1", "cart_id": "c-bob", "total": 30}),
    )
    .await;
    s.settle().await;
    until_passage_done(&s, "bob", "bob leaves on his store order").await;
    let bob = &passages(&s, "bob").await[0];
    assert_eq!(bob["exit_reason"], "exit_event", "{bob}");
    assert!(bob["converted_at"].is_string(), "the store order converts: {bob}");

    // Ann: the e-mail after the wait, then (not opened) SMS refused, push sent.
    wait_for(
        || async {
            let m = messages_of(&s, "ann").await;
            m.iter().any(|m| m["channel"] == "push")
        },
        "the push to ann",
    )
    .await;
    let msgs = messages_of(&s, "ann").await;
    let email = msgs.iter().find(|m| m["channel"] == "email").expect("an e-mail");
    assert_eq!(email["content"]["subject"], "Ann, your cart is waiting");
    let html = email["content"]["html"].as_str().unwrap_or_default();
    assert!(
        html.contains("Red shoes") && html.contains("Blue socks"),
        "{html}"
    );
    assert_eq!(email["campaign"], "Abandoned cart");
    let sms = msgs
        .iter()
        .find(|m| m["channel"] == "sms")
        .expect("an sms decision");
    assert_eq!(sms["status"], "skipped");
    assert!(
        sms["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("no_consent"),
        "{sms}"
    );
    assert!(
        messages_of(&s, "bob").await.is_empty(),
        "bob ordered: nothing sent"
    );

    // The instance row is written just after the send it records.
    until_passage_done(&s, "ann", "ann's passage ends").await;
    let ann = &passages(&s, "ann").await[0];
    assert_eq!(
        (ann["status"].as_str(), ann["exit_reason"].as_str()),
        (Some("done"), Some("completed")),
        "{ann}"
    );
    let kinds = trace_steps(ann);
    for want in [
        "wait_order:entered",
        "wait_order:waiting",
        "email:sent",
        "wait_open:waiting",
        "nudge:skipped",
        "nudge:sent",
    ] {
        assert!(kinds.iter().any(|k| k == want), "{want} missing from {kinds:?}");
    }

    let (code, stats) = s.get(&format!("/api/v1/journeys/{jid}/stats")).await;
    assert_eq!(code, 200, "{stats}");
    assert_eq!(
        (stats["entered"].as_i64(), stats["converted"].as_i64()),
        (Some(2), Some(1)),
        "{stats}"
    );
    assert_eq!(stats["exited"]["exit_event"], 1, "{stats}");
    let push: i64 = stats["messages"]["push"]
        .as_object()
        .map_or(0, |o| o.values().filter_map(Value::as_i64).sum());
    assert_eq!(push, 1, "{stats}");
}

async fn healthcare_reminders_stop_at_three(s: Server) {
    let journey = json!({
        "name": "Vaccine reminders",
        "trigger": {"api": true},
        "exit": {"events": [{"event": "Appointment Booked"}]},
        "steps": [
            {"id": "announce", "type": "send", "channel": "email",
             "content": {"email": {"subject": "Your vaccine", "html": "<p>Book now</p>"}}},
            {"id": "wait_booking", "type": "wait_for_event", "event": "Appointment Booked",
             "timeout": {"seconds": 1}, "on_event": "exit", "on_timeout": "reminder"},
            {"id": "reminder", "type": "send", "channel": "sms", "max_visits": 3,
             "content": {"sms": {"body": "Reminder: book your vaccine"}}, "next": "wait_booking"}
        ]
    });
    let jid = create_active(&s, journey).await;
    identify(
        &s,
        "cid",
        json!({"email": "cid@example.com", "phone": "+33611111111"}),
    )
    .await;
    let (code, _) = s
        .track(
            "/v1/track",
            json!({"userId": "cid", "event": "Subscribed", "properties": {"channel": "sms"}}),
        )
        .await;
    assert_eq!(code, 200);
    s.settle().await;
    trigger(&s, &jid, "cid").await;
    until_passage_done(&s, "cid", "three reminders then the end").await;
    let msgs = messages_of(&s, "cid").await;
    let sms = msgs.iter().filter(|m| m["channel"] == "sms").count();
    assert_eq!(sms, 3, "at most three reminders: {msgs:?}");
    // A bad definition names the step and the problem.
    let bad = json!({"name": "Bad", "trigger": {"api": true},
                     "steps": [{"id": "a", "type": "send", "channel": "sms", "content": {"email": {}}}]});
    let (code, err) = s.admin("POST", "/api/v1/journeys", Some(bad)).await;
    assert_eq!(code, 400, "{err}");
    assert_eq!(err["error"]["code"], "invalid_journey", "{err}");
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("steps[0] (a).content.sms"), "{err}");
}

async fn win_back_coupons_and_coherent_offers(s: Server) {
    let (code, seg) = s
        .admin(
            "POST",
            "/api/v1/segments",
            Some(json!({"name": "No order in 90 days", "condition": {"and": [
                {"trait": "email", "op": "exists"},
                {"event": "Order Completed", "within": {"days": 90}, "count": {"op": "eq", "value": 0}}
            ]}})),
        )
        .await;
    assert!(code == 201 || code == 200, "{seg}");
    let seg_id = seg["id"].as_str().unwrap().to_owned();
    let (code, pool) = s
        .admin_post(
            "/api/v1/coupon-pools/winback/codes",
            "text/csv",
            "code\nWB-AAAA1\nWB-BBBB2\nWB-AAAA1\n",
        )
        .await;
    assert_eq!((code, pool["total"].as_i64()), (200, Some(2)), "{pool}");
    let offer = |group: &str, id: &str| json!({"group": group, "id": id, "valid": {"days": 14}});
    let winback = json!({
        "name": "Win-back", "trigger": {"segment_entered": seg_id},
        "steps": [{"id": "offer", "type": "send", "channel": "email", "offer": offer("discount", "winback-20"),
                   "coupon_pool": "winback",
                   "content": {"email": {"subject": "20 % off", "html": "<p>Code {{ data.coupon }}</p>"}}}]
    });
    let welcome = json!({
        "name": "Newsletter welcome", "trigger": {"event": "Newsletter Subscribed"},
        "steps": [{"id": "offer", "type": "send", "channel": "email", "offer": offer("discount", "welcome-10"),
                   "content": {"email": {"subject": "10 % off", "html": "<p>Welcome</p>"}}}]
    });
    for j in [winback, welcome] {
        let (code, out) = s
            .admin("POST", "/api/v1/journeys/apply?activate=true", Some(j))
            .await;
        assert_eq!(code, 200, "{out}");
    }
    for who in ["dan", "eve", "fay"] {
        identify(&s, who, json!({"email": format!("{who}@example.com")})).await;
        s.settle().await;
        until_passage_done(&s, who, "going through the win-back journey on segment entry").await;
    }
    let mut codes = Vec::new();
    for who in ["dan", "eve"] {
        let msgs = messages_of(&s, who).await;
        let html = msgs[0]["content"]["html"].as_str().unwrap_or_default().to_owned();
        let code = html
            .trim_start_matches("<p>Code ")
            .split('<')
            .next()
            .unwrap()
            .to_owned();
        assert!(code.starts_with("WB-"), "{html}");
        codes.push(code);
    }
    assert_ne!(codes[0], codes[1], "unique codes per profile");
    // The pool had two codes: the third customer's send is skipped, and says why.
    assert!(messages_of(&s, "fay").await.is_empty());
    let fay = &passages(&s, "fay").await[0];
    assert!(fay.to_string().contains("coupon_pool_exhausted"), "{fay}");
    let (_, pool) = s.get("/api/v1/coupon-pools/winback").await;
    assert_eq!(
        (pool["free"].as_i64(), pool["low"].as_bool()),
        (Some(0), Some(true)),
        "{pool}"
    );

    // Dan holds the win-back offer: the welcome offer of the same group is not sent.
    event(&s, "dan", "Newsletter Subscribed", "web", json!({})).await;
    s.settle().await;
    wait_for(
        || async {
            let all = passages(&s, "dan").await;
            all.len() == 2 && all.iter().all(|p| p["status"] == "done")
        },
        "dan goes through the welcome journey",
    )
    .await;
    let all = passages(&s, "dan").await;
    let welcome = all.iter().find(|p| p["journey"] == "Newsletter welcome").unwrap();
    assert!(welcome.to_string().contains("contradictory_offer"), "{welcome}");
    assert_eq!(messages_of(&s, "dan").await.len(), 1, "only the win-back e-mail");
}

async fn apply_from_the_command_line(s: Server) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cart.yaml");
    std::fs::write(&file, CART_YAML).unwrap();
    let path = file.to_str().unwrap();
    let args = [
        "apply",
        "-f",
        path,
        "--activate",
        "--url",
        &s.base,
        "--admin-key",
        common::ADMIN_KEY,
    ];
    let (ok, out, err) = s.cli(&args);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("created \"Abandoned cart\"") && out.contains("activated now"),
        "{out}"
    );
    let (ok, out, _) = s.cli(&args);
    assert!(ok && out.contains("unchanged"), "{out}");
    // A changed file is a new version; a broken one is refused with the step named.
    std::fs::write(&file, CART_YAML.replace("seconds: 2", "hours: 4")).unwrap();
    let (ok, out, _) = s.cli(&args);
    assert!(
        ok && out.contains("updated") && out.contains("version 2"),
        "{out}"
    );
    std::fs::write(&file, CART_YAML.replace("on_timeout: email", "on_timeout: emial")).unwrap();
    let (ok, _, err) = s.cli(&args);
    assert!(
        !ok && err.contains("invalid_journey") && err.contains("steps[0] (wait_order)"),
        "{err}"
    );
}

/// A cart started anonymously on the app; the shopper then signs in there
/// as a customer already known from the web (the two profiles merge) and
/// orders at the store till: the passage, now the merged profile's, hears
/// the order and ends without the e-mail.
async fn a_passage_follows_its_profile_into_a_merge(s: Server) {
    let (code, out) = s
        .admin_post(
            "/api/v1/journeys/apply?activate=true",
            "application/yaml",
            CART_YAML,
        )
        .await;
    assert_eq!(code, 200, "{out}");
    identify(
        &s,
        "zoe",
        json!({"email": "zoe@example.com", "first_name": "Zoe"}),
    )
    .await;
    let (code, body) = s
        .track(
            "/v1/track",
            json!({"anonymousId": "app-anon-7", "event": "Checkout Started",
                   "properties": {"cart_id": "c-zoe", "products": [{"name": "Scarf"}]},
                   "context": {"touchpoint": "app"}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    s.settle().await;
    wait_for(
        || async {
            let (_, v) = s.get("/api/v1/profiles/anonymous_id:app-anon-7/journeys").await;
            v.as_array().is_some_and(|a| a.len() == 1)
        },
        "the anonymous cart enters",
    )
    .await;
    let (code, body) = s
        .track(
            "/v1/identify",
            json!({"userId": "zoe", "anonymousId": "app-anon-7", "context": {"touchpoint": "app"}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    s.settle().await;
    event(
        &s,
        "zoe",
        "Order Completed",
        "store",
        json!({"order_id": "o-9", "cart_id": "c-zoe", "total": 40}),
    )
    .await;
    s.settle().await;
    until_passage_done(&s, "zoe", "the merged passage ends on the store order").await;
    let zoe = passages(&s, "zoe").await;
    assert_eq!(zoe.len(), 1, "{zoe:?}");
    assert_eq!(zoe[0]["exit_reason"], "exit_event", "{}", zoe[0]);
    assert!(zoe[0]["converted_at"].is_string(), "{}", zoe[0]);
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert!(
        messages_of(&s, "zoe").await.is_empty(),
        "no cart e-mail after the order"
    );
}

/// An `update_profile` step's traits and consent reach the profile (its
/// event's properties were once slimmed away by the processor).
async fn update_profile_steps_set_traits_and_consent(s: Server) {
    let journey = json!({
        "name": "Tiering",
        "trigger": {"api": true},
        "steps": [{"id": "tier", "type": "update_profile",
                   "traits": {"tier": "gold", "vip": true}, "consent": {"sms": "subscribed"}}]
    });
    let jid = create_active(&s, journey).await;
    identify(&s, "uma", json!({"email": "uma@example.com"})).await;
    s.settle().await;
    trigger(&s, &jid, "uma").await;
    wait_for(
        || async {
            let (_, p) = s.get("/api/v1/profiles/user_id:uma").await;
            p["traits"]["tier"] == "gold"
                && p["traits"]["vip"] == true
                && p["consent"]["sms"]["status"] == "subscribed"
        },
        "the step's traits and consent on the profile",
    )
    .await;
}
