//! The commerce context on PostgreSQL: catalog items, shops and stock
//! levels in bulk `UNNEST` statements, each write one transaction that
//! first moves the workspace's catalog revision on (`UPDATE … WHERE
//! revision = expected`: of two nodes writing from the same revision, the
//! second waits for the first and is then refused). Events go through
//! `messages::finish`, under the append lock like every writer of the log.

use super::messages::{exec, finish, Tx};
use super::*;
use crate::catalog_types::stale_revision;

/// Rows per bulk statement: arrays stay a few MB however large the batch.
const CHUNK: usize = 10_000;

async fn advance(tx: &Tx<'_>, ws: WorkspaceId, expect: i64) -> StoreResult<i64> {
    exec(
        tx,
        "INSERT INTO catalog_revisions (workspace_id, revision) VALUES ($1, 0) ON CONFLICT DO NOTHING",
        &[&ws.0],
    )
    .await?;
    let st = tx
        .prepare_cached(
            "UPDATE catalog_revisions SET revision = revision + 1
             WHERE workspace_id = $1 AND revision = $2 RETURNING revision",
        )
        .await
        .map_err(map_pg)?;
    if let Some(r) = tx.query_opt(&st, &[&ws.0, &expect]).await.map_err(map_pg)? {
        return Ok(r.get(0));
    }
    let current: i64 = tx
        .query_one(
            "SELECT revision FROM catalog_revisions WHERE workspace_id = $1",
            &[&ws.0],
        )
        .await
        .map_err(map_pg)?
        .get(0);
    Err(stale_revision(ws, expect, current))
}

fn item_row(r: &Row) -> CatalogItemRecord {
    CatalogItemRecord {
        kind: CatalogKind::parse(r.get(0)).unwrap_or(CatalogKind::Product),
        id: r.get(1),
        doc: r.get(2),
        updated_at: r.get(3),
    }
}

fn shop_row(r: &Row) -> ShopRecord {
    ShopRecord {
        id: r.get(0),
        doc: r.get(1),
        updated_at: r.get(2),
    }
}

fn level_row(r: &Row) -> StockLevel {
    StockLevel {
        location_id: r.get(0),
        sku: r.get(1),
        quantity: r.get(2),
        updated_at: r.get(3),
    }
}

#[async_trait]
impl CatalogStore for PgStore {
    async fn catalog_revision(&self, ws: WorkspaceId) -> StoreResult<CatalogRevision> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT revision FROM catalog_revisions WHERE workspace_id = $1",
            &[&ws.0],
        )
        .await?;
        Ok(rows.first().map_or(0, |r| r.get(0)))
    }

    async fn put_catalog_items(
        &self,
        ws: WorkspaceId,
        expect: CatalogRevision,
        items: &[CatalogItemRecord],
        emitted: &[EmittedEvent],
    ) -> StoreResult<CatalogRevision> {
        let items = last_wins(items, |i| (i.kind, i.id.as_str()));
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        let revision = advance(&tx, ws, expect).await?;
        for chunk in items.chunks(CHUNK) {
            let kind: Vec<&str> = chunk.iter().map(|i| i.kind.as_str()).collect();
            let id: Vec<&str> = chunk.iter().map(|i| i.id.as_str()).collect();
            let doc: Vec<&str> = chunk.iter().map(|i| i.doc.as_str()).collect();
            let at: Vec<i64> = chunk.iter().map(|i| i.updated_at).collect();
            exec(
                &tx,
                "INSERT INTO catalog_items (workspace_id, kind, id, doc, updated_at)
                 SELECT $1, u.kind, u.id, u.doc, u.updated_at
                 FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bigint[]) AS u(kind, id, doc, updated_at)
                 ON CONFLICT (workspace_id, kind, id) DO UPDATE SET
                   doc = excluded.doc, updated_at = excluded.updated_at",
                &[&ws.0, &kind, &id, &doc, &at],
            )
            .await?;
        }
        finish(self, tx, None, emitted).await?;
        Ok(revision)
    }

    async fn get_catalog_item(
        &self,
        ws: WorkspaceId,
        kind: CatalogKind,
        id: &str,
    ) -> StoreResult<Option<CatalogItemRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT kind, id, doc, updated_at FROM catalog_items
             WHERE workspace_id = $1 AND kind = $2 AND id = $3",
            &[&ws.0, &kind.as_str(), &id],
        )
        .await?;
        Ok(rows.first().map(item_row))
    }

    async fn list_catalog_items(
        &self,
        ws: WorkspaceId,
        kind: CatalogKind,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<CatalogItemRecord>> {
        let client = self.client().await?;
        const COLS: &str =
            "SELECT kind, id, doc, updated_at FROM catalog_items WHERE workspace_id = $1 AND kind = $2";
        // Two statements: `$3 IS NULL OR id > $3` would not seek in the key.
        let rows = match after {
            None => {
                query_cached(
                    &client,
                    &format!("{COLS} ORDER BY id LIMIT $3"),
                    &[&ws.0, &kind.as_str(), &sql_limit(limit)],
                )
                .await?
            }
            Some(a) => {
                query_cached(
                    &client,
                    &format!("{COLS} AND id > $3 ORDER BY id LIMIT $4"),
                    &[&ws.0, &kind.as_str(), &a, &sql_limit(limit)],
                )
                .await?
            }
        };
        Ok(rows.iter().map(item_row).collect())
    }

    async fn put_shops(
        &self,
        ws: WorkspaceId,
        expect: CatalogRevision,
        shops: &[ShopRecord],
    ) -> StoreResult<CatalogRevision> {
        let shops = last_wins(shops, |s| s.id.as_str());
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        let revision = advance(&tx, ws, expect).await?;
        for chunk in shops.chunks(CHUNK) {
            let id: Vec<&str> = chunk.iter().map(|s| s.id.as_str()).collect();
            let doc: Vec<&str> = chunk.iter().map(|s| s.doc.as_str()).collect();
            let at: Vec<i64> = chunk.iter().map(|s| s.updated_at).collect();
            exec(
                &tx,
                "INSERT INTO shops (workspace_id, id, doc, updated_at)
                 SELECT $1, u.id, u.doc, u.updated_at
                 FROM UNNEST($2::text[], $3::text[], $4::bigint[]) AS u(id, doc, updated_at)
                 ON CONFLICT (workspace_id, id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
                &[&ws.0, &id, &doc, &at],
            )
            .await?;
        }
        finish(self, tx, None, &[]).await?;
        Ok(revision)
    }

    async fn list_shops(
        &self,
        ws: WorkspaceId,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ShopRecord>> {
        let client = self.client().await?;
        const COLS: &str = "SELECT id, doc, updated_at FROM shops WHERE workspace_id = $1";
        let rows = match after {
            None => {
                query_cached(
                    &client,
                    &format!("{COLS} ORDER BY id LIMIT $2"),
                    &[&ws.0, &sql_limit(limit)],
                )
                .await?
            }
            Some(a) => {
                query_cached(
                    &client,
                    &format!("{COLS} AND id > $2 ORDER BY id LIMIT $3"),
                    &[&ws.0, &a, &sql_limit(limit)],
                )
                .await?
            }
        };
        Ok(rows.iter().map(shop_row).collect())
    }

    async fn put_stock_levels(
        &self,
        ws: WorkspaceId,
        expect: CatalogRevision,
        levels: &[StockLevel],
        emitted: &[EmittedEvent],
    ) -> StoreResult<CatalogRevision> {
        let levels = last_wins(levels, |l| (l.location_id.as_str(), l.sku.as_str()));
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        let revision = advance(&tx, ws, expect).await?;
        for chunk in levels.chunks(CHUNK) {
            let loc: Vec<&str> = chunk.iter().map(|l| l.location_id.as_str()).collect();
            let sku: Vec<&str> = chunk.iter().map(|l| l.sku.as_str()).collect();
            let qty: Vec<i32> = chunk.iter().map(|l| l.quantity).collect();
            let at: Vec<i64> = chunk.iter().map(|l| l.updated_at).collect();
            exec(
                &tx,
                "INSERT INTO stock_levels (workspace_id, location_id, sku, quantity, updated_at)
                 SELECT $1, u.loc, u.sku, u.qty, u.at
                 FROM UNNEST($2::text[], $3::text[], $4::int4[], $5::bigint[]) AS u(loc, sku, qty, at)
                 ON CONFLICT (workspace_id, location_id, sku) DO UPDATE SET
                   quantity = excluded.quantity, updated_at = excluded.updated_at",
                &[&ws.0, &loc, &sku, &qty, &at],
            )
            .await?;
        }
        finish(self, tx, None, emitted).await?;
        Ok(revision)
    }

    async fn list_stock_levels(
        &self,
        ws: WorkspaceId,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> StoreResult<Vec<StockLevel>> {
        let client = self.client().await?;
        const COLS: &str = "SELECT location_id, sku, quantity, updated_at FROM stock_levels";
        let rows = match after {
            None => {
                query_cached(
                    &client,
                    &format!("{COLS} WHERE workspace_id = $1 ORDER BY location_id, sku LIMIT $2"),
                    &[&ws.0, &sql_limit(limit)],
                )
                .await?
            }
            Some((loc, sku)) => {
                query_cached(
                    &client,
                    &format!(
                        "{COLS} WHERE workspace_id = $1 AND (location_id, sku) > ($2, $3)
                         ORDER BY location_id, sku LIMIT $4"
                    ),
                    &[&ws.0, &loc, &sku, &sql_limit(limit)],
                )
                .await?
            }
        };
        Ok(rows.iter().map(level_row).collect())
    }
}
