use super::*;
use crate::currency::Currency;
use serde_json::{json, Value};

fn product(v: Value) -> Product {
    serde_json::from_value(v).unwrap()
}

fn variant(v: Value) -> Variant {
    serde_json::from_value(v).unwrap()
}

fn tee(price: f64) -> Product {
    product(json!({"id": "tee", "name": "Tee", "price": price, "currency": "EUR", "category": "Men > Tops"}))
}

fn catalog() -> Catalog {
    let mut c = Catalog::new(DropRule::default());
    c.upsert_product(tee(20.0)).unwrap();
    c.upsert_product(product(
        json!({"id": "mug", "sku": "MUG-1", "name": "Mug", "price": 8, "currency": "EUR"}),
    ))
    .unwrap();
    for (sku, extra) in [
        ("tee-s", json!({})),
        ("tee-xl", json!({"price": 22, "currency": "EUR"})),
    ] {
        let mut v = json!({"parent_id": "tee", "sku": sku});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c.upsert_variant(variant(v)).unwrap();
    }
    c
}

#[test]
fn upserts_report_creation_drops_and_availability() {
    let mut c = catalog();
    assert_eq!(c.len(), 2);
    let mut cheaper = tee(15.0);
    cheaper.availability = Availability::OutOfStock;
    let u = c.upsert_product(cheaper).unwrap();
    assert!(!u.created);
    assert_eq!(
        u.price_drop,
        Some(PriceDrop {
            product: ProductId::new("tee").unwrap(),
            sku: None,
            currency: Currency::EUR,
            before: 2000,
            after: 1500
        })
    );
    assert_eq!(
        u.availability,
        Some((Availability::InStock, Availability::OutOfStock))
    );
    assert_eq!(c.upsert_product(tee(18.0)).unwrap().price_drop, None, "a rise");
    // The variant with its own price: its drop names its SKU.
    let u = c
        .upsert_variant(variant(
            json!({"parent_id": "tee", "sku": "tee-xl", "price": 22, "sale_price": 19.5, "currency": "EUR"}),
        ))
        .unwrap();
    assert_eq!(
        u.price_drop.map(|d| (d.sku, d.before, d.after)),
        Some((Some("tee-xl".into()), 2200, 1950))
    );
    // A rule that asks for 10 %: 20.00 → 18.50 (7.5 %) is not announced.
    let mut strict = Catalog::new(DropRule {
        min_amount: 0,
        min_basis_points: 1000,
    });
    strict.upsert_product(tee(20.0)).unwrap();
    assert_eq!(strict.upsert_product(tee(18.5)).unwrap().price_drop, None);
    assert!(strict.upsert_product(tee(16.0)).unwrap().price_drop.is_some());
}

#[test]
fn skus_have_one_owner() {
    let mut c = catalog();
    let clash = product(json!({"id": "cup", "sku": "MUG-1", "name": "Cup", "price": 5, "currency": "EUR"}));
    assert_eq!(
        c.upsert_product(clash).unwrap_err().to_string(),
        "sku: 'MUG-1' is already the SKU of product 'mug'"
    );
    let clash = product(json!({"id": "tee-s", "name": "X", "price": 5, "currency": "EUR"}));
    assert_eq!(
        c.upsert_product(clash).unwrap_err().to_string(),
        "id: 'tee-s' is already a variant of product 'tee'"
    );
    let v = variant(json!({"parent_id": "mug", "sku": "tee-s"}));
    assert_eq!(
        c.upsert_variant(v).unwrap_err().to_string(),
        "sku: 'tee-s' is already a variant of product 'tee'"
    );
    let v = variant(json!({"parent_id": "tee", "sku": "MUG-1"}));
    assert_eq!(
        c.upsert_variant(v).unwrap_err().to_string(),
        "sku: 'MUG-1' is already the SKU of product 'mug'"
    );
    let v = variant(json!({"parent_id": "hat", "sku": "hat-1"}));
    assert_eq!(
        c.upsert_variant(v).unwrap_err().to_string(),
        "parent_id: product 'hat' is not in the catalog (import products before their variants)"
    );
    let v = variant(json!({"parent_id": "tee", "sku": "tee-m", "price": 5, "currency": "USD"}));
    assert_eq!(
        c.upsert_variant(v).unwrap_err().to_string(),
        "currency: USD differs from product tee's EUR"
    );
    let v = variant(json!({"parent_id": "tee", "sku": "tee-m", "sale_price": 25, "currency": "EUR"}));
    assert_eq!(
        c.upsert_variant(v).unwrap_err().to_string(),
        "sale_price: 25.00 of tee-m is above product tee's price 20.00"
    );
    let mut usd = tee(20.0);
    usd.currency = Currency::parse("USD").unwrap();
    assert_eq!(
        c.upsert_product(usd).unwrap_err().to_string(),
        "currency: USD differs from variant tee-xl's EUR"
    );
    // The mug changes its SKU: the old one is free again.
    let renamed = product(json!({"id": "mug", "sku": "MUG-2", "name": "Mug", "price": 8, "currency": "EUR"}));
    c.upsert_product(renamed).unwrap();
    assert_eq!(c.owner_of("MUG-1"), None);
    assert_eq!(c.owner_of("MUG-2").map(ProductId::as_str), Some("mug"));
}

#[test]
fn prices_skus_and_availability_of_variants() {
    let c = catalog();
    assert_eq!(c.skus_of("tee"), ["tee-s", "tee-xl"]);
    assert_eq!(c.skus_of("mug"), ["MUG-1"]);
    assert!(c.skus_of("hat").is_empty());
    assert_eq!(
        c.price("tee", Some("tee-s")).map(|p| p.effective()),
        Some(2000),
        "inherits"
    );
    assert_eq!(
        c.price("tee", Some("tee-xl")).map(|p| p.effective()),
        Some(2200),
        "its own"
    );
    assert_eq!(c.price("tee", None).map(|p| p.list), Some(2000));
    assert_eq!(c.availability_of_sku("tee-s"), Some(Availability::InStock));
    assert_eq!(c.availability_of_sku("nope"), None);
    assert_eq!(c.variants("tee").count(), 2);
    assert_eq!(c.variant("tee-xl").map(|v| v.price), Some(Some(2200)));
    assert_eq!(c.variant("MUG-1"), None, "a product's own SKU is not a variant");
}

#[test]
fn events_link_to_catalog_entries() {
    let c = catalog();
    let link = |id: Option<&str>, sku: Option<&str>| {
        c.link(id, sku)
            .map(|l| (l.product.id.to_string(), l.sku().to_owned()))
    };
    let pair = |a: &str, b: &str| Some((a.to_owned(), b.to_owned()));
    assert_eq!(link(Some("tee"), Some("tee-xl")), pair("tee", "tee-xl"));
    assert_eq!(link(Some("tee"), None), pair("tee", "tee"));
    assert_eq!(
        link(Some("tee-s"), None),
        pair("tee", "tee-s"),
        "variant id sent as product_id"
    );
    assert_eq!(link(None, Some("MUG-1")), pair("mug", "MUG-1"));
    assert_eq!(
        link(Some("mug"), Some("tee-s")),
        pair("tee", "tee-s"),
        "the SKU decides"
    );
    assert_eq!(link(Some("hat"), Some("unknown")), None);
    let event = relais_core::commerce::Product {
        product_id: Some("tee".into()),
        sku: Some("tee-s".into()),
        ..Default::default()
    };
    assert_eq!(
        c.link_event(&event)
            .and_then(|l| l.variant)
            .map(|v| v.sku.as_str()),
        Some("tee-s")
    );
}

#[test]
fn bulk_upsert_goes_on_after_a_refusal() {
    let mut c = Catalog::new(DropRule::default());
    let items = vec![
        CatalogItem::Variant(variant(json!({"parent_id": "tee", "sku": "tee-s"}))),
        CatalogItem::Product(tee(20.0)),
        CatalogItem::Variant(variant(json!({"parent_id": "tee", "sku": "tee-s"}))),
        CatalogItem::Product(tee(10.0)),
    ];
    let r = c.upsert_all(items);
    assert_eq!((r.applied, r.created), (3, 2));
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].0, 0);
    assert_eq!(r.price_drops.len(), 1);
    assert_eq!(r.price_drops[0].after, 1000);
}
