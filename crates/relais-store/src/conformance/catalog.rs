//! Conformance cases for the commerce context: catalog items, shops and
//! stock levels, the revision that guards every write, events committed
//! with the change that caused them, and workspace isolation.

use super::*;

fn item(kind: CatalogKind, id: &str, doc: &str, at: i64) -> CatalogItemRecord {
    CatalogItemRecord {
        kind,
        id: id.into(),
        doc: doc.into(),
        updated_at: at,
    }
}

fn level(location: &str, sku: &str, quantity: i32) -> StockLevel {
    StockLevel {
        location_id: location.into(),
        sku: sku.into(),
        quantity,
        updated_at: NOW,
    }
}

fn shop(id: &str, name: &str) -> ShopRecord {
    ShopRecord {
        id: id.into(),
        doc: format!(r#"{{"id":"{id}","name":"{name}"}}"#),
        updated_at: NOW,
    }
}

fn ids(items: &[CatalogItemRecord]) -> Vec<&str> {
    items.iter().map(|i| i.id.as_str()).collect()
}

fn is_conflict<T: std::fmt::Debug>(r: StoreResult<T>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

pub async fn catalog_items_upsert_page_and_get(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    assert_eq!(store.catalog_revision(ws).await.unwrap(), 0);
    let (p, v) = (CatalogKind::Product, CatalogKind::Variant);
    // Byte order, not locale order: "B" < "a"; a product and a variant may share an id.
    let batch = [
        item(p, "a", r#"{"id":"a","name":"A"}"#, NOW),
        item(p, "B", r#"{"id":"B"}"#, NOW),
        item(p, "c", r#"{"id":"c"}"#, NOW),
        item(v, "a", r#"{"id":"a","parent_id":"c"}"#, NOW),
        item(p, "a", r#"{"id":"a","name":"A2"}"#, NOW + 1), // the last of a key wins
    ];
    assert_eq!(store.put_catalog_items(ws, 0, &batch, &[]).await.unwrap(), 1);
    assert_eq!(store.catalog_revision(ws).await.unwrap(), 1);

    let page1 = store.list_catalog_items(ws, p, None, 2).await.unwrap();
    assert_eq!(ids(&page1), ["B", "a"]);
    let page2 = store
        .list_catalog_items(ws, p, Some(&page1[1].id), 2)
        .await
        .unwrap();
    assert_eq!(ids(&page2), ["c"]);
    assert!(store
        .list_catalog_items(ws, p, Some("c"), 2)
        .await
        .unwrap()
        .is_empty());
    let variants = store.list_catalog_items(ws, v, None, 10).await.unwrap();
    assert_eq!(variants, [item(v, "a", r#"{"id":"a","parent_id":"c"}"#, NOW)]);

    let a = store.get_catalog_item(ws, p, "a").await.unwrap().unwrap();
    assert_eq!(a, item(p, "a", r#"{"id":"a","name":"A2"}"#, NOW + 1));
    assert_eq!(store.get_catalog_item(ws, v, "B").await.unwrap(), None);

    // A writer that did not see revision 1 is refused, and writes nothing.
    let stale = [item(p, "a", r#"{"id":"a","name":"stale"}"#, NOW + 2)];
    assert!(is_conflict(store.put_catalog_items(ws, 0, &stale, &[]).await));
    assert!(is_conflict(store.put_catalog_items(ws, 2, &stale, &[]).await));
    let a = store.get_catalog_item(ws, p, "a").await.unwrap().unwrap();
    assert_eq!(a.doc, r#"{"id":"a","name":"A2"}"#);
    assert_eq!(store.catalog_revision(ws).await.unwrap(), 1);
    // An empty write still moves the revision on (a no-op import is a write).
    assert_eq!(store.put_catalog_items(ws, 1, &[], &[]).await.unwrap(), 2);
}

pub async fn shops_and_stock_levels_page_by_key(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let r = store
        .put_shops(
            ws,
            0,
            &[
                shop("paris", "Paris"),
                shop("lyon", "Lyon"),
                shop("paris", "Paris 1er"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r, 1);
    let shops = store.list_shops(ws, None, 10).await.unwrap();
    assert_eq!(shops, [shop("lyon", "Lyon"), shop("paris", "Paris 1er")]);
    assert_eq!(
        store.list_shops(ws, Some("lyon"), 10).await.unwrap(),
        [shop("paris", "Paris 1er")]
    );
    assert!(is_conflict(store.put_shops(ws, 0, &[shop("x", "X")]).await));

    // Shops, stock and catalog share one revision.
    let levels = [
        level("paris", "sku-2", 4),
        level("lyon", "sku-1", 0),
        level("paris", "sku-1", -2),
        level("online", "sku-1", 7),
    ];
    assert_eq!(store.put_stock_levels(ws, 1, &levels, &[]).await.unwrap(), 2);
    assert!(is_conflict(store.put_stock_levels(ws, 1, &levels, &[]).await));
    let update = [level("paris", "sku-2", 9), level("paris", "sku-2", 3)];
    assert_eq!(store.put_stock_levels(ws, 2, &update, &[]).await.unwrap(), 3);

    let mut all = Vec::new();
    let mut after: Option<(String, String)> = None;
    loop {
        let key = after.as_ref().map(|(l, s)| (l.as_str(), s.as_str()));
        let page = store.list_stock_levels(ws, key, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some((last.location_id.clone(), last.sku.clone()));
        all.extend(page);
    }
    let got: Vec<(&str, &str, i32)> = all
        .iter()
        .map(|l| (l.location_id.as_str(), l.sku.as_str(), l.quantity))
        .collect();
    assert_eq!(
        got,
        [
            ("lyon", "sku-1", 0),
            ("online", "sku-1", 7),
            ("paris", "sku-1", -2),
            ("paris", "sku-2", 3)
        ],
        "by (location, sku), the last write of a key kept"
    );
}

fn stock_event(ws: WorkspaceId, src: SourceId, profile: i64, message_id: &str) -> EmittedEvent {
    EmittedEvent {
        profile_id: ProfileId(profile),
        name: "Back In Stock".into(),
        event: NewEvent {
            channel: "internal".into(),
            ..ev(
                ws,
                src,
                message_id,
                &format!(r#"{{"event":"Back In Stock","n":"{message_id}"}}"#),
            )
        },
    }
}

pub async fn catalog_events_commit_with_their_change(store: &dyn Store) {
    let (ws, src) = setup(store, "w").await;
    let e1 = stock_event(ws, src, 1, "relais-stock-1");
    // Refused write: neither the levels nor the event are there.
    assert!(is_conflict(
        store
            .put_stock_levels(ws, 5, &[level("paris", "s", 3)], std::slice::from_ref(&e1))
            .await
    ));
    assert!(store.read_log(0, 10).await.unwrap().is_empty());
    assert!(store.list_stock_levels(ws, None, 10).await.unwrap().is_empty());

    let r = store
        .put_stock_levels(ws, 0, &[level("paris", "s", 3)], std::slice::from_ref(&e1))
        .await
        .unwrap();
    let drop = EmittedEvent {
        name: "Price Dropped".into(),
        ..stock_event(ws, src, 2, "relais-price-1")
    };
    let items = [item(CatalogKind::Product, "p", "{}", NOW)];
    // The same event again (a retried request) is kept once.
    let r = store
        .put_catalog_items(ws, r, &items, &[drop, e1.clone()])
        .await
        .unwrap();
    assert_eq!(r, 2);
    let log = store.read_log(0, 10).await.unwrap();
    let got: Vec<&str> = log.iter().map(|e| e.event.message_id.as_str()).collect();
    assert_eq!(got, ["relais-stock-1", "relais-price-1"]);
    let q = TimelineQuery {
        limit: 10,
        ..Default::default()
    };
    let tl = store.timeline(ws, ProfileId(2), &q).await.unwrap();
    assert_eq!(tl.len(), 1);
    assert_eq!((tl[0].name.as_str(), tl[0].seq), ("Price Dropped", log[1].seq));
    assert_eq!(store.timeline(ws, ProfileId(1), &q).await.unwrap().len(), 1);
}

pub async fn catalog_is_isolated_per_workspace(store: &dyn Store) {
    let (a, _) = setup(store, "a").await;
    let (b, _) = setup(store, "b").await;
    let p = CatalogKind::Product;
    store
        .put_catalog_items(a, 0, &[item(p, "p1", "in a", NOW)], &[])
        .await
        .unwrap();
    store.put_shops(a, 1, &[shop("s1", "A's")]).await.unwrap();
    store
        .put_stock_levels(a, 2, &[level("s1", "p1", 5)], &[])
        .await
        .unwrap();
    assert_eq!(store.catalog_revision(a).await.unwrap(), 3);
    assert_eq!(
        store.catalog_revision(b).await.unwrap(),
        0,
        "b has its own revision"
    );

    assert_eq!(store.get_catalog_item(b, p, "p1").await.unwrap(), None);
    assert!(store.list_catalog_items(b, p, None, 10).await.unwrap().is_empty());
    assert!(store.list_shops(b, None, 10).await.unwrap().is_empty());
    assert!(store.list_stock_levels(b, None, 10).await.unwrap().is_empty());

    // The same keys in b are b's own rows.
    store
        .put_catalog_items(b, 0, &[item(p, "p1", "in b", NOW)], &[])
        .await
        .unwrap();
    store
        .put_stock_levels(b, 1, &[level("s1", "p1", 1)], &[])
        .await
        .unwrap();
    let in_a = store.get_catalog_item(a, p, "p1").await.unwrap().unwrap();
    assert_eq!(in_a.doc, "in a");
    assert_eq!(store.list_stock_levels(a, None, 10).await.unwrap()[0].quantity, 5);
    assert_eq!(store.list_stock_levels(b, None, 10).await.unwrap()[0].quantity, 1);
    assert!(is_conflict(
        store.put_shops(b, 3, &[shop("s1", "b at a's revision")]).await
    ));
}
