//! Message feedback steers a journey, end to end through the real binary:
//! the open pixel (`GET /t/o/…`) and the tracked link (`GET /t/c/…`) of a
//! journey's e-mail, loaded as a mail client would, come back as `Email
//! Opened` / `Email Link Clicked` events, satisfy the journey's
//! `wait_for_event` steps (correlated on the e-mail's `message_id`) and
//! decide what is sent next: the customer who opens and clicks gets an
//! in-app "thanks" and no nudge, the one who does nothing gets the push
//! nudge and no in-app, the one who opens without clicking gets neither.
//! An open or click of another e-mail does not count; a click with images
//! blocked (no pixel) is an open too.
//!
//! Waits are seconds instead of days; nothing is posted as a fake
//! `Email Opened` through the tracking API: only the real links are used.

mod common;

use common::{messages_of, passages, trace_detail, trace_steps, Server};
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    open_and_click_steer_the_journey,
    feedback_on_another_email_does_not_count,
    a_click_without_the_pixel_is_an_open
);

const JOURNEY_NAME: &str = "Newsletter follow-up";

const JOURNEY_YAML: &str = r#"
name: Newsletter follow-up
trigger: {event: Newsletter Signup}
steps:
  - id: email
    type: send
    channel: email
    content:
      email:
        subject: "{{ traits.first_name }}, see what's new"
        html: "<p>Hi {{ traits.first_name }}</p><a href=\"https://shop.example/new\">See what's new</a>"
  - id: wait_open
    type: wait_for_event
    event: Email Opened
    correlate: {property: message_id, message_of: email}
    timeout: {seconds: 5}
    on_event: wait_click
    on_timeout: nudge
  - id: wait_click
    type: wait_for_event
    event: Email Link Clicked
    correlate: {property: message_id, message_of: email}
    timeout: {seconds: 4}
    on_event: thanks
    on_timeout: exit
  - id: thanks
    type: send
    channel: in_app
    content:
      in_app: {title: "Thanks for reading, {{ traits.first_name }}", body: "Here is 10 % off your next order"}
    next: exit
  - id: nudge
    type: send
    channel: push
    content:
      push: {title: "{{ traits.first_name }}, you missed our news", body: "See what's new"}
"#;

/// Creates and activates the journey; its id.
async fn apply_journey(s: &Server) -> String {
    let (code, out) = s
        .admin_post(
            "/api/v1/journeys/apply?activate=true",
            "application/yaml",
            JOURNEY_YAML,
        )
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        (out["action"].as_str(), out["activated"].as_bool()),
        (Some("created"), Some(true)),
        "{out}"
    );
    out["journey"]["id"].as_str().unwrap().to_owned()
}

/// A customer with an e-mail address and a push token (push and e-mail
/// need no opt-in).
async fn identify(s: &Server, user: &str, first_name: &str) {
    let (code, body) = s
        .track(
            "/v1/identify",
            json!({"userId": user,
                   "traits": {"email": format!("{user}@example.com"), "first_name": first_name},
                   "context": {"device": {"token": format!("tok-{user}")}}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
}

async fn sign_up(s: &Server, user: &str) {
    let (code, body) = s
        .track(
            "/v1/track",
            json!({"userId": user, "event": "Newsletter Signup", "context": {"touchpoint": "web"}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
}

fn on_channel<'a>(msgs: &'a [Value], channel: &str) -> Vec<&'a Value> {
    msgs.iter().filter(|m| m["channel"] == channel).collect()
}

/// The profile's only passage (this file's journeys enter each profile once).
async fn passage(s: &Server, who: &str) -> Value {
    let all = passages(s, who).await;
    assert_eq!(all.len(), 1, "one passage for {who}: {all:?}");
    all[0].clone()
}

/// Polls `f` for up to 30 s (timers of several seconds are involved, and
/// the test machine may be busy).
async fn until<F: std::future::Future<Output = bool>>(mut f: impl FnMut() -> F, what: &str) {
    for _ in 0..300 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn has_trace(s: &Server, who: &str, want: &str) -> bool {
    passages(s, who)
        .await
        .first()
        .is_some_and(|p| trace_steps(p).iter().any(|k| k == want))
}

async fn until_done(s: &Server, who: &str, what: &str) -> Value {
    until(
        || async {
            passages(s, who)
                .await
                .first()
                .is_some_and(|p| p["status"] == "done")
        },
        what,
    )
    .await;
    passage(s, who).await
}

/// The journey's e-mail to `who` once sent, with its rendered HTML (tracked
/// links and open pixel).
async fn journey_email(s: &Server, who: &str) -> Value {
    until(
        || async { !on_channel(&messages_of(s, who).await, "email").is_empty() },
        &format!("the e-mail to {who}"),
    )
    .await;
    let msgs = messages_of(s, who).await;
    let emails = on_channel(&msgs, "email");
    assert_eq!(emails.len(), 1, "{msgs:?}");
    s.message_when(emails[0]["id"].as_str().unwrap(), "sent").await
}

/// The URL (absolute) of the first link or image in `html` whose URL
/// contains `marker`.
fn link(s: &Server, html: &str, marker: &str) -> String {
    let i = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {html}"));
    let start = html[..i].rfind('"').unwrap() + 1;
    let end = i + html[i..].find('"').unwrap();
    let url = html[start..end].replace("&amp;", "&");
    if url.starts_with('/') {
        s.url(&url)
    } else {
        url
    }
}

fn no_redirect() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Loads the open pixel of `email` as a mail client showing images would.
async fn open(s: &Server, email: &Value) {
    let html = email["content"]["html"].as_str().unwrap();
    let r = s.http.get(link(s, html, "/t/o/")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "image/gif");
}

/// Follows the tracked link of `email` to `target`; where it redirects.
async fn click(s: &Server, email: &Value, target: &str) -> String {
    let html = email["content"]["html"].as_str().unwrap();
    assert!(
        !html.contains(&format!("href=\"{target}\"")),
        "the link is rewritten: {html}"
    );
    let r = no_redirect().get(link(s, html, "/t/c/")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303, "{r:?}");
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// The `message_id` of each `name` event on the profile's timeline.
async fn feedback_ids(s: &Server, who: &str, name: &str) -> Vec<String> {
    s.settle().await;
    let (code, tl) = s
        .get(&format!(
            "/api/v1/profiles/user_id:{who}/events?event={}",
            name.replace(' ', "%20")
        ))
        .await;
    assert_eq!(code, 200, "{tl}");
    tl["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["event"]["properties"]["message_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn open_and_click_steer_the_journey(s: Server) {
    let jid = apply_journey(&s).await;
    for (user, name) in [("ann", "Ann"), ("bob", "Bob"), ("cy", "Cy")] {
        identify(&s, user, name).await;
    }
    s.settle().await;
    for user in ["ann", "bob", "cy"] {
        sign_up(&s, user).await;
    }
    s.settle().await;

    // Each gets the e-mail, with its link rewritten and an open pixel.
    let ann_email = journey_email(&s, "ann").await;
    let cy_email = journey_email(&s, "cy").await;
    let bob_email = journey_email(&s, "bob").await;
    assert_eq!(ann_email["content"]["subject"], "Ann, see what's new");
    assert_eq!(ann_email["campaign"], JOURNEY_NAME);
    let html = ann_email["content"]["html"].as_str().unwrap();
    assert!(html.contains("Hi Ann"), "{html}");
    for who in ["ann", "bob", "cy"] {
        until(
            || has_trace(&s, who, "wait_open:waiting"),
            &format!("{who} waits for the open"),
        )
        .await;
    }

    // Ann and Cy open it (the pixel); Ann then clicks, once she is waiting for it.
    open(&s, &ann_email).await;
    open(&s, &cy_email).await;
    until(
        || has_trace(&s, "ann", "wait_click:waiting"),
        "ann's open moves her to the click wait",
    )
    .await;
    let to = click(&s, &ann_email, "https://shop.example/new").await;
    assert!(
        to.starts_with("https://shop.example/new?utm_source=relais&utm_medium=email&utm_campaign=Newsletter"),
        "{to}"
    );

    // Ann: opened and clicked → the in-app thanks, never the nudge.
    let ann = until_done(&s, "ann", "ann's passage ends after the click").await;
    let kinds = trace_steps(&ann);
    for want in [
        "email:sent",
        "wait_open:waiting",
        "wait_open:resumed",
        "wait_click:waiting",
        "wait_click:resumed",
        "thanks:sent",
    ] {
        assert!(kinds.iter().any(|k| k == want), "{want} missing from {kinds:?}");
    }
    assert!(
        trace_detail(&ann, "wait_open", "resumed").starts_with("Email Opened"),
        "{ann}"
    );
    assert!(
        trace_detail(&ann, "wait_click", "resumed").starts_with("Email Link Clicked"),
        "{ann}"
    );
    assert!(!kinds.iter().any(|k| k.starts_with("nudge:")), "{kinds:?}");
    assert_eq!(ann["exit_reason"], "completed", "{ann}");
    let msgs = messages_of(&s, "ann").await;
    assert!(on_channel(&msgs, "push").is_empty(), "no nudge for ann: {msgs:?}");
    let in_app = on_channel(&msgs, "in_app");
    assert_eq!(in_app.len(), 1, "{msgs:?}");
    let thanks = s.message_when(in_app[0]["id"].as_str().unwrap(), "sent").await;
    assert_eq!(thanks["content"]["title"], "Thanks for reading, Ann", "{thanks}");
    let email = s
        .message_when(ann_email["id"].as_str().unwrap(), "delivered")
        .await;
    assert!(
        email["opened_at"].is_string() && email["clicked_at"].is_string(),
        "{email}"
    );
    // The events the journey reacted to are the ones the links wrote, about this e-mail.
    let email_id = ann_email["id"].as_str().unwrap().to_owned();
    assert!(trace_detail(&ann, "email", "sent").contains(&email_id), "{ann}");
    assert_eq!(
        feedback_ids(&s, "ann", "Email Opened").await,
        std::slice::from_ref(&email_id)
    );
    assert_eq!(feedback_ids(&s, "ann", "Email Link Clicked").await, [email_id]);

    // Bob: no open → the push nudge, never the in-app.
    let bob = until_done(&s, "bob", "bob's open wait times out").await;
    let kinds = trace_steps(&bob);
    assert_eq!(trace_detail(&bob, "wait_open", "resumed"), "timed out", "{bob}");
    assert!(kinds.iter().any(|k| k == "nudge:sent"), "{kinds:?}");
    assert!(
        !kinds
            .iter()
            .any(|k| k.starts_with("wait_click:") || k.starts_with("thanks:")),
        "{kinds:?}"
    );
    assert_eq!(bob["exit_reason"], "completed", "{bob}");
    let msgs = messages_of(&s, "bob").await;
    assert!(
        on_channel(&msgs, "in_app").is_empty(),
        "no thanks for bob: {msgs:?}"
    );
    let push = on_channel(&msgs, "push");
    assert_eq!(push.len(), 1, "{msgs:?}");
    let nudge = s.message_when(push[0]["id"].as_str().unwrap(), "sent").await;
    assert_eq!(
        (nudge["to"]["token"].as_str(), nudge["content"]["title"].as_str()),
        (Some("tok-bob"), Some("Bob, you missed our news")),
        "{nudge}"
    );
    let (_, bob_email) = s
        .get(&format!("/api/v1/messages/{}", bob_email["id"].as_str().unwrap()))
        .await;
    assert!(bob_email["opened_at"].is_null(), "{bob_email}");

    // Cy: opened, never clicked → no nudge, no thanks, the end by the click timeout.
    let cy = until_done(&s, "cy", "cy's click wait times out").await;
    let kinds = trace_steps(&cy);
    assert!(
        trace_detail(&cy, "wait_open", "resumed").starts_with("Email Opened"),
        "{cy}"
    );
    assert_eq!(trace_detail(&cy, "wait_click", "resumed"), "timed out", "{cy}");
    assert!(
        !kinds
            .iter()
            .any(|k| k.starts_with("nudge:") || k.starts_with("thanks:")),
        "{kinds:?}"
    );
    assert_eq!(cy["exit_reason"], "completed", "{cy}");
    let msgs = messages_of(&s, "cy").await;
    let channels: Vec<&str> = msgs.iter().map(|m| m["channel"].as_str().unwrap()).collect();
    assert_eq!(channels, ["email"], "{msgs:?}");

    // The journey's figures agree: three e-mails, one thanks, one nudge.
    let (code, stats) = s.get(&format!("/api/v1/journeys/{jid}/stats")).await;
    assert_eq!(code, 200, "{stats}");
    assert_eq!(
        (stats["entered"].as_i64(), stats["active"].as_i64()),
        (Some(3), Some(0)),
        "{stats}"
    );
    let sent = |channel: &str| -> i64 {
        stats["messages"][channel]
            .as_object()
            .map_or(0, |o| o.values().filter_map(Value::as_i64).sum())
    };
    assert_eq!(
        (sent("email"), sent("in_app"), sent("push")),
        (3, 1, 1),
        "{stats}"
    );
}

/// The waits are correlated on the journey e-mail's `message_id`: Dee opens
/// and clicks another e-mail (a newsletter sent through the API) while she
/// waits, and still gets the nudge.
async fn feedback_on_another_email_does_not_count(s: Server) {
    apply_journey(&s).await;
    identify(&s, "dee", "Dee").await;
    s.settle().await;
    let (code, m) = s
        .admin(
            "POST",
            "/api/v1/messages",
            Some(json!({"profile": "user_id:dee", "channel": "email", "campaign": "weekly",
                "content": {"subject": "Weekly", "html": "<a href=\"https://shop.example/weekly\">Read</a>"}})),
        )
        .await;
    assert_eq!(code, 201, "{m}");
    let weekly = s.message_when(m["id"].as_str().unwrap(), "sent").await;

    sign_up(&s, "dee").await;
    s.settle().await;
    until(
        || has_trace(&s, "dee", "wait_open:waiting"),
        "dee waits for the open",
    )
    .await;
    let msgs = messages_of(&s, "dee").await;
    assert_eq!(on_channel(&msgs, "email").len(), 2, "{msgs:?}");
    assert!(msgs.iter().any(|m| m["campaign"] == JOURNEY_NAME), "{msgs:?}");

    open(&s, &weekly).await;
    let to = click(&s, &weekly, "https://shop.example/weekly").await;
    assert!(to.starts_with("https://shop.example/weekly?"), "{to}");
    let weekly_id = weekly["id"].as_str().unwrap().to_owned();
    assert_eq!(
        feedback_ids(&s, "dee", "Email Opened").await,
        std::slice::from_ref(&weekly_id)
    );

    let dee = until_done(&s, "dee", "dee's open wait times out").await;
    assert_eq!(
        trace_detail(&dee, "wait_open", "resumed"),
        "timed out",
        "the weekly's open is not the journey's: {dee}"
    );
    let kinds = trace_steps(&dee);
    assert!(kinds.iter().any(|k| k == "nudge:sent"), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k.starts_with("wait_click:")), "{kinds:?}");
    let msgs = messages_of(&s, "dee").await;
    assert_eq!(on_channel(&msgs, "push").len(), 1, "{msgs:?}");
    assert!(on_channel(&msgs, "in_app").is_empty(), "{msgs:?}");
    let (_, weekly) = s.get(&format!("/api/v1/messages/{weekly_id}")).await;
    assert!(weekly["clicked_at"].is_string(), "{weekly}");
}

/// Eve's mail client blocks images: she clicks without the pixel ever
/// loading. The click is an open as well ("Email Opened", `implied_by:
/// click`), so she is not nudged as a non-reader, and the pixel loaded
/// later adds no second open.
async fn a_click_without_the_pixel_is_an_open(s: Server) {
    apply_journey(&s).await;
    identify(&s, "eve", "Eve").await;
    s.settle().await;
    sign_up(&s, "eve").await;
    s.settle().await;
    let email = journey_email(&s, "eve").await;
    until(
        || has_trace(&s, "eve", "wait_open:waiting"),
        "eve waits for the open",
    )
    .await;
    let to = click(&s, &email, "https://shop.example/new").await;
    assert!(to.starts_with("https://shop.example/new?"), "{to}");
    let eve = until_done(&s, "eve", "eve's passage ends").await;
    let kinds = trace_steps(&eve);
    for want in ["wait_open:resumed", "wait_click:resumed", "thanks:sent"] {
        assert!(kinds.iter().any(|k| k == want), "{want} missing: {kinds:?}");
    }
    assert!(!kinds.iter().any(|k| k.starts_with("nudge:")), "{kinds:?}");
    let msgs = messages_of(&s, "eve").await;
    assert!(on_channel(&msgs, "push").is_empty(), "{msgs:?}");
    assert_eq!(on_channel(&msgs, "in_app").len(), 1, "{msgs:?}");

    let id = email["id"].as_str().unwrap().to_owned();
    open(&s, &email).await;
    assert_eq!(
        feedback_ids(&s, "eve", "Email Opened").await,
        std::slice::from_ref(&id)
    );
    let (_, m) = s.get(&format!("/api/v1/messages/{id}")).await;
    assert!(m["opened_at"].is_string() && m["clicked_at"].is_string(), "{m}");
    let (code, tl) = s
        .get("/api/v1/profiles/user_id:eve/events?event=Email%20Opened")
        .await;
    assert_eq!(code, 200, "{tl}");
    assert_eq!(
        tl["events"][0]["event"]["properties"]["implied_by"], "click",
        "{tl}"
    );
}
