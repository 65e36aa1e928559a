//! Answers the condition language's commerce questions
//! (`relais_core::condition::commerce`) for one customer from the
//! workspace's catalog, shops and stock as loaded in memory: "in stock at a
//! shop within 20 km", "at my home shop", "orderable online", "price below
//! what I saw". Journeys ask them at entry, on exit checks and in
//! `condition` steps (docs/conditions.md, "Commerce conditions").

use super::views::profile_origin;
use super::{CatalogConfig, Loaded};
use relais_catalog::events::interest;
use relais_catalog::geo::GeoPoint;
use relais_catalog::price::below_seen;
use relais_catalog::query::availability;
use relais_core::commerce::Product as EventProduct;
use relais_core::condition::{CommerceCond, CommerceTest, ProductRef};
use relais_core::profile::ProfileState;
use serde_json::Value;

/// What a commerce question is asked about: the customer, and the trigger
/// of their passage (an event's properties or the API trigger's payload).
pub struct Subject<'a> {
    pub state: &'a ProfileState,
    pub trigger: &'a Value,
    pub now_ms: i64,
}

/// Whether `c` holds for the subject: for a reference to several products
/// (a wishlist, a cart), whether it holds for any of them. A product that is
/// not in the catalog holds nothing.
pub fn answer(cat: &Loaded, config: &CatalogConfig, s: &Subject<'_>, c: &CommerceCond) -> bool {
    products(cat, s, &c.product)
        .iter()
        .any(|(id, sku)| holds(cat, config, s, &c.test, id, sku.as_deref()))
}

fn holds(
    cat: &Loaded,
    config: &CatalogConfig,
    s: &Subject<'_>,
    test: &CommerceTest,
    product: &str,
    sku: Option<&str>,
) -> bool {
    match test {
        CommerceTest::InStockNearby { within_km } => {
            let Some(o) = profile_origin(&cat.shops, s.state, config, s.now_ms) else {
                return false;
            };
            let Ok(from) = GeoPoint::new(o.latitude, o.longitude) else {
                return false;
            };
            let km = within_km.unwrap_or(config.nearest_store_within_km);
            !cat.shops
                .nearest_with_product(&cat.catalog, &cat.book, product, from, 1, km)
                .is_empty()
        }
        CommerceTest::InStockAtHomeStore => {
            let Some(home) = super::fanout::home_shop(&s.state.traits, &s.state.shop_visits) else {
                return false;
            };
            cat.catalog
                .skus_of(product)
                .iter()
                .any(|k| cat.book.level(&home, k).is_some_and(|q| q > 0))
        }
        CommerceTest::AvailableOnline => {
            availability(&cat.catalog, &cat.book, product).is_some_and(|a| a.online)
        }
        CommerceTest::Available => {
            availability(&cat.catalog, &cat.book, product).is_some_and(|a| a.online || !a.shops.is_empty())
        }
        CommerceTest::PriceBelowSeen => {
            let seen = interest(&cat.catalog, &s.state.commerce, product).and_then(|i| i.seen_price);
            let now = cat.catalog.price(product, sku);
            match (seen, now) {
                (Some(seen), Some(now)) => below_seen(seen, None, &now, &config.drop_rule()).is_some(),
                _ => false,
            }
        }
    }
}

/// The catalog products (id, and the variant SKU when one is named) a
/// reference stands for, in the customer's story; unknown ones left out.
fn products(cat: &Loaded, s: &Subject<'_>, r: &ProductRef) -> Vec<(String, Option<String>)> {
    let link = |p: &EventProduct| {
        cat.catalog.link_event(p).map(|l| {
            let sku = l.variant.map(|v| v.sku.clone());
            (l.product.id.as_str().to_owned(), sku)
        })
    };
    let commerce = &s.state.commerce;
    match r {
        ProductRef::Id(id) => link(&named(Some(id), None)).into_iter().collect(),
        ProductRef::Trigger => trigger_products(s.trigger).iter().filter_map(link).collect(),
        ProductRef::LastViewed => commerce
            .recently_viewed
            .iter()
            .max_by_key(|v| v.at)
            .and_then(|v| link(&v.product))
            .into_iter()
            .collect(),
        ProductRef::Viewed => commerce
            .recently_viewed
            .iter()
            .filter_map(|v| link(&v.product))
            .collect(),
        ProductRef::Wishlist => commerce
            .wishlist
            .iter()
            .filter_map(|w| link(&w.product))
            .collect(),
        ProductRef::Cart => commerce
            .cart
            .items
            .iter()
            .filter_map(|i| link(&i.product))
            .collect(),
    }
}

fn named(product_id: Option<&str>, sku: Option<&str>) -> EventProduct {
    EventProduct {
        product_id: product_id.map(str::to_owned),
        sku: sku.map(str::to_owned),
        ..EventProduct::default()
    }
}

/// The products a trigger names: its own `product_id` / `sku` (a product
/// event such as "Back In Stock"), its `product` (an id, or an object with
/// `product_id`, `id` or `sku`), and each of its `products`.
fn trigger_products(t: &Value) -> Vec<EventProduct> {
    let of = |o: &Value| {
        let str_of = |k: &str| {
            o.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let id = str_of("product_id").or_else(|| str_of("id"));
        let sku = str_of("sku");
        (id.is_some() || sku.is_some()).then(|| named(id, sku))
    };
    let mut out = Vec::new();
    if t.get("product_id").is_some() || t.get("sku").is_some() {
        let str_of = |k: &str| t.get(k).and_then(Value::as_str);
        out.push(named(str_of("product_id"), str_of("sku")));
    }
    match t.get("product") {
        Some(Value::String(id)) => out.push(named(Some(id.trim()), None)),
        Some(o @ Value::Object(_)) => out.extend(of(o)),
        _ => {}
    }
    if let Some(Value::Array(items)) = t.get("products") {
        out.extend(items.iter().filter_map(of));
    }
    out
}
