//! Recommendations through the real binary (issue 6, "three products that
//! go with the last order" and "nearest store with this product in stock"):
//! orders tracked with `Order Completed`, the recommendations API, and an
//! e-mail whose Liquid lists them and names the nearest shop.
//!
//! The orders, by hand (7 counted orders):
//!
//! | customer | order |
//! |---|---|
//! | alice | phone, case, screen |
//! | bob | phone, case |
//! | carol | phone, screen |
//! | dan | case, charger |
//! | eve, frank | charger |
//! | claire | phone |
//!
//! phone is in 4 orders, case in 3, screen in 2. phone→screen: 2 orders,
//! confidence 2/4 = 0.5, lift 0.5 / (2/7) = 1.75; phone→case: 2 orders,
//! confidence 0.5, lift 0.5 / (3/7) = 1.1667. Claire's last order is the
//! phone: bought together gives screen then case (same confidence, higher
//! lift first); the phone's declared complements are cable (no online
//! units: left out) and charger. So `auto` answers screen, case, charger.

mod common;

use common::{Backend, Server};
use serde_json::{json, Value};

both_backends_with_config!(recommendations_and_liquid);

/// `nearest_store` looks 50 km around by default; the case nearest to
/// Claire's home shop (Paris) is in Lille, 204 km away.
const NEAREST_300_KM: &str = "[engine.catalog]\nnearest_store_within_km = 300\n";

const PRODUCTS_CSV: &str = "\
id,name,price,sale_price,currency,category,url,image_url,complements
phone,Phone,699,,EUR,Electronics > Phones,https://shop.example/phone,,cable|charger
case,Case,19.99,14.99,EUR,Electronics > Accessories,https://shop.example/case,https://img.example/case.jpg,
screen,Screen Protector,9.99,,EUR,Electronics > Accessories,https://shop.example/screen,,
charger,Charger,29,,EUR,Electronics > Accessories,,,
cable,Cable,12,,EUR,Electronics > Accessories,,,
";

const STOCK_CSV: &str = "\
store_id,sku,quantity
online,cable,0
online,case,10
lille,case,2
lyon,case,4
paris,case,0
";

/// Loads one kind of the commerce context; every row must be accepted.
async fn post(s: &Server, path: &str, content_type: &str, body: &str) {
    let (status, body) = s.admin_post(path, content_type, body).await;
    assert_eq!((status, &body["failed"]), (200, &json!(0)), "{body}");
}

fn shops() -> Value {
    let shop = |id: &str, name: &str, lat: f64, lon: f64| json!({"id": id, "name": name, "latitude": lat, "longitude": lon, "time_zone": "Europe/Paris"});
    json!([
        shop("paris", "Paris Châtelet", 48.8584, 2.3470),
        shop("lyon", "Lyon Part-Dieu", 45.7606, 4.8593),
        shop("lille", "Lille Grand Place", 50.6369, 3.0635),
    ])
}

fn order(user: &str, n: usize, products: &[&str]) -> Value {
    let lines: Vec<Value> = products
        .iter()
        .map(|p| json!({"product_id": p, "name": p, "quantity": 1}))
        .collect();
    json!({"type": "track", "userId": user, "event": "Order Completed",
           "properties": {"order_id": format!("{user}-{n}"), "revenue": 10, "currency": "EUR", "products": lines}})
}

/// `(id, strategy)` of each recommended product.
fn ids(v: &Value) -> Vec<(String, String)> {
    v["products"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["why"]["strategy"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn recommendations_and_liquid(backend: Backend) {
    let s = Server::start_with_config(backend, Some(NEAREST_300_KM));
    post(&s, "/api/v1/catalog/products", "text/csv", PRODUCTS_CSV).await;
    let (code, out) = s.admin("POST", "/api/v1/catalog/shops", Some(shops())).await;
    assert_eq!(code, 200, "{out}");
    post(&s, "/api/v1/catalog/stock", "text/csv", STOCK_CSV).await;

    let batch = json!({"batch": [
        {"type": "identify", "userId": "claire", "traits": {"email": "claire@example.com", "home_store_id": "paris"}},
        order("alice", 1, &["phone", "case", "screen"]),
        order("bob", 1, &["phone", "case"]),
        order("carol", 1, &["phone", "screen"]),
        order("dan", 1, &["case", "charger"]),
        order("eve", 1, &["charger"]),
        order("frank", 1, &["charger"]),
        order("claire", 1, &["phone"]),
    ]});
    let (code, body) = s.track("/v1/batch", batch).await;
    assert_eq!(code, 200, "{body}");
    s.settle().await;

    // Bought together with the last order: screen (lift 1.75), then case.
    let (code, v) = s
        .get("/api/v1/profiles/user_id:claire/recommendations?strategy=together&limit=3")
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["anchors"], json!(["phone"]));
    assert_eq!(v["model_profiles"], 7);
    let together = |id: &str| (id.to_owned(), "together".to_owned());
    assert_eq!(ids(&v), vec![together("screen"), together("case")]);
    let screen = &v["products"][0];
    assert_eq!(
        (
            &screen["why"]["confidence"],
            &screen["why"]["lift"],
            &screen["why"]["orders"]
        ),
        (&json!(0.5), &json!(1.75), &json!(2))
    );
    assert_eq!(screen["why"]["anchor"], "phone");
    let case = &v["products"][1];
    assert_eq!(case["why"]["lift"], json!(1.1667));
    assert_eq!(
        case["price"],
        json!({"amount": 14.99, "currency": "EUR"}),
        "the sale price"
    );
    assert_eq!(
        (&case["name"], &case["url"], &case["image"]),
        (
            &json!("Case"),
            &json!("https://shop.example/case"),
            &json!("https://img.example/case.jpg")
        )
    );

    // Three products: the declared complements fill in; cable has no online units.
    let (code, v) = s
        .get("/api/v1/profiles/user_id:claire/recommendations?limit=3")
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["strategy"], "auto");
    assert_eq!(
        ids(&v),
        vec![
            together("screen"),
            together("case"),
            ("charger".to_owned(), "complementary".to_owned())
        ]
    );

    // Alice bought phone, case and screen: none of them comes back.
    let (code, v) = s
        .get("/api/v1/profiles/user_id:alice/recommendations?strategy=popular&limit=5")
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        ids(&v),
        vec![("charger".to_owned(), "popular".to_owned())],
        "cable is out of stock online; the others were bought"
    );

    let (code, e) = s
        .get("/api/v1/profiles/user_id:claire/recommendations?strategy=magic")
        .await;
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("invalid_field")),
        "{e}"
    );
    let (code, _) = s.get("/api/v1/profiles/user_id:nobody/recommendations").await;
    assert_eq!(code, 404);

    // The same in a message's Liquid, with the nearest shop that has the case.
    let (code, m) = s
        .admin(
            "POST",
            "/api/v1/messages",
            Some(json!({"profile": "user_id:claire", "channel": "email", "transactional": true,
                "data": {"product": "case"},
                "content": {"subject": "For your phone",
                    "text": "{% for p in recommendations %}{{ p.name }} ({{ p.price.amount }} {{ p.price.currency }});{% endfor %} \
                             at {{ nearest_store.name }}, {{ nearest_store.distance_km }} km",
                    "html": "<p>{{ recommendations | size }}</p>"}})),
        )
        .await;
    assert_eq!(code, 201, "{m}");
    let (code, m) = s
        .get(&format!("/api/v1/messages/{}", m["id"].as_str().unwrap()))
        .await;
    assert_eq!(code, 200, "{m}");
    let text = m["content"]["text"].as_str().unwrap_or_else(|| panic!("{m}"));
    assert!(
        text.starts_with(
            "Screen Protector (9.99 EUR);Case (14.99 EUR);Charger (29 EUR); at Lille Grand Place, "
        ),
        "{text}"
    );
    assert!(m["content"]["html"].as_str().unwrap().contains("<p>3</p>"), "{m}");

    // No product in the data: `nearest_store` is null (indexing null is an
    // error in Liquid here, so templates test it first).
    let (code, m) = s
        .admin(
            "POST",
            "/api/v1/messages",
            Some(json!({"profile": "user_id:claire", "channel": "email", "transactional": true,
                "content": {"subject": "x", "text": "[{% if nearest_store %}{{ nearest_store.name }}{% else %}none{% endif %}]", "html": "<p>x</p>"}})),
        )
        .await;
    assert_eq!(code, 201, "{m}");
    let (_, m) = s
        .get(&format!("/api/v1/messages/{}", m["id"].as_str().unwrap()))
        .await;
    assert_eq!(m["content"]["text"], "[none]", "{m}");
}
