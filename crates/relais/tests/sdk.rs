//! The official Segment SDKs, unmodified, against the real binary: the
//! Python SDK (`segment-analytics-python`, default background batching, with
//! and without gzip) and the Node.js SDK (`@segment/analytics-node`) each send
//! one customer journey (tests/sdk/*/send_events.*), and the admin API must
//! then show exactly what they sent.
//!
//! The SDKs are installed by `scripts/sdk-setup.sh` (a venv in
//! target/sdk-venv, tests/sdk/node/node_modules); these tests run only when
//! built with `RELAIS_SDK_TESTS=1` (see build.rs) and are reported as ignored
//! otherwise.

mod common;

use common::{Backend, Server, WRITE_KEY};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many events each journey sends: track, identify, track, page,
/// screen, group, alias.
const SENT: u64 = 7;

fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .canonicalize()
        .expect("workspace root")
}

fn run_id(sdk: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{sdk}-{}-{nanos}", std::process::id())
}

/// Runs one SDK script to completion and asserts it reported success.
async fn run_script(program: &Path, args: &[&str], setup_hint: &str) {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).current_dir(root()).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{} {args:?} did not finish within 120 s", program.display()))
        .unwrap_or_else(|e| panic!("cannot run {} ({setup_hint}): {e}", program.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        program.display(),
        out.status
    );
    eprintln!("{}", stdout.trim_end());
}

async fn python_sdk(gzip: bool) {
    let s = Server::start(Backend::Sqlite);
    let run = run_id(if gzip { "pyz" } else { "py" });
    let script = root().join("tests/sdk/python/send_events.py");
    let mut args = vec![script.to_str().unwrap(), &s.base, WRITE_KEY, &run];
    if gzip {
        args.push("--gzip");
    }
    let python = root().join("target/sdk-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/sdk-setup.sh first",
        python.display()
    );
    run_script(&python, &args, "target/sdk-venv holds segment-analytics-python").await;
    check_journey(&s, &run, "analytics-python").await;
}

#[cfg_attr(
    not(relais_sdk),
    ignore = "RELAIS_SDK_TESTS=1 not set (scripts/test.sh sets it after scripts/sdk-setup.sh): SDK tests skipped"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_default_batching() {
    python_sdk(false).await;
}

#[cfg_attr(
    not(relais_sdk),
    ignore = "RELAIS_SDK_TESTS=1 not set (scripts/test.sh sets it after scripts/sdk-setup.sh): SDK tests skipped"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_gzip() {
    python_sdk(true).await;
}

#[cfg_attr(
    not(relais_sdk),
    ignore = "RELAIS_SDK_TESTS=1 not set (scripts/test.sh sets it after scripts/sdk-setup.sh): SDK tests skipped"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk() {
    let s = Server::start(Backend::Sqlite);
    let run = run_id("node");
    assert!(
        root()
            .join("tests/sdk/node/node_modules/@segment/analytics-node")
            .is_dir(),
        "tests/sdk/node/node_modules is missing: run scripts/sdk-setup.sh first"
    );
    let script = root().join("tests/sdk/node/send_events.mjs");
    run_script(
        Path::new("node"),
        &[script.to_str().unwrap(), &s.base, WRITE_KEY, &run],
        "Node.js 20+ must be on PATH",
    )
    .await;
    check_journey(&s, &run, "@segment/analytics-node").await;
}

fn parse_ts(v: &Value, what: &str) -> jiff::Timestamp {
    v.as_str()
        .unwrap_or_else(|| panic!("{what}: not a string: {v}"))
        .parse()
        .unwrap_or_else(|e| panic!("{what}: {v}: {e}"))
}

/// Asserts `t` lies within a few minutes of the test's own clock.
fn assert_recent(t: jiff::Timestamp, what: &str) {
    let off = jiff::Timestamp::now().duration_since(t).abs();
    assert!(
        off < jiff::SignedDuration::from_secs(300),
        "{what} = {t} is {off:?} away from now"
    );
}

/// What the journey scripts send: one profile, merged across the anonymous
/// id, with every call on its timeline exactly as sent.
async fn check_journey(s: &Server, run: &str, library: &str) {
    s.settle().await;
    let user = format!("user-{run}");
    let anon = format!("anon-{run}");
    let email = format!("{run}@sdk.example.com");

    let (status, p) = s.get(&format!("/api/v1/profiles/user_id:{user}")).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["user_id"], user.as_str());
    assert_eq!(
        p["traits"],
        json!({"email": email, "name": "Ada Lovelace", "plan": "pro"}),
        "{p}"
    );
    assert_eq!(p["event_count"], SENT, "{p}");
    assert_eq!(p["channels"]["web"]["events"], SENT, "{p}");
    let ids = common::identities(&p);
    for want in [
        format!("user_id:{user}"),
        format!("anonymous_id:{anon}"),
        format!("email:{email}"),
    ] {
        assert!(ids.contains(&want), "{want} in {ids:?}");
    }
    assert_recent(parse_ts(&p["first_seen"], "first_seen"), "first_seen");
    assert_recent(parse_ts(&p["last_seen"], "last_seen"), "last_seen");
    // The pre-login anonymous id and the e-mail lead to the same profile.
    for other in [format!("anonymous_id:{anon}"), format!("email:{email}")] {
        let (status, q) = s.get(&format!("/api/v1/profiles/{other}")).await;
        assert_eq!((status, &q["id"]), (200, &p["id"]), "{other}: {q}");
    }

    let (status, tl) = s
        .get(&format!("/api/v1/profiles/user_id:{user}/events?limit=100"))
        .await;
    assert_eq!(status, 200, "{tl}");
    let events = tl["events"].as_array().unwrap();
    assert_eq!(events.len() as u64, SENT, "{tl}");
    assert!(tl["next_before"].is_null(), "{tl}");

    let mut kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["alias", "group", "identify", "page", "screen", "track", "track"]
    );
    let mut message_ids: Vec<&str> = events.iter().map(|e| e["message_id"].as_str().unwrap()).collect();
    message_ids.sort_unstable();
    message_ids.dedup();
    assert_eq!(message_ids.len() as u64, SENT, "SDK message ids are kept");

    for e in events {
        let what = format!("{} {}", e["type"], e["name"]);
        assert_eq!(e["channel"], "web", "{what}");
        assert_eq!(e["event"]["type"], e["type"], "{what}");
        assert_eq!(e["event"]["messageId"], e["message_id"], "{what}");
        assert_eq!(e["event"]["context"]["library"]["name"], library, "{what}");
        // The SDKs stamp each event and send `sentAt`: after clock-skew
        // correction the time is the real one, never after the arrival.
        let ts = parse_ts(&e["timestamp"], &what);
        let received = parse_ts(&e["received_at"], &what);
        assert_recent(ts, &format!("{what} timestamp"));
        assert_recent(received, &format!("{what} received_at"));
        assert!(
            ts <= received.checked_add(jiff::SignedDuration::from_secs(1)).unwrap(),
            "{what}: timestamp {ts} after received_at {received}"
        );
    }

    let one = |kind: &str, name: &str| -> &Value {
        let found: Vec<&Value> = events
            .iter()
            .filter(|e| e["type"] == kind && e["name"] == name)
            .collect();
        assert_eq!(found.len(), 1, "one {kind} {name:?} in {tl}");
        &found[0]["event"]
    };

    let viewed = one("track", "Product Viewed");
    assert_eq!(viewed["anonymousId"], anon.as_str());
    assert_eq!(
        viewed["properties"],
        json!({"product_id": "SKU-1", "price": 19.99})
    );

    let order = one("track", "Order Completed");
    assert_eq!(order["userId"], user.as_str());
    assert_eq!(order["event"], "Order Completed");
    assert_eq!(
        order["properties"],
        json!({
            "order_id": format!("ord-{run}"),
            "total": 59.97,
            "currency": "EUR",
            "products": [
                {"product_id": "SKU-1", "name": "Tea cup", "price": 19.99, "quantity": 2,
                 "categories": ["kitchen", "tea"]},
                {"product_id": "SKU-2", "name": "Teapot", "price": 19.99, "quantity": 1,
                 "options": {"colour": "blue", "engraved": true}},
            ],
            "shipping": {"method": "express", "address": {"city": "Lyon", "country": "FR"}},
        }),
        "nested properties arrive intact"
    );
    let (_, orders) = s
        .get(&format!(
            "/api/v1/profiles/anonymous_id:{anon}/events?event=Order%20Completed"
        ))
        .await;
    assert_eq!(orders["events"].as_array().unwrap().len(), 1, "{orders}");

    let identify = one("identify", "");
    assert_eq!(identify["userId"], user.as_str());
    assert_eq!(identify["traits"]["email"], email.as_str());
    assert_eq!(identify["traits"]["name"], "Ada Lovelace");

    let page = one("page", "Checkout");
    assert_eq!(page["userId"], user.as_str());
    assert_eq!(page["name"], "Checkout");
    assert_eq!(page["properties"]["path"], "/checkout");
    assert_eq!(page["properties"]["url"], "https://shop.example.com/checkout");

    let screen = one("screen", "Home");
    assert_eq!(screen["userId"], user.as_str());
    assert_eq!(screen["properties"]["tab"], "featured");

    let group = one("group", "");
    assert_eq!(group["userId"], user.as_str());
    assert_eq!(group["groupId"], format!("org-{run}"));
    assert_eq!(
        group["traits"],
        json!({"name": "Analytical Engines Ltd", "plan": "enterprise"})
    );

    let alias = one("alias", "");
    assert_eq!(alias["userId"], user.as_str());
    assert_eq!(alias["previousId"], anon.as_str());
}
