//! The stock book: interned ids, per-SKU sorted levels, and the aggregates
//! the network-wide signals need, maintained on every update.

use super::{
    LocationKey, Mode, Scope, Signal, Signals, SkuKey, SkuStock, StockChange, StockConfig, StockUpdate,
};
use crate::error::FieldError;
use crate::ids::check_id;
use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
struct SkuLevels {
    /// By location key, ascending.
    at: Vec<(u32, i32)>,
    online_units: i64,
    shops_in_stock: u32,
    /// Whether an online location ever recorded a level.
    known_online: bool,
    low: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct StockBook {
    low_default: i32,
    online_ids: Vec<String>,
    locations: Vec<(String, bool)>,
    location_index: HashMap<String, u32>,
    sku_ids: Vec<String>,
    sku_index: HashMap<String, u32>,
    skus: Vec<SkuLevels>,
}

impl Default for StockBook {
    fn default() -> StockBook {
        StockBook::new(StockConfig::default())
    }
}

impl StockBook {
    pub fn new(config: StockConfig) -> StockBook {
        StockBook {
            low_default: config.low_stock,
            online_ids: config.online_locations,
            locations: Vec::new(),
            location_index: HashMap::new(),
            sku_ids: Vec::new(),
            sku_index: HashMap::new(),
            skus: Vec::new(),
        }
    }

    pub fn location_key(&self, id: &str) -> Option<LocationKey> {
        self.location_index.get(id).map(|&k| LocationKey(k))
    }

    pub fn sku_key(&self, sku: &str) -> Option<SkuKey> {
        self.sku_index.get(sku).map(|&k| SkuKey(k))
    }

    /// The key of a location, added if new (its id checked then).
    pub fn intern_location(&mut self, id: &str) -> Result<LocationKey, FieldError> {
        if let Some(k) = self.location_key(id) {
            return Ok(k);
        }
        check_id(id).map_err(|r| FieldError::new("store_id", r))?;
        let k = self.locations.len() as u32;
        let online = self.online_ids.iter().any(|o| o == id);
        self.locations.push((id.to_owned(), online));
        self.location_index.insert(id.to_owned(), k);
        Ok(LocationKey(k))
    }

    /// The key of a SKU, added if new (its id checked then).
    pub fn intern_sku(&mut self, sku: &str) -> Result<SkuKey, FieldError> {
        if let Some(k) = self.sku_key(sku) {
            return Ok(k);
        }
        check_id(sku).map_err(|r| FieldError::new("sku", r))?;
        let k = self.skus.len() as u32;
        self.sku_ids.push(sku.to_owned());
        self.sku_index.insert(sku.to_owned(), k);
        self.skus.push(SkuLevels::default());
        Ok(SkuKey(k))
    }

    pub fn location_id(&self, k: LocationKey) -> &str {
        &self.locations[k.0 as usize].0
    }

    pub fn is_online(&self, k: LocationKey) -> bool {
        self.locations[k.0 as usize].1
    }

    pub fn sku_id(&self, k: SkuKey) -> &str {
        &self.sku_ids[k.0 as usize]
    }

    pub fn location_count(&self) -> usize {
        self.locations.len()
    }

    pub fn sku_count(&self) -> usize {
        self.skus.len()
    }

    /// Levels recorded, over all SKUs and locations.
    pub fn level_count(&self) -> usize {
        self.skus.iter().map(|s| s.at.len()).sum()
    }

    /// The low-stock threshold of a SKU (`None`: back to the default).
    pub fn set_low_stock(&mut self, sku: &str, threshold: Option<i32>) -> Result<(), FieldError> {
        let k = self.intern_sku(sku)?;
        self.skus[k.0 as usize].low = threshold;
        Ok(())
    }

    pub fn low_stock_threshold(&self, sku: SkuKey) -> i32 {
        self.skus[sku.0 as usize].low.unwrap_or(self.low_default)
    }

    pub fn apply_update(&mut self, u: &StockUpdate) -> Result<Option<StockChange>, FieldError> {
        self.apply(&u.location, &u.sku, u.quantity, u.mode)
    }

    /// Sets or moves one level; `None` if it did not change.
    pub fn apply(
        &mut self,
        location: &str,
        sku: &str,
        quantity: i32,
        mode: Mode,
    ) -> Result<Option<StockChange>, FieldError> {
        let loc = self.intern_location(location)?;
        let sku = self.intern_sku(sku)?;
        Ok(self.apply_keys(loc, sku, quantity, mode))
    }

    /// [`StockBook::apply`] with interned keys (the hot path of bulk files).
    pub fn apply_keys(
        &mut self,
        loc: LocationKey,
        sku: SkuKey,
        quantity: i32,
        mode: Mode,
    ) -> Option<StockChange> {
        let online = self.locations[loc.0 as usize].1;
        let low_default = self.low_default;
        let s = &mut self.skus[sku.0 as usize];
        let threshold = s.low.unwrap_or(low_default);
        let pos = s.at.binary_search_by_key(&loc.0, |e| e.0);
        let before = pos.ok().map(|i| s.at[i].1);
        let after = match mode {
            Mode::Set => quantity,
            Mode::Delta => before.unwrap_or(0).saturating_add(quantity),
        };
        if before == Some(after) {
            return None;
        }
        let known_anywhere = !s.at.is_empty();
        let known_online = s.known_online;
        let anywhere_before = s.online_units > 0 || s.shops_in_stock > 0;
        let online_before = s.online_units;
        match pos {
            Ok(i) => s.at[i].1 = after,
            Err(i) => s.at.insert(i, (loc.0, after)),
        }
        let had = before.is_some_and(|b| b > 0);
        if online {
            s.online_units += i64::from(after.max(0)) - i64::from(before.unwrap_or(0).max(0));
            s.known_online = true;
        } else {
            s.shops_in_stock = s.shops_in_stock + u32::from(after > 0) - u32::from(had);
        }
        let mut signals = Signals::default();
        if let Some(b) = before {
            crossings(
                &mut signals,
                Scope::Location,
                i64::from(b),
                i64::from(after),
                threshold,
            );
        }
        if online && known_online {
            crossings(
                &mut signals,
                Scope::Online,
                online_before,
                s.online_units,
                threshold,
            );
        }
        let anywhere_after = s.online_units > 0 || s.shops_in_stock > 0;
        if known_anywhere && anywhere_before != anywhere_after {
            let signal = if anywhere_after {
                Signal::BackInStock
            } else {
                Signal::OutOfStock
            };
            signals.set(signal, Scope::Anywhere);
        }
        Some(StockChange {
            sku,
            location: loc,
            before,
            after,
            online,
            signals,
        })
    }

    pub fn level(&self, location: &str, sku: &str) -> Option<i32> {
        self.level_keys(self.location_key(location)?, self.sku_key(sku)?)
    }

    pub fn level_keys(&self, loc: LocationKey, sku: SkuKey) -> Option<i32> {
        let at = &self.skus.get(sku.0 as usize)?.at;
        at.binary_search_by_key(&loc.0, |e| e.0).ok().map(|i| at[i].1)
    }

    /// The SKU's network totals; `None` if the book never saw it.
    pub fn summary(&self, sku: &str) -> Option<SkuStock> {
        self.sku_key(sku).map(|k| self.summary_keys(k))
    }

    pub fn summary_keys(&self, sku: SkuKey) -> SkuStock {
        let s = &self.skus[sku.0 as usize];
        SkuStock {
            online_units: s.online_units,
            shops_in_stock: s.shops_in_stock,
        }
    }

    /// Whether any level was ever recorded for the SKU at an online location.
    pub fn known_online(&self, sku: SkuKey) -> bool {
        self.skus[sku.0 as usize].known_online
    }

    /// Every level of a SKU (online locations included), by location key.
    pub fn levels(&self, sku: SkuKey) -> impl Iterator<Item = (LocationKey, i32)> + '_ {
        self.skus[sku.0 as usize]
            .at
            .iter()
            .map(|&(l, q)| (LocationKey(l), q))
    }

    /// The shops (not online locations) with at least one unit of the SKU.
    pub fn shops_in_stock(&self, sku: SkuKey) -> impl Iterator<Item = (LocationKey, i32)> + '_ {
        self.levels(sku)
            .filter(|&(l, q)| q > 0 && !self.locations[l.0 as usize].1)
    }
}

/// Signals of one level moving from `b` to `a` within `scope`.
fn crossings(signals: &mut Signals, scope: Scope, b: i64, a: i64, threshold: i32) {
    let t = i64::from(threshold);
    if b <= 0 && a > 0 {
        signals.set(Signal::BackInStock, scope);
    }
    if b > 0 && a <= 0 {
        signals.set(Signal::OutOfStock, scope);
    }
    if b > t && a > 0 && a <= t {
        signals.set(Signal::LowStock, scope);
    }
}
