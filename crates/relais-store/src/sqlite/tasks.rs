//! Tasks for people on SQLite.

use super::commit::append_emitted;
use super::SqliteStore;
use crate::*;
use rusqlite::{params, OptionalExtension, Row};

const TASK_COLUMNS: &str =
    "id, workspace_id, profile_id, title, instructions, queue, assignee, due_at, context,
    status, claimed_by, claimed_at, completed_at, outcome, created_at";

fn task_row(r: &Row) -> rusqlite::Result<TaskRecord> {
    let status: String = r.get(9)?;
    Ok(TaskRecord {
        id: r.get(0)?,
        workspace_id: WorkspaceId(r.get(1)?),
        profile_id: ProfileId(r.get(2)?),
        title: r.get(3)?,
        instructions: r.get(4)?,
        queue: r.get(5)?,
        assignee: r.get(6)?,
        due_at: r.get(7)?,
        context: r.get(8)?,
        status: TaskStatus::parse(&status).unwrap_or(TaskStatus::Open),
        claimed_by: r.get(10)?,
        claimed_at: r.get(11)?,
        completed_at: r.get(12)?,
        outcome: r.get(13)?,
        created_at: r.get(14)?,
    })
}

fn load(c: &rusqlite::Connection, ws: i64, id: &str) -> rusqlite::Result<Option<TaskRecord>> {
    c.prepare_cached(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE workspace_id = ?1 AND id = ?2"
    ))?
    .query_row(params![ws, id], task_row)
    .optional()
}

pub(super) async fn create(store: &SqliteStore, t: &TaskRecord) -> StoreResult<bool> {
    store
        .write(|c| {
            c.prepare_cached(
                "INSERT OR IGNORE INTO tasks (id, workspace_id, profile_id, title, instructions, queue, assignee,
                   due_at, context, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                t.id,
                t.workspace_id.0,
                t.profile_id.0,
                t.title,
                t.instructions,
                t.queue,
                t.assignee,
                t.due_at,
                t.context,
                t.status.as_str(),
                t.created_at
            ])
            .map(|n| n == 1)
        })
        .await
}

pub(super) async fn get(store: &SqliteStore, ws: WorkspaceId, id: &str) -> StoreResult<Option<TaskRecord>> {
    let id = id.to_owned();
    store.read(move |c| load(c, ws.0, &id)).await
}

pub(super) async fn list(
    store: &SqliteStore,
    ws: WorkspaceId,
    f: &TaskFilter,
) -> StoreResult<Vec<TaskRecord>> {
    let f = f.clone();
    store
        .read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {TASK_COLUMNS} FROM tasks
                 WHERE workspace_id = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR queue = ?3)
                   AND (?4 IS NULL OR assignee = ?4) AND (?5 IS NULL OR profile_id = ?5)
                 ORDER BY due_at IS NULL, due_at, created_at, id LIMIT ?6"
            ))?
            .query_map(
                params![
                    ws.0,
                    f.status.map(|s| s.as_str()),
                    f.queue,
                    f.assignee,
                    f.profile_id.map(|p| p.0),
                    f.limit as i64
                ],
                task_row,
            )?
            .collect()
        })
        .await
}

/// Claims, completes or cancels a task. `Ok(Err(status))` when the change
/// does not apply to the task as it is (done already, claimed by someone else).
pub(super) async fn change(
    store: &SqliteStore,
    ws: WorkspaceId,
    id: &str,
    change: &TaskChange,
    at: i64,
    emitted: &[EmittedEvent],
) -> StoreResult<TaskChangeResult> {
    store
        .write(|c| {
            let tx = c.transaction()?;
            let Some(t) = load(&tx, ws.0, id)? else {
                return Ok(TaskChangeResult::NotFound);
            };
            if let Some(why) = task_change_refused(&t, change) {
                return Ok(TaskChangeResult::Refused { task: t, why });
            }
            match change {
                TaskChange::Claim { by } => tx.execute(
                    "UPDATE tasks SET status = 'claimed', claimed_by = ?3, claimed_at = ?4
                     WHERE workspace_id = ?1 AND id = ?2",
                    params![ws.0, id, by, at],
                )?,
                TaskChange::Complete { by, outcome } => tx.execute(
                    "UPDATE tasks SET status = 'done', claimed_by = COALESCE(claimed_by, ?3),
                       claimed_at = COALESCE(claimed_at, ?4), completed_at = ?4, outcome = ?5
                     WHERE workspace_id = ?1 AND id = ?2",
                    params![ws.0, id, by, at, outcome],
                )?,
                TaskChange::Cancel => tx.execute(
                    "UPDATE tasks SET status = 'cancelled', completed_at = ?3 WHERE workspace_id = ?1 AND id = ?2",
                    params![ws.0, id, at],
                )?,
            };
            append_emitted(&tx, emitted)?;
            let t = load(&tx, ws.0, id)?.expect("just updated");
            tx.commit()?;
            Ok(TaskChangeResult::Changed(t))
        })
        .await
}
