//! Plain data of the commerce context (catalog items, shops, stock levels),
//! exchanged with a [`crate::CatalogStore`]. The store keeps documents and
//! numbers; validation and the meaning of a change (price drops, stock
//! transitions) belong to `relais-catalog` and the engine.

use crate::StoreError;
use relais_core::WorkspaceId;
use serde::{Deserialize, Serialize};

/// What a catalog document describes. Products and variants have separate
/// id spaces: a variant is keyed by its SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogKind {
    Product,
    Variant,
}

impl CatalogKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogKind::Product => "product",
            CatalogKind::Variant => "variant",
        }
    }
    pub fn parse(s: &str) -> Option<CatalogKind> {
        match s {
            "product" => Some(CatalogKind::Product),
            "variant" => Some(CatalogKind::Variant),
            _ => None,
        }
    }
}

/// One product or variant as stored: its JSON document under
/// `(workspace, kind, id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItemRecord {
    pub kind: CatalogKind,
    /// The product id, or the variant's SKU.
    pub id: String,
    /// The item as JSON (the import format's object).
    pub doc: String,
    pub updated_at: i64,
}

/// One physical shop as stored: its JSON document under `(workspace, id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopRecord {
    pub id: String,
    pub doc: String,
    pub updated_at: i64,
}

/// The units of a SKU at a location, an absolute level (deltas are applied
/// by the engine before they reach the store). A location is a shop id or
/// an online location (`online` by default), as `store_id` in stock files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub location_id: String,
    pub sku: String,
    /// May be negative: shops sell what the system has not received yet.
    pub quantity: i32,
    pub updated_at: i64,
}

/// The revision a write expects to follow. Every write of a workspace's
/// commerce context (items, shops, stock) moves its revision on by one; a
/// write whose `expect` is not the current revision is refused with
/// [`crate::StoreError::Conflict`], so a writer whose in-memory state is
/// stale (another node, the CLI) reloads instead of overwriting.
pub type CatalogRevision = i64;

/// The error of a write whose expected revision is not the current one.
pub(crate) fn stale_revision(
    ws: WorkspaceId,
    expect: CatalogRevision,
    current: CatalogRevision,
) -> StoreError {
    StoreError::Conflict(format!(
        "the commerce context of workspace {} is at revision {current}, not {expect}: reload it",
        ws.0
    ))
}
