//! Tasks for people on PostgreSQL.

use super::messages::{exec, finish, Tx};
use super::*;

const TASK_COLUMNS: &str =
    "id, workspace_id, profile_id, title, instructions, queue, assignee, due_at, context,
    status, claimed_by, claimed_at, completed_at, outcome, created_at";

fn task_row(r: &Row) -> TaskRecord {
    TaskRecord {
        id: r.get(0),
        workspace_id: WorkspaceId(r.get(1)),
        profile_id: ProfileId(r.get(2)),
        title: r.get(3),
        instructions: r.get(4),
        queue: r.get(5),
        assignee: r.get(6),
        due_at: r.get(7),
        context: r.get(8),
        status: TaskStatus::parse(r.get(9)).unwrap_or(TaskStatus::Open),
        claimed_by: r.get(10),
        claimed_at: r.get(11),
        completed_at: r.get(12),
        outcome: r.get(13),
        created_at: r.get(14),
    }
}

pub(super) async fn create(store: &PgStore, t: &TaskRecord) -> StoreResult<bool> {
    let client = store.client().await?;
    let st = client
        .prepare_cached(
            "INSERT INTO tasks (id, workspace_id, profile_id, title, instructions, queue, assignee, due_at,
               context, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
        )
        .await
        .map_err(map_pg)?;
    let n = client
        .execute(
            &st,
            &[
                &t.id,
                &t.workspace_id.0,
                &t.profile_id.0,
                &t.title,
                &t.instructions,
                &t.queue,
                &t.assignee,
                &t.due_at,
                &t.context,
                &t.status.as_str(),
                &t.created_at,
            ],
        )
        .await
        .map_err(map_pg)?;
    Ok(n == 1)
}

pub(super) async fn get(store: &PgStore, ws: WorkspaceId, id: &str) -> StoreResult<Option<TaskRecord>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE workspace_id = $1 AND id = $2"),
        &[&ws.0, &id],
    )
    .await?;
    Ok(rows.first().map(task_row))
}

pub(super) async fn list(store: &PgStore, ws: WorkspaceId, f: &TaskFilter) -> StoreResult<Vec<TaskRecord>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!(
            "SELECT {TASK_COLUMNS} FROM tasks
             WHERE workspace_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR queue = $3)
               AND ($4::text IS NULL OR assignee = $4) AND ($5::bigint IS NULL OR profile_id = $5)
             ORDER BY due_at IS NULL, due_at, created_at, id LIMIT $6"
        ),
        &[
            &ws.0,
            &f.status.map(|s| s.as_str()),
            &f.queue,
            &f.assignee,
            &f.profile_id.map(|p| p.0),
            &sql_limit(f.limit),
        ],
    )
    .await?;
    Ok(rows.iter().map(task_row).collect())
}

async fn load_for_update(tx: &Tx<'_>, ws: WorkspaceId, id: &str) -> StoreResult<Option<TaskRecord>> {
    let st = tx
        .prepare_cached(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE workspace_id = $1 AND id = $2 FOR UPDATE"
        ))
        .await
        .map_err(map_pg)?;
    Ok(tx
        .query_opt(&st, &[&ws.0, &id])
        .await
        .map_err(map_pg)?
        .as_ref()
        .map(task_row))
}

pub(super) async fn change(
    store: &PgStore,
    ws: WorkspaceId,
    id: &str,
    change: &TaskChange,
    at: i64,
    emitted: &[EmittedEvent],
) -> StoreResult<TaskChangeResult> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(map_pg)?;
    let Some(t) = load_for_update(&tx, ws, id).await? else {
        return Ok(TaskChangeResult::NotFound);
    };
    if let Some(why) = task_change_refused(&t, change) {
        return Ok(TaskChangeResult::Refused { task: t, why });
    }
    match change {
        TaskChange::Claim { by } => {
            exec(
                &tx,
                "UPDATE tasks SET status = 'claimed', claimed_by = $3, claimed_at = $4
                 WHERE workspace_id = $1 AND id = $2",
                &[&ws.0, &id, by, &at],
            )
            .await?
        }
        TaskChange::Complete { by, outcome } => {
            exec(
                &tx,
                "UPDATE tasks SET status = 'done', claimed_by = COALESCE(claimed_by, $3),
                   claimed_at = COALESCE(claimed_at, $4), completed_at = $4, outcome = $5
                 WHERE workspace_id = $1 AND id = $2",
                &[&ws.0, &id, by, &at, outcome],
            )
            .await?
        }
        TaskChange::Cancel => exec(
            &tx,
            "UPDATE tasks SET status = 'cancelled', completed_at = $3 WHERE workspace_id = $1 AND id = $2",
            &[&ws.0, &id, &at],
        )
        .await?,
    };
    let t = load_for_update(&tx, ws, id).await?.expect("just updated");
    finish(store, tx, None, emitted).await?;
    Ok(TaskChangeResult::Changed(t))
}
