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
