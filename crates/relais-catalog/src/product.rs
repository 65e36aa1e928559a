//! Products and their variants: what the catalog holds about each.
//!
//! A *product* is what a customer looks at (a sneaker model); a *variant* is
//! what a shop stocks and a till scans (that sneaker in size 42, white). A
//! product without variants is its own stock-keeping unit, under its `sku`,
//! else its `id` ([`Product::own_sku`]). Both are validated on the way in
//! (JSON through serde, CSV through [`crate::import`]): see `wire.rs`.

#[cfg(test)]
mod tests;
mod wire;

pub(crate) use wire::{read_item, ItemWire};

use crate::currency::Currency;
use crate::ids::{check_id, ProductId};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Whether a product (or a variant) can be bought online, as the catalog
/// says. Stock levels per shop are kept apart, in [`crate::stock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    #[default]
    InStock,
    OutOfStock,
    Preorder,
    Discontinued,
}

impl Availability {
    pub const ALL: [Availability; 4] = [
        Availability::InStock,
        Availability::OutOfStock,
        Availability::Preorder,
        Availability::Discontinued,
    ];

    /// Reads `in_stock`, `in stock`, `In-Stock` (feeds spell it every way).
    pub fn parse(s: &str) -> Result<Availability, String> {
        let norm: String = s
            .trim()
            .chars()
            .map(|c| {
                if c == ' ' || c == '-' {
                    '_'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        Availability::ALL
            .into_iter()
            .find(|a| a.as_str() == norm)
            .ok_or_else(|| format!("'{s}' is not one of in_stock, out_of_stock, preorder, discontinued"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Availability::InStock => "in_stock",
            Availability::OutOfStock => "out_of_stock",
            Availability::Preorder => "preorder",
            Availability::Discontinued => "discontinued",
        }
    }

    /// In stock or open for pre-order: an order can be placed.
    pub fn can_order(self) -> bool {
        matches!(self, Availability::InStock | Availability::Preorder)
    }
}

impl<'de> Deserialize<'de> for Availability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Availability::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// One catalog product. Amounts are integers of `currency`'s minor unit
/// (see [`crate::currency`]); `sale_price`, when set, is what the customer
/// pays and is never above `price`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ItemWire", into = "ItemWire")]
pub struct Product {
    pub id: ProductId,
    /// The product's own SKU; with variants, usually the style code.
    pub sku: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// From the broadest: `["Women", "Shoes", "Sneakers"]`.
    pub category: Vec<String>,
    pub brand: Option<String>,
    pub currency: Currency,
    pub price: i64,
    pub sale_price: Option<i64>,
    pub image_url: Option<String>,
    pub url: Option<String>,
    pub availability: Availability,
    /// Products declared to go with this one (the case for the phone),
    /// most relevant first; never the product itself.
    pub complements: Vec<ProductId>,
    pub attributes: BTreeMap<String, Value>,
}

impl Product {
    /// The stock-keeping unit of a product without variants.
    pub fn own_sku(&self) -> &str {
        self.sku.as_deref().unwrap_or(self.id.as_str())
    }

    /// `Women > Shoes > Sneakers`, the form of the CSV column.
    pub fn category_path(&self) -> String {
        self.category.join(" > ")
    }

    /// What the customer pays: the sale price if set, else the price.
    pub fn effective_price(&self) -> i64 {
        self.sale_price.unwrap_or(self.price)
    }
}

/// One variant of a product: a SKU with its options (`size`, `colour`) and
/// what differs from the product. A price set here replaces the product's
/// price and sale price; a sale price alone applies to the product's price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ItemWire", into = "ItemWire")]
pub struct Variant {
    pub sku: String,
    /// Written `parent_id` in files and JSON (the Google feed convention).
    pub product_id: ProductId,
    pub name: Option<String>,
    /// Required with `price` or `sale_price`; when set, must be the product's.
    pub currency: Option<Currency>,
    pub price: Option<i64>,
    pub sale_price: Option<i64>,
    /// `None`: the product's.
    pub availability: Option<Availability>,
    pub image_url: Option<String>,
    pub url: Option<String>,
    pub attributes: BTreeMap<String, Value>,
}

/// A row of a catalog file: a variant when it names a `parent_id`.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogItem {
    Product(Product),
    Variant(Variant),
}
