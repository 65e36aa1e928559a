//! The commerce context of each workspace (issue 6): the catalog, the shops
//! and the stock book of `relais-catalog`, kept in memory and persisted in
//! the store (`docs/catalog.md`).
//!
//! * **State.** Each workspace's [`Loaded`] state is read from the store on
//!   first use and kept behind a `tokio::sync::RwLock`: queries share it,
//!   writes take it alone, so writes of one workspace are serialised.
//! * **Freshness.** Every access compares the state's revision with the
//!   store's (one indexed read). Another node or `relais catalog import`
//!   moves the store's revision on; the state is then reloaded.
//! * **Writes.** A write applies its rows to the state, then persists what
//!   changed in one transaction that expects the state's revision. If
//!   another writer got there first the store refuses (`Conflict`): the
//!   state is reloaded and the rows applied again (three tries). If the
//!   store fails otherwise the state is dropped, to be reloaded.
//! * **Signals and events.** See [`signals`] and [`fanout`]: product-level signals are
//!   returned; per-profile events are written with the change.
//!
//! Items, shops and stock are in [`mod@write`]; reading rows from files or JSON
//! in [`rows`]; queries (product view, nearest shops) in [`views`];
//! recommendations in [`recommend`].

pub mod conditions;
pub mod fanout;
pub mod recommend;
pub mod rows;
pub mod signals;
#[cfg(test)]
mod tests;
pub mod views;
pub mod write;

use crate::internal::InternalSources;
use relais_catalog::price::DropRule;
use relais_catalog::product::CatalogItem;
use relais_catalog::shop::Shop;
use relais_catalog::stock::{Mode, StockConfig};
use relais_catalog::{Catalog, ShopDirectory, StockBook};
use relais_core::{Error, WorkspaceId};
use relais_store::{CatalogKind, DynStore, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// Rows per page when the state is loaded from the store.
const LOAD_PAGE: usize = 5_000;
/// Tries of a write refused because another writer moved the revision on.
const WRITE_TRIES: usize = 3;

/// `[engine.catalog]` in `relais.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogConfig {
    /// Units at or below which a SKU is "low" (`Low Stock`), unless the SKU
    /// has its own threshold.
    pub low_stock: i32,
    /// Stock locations that are online fulfilment rather than shops.
    pub online_locations: Vec<String>,
    /// A price drop is announced when it is at least this many minor units…
    pub price_drop_min_amount: i64,
    /// …and at least this share of the old price, in basis points (100 = 1 %).
    pub price_drop_min_basis_points: u32,
    /// A write whose changed products interest more profiles than this
    /// (per the store's interest index) gets product-level signals only:
    /// the per-profile fan-out reads each interested profile (see [`fanout`]).
    pub fanout_max_profiles: i64,
    /// Recommendation models older than this (seconds) are rebuilt from the
    /// held orders on the next request that needs them (see [`recommend`]).
    pub recommendations_max_age_secs: u64,
    /// The `nearest_store` Liquid global looks this far (km) from the
    /// customer; beyond, it is `null`. In (0, 20040].
    #[serde(deserialize_with = "within_km")]
    pub nearest_store_within_km: f64,
    /// A reported position (`context.location`) at most this old (seconds)
    /// is where a customer is; an older one comes after the home shop
    /// ([`views::profile_origin`]).
    pub last_location_max_age_secs: u64,
}

/// Reads a search radius, refusing one no search can use.
fn within_km<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let km = f64::deserialize(d)?;
    if km > 0.0 && km <= views::MAX_WITHIN_KM {
        Ok(km)
    } else {
        Err(serde::de::Error::custom(format!(
            "{km} km is not within (0, {}]",
            views::MAX_WITHIN_KM
        )))
    }
}

impl Default for CatalogConfig {
    fn default() -> Self {
        let stock = StockConfig::default();
        CatalogConfig {
            low_stock: stock.low_stock,
            online_locations: stock.online_locations,
            price_drop_min_amount: 0,
            price_drop_min_basis_points: 0,
            fanout_max_profiles: 100_000,
            recommendations_max_age_secs: 3_600,
            nearest_store_within_km: views::DEFAULT_WITHIN_KM,
            last_location_max_age_secs: 86_400,
        }
    }
}

impl CatalogConfig {
    pub fn drop_rule(&self) -> DropRule {
        DropRule {
            min_amount: self.price_drop_min_amount,
            min_basis_points: self.price_drop_min_basis_points,
        }
    }
    fn stock(&self) -> StockConfig {
        StockConfig {
            low_stock: self.low_stock,
            online_locations: self.online_locations.clone(),
        }
    }
}

/// A workspace's commerce context in memory, as of `revision`.
pub struct Loaded {
    /// The store's revision this state reflects; -1: to be (re)loaded.
    pub revision: i64,
    pub catalog: Catalog,
    pub book: StockBook,
    pub shops: ShopDirectory,
}

impl Loaded {
    fn empty(config: &CatalogConfig) -> Loaded {
        Loaded {
            revision: -1,
            catalog: Catalog::new(config.drop_rule()),
            book: StockBook::new(config.stock()),
            shops: ShopDirectory::default(),
        }
    }
}

/// The commerce contexts of all workspaces, over one store.
pub struct Commerce {
    pub(crate) store: DynStore,
    pub(crate) sources: Arc<InternalSources>,
    pub config: CatalogConfig,
    states: Mutex<HashMap<WorkspaceId, Arc<RwLock<Loaded>>>>,
    /// Recommendation models per workspace ([`recommend`]).
    models: Mutex<HashMap<WorkspaceId, Arc<recommend::Models>>>,
    /// Held while models are built (one build at a time).
    building: tokio::sync::Mutex<()>,
}

impl Commerce {
    pub fn new(store: DynStore, sources: Arc<InternalSources>, config: CatalogConfig) -> Commerce {
        Commerce {
            store,
            sources,
            config,
            states: Mutex::new(HashMap::new()),
            models: Mutex::new(HashMap::new()),
            building: tokio::sync::Mutex::new(()),
        }
    }

    fn slot(&self, ws: WorkspaceId) -> Arc<RwLock<Loaded>> {
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states
            .entry(ws)
            .or_insert_with(|| Arc::new(RwLock::new(Loaded::empty(&self.config))))
            .clone()
    }

    /// The workspace's state for a query, reloaded first if the store has
    /// moved on.
    pub async fn read(&self, ws: WorkspaceId) -> Result<OwnedRwLockReadGuard<Loaded>, Error> {
        let slot = self.slot(ws);
        let revision = self.store.catalog_revision(ws).await?;
        let state = slot.clone().read_owned().await;
        if state.revision == revision {
            return Ok(state);
        }
        drop(state);
        let mut state = slot.write_owned().await;
        self.refresh(ws, &mut state).await?;
        Ok(OwnedRwLockWriteGuard::downgrade(state))
    }

    /// The workspace's state for a write, current with the store.
    pub(crate) async fn write_lock(&self, ws: WorkspaceId) -> Result<OwnedRwLockWriteGuard<Loaded>, Error> {
        let mut state = self.slot(ws).write_owned().await;
        self.refresh(ws, &mut state).await?;
        Ok(state)
    }

    /// After a failed write: the state is dropped (to be reloaded), and
    /// `Ok` says to try again (another writer moved the revision on).
    pub(crate) fn retry(state: &mut Loaded, e: StoreError, tries: &mut usize) -> Result<(), Error> {
        state.revision = -1;
        *tries += 1;
        match e {
            StoreError::Conflict(_) if *tries < WRITE_TRIES => Ok(()),
            e => Err(e.into()),
        }
    }

    async fn refresh(&self, ws: WorkspaceId, state: &mut Loaded) -> Result<(), Error> {
        let revision = self.store.catalog_revision(ws).await?;
        if state.revision != revision {
            *state = self.load(ws, revision).await?;
        }
        Ok(())
    }

    /// Reads the whole context: products, then variants (they need their
    /// product), shops, stock levels (a baseline: no signal).
    async fn load(&self, ws: WorkspaceId, revision: i64) -> Result<Loaded, Error> {
        let started = std::time::Instant::now();
        let mut state = Loaded::empty(&self.config);
        state.revision = revision;
        let mut unreadable = 0usize;
        for kind in [CatalogKind::Product, CatalogKind::Variant] {
            let mut after: Option<String> = None;
            loop {
                let page = self
                    .store
                    .list_catalog_items(ws, kind, after.as_deref(), LOAD_PAGE)
                    .await?;
                for rec in &page {
                    let item = match kind {
                        CatalogKind::Product => serde_json::from_str(&rec.doc).map(CatalogItem::Product),
                        CatalogKind::Variant => serde_json::from_str(&rec.doc).map(CatalogItem::Variant),
                    };
                    let applied = item
                        .map_err(|e| e.to_string())
                        .and_then(|item| state.catalog.upsert(item).map(drop).map_err(|e| e.to_string()));
                    if let Err(e) = applied {
                        unreadable += 1;
                        tracing::warn!(workspace = %ws, kind = kind.as_str(), id = %rec.id, error = %e,
                            "stored catalog item skipped");
                    }
                }
                match page.last() {
                    Some(last) if page.len() == LOAD_PAGE => after = Some(last.id.clone()),
                    _ => break,
                }
            }
        }
        let mut shops: Vec<Shop> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.list_shops(ws, after.as_deref(), LOAD_PAGE).await?;
            for rec in &page {
                match serde_json::from_str::<Shop>(&rec.doc) {
                    Ok(s) => shops.push(s),
                    Err(e) => {
                        unreadable += 1;
                        tracing::warn!(workspace = %ws, id = %rec.id, error = %e, "stored shop skipped");
                    }
                }
            }
            match page.last() {
                Some(last) if page.len() == LOAD_PAGE => after = Some(last.id.clone()),
                _ => break,
            }
        }
        state.shops = ShopDirectory::new(shops);
        let mut after: Option<(String, String)> = None;
        loop {
            let key = after.as_ref().map(|(l, s)| (l.as_str(), s.as_str()));
            let page = self.store.list_stock_levels(ws, key, LOAD_PAGE).await?;
            for l in &page {
                if let Err(e) = state.book.apply(&l.location_id, &l.sku, l.quantity, Mode::Set) {
                    unreadable += 1;
                    tracing::warn!(workspace = %ws, location = %l.location_id, sku = %l.sku, error = %e,
                        "stored stock level skipped");
                }
            }
            match page.last() {
                Some(last) if page.len() == LOAD_PAGE => {
                    after = Some((last.location_id.clone(), last.sku.clone()))
                }
                _ => break,
            }
        }
        tracing::info!(
            workspace = %ws,
            revision,
            products = state.catalog.len(),
            shops = state.shops.len(),
            levels = state.book.level_count(),
            unreadable,
            ms = started.elapsed().as_millis() as u64,
            "commerce context loaded"
        );
        Ok(state)
    }
}
