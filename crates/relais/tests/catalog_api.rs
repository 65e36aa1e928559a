//! The commerce context through the real binary (issue 6): a catalog (CSV,
//! one bad row reported with its line), shops (JSON) and stock (NDJSON)
//! loaded over HTTP; the nearest shop with a product in stock for a
//! customer in Versailles; stock signals and per-profile events; a restart
//! that keeps everything; a CLI import that a running server sees.

mod common;

use common::Server;
use serde_json::{json, Value};

both_backends!(
    catalog_shops_stock_nearest_and_events,
    fanout_reads_only_interested_profiles
);

const PRODUCTS_CSV: &str = "\
id,parent_id,sku,name,price,currency,category
runner,,,Runner,89.99,EUR,Women > Shoes
,runner,runner-42,,,,
,runner,runner-43,,,,
socks,,,Socks,7.5O,EUR,
cap,,,Cap,15,EUR,Accessories
";

fn shops() -> Value {
    let shop = |id: &str, name: &str, city: &str, lat: f64, lon: f64| {
        json!({"id": id, "name": name, "city": city, "country": "FR", "latitude": lat, "longitude": lon,
               "time_zone": "Europe/Paris", "hours": "Mo-Sa 10:00-20:00; Su off", "services": ["click_and_collect"]})
    };
    json!([
        shop("paris", "Paris Châtelet", "Paris", 48.8584, 2.3470),
        shop("lyon", "Lyon Part-Dieu", "Lyon", 45.7606, 4.8593),
        shop("lille", "Lille Grand Place", "Lille", 50.6369, 3.0635),
    ])
}

const STOCK_NDJSON: &str = r#"{"store_id":"paris","sku":"runner-42","quantity":3}
{"store_id":"lyon","sku":"runner-43","quantity":4}

{"store_id":"lille","sku":"runner-42","quantity":2}
{"store_id":"online","sku":"runner-42","quantity":10}
"#;

const VERSAILLES: &str = "lat=48.8049&lon=2.1204";

/// The nearest shops for Claire: `(store_id, distance_km, units)`.
async fn nearest(s: &Server, query: &str) -> Vec<(String, f64, i64)> {
    let (code, v) = s
        .get(&format!(
            "/api/v1/profiles/user_id:claire/nearest-stores?product=runner&{query}"
        ))
        .await;
    assert_eq!(code, 200, "{v}");
    v["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let d = x["distance_km"].as_f64().unwrap();
            (
                x["store_id"].as_str().unwrap().to_owned(),
                d,
                x["units"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn signals(out: &Value) -> Vec<(String, String, String)> {
    out["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().unwrap_or("").to_owned();
            (text("signal"), text("scope"), text("store_id"))
        })
        .collect()
}

async fn load(s: &Server) {
    let (code, out) = s
        .admin_post("/api/v1/catalog/products", "text/csv", PRODUCTS_CSV)
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        (out["received"].as_u64(), out["applied"].as_u64()),
        (Some(5), Some(4))
    );
    assert_eq!(
        out["errors"],
        json!([{"line": 5, "message": "price: '7.5O' is not a decimal number"}]),
        "the bad row, with its line and field"
    );
    let (code, out) = s.admin("POST", "/api/v1/catalog/shops", Some(shops())).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["created"], 3);
    let (code, out) = s
        .admin_post("/api/v1/catalog/stock", "application/x-ndjson", STOCK_NDJSON)
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        (out["changed"].as_u64(), out["failed"].as_u64()),
        (Some(4), Some(0))
    );
    assert_eq!(out["signals"], json!([]), "first levels are a baseline");
}

async fn customer(s: &Server) {
    let events = json!({"batch": [
        {"type": "identify", "userId": "claire", "traits": {"email": "claire@example.com", "home_store_id": "paris"}},
        {"type": "track", "userId": "claire", "event": "Product Viewed",
         "properties": {"product_id": "runner", "name": "Runner", "price": 89.99, "currency": "EUR"}},
    ]});
    let (code, body) = s.track("/v1/batch", events).await;
    assert_eq!(code, 200, "{body}");
    s.settle().await;
}

async fn errors(s: &Server) {
    let (code, e) = s.admin_post("/api/v1/catalog/stock", "text/plain", "x").await;
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("invalid_body")),
        "{e}"
    );
    let (code, e) = s
        .admin_post("/api/v1/catalog/stock?mode=add", "application/json", "[]")
        .await;
    assert_eq!(
        (code, e["error"]["message"].as_str()),
        (400, Some("mode: 'add' is not one of set, delta"))
    );
    let (code, e) = s
        .admin_post("/api/v1/catalog/products", "text/csv", "id,prce\n")
        .await;
    assert_eq!(code, 400, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("line 1: unknown column 'prce'"));
    let huge = format!("store_id,sku,quantity\n{}", "paris,a,1\n".repeat(7 << 20));
    let (code, e) = s.admin_post("/api/v1/catalog/stock", "text/csv", &huge).await;
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{e}"
    );
    let (code, e) = s
        .admin_post("/api/v1/catalog/shops", "application/json", r#"{"id":"x"}"#)
        .await;
    assert_eq!((code, e["error"]["code"].as_str()), (400, Some("invalid_body")));
    let base = "/api/v1/profiles/user_id:claire/nearest-stores";
    let (code, e) = s.get(base).await;
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("missing_field")),
        "{e}"
    );
    let (code, e) = s.get(&format!("{base}?product=nope&{VERSAILLES}")).await;
    assert_eq!(code, 404, "{e}");
    let (code, e) = s.get(&format!("{base}?product=runner&within_km=far")).await;
    assert_eq!(
        e["error"]["message"], "within_km: \"far\" is not a number",
        "{code}"
    );
    let (code, e) = s.get(&format!("{base}?product=runner&lat=48.8")).await;
    assert_eq!((code, e["error"]["code"].as_str()), (400, Some("missing_field")));
    let (code, _) = s.get("/api/v1/catalog/products/nope").await;
    assert_eq!(code, 404);
}

async fn catalog_shops_stock_nearest_and_events(mut s: Server) {
    load(&s).await;
    customer(&s).await;
    errors(&s).await;

    // Versailles → Paris Châtelet, 17.62 km; then Lille, then Lyon.
    let near = nearest(&s, &format!("{VERSAILLES}&limit=3&within_km=1000")).await;
    let ids: Vec<&str> = near.iter().map(|n| n.0.as_str()).collect();
    assert_eq!(ids, ["paris", "lille", "lyon"]);
    assert!((near[0].1 - 17.62).abs() < 0.01, "{near:?}");
    assert_eq!(near[0].2, 3);
    // Without lat/lon: from the home shop (trait home_store_id = paris).
    let (code, v) = s
        .get("/api/v1/profiles/user_id:claire/nearest-stores?product=runner")
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["origin"]["source"], "home_store");
    assert_eq!(v["stores"][0]["store_id"], "paris");
    assert_eq!(v["stores"][0]["distance_km"], 0.0);

    // Paris sells out: a stock signal, no event (out of stock is not news to customers).
    let zero = json!([{"store_id": "paris", "sku": "runner-42", "quantity": 0}]);
    let (code, out) = s
        .admin("POST", "/api/v1/catalog/stock?mode=set", Some(zero))
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        signals(&out),
        [("out_of_stock".into(), "location".into(), "paris".into())]
    );
    assert_eq!(out["signals"][0]["product_id"], "runner");
    assert_eq!(
        (
            out["signals"][0]["before"].as_i64(),
            out["signals"][0]["after"].as_i64()
        ),
        (Some(3), Some(0))
    );
    let near = nearest(&s, &format!("{VERSAILLES}&limit=1")).await;
    assert!(near.is_empty(), "Lille is beyond the default 50 km: {near:?}");
    let near = nearest(&s, &format!("{VERSAILLES}&limit=1&within_km=300")).await;
    assert_eq!(near.len(), 1);
    assert_eq!(near[0].0, "lille");
    assert!((near[0].1 - 214.69).abs() < 0.01, "{near:?}");
    assert!(nearest(&s, &format!("{VERSAILLES}&within_km=100"))
        .await
        .is_empty());

    // Back at her home shop, and a price drop on what she viewed: her events.
    let (code, out) = s
        .admin_post(
            "/api/v1/catalog/stock?mode=delta",
            "text/csv",
            "store_id,sku,quantity\nparis,runner-42,5\n",
        )
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        signals(&out)[0],
        ("back_in_stock".into(), "location".into(), "paris".into())
    );
    assert_eq!(out["signals"][0]["event"], "Back In Stock");
    assert_eq!(out["events"], 1, "{out}");
    let cheaper = json!([{"id": "runner", "name": "Runner", "price": 89.99, "sale_price": 69.9,
                          "currency": "EUR", "category": "Women > Shoes"}]);
    let (code, out) = s.admin("POST", "/api/v1/catalog/products", Some(cheaper)).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["signals"][0]["signal"], "price_dropped");
    assert_eq!(
        (
            out["signals"][0]["before"].as_f64(),
            out["signals"][0]["after"].as_f64()
        ),
        (Some(89.99), Some(69.9))
    );
    assert_eq!(out["events"], 1);
    let names = s.event_names("user_id:claire").await;
    assert_eq!(&names[..2], ["Price Dropped", "Back In Stock"], "{names:?}");
    let (_, page) = s
        .get("/api/v1/profiles/user_id:claire/events?event=Price%20Dropped")
        .await;
    let props = &page["events"][0]["event"]["properties"];
    assert_eq!(
        (props["price"].as_f64(), props["seen_price"].as_f64()),
        (Some(69.9), Some(89.99)),
        "{page}"
    );

    let before = product(&s).await;
    assert_eq!(
        before["variants"].as_array().unwrap().len(),
        2,
        "variants kept by the re-import"
    );
    let stores: Vec<(&str, i64)> = before["availability"]["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["store_id"].as_str().unwrap(), x["units"].as_i64().unwrap()))
        .collect();
    assert_eq!(stores, [("lille", 2), ("lyon", 4), ("paris", 5)]);
    assert_eq!(before["availability"]["online_units"], 10);

    // A restart keeps the catalog, the shops and the levels.
    s.restart();
    assert_eq!(product(&s).await, before);
    let (_, page) = s.get("/api/v1/catalog/products?limit=2").await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        (ids, page["next_cursor"].as_str()),
        (vec!["cap", "runner"], Some("runner"))
    );
    let (_, page) = s.get("/api/v1/catalog/products?cursor=runner").await;
    assert_eq!(page["items"], json!([]));
    let (_, page) = s.get("/api/v1/catalog/shops").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["items"][2]["name"], "Paris Châtelet");

    // The CLI writes to the store; the running server sees it on its next request.
    let file = s.dir.join("stock.csv");
    std::fs::write(
        &file,
        "store_id,sku,quantity\nparis,runner-42,-5\nlyon,runner-43,x\n",
    )
    .unwrap();
    let (ok, out, err) = s.cli(&[
        "catalog",
        "import",
        "stock",
        file.to_str().unwrap(),
        "--mode",
        "delta",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("2 rows: 1 applied"), "{out}");
    assert!(
        out.contains("line 3: quantity: 'x' is not a whole number"),
        "{out}"
    );
    assert!(
        out.contains("signal out_of_stock runner runner-42 (paris)"),
        "{out}"
    );
    let near = nearest(&s, &format!("{VERSAILLES}&limit=1&within_km=1000")).await;
    assert_eq!(near[0].0, "lille", "Paris is empty again");

    let api: Value = reqwest::get(s.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/catalog/products",
        "/api/v1/catalog/stock",
        "/api/v1/profiles/{ref}/nearest-stores",
    ] {
        assert!(api["paths"][path].is_object(), "{path} documented");
    }
    assert!(api["components"]["schemas"]["WriteOutcome"].is_object());
}

async fn product(s: &Server) -> Value {
    let (code, v) = s.get("/api/v1/catalog/products/runner").await;
    assert_eq!(code, 200, "{v}");
    v
}

/// The fan-out reads the profiles the interest index names (kept by the
/// processor), not the workspace: 3 of 10 profiles are interested in the
/// runner (by its id, by a variant's SKU, by the wishlist), and a merge
/// moves one loser's interest to its winner.
async fn fanout_reads_only_interested_profiles(s: Server) {
    load(&s).await;
    let viewed = |user: &str, props: Value| json!({"type": "track", "userId": user, "event": "Product Viewed", "properties": props});
    let mut batch = vec![
        viewed("ana", json!({"product_id": "runner", "price": 89.99})),
        viewed("ben", json!({"sku": "runner-43"})),
        json!({"type": "track", "userId": "cara", "event": "Product Added to Wishlist",
               "properties": {"product_id": "runner"}}),
        viewed("dan", json!({"product_id": "cap"})),
        // An anonymous visitor views the runner, then logs in as dan.
        json!({"type": "track", "anonymousId": "anon-1", "event": "Product Viewed",
               "properties": {"product_id": "runner-42"}}),
        json!({"type": "identify", "anonymousId": "anon-1", "userId": "dan"}),
    ];
    for i in 0..5 {
        batch.push(json!({"type": "identify", "userId": format!("other-{i}")}));
    }
    let (code, body) = s.track("/v1/batch", json!({ "batch": batch })).await;
    assert_eq!(code, 200, "{body}");
    s.settle().await;
    let store = s.store().await;
    let ws = store.list_workspaces().await.unwrap()[0].id;
    assert_eq!(
        store.count_profiles(ws).await.unwrap(),
        9,
        "dan and anon-1 are one"
    );

    let cheaper = json!([{"id": "runner", "name": "Runner", "price": 89.99, "sale_price": 69.9,
                          "currency": "EUR", "category": "Women > Shoes"}]);
    let (code, out) = s.admin("POST", "/api/v1/catalog/products", Some(cheaper)).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["signals"][0]["signal"], "price_dropped", "{out}");
    assert_eq!(out["fanout"], json!({"profiles_scanned": 4}), "{out}");
    assert_eq!(out["events"], 4, "{out}");
    for user in ["ana", "ben", "cara", "dan"] {
        let names = s.event_names(&format!("user_id:{user}")).await;
        assert!(names.contains(&"Price Dropped".to_string()), "{user}: {names:?}");
    }
    assert!(!s
        .event_names("user_id:other-0")
        .await
        .contains(&"Price Dropped".to_string()));
}
