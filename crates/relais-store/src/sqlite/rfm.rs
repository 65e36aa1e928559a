//! RFM cut points on SQLite, and restarting the backfill of a segment whose
//! inputs (such as those cut points) changed.

use super::*;

pub(super) const RFM_COLS: &str = "workspace_id, recency_20, recency_40, recency_60, recency_80, \
                                   frequency_20, frequency_40, frequency_60, frequency_80, \
                                   monetary_20, monetary_40, monetary_60, monetary_80, buyers, computed_at";

fn rfm_row(r: &rusqlite::Row) -> rusqlite::Result<RfmThresholds> {
    let four = |at: usize| -> rusqlite::Result<[f64; 4]> {
        Ok([r.get(at)?, r.get(at + 1)?, r.get(at + 2)?, r.get(at + 3)?])
    };
    Ok(RfmThresholds {
        workspace_id: WorkspaceId(r.get(0)?),
        recency: four(1)?,
        frequency: four(5)?,
        monetary: four(9)?,
        buyers: r.get(13)?,
        computed_at: r.get(14)?,
    })
}

pub(super) async fn restart_backfill(
    store: &SqliteStore,
    ws: WorkspaceId,
    id: SegmentId,
) -> StoreResult<bool> {
    store
        .write(|c| {
            c.prepare_cached(
                "UPDATE segments SET version = version + 1, status = ?3, backfill_cursor = 0, backfill_done = 0
                 WHERE workspace_id = ?1 AND id = ?2",
            )?
            .execute(params![ws.0, id.0, SegmentStatus::Backfilling.as_str()])
            .map(|n| n > 0)
        })
        .await
}

pub(super) async fn put_rfm_thresholds(
    store: &SqliteStore,
    ws: WorkspaceId,
    t: &RfmThresholds,
) -> StoreResult<bool> {
    let (r, f, m) = (t.recency, t.frequency, t.monetary);
    store
        .write(|c| {
            c.prepare_cached(&format!(
                "INSERT INTO rfm_thresholds ({RFM_COLS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT (workspace_id) DO UPDATE SET
                   recency_20 = excluded.recency_20, recency_40 = excluded.recency_40,
                   recency_60 = excluded.recency_60, recency_80 = excluded.recency_80,
                   frequency_20 = excluded.frequency_20, frequency_40 = excluded.frequency_40,
                   frequency_60 = excluded.frequency_60, frequency_80 = excluded.frequency_80,
                   monetary_20 = excluded.monetary_20, monetary_40 = excluded.monetary_40,
                   monetary_60 = excluded.monetary_60, monetary_80 = excluded.monetary_80,
                   buyers = excluded.buyers, computed_at = excluded.computed_at
                 WHERE excluded.computed_at >= rfm_thresholds.computed_at"
            ))?
            .execute(params![
                ws.0,
                r[0],
                r[1],
                r[2],
                r[3],
                f[0],
                f[1],
                f[2],
                f[3],
                m[0],
                m[1],
                m[2],
                m[3],
                t.buyers,
                t.computed_at
            ])
            .map(|n| n > 0)
        })
        .await
}

pub(super) async fn rfm_thresholds(
    store: &SqliteStore,
    ws: Option<WorkspaceId>,
) -> StoreResult<Vec<RfmThresholds>> {
    store
        .read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {RFM_COLS} FROM rfm_thresholds WHERE ?1 IS NULL OR workspace_id = ?1 ORDER BY workspace_id"
            ))?
            .query_map([ws.map(|w| w.0)], rfm_row)?
            .collect()
        })
        .await
}
