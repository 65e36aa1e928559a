//! RFM cut points on PostgreSQL, and restarting the backfill of a segment
//! whose inputs (such as those cut points) changed.

use super::*;

const RFM_COLS: &str = "workspace_id, recency_20, recency_40, recency_60, recency_80, \
                        frequency_20, frequency_40, frequency_60, frequency_80, \
                        monetary_20, monetary_40, monetary_60, monetary_80, buyers, computed_at";

fn rfm_row(r: &Row) -> RfmThresholds {
    let four = |at: usize| [r.get(at), r.get(at + 1), r.get(at + 2), r.get(at + 3)];
    RfmThresholds {
        workspace_id: WorkspaceId(r.get(0)),
        recency: four(1),
        frequency: four(5),
        monetary: four(9),
        buyers: r.get(13),
        computed_at: r.get(14),
    }
}

pub(super) async fn restart_backfill(store: &PgStore, ws: WorkspaceId, id: SegmentId) -> StoreResult<bool> {
    let client = store.client().await?;
    // The row lock orders this after a processor commit that locked the
    // segment (see `commit::lock_segments`): its progress is then stale.
    let rows = query_cached(
        &client,
        "UPDATE segments SET version = version + 1, status = $3, backfill_cursor = 0, backfill_done = 0
         WHERE workspace_id = $1 AND id = $2 RETURNING id",
        &[&ws.0, &id.0, &SegmentStatus::Backfilling.as_str()],
    )
    .await?;
    Ok(!rows.is_empty())
}

pub(super) async fn put_rfm_thresholds(
    store: &PgStore,
    ws: WorkspaceId,
    t: &RfmThresholds,
) -> StoreResult<bool> {
    let (r, f, m) = (t.recency, t.frequency, t.monetary);
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!(
            "INSERT INTO rfm_thresholds ({RFM_COLS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (workspace_id) DO UPDATE SET
               recency_20 = excluded.recency_20, recency_40 = excluded.recency_40,
               recency_60 = excluded.recency_60, recency_80 = excluded.recency_80,
               frequency_20 = excluded.frequency_20, frequency_40 = excluded.frequency_40,
               frequency_60 = excluded.frequency_60, frequency_80 = excluded.frequency_80,
               monetary_20 = excluded.monetary_20, monetary_40 = excluded.monetary_40,
               monetary_60 = excluded.monetary_60, monetary_80 = excluded.monetary_80,
               buyers = excluded.buyers, computed_at = excluded.computed_at
             WHERE excluded.computed_at >= rfm_thresholds.computed_at
             RETURNING workspace_id"
        ),
        &[
            &ws.0,
            &r[0],
            &r[1],
            &r[2],
            &r[3],
            &f[0],
            &f[1],
            &f[2],
            &f[3],
            &m[0],
            &m[1],
            &m[2],
            &m[3],
            &t.buyers,
            &t.computed_at,
        ],
    )
    .await?;
    Ok(!rows.is_empty())
}

pub(super) async fn rfm_thresholds(
    store: &PgStore,
    ws: Option<WorkspaceId>,
) -> StoreResult<Vec<RfmThresholds>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!(
            "SELECT {RFM_COLS} FROM rfm_thresholds
             WHERE $1::bigint IS NULL OR workspace_id = $1 ORDER BY workspace_id"
        ),
        &[&ws.map(|w| w.0)],
    )
    .await?;
    Ok(rows.iter().map(rfm_row).collect())
}
