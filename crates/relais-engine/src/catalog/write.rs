//! Writes of the commerce context: catalog items, shops, stock updates.
//!
//! Each applies its rows to the workspace's state in order (a refused row
//! is reported with its index or line and does not stop the others, like
//! the tracking batch), then persists what changed — items and shops as
//! documents, stock as the resulting absolute levels — with the per-profile
//! events, in one transaction. Files go through `Commerce::import` in chunks of
//! rows, one transaction each.

use super::fanout::{self, FanoutView};
use super::rows::{At, Row, RowStream};
use super::signals::{self, SignalView, MAX_SIGNALS};
use super::{Commerce, Loaded};
use relais_catalog::import::MAX_REPORTED_ERRORS;
use relais_catalog::product::CatalogItem;
use relais_catalog::shop::Shop;
use relais_catalog::stock::{LocationKey, SkuKey, StockUpdate};
use relais_core::time::now_ms;
use relais_core::{Error, WorkspaceId};
use relais_store::{CatalogItemRecord, CatalogKind, ShopRecord, StockLevel, StoreError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A row that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowIssue {
    /// Its position in a JSON array (from 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Its line in a CSV or NDJSON body or file (from 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// `field: reason`, or the reason.
    pub message: String,
}

impl std::fmt::Display for RowIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.index, self.line) {
            (Some(i), _) => write!(f, "item {i}: {}", self.message),
            (None, Some(l)) => write!(f, "line {l}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WriteOutcome {
    /// Rows read, good and bad.
    pub received: u64,
    /// Rows applied (a stock row that leaves its level as it was included).
    pub applied: u64,
    /// Products, variants or shops new to the workspace; stock: first levels.
    pub created: u64,
    /// Stock: levels that changed.
    pub changed: u64,
    /// Rows refused (their reasons in `errors`).
    pub failed: u64,
    /// The first 1,000 refused rows.
    pub errors: Vec<RowIssue>,
    /// Price drops and stock transitions, product by product (the first 1,000).
    pub signals: Vec<SignalView>,
    pub signals_total: u64,
    /// Per-profile events written with the change.
    pub events: u64,
    pub fanout: FanoutView,
    /// The workspace's catalog revision after the write.
    pub revision: i64,
}

impl WriteOutcome {
    fn refuse(&mut self, at: At, message: String) {
        self.failed += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            let (index, line) = match at {
                At::Index(i) => (Some(i), None),
                At::Line(l) => (None, Some(l)),
            };
            self.errors.push(RowIssue { index, line, message });
        }
    }

    fn signal(&mut self, views: impl IntoIterator<Item = SignalView>) {
        for v in views {
            self.signals_total += 1;
            if self.signals.len() < MAX_SIGNALS {
                self.signals.push(v);
            }
        }
    }

    /// Adds a later chunk's outcome to this one.
    pub fn absorb(&mut self, o: WriteOutcome) {
        self.received += o.received;
        self.applied += o.applied;
        self.created += o.created;
        self.changed += o.changed;
        self.events += o.events;
        self.fanout.profiles_scanned += o.fanout.profiles_scanned;
        if self.fanout.skipped.is_none() {
            self.fanout.skipped = o.fanout.skipped;
        }
        self.failed += o.failed;
        let room = MAX_REPORTED_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(o.errors.into_iter().take(room));
        self.signals_total += o.signals_total;
        let room = MAX_SIGNALS.saturating_sub(self.signals.len());
        self.signals.extend(o.signals.into_iter().take(room));
        self.revision = o.revision;
    }
}

fn internal(what: &str, e: serde_json::Error) -> StoreError {
    StoreError::Other(format!("cannot serialise {what}: {e}"))
}

impl Commerce {
    /// Upserts products and variants (products before their variants).
    pub async fn put_items(&self, ws: WorkspaceId, rows: &[Row<CatalogItem>]) -> Result<WriteOutcome, Error> {
        let mut tries = 0;
        loop {
            let mut state = self.write_lock(ws).await?;
            match self.items_attempt(ws, &mut state, rows).await {
                Ok(out) => return Ok(out),
                Err(e) => Commerce::retry(&mut state, e, &mut tries)?,
            }
        }
    }

    async fn items_attempt(
        &self,
        ws: WorkspaceId,
        state: &mut Loaded,
        rows: &[Row<CatalogItem>],
    ) -> Result<WriteOutcome, StoreError> {
        let now = now_ms();
        let mut out = WriteOutcome::default();
        let mut records = Vec::new();
        let mut drops = Vec::new();
        for row in rows {
            out.received += 1;
            let item = match &row.value {
                Ok(item) => item.clone(),
                Err(reason) => {
                    out.refuse(row.at, reason.clone());
                    continue;
                }
            };
            let (kind, id, doc) = match &item {
                CatalogItem::Product(p) => (CatalogKind::Product, p.id.to_string(), serde_json::to_string(p)),
                CatalogItem::Variant(v) => (CatalogKind::Variant, v.sku.clone(), serde_json::to_string(v)),
            };
            let doc = doc.map_err(|e| internal("a catalog item", e))?;
            match state.catalog.upsert(item) {
                Ok(u) => {
                    out.applied += 1;
                    out.created += u64::from(u.created);
                    drops.extend(u.price_drop);
                    records.push(CatalogItemRecord {
                        kind,
                        id,
                        doc,
                        updated_at: now,
                    });
                }
                Err(e) => out.refuse(row.at, e.to_string()),
            }
        }
        out.revision = state.revision;
        if records.is_empty() {
            return Ok(out);
        }
        out.signal(drops.iter().map(|d| signals::price(&state.catalog, d)));
        let (emitted, fanout) = fanout::events(self, ws, state, &drops, &[], state.revision + 1, now).await?;
        out.revision = self
            .store
            .put_catalog_items(ws, state.revision, &records, &emitted)
            .await?;
        state.revision = out.revision;
        out.events = emitted.len() as u64;
        out.fanout = fanout;
        Ok(out)
    }

    /// Upserts shops (a shop with a known id replaces it).
    pub async fn put_shops(&self, ws: WorkspaceId, rows: &[Row<Shop>]) -> Result<WriteOutcome, Error> {
        let mut tries = 0;
        loop {
            let mut state = self.write_lock(ws).await?;
            match self.shops_attempt(ws, &mut state, rows).await {
                Ok(out) => return Ok(out),
                Err(e) => Commerce::retry(&mut state, e, &mut tries)?,
            }
        }
    }

    async fn shops_attempt(
        &self,
        ws: WorkspaceId,
        state: &mut Loaded,
        rows: &[Row<Shop>],
    ) -> Result<WriteOutcome, StoreError> {
        let now = now_ms();
        let mut out = WriteOutcome::default();
        let mut records = Vec::new();
        let mut shops = Vec::new();
        let mut seen = HashSet::new();
        for row in rows {
            out.received += 1;
            match &row.value {
                Ok(shop) => {
                    let id = shop.id.to_string();
                    let new = state.shops.get(&id).is_none() && seen.insert(id.clone());
                    out.created += u64::from(new);
                    out.applied += 1;
                    let doc = serde_json::to_string(shop).map_err(|e| internal("a shop", e))?;
                    records.push(ShopRecord {
                        id,
                        doc,
                        updated_at: now,
                    });
                    shops.push(shop.clone());
                }
                Err(reason) => out.refuse(row.at, reason.clone()),
            }
        }
        out.revision = state.revision;
        if records.is_empty() {
            return Ok(out);
        }
        state.shops.upsert(shops);
        out.revision = self.store.put_shops(ws, state.revision, &records).await?;
        state.revision = out.revision;
        Ok(out)
    }

    /// Applies stock updates (levels to set, or deltas) and persists the
    /// levels they leave.
    pub async fn put_stock(&self, ws: WorkspaceId, rows: &[Row<StockUpdate>]) -> Result<WriteOutcome, Error> {
        let mut tries = 0;
        loop {
            let mut state = self.write_lock(ws).await?;
            match self.stock_attempt(ws, &mut state, rows).await {
                Ok(out) => return Ok(out),
                Err(e) => Commerce::retry(&mut state, e, &mut tries)?,
            }
        }
    }

    pub(super) async fn stock_attempt(
        &self,
        ws: WorkspaceId,
        state: &mut Loaded,
        rows: &[Row<StockUpdate>],
    ) -> Result<WriteOutcome, StoreError> {
        let now = now_ms();
        let mut out = WriteOutcome::default();
        // The last level of each (location, SKU) the rows touched.
        let mut levels: Vec<StockLevel> = Vec::new();
        let mut at: HashMap<(LocationKey, SkuKey), usize> = HashMap::new();
        let mut changes = Vec::new();
        for row in rows {
            out.received += 1;
            let update = match &row.value {
                Ok(u) => u,
                Err(reason) => {
                    out.refuse(row.at, reason.clone());
                    continue;
                }
            };
            let change = match state.book.apply_update(update) {
                Ok(change) => change,
                Err(e) => {
                    out.refuse(row.at, e.to_string());
                    continue;
                }
            };
            out.applied += 1;
            let Some(ch) = change else { continue };
            out.changed += 1;
            out.created += u64::from(ch.before.is_none());
            let level = StockLevel {
                location_id: update.location.clone(),
                sku: update.sku.clone(),
                quantity: ch.after,
                updated_at: now,
            };
            match at.get(&(ch.location, ch.sku)) {
                Some(&i) => levels[i] = level,
                None => {
                    at.insert((ch.location, ch.sku), levels.len());
                    levels.push(level);
                }
            }
            if !ch.signals.is_empty() {
                changes.push(ch);
            }
        }
        out.revision = state.revision;
        if levels.is_empty() {
            return Ok(out);
        }
        for ch in &changes {
            out.signal(signals::stock(&state.catalog, &state.book, ch));
        }
        let (emitted, fanout) =
            fanout::events(self, ws, state, &[], &changes, state.revision + 1, now).await?;
        out.revision = self
            .store
            .put_stock_levels(ws, state.revision, &levels, &emitted)
            .await?;
        state.revision = out.revision;
        out.events = emitted.len() as u64;
        out.fanout = fanout;
        Ok(out)
    }

    /// Reads `rows` in chunks of `chunk` rows, each written as above in its
    /// own transaction; `progress` sees the running outcome after each.
    pub async fn import(
        &self,
        ws: WorkspaceId,
        mut rows: RowStream<'_>,
        chunk: usize,
        mut progress: impl FnMut(&WriteOutcome) + Send,
    ) -> Result<WriteOutcome, Error> {
        let chunk = chunk.max(1);
        let mut total = WriteOutcome {
            revision: self.read(ws).await?.revision,
            ..WriteOutcome::default()
        };
        loop {
            let out = match &mut rows {
                RowStream::Items(it) => {
                    let batch: Vec<_> = it.by_ref().take(chunk).collect();
                    if batch.is_empty() {
                        break;
                    }
                    self.put_items(ws, &batch).await?
                }
                RowStream::Shops(it) => {
                    let batch: Vec<_> = it.by_ref().take(chunk).collect();
                    if batch.is_empty() {
                        break;
                    }
                    self.put_shops(ws, &batch).await?
                }
                RowStream::Stock(it) => {
                    let batch: Vec<_> = it.by_ref().take(chunk).collect();
                    if batch.is_empty() {
                        break;
                    }
                    self.put_stock(ws, &batch).await?
                }
            };
            total.absorb(out);
            progress(&total);
        }
        Ok(total)
    }
}
