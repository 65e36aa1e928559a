//! Stock levels per location and SKU, updated cheaply, and the transitions
//! that make "Back In Stock", "Low Stock" and "Out Of Stock" signals.
//!
//! A *location* is a physical shop or an online location (the e-commerce
//! warehouse; by default the location id `online`, see [`StockConfig`]).
//! Shops push deltas often, so an update is two hash lookups of interned
//! ids and a binary search in the SKU's short list of locations; ids become
//! `u32` keys once, and a SKU's levels are a sorted `Vec` (8 bytes a
//! location), so 1,000 shops × 100,000 SKUs at 20 % coverage is ~160 MB.
//!
//! # Transitions, precisely
//!
//! The first level ever recorded for a (location, SKU) is a baseline, not a
//! transition: loading the initial stock file announces nothing. After that:
//! - at a location: *back in stock* when the level goes from ≤ 0 to > 0;
//!   *out of stock* from > 0 to ≤ 0; *low stock* from above the SKU's
//!   threshold to within (0, threshold].
//! - online: the same on the sum of the positive levels of the online
//!   locations (back in stock requires an earlier online record for the SKU).
//! - anywhere: *back in stock* when no location had a unit and one now has
//!   (online or any shop); *out of stock* the reverse. Requires an earlier
//!   record of the SKU anywhere.
//!
//! Levels may go negative (shops sell what the system has not received
//! yet); a negative level counts as no stock.

mod book;
#[cfg(test)]
mod tests;

pub use book::StockBook;

use crate::error::FieldError;
use serde::{Deserialize, Serialize};

/// How a quantity applies: replace the level, or add to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Set,
    Delta,
}

impl Mode {
    pub fn parse(s: &str) -> Result<Mode, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "set" => Ok(Mode::Set),
            "delta" => Ok(Mode::Delta),
            _ => Err(format!("'{s}' is not one of set, delta")),
        }
    }
}

/// One line of a stock file or API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockUpdate {
    /// `store_id` in files: a shop id, or an online location.
    pub location: String,
    pub sku: String,
    /// Within `i32` (checked when read): a level beyond two billion units
    /// is a data error, and keeping levels in 4 bytes halves the book.
    pub quantity: i32,
    pub mode: Mode,
}

impl StockUpdate {
    /// Checks a quantity read as a wide integer.
    pub fn check_quantity(q: i64, mode: Mode) -> Result<i32, FieldError> {
        let q = i32::try_from(q).map_err(|_| FieldError::new("quantity", format!("{q} is out of range")))?;
        if mode == Mode::Set && q < 0 {
            return Err(FieldError::new(
                "quantity",
                format!("{q} is negative (a level to set; use mode=delta to remove units)"),
            ));
        }
        Ok(q)
    }
}

#[derive(Debug, Clone)]
pub struct StockConfig {
    /// Threshold for SKUs without one of their own: "low" is 1..=threshold.
    pub low_stock: i32,
    /// Location ids that are online fulfilment, not shops.
    pub online_locations: Vec<String>,
}

impl Default for StockConfig {
    fn default() -> StockConfig {
        StockConfig {
            low_stock: 3,
            online_locations: vec!["online".to_owned()],
        }
    }
}

/// A location interned by the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocationKey(pub(crate) u32);

/// A SKU interned by the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SkuKey(pub(crate) u32);

/// Where a signal applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The location of the change.
    Location,
    /// All online locations together.
    Online,
    /// Any location, online or shop.
    Anywhere,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    BackInStock,
    LowStock,
    OutOfStock,
}

/// Signals of one change, as bits (no allocation on the update path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Signals(u16);

impl Signals {
    fn bit(signal: Signal, scope: Scope) -> u16 {
        1 << (signal as u16 * 3 + scope as u16)
    }

    pub(crate) fn set(&mut self, signal: Signal, scope: Scope) {
        self.0 |= Signals::bit(signal, scope);
    }

    pub fn has(&self, signal: Signal, scope: Scope) -> bool {
        self.0 & Signals::bit(signal, scope) != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = (Signal, Scope)> + '_ {
        [Signal::BackInStock, Signal::LowStock, Signal::OutOfStock]
            .into_iter()
            .flat_map(|s| [Scope::Location, Scope::Online, Scope::Anywhere].map(|c| (s, c)))
            .filter(|(s, c)| self.has(*s, *c))
    }
}

/// A level that changed, and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockChange {
    pub sku: SkuKey,
    pub location: LocationKey,
    /// `None`: the first level recorded for this location and SKU.
    pub before: Option<i32>,
    pub after: i32,
    /// Whether the location is an online one.
    pub online: bool,
    pub signals: Signals,
}

/// A SKU's stock across the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SkuStock {
    /// Sum of the positive levels of the online locations.
    pub online_units: i64,
    /// Shops with at least one unit.
    pub shops_in_stock: u32,
}
