//! The events the signals become: "Price Dropped", "Back In Stock" and
//! "Low Stock", once per product and once per interested profile.
//!
//! This module builds their `properties` (Segment product field names, so
//! templates and segments read them like any e-commerce event) and decides
//! which profile gets one; the engine appends them to the log.
//!
//! A profile is *interested* in a product it viewed (among its recently
//! viewed) or put on its wishlist. Per profile:
//! - Price Dropped: the product's drop, and if the customer saw a price
//!   (their latest view's, else the wishlist's), the new price is below it
//!   by the rule: a fall from a price they never saw is not news to them.
//! - Back In Stock / Low Stock: online, or at their home shop. Stock coming
//!   back in a shop across the country is a product-level event only.

use crate::catalog::Catalog;
use crate::price::{below_seen, DropRule, PriceDrop};
use crate::product::Product;
use crate::stock::{Scope, Signal, StockBook, StockChange};
use relais_core::commerce::CommerceState;
use serde_json::{Map, Value};

pub const PRICE_DROPPED: &str = "Price Dropped";
pub const BACK_IN_STOCK: &str = "Back In Stock";
pub const LOW_STOCK: &str = "Low Stock";

/// The event a stock signal is announced as (out of stock is not).
pub fn stock_event_name(signal: Signal) -> Option<&'static str> {
    match signal {
        Signal::BackInStock => Some(BACK_IN_STOCK),
        Signal::LowStock => Some(LOW_STOCK),
        Signal::OutOfStock => None,
    }
}

/// The Segment product fields of a catalog product (and variant SKU).
pub fn product_properties(p: &Product, sku: Option<&str>) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_owned(), v);
        }
    };
    put("product_id", Some(p.id.as_str().into()));
    put("sku", Some(sku.unwrap_or(p.own_sku()).into()));
    put("name", Some(p.name.as_str().into()));
    put(
        "category",
        (!p.category.is_empty()).then(|| p.category_path().into()),
    );
    put("brand", p.brand.as_deref().map(Value::from));
    put("url", p.url.as_deref().map(Value::from));
    put("image_url", p.image_url.as_deref().map(Value::from));
    put("currency", Some(p.currency.code().into()));
    m
}

fn amount(c: crate::currency::Currency, minor: i64) -> Value {
    Value::from(c.to_f64(minor))
}

/// Properties of the product-level "Price Dropped".
pub fn price_dropped(catalog: &Catalog, drop: &PriceDrop) -> Option<Map<String, Value>> {
    let p = catalog.product(drop.product.as_str())?;
    let mut m = product_properties(p, drop.sku.as_deref());
    m.insert("price".into(), amount(drop.currency, drop.after));
    m.insert("previous_price".into(), amount(drop.currency, drop.before));
    m.insert("drop_amount".into(), amount(drop.currency, drop.amount()));
    m.insert("drop_percent".into(), Value::from(drop.percent()));
    Some(m)
}

/// Properties of the product-level stock event for one signal of a change.
pub fn stock_properties(
    catalog: &Catalog,
    book: &StockBook,
    change: &StockChange,
    signal: Signal,
    scope: Scope,
) -> Option<Map<String, Value>> {
    stock_event_name(signal)?;
    let sku = book.sku_id(change.sku);
    let p = catalog.product(catalog.owner_of(sku)?.as_str())?;
    let mut m = product_properties(p, Some(sku));
    let totals = book.summary_keys(change.sku);
    match scope {
        Scope::Location => {
            m.insert("scope".into(), "store".into());
            m.insert("store_id".into(), book.location_id(change.location).into());
            m.insert("quantity".into(), change.after.into());
        }
        Scope::Online => {
            m.insert("scope".into(), "online".into());
            m.insert("quantity".into(), totals.online_units.into());
        }
        Scope::Anywhere => {
            m.insert("scope".into(), "anywhere".into());
            m.insert("online_quantity".into(), totals.online_units.into());
            m.insert("stores_in_stock".into(), totals.shops_in_stock.into());
        }
    }
    if signal == Signal::LowStock {
        m.insert(
            "low_stock_threshold".into(),
            book.low_stock_threshold(change.sku).into(),
        );
    }
    Some(m)
}

/// What links a profile to a product.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Interest {
    pub viewed: bool,
    pub wishlisted: bool,
    /// The price the customer last saw: their latest view's, else the
    /// wishlist's (as events carry it, a float).
    pub seen_price: Option<f64>,
}

/// The profile's interest in a product, if any.
pub fn interest(catalog: &Catalog, state: &CommerceState, product: &str) -> Option<Interest> {
    let is_it = |p: &relais_core::commerce::Product| {
        catalog
            .link_event(p)
            .is_some_and(|l| l.product.id.as_str() == product)
    };
    let viewed = state.recently_viewed.iter().find(|v| is_it(&v.product));
    let wished = state.wishlist.iter().find(|w| is_it(&w.product));
    if viewed.is_none() && wished.is_none() {
        return None;
    }
    Some(Interest {
        viewed: viewed.is_some(),
        wishlisted: wished.is_some(),
        seen_price: viewed
            .and_then(|v| v.product.price)
            .or_else(|| wished.and_then(|w| w.product.price)),
    })
}

fn with_interest(mut m: Map<String, Value>, i: &Interest) -> Map<String, Value> {
    m.insert("viewed".into(), i.viewed.into());
    m.insert("wishlisted".into(), i.wishlisted.into());
    m
}

/// Properties of "Price Dropped" for one profile, if it should get one.
pub fn profile_price_dropped(
    catalog: &Catalog,
    state: &CommerceState,
    drop: &PriceDrop,
    rule: &DropRule,
) -> Option<Map<String, Value>> {
    let i = interest(catalog, state, drop.product.as_str())?;
    let mut m = price_dropped(catalog, drop)?;
    if let Some(seen) = i.seen_price {
        let now = catalog.price(drop.product.as_str(), drop.sku.as_deref())?;
        let below = below_seen(seen, None, &now, rule)?;
        m.insert("seen_price".into(), amount(below.currency, below.seen));
    }
    Some(with_interest(m, &i))
}

/// Properties of "Back In Stock" or "Low Stock" for one profile (whose
/// home shop is `home_shop`), one per qualifying signal of the change.
pub fn profile_stock_events(
    catalog: &Catalog,
    book: &StockBook,
    state: &CommerceState,
    change: &StockChange,
    home_shop: Option<&str>,
) -> Vec<(&'static str, Map<String, Value>)> {
    let sku = book.sku_id(change.sku);
    let Some(product) = catalog.owner_of(sku) else {
        return Vec::new();
    };
    let Some(i) = interest(catalog, state, product.as_str()) else {
        return Vec::new();
    };
    let at_home = !change.online && home_shop == Some(book.location_id(change.location));
    change
        .signals
        .iter()
        .filter(|&(_, scope)| scope == Scope::Online || (scope == Scope::Location && at_home))
        .filter_map(|(signal, scope)| {
            let name = stock_event_name(signal)?;
            Some((
                name,
                with_interest(stock_properties(catalog, book, change, signal, scope)?, &i),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests;
