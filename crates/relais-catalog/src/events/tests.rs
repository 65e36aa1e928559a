use super::*;
use crate::stock::Mode;
use serde_json::json;

fn catalog() -> Catalog {
    let mut c = Catalog::new(DropRule::default());
    let tee = json!({"id": "tee", "name": "Tee", "price": 20, "currency": "EUR", "category": "Men > Tops",
        "url": "https://shop.example.com/tee"});
    c.upsert_product(serde_json::from_value(tee).unwrap()).unwrap();
    c.upsert_variant(serde_json::from_value(json!({"parent_id": "tee", "sku": "tee-m"})).unwrap())
        .unwrap();
    c
}

fn cheaper(c: &mut Catalog, price: f64) -> PriceDrop {
    let tee = json!({"id": "tee", "name": "Tee", "price": price, "currency": "EUR", "category": "Men > Tops",
        "url": "https://shop.example.com/tee"});
    c.upsert_product(serde_json::from_value(tee).unwrap())
        .unwrap()
        .price_drop
        .unwrap()
}

fn viewer(price: Option<f64>) -> CommerceState {
    let mut s = CommerceState::default();
    let mut props = json!({"product_id": "tee", "sku": "tee-m"});
    if let Some(p) = price {
        props["price"] = json!(p);
    }
    s.apply("Product Viewed", &props, 1, "web", None);
    s
}

#[test]
fn price_dropped_for_the_product_and_for_who_saw_more() {
    let mut c = catalog();
    let drop = cheaper(&mut c, 15.0);
    let m = price_dropped(&c, &drop).unwrap();
    assert_eq!(
        Value::Object(m),
        json!({"product_id": "tee", "sku": "tee", "name": "Tee", "category": "Men > Tops",
            "url": "https://shop.example.com/tee", "currency": "EUR",
            "price": 15.0, "previous_price": 20.0, "drop_amount": 5.0, "drop_percent": 25.0})
    );
    let any = DropRule::default();
    let saw_18 = profile_price_dropped(&c, &viewer(Some(18.0)), &drop, &any).unwrap();
    assert_eq!(
        (saw_18["seen_price"].clone(), saw_18["viewed"].clone()),
        (json!(18.0), json!(true))
    );
    assert_eq!(
        profile_price_dropped(&c, &viewer(Some(14.0)), &drop, &any),
        None,
        "saw it cheaper"
    );
    assert_eq!(
        profile_price_dropped(&c, &CommerceState::default(), &drop, &any),
        None,
        "not interested"
    );
    let mut wisher = CommerceState::default();
    wisher.apply(
        "Product Added to Wishlist",
        &json!({"product_id": "tee"}),
        1,
        "app",
        None,
    );
    let w = profile_price_dropped(&c, &wisher, &drop, &any).unwrap();
    assert_eq!(
        (w.get("seen_price"), w["wishlisted"].clone()),
        (None, json!(true))
    );
    // A rule of 20 % against the 18.00 seen: 15.00 is 16.7 % below.
    let fifth = DropRule {
        min_amount: 0,
        min_basis_points: 2000,
    };
    assert_eq!(
        profile_price_dropped(&c, &viewer(Some(18.0)), &drop, &fifth),
        None
    );
}

#[test]
fn stock_events_online_or_at_the_home_shop() {
    let c = catalog();
    let mut book = StockBook::default();
    for (loc, q) in [("online", 0), ("paris", 0), ("lyon", 0)] {
        book.apply(loc, "tee-m", q, Mode::Set).unwrap();
    }
    let viewer = viewer(None);
    let lyon = book.apply("lyon", "tee-m", 4, Mode::Set).unwrap().unwrap();
    let props = stock_properties(&c, &book, &lyon, Signal::BackInStock, Scope::Location).unwrap();
    assert_eq!(
        (
            props["store_id"].clone(),
            props["quantity"].clone(),
            props["sku"].clone()
        ),
        (json!("lyon"), json!(4), json!("tee-m"))
    );
    let any = stock_properties(&c, &book, &lyon, Signal::BackInStock, Scope::Anywhere).unwrap();
    assert_eq!(
        (any["online_quantity"].clone(), any["stores_in_stock"].clone()),
        (json!(0), json!(1))
    );
    assert!(
        profile_stock_events(&c, &book, &viewer, &lyon, Some("paris")).is_empty(),
        "Lyon is not home"
    );
    let home = profile_stock_events(&c, &book, &viewer, &lyon, Some("lyon"));
    assert_eq!(
        home.iter()
            .map(|(n, m)| (*n, m["scope"].clone()))
            .collect::<Vec<_>>(),
        [(BACK_IN_STOCK, json!("store"))]
    );
    let online = book.apply("online", "tee-m", 9, Mode::Set).unwrap().unwrap();
    let events = profile_stock_events(&c, &book, &viewer, &online, None);
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].0,
            events[0].1["scope"].clone(),
            events[0].1["quantity"].clone()
        ),
        (BACK_IN_STOCK, json!("online"), json!(9))
    );
    let low = book.apply("online", "tee-m", -7, Mode::Delta).unwrap().unwrap();
    let events = profile_stock_events(&c, &book, &viewer, &low, None);
    assert_eq!(events.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [LOW_STOCK]);
    assert_eq!(events[0].1["low_stock_threshold"], json!(3));
    let gone = book.apply("online", "tee-m", 0, Mode::Set).unwrap().unwrap();
    assert!(
        profile_stock_events(&c, &book, &viewer, &gone, None).is_empty(),
        "out of stock is not announced"
    );
    assert!(profile_stock_events(&c, &book, &CommerceState::default(), &online, None).is_empty());
}
