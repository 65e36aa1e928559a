//! The commerce context on SQLite: catalog items, shops and stock levels,
//! each write one transaction on the single writer that first checks and
//! moves on the workspace's catalog revision.

use super::commit::append_emitted;
use super::*;
use crate::catalog_types::stale_revision;

/// Moves the workspace's revision from `expect` to `expect + 1`; `Err` with
/// the current revision when it is not `expect` (nothing written then).
fn advance(tx: &Transaction, ws: WorkspaceId, expect: i64) -> rusqlite::Result<Result<i64, i64>> {
    let current: i64 = tx
        .prepare_cached("SELECT revision FROM catalog_revisions WHERE workspace_id = ?1")?
        .query_row([ws.0], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    if current != expect {
        return Ok(Err(current));
    }
    tx.prepare_cached(
        "INSERT INTO catalog_revisions (workspace_id, revision) VALUES (?1, ?2)
         ON CONFLICT (workspace_id) DO UPDATE SET revision = excluded.revision",
    )?
    .execute(params![ws.0, expect + 1])?;
    Ok(Ok(expect + 1))
}

/// One guarded write: `f` runs after the revision check, in its transaction.
async fn guarded<F>(store: &SqliteStore, ws: WorkspaceId, expect: i64, f: F) -> StoreResult<i64>
where
    F: FnOnce(&Transaction) -> rusqlite::Result<()>,
{
    let out = store
        .write(|c| {
            let tx = c.transaction()?;
            let next = advance(&tx, ws, expect)?;
            if next.is_ok() {
                f(&tx)?;
                tx.commit()?;
            }
            Ok(next)
        })
        .await?;
    out.map_err(|current| stale_revision(ws, expect, current))
}

fn item_row(r: &rusqlite::Row) -> rusqlite::Result<CatalogItemRecord> {
    let kind: String = r.get(0)?;
    Ok(CatalogItemRecord {
        kind: CatalogKind::parse(&kind).unwrap_or(CatalogKind::Product),
        id: r.get(1)?,
        doc: r.get(2)?,
        updated_at: r.get(3)?,
    })
}

fn shop_row(r: &rusqlite::Row) -> rusqlite::Result<ShopRecord> {
    Ok(ShopRecord {
        id: r.get(0)?,
        doc: r.get(1)?,
        updated_at: r.get(2)?,
    })
}

fn level_row(r: &rusqlite::Row) -> rusqlite::Result<StockLevel> {
    Ok(StockLevel {
        location_id: r.get(0)?,
        sku: r.get(1)?,
        quantity: r.get(2)?,
        updated_at: r.get(3)?,
    })
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn catalog_revision(&self, ws: WorkspaceId) -> StoreResult<CatalogRevision> {
        self.read(move |c| {
            c.prepare_cached("SELECT revision FROM catalog_revisions WHERE workspace_id = ?1")?
                .query_row([ws.0], |r| r.get(0))
                .optional()
                .map(Option::unwrap_or_default)
        })
        .await
    }

    async fn put_catalog_items(
        &self,
        ws: WorkspaceId,
        expect: CatalogRevision,
        items: &[CatalogItemRecord],
        emitted: &[EmittedEvent],
    ) -> StoreResult<CatalogRevision> {
        guarded(self, ws, expect, |tx| {
            let mut st = tx.prepare_cached(
                "INSERT INTO catalog_items (workspace_id, kind, id, doc, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (workspace_id, kind, id) DO UPDATE SET
                   doc = excluded.doc, updated_at = excluded.updated_at",
            )?;
            for i in items {
                st.execute(params![ws.0, i.kind.as_str(), i.id, i.doc, i.updated_at])?;
            }
            append_emitted(tx, emitted)
        })
        .await
    }

    async fn get_catalog_item(
        &self,
        ws: WorkspaceId,
        kind: CatalogKind,
        id: &str,
    ) -> StoreResult<Option<CatalogItemRecord>> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT kind, id, doc, updated_at FROM catalog_items
                 WHERE workspace_id = ?1 AND kind = ?2 AND id = ?3",
            )?
            .query_row(params![ws.0, kind.as_str(), id], item_row)
            .optional()
        })
        .await
    }

    async fn list_catalog_items(
        &self,
        ws: WorkspaceId,
        kind: CatalogKind,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<CatalogItemRecord>> {
        let after = after.map(str::to_owned);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            // Two statements rather than `?3 IS NULL OR id > ?3`, which would
            // not seek in the primary key: each page would scan from the start.
            const COLS: &str = "SELECT kind, id, doc, updated_at FROM catalog_items";
            match after {
                None => c
                    .prepare_cached(&format!(
                        "{COLS} WHERE workspace_id = ?1 AND kind = ?2 ORDER BY id LIMIT ?3"
                    ))?
                    .query_map(params![ws.0, kind.as_str(), limit], item_row)?
                    .collect(),
                Some(a) => c
                    .prepare_cached(&format!(
                        "{COLS} WHERE workspace_id = ?1 AND kind = ?2 AND id > ?3 ORDER BY id LIMIT ?4"
                    ))?
                    .query_map(params![ws.0, kind.as_str(), a, limit], item_row)?
                    .collect(),
            }
        })
        .await
    }

    async fn put_shops(
        &self,
        ws: WorkspaceId,
        expect: CatalogRevision,
        shops: &[ShopRecord],
    ) -> StoreResult<CatalogRevision> {
        guarded(self, ws, expect, |tx| {
            let mut st = tx.prepare_cached(
                "INSERT INTO shops (workspace_id, id, doc, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (workspace_id, id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
            )?;
            for s in shops {
                st.execute(params![ws.0, s.id, s.doc, s.updated_at])?;
            }
            Ok(())
        })
        .await
    }

    async fn list_shops(
        &self,
        ws: WorkspaceId,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ShopRecord>> {
        let after = after.map(str::to_owned);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            const COLS: &str = "SELECT id, doc, updated_at FROM shops";
            match after {
                None => c
                    .prepare_cached(&format!("{COLS} WHERE workspace_id = ?1 ORDER BY id LIMIT ?2"))?
                    .query_map(params![ws.0, limit], shop_row)?
                    .collect(),
                Some(a) => c
                    .prepare_cached(&format!(
                        "{COLS} WHERE workspace_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                    ))?
                    .query_map(params![ws.0, a, limit], shop_row)?
                    .collect(),
            }
        })
        .await
    }

    async fn put_stock_levels(
        &self,
        ws: WorkspaceId,
        expect: CatalogRevision,
        levels: &[StockLevel],
        emitted: &[EmittedEvent],
    ) -> StoreResult<CatalogRevision> {
        guarded(self, ws, expect, |tx| {
            let mut st = tx.prepare_cached(
                "INSERT INTO stock_levels (workspace_id, location_id, sku, quantity, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (workspace_id, location_id, sku) DO UPDATE SET
                   quantity = excluded.quantity, updated_at = excluded.updated_at",
            )?;
            for l in levels {
                st.execute(params![ws.0, l.location_id, l.sku, l.quantity, l.updated_at])?;
            }
            append_emitted(tx, emitted)
        })
        .await
    }

    async fn list_stock_levels(
        &self,
        ws: WorkspaceId,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> StoreResult<Vec<StockLevel>> {
        let after = after.map(|(l, s)| (l.to_owned(), s.to_owned()));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            const COLS: &str = "SELECT location_id, sku, quantity, updated_at FROM stock_levels";
            match after {
                None => c
                    .prepare_cached(&format!(
                        "{COLS} WHERE workspace_id = ?1 ORDER BY location_id, sku LIMIT ?2"
                    ))?
                    .query_map(params![ws.0, limit], level_row)?
                    .collect(),
                Some((l, s)) => c
                    .prepare_cached(&format!(
                        "{COLS} WHERE workspace_id = ?1 AND (location_id, sku) > (?2, ?3)
                         ORDER BY location_id, sku LIMIT ?4"
                    ))?
                    .query_map(params![ws.0, l, s, limit], level_row)?
                    .collect(),
            }
        })
        .await
    }
}
