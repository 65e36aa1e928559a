//! "Popular in category": the products in the most orders over a window,
//! for every level of the category tree (so "Women > Shoes" ranks the
//! sneakers and the boots together) and for the whole catalog.

use super::together::Interner;
use crate::catalog::Catalog;
use crate::ids::ProductId;
use std::collections::HashMap;

/// Counts orders per product between `since` and `until` (ms, inclusive).
#[derive(Debug)]
pub struct PopularityBuilder {
    since: i64,
    until: i64,
    ids: Interner,
    orders: Vec<u32>,
    seen: Vec<u32>,
}

impl PopularityBuilder {
    pub fn new(since_ms: i64, until_ms: i64) -> PopularityBuilder {
        PopularityBuilder {
            since: since_ms,
            until: until_ms,
            ids: Interner::default(),
            orders: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// One order placed at `at`; outside the window it is ignored. A product
    /// on several lines of an order counts once.
    pub fn add_order<'a>(&mut self, at: i64, items: impl IntoIterator<Item = &'a str>) {
        if at < self.since || at > self.until {
            return;
        }
        self.seen.clear();
        for item in items {
            let k = self.ids.intern(item);
            if !self.seen.contains(&k) {
                self.seen.push(k);
            }
        }
        self.orders.resize(self.ids.len(), 0);
        for &k in &self.seen {
            self.orders[k as usize] += 1;
        }
    }

    /// Keeps the `per_category` most ordered products of every category
    /// level (products missing from the catalog have no category and are
    /// left out).
    pub fn build(self, catalog: &Catalog, per_category: usize) -> Popularity {
        let mut by_category: HashMap<String, Vec<(ProductId, u32)>> = HashMap::new();
        for (k, &count) in self.orders.iter().enumerate() {
            let Some(p) = catalog.product(self.ids.name(k as u32)) else {
                continue;
            };
            for depth in 0..=p.category.len() {
                let path = p.category[..depth].join(" > ");
                by_category.entry(path).or_default().push((p.id.clone(), count));
            }
        }
        for list in by_category.values_mut() {
            list.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            list.truncate(per_category);
        }
        Popularity { by_category }
    }
}

/// The most ordered products of each category level.
#[derive(Debug, Clone, Default)]
pub struct Popularity {
    by_category: HashMap<String, Vec<(ProductId, u32)>>,
}

impl Popularity {
    /// Most ordered first, with their order counts; `[]` is the whole
    /// catalog.
    pub fn top(&self, category: &[String]) -> &[(ProductId, u32)] {
        self.top_path(&category.join(" > "))
    }

    /// The same by path (`Women > Shoes`).
    pub fn top_path(&self, path: &str) -> &[(ProductId, u32)] {
        self.by_category.get(path).map_or(&[], Vec::as_slice)
    }
}
