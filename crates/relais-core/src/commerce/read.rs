//! Reading e-commerce properties defensively.
//!
//! Properties come from browsers, apps, tills and CSV files: numbers arrive
//! as strings, ids as numbers, objects as strings. Whatever cannot be read
//! is treated as absent; nothing here fails or panics.

use super::Product;
use serde_json::{Map, Value};

/// Longest text kept from a property (ids, names, URLs).
const MAX_TEXT: usize = 1024;
/// Most lines read from one `products` array.
pub(super) const MAX_LINES: usize = 100;
/// Largest quantity of one line (bounds the sums).
pub(super) const MAX_QUANTITY: u32 = 1_000_000;

/// A non-empty string, or a number written as text (`product_id: 42`).
pub(super) fn text(v: Option<&Value>) -> Option<String> {
    let mut s = match v? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if s.is_empty() {
        return None;
    }
    if s.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    Some(s)
}

/// Largest amount read: far above any real price or order, and small enough
/// that sums stay finite (JSON cannot hold infinity; the profile must load).
const MAX_AMOUNT: f64 = 1e15;

/// A finite, non-negative amount: a number or a numeric string (`"19.90"`).
pub(super) fn amount(v: Option<&Value>) -> Option<f64> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (n.is_finite() && (0.0..=MAX_AMOUNT).contains(&n)).then_some(n)
}

/// A positive quantity; zero, negative or unreadable quantities are absent
/// (the caller's default applies).
pub(super) fn quantity(v: Option<&Value>) -> Option<u32> {
    let q = amount(v)?.round();
    (q >= 1.0).then(|| q.min(f64::from(MAX_QUANTITY)) as u32)
}

/// The product fields of one object (`properties` of `Product Added`, or a
/// line of `products`). `id` is the v1 spelling of `product_id`.
pub(super) fn product(o: &Map<String, Value>) -> Product {
    Product {
        product_id: text(o.get("product_id")).or_else(|| text(o.get("id"))),
        sku: text(o.get("sku")),
        name: text(o.get("name")),
        category: text(o.get("category")),
        brand: text(o.get("brand")),
        variant: text(o.get("variant")),
        url: text(o.get("url")),
        image_url: text(o.get("image_url")),
        price: amount(o.get("price")),
    }
}

/// The readable lines of `products`: objects with a product identity, with
/// their quantity if given.
pub(super) fn products(props: &Map<String, Value>) -> Vec<(Product, Option<u32>)> {
    let Some(lines) = props.get("products").and_then(Value::as_array) else {
        return Vec::new();
    };
    lines
        .iter()
        .filter_map(Value::as_object)
        .map(|o| (product(o), quantity(o.get("quantity"))))
        .filter(|(p, _)| p.key().is_some())
        .take(MAX_LINES)
        .collect()
}

/// Rounds away float noise (`19.99 * 3 = 59.970000000000006`) without
/// losing any precision a currency has. `+ 0.0` turns the `-0.0` of an
/// empty sum into `0.0` (else stored and shown as `-0.0`).
pub(super) fn money(x: f64) -> f64 {
    (x * 1e6).round() / 1e6 + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_numbers_and_numeric_strings_and_refuses_the_rest() {
        assert_eq!(amount(Some(&json!(12.5))), Some(12.5));
        assert_eq!(amount(Some(&json!(" 19.90 "))), Some(19.9));
        assert_eq!(amount(Some(&json!("NaN"))), None);
        assert_eq!(amount(Some(&json!("inf"))), None);
        assert_eq!(amount(Some(&json!("12,50 €"))), None);
        assert_eq!(amount(Some(&json!(-3))), None);
        assert_eq!(amount(Some(&json!(1e300))), None);
        assert_eq!(amount(Some(&json!({"value": 3}))), None);
        assert_eq!(quantity(Some(&json!("2"))), Some(2));
        assert_eq!(quantity(Some(&json!(-2))), None);
        assert_eq!(quantity(Some(&json!(0))), None);
        assert_eq!(quantity(Some(&json!(1e9))), Some(MAX_QUANTITY));
        assert_eq!(text(Some(&json!(42))), Some("42".into()));
        assert_eq!(text(Some(&json!("  "))), None);
        let long = "é".repeat(MAX_TEXT);
        assert!(text(Some(&json!(long))).unwrap().len() <= MAX_TEXT);
        assert_eq!(money(19.99 * 3.0), 59.97);
        let empty: f64 = std::iter::empty::<f64>().sum();
        assert!(money(empty).is_sign_positive());
    }
}
