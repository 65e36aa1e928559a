//! RFM scores through the real binary: buyers with known order histories,
//! a refresh on demand, the scores on the profile, and a segment on a score
//! (saved before any refresh) that follows the new cut points.

mod common;

use common::Server;
use serde_json::{json, Value};

both_backends!(refresh_scores_buyers_and_segments_follow);

const DAY_MS: i64 = 86_400_000;

/// Ten buyers: (days since the last order, order totals, expected R F M).
/// Hand-computed (see `relais_core::rfm`'s test of the same workspace):
/// recency cuts 8.2 17.6 36 66 days, frequency 1 1.6 2.4 3.2 orders,
/// monetary 28 46 64 82.
const BUYERS: [(i64, &[f64], &str); 10] = [
    (2, &[15.0, 15.0, 15.0, 15.0, 15.0, 15.0], "555"),
    (5, &[20.0], "511"),
    (9, &[20.0, 20.0, 20.0, 20.0], "454"),
    (14, &[20.0, 20.0, 20.0], "443"),
    (20, &[10.0], "311"),
    (30, &[25.0, 25.0], "333"),
    (45, &[30.0, 20.0, 20.0], "244"),
    (60, &[20.0, 20.0], "232"),
    (90, &[100.0], "115"),
    (120, &[30.0], "112"),
];

/// `days` whole days and an hour ago, so that whole days since stay `days`
/// for the length of the test.
fn days_ago(days: i64) -> String {
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_millis(days * DAY_MS + 3_600_000);
    t.to_string()
}

fn order(user: &str, id: &str, total: f64, at: String) -> Value {
    json!({"type":"track","userId":user,"event":"Order Completed",
        "properties":{"order_id":id,"total":total},"timestamp":at})
}

async fn batch(s: &Server, events: Vec<Value>) {
    let (status, resp) = s.track("/v1/batch", json!({ "batch": events })).await;
    assert_eq!(status, 200, "{resp}");
}

fn close(got: &Value, want: [f64; 4]) -> bool {
    let got: Vec<f64> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    got.len() == 4 && got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-9)
}

/// The segment's members, as their user ids.
async fn members(s: &Server, id: &str) -> Vec<String> {
    let (status, page) = s.get(&format!("/api/v1/segments/{id}/members?wait=20000")).await;
    assert_eq!(status, 200, "{page}");
    let mut users: Vec<String> = page["members"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(common::identities)
        .filter_map(|i| i.strip_prefix("user_id:").map(str::to_owned))
        .collect();
    users.sort();
    users
}

async fn wait_active(s: &Server, id: &str, version: i64) {
    let path = format!("/api/v1/segments/{id}");
    common::wait_for(
        || async {
            let seg = s.get(&path).await.1;
            seg["status"] == "active" && seg["version"] == version
        },
        "the segment to be recomputed",
    )
    .await;
}

async fn refresh_scores_buyers_and_segments_follow(s: Server) {
    // Saved before any cut points exist: nobody can be in it yet.
    let (status, seg) = s
        .admin(
            "POST",
            "/api/v1/segments",
            Some(json!({"name":"Top spenders","condition":{"computed":"rfm_m","op":"eq","value":5}})),
        )
        .await;
    assert_eq!(status, 201, "{seg}");
    let id = seg["id"].as_str().unwrap().to_owned();
    wait_active(&s, &id, 1).await;
    let (status, err) = s
        .admin(
            "PUT",
            "/api/v1/computed-traits/rfm_m",
            Some(json!({"event":"X","fn":"count"})),
        )
        .await;
    assert_eq!(status, 409, "RFM names are reserved: {err}");

    let mut events = Vec::new();
    for (i, (days, totals, _)) in BUYERS.iter().enumerate() {
        for (k, total) in totals.iter().enumerate() {
            // The latest order `days` ago, earlier ones a week apart before it.
            let at = days_ago(days + 7 * k as i64);
            events.push(order(&format!("b{i}"), &format!("b{i}-o{k}"), *total, at));
        }
    }
    // Not buyers: a visitor, and a customer whose only order was cancelled.
    events.push(json!({"type":"track","userId":"visitor","event":"Product Viewed",
        "properties":{"product_id":"P1"},"timestamp":days_ago(1)}));
    events.push(order("cancelled", "c-o1", 500.0, days_ago(3)));
    events.push(
        json!({"type":"track","userId":"cancelled","event":"Order Cancelled",
        "properties":{"order_id":"c-o1"},"timestamp":days_ago(2)}),
    );
    batch(&s, events).await;
    s.settle().await;
    assert_eq!(
        members(&s, &id).await,
        Vec::<String>::new(),
        "no cut points, no scores"
    );

    let (status, r) = s.admin("POST", "/api/v1/rfm/refresh?wait=20000", None).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["buyers"], 10, "{r}");
    assert!(close(&r["cuts"]["recency_days"], [8.2, 17.6, 36.0, 66.0]), "{r}");
    assert!(close(&r["cuts"]["frequency"], [1.0, 1.6, 2.4, 3.2]), "{r}");
    assert!(close(&r["cuts"]["monetary"], [28.0, 46.0, 64.0, 82.0]), "{r}");
    assert_eq!(r["segments_recomputed"], json!([id]), "{r}");

    for (i, (_, _, code)) in BUYERS.iter().enumerate() {
        let (status, p) = s.get(&format!("/api/v1/profiles/user_id:b{i}")).await;
        assert_eq!(status, 200, "{p}");
        let c = &p["computed"];
        assert_eq!(c["rfm"], *code, "b{i}: {c}");
        let digits: Vec<u64> = code.bytes().map(|b| u64::from(b - b'0')).collect();
        assert_eq!(
            [&c["rfm_r"], &c["rfm_f"], &c["rfm_m"]],
            [digits[0], digits[1], digits[2]],
            "b{i}"
        );
    }
    for user in ["visitor", "cancelled"] {
        let (_, p) = s.get(&format!("/api/v1/profiles/user_id:{user}")).await;
        assert_eq!(p["computed"]["rfm"], Value::Null, "{user}: {p}");
        assert_eq!(p["computed"]["rfm_m"], Value::Null, "{user}: {p}");
    }

    // The segment saved before the refresh is recomputed against the cut
    // points: exactly the top fifth by lifetime value.
    wait_active(&s, &id, 2).await;
    assert_eq!(members(&s, &id).await, ["b0", "b8"]);
    let (_, segs) = s.get("/api/v1/profiles/user_id:b8/segments").await;
    assert_eq!(segs["history"][0]["cause"], "backfill", "{segs}");

    // Between refreshes a new order is scored at once: the most recent
    // there is (R 5), one order (F 1), 95 > 82 (M 5).
    batch(&s, vec![order("b10", "b10-o0", 95.0, days_ago(0))]).await;
    let (_, p) = s.get("/api/v1/profiles/user_id:b10?wait=20000").await;
    assert_eq!(p["computed"]["rfm"], "515", "{p}");
    assert_eq!(members(&s, &id).await, ["b0", "b10", "b8"]);
    let (_, preview) = s
        .admin(
            "POST",
            "/api/v1/segments/preview",
            Some(json!({"condition":{"computed":"rfm","op":"eq","value":"555"}})),
        )
        .await;
    assert_eq!(
        (preview["size"].as_i64(), preview["exact"].as_bool()),
        (Some(1), Some(true)),
        "{preview}"
    );

    // The next refresh counts the new buyer and recomputes the segment again.
    let (status, r) = s.admin("POST", "/api/v1/rfm/refresh", None).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["buyers"], 11, "{r}");
    wait_active(&s, &id, 3).await;
    // Eleven values 10 … 100 and 95: p (n - 1) = 2, 4, 6, 8, the 3rd, 5th,
    // 7th and 9th values; b0's 90 is now at the top cut point, not above it.
    assert!(close(&r["cuts"]["monetary"], [30.0, 50.0, 70.0, 90.0]), "{r}");
    assert_eq!(members(&s, &id).await, ["b10", "b8"]);

    let api: Value = reqwest::get(s.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(api["paths"].get("/api/v1/rfm/refresh").is_some(), "documented");
}
