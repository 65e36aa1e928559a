//! The outbox, suppressions and tasks on SQLite. Every state change that has
//! events writes them in the same transaction (`commit::append_emitted`).

use super::commit::append_emitted;
use super::SqliteStore;
use crate::*;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

const MESSAGE_COLUMNS: &str = "id, workspace_id, profile_id, channel, provider, category, idempotency_key,
    campaign, status, reason, address, content, attempts, next_attempt_at, lease_until, provider_message_id,
    created_at, updated_at, sent_at, delivered_at, opened_at, clicked_at, dismissed_at";

fn message_row(r: &Row) -> rusqlite::Result<MessageRecord> {
    let status: String = r.get(8)?;
    Ok(MessageRecord {
        id: r.get(0)?,
        workspace_id: WorkspaceId(r.get(1)?),
        profile_id: ProfileId(r.get(2)?),
        channel: r.get(3)?,
        provider: r.get(4)?,
        category: r.get(5)?,
        idempotency_key: r.get(6)?,
        campaign: r.get(7)?,
        status: MessageStatus::parse(&status).unwrap_or(MessageStatus::Failed),
        reason: r.get(9)?,
        address: r.get(10)?,
        content: r.get(11)?,
        attempts: r.get(12)?,
        next_attempt_at: r.get(13)?,
        lease_until: r.get(14)?,
        provider_message_id: r.get(15)?,
        created_at: r.get(16)?,
        updated_at: r.get(17)?,
        sent_at: r.get(18)?,
        delivered_at: r.get(19)?,
        opened_at: r.get(20)?,
        clicked_at: r.get(21)?,
        dismissed_at: r.get(22)?,
    })
}

fn load(tx: &rusqlite::Connection, ws: Option<i64>, id: &str) -> rusqlite::Result<Option<MessageRecord>> {
    tx.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1 AND (?2 IS NULL OR workspace_id = ?2)"
    ))?
    .query_row(params![id, ws], message_row)
    .optional()
}

fn put_suppression(tx: &Transaction, s: &Suppression) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO suppressions (workspace_id, channel, address, reason, message_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (workspace_id, channel, address) DO NOTHING",
    )?
    .execute(params![
        s.workspace_id.0,
        s.channel,
        s.address,
        s.reason,
        s.message_id,
        s.created_at
    ])?;
    Ok(())
}

pub(super) async fn enqueue(store: &SqliteStore, m: &NewMessage) -> StoreResult<Enqueued> {
    store
        .write(|c| super::commit::maybe_relaxed(c, m.relaxed, |c| enqueue_tx(c, m)))
        .await
}

/// Inserts a message with its emitted events unless its id or its
/// idempotency key is taken; `true` when inserted.
pub(super) fn insert_new(tx: &Transaction, m: &NewMessage) -> rusqlite::Result<bool> {
    let n = tx
        .prepare_cached(
            "INSERT INTO messages (id, workspace_id, profile_id, channel, provider, category, idempotency_key,
               campaign, status, reason, address, content, next_attempt_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            m.id,
            m.workspace_id.0,
            m.profile_id.0,
            m.channel,
            m.provider,
            m.category,
            m.idempotency_key,
            m.campaign,
            m.status.as_str(),
            m.reason,
            m.address,
            m.content,
            m.next_attempt_at,
            m.created_at
        ])?;
    if n > 0 {
        append_emitted(tx, &m.emitted)?;
    }
    Ok(n > 0)
}

fn enqueue_tx(c: &mut Connection, m: &NewMessage) -> rusqlite::Result<Enqueued> {
    let tx = c.transaction()?;
    let existing: Option<String> = tx
        .prepare_cached("SELECT id FROM messages WHERE workspace_id = ?1 AND idempotency_key = ?2")?
        .query_row(params![m.workspace_id.0, m.idempotency_key], |r| r.get(0))
        .optional()?;
    if let Some(id) = existing {
        let message = load(&tx, None, &id)?.expect("just found");
        return Ok(Enqueued {
            message,
            created: false,
        });
    }
    if !insert_new(&tx, m)? {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            Some(format!(
                "message id {} is taken by another workspace or key",
                m.id
            )),
        ));
    }
    let message = load(&tx, None, &m.id)?.expect("just inserted");
    tx.commit()?;
    Ok(Enqueued {
        message,
        created: true,
    })
}

pub(super) async fn claim(
    store: &SqliteStore,
    now: i64,
    lease_ms: i64,
    limit: usize,
) -> StoreResult<Vec<MessageRecord>> {
    store
        .write(|c| {
            let tx = c.transaction()?;
            let ids: Vec<String> = tx
                .prepare_cached(
                    "SELECT id FROM messages WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?1
                     ORDER BY next_attempt_at LIMIT ?2",
                )?
                .query_map(params![now, limit as i64], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(ids.len());
            {
                // While claimed, next_attempt_at is the lease end: a dispatcher that
                // dies leaves the message due again when the lease runs out.
                let mut st = tx.prepare_cached(&format!(
                    "UPDATE messages SET status = 'sending', attempts = attempts + 1, lease_until = ?2,
                       next_attempt_at = ?2, updated_at = ?3
                     WHERE id = ?1 RETURNING {MESSAGE_COLUMNS}"
                ))?;
                for id in &ids {
                    out.push(st.query_row(params![id, now + lease_ms, now], message_row)?);
                }
            }
            tx.commit()?;
            Ok(out)
        })
        .await
}

pub(super) async fn next_due(store: &SqliteStore) -> StoreResult<Option<i64>> {
    store
        // The WHERE lets the partial index `messages_due` answer: without it
        // SQLite scanned every message on each dispatcher wake.
        .read(|c| {
            c.query_row(
                "SELECT MIN(next_attempt_at) FROM messages WHERE next_attempt_at IS NOT NULL",
                [],
                |r| r.get(0),
            )
        })
        .await
}

pub(super) async fn record_attempt(store: &SqliteStore, r: &AttemptResult) -> StoreResult<bool> {
    store
        .write(|c| {
            let tx = c.transaction()?;
            let (status, reason, next, pmid, sent_at, outcome, error) = match &r.outcome {
                AttemptOutcome::Accepted { provider_message_id } => {
                    ("sent", None, None, provider_message_id.clone(), Some(r.finished_at), "accepted", None)
                }
                AttemptOutcome::Retry { at, error } => {
                    ("queued", Some(error.clone()), Some(*at), None, None, "retry", Some(error.clone()))
                }
                AttemptOutcome::Settled { status, error } => {
                    (status.as_str(), Some(error.clone()), None, None, None, "failed", Some(error.clone()))
                }
            };
            // Only the dispatcher holding this attempt may settle it.
            let changed = tx
                .prepare_cached(
                    "UPDATE messages SET status = ?3, reason = ?4, next_attempt_at = ?5, lease_until = NULL,
                       provider_message_id = COALESCE(?6, provider_message_id),
                       sent_at = COALESCE(sent_at, ?7), updated_at = ?8
                     WHERE id = ?1 AND workspace_id = ?2 AND status = 'sending' AND attempts = ?9",
                )?
                .execute(params![
                    r.message_id,
                    r.workspace_id.0,
                    status,
                    reason,
                    next,
                    pmid,
                    sent_at,
                    r.finished_at,
                    r.attempt
                ])?;
            if changed == 0 {
                return Ok(false);
            }
            tx.prepare_cached(
                "INSERT OR REPLACE INTO message_attempts (message_id, attempt, started_at, finished_at, outcome, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![r.message_id, r.attempt, r.started_at, r.finished_at, outcome, error])?;
            if let Some(s) = &r.suppress {
                put_suppression(&tx, s)?;
            }
            append_emitted(&tx, &r.emitted)?;
            tx.commit()?;
            Ok(true)
        })
        .await
}

pub(super) async fn record_engagement(
    store: &SqliteStore,
    u: &EngagementUpdate,
) -> StoreResult<Option<MessageRecord>> {
    store
        .write(|c| {
            let tx = c.transaction()?;
            let sql = match u.kind {
                // An open or a click proves delivery; a click implies an open
                // (images are often blocked).
                Engagement::Delivered => {
                    "UPDATE messages SET delivered_at = COALESCE(delivered_at, ?3),
                       status = CASE status WHEN 'sent' THEN 'delivered' ELSE status END, updated_at = ?3"
                }
                Engagement::Opened => {
                    "UPDATE messages SET opened_at = COALESCE(opened_at, ?3),
                       delivered_at = COALESCE(delivered_at, ?3),
                       status = CASE status WHEN 'sent' THEN 'delivered' ELSE status END, updated_at = ?3"
                }
                Engagement::Clicked => {
                    "UPDATE messages SET clicked_at = COALESCE(clicked_at, ?3), opened_at = COALESCE(opened_at, ?3),
                       delivered_at = COALESCE(delivered_at, ?3),
                       status = CASE status WHEN 'sent' THEN 'delivered' ELSE status END, updated_at = ?3"
                }
                Engagement::Dismissed => {
                    "UPDATE messages SET dismissed_at = COALESCE(dismissed_at, ?3), updated_at = ?3"
                }
                Engagement::Bounced => {
                    "UPDATE messages SET status = 'bounced', reason = COALESCE(?4, reason), updated_at = ?3"
                }
                Engagement::Failed => {
                    "UPDATE messages SET status = CASE WHEN status IN ('sent', 'delivered') THEN 'failed'
                       ELSE status END, reason = COALESCE(?4, reason), updated_at = ?3"
                }
            };
            let sql = format!("{sql} WHERE id = ?1 AND workspace_id = ?2");
            // rusqlite wants exactly the parameters the statement uses.
            let mut st = tx.prepare_cached(&sql)?;
            let changed = if matches!(u.kind, Engagement::Bounced | Engagement::Failed) {
                st.execute(params![u.message_id, u.workspace_id.0, u.at, u.reason])?
            } else {
                st.execute(params![u.message_id, u.workspace_id.0, u.at])?
            };
            drop(st);
            if changed == 0 {
                return Ok(None);
            }
            if let Some(s) = &u.suppress {
                put_suppression(&tx, s)?;
            }
            append_emitted(&tx, &u.emitted)?;
            let m = load(&tx, None, &u.message_id)?;
            tx.commit()?;
            Ok(m)
        })
        .await
}

pub(super) async fn get(
    store: &SqliteStore,
    ws: WorkspaceId,
    id: &str,
) -> StoreResult<Option<MessageRecord>> {
    let id = id.to_owned();
    store.read(move |c| load(c, Some(ws.0), &id)).await
}

pub(super) async fn by_provider_id(
    store: &SqliteStore,
    provider: &str,
    pmid: &str,
) -> StoreResult<Option<MessageRecord>> {
    let (provider, pmid) = (provider.to_owned(), pmid.to_owned());
    store
        .read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE provider = ?1 AND provider_message_id = ?2 LIMIT 1"
            ))?
            .query_row(params![provider, pmid], message_row)
            .optional()
        })
        .await
}

pub(super) async fn list(
    store: &SqliteStore,
    ws: WorkspaceId,
    f: &MessageFilter,
) -> StoreResult<Vec<MessageRecord>> {
    let f = f.clone();
    store
        .read(move |c| {
            let (before_at, before_id) = f.before.clone().map_or((None, None), |(a, i)| (Some(a), Some(i)));
            c.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE workspace_id = ?1 AND (?2 IS NULL OR profile_id = ?2) AND (?3 IS NULL OR status = ?3)
                   AND (?4 IS NULL OR channel = ?4)
                   AND (?5 IS NULL OR created_at < ?5 OR (created_at = ?5 AND id < ?6))
                 ORDER BY created_at DESC, id DESC LIMIT ?7"
            ))?
            .query_map(
                params![
                    ws.0,
                    f.profile_id.map(|p| p.0),
                    f.status.map(|s| s.as_str()),
                    f.channel,
                    before_at,
                    before_id,
                    f.limit as i64
                ],
                message_row,
            )?
            .collect()
        })
        .await
}

pub(super) async fn attempts(
    store: &SqliteStore,
    ws: WorkspaceId,
    id: &str,
) -> StoreResult<Vec<AttemptRecord>> {
    let id = id.to_owned();
    store
        .read(move |c| {
            c.prepare_cached(
                "SELECT a.attempt, a.started_at, a.finished_at, a.outcome, a.error
                 FROM message_attempts a JOIN messages m ON m.id = a.message_id
                 WHERE a.message_id = ?1 AND m.workspace_id = ?2 ORDER BY a.attempt",
            )?
            .query_map(params![id, ws.0], |r| {
                Ok(AttemptRecord {
                    attempt: r.get(0)?,
                    started_at: r.get(1)?,
                    finished_at: r.get(2)?,
                    outcome: r.get(3)?,
                    error: r.get(4)?,
                })
            })?
            .collect()
        })
        .await
}

/// What frequency caps count (`?1` workspace, `?2` profile, `?3` since,
/// `?4` category, `?5` channel or NULL for all).
pub(super) const COUNT_RECENT: &str = "SELECT COUNT(*) FROM messages
     WHERE workspace_id = ?1 AND profile_id = ?2 AND created_at >= ?3 AND category = ?4
       AND (?5 IS NULL OR channel = ?5)
       AND status IN ('queued', 'sending', 'sent', 'delivered')";

pub(super) async fn count_recent(
    store: &SqliteStore,
    ws: WorkspaceId,
    profile: ProfileId,
    channel: Option<&str>,
    category: &str,
    since: i64,
) -> StoreResult<i64> {
    let (channel, category) = (channel.map(str::to_owned), category.to_owned());
    store
        .read(move |c| {
            c.prepare_cached(COUNT_RECENT)?
                .query_row(params![ws.0, profile.0, since, category, channel], |r| r.get(0))
        })
        .await
}

pub(super) fn suppression_row(r: &Row) -> rusqlite::Result<Suppression> {
    Ok(Suppression {
        workspace_id: WorkspaceId(r.get(0)?),
        channel: r.get(1)?,
        address: r.get(2)?,
        reason: r.get(3)?,
        message_id: r.get(4)?,
        created_at: r.get(5)?,
    })
}

pub(super) async fn suppress(store: &SqliteStore, s: &Suppression) -> StoreResult<()> {
    store
        .write(|c| {
            let tx = c.transaction()?;
            put_suppression(&tx, s)?;
            tx.commit()
        })
        .await
}

pub(super) async fn find_suppression(
    store: &SqliteStore,
    ws: WorkspaceId,
    channel: &str,
    address: &str,
) -> StoreResult<Option<Suppression>> {
    let (channel, address) = (channel.to_owned(), address.to_owned());
    store
        .read(move |c| {
            c.prepare_cached(
                "SELECT workspace_id, channel, address, reason, message_id, created_at FROM suppressions
                 WHERE workspace_id = ?1 AND channel = ?2 AND address = ?3",
            )?
            .query_row(params![ws.0, channel, address], suppression_row)
            .optional()
        })
        .await
}

pub(super) async fn list_suppressions(
    store: &SqliteStore,
    ws: WorkspaceId,
    limit: usize,
) -> StoreResult<Vec<Suppression>> {
    store
        .read(move |c| {
            c.prepare_cached(
                "SELECT workspace_id, channel, address, reason, message_id, created_at FROM suppressions
                 WHERE workspace_id = ?1 ORDER BY created_at DESC, address LIMIT ?2",
            )?
            .query_map(params![ws.0, limit as i64], suppression_row)?
            .collect()
        })
        .await
}

pub(super) async fn delete_suppression(
    store: &SqliteStore,
    ws: WorkspaceId,
    channel: &str,
    address: &str,
) -> StoreResult<bool> {
    store
        .write(|c| {
            c.execute(
                "DELETE FROM suppressions WHERE workspace_id = ?1 AND channel = ?2 AND address = ?3",
                params![ws.0, channel, address],
            )
            .map(|n| n > 0)
        })
        .await
}

/// Erasure: the profile's messages, attempts and tasks hold personal data.
/// Suppressions stay (they are why the address is never contacted again).
pub(super) fn erase(tx: &Transaction, ws: i64, profile: i64) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM message_attempts WHERE message_id IN
           (SELECT id FROM messages WHERE workspace_id = ?1 AND profile_id = ?2)",
        params![ws, profile],
    )?;
    tx.execute(
        "DELETE FROM messages WHERE workspace_id = ?1 AND profile_id = ?2",
        params![ws, profile],
    )?;
    tx.execute(
        "DELETE FROM tasks WHERE workspace_id = ?1 AND profile_id = ?2",
        params![ws, profile],
    )?;
    Ok(())
}

/// Merges: the loser's messages and tasks now belong to the winner.
pub(super) fn merge(tx: &Transaction, ws: i64, winner: i64, loser: i64) -> rusqlite::Result<()> {
    for sql in [
        "UPDATE messages SET profile_id = ?2 WHERE workspace_id = ?1 AND profile_id = ?3",
        "UPDATE tasks SET profile_id = ?2 WHERE workspace_id = ?1 AND profile_id = ?3",
    ] {
        tx.execute(sql, params![ws, winner, loser])?;
    }
    Ok(())
}

pub(super) async fn get_setting(
    store: &SqliteStore,
    ws: Option<WorkspaceId>,
    name: &str,
) -> StoreResult<Option<String>> {
    let (ws, name) = (ws.map_or(0, |w| w.0), name.to_owned());
    store
        .read(move |c| {
            c.query_row(
                "SELECT value FROM settings WHERE workspace_id = ?1 AND name = ?2",
                params![ws, name],
                |r| r.get(0),
            )
            .optional()
        })
        .await
}

pub(super) async fn init_setting(
    store: &SqliteStore,
    ws: Option<WorkspaceId>,
    name: &str,
    value: &str,
) -> StoreResult<String> {
    let ws = ws.map_or(0, |w| w.0);
    store
        .write(|c| {
            c.execute(
                "INSERT OR IGNORE INTO settings (workspace_id, name, value) VALUES (?1, ?2, ?3)",
                params![ws, name, value],
            )?;
            c.query_row(
                "SELECT value FROM settings WHERE workspace_id = ?1 AND name = ?2",
                params![ws, name],
                |r| r.get(0),
            )
        })
        .await
}
