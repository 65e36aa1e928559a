//! The wire form of a catalog item (JSON object, NDJSON line, or a CSV row
//! turned into one) and its validation into a [`Product`] or a [`Variant`].
//!
//! One flat shape serves both, because feeds mix them: a row that names a
//! `parent_id` is a variant. Amounts arrive as numbers (`19.99`) or decimal
//! strings (`"19.99"`) and are read exactly against the currency; every
//! failure names its field.

use super::{check_id, Availability, CatalogItem, Product, ProductId, Variant};
use crate::currency::Currency;
use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

const MAX_NAME: usize = 1_000;
const MAX_DESCRIPTION: usize = 20_000;
const MAX_URL: usize = 2_048;
const MAX_CATEGORY_DEPTH: usize = 16;
const MAX_ATTRIBUTE_KEY: usize = 128;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ItemWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `"Women > Shoes"` or `["Women", "Shoes"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sale_price: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub complements: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Value>,
}

/// A product, or a variant when `parent_id` is set.
pub(crate) fn read_item(w: ItemWire) -> Result<CatalogItem, FieldError> {
    if w.parent_id.is_some() {
        read_variant(w).map(CatalogItem::Variant)
    } else {
        read_product(w).map(CatalogItem::Product)
    }
}

fn read_product(w: ItemWire) -> Result<Product, FieldError> {
    let id = ProductId::new(w.id.ok_or_else(|| FieldError::new("id", "is required"))?)
        .map_err(|r| FieldError::new("id", r))?;
    if w.parent_id.is_some() {
        return Err(FieldError::new(
            "parent_id",
            "is set: this is a variant, not a product",
        ));
    }
    let sku = w
        .sku
        .map(|s| check_id(&s).map(|()| s))
        .transpose()
        .map_err(|r| FieldError::new("sku", r))?;
    let name = text("name", w.name, MAX_NAME)?.ok_or_else(|| FieldError::new("name", "is required"))?;
    let description = text("description", w.description, MAX_DESCRIPTION)?;
    let category = category(w.category)?;
    let brand = text("brand", w.brand, MAX_NAME)?;
    let currency = currency(w.currency)?;
    let price = amount("price", w.price, currency)?.ok_or_else(|| FieldError::new("price", "is required"))?;
    let sale_price = amount("sale_price", w.sale_price, currency)?;
    let currency = currency.ok_or_else(|| FieldError::new("currency", "is required"))?;
    check_sale(currency, Some(price), sale_price)?;
    let mut complements: Vec<ProductId> = Vec::with_capacity(w.complements.len());
    for (i, c) in w.complements.into_iter().enumerate() {
        let field = || format!("complements[{i}]");
        let c = ProductId::new(c).map_err(|r| FieldError::new(field(), r))?;
        if c == id {
            return Err(FieldError::new(field(), "is the product itself"));
        }
        if !complements.contains(&c) {
            complements.push(c);
        }
    }
    Ok(Product {
        id,
        sku,
        name,
        description,
        category,
        brand,
        currency,
        price,
        sale_price,
        image_url: url("image_url", w.image_url)?,
        url: url("url", w.url)?,
        availability: availability(w.availability)?.unwrap_or_default(),
        complements,
        attributes: attributes(w.attributes)?,
    })
}

fn read_variant(w: ItemWire) -> Result<Variant, FieldError> {
    let parent = w
        .parent_id
        .ok_or_else(|| FieldError::new("parent_id", "is required"))?;
    let product_id = ProductId::new(parent).map_err(|r| FieldError::new("parent_id", r))?;
    let product_only = [
        ("description", w.description.is_some()),
        ("category", w.category.is_some()),
        ("brand", w.brand.is_some()),
        ("complements", !w.complements.is_empty()),
    ];
    if let Some((field, _)) = product_only.iter().find(|(_, set)| *set) {
        return Err(FieldError::new(
            *field,
            format!("is a product field: set it on product '{product_id}', not on its variant"),
        ));
    }
    // The Google feed convention: each variant row has its own id, the SKU.
    let sku = w
        .sku
        .or(w.id)
        .ok_or_else(|| FieldError::new("sku", "is required for a variant (or its id)"))?;
    check_id(&sku).map_err(|r| FieldError::new("sku", r))?;
    let currency = currency(w.currency)?;
    let price = amount("price", w.price, currency)?;
    let sale_price = amount("sale_price", w.sale_price, currency)?;
    if let Some(c) = currency {
        check_sale(c, price, sale_price)?;
    }
    Ok(Variant {
        sku,
        product_id,
        name: text("name", w.name, MAX_NAME)?,
        currency,
        price,
        sale_price,
        availability: availability(w.availability)?,
        image_url: url("image_url", w.image_url)?,
        url: url("url", w.url)?,
        attributes: attributes(w.attributes)?,
    })
}

/// Trimmed text; empty means absent.
fn text(field: &str, v: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    let Some(s) = v else { return Ok(None) };
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max {
        return Err(FieldError::new(field, format!("is longer than {max} characters")));
    }
    Ok(Some(s.to_owned()))
}

fn currency(v: Option<String>) -> Result<Option<Currency>, FieldError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(code) => Currency::parse(code)
            .map(Some)
            .map_err(|r| FieldError::new("currency", r)),
    }
}

fn amount(field: &str, v: Option<Value>, currency: Option<Currency>) -> Result<Option<i64>, FieldError> {
    let text = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s,
        // A JSON number prints back as written (`19.99`, `20`); `1e-7` is refused below.
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(FieldError::new(field, "must be a number or a decimal string")),
    };
    let currency =
        currency.ok_or_else(|| FieldError::new("currency", format!("is required with {field}")))?;
    currency
        .parse_amount(&text)
        .map(Some)
        .map_err(|r| FieldError::new(field, r))
}

fn check_sale(c: Currency, price: Option<i64>, sale: Option<i64>) -> Result<(), FieldError> {
    match (price, sale) {
        (Some(p), Some(s)) if s > p => Err(FieldError::new(
            "sale_price",
            format!("{} is above price {}", c.format_amount(s), c.format_amount(p)),
        )),
        _ => Ok(()),
    }
}

fn category(v: Option<Value>) -> Result<Vec<String>, FieldError> {
    let levels: Vec<String> = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(path)) if path.trim().is_empty() => return Ok(Vec::new()),
        Some(Value::String(path)) => {
            let levels: Vec<String> = path.split('>').map(|l| l.trim().to_owned()).collect();
            if levels.iter().any(String::is_empty) {
                return Err(FieldError::new(
                    "category",
                    format!("'{path}' has an empty level"),
                ));
            }
            levels
        }
        Some(Value::Array(items)) => {
            let mut levels = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let field = || format!("category[{i}]");
                let Value::String(s) = item else {
                    return Err(FieldError::new(field(), "must be a string"));
                };
                let s = s.trim();
                if s.is_empty() {
                    return Err(FieldError::new(field(), "is empty"));
                }
                if s.contains('>') {
                    return Err(FieldError::new(
                        field(),
                        format!("'{s}' contains '>' (the level separator)"),
                    ));
                }
                levels.push(s.to_owned());
            }
            levels
        }
        Some(_) => {
            return Err(FieldError::new(
                "category",
                "must be a path string or an array of levels",
            ))
        }
    };
    if levels.len() > MAX_CATEGORY_DEPTH {
        return Err(FieldError::new(
            "category",
            format!("has {} levels (at most {MAX_CATEGORY_DEPTH})", levels.len()),
        ));
    }
    Ok(levels)
}

/// An absolute http(s) URL with a host; anything else would make a broken
/// link in a message.
fn url(field: &str, v: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(s) = v else { return Ok(None) };
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() > MAX_URL {
        return Err(FieldError::new(field, format!("is longer than {MAX_URL} bytes")));
    }
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| FieldError::new(field, format!("'{s}' is not an http(s) URL")))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err(FieldError::new(field, format!("'{s}' has no host")));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(
            field,
            format!("'{s}' contains spaces or control characters"),
        ));
    }
    Ok(Some(s.to_owned()))
}

fn availability(v: Option<String>) -> Result<Option<Availability>, FieldError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => Availability::parse(s)
            .map(Some)
            .map_err(|r| FieldError::new("availability", r)),
    }
}

fn attributes(attrs: BTreeMap<String, Value>) -> Result<BTreeMap<String, Value>, FieldError> {
    for key in attrs.keys() {
        let bad = if key.is_empty() {
            Some("an empty name".to_owned())
        } else if key.len() > MAX_ATTRIBUTE_KEY {
            Some(format!("a name longer than {MAX_ATTRIBUTE_KEY} bytes"))
        } else if key.chars().any(char::is_control) {
            Some("a name with a control character".to_owned())
        } else {
            None
        };
        if let Some(bad) = bad {
            return Err(FieldError::new("attributes", format!("'{key}' is {bad}")));
        }
    }
    Ok(attrs)
}

/// An amount as a JSON number: integral for zero-decimal currencies, else
/// the float that prints as the exact decimal (see [`Currency::to_f64`]).
fn number(c: Currency, minor: i64) -> Value {
    if c.exponent() == 0 {
        Value::from(minor)
    } else {
        serde_json::Number::from_f64(c.to_f64(minor)).map_or(Value::Null, Value::Number)
    }
}

impl TryFrom<ItemWire> for Product {
    type Error = FieldError;
    fn try_from(w: ItemWire) -> Result<Self, FieldError> {
        read_product(w)
    }
}

impl TryFrom<ItemWire> for Variant {
    type Error = FieldError;
    fn try_from(w: ItemWire) -> Result<Self, FieldError> {
        if w.parent_id.is_none() {
            return Err(FieldError::new("parent_id", "is required for a variant"));
        }
        read_variant(w)
    }
}

impl From<Product> for ItemWire {
    fn from(p: Product) -> ItemWire {
        let c = p.currency;
        ItemWire {
            id: Some(p.id.into()),
            parent_id: None,
            sku: p.sku,
            name: Some(p.name),
            description: p.description,
            category: (!p.category.is_empty()).then(|| Value::from(p.category)),
            brand: p.brand,
            price: Some(number(c, p.price)),
            sale_price: p.sale_price.map(|s| number(c, s)),
            currency: Some(c.code().to_owned()),
            image_url: p.image_url,
            url: p.url,
            availability: Some(p.availability.as_str().to_owned()),
            complements: p.complements.into_iter().map(String::from).collect(),
            attributes: p.attributes,
        }
    }
}

impl From<Variant> for ItemWire {
    fn from(v: Variant) -> ItemWire {
        let amount = |m: Option<i64>| Some(number(v.currency?, m?));
        ItemWire {
            id: None,
            parent_id: Some(v.product_id.to_string()),
            sku: Some(v.sku.clone()),
            name: v.name.clone(),
            price: amount(v.price),
            sale_price: amount(v.sale_price),
            currency: v.currency.map(|c| c.code().to_owned()),
            availability: v.availability.map(|a| a.as_str().to_owned()),
            image_url: v.image_url.clone(),
            url: v.url.clone(),
            attributes: v.attributes,
            ..ItemWire::default()
        }
    }
}
