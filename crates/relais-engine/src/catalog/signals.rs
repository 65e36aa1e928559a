//! What a write means, product by product: price drops and stock
//! transitions as the API returns them (`signals`). Each names the event a
//! profile interested in the product gets for it (see [`super::fanout`]);
//! out of stock has none (it is a signal for dashboards and replenishment,
//! not a message to customers).

use relais_catalog::events::{price_dropped, product_properties, stock_event_name, stock_properties};
use relais_catalog::price::PriceDrop;
use relais_catalog::stock::{Scope, Signal, StockBook, StockChange};
use relais_catalog::Catalog;
use serde::Serialize;
use serde_json::{Map, Value};

/// Most signals one response lists (all are counted in `signals_total`).
pub const MAX_SIGNALS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SignalView {
    /// `price_dropped`, `back_in_stock`, `low_stock` or `out_of_stock`.
    pub signal: &'static str,
    /// Stock: `location` (the store of the change), `online` (all online
    /// locations together) or `anywhere` (any location at all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'static str>,
    /// The event interested profiles get: `Price Dropped`, `Back In Stock`,
    /// `Low Stock`; none for out of stock.
    pub event: Option<&'static str>,
    /// None for stock of a SKU that is not in the catalog.
    pub product_id: Option<String>,
    pub sku: Option<String>,
    /// The location of a stock change (`location` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// Units (stock; absent for a first level) or price (a decimal) before…
    pub before: Value,
    /// …and after.
    pub after: Value,
    /// The product-level event's properties (Segment product fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
}

fn scope_name(s: Scope) -> &'static str {
    match s {
        Scope::Location => "location",
        Scope::Online => "online",
        Scope::Anywhere => "anywhere",
    }
}

fn signal_name(s: Signal) -> &'static str {
    match s {
        Signal::BackInStock => "back_in_stock",
        Signal::LowStock => "low_stock",
        Signal::OutOfStock => "out_of_stock",
    }
}

pub fn price(catalog: &Catalog, d: &PriceDrop) -> SignalView {
    SignalView {
        signal: "price_dropped",
        scope: None,
        event: Some(relais_catalog::events::PRICE_DROPPED),
        product_id: Some(d.product.to_string()),
        sku: d.sku.clone(),
        store_id: None,
        before: Value::from(d.currency.to_f64(d.before)),
        after: Value::from(d.currency.to_f64(d.after)),
        properties: price_dropped(catalog, d),
    }
}

/// One view per (signal, scope) of a change.
pub fn stock(catalog: &Catalog, book: &StockBook, c: &StockChange) -> Vec<SignalView> {
    let sku = book.sku_id(c.sku);
    let product = catalog.owner_of(sku);
    c.signals
        .iter()
        .map(|(signal, scope)| {
            // Out of stock has no event, but its product fields still help.
            let properties = stock_properties(catalog, book, c, signal, scope).or_else(|| {
                let p = catalog.product(product?.as_str())?;
                Some(product_properties(p, Some(sku)))
            });
            let (before, after) = match scope {
                Scope::Location => (Value::from(c.before), Value::from(c.after)),
                // Totals are not kept per change: the scope's total now.
                Scope::Online | Scope::Anywhere => (Value::Null, Value::Null),
            };
            SignalView {
                signal: signal_name(signal),
                scope: Some(scope_name(scope)),
                event: stock_event_name(signal),
                product_id: product.map(|p| p.to_string()),
                sku: Some(sku.to_owned()),
                store_id: (scope == Scope::Location).then(|| book.location_id(c.location).to_owned()),
                before,
                after,
                properties,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_catalog::product::CatalogItem;
    use relais_catalog::stock::Mode;

    #[test]
    fn stock_and_price_signals_name_their_product_and_event() {
        let mut catalog = Catalog::default();
        let rows = relais_catalog::import::catalog_ndjson(
            &br#"{"id":"p1","name":"Runner","price":"89.99","currency":"EUR"}"#[..],
        );
        for r in rows {
            catalog.upsert(r.unwrap()).unwrap();
        }
        let mut book = StockBook::default();
        book.apply("paris", "p1", 5, Mode::Set).unwrap();
        let out = book.apply("paris", "p1", 0, Mode::Set).unwrap().unwrap();
        let views = stock(&catalog, &book, &out);
        let got: Vec<(&str, Option<&str>, Option<&str>)> =
            views.iter().map(|v| (v.signal, v.scope, v.event)).collect();
        assert_eq!(
            got,
            [
                ("out_of_stock", Some("location"), None),
                ("out_of_stock", Some("anywhere"), None)
            ]
        );
        assert_eq!(
            (&views[0].before, &views[0].after),
            (&Value::from(5), &Value::from(0))
        );
        assert_eq!(views[0].store_id.as_deref(), Some("paris"));
        assert_eq!(views[0].properties.as_ref().unwrap()["name"], "Runner");
        let back = book.apply("paris", "p1", 2, Mode::Delta).unwrap().unwrap();
        let views = stock(&catalog, &book, &back);
        assert_eq!(views[0].event, Some("Back In Stock"));
        assert_eq!(views[0].properties.as_ref().unwrap()["quantity"], 2);

        let cheaper = relais_catalog::import::catalog_ndjson(
            &br#"{"id":"p1","name":"Runner","price":"89.99","sale_price":"69.90","currency":"EUR"}"#[..],
        )
        .next()
        .unwrap()
        .unwrap();
        let CatalogItem::Product(_) = &cheaper else {
            panic!()
        };
        let drop = catalog.upsert(cheaper).unwrap().price_drop.unwrap();
        let v = price(&catalog, &drop);
        assert_eq!((v.before.as_f64(), v.after.as_f64()), (Some(89.99), Some(69.9)));
        assert_eq!(v.properties.unwrap()["previous_price"], 89.99);
    }
}
