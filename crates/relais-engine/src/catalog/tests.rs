//! The commerce context over a real SQLite store: rows reported where they
//! were written, two nodes (or a node and the CLI) on one store, a write
//! that lost the race, and per-profile events written with their change.

use super::rows::{open, Format, Kind};
use super::*;
use relais_core::profile::ProfileState;
use relais_core::ProfileId;
use relais_store::{ProcessedBatch, ProfileWrite};
use serde_json::{json, Value};

async fn setup() -> (tempfile::TempDir, DynStore, WorkspaceId) {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore =
        Arc::new(relais_store::sqlite::SqliteStore::open(&dir.path().join("r.db")).unwrap());
    let ws = store.create_workspace("w", 0).await.unwrap().id;
    (dir, store, ws)
}

fn node(store: &DynStore) -> Commerce {
    Commerce::new(store.clone(), Arc::default(), CatalogConfig::default())
}

const PRODUCTS: &str = "\
id,parent_id,sku,name,price,sale_price,currency
p1,,,Runner,89.99,,EUR
p2,,,Socks,abc,,EUR
,p9,p9-38,,,,
p3,,,Cap,12,,EUR
";

const SHOPS: &str = r#"[
 {"id":"paris","name":"Paris Châtelet","city":"Paris","latitude":48.8584,"longitude":2.3470,"time_zone":"Europe/Paris"},
 {"id":"lyon","name":"Lyon Part-Dieu","latitude":45.7606,"longitude":4.8593,"time_zone":"Europe/Paris"},
 {"id":"bad","name":"No zone","latitude":1,"longitude":2}
]"#;

async fn import(
    c: &Commerce,
    ws: WorkspaceId,
    kind: Kind,
    format: Format,
    mode: Mode,
    text: &str,
) -> write::WriteOutcome {
    let rows = open(kind, format, mode, text.as_bytes()).unwrap();
    c.import(ws, rows, 2, |_| {}).await.unwrap()
}

#[tokio::test]
async fn rows_are_reported_where_written_and_the_rest_kept() {
    let (_dir, store, ws) = setup().await;
    let c = node(&store);
    let out = import(&c, ws, Kind::Products, Format::Csv, Mode::Set, PRODUCTS).await;
    assert_eq!((out.received, out.applied, out.failed), (4, 2, 2));
    let errors: Vec<String> = out.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errors,
        [
            "line 3: price: 'abc' is not a decimal number",
            "line 4: parent_id: product 'p9' is not in the catalog (import products before their variants)"
        ]
    );
    assert_eq!(out.revision, 2, "two chunks of two rows, one transaction each");
    let shops = import(&c, ws, Kind::Shops, Format::Json, Mode::Set, SHOPS).await;
    assert_eq!((shops.applied, shops.created, shops.failed), (2, 2, 1));
    assert_eq!(shops.errors[0].to_string(), "item 2: time_zone: is required");
    assert_eq!(
        c.shops(ws, None, Some(1)).await.unwrap().next_cursor.as_deref(),
        Some("lyon")
    );
    let page = c.products(ws, Some("p1"), None).await.unwrap();
    let ids: Vec<&Value> = page.items.iter().map(|p| &p["id"]).collect();
    assert_eq!(ids, [&json!("p3")]);
}

#[tokio::test]
async fn nodes_see_each_other_and_a_stale_write_is_replayed_on_fresh_state() {
    let (_dir, store, ws) = setup().await;
    let (a, b) = (node(&store), node(&store));
    import(&a, ws, Kind::Products, Format::Csv, Mode::Set, PRODUCTS).await;
    import(&a, ws, Kind::Shops, Format::Json, Mode::Set, SHOPS).await;
    // B loads what A wrote, and writes stock that A then sees.
    let stock = "store_id,sku,quantity\nparis,p1,5\nlyon,p1,2\n";
    let out = import(&b, ws, Kind::Stock, Format::Csv, Mode::Set, stock).await;
    assert_eq!(
        (out.changed, out.created, out.signals_total),
        (2, 2, 0),
        "first levels are a baseline"
    );
    let view = a.product(ws, "p1").await.unwrap();
    let units: Vec<(&str, i64)> = view
        .availability
        .stores
        .iter()
        .map(|s| (s.store_id.as_str(), s.units))
        .collect();
    assert_eq!(units, [("lyon", 2), ("paris", 5)]);

    // A takes its lock with the current state; B writes meanwhile; A's
    // write is refused and its state dropped…
    let mut state = a.write_lock(ws).await.unwrap();
    b.put_stock(ws, &stock_rows("paris,p1,-1", Mode::Delta))
        .await
        .unwrap();
    let rows = stock_rows("paris,p1,-4", Mode::Delta);
    let e = a.stock_attempt(ws, &mut state, &rows).await.unwrap_err();
    let mut tries = 0;
    Commerce::retry(&mut state, e, &mut tries).unwrap();
    assert_eq!(state.revision, -1);
    drop(state);
    // …and the same delta, tried again, applies on top of B's.
    let out = a.put_stock(ws, &rows).await.unwrap();
    let signals: Vec<(&str, Option<&str>)> = out.signals.iter().map(|s| (s.signal, s.scope)).collect();
    assert_eq!(signals, [("out_of_stock", Some("location"))]);
    let levels = store.list_stock_levels(ws, None, 10).await.unwrap();
    let q: Vec<(&str, i32)> = levels
        .iter()
        .map(|l| (l.location_id.as_str(), l.quantity))
        .collect();
    assert_eq!(q, [("lyon", 2), ("paris", 0)]);
    assert_eq!(b.product(ws, "p1").await.unwrap().availability.stores.len(), 1);
}

fn stock_rows(line: &str, mode: Mode) -> Vec<rows::Row<relais_catalog::stock::StockUpdate>> {
    let text = format!("store_id,sku,quantity\n{line}\n");
    match open(Kind::Stock, Format::Csv, mode, std::io::Cursor::new(text)).unwrap() {
        rows::RowStream::Stock(rows) => rows.collect(),
        _ => unreachable!(),
    }
}

/// A profile that viewed p1 at 89.99 and calls Paris its home shop.
async fn shopper(store: &DynStore, ws: WorkspaceId) -> ProfileId {
    let mut state = ProfileState::default();
    state.commerce.apply(
        "Product Viewed",
        &json!({"product_id": "p1", "price": 89.99}),
        1,
        "web",
        None,
    );
    state.set_trait("home_store_id", json!("paris"), 1);
    let id = ProfileId(7);
    let batch = ProcessedBatch {
        profiles: vec![ProfileWrite {
            workspace_id: ws,
            id,
            state: serde_json::to_string(&state).unwrap(),
            created_at: 1,
            updated_at: 1,
            search_keys: None,
            interests: Some(crate::processor::interest_keys(&state)),
        }],
        ..Default::default()
    };
    store.commit_processed(&batch).await.unwrap();
    id
}

#[tokio::test]
async fn interested_profiles_get_events_with_the_change() {
    let (_dir, store, ws) = setup().await;
    let c = node(&store);
    import(&c, ws, Kind::Products, Format::Csv, Mode::Set, PRODUCTS).await;
    import(&c, ws, Kind::Shops, Format::Json, Mode::Set, SHOPS).await;
    let stock = "store_id,sku,quantity\nparis,p1,5\nlyon,p1,2\nparis,p3,1\n";
    import(&c, ws, Kind::Stock, Format::Csv, Mode::Set, stock).await;
    let profile = shopper(&store, ws).await;

    // Out of stock at home: a signal, no event. Back: an event. Lyon: neither.
    let out = c
        .put_stock(ws, &stock_rows("paris,p1,0", Mode::Set))
        .await
        .unwrap();
    assert_eq!((out.events, out.fanout.profiles_scanned), (0, 0));
    let out = c
        .put_stock(ws, &stock_rows("paris,p1,4", Mode::Set))
        .await
        .unwrap();
    assert_eq!((out.events, out.fanout.profiles_scanned), (1, 1));
    c.put_stock(ws, &stock_rows("lyon,p1,0", Mode::Set))
        .await
        .unwrap();
    let out = c
        .put_stock(ws, &stock_rows("lyon,p1,9", Mode::Set))
        .await
        .unwrap();
    assert_eq!((out.signals_total, out.events), (1, 0), "not their home shop");
    // A drop of p1 (viewed) is theirs; of p3 (not viewed) is not.
    let cheaper = "id,name,price,sale_price,currency\np1,Runner,89.99,69.90,EUR\np3,Cap,10,,EUR\n";
    let out = import(&c, ws, Kind::Products, Format::Csv, Mode::Set, cheaper).await;
    let drops: Vec<&str> = out
        .signals
        .iter()
        .filter_map(|s| s.product_id.as_deref())
        .collect();
    assert_eq!((drops, out.events), (vec!["p1", "p3"], 1));

    let log = store.read_log(0, 10).await.unwrap();
    let events: Vec<Value> = log
        .iter()
        .map(|e| serde_json::from_str(&e.event.payload).unwrap())
        .collect();
    let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(names, ["Back In Stock", "Price Dropped"]);
    assert_eq!(events[0]["properties"]["store_id"], "paris");
    assert_eq!(events[0]["properties"]["profile_id"], profile.to_string());
    assert_eq!(events[1]["properties"]["seen_price"], 89.99);
    assert_eq!(events[1]["properties"]["price"], 69.9);

    // Past the configured size, only product-level signals.
    let mut small = node(&store);
    small.config.fanout_max_profiles = 0;
    let out = small
        .put_stock(ws, &stock_rows("online,p1,0", Mode::Set))
        .await
        .unwrap();
    assert_eq!(out.events, 0);
    let out = small
        .put_stock(ws, &stock_rows("online,p1,3", Mode::Set))
        .await
        .unwrap();
    assert_eq!(out.events, 0);
    assert!(out
        .fanout
        .skipped
        .as_deref()
        .unwrap()
        .contains("fanout_max_profiles (0)"));
}

#[tokio::test]
async fn recommendation_models_are_kept_until_older_than_the_max_age() {
    let (_dir, store, ws) = setup().await;
    let c = node(&store);
    let first = c.models(ws).await.unwrap();
    assert_eq!((first.profiles, first.together.orders()), (0, 0));
    assert!(Arc::ptr_eq(&first, &c.models(ws).await.unwrap()), "kept");
    let mut eager = node(&store);
    eager.config.recommendations_max_age_secs = 0;
    let a = eager.models(ws).await.unwrap();
    assert!(
        !Arc::ptr_eq(&a, &eager.models(ws).await.unwrap()),
        "rebuilt on every use"
    );
}

/// Place Bellecour, Lyon: 2.14 km from Lyon Part-Dieu, 392.34 km from
/// Paris Châtelet (haversine, by hand: Δlat 0.0028° = 0.31 km, Δlon
/// 0.0273° × cos 45.76° = 2.12 km).
const BELLECOUR: (f64, f64) = (45.7578, 4.8320);

fn customer(home: Option<&str>, fix: Option<((f64, f64), i64)>) -> ProfileState {
    let mut state = ProfileState::default();
    if let Some(home) = home {
        state.set_trait("home_store_id", json!(home), 1);
    }
    state.location = fix.map(|((latitude, longitude), at)| relais_core::profile::Stamped {
        value: relais_core::profile::location::GeoFix {
            latitude,
            longitude,
            city: None,
            country: None,
        },
        at,
    });
    state
}

#[tokio::test]
async fn nearest_store_searches_from_where_the_customer_is_within_reach() {
    let (_dir, store, ws) = setup().await;
    let c = node(&store);
    import(&c, ws, Kind::Products, Format::Csv, Mode::Set, PRODUCTS).await;
    import(&c, ws, Kind::Shops, Format::Json, Mode::Set, SHOPS).await;
    let stock = "store_id,sku,quantity\nparis,p1,3\nlyon,p1,1\nparis,p3,2\n";
    import(&c, ws, Kind::Stock, Format::Csv, Mode::Set, stock).await;
    let now = relais_core::time::now_ms();
    let day = 86_400_000;
    let nearest = |state: ProfileState, product: &'static str| {
        let c = &c;
        async move {
            c.nearest_store_for(ws, &state, product).await.unwrap().map(|v| {
                (
                    v["id"].as_str().unwrap().to_owned(),
                    v["distance_km"].clone(),
                    v["origin"].clone(),
                )
            })
        }
    };
    let at = |id: &str, km: f64, origin: &str| Some((id.to_owned(), json!(km), json!(origin)));
    // Home shop only; a fresh fix beats it; a stale one does not.
    assert_eq!(
        nearest(customer(Some("paris"), None), "p1").await,
        at("paris", 0.0, "home_store")
    );
    let fresh = Some((BELLECOUR, now - 60_000));
    assert_eq!(
        nearest(customer(Some("paris"), fresh), "p1").await,
        at("lyon", 2.14, "last_location")
    );
    let stale = Some((BELLECOUR, now - 2 * day));
    assert_eq!(
        nearest(customer(Some("paris"), stale), "p1").await,
        at("paris", 0.0, "home_store")
    );
    // A stale fix is better than nothing, also when the home shop is unknown.
    assert_eq!(
        nearest(customer(None, stale), "p1").await,
        at("lyon", 2.14, "stale_location")
    );
    assert_eq!(
        nearest(customer(Some("gone"), stale), "p1").await,
        at("lyon", 2.14, "stale_location")
    );
    assert_eq!(
        nearest(customer(None, None), "p1").await,
        None,
        "nowhere to search from"
    );
    // p3 is only in Paris: 392 km from Lyon is beyond the default 50 km.
    assert_eq!(nearest(customer(None, fresh), "p3").await, None);
    assert_eq!(nearest(customer(None, fresh), "nope").await, None);
    let mut far = node(&store);
    far.config.nearest_store_within_km = 400.0;
    let found = far
        .nearest_store_for(ws, &customer(None, fresh), "p3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (&found["id"], &found["distance_km"]),
        (&json!("paris"), &json!(392.34))
    );
    // The age that makes a fix stale is configured.
    far.config.last_location_max_age_secs = 3 * 86_400;
    let found = far
        .nearest_store_for(ws, &customer(Some("paris"), stale), "p1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (&found["id"], &found["origin"]),
        (&json!("lyon"), &json!("last_location"))
    );
}

#[test]
fn a_radius_no_search_can_use_is_refused_in_the_configuration() {
    let read = |v: Value| serde_json::from_value::<CatalogConfig>(v).map(|c| c.nearest_store_within_km);
    assert_eq!(read(json!({})).unwrap(), 50.0);
    assert_eq!(read(json!({"nearest_store_within_km": 12.5})).unwrap(), 12.5);
    for bad in [json!(0), json!(-3), json!(20_041)] {
        let e = read(json!({"nearest_store_within_km": bad}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not within (0, 20040]"), "{e}");
    }
}

/// The commerce conditions of journeys (`conditions::answer`) on hand-checked
/// geography: a customer in Lyon (Bellecour), shops in Paris and Lyon.
#[tokio::test]
async fn commerce_conditions_answer_from_stock_prices_and_the_customer_story() {
    use relais_core::commerce::{CartItem, Product as Seen, Viewed, WishItem};
    use relais_core::condition::parse;
    let (_dir, store, ws) = setup().await;
    let c = node(&store);
    import(&c, ws, Kind::Products, Format::Csv, Mode::Set, PRODUCTS).await;
    import(&c, ws, Kind::Shops, Format::Json, Mode::Set, SHOPS).await;
    let stock = "store_id,sku,quantity\nparis,p1,3\nlyon,p1,1\nparis,p3,2\nonline,p1,5\nonline,p3,0\n";
    import(&c, ws, Kind::Stock, Format::Csv, Mode::Set, stock).await;
    let now = relais_core::time::now_ms();
    let seen = |id: &str, price: f64| Seen {
        product_id: Some(id.into()),
        price: Some(price),
        ..Seen::default()
    };
    let mut state = customer(Some("paris"), Some((BELLECOUR, now - 60_000)));
    let viewed = |id: &str, price: f64, at: i64| Viewed {
        product: seen(id, price),
        at,
        channel: "web".into(),
    };
    // Saw the Cap at 15 (now 12) and, later, the Runner at 80 (now 89.99).
    state.commerce.recently_viewed = vec![viewed("p3", 15.0, now - 5_000), viewed("p1", 80.0, now - 1_000)];
    state.commerce.wishlist = vec![WishItem {
        product: seen("p3", 15.0),
        ..WishItem::default()
    }];
    state.commerce.cart.items = vec![CartItem {
        product: seen("p1", 89.99),
        quantity: 1,
        ..CartItem::default()
    }];
    let cat = c.read(ws).await.unwrap();
    let ask = |q: Value, trigger: Value| {
        let cond = parse(&q).unwrap();
        let s = conditions::Subject {
            state: &state,
            trigger: &trigger,
            now_ms: now,
        };
        let q = cond.commerce()[0].clone();
        conditions::answer(&cat, &c.config, &s, &q)
    };
    let p1 = json!({"product_id": "p1"});
    let p3 = json!({"sku": "p3"});
    let nearby = json!({"commerce": "in_stock_nearby", "product": {"from": "trigger"}});
    // The Runner is in Lyon, 2.14 km away; the Cap only in Paris, 392 km.
    assert!(ask(nearby.clone(), p1.clone()));
    assert!(!ask(nearby.clone(), p3.clone()));
    let far = json!({"commerce": "in_stock_nearby", "product": {"from": "trigger"}, "within_km": 400});
    assert!(ask(far, p3.clone()));
    let close = json!({"commerce": "in_stock_nearby", "product": {"from": "trigger"}, "within_km": 2});
    assert!(!ask(close, p1.clone()), "Lyon is 2.14 km away");
    // A trigger naming several products: any of them.
    let order = json!({"products": [{"product_id": "p3"}, {"sku": "p1", "quantity": 1}]});
    assert!(ask(nearby.clone(), order));
    assert!(!ask(nearby, json!({"product": "nope"})), "not in the catalog");
    // Home shop Paris has both.
    let home = |p: Value| json!({"commerce": "in_stock_at_home_store", "product": p});
    assert!(ask(home(json!("p3")), Value::Null));
    assert!(!ask(home(json!("p2")), Value::Null), "p2 was refused at import");
    // Online: the Runner has 5 units, the Cap 0 (tracked), but is in a shop.
    let online = |p: &str| json!({"commerce": "available_online", "product": p});
    assert!(ask(online("p1"), Value::Null));
    assert!(!ask(online("p3"), Value::Null));
    assert!(ask(
        json!({"commerce": "available", "product": "p3"}),
        Value::Null
    ));
    assert!(!ask(
        json!({"commerce": "available_online", "product": {"from": "wishlist"}}),
        Value::Null
    ));
    assert!(ask(
        json!({"commerce": "available_online", "product": {"from": "cart"}}),
        Value::Null
    ));
    // Below what they saw: the Cap (15 → 12), not the Runner (80 → 89.99).
    let below = |p: Value| json!({"commerce": "price_below_seen", "product": p});
    assert!(ask(below(json!("p3")), Value::Null));
    assert!(!ask(below(json!("p1")), Value::Null));
    assert!(ask(below(json!({"from": "viewed"})), Value::Null));
    assert!(!ask(below(json!({"from": "last_viewed"})), Value::Null));
    assert!(ask(below(json!({"from": "wishlist"})), Value::Null));
    assert!(!ask(below(json!("p1")), Value::Null));
}
