//! Recommendations from what Relais holds: orders across every channel
//! (frequently bought together, popular in category), the catalog
//! (declared complements) and the profile (recently viewed).
//!
//! Whatever the strategy, a recommendation is never a product the customer
//! bought, one they already have in hand (an anchor: in the cart, on the
//! page), one missing from the catalog, one the catalog says cannot be
//! ordered, or one out of stock where the caller sells it
//! ([`StockScope`]).

mod popular;
#[cfg(test)]
mod tests;
mod together;

pub use popular::{Popularity, PopularityBuilder};
pub use together::{Association, CoPurchase, CoPurchaseBuilder, TogetherParams, MAX_ITEMS_PER_ORDER};

use crate::catalog::Catalog;
use crate::ids::ProductId;
use crate::product::Availability;
use crate::stock::StockBook;
use relais_core::commerce::CommerceState;
use serde::Serialize;
use std::collections::HashSet;

/// How to choose.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Companions of the anchors in past orders, by confidence.
    FrequentlyBoughtTogether,
    /// The anchors' declared complements, in declared order.
    Complementary,
    /// The most ordered products of a category (`None`: the first anchor's,
    /// else the last viewed product's), widening to the parent levels and
    /// then the whole catalog until the limit is reached.
    PopularInCategory(Option<Vec<String>>),
    /// What the customer looked at, most recent first.
    RecentlyViewed,
    /// Each strategy in turn, until the limit.
    Fallback(Vec<Strategy>),
}

/// Where a product must be in stock to be recommended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockScope {
    /// Online units (for messages that link to the site). A SKU whose
    /// online stock is not tracked is left to the catalog's availability.
    Online,
    /// Online or in any shop (same rule for untracked SKUs).
    Anywhere,
    /// In this shop (the customer's home store): a unit must be recorded.
    Shop(String),
}

/// What is known of the customer for recommending.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileContext {
    /// What the recommendation is about (cart lines, the product on the
    /// page), most important first. Never recommended themselves.
    pub anchors: Vec<ProductId>,
    /// Most recent first.
    pub recently_viewed: Vec<ProductId>,
    pub bought: HashSet<ProductId>,
}

impl ProfileContext {
    /// From the commerce state Relais folds: the cart lines are the anchors;
    /// products are linked to the catalog (unknown ones are left out).
    /// `bought` holds the lines of the orders kept with their lines
    /// (the latest [`relais_core::commerce::MAX_ORDERS`]).
    pub fn from_commerce(catalog: &Catalog, state: &CommerceState) -> ProfileContext {
        let link = |p: &relais_core::commerce::Product| catalog.link_event(p).map(|l| l.product.id.clone());
        let mut ctx = ProfileContext::default();
        for item in &state.cart.items {
            if let Some(id) = link(&item.product).filter(|id| !ctx.anchors.contains(id)) {
                ctx.anchors.push(id);
            }
        }
        for v in &state.recently_viewed {
            if let Some(id) = link(&v.product).filter(|id| !ctx.recently_viewed.contains(id)) {
                ctx.recently_viewed.push(id);
            }
        }
        for o in state.orders.iter().filter(|o| o.counts()) {
            ctx.bought.extend(o.items.iter().filter_map(|i| link(&i.product)));
        }
        ctx
    }
}

/// The catalog products of an order, as the model builders take them: an
/// order that does not count (cancelled, or never completed) has none;
/// lines that do not link to the catalog are left out.
pub fn order_products<'c>(catalog: &'c Catalog, order: &relais_core::commerce::Order) -> Vec<&'c str> {
    if !order.counts() {
        return Vec::new();
    }
    order
        .items
        .iter()
        .filter_map(|i| catalog.link_event(&i.product))
        .map(|l| l.product.id.as_str())
        .collect()
}

/// Why a product was recommended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    BoughtWith {
        anchor: ProductId,
        orders: u32,
        confidence: f64,
        lift: f64,
    },
    ComplementOf {
        anchor: ProductId,
    },
    PopularIn {
        category: String,
        orders: u32,
    },
    RecentlyViewed {
        rank: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub product: ProductId,
    /// Comparable within one strategy only (confidence, order count, rank).
    pub score: f64,
    pub reason: Reason,
}

/// Recommends from the models it is given; a missing model makes its
/// strategy recommend nothing.
#[derive(Debug, Clone, Copy)]
pub struct Recommender<'a> {
    catalog: &'a Catalog,
    together: Option<&'a CoPurchase>,
    popular: Option<&'a Popularity>,
    stock: Option<(&'a StockBook, &'a StockScope)>,
}

impl<'a> Recommender<'a> {
    pub fn new(catalog: &'a Catalog) -> Recommender<'a> {
        Recommender {
            catalog,
            together: None,
            popular: None,
            stock: None,
        }
    }

    pub fn with_together(self, model: &'a CoPurchase) -> Self {
        Recommender {
            together: Some(model),
            ..self
        }
    }

    pub fn with_popularity(self, model: &'a Popularity) -> Self {
        Recommender {
            popular: Some(model),
            ..self
        }
    }

    pub fn with_stock(self, book: &'a StockBook, scope: &'a StockScope) -> Self {
        Recommender {
            stock: Some((book, scope)),
            ..self
        }
    }

    /// At most `limit` recommendations, best first.
    pub fn recommend(&self, ctx: &ProfileContext, strategy: &Strategy, limit: usize) -> Vec<Recommendation> {
        let mut out = Vec::new();
        self.fill(ctx, strategy, limit, &mut out);
        out
    }

    fn fill(&self, ctx: &ProfileContext, strategy: &Strategy, limit: usize, out: &mut Vec<Recommendation>) {
        let mut take = |product: &ProductId, score: f64, reason: Reason| {
            if out.len() < limit && !out.iter().any(|r| &r.product == product) && self.eligible(ctx, product)
            {
                out.push(Recommendation {
                    product: product.clone(),
                    score,
                    reason,
                });
            }
            out.len() < limit
        };
        match strategy {
            Strategy::FrequentlyBoughtTogether => {
                let Some(model) = self.together else { return };
                // Each candidate's best anchor decides its score.
                let mut best: Vec<(Association<'_>, &ProductId)> = Vec::new();
                for anchor in &ctx.anchors {
                    for a in model.together(anchor.as_str()) {
                        match best.iter_mut().find(|(b, _)| b.with == a.with) {
                            Some(b) if (a.confidence, a.lift) > (b.0.confidence, b.0.lift) => {
                                *b = (a, anchor)
                            }
                            Some(_) => {}
                            None => best.push((a, anchor)),
                        }
                    }
                }
                best.sort_by(|(x, _), (y, _)| {
                    y.confidence
                        .total_cmp(&x.confidence)
                        .then(y.lift.total_cmp(&x.lift))
                        .then(x.with.cmp(y.with))
                });
                for (a, anchor) in best {
                    let Ok(id) = ProductId::new(a.with) else { continue };
                    let reason = Reason::BoughtWith {
                        anchor: anchor.clone(),
                        orders: a.orders,
                        confidence: a.confidence,
                        lift: a.lift,
                    };
                    if !take(&id, a.confidence, reason) {
                        return;
                    }
                }
            }
            Strategy::Complementary => {
                for anchor in &ctx.anchors {
                    let Some(p) = self.catalog.product(anchor.as_str()) else {
                        continue;
                    };
                    for (i, c) in p.complements.iter().enumerate() {
                        if !take(
                            c,
                            1.0 / (1 + i) as f64,
                            Reason::ComplementOf {
                                anchor: anchor.clone(),
                            },
                        ) {
                            return;
                        }
                    }
                }
            }
            Strategy::PopularInCategory(category) => {
                let Some(model) = self.popular else { return };
                let from_context = || {
                    let first = ctx.anchors.first().or(ctx.recently_viewed.first())?;
                    self.catalog.product(first.as_str()).map(|p| p.category.clone())
                };
                let mut path = category.clone().or_else(from_context).unwrap_or_default();
                loop {
                    let name = path.join(" > ");
                    for (id, orders) in model.top(&path) {
                        let reason = Reason::PopularIn {
                            category: name.clone(),
                            orders: *orders,
                        };
                        if !take(id, f64::from(*orders), reason) {
                            return;
                        }
                    }
                    if path.pop().is_none() {
                        return;
                    }
                }
            }
            Strategy::RecentlyViewed => {
                for (rank, id) in ctx.recently_viewed.iter().enumerate() {
                    if !take(id, 1.0 / (1 + rank) as f64, Reason::RecentlyViewed { rank }) {
                        return;
                    }
                }
            }
            Strategy::Fallback(list) => {
                for s in list {
                    if out.len() >= limit {
                        return;
                    }
                    self.fill(ctx, s, limit, out);
                }
            }
        }
    }

    /// Not bought, not in hand, in the catalog, orderable, and in stock
    /// where asked.
    pub fn eligible(&self, ctx: &ProfileContext, product: &ProductId) -> bool {
        if ctx.bought.contains(product) || ctx.anchors.contains(product) {
            return false;
        }
        let Some(p) = self.catalog.product(product.as_str()) else {
            return false;
        };
        if !p.availability.can_order() {
            return false;
        }
        let Some((book, scope)) = self.stock else {
            return true;
        };
        // Pre-orders have no stock yet: only a shop scope, which asks for
        // units on the shelf, leaves them out.
        if p.availability == Availability::Preorder && !matches!(scope, StockScope::Shop(_)) {
            return true;
        }
        let keys: Vec<_> = self
            .catalog
            .skus_of(product.as_str())
            .iter()
            .filter_map(|s| book.sku_key(s))
            .collect();
        match scope {
            StockScope::Online => {
                let tracked = keys.iter().any(|&k| book.known_online(k));
                !tracked || keys.iter().any(|&k| book.summary_keys(k).online_units > 0)
            }
            StockScope::Anywhere => {
                keys.is_empty()
                    || keys.iter().any(|&k| {
                        let s = book.summary_keys(k);
                        s.online_units > 0 || s.shops_in_stock > 0
                    })
            }
            StockScope::Shop(shop) => {
                let Some(loc) = book.location_key(shop) else {
                    return false;
                };
                keys.iter()
                    .any(|&k| book.level_keys(loc, k).is_some_and(|q| q > 0))
            }
        }
    }
}
