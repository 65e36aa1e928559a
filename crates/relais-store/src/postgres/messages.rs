//! The outbox and suppressions on PostgreSQL. Claims use `FOR UPDATE SKIP
//! LOCKED`, so several dispatchers (nodes) share the queue without waiting
//! on each other; changes with events take the append lock like every
//! writer of the log.

use super::*;
use tokio_postgres::types::ToSql;

const MESSAGE_COLUMNS: &str = "id, workspace_id, profile_id, channel, provider, category, idempotency_key,
    campaign, status, reason, address, content, attempts, next_attempt_at, lease_until, provider_message_id,
    created_at, updated_at, sent_at, delivered_at, opened_at, clicked_at, dismissed_at";

fn message_row(r: &Row) -> MessageRecord {
    MessageRecord {
        id: r.get(0),
        workspace_id: WorkspaceId(r.get(1)),
        profile_id: ProfileId(r.get(2)),
        channel: r.get(3),
        provider: r.get(4),
        category: r.get(5),
        idempotency_key: r.get(6),
        campaign: r.get(7),
        status: MessageStatus::parse(r.get(8)).unwrap_or(MessageStatus::Failed),
        reason: r.get(9),
        address: r.get(10),
        content: r.get(11),
        attempts: r.get(12),
        next_attempt_at: r.get(13),
        lease_until: r.get(14),
        provider_message_id: r.get(15),
        created_at: r.get(16),
        updated_at: r.get(17),
        sent_at: r.get(18),
        delivered_at: r.get(19),
        opened_at: r.get(20),
        clicked_at: r.get(21),
        dismissed_at: r.get(22),
    }
}

pub(super) type Tx<'a> = deadpool_postgres::Transaction<'a>;

pub(super) async fn exec(tx: &Tx<'_>, sql: &str, p: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
    let st = tx.prepare_cached(sql).await.map_err(map_pg)?;
    tx.execute(&st, p).await.map_err(map_pg)
}

async fn load(tx: &Tx<'_>, id: &str) -> StoreResult<Option<MessageRecord>> {
    let st = tx
        .prepare_cached(&format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"))
        .await
        .map_err(map_pg)?;
    Ok(tx
        .query_opt(&st, &[&id])
        .await
        .map_err(map_pg)?
        .as_ref()
        .map(message_row))
}

/// Events and suppression that go with a change, then the commit.
pub(super) async fn finish(
    store: &PgStore,
    tx: Tx<'_>,
    suppress: Option<&Suppression>,
    emitted: &[EmittedEvent],
) -> StoreResult<()> {
    if let Some(s) = suppress {
        insert_suppression(&tx, s).await?;
    }
    if !emitted.is_empty() {
        exec(&tx, "SELECT pg_advisory_xact_lock($1)", &[&store.append_lock]).await?;
        commit::append_emitted(&tx, emitted).await?;
    }
    tx.commit().await.map_err(map_pg)
}

async fn insert_suppression(tx: &Tx<'_>, s: &Suppression) -> StoreResult<()> {
    exec(
        tx,
        "INSERT INTO suppressions (workspace_id, channel, address, reason, message_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, channel, address) DO NOTHING",
        &[
            &s.workspace_id.0,
            &s.channel,
            &s.address,
            &s.reason,
            &s.message_id,
            &s.created_at,
        ],
    )
    .await
    .map(drop)
}

pub(super) async fn enqueue(store: &PgStore, m: &NewMessage) -> StoreResult<Enqueued> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(map_pg)?;
    if m.relaxed {
        // See `NewMessage::relaxed`: the dispatcher's claim commits
        // synchronously, flushing this one with it, before any delivery.
        exec(&tx, "SET LOCAL synchronous_commit TO OFF", &[]).await?;
    }
    let inserted = exec(
        &tx,
        "INSERT INTO messages (id, workspace_id, profile_id, channel, provider, category, idempotency_key,
           campaign, status, reason, address, content, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
         ON CONFLICT DO NOTHING",
        &[
            &m.id,
            &m.workspace_id.0,
            &m.profile_id.0,
            &m.channel,
            &m.provider,
            &m.category,
            &m.idempotency_key,
            &m.campaign,
            &m.status.as_str(),
            &m.reason,
            &m.address,
            &m.content,
            &m.next_attempt_at,
            &m.created_at,
        ],
    )
    .await?;
    if inserted == 0 {
        drop(tx);
        let rows = query_cached(
            &client,
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE workspace_id = $1 AND idempotency_key = $2"
            ),
            &[&m.workspace_id.0, &m.idempotency_key],
        )
        .await?;
        let message = rows.first().map(message_row).ok_or_else(|| {
            StoreError::Conflict(format!(
                "message id {} is taken by another workspace or key",
                m.id
            ))
        })?;
        return Ok(Enqueued {
            message,
            created: false,
        });
    }
    let message = load(&tx, &m.id).await?.expect("just inserted");
    finish(store, tx, None, &m.emitted).await?;
    Ok(Enqueued {
        message,
        created: true,
    })
}

pub(super) async fn claim(
    store: &PgStore,
    now: i64,
    lease_ms: i64,
    limit: usize,
) -> StoreResult<Vec<MessageRecord>> {
    let client = store.client().await?;
    // While claimed, next_attempt_at is the lease end: a dispatcher that dies
    // leaves the message due again when the lease runs out.
    let rows = query_cached(
        &client,
        &format!(
            "UPDATE messages SET status = 'sending', attempts = attempts + 1, lease_until = $2,
               next_attempt_at = $2, updated_at = $1
             WHERE id IN (SELECT id FROM messages WHERE next_attempt_at <= $1
                          ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING {MESSAGE_COLUMNS}"
        ),
        &[&now, &(now + lease_ms), &sql_limit(limit)],
    )
    .await?;
    let mut out: Vec<MessageRecord> = rows.iter().map(message_row).collect();
    out.sort_by_key(|m| (m.created_at, m.id.clone()));
    Ok(out)
}

pub(super) async fn next_due(store: &PgStore) -> StoreResult<Option<i64>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT MIN(next_attempt_at) FROM messages WHERE next_attempt_at IS NOT NULL",
        &[],
    )
    .await?;
    Ok(rows[0].get(0))
}

pub(super) async fn record_attempt(store: &PgStore, r: &AttemptResult) -> StoreResult<bool> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(map_pg)?;
    let (status, reason, next, pmid, sent_at, outcome): (
        &str,
        Option<&str>,
        Option<i64>,
        Option<&str>,
        _,
        _,
    ) = match &r.outcome {
        AttemptOutcome::Accepted { provider_message_id } => (
            "sent",
            None,
            None,
            provider_message_id.as_deref(),
            Some(r.finished_at),
            "accepted",
        ),
        AttemptOutcome::Retry { at, error } => ("queued", Some(error), Some(*at), None, None, "retry"),
        AttemptOutcome::Settled { status, error } => {
            (status.as_str(), Some(error), None, None, None, "failed")
        }
    };
    let changed = exec(
        &tx,
        "UPDATE messages SET status = $3, reason = $4, next_attempt_at = $5, lease_until = NULL,
           provider_message_id = COALESCE($6, provider_message_id),
           sent_at = COALESCE(sent_at, $7), updated_at = $8
         WHERE id = $1 AND workspace_id = $2 AND status = 'sending' AND attempts = $9",
        &[
            &r.message_id,
            &r.workspace_id.0,
            &status,
            &reason,
            &next,
            &pmid,
            &sent_at,
            &r.finished_at,
            &r.attempt,
        ],
    )
    .await?;
    if changed == 0 {
        return Ok(false);
    }
    exec(
        &tx,
        "INSERT INTO message_attempts (message_id, attempt, started_at, finished_at, outcome, error)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (message_id, attempt) DO UPDATE SET finished_at = excluded.finished_at,
           outcome = excluded.outcome, error = excluded.error",
        &[
            &r.message_id,
            &r.attempt,
            &r.started_at,
            &r.finished_at,
            &outcome,
            &reason,
        ],
    )
    .await?;
    finish(store, tx, r.suppress.as_ref(), &r.emitted).await?;
    Ok(true)
}

pub(super) async fn record_engagement(
    store: &PgStore,
    u: &EngagementUpdate,
) -> StoreResult<Option<MessageRecord>> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(map_pg)?;
    // An open or a click proves delivery; a click implies an open (images are often blocked).
    let set = match u.kind {
        Engagement::Delivered => {
            "delivered_at = COALESCE(delivered_at, $3),
             status = CASE status WHEN 'sent' THEN 'delivered' ELSE status END"
        }
        Engagement::Opened => {
            "opened_at = COALESCE(opened_at, $3), delivered_at = COALESCE(delivered_at, $3),
             status = CASE status WHEN 'sent' THEN 'delivered' ELSE status END"
        }
        Engagement::Clicked => {
            "clicked_at = COALESCE(clicked_at, $3), opened_at = COALESCE(opened_at, $3),
             delivered_at = COALESCE(delivered_at, $3),
             status = CASE status WHEN 'sent' THEN 'delivered' ELSE status END"
        }
        Engagement::Dismissed => "dismissed_at = COALESCE(dismissed_at, $3)",
        Engagement::Bounced => "status = 'bounced', reason = COALESCE($4, reason)",
        Engagement::Failed => {
            "status = CASE WHEN status IN ('sent', 'delivered') THEN 'failed' ELSE status END,
             reason = COALESCE($4, reason)"
        }
    };
    let sql = format!("UPDATE messages SET {set}, updated_at = $3 WHERE id = $1 AND workspace_id = $2");
    // A statement must use every parameter it is given ($4 only where a reason is kept).
    let with_reason = matches!(u.kind, Engagement::Bounced | Engagement::Failed);
    let changed = if with_reason {
        exec(&tx, &sql, &[&u.message_id, &u.workspace_id.0, &u.at, &u.reason]).await?
    } else {
        exec(&tx, &sql, &[&u.message_id, &u.workspace_id.0, &u.at]).await?
    };
    if changed == 0 {
        return Ok(None);
    }
    let m = load(&tx, &u.message_id).await?;
    finish(store, tx, u.suppress.as_ref(), &u.emitted).await?;
    Ok(m)
}

pub(super) async fn get(store: &PgStore, ws: WorkspaceId, id: &str) -> StoreResult<Option<MessageRecord>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND workspace_id = $2"),
        &[&id, &ws.0],
    )
    .await?;
    Ok(rows.first().map(message_row))
}

pub(super) async fn by_provider_id(
    store: &PgStore,
    provider: &str,
    pmid: &str,
) -> StoreResult<Option<MessageRecord>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE provider = $1 AND provider_message_id = $2 LIMIT 1"
        ),
        &[&provider, &pmid],
    )
    .await?;
    Ok(rows.first().map(message_row))
}

pub(super) async fn list(
    store: &PgStore,
    ws: WorkspaceId,
    f: &MessageFilter,
) -> StoreResult<Vec<MessageRecord>> {
    let client = store.client().await?;
    let (before_at, before_id) = f.before.clone().map_or((None, None), |(a, i)| (Some(a), Some(i)));
    let rows = query_cached(
        &client,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE workspace_id = $1 AND ($2::bigint IS NULL OR profile_id = $2)
               AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR channel = $4)
               AND ($5::bigint IS NULL OR created_at < $5 OR (created_at = $5 AND id < $6))
             ORDER BY created_at DESC, id DESC LIMIT $7"
        ),
        &[
            &ws.0,
            &f.profile_id.map(|p| p.0),
            &f.status.map(|s| s.as_str()),
            &f.channel,
            &before_at,
            &before_id,
            &sql_limit(f.limit),
        ],
    )
    .await?;
    Ok(rows.iter().map(message_row).collect())
}

pub(super) async fn attempts(store: &PgStore, ws: WorkspaceId, id: &str) -> StoreResult<Vec<AttemptRecord>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT a.attempt, a.started_at, a.finished_at, a.outcome, a.error
         FROM message_attempts a JOIN messages m ON m.id = a.message_id
         WHERE a.message_id = $1 AND m.workspace_id = $2 ORDER BY a.attempt",
        &[&id, &ws.0],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| AttemptRecord {
            attempt: r.get(0),
            started_at: r.get(1),
            finished_at: r.get(2),
            outcome: r.get(3),
            error: r.get(4),
        })
        .collect())
}

pub(super) async fn count_recent(
    store: &PgStore,
    ws: WorkspaceId,
    profile: ProfileId,
    channel: Option<&str>,
    category: &str,
    since: i64,
) -> StoreResult<i64> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT COUNT(*) FROM messages
         WHERE workspace_id = $1 AND profile_id = $2 AND created_at >= $3 AND category = $4
           AND ($5::text IS NULL OR channel = $5) AND status IN ('queued', 'sending', 'sent', 'delivered')",
        &[&ws.0, &profile.0, &since, &category, &channel],
    )
    .await?;
    Ok(rows[0].get(0))
}

pub(super) fn suppression_row(r: &Row) -> Suppression {
    Suppression {
        workspace_id: WorkspaceId(r.get(0)),
        channel: r.get(1),
        address: r.get(2),
        reason: r.get(3),
        message_id: r.get(4),
        created_at: r.get(5),
    }
}

pub(super) async fn suppress(store: &PgStore, s: &Suppression) -> StoreResult<()> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(map_pg)?;
    finish(store, tx, Some(s), &[]).await
}

pub(super) async fn find_suppression(
    store: &PgStore,
    ws: WorkspaceId,
    channel: &str,
    address: &str,
) -> StoreResult<Option<Suppression>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT workspace_id, channel, address, reason, message_id, created_at FROM suppressions
         WHERE workspace_id = $1 AND channel = $2 AND address = $3",
        &[&ws.0, &channel, &address],
    )
    .await?;
    Ok(rows.first().map(suppression_row))
}

pub(super) async fn list_suppressions(
    store: &PgStore,
    ws: WorkspaceId,
    limit: usize,
) -> StoreResult<Vec<Suppression>> {
    let client = store.client().await?;
    let rows = query_cached(
        &client,
        "SELECT workspace_id, channel, address, reason, message_id, created_at FROM suppressions
         WHERE workspace_id = $1 ORDER BY created_at DESC, address LIMIT $2",
        &[&ws.0, &sql_limit(limit)],
    )
    .await?;
    Ok(rows.iter().map(suppression_row).collect())
}

pub(super) async fn delete_suppression(
    store: &PgStore,
    ws: WorkspaceId,
    channel: &str,
    address: &str,
) -> StoreResult<bool> {
    let client = store.client().await?;
    let st = client
        .prepare_cached("DELETE FROM suppressions WHERE workspace_id = $1 AND channel = $2 AND address = $3")
        .await
        .map_err(map_pg)?;
    Ok(client
        .execute(&st, &[&ws.0, &channel, &address])
        .await
        .map_err(map_pg)?
        > 0)
}
