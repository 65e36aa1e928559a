//! Runs of scheduled and date-trait journeys on PostgreSQL: a page of
//! instances entered in one statement, with the run's progress, in one
//! transaction.

use super::super::messages::exec;
use super::super::*;
use super::{append_trace, INSTANCE_COLS};

const RUN_COLS: &str = "workspace_id, journey_id, run_key, cursor, entered, started_at, done_at";

fn run_row(r: &Row) -> JourneyRun {
    JourneyRun {
        workspace_id: WorkspaceId(r.get(0)),
        journey_id: r.get(1),
        run_key: r.get(2),
        cursor: r.get(3),
        entered: r.get(4),
        started_at: r.get(5),
        done_at: r.get(6),
    }
}

pub(super) async fn enter_page(
    store: &PgStore,
    entries: &[(InstanceRecord, TraceRecord)],
    run: &JourneyRun,
) -> StoreResult<u64> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(map_pg)?;
    let col = |f: fn(&InstanceRecord) -> &str| -> Vec<&str> { entries.iter().map(|(i, _)| f(i)).collect() };
    let num = |f: fn(&InstanceRecord) -> i64| -> Vec<i64> { entries.iter().map(|(i, _)| f(i)).collect() };
    let opt = |f: fn(&InstanceRecord) -> Option<i64>| -> Vec<Option<i64>> {
        entries.iter().map(|(i, _)| f(i)).collect()
    };
    let (id, journey, status, node, context) = (
        col(|i| &i.id),
        col(|i| &i.journey_id),
        col(|i| &i.status),
        col(|i| &i.node),
        col(|i| &i.context),
    );
    let (ws, profile, entered, updated) = (
        num(|i| i.workspace_id.0),
        num(|i| i.profile_id.0),
        num(|i| i.entered_at),
        num(|i| i.updated_at),
    );
    let (wake, exited, converted) = (opt(|i| i.wake_at), opt(|i| i.exited_at), opt(|i| i.converted_at));
    let version: Vec<i32> = entries.iter().map(|(i, _)| i.version).collect();
    let wait: Vec<Option<&str>> = entries.iter().map(|(i, _)| i.wait_event.as_deref()).collect();
    let reason: Vec<Option<&str>> = entries.iter().map(|(i, _)| i.exit_reason.as_deref()).collect();
    let st = tx
        .prepare_cached(&format!(
            "INSERT INTO journey_instances ({INSTANCE_COLS})
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::int[], $5::bigint[],
               $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::bigint[],
               $12::bigint[], $13::bigint[], $14::text[], $15::bigint[])
             ON CONFLICT (id) DO NOTHING RETURNING id"
        ))
        .await
        .map_err(map_pg)?;
    let rows = tx
        .query(
            &st,
            &[
                &id, &ws, &journey, &version, &profile, &status, &node, &wake, &wait, &context, &entered,
                &updated, &exited, &reason, &converted,
            ],
        )
        .await
        .map_err(map_pg)?;
    let new: HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let trace: Vec<TraceRecord> = entries
        .iter()
        .filter(|(i, _)| new.contains(&i.id))
        .map(|(_, t)| t.clone())
        .collect();
    append_trace(&tx, &trace).await?;
    let n = new.len() as i64;
    exec(
        &tx,
        &format!(
            "INSERT INTO journey_runs ({RUN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (workspace_id, journey_id, run_key) DO UPDATE SET
               cursor = excluded.cursor, done_at = excluded.done_at,
               entered = journey_runs.entered + excluded.entered"
        ),
        &[
            &run.workspace_id.0,
            &run.journey_id,
            &run.run_key,
            &run.cursor,
            &n,
            &run.started_at,
            &run.done_at,
        ],
    )
    .await?;
    tx.commit().await.map_err(map_pg)?;
    Ok(n as u64)
}

pub(super) async fn get(
    store: &PgStore,
    ws: WorkspaceId,
    journey: &str,
    key: &str,
) -> StoreResult<Option<JourneyRun>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!("SELECT {RUN_COLS} FROM journey_runs WHERE workspace_id = $1 AND journey_id = $2 AND run_key = $3"),
        &[&ws.0, &journey, &key],
    )
    .await?;
    Ok(rows.first().map(run_row))
}

pub(super) async fn list(
    store: &PgStore,
    ws: WorkspaceId,
    journey: &str,
    limit: usize,
) -> StoreResult<Vec<JourneyRun>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!(
            "SELECT {RUN_COLS} FROM journey_runs WHERE workspace_id = $1 AND journey_id = $2
             ORDER BY started_at DESC, run_key DESC LIMIT $3"
        ),
        &[&ws.0, &journey, &(limit as i64)],
    )
    .await?;
    Ok(rows.iter().map(run_row).collect())
}
