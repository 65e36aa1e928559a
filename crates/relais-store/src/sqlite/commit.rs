//! `commit_processed` for SQLite: the effects of a processed batch, row by
//! row on the single writer, in the order `ProcessedBatch` documents.

use super::segments;
use crate::*;
use rusqlite::{params, Transaction};

/// Runs `f` with commits that do not fsync (WAL, `synchronous=NORMAL`) when
/// `relaxed`: writes that are re-made after a power loss by whoever made
/// them (the journey runner replays its step). The next fsync'd commit —
/// the dispatcher's claim of a message, before any delivery — makes them
/// durable with the WAL, so nothing leaves Relais on a write a power loss
/// could take back.
pub(super) fn maybe_relaxed<R>(
    c: &mut rusqlite::Connection,
    relaxed: bool,
    f: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<R>,
) -> rusqlite::Result<R> {
    if !relaxed {
        return f(c);
    }
    c.pragma_update(None, "synchronous", "NORMAL")?;
    let out = f(c);
    c.pragma_update(None, "synchronous", "FULL")?;
    out
}

pub(super) fn apply_processed(tx: &Transaction, b: &ProcessedBatch) -> rusqlite::Result<()> {
    {
        let mut st = tx.prepare_cached(
            "INSERT OR REPLACE INTO timeline (workspace_id, profile_id, seq, timestamp, kind, name, channel)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for t in &b.timeline {
            st.execute(params![
                t.workspace_id.0,
                t.profile_id.0,
                t.seq,
                t.timestamp,
                t.kind,
                t.name,
                t.channel
            ])?;
        }
    }
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO identities (workspace_id, kind, value, profile_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (workspace_id, kind, value) DO UPDATE SET profile_id = excluded.profile_id",
        )?;
        for l in &b.identities {
            st.execute(params![
                l.workspace_id.0,
                l.identity.kind,
                l.identity.value,
                l.profile_id.0
            ])?;
        }
    }
    for m in &b.merges {
        tx.prepare_cached(
            "INSERT INTO merges (workspace_id, kind, winner, loser, seq, at, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![m.workspace_id.0, m.kind.as_str(), m.winner.0, m.loser.0, m.seq, m.at, m.reason])?;
        if m.kind != MergeKind::Merge {
            continue;
        }
        let (ws, w, l) = (m.workspace_id.0, m.winner.0, m.loser.0);
        for sql in [
            "UPDATE identities SET profile_id = ?2 WHERE workspace_id = ?1 AND profile_id = ?3",
            "UPDATE timeline SET profile_id = ?2 WHERE workspace_id = ?1 AND profile_id = ?3",
            "UPDATE profile_redirects SET new_id = ?2 WHERE workspace_id = ?1 AND new_id = ?3",
            "INSERT OR REPLACE INTO profile_redirects (workspace_id, old_id, new_id) VALUES (?1, ?3, ?2)",
        ] {
            tx.prepare_cached(sql)?.execute(params![ws, w, l])?;
        }
        for sql in [
            "DELETE FROM profile_search WHERE workspace_id = ?1 AND profile_id = ?2",
            "DELETE FROM product_interest WHERE workspace_id = ?1 AND profile_id = ?2",
            "DELETE FROM profiles WHERE workspace_id = ?1 AND id = ?2",
        ] {
            tx.prepare_cached(sql)?.execute(params![ws, l])?;
        }
        segments::merge(tx, ws, w, l)?;
        super::messages::merge(tx, ws, w, l)?;
        super::journeys::merge(tx, ws, w, l)?;
    }
    for p in &b.profiles {
        tx.prepare_cached(
            "INSERT INTO profiles (workspace_id, id, state, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (workspace_id, id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )?
        .execute(params![p.workspace_id.0, p.id.0, p.state, p.created_at, p.updated_at])?;
        if let Some(keys) = &p.search_keys {
            replace_profile_keys(tx, "profile_search", "key", p, keys.iter().map(String::as_str))?;
        }
        super::interest::write(tx, p)?;
    }
    segments::apply_processed(tx, b)?;
    append_emitted(tx, &b.emitted)?;
    super::journeys::write_feed(tx, &b.journey_feed)?;
    tx.prepare_cached("INSERT OR REPLACE INTO checkpoints (name, seq) VALUES ('processor', ?1)")?
        .execute([b.checkpoint])?;
    Ok(())
}

/// Appends Relais' own events to the log with their timeline rows (the
/// processor folds them into aggregates later, by `properties.profile_id`).
/// A message id already in the log is skipped, which makes re-emitting harmless.
pub(super) fn append_emitted(tx: &Transaction, emitted: &[EmittedEvent]) -> rusqlite::Result<()> {
    for e in emitted {
        let ev = &e.event;
        let inserted = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO events
               (workspace_id, source_id, channel, message_id, kind, received_at, timestamp, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                ev.workspace_id.0,
                ev.source_id.0,
                ev.channel,
                ev.message_id,
                ev.kind,
                ev.received_at,
                ev.timestamp,
                ev.payload
            ])?;
        if inserted == 1 {
            tx.prepare_cached(
            "INSERT OR REPLACE INTO timeline (workspace_id, profile_id, seq, timestamp, kind, name, channel)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            ev.workspace_id.0,
            e.profile_id.0,
            tx.last_insert_rowid(),
            ev.timestamp,
            ev.kind,
            e.name,
            ev.channel
        ])?;
        }
    }
    Ok(())
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// A thread that checkpoints the WAL (PASSIVE: never blocks the writer or
/// readers) until the store is dropped.
/// Replaces a written profile's rows in one of its key tables
/// (`profile_search`, `product_interest`).
pub(super) fn replace_profile_keys<'k>(
    tx: &Transaction,
    table: &str,
    key_col: &str,
    p: &ProfileWrite,
    keys: impl IntoIterator<Item = &'k str>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "DELETE FROM {table} WHERE workspace_id = ?1 AND profile_id = ?2"
    ))?
    .execute(params![p.workspace_id.0, p.id.0])?;
    let mut ins = tx.prepare_cached(&format!(
        "INSERT OR IGNORE INTO {table} (workspace_id, {key_col}, profile_id) VALUES (?1, ?2, ?3)"
    ))?;
    for k in keys {
        ins.execute(params![p.workspace_id.0, k, p.id.0])?;
    }
    Ok(())
}

pub(super) fn spawn_checkpointer(inner: std::sync::Weak<super::Inner>) -> anyhow::Result<()> {
    let path = inner.upgrade().map(|i| i.path.clone()).unwrap_or_default();
    let conn = super::connect(&path)?;
    std::thread::Builder::new()
        .name("relais-sqlite-checkpoint".into())
        .spawn(move || loop {
            std::thread::sleep(CHECKPOINT_EVERY);
            if inner.upgrade().is_none() {
                return;
            }
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
            }
        })?;
    Ok(())
}
