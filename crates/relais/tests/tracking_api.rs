//! The Segment tracking API against the real binary: success, every error
//! path, gzip, CORS, deduplication, backpressure-free happy path.

mod common;

use common::{Server, ADMIN_KEY, WRITE_KEY};
use serde_json::json;
use std::io::Write;

both_backends!(
    accepts_every_call_and_short_form,
    rejects_bad_input_with_codes_index_and_field,
    auth_errors_are_401,
    oversized_bodies_are_413,
    gzip_and_any_content_type,
    batch_with_bad_events_keeps_the_good_ones,
    message_id_dedup_makes_retries_harmless,
    cors_preflight_echoes_headers,
);

async fn accepts_every_call_and_short_form(s: Server) {
    let calls = [
        ("/v1/identify", json!({"userId":"u1","traits":{"email":"a@x.io"}})),
        ("/v1/track", json!({"userId":"u1","event":"Signed Up"})),
        ("/v1/page", json!({"anonymousId":"a1","name":"Home"})),
        ("/v1/screen", json!({"userId":"u1","name":"Cart"})),
        (
            "/v1/group",
            json!({"userId":"u1","groupId":"g1","traits":{"name":"Acme"}}),
        ),
        ("/v1/alias", json!({"previousId":"a1","userId":"u1"})),
        ("/v1/t", json!({"userId":"u1","event":"Short"})),
        ("/v1/i", json!({"userId":"u1"})),
        ("/v1/p", json!({"userId":"u1"})),
        ("/v1/s", json!({"userId":"u1"})),
        ("/v1/g", json!({"userId":"u1","groupId":"g"})),
        ("/v1/a", json!({"previousId":"x","userId":"u1"})),
        (
            "/v1/b",
            json!({"batch":[{"type":"track","userId":"u1","event":"B"}]}),
        ),
        ("/v1/batch", json!({"batch":[{"type":"page","userId":"u1"}]})),
    ];
    for (path, body) in calls {
        let (status, resp) = s.track(path, body).await;
        assert_eq!(status, 200, "{path}: {resp}");
        assert_eq!(resp, json!({"success": true}), "{path}");
    }
    s.settle().await;
    let (status, p) = s.get("/api/v1/profiles/user_id:u1").await;
    assert_eq!(status, 200, "{p}");
    // a1 was aliased to u1, so its page view is on the same profile.
    assert_eq!(p["event_count"], 14);
}

async fn rejects_bad_input_with_codes_index_and_field(s: Server) {
    let cases = [
        ("/v1/track", json!({"userId":"u"}), "missing_field", "event"),
        ("/v1/track", json!({"event":"X"}), "missing_identity", "userId"),
        (
            "/v1/track",
            json!({"userId":"u","event":"X","timestamp":"yesterday"}),
            "invalid_field",
            "timestamp",
        ),
        (
            "/v1/track",
            json!({"userId":["u"],"event":"X"}),
            "invalid_field",
            "userId",
        ),
        (
            "/v1/track",
            json!({"userId":"u","event":"X","context":"web"}),
            "invalid_field",
            "context",
        ),
        ("/v1/alias", json!({"userId":"u"}), "missing_field", "previousId"),
        ("/v1/group", json!({"userId":"u"}), "missing_field", "groupId"),
        (
            "/v1/batch",
            json!({"batch":[{"type":"nope","userId":"u"}]}),
            "invalid_type",
            "type",
        ),
        ("/v1/batch", json!({"events":[]}), "missing_field", "batch"),
    ];
    for (path, body, code, field) in cases {
        let (status, resp) = s.track(path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}: {resp}");
        assert_eq!(resp["error"]["code"], code, "{body}: {resp}");
        assert!(
            resp["error"]["message"].as_str().unwrap().contains(field),
            "{resp}"
        );
        if path == "/v1/batch" && field != "batch" {
            assert_eq!(resp["error"]["events"][0]["index"], 0, "{resp}");
            assert_eq!(resp["error"]["events"][0]["field"], field, "{resp}");
        }
    }
    let (status, resp) = s
        .send("/v1/track", Some(WRITE_KEY), b"{not json".to_vec(), &[])
        .await;
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (400, Some("invalid_json"))
    );
    let (status, resp) = s.send("/v1/batch", Some(WRITE_KEY), b"[1,2]".to_vec(), &[]).await;
    assert_eq!(status, 400, "{resp}");
    // Unknown routes answer JSON too.
    let (status, resp) = s.get("/api/v1/nothing").await;
    assert_eq!((status, resp["error"]["code"].as_str()), (404, Some("not_found")));
}

async fn auth_errors_are_401(s: Server) {
    let body = json!({"userId":"u","event":"X"}).to_string().into_bytes();
    let (status, resp) = s.send("/v1/track", None, body.clone(), &[]).await;
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{resp}"
    );
    let (status, _) = s
        .send("/v1/track", Some("relais_wk_nope_nope_nope"), body.clone(), &[])
        .await;
    assert_eq!(status, 401);
    // An admin key cannot ingest, a write key cannot read.
    let (status, _) = s.send("/v1/track", Some(ADMIN_KEY), body, &[]).await;
    assert_eq!(status, 401);
    let (status, resp) = s.get_as(WRITE_KEY, "/api/v1/profiles?q=x").await;
    assert_eq!((status, resp["error"]["code"].as_str()), (403, Some("forbidden")));
    let (status, _) = s
        .get_as("relais_ak_unknown_unknown", "/api/v1/profiles?q=x")
        .await;
    assert_eq!(status, 401);
    // writeKey in the body works (browser SDKs).
    let with_key = json!({"userId":"u","event":"X","writeKey": WRITE_KEY})
        .to_string()
        .into_bytes();
    let (status, resp) = s.send("/v1/track", None, with_key, &[]).await;
    assert_eq!(status, 200, "{resp}");
    let (status, _) = s
        .send(
            "/v1/track",
            None,
            json!({"userId":"u","event":"X","writeKey":"bad"})
                .to_string()
                .into_bytes(),
            &[],
        )
        .await;
    assert_eq!(status, 401);
}

async fn oversized_bodies_are_413(s: Server) {
    let big = json!({"batch": (0..2000).map(|i| json!({"type":"track","userId":"u","event":"X","properties":{"pad":"x".repeat(300),"i":i}})).collect::<Vec<_>>()});
    let (status, resp) = s.track("/v1/batch", big).await;
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{resp}"
    );
    // One event over 32 KB is refused by name.
    let (status, resp) = s
        .track(
            "/v1/track",
            json!({"userId":"u","event":"X","properties":{"pad":"x".repeat(40_000)}}),
        )
        .await;
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (400, Some("event_too_large")),
        "{resp}"
    );
    // More than 2,500 events in a batch.
    let many = json!({"batch": (0..2501).map(|_| json!({"type":"page","userId":"u"})).collect::<Vec<_>>()});
    let (status, resp) = s.track("/v1/batch", many).await;
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (400, Some("batch_too_large")),
        "{resp}"
    );
    // A small gzip body that inflates past the limit (a "zip bomb").
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 2_000_000]).unwrap();
    let bomb = gz.finish().unwrap();
    let (status, _) = s
        .send(
            "/v1/batch",
            Some(WRITE_KEY),
            bomb,
            &[("content-encoding", "gzip")],
        )
        .await;
    assert_eq!(status, 413);
}

async fn gzip_and_any_content_type(s: Server) {
    let body = json!({"batch":[{"type":"track","userId":"gz","event":"Zipped","messageId":"gz-1"}]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.to_string().as_bytes()).unwrap();
    let (status, resp) = s
        .send(
            "/v1/batch",
            Some(WRITE_KEY),
            gz.finish().unwrap(),
            &[("content-encoding", "gzip"), ("content-type", "text/plain")],
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    let (status, resp) = s
        .send(
            "/v1/batch",
            Some(WRITE_KEY),
            b"not gzip".to_vec(),
            &[("content-encoding", "gzip")],
        )
        .await;
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (400, Some("invalid_gzip"))
    );
    let (status, _) = s
        .send(
            "/v1/batch",
            Some(WRITE_KEY),
            b"{}".to_vec(),
            &[("content-encoding", "br")],
        )
        .await;
    assert_eq!(status, 415);
    let (status, _) = s
        .send(
            "/v1/track",
            Some(WRITE_KEY),
            br#"{"userId":"gz","event":"Form"}"#.to_vec(),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(status, 200);
    s.settle().await;
    let (_, p) = s.get("/api/v1/profiles/user_id:gz").await;
    assert_eq!(p["event_count"], 2);
}

async fn batch_with_bad_events_keeps_the_good_ones(s: Server) {
    let (status, resp) = s
        .track(
            "/v1/batch",
            json!({"batch":[
                {"type":"track","userId":"mix","event":"Good"},
                {"type":"track","userId":"mix"},
                {"type":"identify","userId":"mix","traits":{"name":"Mix"}}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["accepted"], 2);
    assert_eq!(resp["rejected"][0]["index"], 1);
    assert_eq!(resp["rejected"][0]["field"], "event");
    s.settle().await;
    let (_, p) = s.get("/api/v1/profiles/user_id:mix").await;
    assert_eq!(p["event_count"], 2);
}

async fn message_id_dedup_makes_retries_harmless(s: Server) {
    let body = json!({"batch":[
        {"type":"track","userId":"dup","event":"Order Completed","messageId":"order-1"},
        {"type":"track","userId":"dup","event":"Order Completed","messageId":"order-1"}
    ]});
    for _ in 0..3 {
        let (status, _) = s.track("/v1/batch", body.clone()).await;
        assert_eq!(status, 200);
    }
    s.settle().await;
    let (_, p) = s.get("/api/v1/profiles/user_id:dup").await;
    assert_eq!(p["event_count"], 1, "{p}");
}

async fn cors_preflight_echoes_headers(s: Server) {
    let resp = s
        .http
        .request(reqwest::Method::OPTIONS, s.url("/v1/t"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "https://shop.example");
    let allowed = h["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
}
