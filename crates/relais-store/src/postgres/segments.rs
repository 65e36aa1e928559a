//! Segments, memberships, timers and computed traits on PostgreSQL: the
//! segment methods of `Store` (the batch part is in `commit.rs`).

use super::*;

const SEGMENT_COLS: &str = "workspace_id, id, name, description, definition, version, status, \
                            backfill_cursor, backfill_done, backfill_total, created_at, updated_at";
const TRAIT_COLS: &str = "workspace_id, name, definition, created_at, updated_at";

fn segment_row(r: &Row) -> SegmentRecord {
    SegmentRecord {
        workspace_id: WorkspaceId(r.get(0)),
        id: SegmentId(r.get(1)),
        name: r.get(2),
        description: r.get(3),
        definition: r.get(4),
        version: r.get(5),
        // Unknown status: evaluate everything again rather than trust it.
        status: SegmentStatus::parse(r.get(6)).unwrap_or(SegmentStatus::Backfilling),
        backfill_cursor: r.get(7),
        backfill_done: r.get(8),
        backfill_total: r.get(9),
        created_at: r.get(10),
        updated_at: r.get(11),
    }
}

fn trait_row(r: &Row) -> ComputedTraitRecord {
    ComputedTraitRecord {
        workspace_id: WorkspaceId(r.get(0)),
        name: r.get(1),
        definition: r.get(2),
        created_at: r.get(3),
        updated_at: r.get(4),
    }
}

pub(super) async fn create_segment(
    store: &PgStore,
    ws: WorkspaceId,
    name: &str,
    description: &str,
    definition: &str,
    now: i64,
) -> StoreResult<SegmentRecord> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!(
            "INSERT INTO segments (workspace_id, name, description, definition, version, status,
                                   backfill_cursor, backfill_done, backfill_total, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 1, $5, 0, 0, 0, $6, $6)
             ON CONFLICT (workspace_id, name) DO NOTHING
             RETURNING {SEGMENT_COLS}"
        ),
        &[
            &ws.0,
            &name,
            &description,
            &definition,
            &SegmentStatus::Backfilling.as_str(),
            &now,
        ],
    )
    .await?;
    rows.first()
        .map(segment_row)
        .ok_or_else(|| segment_name_taken(name))
}

pub(super) async fn update_segment(
    store: &PgStore,
    ws: WorkspaceId,
    id: SegmentId,
    name: &str,
    description: &str,
    definition: &str,
    now: i64,
) -> StoreResult<Option<SegmentRecord>> {
    let client = store.client().await?;
    // Right-hand sides see the row as it was: `definition = $5` compares
    // with the old definition.
    let updated = query_cached(
        &client,
        &format!(
            "UPDATE segments SET
               version = CASE WHEN definition = $5 THEN version ELSE version + 1 END,
               status = CASE WHEN definition = $5 THEN status ELSE $7 END,
               backfill_cursor = CASE WHEN definition = $5 THEN backfill_cursor ELSE 0 END,
               backfill_done = CASE WHEN definition = $5 THEN backfill_done ELSE 0 END,
               name = $3, description = $4, definition = $5, updated_at = $6
             WHERE workspace_id = $1 AND id = $2
             RETURNING {SEGMENT_COLS}"
        ),
        &[
            &ws.0,
            &id.0,
            &name,
            &description,
            &definition,
            &now,
            &SegmentStatus::Backfilling.as_str(),
        ],
    )
    .await;
    match updated {
        Ok(rows) => Ok(rows.first().map(segment_row)),
        // The only constraint an update can break: (workspace_id, name).
        Err(StoreError::Conflict(_)) => Err(segment_name_taken(name)),
        Err(e) => Err(e),
    }
}

pub(super) async fn delete_segment(store: &PgStore, ws: WorkspaceId, id: SegmentId) -> StoreResult<bool> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(map_pg)?;
    // The segment row first: it waits for a processor commit that locked
    // it, so the members that commit added are visible to (and removed by)
    // the next statement (see `commit::lock_segments`).
    let deleted = tx
        .execute(
            "DELETE FROM segments WHERE workspace_id = $1 AND id = $2",
            &[&ws.0, &id.0],
        )
        .await
        .map_err(map_pg)?;
    tx.execute(
        "DELETE FROM segment_members WHERE workspace_id = $1 AND segment_id = $2",
        &[&ws.0, &id.0],
    )
    .await
    .map_err(map_pg)?;
    tx.commit().await.map_err(map_pg)?;
    Ok(deleted > 0)
}

pub(super) async fn get_segment(
    store: &PgStore,
    ws: WorkspaceId,
    id: SegmentId,
) -> StoreResult<Option<SegmentRecord>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!("SELECT {SEGMENT_COLS} FROM segments WHERE workspace_id = $1 AND id = $2"),
        &[&ws.0, &id.0],
    )
    .await?;
    Ok(rows.first().map(segment_row))
}

pub(super) async fn list_segments(
    store: &PgStore,
    ws: Option<WorkspaceId>,
) -> StoreResult<Vec<SegmentRecord>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!(
            "SELECT {SEGMENT_COLS} FROM segments WHERE $1::bigint IS NULL OR workspace_id = $1 ORDER BY id"
        ),
        &[&ws.map(|w| w.0)],
    )
    .await?;
    Ok(rows.iter().map(segment_row).collect())
}

pub(super) async fn segment_size(store: &PgStore, ws: WorkspaceId, id: SegmentId) -> StoreResult<i64> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT COUNT(*) FROM segment_members WHERE workspace_id = $1 AND segment_id = $2",
        &[&ws.0, &id.0],
    )
    .await?;
    Ok(rows[0].get(0))
}

pub(super) async fn segment_members(
    store: &PgStore,
    ws: WorkspaceId,
    id: SegmentId,
    after: Option<ProfileId>,
    limit: usize,
) -> StoreResult<Vec<Member>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT profile_id, entered_at FROM segment_members
         WHERE workspace_id = $1 AND segment_id = $2 AND profile_id > $3
         ORDER BY profile_id LIMIT $4",
        &[&ws.0, &id.0, &after.map_or(i64::MIN, |p| p.0), &sql_limit(limit)],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| Member {
            profile_id: ProfileId(r.get(0)),
            entered_at: r.get(1),
        })
        .collect())
}

pub(super) async fn profile_segments(
    store: &PgStore,
    ws: WorkspaceId,
    profile: ProfileId,
) -> StoreResult<Vec<(SegmentId, i64)>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT segment_id, entered_at FROM segment_members
         WHERE workspace_id = $1 AND profile_id = $2 ORDER BY segment_id",
        &[&ws.0, &profile.0],
    )
    .await?;
    Ok(rows.iter().map(|r| (SegmentId(r.get(0)), r.get(1))).collect())
}

pub(super) async fn segment_history(
    store: &PgStore,
    ws: WorkspaceId,
    profile: ProfileId,
    limit: usize,
) -> StoreResult<Vec<MembershipChange>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT segment_id, entered, at, cause_seq, cause FROM segment_history
         WHERE workspace_id = $1 AND profile_id = $2 ORDER BY id DESC LIMIT $3",
        &[&ws.0, &profile.0, &sql_limit(limit)],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| MembershipChange {
            workspace_id: ws,
            segment_id: SegmentId(r.get(0)),
            profile_id: profile,
            entered: r.get(1),
            at: r.get(2),
            cause_seq: r.get(3),
            cause: r.get(4),
        })
        .collect())
}

pub(super) async fn profile_ids(
    store: &PgStore,
    ws: WorkspaceId,
    after: ProfileId,
    limit: usize,
) -> StoreResult<Vec<ProfileId>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT id FROM profiles WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        &[&ws.0, &after.0, &sql_limit(limit)],
    )
    .await?;
    Ok(rows.iter().map(|r| ProfileId(r.get(0))).collect())
}

pub(super) async fn count_profiles(store: &PgStore, ws: WorkspaceId) -> StoreResult<i64> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT COUNT(*) FROM profiles WHERE workspace_id = $1",
        &[&ws.0],
    )
    .await?;
    Ok(rows[0].get(0))
}

pub(super) async fn profile_history(
    store: &PgStore,
    ws: WorkspaceId,
    profiles: &[ProfileId],
    names: Option<&[String]>,
) -> StoreResult<Vec<HistoryRow>> {
    if profiles.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = profiles.iter().map(|p| p.0).collect();
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT t.profile_id, t.seq, t.timestamp, t.kind, t.name, t.channel, e.payload
         FROM timeline t JOIN events e ON e.seq = t.seq
         WHERE t.workspace_id = $1 AND t.profile_id = ANY($2)
           AND ($3::text[] IS NULL OR t.name = ANY($3))
         ORDER BY t.profile_id, t.seq",
        &[&ws.0, &ids, &names],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| HistoryRow {
            profile_id: ProfileId(r.get(0)),
            seq: r.get(1),
            timestamp: r.get(2),
            kind: r.get(3),
            name: r.get(4),
            channel: r.get(5),
            payload: r.get(6),
        })
        .collect())
}

pub(super) async fn due_timers(store: &PgStore, now: i64, limit: usize) -> StoreResult<Vec<DueTimer>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT workspace_id, profile_id, due FROM profile_timers
         WHERE due <= $1 ORDER BY due, workspace_id, profile_id LIMIT $2",
        &[&now, &sql_limit(limit)],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| DueTimer {
            workspace_id: WorkspaceId(r.get(0)),
            profile_id: ProfileId(r.get(1)),
            due: r.get(2),
        })
        .collect())
}

pub(super) async fn next_timer(store: &PgStore) -> StoreResult<Option<i64>> {
    let client = store.client().await?;
    let rows = query_cached(&client, "SELECT MIN(due) FROM profile_timers", &[]).await?;
    Ok(rows[0].get(0))
}

pub(super) async fn put_computed_trait(
    store: &PgStore,
    ws: WorkspaceId,
    name: &str,
    definition: &str,
    now: i64,
) -> StoreResult<ComputedTraitRecord> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!(
            "INSERT INTO computed_traits ({TRAIT_COLS}) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (workspace_id, name) DO UPDATE SET
               definition = excluded.definition, updated_at = excluded.updated_at
             RETURNING {TRAIT_COLS}"
        ),
        &[&ws.0, &name, &definition, &now],
    )
    .await?;
    Ok(trait_row(&rows[0]))
}

pub(super) async fn list_computed_traits(
    store: &PgStore,
    ws: Option<WorkspaceId>,
) -> StoreResult<Vec<ComputedTraitRecord>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!(
            "SELECT {TRAIT_COLS} FROM computed_traits
             WHERE $1::bigint IS NULL OR workspace_id = $1 ORDER BY workspace_id, name"
        ),
        &[&ws.map(|w| w.0)],
    )
    .await?;
    Ok(rows.iter().map(trait_row).collect())
}

pub(super) async fn delete_computed_trait(store: &PgStore, ws: WorkspaceId, name: &str) -> StoreResult<bool> {
    let client = store.client().await?;
    let deleted = client
        .execute(
            "DELETE FROM computed_traits WHERE workspace_id = $1 AND name = $2",
            &[&ws.0, &name],
        )
        .await
        .map_err(map_pg)?;
    Ok(deleted > 0)
}
