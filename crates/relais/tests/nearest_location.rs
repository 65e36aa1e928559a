//! "Nearest shop with stock" from where the customer is (issue 6), through
//! the real binary: a profile keeps the last position its events reported
//! (`context.location`; a late, older one or bad coordinates do not move
//! it), and both the nearest-stores API without `lat`/`lon` and a message's
//! `nearest_store` search from it, within 50 km by default.
//!
//! The geography, by hand (haversine, mean Earth radius 6371.0088 km):
//! Place Bellecour (45.7578, 4.8320) is 2.14 km from Lyon Part-Dieu
//! (Δlat 0.0028° = 0.31 km, Δlon 0.0273° × cos 45.76° = 2.12 km), 392.34 km
//! from Paris Châtelet and 558.10 km from Lille Grand Place; Paris is
//! 204.35 km from Lille. The runner is in all three shops, the cap only in
//! Paris.

mod common;

use common::Server;
use relais_core::time::{format_ms, now_ms};
use serde_json::{json, Value};

both_backends!(
    location_reported_by_events_decides_the_nearest_shop,
    the_most_visited_shop_is_home_without_a_trait
);

const BELLECOUR: (f64, f64) = (45.7578, 4.8320);
const LILLE_GARE: (f64, f64) = (50.6389, 3.0756);
const DAY_MS: i64 = 86_400_000;

async fn commerce(s: &Server) {
    let shop = |id: &str, name: &str, city: &str, lat: f64, lon: f64| {
        json!({"id": id, "name": name, "city": city, "country": "FR", "latitude": lat, "longitude": lon,
               "time_zone": "Europe/Paris"})
    };
    let shops = json!([
        shop("paris", "Paris Châtelet", "Paris", 48.8584, 2.3470),
        shop("lyon", "Lyon Part-Dieu", "Lyon", 45.7606, 4.8593),
        shop("lille", "Lille Grand Place", "Lille", 50.6369, 3.0635),
    ]);
    let (code, out) = s.admin("POST", "/api/v1/catalog/shops", Some(shops)).await;
    assert_eq!((code, &out["failed"]), (200, &json!(0)), "{out}");
    for (path, body) in [
        (
            "products",
            "id,name,price,currency\nrunner,Runner,89.99,EUR\ncap,Cap,15,EUR\n",
        ),
        (
            "stock",
            "store_id,sku,quantity\nparis,runner,3\nlyon,runner,2\nlille,runner,1\nparis,cap,2\n",
        ),
    ] {
        let (code, out) = s
            .admin_post(&format!("/api/v1/catalog/{path}"), "text/csv", body)
            .await;
        assert_eq!((code, &out["failed"]), (200, &json!(0)), "{out}");
    }
}

/// One event from `user`'s app, at `at`, with `location` as its
/// `context.location`; processed before this returns.
async fn seen(s: &Server, user: &str, at: i64, location: Value) {
    let body = json!({"userId": user, "event": "App Opened", "timestamp": format_ms(at),
                      "context": {"location": location}});
    let (code, out) = s.track("/v1/track", body).await;
    assert_eq!(code, 200, "{out}");
    s.settle().await;
}

async fn identify(s: &Server, user: &str, traits: Value) {
    let body = json!({"userId": user, "traits": traits});
    let (code, out) = s.track("/v1/identify", body).await;
    assert_eq!(code, 200, "{out}");
}

/// The nearest-stores answer without `lat`/`lon`.
async fn nearest(s: &Server, user: &str, query: &str) -> Value {
    let (code, v) = s
        .get(&format!("/api/v1/profiles/user_id:{user}/nearest-stores?{query}"))
        .await;
    assert_eq!(code, 200, "{v}");
    v
}

/// `(store_id, distance_km)` of each shop found.
fn stores(v: &Value) -> Vec<(String, f64)> {
    v["stores"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|x| {
            (
                x["store_id"].as_str().unwrap().to_owned(),
                x["distance_km"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The text of an e-mail sent to `user` about `product`, naming the nearest shop.
async fn email_text(s: &Server, user: &str, product: &str) -> String {
    let text = "[{% if nearest_store %}{{ nearest_store.name }} {{ nearest_store.distance_km }} km \
                {{ nearest_store.origin }}{% else %}none{% endif %}]";
    let (code, m) = s
        .admin(
            "POST",
            "/api/v1/messages",
            Some(
                json!({"profile": format!("user_id:{user}"), "channel": "email", "transactional": true,
                "data": {"product": product},
                "content": {"subject": "In stock near you", "text": text, "html": "<p>x</p>"}}),
            ),
        )
        .await;
    assert_eq!(code, 201, "{m}");
    let (code, m) = s
        .get(&format!("/api/v1/messages/{}", m["id"].as_str().unwrap()))
        .await;
    assert_eq!(code, 200, "{m}");
    m["content"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{m}"))
        .to_owned()
}

async fn location_reported_by_events_decides_the_nearest_shop(s: Server) {
    commerce(&s).await;
    let now = now_ms();
    identify(
        &s,
        "lea",
        json!({"email": "lea@example.com", "home_store_id": "paris"}),
    )
    .await;
    identify(
        &s,
        "marc",
        json!({"email": "marc@example.com", "home_store_id": "lille"}),
    )
    .await;
    identify(&s, "nina", json!({"email": "nina@example.com"})).await;
    s.settle().await;

    // Before any position: Léa's home shop.
    let v = nearest(&s, "lea", "product=runner").await;
    assert_eq!(v["origin"]["source"], "home_store", "{v}");
    assert_eq!(stores(&v), [("paris".to_owned(), 0.0)]);
    assert_eq!(
        email_text(&s, "lea", "runner").await,
        "[Paris Châtelet 0 km home_store]"
    );

    // Her app reports Place Bellecour a minute ago; then a late event from
    // ten minutes ago (Lille), and a newer one with unusable coordinates.
    let lyon = json!({"latitude": BELLECOUR.0, "longitude": BELLECOUR.1, "city": "Lyon", "country": "fr"});
    seen(&s, "lea", now - 60_000, lyon).await;
    let lille =
        json!({"latitude": LILLE_GARE.0, "longitude": LILLE_GARE.1, "city": "Lille", "country": "FR"});
    seen(&s, "lea", now - 600_000, lille).await;
    seen(&s, "lea", now, json!({"latitude": 123.4, "longitude": "4.8"})).await;
    seen(&s, "lea", now, json!({"latitude": 0, "longitude": 0})).await;

    let (code, p) = s.get("/api/v1/profiles/user_id:lea").await;
    assert_eq!(code, 200, "{p}");
    assert_eq!(
        p["last_location"],
        json!({"latitude": 45.7578, "longitude": 4.832, "city": "Lyon", "country": "FR",
               "at": format_ms(now - 60_000)}),
        "{p}"
    );
    assert_eq!(p["country"], "FR");
    let (_, page) = s
        .get("/api/v1/profiles/user_id:lea/events?event=App%20Opened")
        .await;
    assert_eq!(
        page["events"].as_array().map(Vec::len),
        Some(4),
        "bad coordinates never fail the event: {page}"
    );

    // Without lat/lon: from Bellecour; Paris (392 km) is beyond 50 km.
    let v = nearest(&s, "lea", "product=runner").await;
    assert_eq!(
        v["origin"],
        json!({"latitude": 45.7578, "longitude": 4.832, "source": "last_location",
               "located_at": format_ms(now - 60_000)}),
        "{v}"
    );
    assert_eq!(stores(&v), [("lyon".to_owned(), 2.14)]);
    let v = nearest(&s, "lea", "product=runner&within_km=600").await;
    assert_eq!(
        stores(&v),
        [
            ("lyon".to_owned(), 2.14),
            ("paris".to_owned(), 392.34),
            ("lille".to_owned(), 558.1)
        ]
    );
    // lat/lon given still win over what the profile knows.
    let v = nearest(&s, "lea", "product=runner&lat=48.8584&lon=2.347").await;
    assert_eq!(
        (v["origin"]["source"].as_str(), stores(&v)),
        (Some("query"), vec![("paris".to_owned(), 0.0)])
    );
    // The message's nearest_store: the same origin, within 50 km.
    assert_eq!(
        email_text(&s, "lea", "runner").await,
        "[Lyon Part-Dieu 2.14 km last_location]"
    );
    assert_eq!(
        email_text(&s, "lea", "cap").await,
        "[none]",
        "the cap is 392 km away"
    );
    let v = nearest(&s, "lea", "product=cap&within_km=400").await;
    assert_eq!(stores(&v), [("paris".to_owned(), 392.34)]);

    // A fix three days old comes after the home shop…
    let old = json!({"latitude": BELLECOUR.0, "longitude": BELLECOUR.1});
    seen(&s, "marc", now - 3 * DAY_MS, old.clone()).await;
    let v = nearest(&s, "marc", "product=runner").await;
    assert_eq!(
        (&v["origin"]["source"], &v["origin"]["store_id"]),
        (&json!("home_store"), &json!("lille")),
        "{v}"
    );
    assert_eq!(stores(&v), [("lille".to_owned(), 0.0)]);
    assert_eq!(
        email_text(&s, "marc", "runner").await,
        "[Lille Grand Place 0 km home_store]"
    );
    // …and is better than nothing without one.
    let (code, e) = s
        .get("/api/v1/profiles/user_id:nina/nearest-stores?product=runner")
        .await;
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("missing_field")),
        "{e}"
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("context.location"),
        "{e}"
    );
    assert_eq!(email_text(&s, "nina", "runner").await, "[none]");
    seen(&s, "nina", now - 3 * DAY_MS, old).await;
    let v = nearest(&s, "nina", "product=runner").await;
    assert_eq!(v["origin"]["source"], "stale_location", "{v}");
    assert_eq!(stores(&v), [("lyon".to_owned(), 2.14)]);
    assert_eq!(
        email_text(&s, "nina", "runner").await,
        "[Lyon Part-Dieu 2.14 km stale_location]"
    );

    // A country alone (no position) is kept; the position stays.
    seen(&s, "nina", now, json!({"country": "Belgique"})).await;
    let (_, p) = s.get("/api/v1/profiles/user_id:nina").await;
    assert_eq!(p["country"], "Belgique", "{p}");
    assert_eq!(p["last_location"]["latitude"], 45.7578, "{p}");
}

/// One till receipt (touchpoint `store`) at `shop`, `days_ago` days back.
async fn receipt(s: &Server, user: &str, shop: &str, days_ago: i64, line: u32) {
    let at = now_ms() - days_ago * DAY_MS + i64::from(line) * 1_000;
    let body = json!({"userId": user, "event": "Order Completed", "timestamp": format_ms(at),
                      "properties": {"order_id": format!("{shop}-{days_ago}-{line}"), "store_id": shop, "total": 10},
                      "context": {"touchpoint": "store"}});
    let (code, out) = s.track("/v1/track", body).await;
    assert_eq!(code, 200, "{out}");
}

/// Without a `home_store_id` trait, the shop visited on the most days is
/// the home shop: in the profile, for the nearest-stores search and for
/// journeys' `in_stock_at_home_store`. A trait, once given, wins.
async fn the_most_visited_shop_is_home_without_a_trait(s: Server) {
    commerce(&s).await;
    identify(&s, "max", json!({"email": "max@example.com"})).await;
    // Lyon on two days (three receipts one of them), Paris on one, lately;
    // a web order names no shop visit.
    for (shop, days_ago, line) in [
        ("lyon", 9, 0),
        ("lyon", 9, 1),
        ("lyon", 9, 2),
        ("lyon", 4, 0),
        ("paris", 1, 0),
    ] {
        receipt(&s, "max", shop, days_ago, line).await;
    }
    let body = json!({"userId": "max", "event": "Order Completed",
                      "properties": {"order_id": "web-1", "store_id": "lille", "total": 5},
                      "context": {"touchpoint": "web"}});
    assert_eq!(s.track("/v1/track", body).await.0, 200);
    s.settle().await;
    let (code, p) = s.get("/api/v1/profiles/user_id:max").await;
    assert_eq!(code, 200, "{p}");
    assert_eq!(
        p["home_store"],
        json!({"store_id": "lyon", "source": "most_visited"}),
        "{p}"
    );
    assert_eq!(p["shop_visits"], json!({"lyon": 2, "paris": 1}), "{p}");
    // The cap is only in Paris (392 km from Lyon), the runner in Lyon too.
    let v = nearest(&s, "max", "product=runner").await;
    assert_eq!(v["origin"]["source"], "home_store", "{v}");
    assert_eq!(v["origin"]["store_id"], "lyon", "{v}");
    assert_eq!(stores(&v), [("lyon".to_owned(), 0.0)]);
    assert!(stores(&nearest(&s, "max", "product=cap").await).is_empty());

    // Two more days in Paris: Paris is home now.
    receipt(&s, "max", "paris", 2, 0).await;
    receipt(&s, "max", "paris", 3, 0).await;
    s.settle().await;
    let v = nearest(&s, "max", "product=cap").await;
    assert_eq!(
        (&v["origin"]["store_id"], stores(&v)),
        (&json!("paris"), vec![("paris".to_owned(), 0.0)])
    );

    // What the customer says wins over what Relais worked out.
    identify(&s, "max", json!({"home_store_id": "lille"})).await;
    s.settle().await;
    let (_, p) = s.get("/api/v1/profiles/user_id:max").await;
    assert_eq!(
        p["home_store"],
        json!({"store_id": "lille", "source": "trait"}),
        "{p}"
    );
    let v = nearest(&s, "max", "product=runner").await;
    assert_eq!(v["origin"]["store_id"], "lille", "{v}");
}
