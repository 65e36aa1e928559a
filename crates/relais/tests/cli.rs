//! The `relais` subcommands other than `serve`, and the operations
//! endpoints.

mod common;

use common::{Server, WRITE_KEY};
use serde_json::json;

fn server() -> Server {
    Server::start(common::Backend::Sqlite)
}

#[test]
fn generate_is_deterministic_per_seed() {
    let s = server();
    let out = |seed: &str, name: &str| {
        let path = s.dir.join(name);
        let (ok, _, err) = s.cli(&[
            "generate",
            "--profiles",
            "30",
            "--days",
            "10",
            "--seed",
            seed,
            "-o",
            path.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        std::fs::read_to_string(path).unwrap()
    };
    let a = out("7", "a.ndjson");
    assert_eq!(a, out("7", "b.ndjson"));
    assert_ne!(a, out("8", "c.ndjson"));
    assert!(a.lines().count() > 100, "30 customers give more than 100 events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_ndjson_reports_bad_lines_and_is_idempotent() {
    let s = server();
    let file = s.dir.join("export.ndjson");
    let lines = [
        json!({"type":"identify","userId":"imp-1","traits":{"email":"imp@x.io"},"timestamp":"2025-03-01T10:00:00Z"}).to_string(),
        "{broken".to_owned(),
        json!({"type":"track","userId":"imp-1","event":"Order Completed","timestamp":"2025-03-02T10:00:00Z"}).to_string(),
        String::new(),
        json!({"type":"track","userId":"imp-1"}).to_string(),
        json!({"type":"page","anonymousId":"a-imp","name":"Home"}).to_string(),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let (ok, out, err) = s.cli(&["import", file.to_str().unwrap(), "--write-key", WRITE_KEY]);
    assert!(ok, "{err}");
    assert!(
        out.contains("4 lines: 3 imported, 0 already there, 2 rejected")
            || out.contains("5 lines: 3 imported, 0 already there, 2 rejected"),
        "{out}"
    );
    assert!(out.contains("line 2:"), "{out}");
    assert!(out.contains("line 5:") && out.contains("event"), "{out}");
    let (ok, out, _) = s.cli(&["import", file.to_str().unwrap(), "--write-key", WRITE_KEY]);
    assert!(ok);
    assert!(
        out.contains("0 imported, 3 already there"),
        "re-running adds nothing: {out}"
    );
    s.settle().await;
    let (status, p) = s.get("/api/v1/profiles/email:imp@x.io?wait=5000").await;
    assert_eq!(status, 200);
    assert_eq!(p["event_count"], 2);
    assert_eq!(
        p["first_seen"], "2025-03-01T10:00:00.000Z",
        "historical timestamps are kept"
    );
    let (ok, _, err) = s.cli(&[
        "import",
        file.to_str().unwrap(),
        "--write-key",
        "relais_wk_wrong_wrong",
    ]);
    assert!(!ok && err.contains("write key"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_csv_from_a_till() {
    let s = server();
    let (ok, out, err) = s.cli(&["source", "create", "--name", "till", "--channel", "store"]);
    assert!(ok, "{err}");
    let till_key = out
        .lines()
        .find_map(|l| l.strip_prefix("write key: "))
        .unwrap()
        .trim()
        .to_owned();
    let file = s.dir.join("receipts.csv");
    std::fs::write(
        &file,
        "date,card,total,store\n2025-05-01T09:30:00Z,LOY-1,\"42.50\",Lyon\n2025-05-02T09:30:00Z,LOY-1,abc,Lyon\n2025-05-03T09:30:00Z,LOY-2,10,Lille\n",
    )
    .unwrap();
    let (ok, out, err) = s.cli(&[
        "import",
        file.to_str().unwrap(),
        "--write-key",
        &till_key,
        "--event",
        "Order Completed",
        "--map",
        "date=timestamp",
        "--map",
        "card=anonymousId",
        "--map",
        "card=context.traits.loyalty_id",
        "--map",
        "total=properties.revenue:number",
        "--map",
        "store=properties.store_id",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("3 lines: 2 imported, 0 already there, 1 rejected"),
        "{out}"
    );
    assert!(out.contains("line 3:") && out.contains("not a number"), "{out}");
    s.settle().await;
    let (status, p) = s.get("/api/v1/profiles/loyalty_id:LOY-1?wait=5000").await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["channels"]["store"]["events"], 1);
    let (_, tl) = s.get("/api/v1/profiles/loyalty_id:LOY-1/events").await;
    assert_eq!(tl["events"][0]["event"]["properties"]["revenue"], 42.5);
    assert_eq!(tl["events"][0]["source"], "till");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_openapi_and_migrate() {
    let s = server();
    s.track("/v1/track", json!({"userId":"m","event":"X"})).await;
    s.settle().await;
    let health: serde_json::Value = reqwest::get(s.url("/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"], "sqlite");
    let metrics = reqwest::get(s.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "relais_ingest_events_total",
        "relais_processed_events_total",
        "relais_log_lag_events",
        "relais_ingest_requests_total",
    ] {
        assert!(metrics.contains(name), "{name} in\n{metrics}");
    }
    let api: serde_json::Value = reqwest::get(s.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/v1/batch", "/api/v1/profiles/{ref}", "/api/v1/pipeline"] {
        assert!(api["paths"].get(path).is_some(), "{path} documented");
    }
    let (ok, out, err) = s.cli(&["migrate"]);
    assert!(ok && out.contains("latest schema"), "{out} {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_cleanly() {
    let mut s = server();
    for i in 0..20 {
        s.track(
            "/v1/track",
            json!({"userId":"drain","event":"X","messageId": format!("d{i}")}),
        )
        .await;
    }
    let status = s.stop();
    assert!(status.success(), "{status:?}");
    s.restart();
    s.settle().await;
    let (_, p) = s.get("/api/v1/profiles/user_id:drain").await;
    assert_eq!(p["event_count"], 20);
}

/// `relais segment create --watch` against a running server's store: the
/// server picks the definition up by itself, backfills it, and the CLI
/// follows until it is active; a bad condition is refused with its node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_create_watch_and_list() {
    let s = server();
    let (status, _) = s
        .track(
            "/v1/batch",
            json!({"batch":[{"type":"identify","userId":"g1","traits":{"tier":"gold"}},
                            {"type":"identify","userId":"s1","traits":{"tier":"silver"}}]}),
        )
        .await;
    assert_eq!(status, 200);
    s.settle().await;
    let file = s.dir.join("gold.json");
    std::fs::write(&file, r#"{"trait":"tier","op":"eq","value":"gold"}"#).unwrap();
    let path = file.to_str().unwrap();
    let (ok, out, err) = s.cli(&[
        "segment",
        "create",
        "--name",
        "Gold",
        "--condition",
        path,
        "--watch",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("is active: 1 profiles"), "{out}");
    let (ok, out, _) = s.cli(&["segment", "list"]);
    assert!(ok);
    assert!(out.contains("active\tGold\t1"), "{out}");

    std::fs::write(&file, r#"{"trait":"tier","op":"equals","value":"gold"}"#).unwrap();
    let (ok, _, err) = s.cli(&["segment", "create", "--name", "Bad", "--condition", path]);
    assert!(!ok);
    assert!(err.contains("op") && err.contains("equals"), "{err}");
}
