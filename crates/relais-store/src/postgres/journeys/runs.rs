//! Runs of scheduled and date-trait journeys on PostgreSQL: a page of
//! instances entered in one statement, with the run's progress, in one
//! transaction.

use super::super::messages::{exec, Tx};
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

pub(super) async fn enter_page(store: &PgStore, entries: &[RunEntry], run: &JourneyRun) -> StoreResult<u64> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(map_pg)?;
    let col =
        |f: fn(&InstanceRecord) -> &str| -> Vec<&str> { entries.iter().map(|e| f(&e.instance)).collect() };
    let num =
        |f: fn(&InstanceRecord) -> i64| -> Vec<i64> { entries.iter().map(|e| f(&e.instance)).collect() };
    let opt = |f: fn(&InstanceRecord) -> Option<i64>| -> Vec<Option<i64>> {
        entries.iter().map(|e| f(&e.instance)).collect()
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
    let version: Vec<i32> = entries.iter().map(|e| e.instance.version).collect();
    let wait: Vec<Option<&str>> = entries.iter().map(|e| e.instance.wait_event.as_deref()).collect();
    let reason: Vec<Option<&str>> = entries
        .iter()
        .map(|e| e.instance.exit_reason.as_deref())
        .collect();
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
    let fresh: Vec<&RunEntry> = entries.iter().filter(|e| new.contains(&e.instance.id)).collect();
    let trace: Vec<TraceRecord> = fresh.iter().flat_map(|e| e.trace.iter().cloned()).collect();
    append_trace(&tx, &trace).await?;
    let messages: Vec<&NewMessage> = fresh.iter().flat_map(|e| e.messages.iter()).collect();
    insert_messages(store, &tx, &messages).await?;
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

/// Inserts messages in one statement (ids or idempotency keys already taken
/// are left alone), then the events of those inserted.
async fn insert_messages(store: &PgStore, tx: &Tx<'_>, ms: &[&NewMessage]) -> StoreResult<()> {
    if ms.is_empty() {
        return Ok(());
    }
    let text = |f: fn(&NewMessage) -> &str| -> Vec<&str> { ms.iter().map(|m| f(m)).collect() };
    let (id, channel, provider, category, key, status, address, content) = (
        text(|m| &m.id),
        text(|m| &m.channel),
        text(|m| &m.provider),
        text(|m| &m.category),
        text(|m| &m.idempotency_key),
        text(|m| m.status.as_str()),
        text(|m| &m.address),
        text(|m| &m.content),
    );
    let ws: Vec<i64> = ms.iter().map(|m| m.workspace_id.0).collect();
    let profile: Vec<i64> = ms.iter().map(|m| m.profile_id.0).collect();
    let created: Vec<i64> = ms.iter().map(|m| m.created_at).collect();
    let next: Vec<Option<i64>> = ms.iter().map(|m| m.next_attempt_at).collect();
    let campaign: Vec<Option<&str>> = ms.iter().map(|m| m.campaign.as_deref()).collect();
    let reason: Vec<Option<&str>> = ms.iter().map(|m| m.reason.as_deref()).collect();
    let st = tx
        .prepare_cached(
            "INSERT INTO messages (id, workspace_id, profile_id, channel, provider, category, idempotency_key,
               campaign, status, reason, address, content, next_attempt_at, created_at, updated_at)
             SELECT u.*, u.created_at FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[],
               $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
               $12::text[], $13::bigint[], $14::bigint[])
               AS u(id, workspace_id, profile_id, channel, provider, category, idempotency_key, campaign,
                    status, reason, address, content, next_attempt_at, created_at)
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .await
        .map_err(map_pg)?;
    let rows = tx
        .query(
            &st,
            &[
                &id, &ws, &profile, &channel, &provider, &category, &key, &campaign, &status, &reason,
                &address, &content, &next, &created,
            ],
        )
        .await
        .map_err(map_pg)?;
    let inserted: HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let emitted: Vec<EmittedEvent> = ms
        .iter()
        .filter(|m| inserted.contains(&m.id))
        .flat_map(|m| m.emitted.iter().cloned())
        .collect();
    if !emitted.is_empty() {
        exec(tx, "SELECT pg_advisory_xact_lock($1)", &[&store.append_lock]).await?;
        super::super::commit::append_emitted(tx, &emitted).await?;
    }
    Ok(())
}
