//! Questions that combine the catalog, the shops and the stock book: the
//! nearest shop that has a product, where a product is available, and where
//! a customer is.

use crate::catalog::Catalog;
use crate::geo::{GeoPoint, Nearby, NearestIndex};
use crate::ids::{ProductId, ShopId};
use crate::product::Availability;
use crate::shop::Shop;
use crate::stock::{SkuKey, StockBook};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Below this many candidate shops, the shops that stock the product are
/// measured directly instead of walking the latitude band (both exact).
const DIRECT_CANDIDATES: usize = 64;

/// The shops, with the spatial index over them.
#[derive(Debug, Clone, Default)]
pub struct ShopDirectory {
    shops: Vec<Shop>,
    by_id: HashMap<ShopId, u32>,
    index: NearestIndex,
}

/// A shop found near a point, with the units it has of what was asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearbyShop<'a> {
    pub shop: &'a Shop,
    pub distance_km: f64,
    pub units: i64,
}

impl ShopDirectory {
    /// A later shop with the id of an earlier one replaces it.
    pub fn new(shops: impl IntoIterator<Item = Shop>) -> ShopDirectory {
        let mut d = ShopDirectory::default();
        for s in shops {
            d.put(s);
        }
        d.reindex();
        d
    }

    fn put(&mut self, shop: Shop) {
        match self.by_id.get(&shop.id) {
            Some(&i) => self.shops[i as usize] = shop,
            None => {
                self.by_id.insert(shop.id.clone(), self.shops.len() as u32);
                self.shops.push(shop);
            }
        }
    }

    fn reindex(&mut self) {
        let points: Vec<GeoPoint> = self.shops.iter().map(|s| s.location).collect();
        self.index = NearestIndex::new(&points);
    }

    /// Adds or replaces shops (the index is rebuilt once: microseconds for
    /// a thousand shops).
    pub fn upsert(&mut self, shops: impl IntoIterator<Item = Shop>) {
        for s in shops {
            self.put(s);
        }
        self.reindex();
    }

    pub fn get(&self, id: &str) -> Option<&Shop> {
        self.by_id.get(id).map(|&i| &self.shops[i as usize])
    }

    pub fn shops(&self) -> &[Shop] {
        &self.shops
    }

    pub fn len(&self) -> usize {
        self.shops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shops.is_empty()
    }

    /// The `k` nearest shops within `within_km` that pass `keep`.
    pub fn nearest(
        &self,
        from: GeoPoint,
        k: usize,
        within_km: f64,
        mut keep: impl FnMut(&Shop) -> bool,
    ) -> Vec<NearbyShop<'_>> {
        let hits = self
            .index
            .nearest(from, k, within_km, |i| keep(&self.shops[i as usize]));
        hits.into_iter().map(|h| self.hit(h, 0)).collect()
    }

    fn hit(&self, h: Nearby, units: i64) -> NearbyShop<'_> {
        NearbyShop {
            shop: &self.shops[h.item as usize],
            distance_km: h.distance_km,
            units,
        }
    }

    /// The `k` nearest shops within `within_km` that have at least one unit
    /// of any of `skus` (a product's variants), with their units of them.
    pub fn nearest_with_stock(
        &self,
        book: &StockBook,
        skus: &[&str],
        from: GeoPoint,
        k: usize,
        within_km: f64,
    ) -> Vec<NearbyShop<'_>> {
        let keys: Vec<SkuKey> = skus.iter().filter_map(|s| book.sku_key(s)).collect();
        if keys.is_empty() {
            return Vec::new();
        }
        let units_at = |shop: &Shop| -> i64 {
            let Some(loc) = book.location_key(shop.id.as_str()) else {
                return 0;
            };
            keys.iter()
                .filter_map(|&s| book.level_keys(loc, s))
                .map(|q| i64::from(q.max(0)))
                .sum()
        };
        let stocked: usize = keys
            .iter()
            .map(|&s| book.summary_keys(s).shops_in_stock as usize)
            .sum();
        let hits = if stocked <= DIRECT_CANDIDATES.max(self.shops.len() / 16) {
            let mut items: Vec<u32> = keys
                .iter()
                .flat_map(|&s| book.shops_in_stock(s))
                .filter_map(|(loc, _)| self.by_id.get(book.location_id(loc)).copied())
                .collect();
            items.sort_unstable();
            items.dedup();
            self.index.nearest_among(from, k, within_km, items)
        } else {
            self.index
                .nearest(from, k, within_km, |i| units_at(&self.shops[i as usize]) > 0)
        };
        hits.into_iter()
            .map(|h| self.hit(h, units_at(&self.shops[h.item as usize])))
            .collect()
    }

    /// [`ShopDirectory::nearest_with_stock`] for a catalog product: any of
    /// its SKUs counts.
    pub fn nearest_with_product(
        &self,
        catalog: &Catalog,
        book: &StockBook,
        product: &str,
        from: GeoPoint,
        k: usize,
        within_km: f64,
    ) -> Vec<NearbyShop<'_>> {
        self.nearest_with_stock(book, &catalog.skus_of(product), from, k, within_km)
    }

    /// Where to search from for a customer: their last known location if it
    /// is at most `max_age_ms` old, else their home shop, else the stale
    /// location (better than nothing for "nearest").
    pub fn origin(&self, w: &Whereabouts, now_ms: i64, max_age_ms: i64) -> Option<(GeoPoint, OriginKind)> {
        let fresh = w.last_location.filter(|f| now_ms - f.at <= max_age_ms);
        let home = w.home_shop.as_ref().and_then(|id| self.get(id.as_str()));
        match (fresh, home, w.last_location) {
            (Some(f), _, _) => Some((f.point, OriginKind::LastLocation)),
            (None, Some(shop), _) => Some((shop.location, OriginKind::HomeShop)),
            (None, None, Some(stale)) => Some((stale.point, OriginKind::StaleLocation)),
            (None, None, None) => None,
        }
    }
}

/// A position and when it was known (ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fix {
    pub point: GeoPoint,
    pub at: i64,
}

/// What Relais knows of where a customer is: the shop they call theirs
/// (trait or loyalty data) and the last position an app or site reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Whereabouts {
    pub home_shop: Option<ShopId>,
    pub last_location: Option<Fix>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginKind {
    LastLocation,
    HomeShop,
    StaleLocation,
}

/// A product's availability online and in shops.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductAvailability<'a> {
    pub product: &'a ProductId,
    pub catalog: Availability,
    /// Can be ordered online now: pre-order, or in stock per the catalog
    /// and (when online stock is tracked for it) with online units.
    pub online: bool,
    /// Online units of its SKUs; `None` when no online level is recorded.
    pub online_units: Option<i64>,
    /// Locations (shop ids as in the stock book) with units, by id.
    pub shops: Vec<(&'a str, i64)>,
}

/// Where `product` can be had; `None` if it is not in the catalog.
pub fn availability<'a>(
    catalog: &'a Catalog,
    book: &'a StockBook,
    product: &str,
) -> Option<ProductAvailability<'a>> {
    let p = catalog.product(product)?;
    let keys: Vec<SkuKey> = catalog
        .skus_of(product)
        .iter()
        .filter_map(|s| book.sku_key(s))
        .collect();
    let tracked_online = keys.iter().any(|&k| book.known_online(k));
    let online_units = tracked_online.then(|| {
        keys.iter()
            .map(|&k| book.summary_keys(k).online_units)
            .sum::<i64>()
    });
    let mut shops: BTreeMap<&str, i64> = BTreeMap::new();
    for &k in &keys {
        for (loc, q) in book.shops_in_stock(k) {
            *shops.entry(book.location_id(loc)).or_default() += i64::from(q);
        }
    }
    let online = match p.availability {
        Availability::Preorder => true,
        Availability::InStock => online_units.is_none_or(|u| u > 0),
        Availability::OutOfStock | Availability::Discontinued => false,
    };
    Some(ProductAvailability {
        product: &p.id,
        catalog: p.availability,
        online,
        online_units,
        shops: shops.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests;
