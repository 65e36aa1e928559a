//! Commerce conditions: questions about the catalog, the shops and their
//! stock for one customer ("the product they looked at is in stock at a
//! shop within 20 km", "its price is now below what they saw").
//!
//! Their truth changes with stock and prices, which are not the profile's
//! events, so a live segment cannot keep them: they are for journeys
//! (entry, exit and `condition` steps), which ask at a moment. This module
//! holds their grammar; the engine answers them from the catalog through
//! [`super::Facts::commerce`].

use super::parse::{check_keys, err, join};
use super::ConditionError;
use serde_json::{json, Map, Value};

/// Largest radius a condition may ask for, in km (half the equator).
pub const MAX_WITHIN_KM: f64 = 20_000.0;

/// One commerce question about one product (or any of several).
#[derive(Debug, Clone, PartialEq)]
pub struct CommerceCond {
    pub test: CommerceTest,
    pub product: ProductRef,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommerceTest {
    /// A shop within `within_km` of the customer (the engine's default
    /// radius when `None`) has at least one unit.
    InStockNearby { within_km: Option<f64> },
    /// The customer's home shop has at least one unit.
    InStockAtHomeStore,
    /// Can be ordered online now.
    AvailableOnline,
    /// Online, or in stock at any shop.
    Available,
    /// Its price is now below the price the customer last saw (their
    /// latest view's, else their wishlist's) by the workspace's drop rule.
    PriceBelowSeen,
}

impl CommerceTest {
    pub const NAMES: [&'static str; 5] = [
        "in_stock_nearby",
        "in_stock_at_home_store",
        "available_online",
        "available",
        "price_below_seen",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            CommerceTest::InStockNearby { .. } => "in_stock_nearby",
            CommerceTest::InStockAtHomeStore => "in_stock_at_home_store",
            CommerceTest::AvailableOnline => "available_online",
            CommerceTest::Available => "available",
            CommerceTest::PriceBelowSeen => "price_below_seen",
        }
    }
}

/// Which product: one by id, or those of a part of the customer's story
/// (the condition holds when it holds for any of them).
#[derive(Debug, Clone, PartialEq)]
pub enum ProductRef {
    /// A catalog product id (or a SKU, which names its product).
    Id(String),
    /// The trigger's product: its `product_id` / `sku`, a `product`
    /// property, or each of its `products`.
    Trigger,
    /// The most recently viewed product.
    LastViewed,
    /// Any recently viewed product.
    Viewed,
    /// Any product on the wishlist.
    Wishlist,
    /// Any product in the cart.
    Cart,
}

impl ProductRef {
    pub const SOURCES: [&'static str; 5] = ["trigger", "last_viewed", "viewed", "wishlist", "cart"];

    fn source(&self) -> Option<&'static str> {
        Some(match self {
            ProductRef::Id(_) => return None,
            ProductRef::Trigger => "trigger",
            ProductRef::LastViewed => "last_viewed",
            ProductRef::Viewed => "viewed",
            ProductRef::Wishlist => "wishlist",
            ProductRef::Cart => "cart",
        })
    }
}

/// `{"commerce": "<test>", "product": "<id>" | {"from": "<source>"}, "within_km": N}`.
pub(crate) fn parse(obj: &Map<String, Value>, path: &str) -> Result<CommerceCond, ConditionError> {
    let at = join(path, "commerce");
    let name = obj.get("commerce").and_then(Value::as_str).unwrap_or_default();
    let nearby = name == "in_stock_nearby";
    let allowed: &[&str] = if nearby {
        &["commerce", "product", "within_km"]
    } else {
        &["commerce", "product"]
    };
    if !CommerceTest::NAMES.contains(&name) {
        return err(&at, format!("must be one of {}", CommerceTest::NAMES.join(", ")));
    }
    check_keys(obj, path, allowed)?;
    let test = match name {
        "in_stock_nearby" => CommerceTest::InStockNearby {
            within_km: within_km(obj.get("within_km"), &join(path, "within_km"))?,
        },
        "in_stock_at_home_store" => CommerceTest::InStockAtHomeStore,
        "available_online" => CommerceTest::AvailableOnline,
        "available" => CommerceTest::Available,
        _ => CommerceTest::PriceBelowSeen,
    };
    let product = product(obj.get("product"), &join(path, "product"))?;
    Ok(CommerceCond { test, product })
}

fn within_km(v: Option<&Value>, at: &str) -> Result<Option<f64>, ConditionError> {
    let Some(v) = v else { return Ok(None) };
    match v.as_f64() {
        Some(km) if km > 0.0 && km <= MAX_WITHIN_KM => Ok(Some(km)),
        _ => err(at, format!("must be a number of km in (0, {MAX_WITHIN_KM}]")),
    }
}

fn product(v: Option<&Value>, at: &str) -> Result<ProductRef, ConditionError> {
    let want = format!(
        "a product id, or {{\"from\": one of {}}}",
        ProductRef::SOURCES.join(", ")
    );
    match v {
        None => err(at, format!("missing: {want}")),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => {
            Ok(ProductRef::Id(s.trim().to_owned()))
        }
        Some(Value::Object(o)) => {
            check_keys(o, at, &["from"])?;
            Ok(match o.get("from").and_then(Value::as_str) {
                Some("trigger") => ProductRef::Trigger,
                Some("last_viewed") => ProductRef::LastViewed,
                Some("viewed") => ProductRef::Viewed,
                Some("wishlist") => ProductRef::Wishlist,
                Some("cart") => ProductRef::Cart,
                _ => {
                    return err(
                        &join(at, "from"),
                        format!("must be one of {}", ProductRef::SOURCES.join(", ")),
                    )
                }
            })
        }
        Some(_) => err(at, format!("expected {want}")),
    }
}

/// The canonical JSON form, which [`parse`] reads back.
pub(crate) fn to_json(c: &CommerceCond) -> Value {
    let product = match &c.product {
        ProductRef::Id(id) => Value::from(id.as_str()),
        other => json!({ "from": other.source() }),
    };
    let mut m = Map::new();
    m.insert("commerce".into(), c.test.name().into());
    m.insert("product".into(), product);
    if let CommerceTest::InStockNearby { within_km: Some(km) } = c.test {
        m.insert("within_km".into(), super::num::num_value(km));
    }
    Value::Object(m)
}
