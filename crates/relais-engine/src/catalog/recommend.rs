//! Recommendations per workspace (issue 6): models built from the orders
//! Relais holds, cached in the commerce context, and
//! `relais_catalog::recommend::Recommender` over them.
//!
//! * **What a model is built from.** Every profile's commerce state keeps
//!   the item lines of its latest orders (`relais_core::commerce::MAX_ORDERS`);
//!   older orders keep no lines and are not seen. The build reads every
//!   profile of the workspace, page by page (`profile_ids` +
//!   `get_profiles`, as the fan-out does), links each counted order's lines
//!   to the catalog (`order_products`: cancelled or never completed orders
//!   and unknown products are left out) and feeds them to a
//!   `CoPurchaseBuilder` (frequently bought together) and a
//!   `PopularityBuilder` (popular in category, over every held order).
//! * **Refresh.** A model is kept in memory with the time it was built. A
//!   request that finds it older than `engine.catalog.recommendations_max_age_secs`
//!   (default 3600; 0: every request) rebuilds it first, on that request;
//!   nothing rebuilds in the background. Orders folded after a build are
//!   not in the model until the next one; catalog and stock changes apply
//!   at once (eligibility is checked against the current catalog and stock).
//!   Each process keeps its own models.
//! * **Anchors.** What the recommendations go with: the cart lines, else
//!   the products of the customer's last counted order. Bought products
//!   (lines of held orders), anchors, products that cannot be ordered and
//!   those without online units (when online stock is recorded for them)
//!   are never recommended.

use super::Commerce;
use crate::{profiles, Engine};
use relais_catalog::geo::GeoPoint;
use relais_catalog::recommend::{
    order_products, CoPurchase, CoPurchaseBuilder, Popularity, PopularityBuilder, ProfileContext, Reason,
    Recommender, StockScope, Strategy, TogetherParams,
};
use relais_core::commerce::CommerceState;
use relais_core::profile::ProfileState;
use relais_core::{Error, ProfileId, WorkspaceId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// Profiles read per page of a build.
const PAGE: usize = 1_000;
/// Products kept per category level by the popularity model.
const PER_CATEGORY: usize = 50;
pub const DEFAULT_LIMIT: usize = 3;
pub const MAX_LIMIT: usize = 50;

/// A workspace's models and when they were built.
pub struct Models {
    pub built: Instant,
    /// Unix ms.
    pub built_at: i64,
    pub profiles: u64,
    pub together: CoPurchase,
    pub popular: Popularity,
}

/// The part of a profile a build reads.
#[derive(Deserialize)]
struct Orders {
    #[serde(default)]
    commerce: CommerceState,
}

/// `strategy=` of the API.
pub fn parse_strategy(name: &str) -> Result<Strategy, Error> {
    Ok(match name.trim() {
        "together" => Strategy::FrequentlyBoughtTogether,
        "complementary" => Strategy::Complementary,
        "popular" => Strategy::PopularInCategory(None),
        "recently_viewed" => Strategy::RecentlyViewed,
        "" | "auto" => auto(),
        other => {
            return Err(Error::invalid(format!(
                "strategy: {other:?} is not one of together, complementary, popular, recently_viewed, auto"
            )))
        }
    })
}

/// Bought together, then declared complements, then recently viewed, then
/// popular in the anchor's category (widening to the whole catalog).
pub fn auto() -> Strategy {
    Strategy::Fallback(vec![
        Strategy::FrequentlyBoughtTogether,
        Strategy::Complementary,
        Strategy::RecentlyViewed,
        Strategy::PopularInCategory(None),
    ])
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Why {
    /// together, complementary, popular or recently_viewed.
    pub strategy: &'static str,
    /// The product it goes with (together, complementary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// Orders with both (together) or in the category (popular).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lift: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Price {
    /// Decimal (the sale price when there is one).
    pub amount: f64,
    /// ISO 4217.
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecommendedProduct {
    pub id: String,
    pub name: String,
    pub price: Price,
    pub url: Option<String>,
    pub image: Option<String>,
    pub why: Why,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecommendationsView {
    pub profile_id: String,
    pub strategy: String,
    /// What they go with: the cart lines, else the last order's products.
    pub anchors: Vec<String>,
    /// When the order models were built (RFC 3339) and from how many profiles.
    pub model_built_at: String,
    pub model_profiles: u64,
    pub products: Vec<RecommendedProduct>,
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn why(reason: &Reason) -> Why {
    let none = |strategy| Why {
        strategy,
        anchor: None,
        orders: None,
        confidence: None,
        lift: None,
        category: None,
    };
    match reason {
        Reason::BoughtWith {
            anchor,
            orders,
            confidence,
            lift,
        } => Why {
            anchor: Some(anchor.as_str().to_owned()),
            orders: Some(*orders),
            confidence: Some(round4(*confidence)),
            lift: Some(round4(*lift)),
            ..none("together")
        },
        Reason::ComplementOf { anchor } => Why {
            anchor: Some(anchor.as_str().to_owned()),
            ..none("complementary")
        },
        Reason::PopularIn { category, orders } => Why {
            orders: Some(*orders),
            category: Some(category.clone()),
            ..none("popular")
        },
        Reason::RecentlyViewed { .. } => none("recently_viewed"),
    }
}

impl Commerce {
    /// The workspace's models, rebuilt first when older than the
    /// configured age (or never built).
    pub async fn models(&self, ws: WorkspaceId) -> Result<Arc<Models>, Error> {
        let max_age = std::time::Duration::from_secs(self.config.recommendations_max_age_secs);
        let fresh = |m: &Arc<Models>| (m.built.elapsed() < max_age).then(|| m.clone());
        let current = || {
            self.models
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&ws)
                .cloned()
        };
        if let Some(m) = current().as_ref().and_then(fresh) {
            return Ok(m);
        }
        // One build at a time; whoever waited uses the one just built.
        let _building = self.building.lock().await;
        if let Some(m) = current().as_ref().and_then(fresh) {
            return Ok(m);
        }
        let m = Arc::new(self.build_models(ws).await?);
        self.models
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ws, m.clone());
        Ok(m)
    }

    async fn build_models(&self, ws: WorkspaceId) -> Result<Models, Error> {
        let started = Instant::now();
        let mut together = CoPurchaseBuilder::new();
        let mut popular = PopularityBuilder::new(i64::MIN, i64::MAX);
        let mut profiles = 0u64;
        let mut after = ProfileId(0);
        loop {
            let ids = self.store.profile_ids(ws, after, PAGE).await?;
            let Some(last) = ids.last() else { break };
            after = *last;
            let keys: Vec<(WorkspaceId, ProfileId)> = ids.iter().map(|id| (ws, *id)).collect();
            let page = self.store.get_profiles(&keys).await?;
            // The catalog links order lines to products; held only per page.
            let cat = self.read(ws).await?;
            for stored in page.into_iter().flatten() {
                profiles += 1;
                let p: Orders = match serde_json::from_str(&stored.state) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(profile = %stored.id, error = %e, "unreadable profile skipped by recommendations");
                        continue;
                    }
                };
                for o in &p.commerce.orders {
                    let items = order_products(&cat.catalog, o);
                    if items.is_empty() {
                        continue;
                    }
                    together.add_order(items.iter().copied());
                    popular.add_order(o.placed_at, items.iter().copied());
                }
            }
            let last_page = ids.len() < PAGE;
            drop(cat);
            if last_page {
                break;
            }
        }
        let cat = self.read(ws).await?;
        let together = together.build(&TogetherParams::default());
        let popular = popular.build(&cat.catalog, PER_CATEGORY);
        tracing::info!(workspace = %ws, profiles, orders = together.orders(), pairs = together.len(),
            ms = started.elapsed().as_millis() as u64, "recommendation models built");
        Ok(Models {
            built: Instant::now(),
            built_at: relais_core::time::now_ms(),
            profiles,
            together,
            popular,
        })
    }

    /// Recommendations for a profile whose state is in hand.
    pub async fn recommend_for(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        state: &ProfileState,
        strategy: &Strategy,
        name: &str,
        limit: usize,
    ) -> Result<RecommendationsView, Error> {
        let models = self.models(ws).await?;
        let cat = self.read(ws).await?;
        let mut ctx = ProfileContext::from_commerce(&cat.catalog, &state.commerce);
        if ctx.anchors.is_empty() {
            if let Some(last) = state.commerce.orders.iter().find(|o| o.counts()) {
                for id in order_products(&cat.catalog, last) {
                    if let Some(p) = cat.catalog.product(id).filter(|p| !ctx.anchors.contains(&p.id)) {
                        ctx.anchors.push(p.id.clone());
                    }
                }
            }
        }
        let scope = StockScope::Online;
        let recs = Recommender::new(&cat.catalog)
            .with_together(&models.together)
            .with_popularity(&models.popular)
            .with_stock(&cat.book, &scope)
            .recommend(&ctx, strategy, limit);
        let products = recs
            .iter()
            .filter_map(|r| {
                let p = cat.catalog.product(r.product.as_str())?;
                Some(RecommendedProduct {
                    id: p.id.as_str().to_owned(),
                    name: p.name.clone(),
                    price: Price {
                        amount: p.currency.to_f64(p.effective_price()),
                        currency: p.currency.code().to_owned(),
                    },
                    url: p.url.clone(),
                    image: p.image_url.clone(),
                    why: why(&r.reason),
                })
            })
            .collect();
        Ok(RecommendationsView {
            profile_id: profile.to_string(),
            strategy: name.to_owned(),
            anchors: ctx.anchors.iter().map(|a| a.as_str().to_owned()).collect(),
            model_built_at: relais_core::time::format_ms(models.built_at),
            model_profiles: models.profiles,
            products,
        })
    }

    /// The nearest shop with `product` in stock within
    /// `nearest_store_within_km` of the customer, searched from where the
    /// API searches without `lat`/`lon` ([`super::views::profile_origin`]:
    /// a recent reported position, else the home shop, else an older
    /// position); `None` when the product, any position or a shop with
    /// stock within reach is missing.
    pub async fn nearest_store_for(
        &self,
        ws: WorkspaceId,
        state: &ProfileState,
        product: &str,
    ) -> Result<Option<Value>, Error> {
        let cat = self.read(ws).await?;
        if cat.catalog.product(product).is_none() {
            return Ok(None);
        }
        let now = relais_core::time::now_ms();
        let Some(origin) = super::views::profile_origin(&cat.shops, state, &self.config, now) else {
            return Ok(None);
        };
        let from = GeoPoint::new(origin.latitude, origin.longitude).map_err(Error::from)?;
        let within_km = self.config.nearest_store_within_km;
        let found = cat
            .shops
            .nearest_with_product(&cat.catalog, &cat.book, product, from, 1, within_km);
        Ok(found.first().map(|n| {
            serde_json::json!({
                "id": n.shop.id.to_string(),
                "name": n.shop.name,
                "city": n.shop.address.city,
                "street": n.shop.address.street,
                "postal_code": n.shop.address.postal_code,
                "distance_km": (n.distance_km * 100.0).round() / 100.0,
                "units": n.units,
                "open_now": n.shop.is_open_at(jiff::Timestamp::now()),
                "origin": origin.source,
            })
        }))
    }
}

/// `GET /api/v1/profiles/{ref}/recommendations`.
pub async fn recommendations(
    engine: &Engine,
    ws: WorkspaceId,
    reference: &str,
    strategy: Option<&str>,
    limit: Option<usize>,
) -> Result<RecommendationsView, Error> {
    let name = strategy
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("auto");
    let strategy = parse_strategy(name)?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::invalid(format!(
            "limit: {limit} is not within 1..={MAX_LIMIT}"
        )));
    }
    let id = profiles::resolve_ref(engine, ws, reference).await?;
    let (stored, state) = profiles::load(engine, ws, id).await?;
    engine
        .commerce
        .recommend_for(ws, stored.id, &state, &strategy, name, limit)
        .await
}
