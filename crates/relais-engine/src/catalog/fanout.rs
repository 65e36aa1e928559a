//! Per-profile "Price Dropped", "Back In Stock" and "Low Stock" events:
//! which profiles are interested in a product that changed, and the events
//! they get, written with the change (one transaction).
//!
//! A profile is interested in a product it viewed or wish-listed (its
//! commerce state); stock events go to it only for online stock or its home
//! shop (trait `home_store_id`, else the most-visited shop). Rules: `relais_catalog::events`.
//!
//! **How interested profiles are found: the store's interest index**
//! (`relais_store::InterestStore`), which the processor keeps with each
//! profile's state: the `product_id` and `sku` strings of what it viewed or
//! wish-listed. The catalog links either to a product, so the index is asked
//! for every key that can name a changed product (its id, its own SKU, its
//! variants' SKUs), and each profile it names is read and checked exactly as
//! before (a key may name another product for this profile, e.g. a
//! `product_id` that is also some SKU). Only those profiles are read, while
//! the write holds the workspace's catalog lock. When more than
//! `engine.catalog.fanout_max_profiles` profiles are interested, none is
//! read (said in the outcome's `fanout.skipped` and the log) and only the
//! product-level signals are returned.

use super::{Commerce, Loaded};
use crate::internal;
use relais_catalog::events::{profile_price_dropped, profile_stock_events};
use relais_catalog::price::PriceDrop;
use relais_catalog::stock::{Scope, StockChange};
use relais_core::commerce::CommerceState;
use relais_core::profile::visits::{home_store, ShopVisits};
use relais_core::{ProfileId, WorkspaceId};
use relais_store::{EmittedEvent, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Profile ids (from the index) and profiles read per page.
const PAGE: usize = 1_000;
pub use relais_core::profile::visits::HOME_STORE_TRAIT;

/// How the per-profile events of a write were found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FanoutView {
    /// Profiles read and checked: those the interest index names for the
    /// changed products (not the whole workspace; 0: nothing to announce,
    /// or skipped).
    pub profiles_scanned: u64,
    /// Why no profile was read although there were signals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The part of a profile the fan-out reads (the rest of the state is
/// skipped by the parser).
#[derive(Deserialize)]
struct Interest {
    #[serde(default)]
    commerce: CommerceState,
    #[serde(default)]
    traits: Map<String, Value>,
    #[serde(default)]
    shop_visits: ShopVisits,
}

/// The customer's home shop id: the trait's, else the most-visited shop.
pub(crate) fn home_shop(traits: &Map<String, Value>, visits: &ShopVisits) -> Option<String> {
    home_store(traits, visits).map(|(id, _)| id)
}

/// Whether a change can give a profile an event: online stock, or a
/// shop's (someone's home shop, perhaps). Out of stock never does.
fn announces(change: &StockChange) -> bool {
    change.signals.iter().any(|(signal, scope)| {
        relais_catalog::events::stock_event_name(signal).is_some()
            && matches!(scope, Scope::Online | Scope::Location)
    })
}

/// Every index key that can name one of these products for a profile: the
/// product's id, its own SKU and its variants' SKUs (`Catalog::link` takes
/// an event's `sku`, else its `product_id` as an id or as a SKU).
fn index_keys(catalog: &relais_catalog::catalog::Catalog, products: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for id in products {
        keys.push((*id).to_owned());
        if let Some(p) = catalog.product(id) {
            keys.push(p.own_sku().to_owned());
        }
        keys.extend(catalog.variants(id).map(|v| v.sku.clone()));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The events of `drops` and `changes` for every interested profile of the
/// workspace, with ids derived from the write's `revision` (a retried
/// write that was refused wrote nothing, so ids never collide).
pub(crate) async fn events(
    c: &Commerce,
    ws: WorkspaceId,
    state: &Loaded,
    drops: &[PriceDrop],
    changes: &[StockChange],
    revision: i64,
    at: i64,
) -> Result<(Vec<EmittedEvent>, FanoutView), StoreError> {
    let mut view = FanoutView::default();
    let announced: Vec<&StockChange> = changes.iter().filter(|c| announces(c)).collect();
    if drops.is_empty() && announced.is_empty() {
        return Ok((Vec::new(), view));
    }
    let mut products: Vec<&str> = drops.iter().map(|d| d.product.as_str()).collect();
    products.extend(announced.iter().filter_map(|ch| {
        let sku = state.book.sku_id(ch.sku);
        state.catalog.owner_of(sku).map(|p| p.as_str())
    }));
    let index_keys = index_keys(&state.catalog, &products);
    // The interested profiles' ids, one more than allowed at most.
    let max = usize::try_from(c.config.fanout_max_profiles.max(0)).unwrap_or(usize::MAX);
    let mut interested: Vec<ProfileId> = Vec::new();
    while interested.len() <= max && !index_keys.is_empty() {
        let after = interested.last().copied().unwrap_or(ProfileId(0));
        let page = c.store.interested_profiles(ws, &index_keys, after, PAGE).await?;
        let full = page.len() == PAGE;
        interested.extend(page);
        if !full {
            break;
        }
    }
    if interested.len() > max {
        let why = format!(
            "more than engine.catalog.fanout_max_profiles ({}) profiles are interested: \
             product-level signals only",
            c.config.fanout_max_profiles
        );
        tracing::warn!(workspace = %ws, "{why}");
        view.skipped = Some(why);
        return Ok((Vec::new(), view));
    }
    let source = c.sources.get(&c.store, ws).await?;
    let rule = c.config.drop_rule();
    let mut out = Vec::new();
    for ids in interested.chunks(PAGE) {
        let keys: Vec<(WorkspaceId, ProfileId)> = ids.iter().map(|id| (ws, *id)).collect();
        for stored in c.store.get_profiles(&keys).await?.into_iter().flatten() {
            view.profiles_scanned += 1;
            let p: Interest = match serde_json::from_str(&stored.state) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(profile = %stored.id, error = %e, "unreadable profile skipped by the fan-out");
                    continue;
                }
            };
            let mut found: Vec<(&'static str, Map<String, Value>)> = Vec::new();
            for d in drops {
                if let Some(props) = profile_price_dropped(&state.catalog, &p.commerce, d, &rule) {
                    found.push((relais_catalog::events::PRICE_DROPPED, props));
                }
            }
            let home = home_shop(&p.traits, &p.shop_visits);
            for ch in &announced {
                found.extend(profile_stock_events(
                    &state.catalog,
                    &state.book,
                    &p.commerce,
                    ch,
                    home.as_deref(),
                ));
            }
            for (k, (name, props)) in found.into_iter().enumerate() {
                let id = format!("relais-catalog-r{revision}-{}-{k}", stored.id.0);
                out.push(internal::event(
                    ws,
                    source,
                    stored.id,
                    name,
                    crate::processor::INTERNAL_CHANNEL,
                    id,
                    Value::Object(props),
                    at,
                ));
            }
        }
    }
    Ok((out, view))
}
