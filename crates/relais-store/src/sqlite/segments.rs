//! Segments, memberships, timers and computed traits on SQLite: the
//! segment part of `commit_processed` and the segment methods of `Store`.

use super::*;

const SEGMENT_COLS: &str = "workspace_id, id, name, description, definition, version, status, \
                            backfill_cursor, backfill_done, backfill_total, created_at, updated_at";

fn segment_row(r: &rusqlite::Row) -> rusqlite::Result<SegmentRecord> {
    let status: String = r.get(6)?;
    Ok(SegmentRecord {
        workspace_id: WorkspaceId(r.get(0)?),
        id: SegmentId(r.get(1)?),
        name: r.get(2)?,
        description: r.get(3)?,
        definition: r.get(4)?,
        version: r.get(5)?,
        // Unknown status: evaluate everything again rather than trust it.
        status: SegmentStatus::parse(&status).unwrap_or(SegmentStatus::Backfilling),
        backfill_cursor: r.get(7)?,
        backfill_done: r.get(8)?,
        backfill_total: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

fn trait_row(r: &rusqlite::Row) -> rusqlite::Result<ComputedTraitRecord> {
    Ok(ComputedTraitRecord {
        workspace_id: WorkspaceId(r.get(0)?),
        name: r.get(1)?,
        definition: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

/// Steps 5–7 of [`ProcessedBatch`]: memberships, timers, backfill progress.
pub(super) fn apply_processed(tx: &Transaction, b: &ProcessedBatch) -> rusqlite::Result<()> {
    for m in &b.memberships {
        let (ws, seg, pid) = (m.workspace_id.0, m.segment_id.0, m.profile_id.0);
        let live: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM segments WHERE id = ?1 AND workspace_id = ?2)")?
            .query_row(params![seg, ws], |r| r.get(0))?;
        if !live {
            continue; // deleted while the processor evaluated it
        }
        if m.entered {
            tx.prepare_cached(
                "INSERT INTO segment_members (workspace_id, segment_id, profile_id, entered_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (workspace_id, segment_id, profile_id) DO NOTHING",
            )?
            .execute(params![ws, seg, pid, m.at])?;
        } else {
            tx.prepare_cached(
                "DELETE FROM segment_members WHERE workspace_id = ?1 AND segment_id = ?2 AND profile_id = ?3",
            )?
            .execute(params![ws, seg, pid])?;
        }
        tx.prepare_cached(
            "INSERT INTO segment_history (workspace_id, profile_id, segment_id, entered, at, cause_seq, cause)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![ws, pid, seg, m.entered, m.at, m.cause_seq, m.cause])?;
    }
    for t in &b.timers {
        let (ws, pid) = (t.workspace_id.0, t.profile_id.0);
        match t.due {
            Some(due) => tx
                .prepare_cached(
                    "INSERT INTO profile_timers (workspace_id, profile_id, due) VALUES (?1, ?2, ?3)
                     ON CONFLICT (workspace_id, profile_id) DO UPDATE SET due = excluded.due",
                )?
                .execute(params![ws, pid, due])?,
            None => tx
                .prepare_cached("DELETE FROM profile_timers WHERE workspace_id = ?1 AND profile_id = ?2")?
                .execute(params![ws, pid])?,
        };
    }
    for p in &b.segment_progress {
        tx.prepare_cached(
            "UPDATE segments SET backfill_cursor = ?4, backfill_done = ?5, backfill_total = ?6,
                    status = CASE WHEN ?7 THEN ?8 ELSE status END
             WHERE workspace_id = ?1 AND id = ?2 AND version = ?3",
        )?
        .execute(params![
            p.workspace_id.0,
            p.segment_id.0,
            p.version,
            p.cursor,
            p.done,
            p.total,
            p.finished,
            SegmentStatus::Active.as_str()
        ])?;
    }
    Ok(())
}

/// Merge step 3 for segment data: the loser's history follows it to the
/// winner; its memberships and timer go (the processor re-evaluates the
/// winner).
pub(super) fn merge(tx: &Transaction, ws: i64, winner: i64, loser: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE segment_history SET profile_id = ?2 WHERE workspace_id = ?1 AND profile_id = ?3",
    )?
    .execute(params![ws, winner, loser])?;
    erase(tx, ws, loser, false)
}

/// Removes a profile's memberships and timer, and its history when `history`.
pub(super) fn erase(tx: &Transaction, ws: i64, profile: i64, history: bool) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "DELETE FROM segment_members WHERE workspace_id = ?1 AND profile_id = ?2
           AND segment_id IN (SELECT id FROM segments WHERE workspace_id = ?1)",
    )?
    .execute(params![ws, profile])?;
    let mut tables = vec!["profile_timers"];
    if history {
        tables.push("segment_history");
    }
    for table in tables {
        tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE workspace_id = ?1 AND profile_id = ?2"
        ))?
        .execute(params![ws, profile])?;
    }
    Ok(())
}

pub(super) async fn create_segment(
    store: &SqliteStore,
    ws: WorkspaceId,
    name: &str,
    description: &str,
    definition: &str,
    now: i64,
) -> StoreResult<SegmentRecord> {
    let created = store
        .write(|c| {
            c.prepare_cached(&format!(
                "INSERT INTO segments ({SEGMENT_COLS})
                 VALUES (?1, NULL, ?2, ?3, ?4, 1, ?5, 0, 0, 0, ?6, ?6)
                 ON CONFLICT (workspace_id, name) DO NOTHING
                 RETURNING {SEGMENT_COLS}"
            ))?
            .query_row(
                params![
                    ws.0,
                    name,
                    description,
                    definition,
                    SegmentStatus::Backfilling.as_str(),
                    now
                ],
                segment_row,
            )
            .optional()
        })
        .await?;
    created.ok_or_else(|| segment_name_taken(name))
}

pub(super) async fn update_segment(
    store: &SqliteStore,
    ws: WorkspaceId,
    id: SegmentId,
    name: &str,
    description: &str,
    definition: &str,
    now: i64,
) -> StoreResult<Option<SegmentRecord>> {
    // Right-hand sides see the row as it was: `definition = ?5` compares
    // with the old definition.
    let updated = store
        .write(|c| {
            c.prepare_cached(&format!(
                "UPDATE segments SET
                   version = CASE WHEN definition = ?5 THEN version ELSE version + 1 END,
                   status = CASE WHEN definition = ?5 THEN status ELSE ?7 END,
                   backfill_cursor = CASE WHEN definition = ?5 THEN backfill_cursor ELSE 0 END,
                   backfill_done = CASE WHEN definition = ?5 THEN backfill_done ELSE 0 END,
                   name = ?3, description = ?4, definition = ?5, updated_at = ?6
                 WHERE workspace_id = ?1 AND id = ?2
                 RETURNING {SEGMENT_COLS}"
            ))?
            .query_row(
                params![
                    ws.0,
                    id.0,
                    name,
                    description,
                    definition,
                    now,
                    SegmentStatus::Backfilling.as_str()
                ],
                segment_row,
            )
            .optional()
        })
        .await;
    match updated {
        // The only constraint an update can break: (workspace_id, name).
        Err(StoreError::Conflict(_)) => Err(segment_name_taken(name)),
        other => other,
    }
}

pub(super) async fn delete_segment(store: &SqliteStore, ws: WorkspaceId, id: SegmentId) -> StoreResult<bool> {
    store
        .write(|c| {
            let tx = c.transaction()?;
            let deleted = tx.execute(
                "DELETE FROM segments WHERE workspace_id = ?1 AND id = ?2",
                params![ws.0, id.0],
            )?;
            tx.execute(
                "DELETE FROM segment_members WHERE workspace_id = ?1 AND segment_id = ?2",
                params![ws.0, id.0],
            )?;
            tx.commit()?;
            Ok(deleted > 0)
        })
        .await
}

pub(super) async fn get_segment(
    store: &SqliteStore,
    ws: WorkspaceId,
    id: SegmentId,
) -> StoreResult<Option<SegmentRecord>> {
    store
        .read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {SEGMENT_COLS} FROM segments WHERE workspace_id = ?1 AND id = ?2"
            ))?
            .query_row(params![ws.0, id.0], segment_row)
            .optional()
        })
        .await
}

pub(super) async fn list_segments(
    store: &SqliteStore,
    ws: Option<WorkspaceId>,
) -> StoreResult<Vec<SegmentRecord>> {
    store
        .read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {SEGMENT_COLS} FROM segments WHERE ?1 IS NULL OR workspace_id = ?1 ORDER BY id"
            ))?
            .query_map([ws.map(|w| w.0)], segment_row)?
            .collect()
        })
        .await
}

pub(super) async fn segment_size(store: &SqliteStore, ws: WorkspaceId, id: SegmentId) -> StoreResult<i64> {
    store
        .read(move |c| {
            c.prepare_cached(
                "SELECT COUNT(*) FROM segment_members WHERE workspace_id = ?1 AND segment_id = ?2",
            )?
            .query_row(params![ws.0, id.0], |r| r.get(0))
        })
        .await
}

pub(super) async fn segment_members(
    store: &SqliteStore,
    ws: WorkspaceId,
    id: SegmentId,
    after: Option<ProfileId>,
    limit: usize,
) -> StoreResult<Vec<Member>> {
    let after = after.map_or(i64::MIN, |p| p.0);
    store
        .read(move |c| {
            c.prepare_cached(
                "SELECT profile_id, entered_at FROM segment_members
                 WHERE workspace_id = ?1 AND segment_id = ?2 AND profile_id > ?3
                 ORDER BY profile_id LIMIT ?4",
            )?
            .query_map(params![ws.0, id.0, after, limit as i64], |r| {
                Ok(Member {
                    profile_id: ProfileId(r.get(0)?),
                    entered_at: r.get(1)?,
                })
            })?
            .collect()
        })
        .await
}

pub(super) async fn profile_segments(
    store: &SqliteStore,
    ws: WorkspaceId,
    profile: ProfileId,
) -> StoreResult<Vec<(SegmentId, i64)>> {
    store
        .read(move |c| {
            c.prepare_cached(
                "SELECT segment_id, entered_at FROM segment_members
                 WHERE workspace_id = ?1 AND profile_id = ?2
                   AND segment_id IN (SELECT id FROM segments WHERE workspace_id = ?1)
                 ORDER BY segment_id",
            )?
            .query_map(params![ws.0, profile.0], |r| {
                Ok((SegmentId(r.get(0)?), r.get(1)?))
            })?
            .collect()
        })
        .await
}

pub(super) async fn segment_history(
    store: &SqliteStore,
    ws: WorkspaceId,
    profile: ProfileId,
    limit: usize,
) -> StoreResult<Vec<MembershipChange>> {
    store
        .read(move |c| {
            c.prepare_cached(
                "SELECT segment_id, entered, at, cause_seq, cause FROM segment_history
                 WHERE workspace_id = ?1 AND profile_id = ?2 ORDER BY id DESC LIMIT ?3",
            )?
            .query_map(params![ws.0, profile.0, limit as i64], |r| {
                Ok(MembershipChange {
                    workspace_id: ws,
                    segment_id: SegmentId(r.get(0)?),
                    profile_id: profile,
                    entered: r.get(1)?,
                    at: r.get(2)?,
                    cause_seq: r.get(3)?,
                    cause: r.get(4)?,
                })
            })?
            .collect()
        })
        .await
}

pub(super) async fn profile_ids(
    store: &SqliteStore,
    ws: WorkspaceId,
    after: ProfileId,
    limit: usize,
) -> StoreResult<Vec<ProfileId>> {
    store
        .read(move |c| {
            c.prepare_cached(
                "SELECT id FROM profiles WHERE workspace_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            )?
            .query_map(params![ws.0, after.0, limit as i64], |r| r.get(0).map(ProfileId))?
            .collect()
        })
        .await
}

pub(super) async fn count_profiles(store: &SqliteStore, ws: WorkspaceId) -> StoreResult<i64> {
    store
        .read(move |c| {
            c.prepare_cached("SELECT COUNT(*) FROM profiles WHERE workspace_id = ?1")?
                .query_row([ws.0], |r| r.get(0))
        })
        .await
}

/// One statement for any number of profiles: the ids (and names) travel as
/// one JSON array each, unpacked by `json_each`, so the statement stays
/// prepared and no bound-parameter limit applies.
pub(super) async fn profile_history(
    store: &SqliteStore,
    ws: WorkspaceId,
    profiles: &[ProfileId],
    names: Option<&[String]>,
) -> StoreResult<Vec<HistoryRow>> {
    if profiles.is_empty() {
        return Ok(Vec::new());
    }
    let json = |e: serde_json::Error| StoreError::Other(format!("cannot encode a query parameter: {e}"));
    let ids: Vec<i64> = profiles.iter().map(|p| p.0).collect();
    let ids = serde_json::to_string(&ids).map_err(json)?;
    let names = names.map(serde_json::to_string).transpose().map_err(json)?;
    store
        .read(move |c| {
            c.prepare_cached(
                "SELECT t.profile_id, t.seq, t.timestamp, t.kind, t.name, t.channel, e.payload
                 FROM timeline t JOIN events e ON e.seq = t.seq
                 WHERE t.workspace_id = ?1 AND t.profile_id IN (SELECT value FROM json_each(?2))
                   AND (?3 IS NULL OR t.name IN (SELECT value FROM json_each(?3)))
                 ORDER BY t.profile_id, t.seq",
            )?
            .query_map(params![ws.0, ids, names], |r| {
                Ok(HistoryRow {
                    profile_id: ProfileId(r.get(0)?),
                    seq: r.get(1)?,
                    timestamp: r.get(2)?,
                    kind: r.get(3)?,
                    name: r.get(4)?,
                    channel: r.get(5)?,
                    payload: r.get(6)?,
                })
            })?
            .collect()
        })
        .await
}

pub(super) async fn due_timers(store: &SqliteStore, now: i64, limit: usize) -> StoreResult<Vec<DueTimer>> {
    store
        .read(move |c| {
            c.prepare_cached(
                "SELECT workspace_id, profile_id, due FROM profile_timers
                 WHERE due <= ?1 ORDER BY due, workspace_id, profile_id LIMIT ?2",
            )?
            .query_map(params![now, limit as i64], |r| {
                Ok(DueTimer {
                    workspace_id: WorkspaceId(r.get(0)?),
                    profile_id: ProfileId(r.get(1)?),
                    due: r.get(2)?,
                })
            })?
            .collect()
        })
        .await
}

pub(super) async fn next_timer(store: &SqliteStore) -> StoreResult<Option<i64>> {
    store
        .read(|c| c.query_row("SELECT MIN(due) FROM profile_timers", [], |r| r.get(0)))
        .await
}

pub(super) async fn put_computed_trait(
    store: &SqliteStore,
    ws: WorkspaceId,
    name: &str,
    definition: &str,
    now: i64,
) -> StoreResult<ComputedTraitRecord> {
    store
        .write(|c| {
            c.prepare_cached(
                "INSERT INTO computed_traits (workspace_id, name, definition, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (workspace_id, name) DO UPDATE SET
                   definition = excluded.definition, updated_at = excluded.updated_at
                 RETURNING workspace_id, name, definition, created_at, updated_at",
            )?
            .query_row(params![ws.0, name, definition, now], trait_row)
        })
        .await
}

pub(super) async fn list_computed_traits(
    store: &SqliteStore,
    ws: Option<WorkspaceId>,
) -> StoreResult<Vec<ComputedTraitRecord>> {
    store
        .read(move |c| {
            c.prepare_cached(
                "SELECT workspace_id, name, definition, created_at, updated_at FROM computed_traits
                 WHERE ?1 IS NULL OR workspace_id = ?1 ORDER BY workspace_id, name",
            )?
            .query_map([ws.map(|w| w.0)], trait_row)?
            .collect()
        })
        .await
}

pub(super) async fn delete_computed_trait(
    store: &SqliteStore,
    ws: WorkspaceId,
    name: &str,
) -> StoreResult<bool> {
    store
        .write(|c| {
            c.execute(
                "DELETE FROM computed_traits WHERE workspace_id = ?1 AND name = ?2",
                params![ws.0, name],
            )
            .map(|n| n > 0)
        })
        .await
}
