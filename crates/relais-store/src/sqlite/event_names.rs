//! The catalogue of event names on SQLite (see `crate::event_names`).

use super::*;
use crate::event_names::merge_event_names;

fn name_row(r: &rusqlite::Row) -> rusqlite::Result<EventNameRecord> {
    Ok(EventNameRecord {
        workspace_id: WorkspaceId(r.get(0)?),
        name: r.get(1)?,
        first_seen: r.get(2)?,
        last_seen: r.get(3)?,
        count: r.get(4)?,
    })
}

#[async_trait]
impl EventNameStore for SqliteStore {
    async fn record_event_names(&self, seen: &[EventNameRecord]) -> StoreResult<()> {
        if seen.is_empty() {
            return Ok(());
        }
        let rows = merge_event_names(seen);
        self.write(move |c| {
            let tx = c.transaction()?;
            {
                let mut st = tx.prepare_cached(
                    "INSERT INTO event_names (workspace_id, name, first_seen, last_seen, count)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (workspace_id, name) DO UPDATE SET
                       first_seen = min(first_seen, excluded.first_seen),
                       last_seen = max(last_seen, excluded.last_seen),
                       count = count + excluded.count",
                )?;
                for r in &rows {
                    st.execute(params![
                        r.workspace_id.0,
                        r.name,
                        r.first_seen,
                        r.last_seen,
                        r.count
                    ])?;
                }
            }
            tx.commit()
        })
        .await
    }

    async fn event_names(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<EventNameRecord>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT workspace_id, name, first_seen, last_seen, count FROM event_names
                 WHERE ?1 IS NULL OR workspace_id = ?1 ORDER BY workspace_id, name",
            )?
            .query_map([ws.map(|w| w.0)], name_row)?
            .collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    /// An installation upgraded to this version finds the names its
    /// timeline already holds (tracked ones, not too long) in the catalogue.
    #[test]
    fn the_migration_catalogues_names_already_on_the_timeline() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("relais.db")).unwrap();
        let (new, older): (Vec<_>, Vec<_>) = super::super::MIGRATIONS
            .iter()
            .partition(|(_, sql)| sql.contains("CREATE TABLE event_names"));
        for (_, sql) in older {
            conn.execute_batch(sql).unwrap();
        }
        let long = "x".repeat(300);
        let rows: [(i64, i64, i64, i64, &str, &str); 6] = [
            (1, 1, 1, 100, "track", "Order Completed"),
            (1, 2, 2, 50, "track", "Order Completed"),
            (1, 1, 3, 70, "page", "Home"),
            (1, 1, 4, 80, "identify", ""),
            (2, 1, 5, 90, "track", "Cart Viewed"),
            (1, 1, 6, 10, "track", &long),
        ];
        for (ws, p, seq, at, kind, name) in rows {
            conn.execute(
                "INSERT INTO timeline (workspace_id, profile_id, seq, timestamp, kind, name, channel)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'web')",
                rusqlite::params![ws, p, seq, at, kind, name],
            )
            .unwrap();
        }
        assert_eq!(new.len(), 1);
        conn.execute_batch(new[0].1).unwrap();
        let got: Vec<(i64, String, i64, i64, i64)> = conn
            .prepare("SELECT workspace_id, name, first_seen, last_seen, count FROM event_names ORDER BY 1, 2")
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            got,
            vec![
                (1, "Order Completed".to_owned(), 50, 100, 2),
                (2, "Cart Viewed".to_owned(), 90, 90, 1)
            ]
        );
    }
}
