//! The product fields Relais keeps and the identity of a product.

use serde::{Deserialize, Serialize};

/// The Segment product fields Relais keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Product {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
}

impl Product {
    /// Identity of a product: `product_id`, else `sku`, else `name`.
    pub fn key(&self) -> Option<String> {
        if let Some(id) = &self.product_id {
            Some(format!("id:{id}"))
        } else if let Some(sku) = &self.sku {
            Some(format!("sku:{sku}"))
        } else {
            self.name.as_ref().map(|n| format!("name:{n}"))
        }
    }

    /// Takes the fields `other` gives: all of them if it is newer, else only
    /// those still unknown here.
    pub(super) fn combine(&mut self, other: Product, other_is_newer: bool) {
        fn pick<T>(mine: &mut Option<T>, theirs: Option<T>, prefer: bool) {
            if theirs.is_some() && (prefer || mine.is_none()) {
                *mine = theirs;
            }
        }
        let p = other_is_newer;
        pick(&mut self.product_id, other.product_id, p);
        pick(&mut self.sku, other.sku, p);
        pick(&mut self.name, other.name, p);
        pick(&mut self.category, other.category, p);
        pick(&mut self.brand, other.brand, p);
        pick(&mut self.variant, other.variant, p);
        pick(&mut self.url, other.url, p);
        pick(&mut self.image_url, other.image_url, p);
        pick(&mut self.price, other.price, p);
    }
}
