//! Per-profile "Price Dropped", "Back In Stock" and "Low Stock" events:
//! which profiles are interested in a product that changed, and the events
//! they get, written with the change (one transaction).
//!
//! A profile is interested in a product it viewed or wish-listed (its
//! commerce state); stock events go to it only for online stock or its home
//! shop (trait `home_store_id`). Rules: `relais_catalog::events`.
//!
//! **How interested profiles are found: by scanning.** The store has no
//! index from a product to the profiles that viewed it, so a write with
//! signals reads every profile of the workspace (pages of
//! `profile_ids` + `get_profiles`) while it holds the workspace's catalog
//! lock. That is fine for thousands of profiles and too slow for millions:
//! above `engine.catalog.fanout_max_profiles` the scan is skipped (said in
//! the outcome's `fanout.skipped` and the log) and only the product-level
//! signals are returned. An interest index kept by the processor is the
//! planned fix (docs/catalog.md, "Limits").

use super::{Commerce, Loaded};
use crate::internal;
use relais_catalog::events::{profile_price_dropped, profile_stock_events};
use relais_catalog::price::PriceDrop;
use relais_catalog::stock::{Scope, StockChange};
use relais_core::commerce::CommerceState;
use relais_core::{ProfileId, WorkspaceId};
use relais_store::{EmittedEvent, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Profiles read per page of the scan.
const PAGE: usize = 1_000;
/// The trait naming a customer's home shop (a shop id).
pub const HOME_STORE_TRAIT: &str = "home_store_id";

/// How the per-profile events of a write were found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FanoutView {
    /// Profiles read to find the interested ones (0: nothing to announce).
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
}

pub(crate) fn home_shop(traits: &Map<String, Value>) -> Option<String> {
    match traits.get(HOME_STORE_TRAIT)? {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether any change can give a profile an event: online stock, or a
/// shop's (someone's home shop, perhaps). Out of stock never does.
fn announces(changes: &[StockChange]) -> bool {
    changes.iter().any(|c| {
        c.signals.iter().any(|(signal, scope)| {
            relais_catalog::events::stock_event_name(signal).is_some()
                && matches!(scope, Scope::Online | Scope::Location)
        })
    })
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
    if drops.is_empty() && !announces(changes) {
        return Ok((Vec::new(), view));
    }
    let profiles = c.store.count_profiles(ws).await?;
    if profiles > c.config.fanout_max_profiles {
        let why = format!(
            "{profiles} profiles is more than engine.catalog.fanout_max_profiles ({}): \
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
    let mut after = ProfileId(0);
    loop {
        let ids = c.store.profile_ids(ws, after, PAGE).await?;
        let Some(last) = ids.last() else { break };
        after = *last;
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
            let home = home_shop(&p.traits);
            for ch in changes {
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
        if ids.len() < PAGE {
            break;
        }
    }
    Ok((out, view))
}
