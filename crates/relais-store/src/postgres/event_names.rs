//! The catalogue of event names on PostgreSQL (see `crate::event_names`):
//! one `UNNEST` upsert per write.

use super::*;
use crate::event_names::merge_event_names;

#[async_trait]
impl EventNameStore for PgStore {
    async fn record_event_names(&self, seen: &[EventNameRecord]) -> StoreResult<()> {
        if seen.is_empty() {
            return Ok(());
        }
        let rows = merge_event_names(seen);
        let ws: Vec<i64> = rows.iter().map(|r| r.workspace_id.0).collect();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let first: Vec<i64> = rows.iter().map(|r| r.first_seen).collect();
        let last: Vec<i64> = rows.iter().map(|r| r.last_seen).collect();
        let count: Vec<i64> = rows.iter().map(|r| r.count).collect();
        let client = self.client().await?;
        let st = client
            .prepare_cached(
                "INSERT INTO event_names (workspace_id, name, first_seen, last_seen, count)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
                 ON CONFLICT (workspace_id, name) DO UPDATE SET
                   first_seen = LEAST(event_names.first_seen, excluded.first_seen),
                   last_seen = GREATEST(event_names.last_seen, excluded.last_seen),
                   count = event_names.count + excluded.count",
            )
            .await
            .map_err(map_pg)?;
        client
            .execute(&st, &[&ws, &names, &first, &last, &count])
            .await
            .map_err(map_pg)?;
        Ok(())
    }

    async fn event_names(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<EventNameRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT workspace_id, name, first_seen, last_seen, count FROM event_names
             WHERE $1::bigint IS NULL OR workspace_id = $1 ORDER BY workspace_id, name",
            &[&ws.map(|w| w.0)],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| EventNameRecord {
                workspace_id: WorkspaceId(r.get(0)),
                name: r.get(1),
                first_seen: r.get(2),
                last_seen: r.get(3),
                count: r.get(4),
            })
            .collect())
    }
}
