//! The embedded engine: SQLite in WAL mode.
//!
//! One writer connection behind a mutex: every write is one transaction, and callers batch (ingest hands
//! over whole group commits), so a single writer is no bottleneck and there is never a `SQLITE_BUSY` between
//! our own writers. Reads use a small pool of separate connections, which WAL lets run beside the writer.
//!
//! Segments, memberships, timers and computed traits are in `sqlite/segments.rs`; RFM cut points in
//! `sqlite/rfm.rs`; the catalogue of event names in `sqlite/event_names.rs`.

use crate::*;
use relais_core::identity::Identity;
use relais_core::SegmentId;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod catalog;
mod commit;
mod event_names;
mod interest;
mod journeys;
mod messages;
mod pages;
mod rfm;
mod segments;
mod tasks;

use commit::{apply_processed, spawn_checkpointer};

const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_segments.sql")),
    (3, include_str!("../migrations/sqlite/0003_rfm.sql")),
    (4, include_str!("../migrations/sqlite/0004_profiles_ws.sql")),
    (5, include_str!("../migrations/sqlite/0005_messages.sql")),
    (6, include_str!("../migrations/sqlite/0006_catalog.sql")),
    (7, include_str!("../migrations/sqlite/0007_journeys.sql")),
    (8, include_str!("../migrations/sqlite/0008_journey_runs.sql")),
    (9, include_str!("../migrations/sqlite/0009_event_names.sql")),
    (10, include_str!("../migrations/sqlite/0010_product_interest.sql")),
];
/// Idle readers kept: a closed one loses its page cache and statements.
const MAX_IDLE_READERS: usize = 64;

pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs migrations.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        let writer = connect(path)?;
        // Checkpoints run beside the writer (below), not inside whichever
        // commit happens to cross the WAL threshold: that commit, often an
        // ingest request waiting for its answer, would pay for it.
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let store = SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        };
        store.migrate_blocking()?;
        spawn_checkpointer(Arc::downgrade(&store.inner))?;
        Ok(store)
    }

    fn migrate_blocking(&self) -> StoreResult<Vec<u32>> {
        let mut conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        migrate(&mut conn).map_err(map_err)
    }

    /// Runs `f` on the writer connection. On a multi-threaded runtime the
    /// call blocks in place (the runtime moves its other tasks elsewhere), so
    /// batches are written without being copied into a `'static` closure.
    async fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        F: FnOnce(&mut Connection) -> rusqlite::Result<R>,
    {
        let run = || {
            let mut conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn).map_err(map_err)
        };
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
            _ => run(),
        }
    }

    async fn read<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match pooled {
                Some(c) => c,
                None => connect(&inner.path).map_err(|e| StoreError::Unavailable(e.to_string()))?,
            };
            let out = f(&conn).map_err(map_err);
            let mut idle = inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Other(format!("sqlite reader task failed: {e}")))?
    }
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // WAL: readers never block the writer. synchronous=FULL: a commit survives
    // power loss ("200 means durable"); group commit pays it per batch.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "busy_timeout", 10_000)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -65_536)?; // 64 MiB
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "mmap_size", 268_435_456)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<Vec<u32>> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        let tx = conn.transaction()?;
        let done: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |r| r.get(0),
        )?;
        if !done {
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, relais_core::time::now_ms()],
            )?;
            applied.push(*version);
        }
        tx.commit()?;
    }
    Ok(applied)
}

fn map_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            C::ConstraintViolation => StoreError::Conflict(e.to_string()),
            C::DatabaseBusy | C::DatabaseLocked | C::DiskFull | C::SystemIoFailure | C::CannotOpen => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}

fn workspace_row(r: &rusqlite::Row) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        id: WorkspaceId(r.get(0)?),
        name: r.get(1)?,
        created_at: r.get(2)?,
    })
}

fn source_row(r: &rusqlite::Row) -> rusqlite::Result<Source> {
    Ok(Source {
        id: SourceId(r.get(0)?),
        workspace_id: WorkspaceId(r.get(1)?),
        name: r.get(2)?,
        channel: r.get(3)?,
        created_at: r.get(4)?,
    })
}

fn key_row(r: &rusqlite::Row) -> rusqlite::Result<KeyRecord> {
    let kind: String = r.get(3)?;
    Ok(KeyRecord {
        hash: r.get(0)?,
        prefix: r.get(1)?,
        workspace_id: WorkspaceId(r.get(2)?),
        kind: KeyKind::parse(&kind).unwrap_or(KeyKind::Write),
        source_id: r.get::<_, Option<i64>>(4)?.map(SourceId),
        created_at: r.get(5)?,
    })
}

const KEY_COLS: &str = "hash, prefix, workspace_id, kind, source_id, created_at";

fn resolve_redirect(conn: &Connection, ws: WorkspaceId, id: ProfileId) -> rusqlite::Result<ProfileId> {
    let new: Option<i64> = conn
        .prepare_cached("SELECT new_id FROM profile_redirects WHERE workspace_id = ?1 AND old_id = ?2")?
        .query_row(params![ws.0, id.0], |r| r.get(0))
        .optional()?;
    Ok(new.map(ProfileId).unwrap_or(id))
}

fn find_identity(conn: &Connection, ws: WorkspaceId, id: &Identity) -> rusqlite::Result<Option<ProfileId>> {
    conn.prepare_cached(
        "SELECT profile_id FROM identities WHERE workspace_id = ?1 AND kind = ?2 AND value = ?3",
    )?
    .query_row(params![ws.0, id.kind, id.value], |r| r.get(0).map(ProfileId))
    .optional()
}

fn load_profile(
    conn: &Connection,
    ws: WorkspaceId,
    id: ProfileId,
) -> rusqlite::Result<Option<StoredProfile>> {
    let id = resolve_redirect(conn, ws, id)?;
    conn.prepare_cached(
        "SELECT state, created_at, updated_at FROM profiles WHERE workspace_id = ?1 AND id = ?2",
    )?
    .query_row(params![ws.0, id.0], |r| {
        Ok(StoredProfile {
            workspace_id: ws,
            id,
            state: r.get(0)?,
            created_at: r.get(1)?,
            updated_at: r.get(2)?,
        })
    })
    .optional()
}

#[async_trait]
impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> StoreResult<Vec<u32>> {
        self.write(migrate).await
    }

    async fn create_workspace(&self, name: &str, now: i64) -> StoreResult<Workspace> {
        let name = name.to_owned();
        self.write(move |c| {
            c.execute(
                "INSERT INTO workspaces (name, created_at) VALUES (?1, ?2)",
                params![name, now],
            )?;
            Ok(Workspace {
                id: WorkspaceId(c.last_insert_rowid()),
                name,
                created_at: now,
            })
        })
        .await
    }

    async fn list_workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.read(|c| {
            c.prepare("SELECT id, name, created_at FROM workspaces ORDER BY id")?
                .query_map([], workspace_row)?
                .collect()
        })
        .await
    }

    async fn create_source(
        &self,
        ws: WorkspaceId,
        name: &str,
        channel: &str,
        now: i64,
    ) -> StoreResult<Source> {
        let (name, channel) = (name.to_owned(), channel.to_owned());
        self.write(move |c| {
            c.execute(
                "INSERT INTO sources (workspace_id, name, channel, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![ws.0, name, channel, now],
            )?;
            Ok(Source {
                id: SourceId(c.last_insert_rowid()),
                workspace_id: ws,
                name,
                channel,
                created_at: now,
            })
        })
        .await
    }

    async fn list_sources(&self, ws: WorkspaceId) -> StoreResult<Vec<Source>> {
        self.read(move |c| {
            c.prepare("SELECT id, workspace_id, name, channel, created_at FROM sources WHERE workspace_id = ?1 ORDER BY id")?
                .query_map([ws.0], source_row)?
                .collect()
        })
        .await
    }

    async fn get_source(&self, id: SourceId) -> StoreResult<Option<Source>> {
        self.read(move |c| {
            c.prepare_cached("SELECT id, workspace_id, name, channel, created_at FROM sources WHERE id = ?1")?
                .query_row([id.0], source_row)
                .optional()
        })
        .await
    }

    async fn insert_key(&self, key: &KeyRecord) -> StoreResult<()> {
        let k = key.clone();
        self.write(move |c| {
            c.execute(
                &format!("INSERT INTO api_keys ({KEY_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    k.hash,
                    k.prefix,
                    k.workspace_id.0,
                    k.kind.as_str(),
                    k.source_id.map(|s| s.0),
                    k.created_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_key(&self, hash: &str) -> StoreResult<Option<KeyRecord>> {
        let hash = hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {KEY_COLS} FROM api_keys WHERE hash = ?1"))?
                .query_row([hash], key_row)
                .optional()
        })
        .await
    }

    async fn list_keys(&self, ws: WorkspaceId) -> StoreResult<Vec<KeyRecord>> {
        self.read(move |c| {
            c.prepare(&format!(
                "SELECT {KEY_COLS} FROM api_keys WHERE workspace_id = ?1 ORDER BY created_at, hash"
            ))?
            .query_map([ws.0], key_row)?
            .collect()
        })
        .await
    }

    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<AppendOutcome> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let mut inserted = 0;
            {
                let mut st = tx.prepare_cached(
                    "INSERT OR IGNORE INTO events
                     (workspace_id, source_id, channel, message_id, kind, received_at, timestamp, payload)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for e in events {
                    inserted += st.execute(params![
                        e.workspace_id.0,
                        e.source_id.0,
                        e.channel,
                        e.message_id,
                        e.kind,
                        e.received_at,
                        e.timestamp,
                        e.payload
                    ])?;
                }
            }
            tx.commit()?;
            Ok(AppendOutcome {
                inserted,
                duplicates: events.len() - inserted,
            })
        })
        .await
    }

    async fn read_log(&self, after: i64, limit: usize) -> StoreResult<Vec<LogEvent>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT seq, workspace_id, source_id, channel, message_id, kind, received_at, timestamp, payload
                 FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?
            .query_map(params![after, limit as i64], |r| {
                Ok(LogEvent {
                    seq: r.get(0)?,
                    event: NewEvent {
                        workspace_id: WorkspaceId(r.get(1)?),
                        source_id: SourceId(r.get(2)?),
                        channel: r.get(3)?,
                        message_id: r.get(4)?,
                        kind: r.get(5)?,
                        received_at: r.get(6)?,
                        timestamp: r.get(7)?,
                        payload: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                    },
                })
            })?
            .collect()
        })
        .await
    }

    async fn log_head(&self) -> StoreResult<i64> {
        self.read(|c| c.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0)))
            .await
    }

    async fn checkpoint(&self) -> StoreResult<i64> {
        self.read(|c| {
            c.query_row(
                "SELECT COALESCE((SELECT seq FROM checkpoints WHERE name = 'processor'), 0)",
                [],
                |r| r.get(0),
            )
        })
        .await
    }

    async fn commit_processed(&self, batch: &ProcessedBatch) -> StoreResult<()> {
        let asked = std::time::Instant::now();
        self.write(move |c| {
            let locked = std::time::Instant::now();
            // Processed state is derived from the log and committed with its
            // checkpoint: if a power loss took the last commits away, the
            // processor would redo them from the log (emitted events keep
            // their message ids). So no fsync of its own; the next ingest
            // commit (synchronous=FULL) makes it durable along with the WAL.
            c.pragma_update(None, "synchronous", "NORMAL")?;
            let tx = c.transaction()?;
            apply_processed(&tx, batch)?;
            let applied = std::time::Instant::now();
            let committed = tx.commit();
            c.pragma_update(None, "synchronous", "FULL")?;
            committed?;
            tracing::debug!(
                wait_ms = (locked - asked).as_millis() as u64,
                apply_ms = (applied - locked).as_millis() as u64,
                sync_ms = applied.elapsed().as_millis() as u64,
                "sqlite commit_processed"
            );
            Ok(())
        })
        .await
    }

    async fn find_profile(&self, ws: WorkspaceId, identity: &Identity) -> StoreResult<Option<ProfileId>> {
        let id = identity.clone();
        self.read(move |c| find_identity(c, ws, &id)).await
    }

    async fn find_profiles(&self, keys: &[(WorkspaceId, Identity)]) -> StoreResult<Vec<Option<ProfileId>>> {
        let keys = keys.to_vec();
        self.read(move |c| keys.iter().map(|(ws, id)| find_identity(c, *ws, id)).collect())
            .await
    }

    async fn get_profile(&self, ws: WorkspaceId, id: ProfileId) -> StoreResult<Option<StoredProfile>> {
        self.read(move |c| load_profile(c, ws, id)).await
    }

    async fn get_profiles(
        &self,
        keys: &[(WorkspaceId, ProfileId)],
    ) -> StoreResult<Vec<Option<StoredProfile>>> {
        let keys = keys.to_vec();
        self.read(move |c| keys.iter().map(|(ws, id)| load_profile(c, *ws, *id)).collect())
            .await
    }

    async fn profile_identities(&self, ws: WorkspaceId, id: ProfileId) -> StoreResult<Vec<Identity>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT kind, value FROM identities WHERE workspace_id = ?1 AND profile_id = ?2 ORDER BY kind, value",
            )?
            .query_map(params![ws.0, id.0], |r| {
                Ok(Identity {
                    kind: r.get(0)?,
                    value: r.get(1)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn timeline(
        &self,
        ws: WorkspaceId,
        id: ProfileId,
        q: &TimelineQuery,
    ) -> StoreResult<Vec<TimelineEntry>> {
        let q = q.clone();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT t.seq, t.timestamp, t.kind, t.name, t.channel, e.source_id, e.message_id, e.received_at, e.payload
                 FROM timeline t JOIN events e ON e.seq = t.seq
                 WHERE t.workspace_id = ?1 AND t.profile_id = ?2 AND t.seq < ?3
                   AND (?4 IS NULL OR t.channel = ?4) AND (?5 IS NULL OR t.name = ?5)
                 ORDER BY t.seq DESC LIMIT ?6",
            )?
            .query_map(
                params![ws.0, id.0, q.before.unwrap_or(i64::MAX), q.channel, q.name, q.limit as i64],
                |r| {
                    Ok(TimelineEntry {
                        seq: r.get(0)?,
                        timestamp: r.get(1)?,
                        kind: r.get(2)?,
                        name: r.get(3)?,
                        channel: r.get(4)?,
                        source_id: SourceId(r.get(5)?),
                        message_id: r.get(6)?,
                        received_at: r.get(7)?,
                        payload: r.get(8)?,
                    })
                },
            )?
            .collect()
        })
        .await
    }

    async fn search_profiles(
        &self,
        ws: WorkspaceId,
        identities: &[Identity],
        prefix: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ProfileId>> {
        let identities = identities.to_vec();
        let prefix = prefix.map(str::to_owned);
        self.read(move |c| {
            let mut out: Vec<ProfileId> = Vec::new();
            let mut push = |p: ProfileId| {
                if !out.contains(&p) && out.len() < limit {
                    out.push(p);
                }
            };
            for id in &identities {
                if let Some(p) = find_identity(c, ws, id)? {
                    push(p);
                }
            }
            if let Some(prefix) = prefix {
                let mut st = c.prepare_cached(
                    "SELECT DISTINCT profile_id FROM profile_search
                     WHERE workspace_id = ?1 AND key >= ?2 AND key < ?2 || x'f4' ORDER BY key, profile_id LIMIT ?3",
                )?;
                for p in st.query_map(params![ws.0, prefix, limit as i64], |r| r.get::<_, i64>(0))? {
                    push(ProfileId(p?));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn merges(&self, ws: WorkspaceId, id: ProfileId) -> StoreResult<Vec<MergeRecord>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT kind, winner, loser, seq, at, reason FROM merges
                 WHERE workspace_id = ?1 AND (winner = ?2 OR loser = ?2) ORDER BY id",
            )?
            .query_map(params![ws.0, id.0], |r| {
                Ok(MergeRecord {
                    workspace_id: ws,
                    kind: MergeKind::parse(&r.get::<_, String>(0)?),
                    winner: ProfileId(r.get(1)?),
                    loser: ProfileId(r.get(2)?),
                    seq: r.get(3)?,
                    at: r.get(4)?,
                    reason: r.get(5)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn erase_profile(
        &self,
        ws: WorkspaceId,
        id: ProfileId,
        audit: &AuditRecord,
    ) -> StoreResult<Option<Erasure>> {
        let audit = audit.clone();
        self.write(move |c| {
            let tx = c.transaction()?;
            let id = resolve_redirect(&tx, ws, id)?;
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM profiles WHERE workspace_id = ?1 AND id = ?2)",
                params![ws.0, id.0],
                |r| r.get(0),
            )?;
            if !exists {
                return Ok(None);
            }
            let p = params![ws.0, id.0];
            let events_erased = tx.execute(
                "UPDATE events SET payload = NULL
                 WHERE seq IN (SELECT seq FROM timeline WHERE workspace_id = ?1 AND profile_id = ?2)",
                p,
            )?;
            let identities_removed =
                tx.execute("DELETE FROM identities WHERE workspace_id = ?1 AND profile_id = ?2", p)?;
            journeys::erase(&tx, ws.0, id.0, audit.at)?;
            for sql in [
                "DELETE FROM timeline WHERE workspace_id = ?1 AND profile_id = ?2",
                "DELETE FROM profile_search WHERE workspace_id = ?1 AND profile_id = ?2",
                "DELETE FROM product_interest WHERE workspace_id = ?1 AND profile_id = ?2",
                "DELETE FROM profile_redirects WHERE workspace_id = ?1 AND new_id = ?2",
                "DELETE FROM profiles WHERE workspace_id = ?1 AND id = ?2",
            ] {
                tx.execute(sql, p)?;
            }
            segments::erase(&tx, ws.0, id.0, true)?;
            messages::erase(&tx, ws.0, id.0)?;
            tx.execute(
                "INSERT INTO audit_log (workspace_id, at, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![audit.workspace_id.0, audit.at, audit.action, audit.subject, audit.detail],
            )?;
            tx.commit()?;
            Ok(Some(Erasure {
                events_erased,
                identities_removed,
            }))
        })
        .await
    }

    async fn audit_log(&self, ws: WorkspaceId, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT at, action, subject, detail FROM audit_log WHERE workspace_id = ?1 ORDER BY id DESC LIMIT ?2",
            )?
            .query_map(params![ws.0, limit as i64], |r| {
                Ok(AuditRecord {
                    workspace_id: ws,
                    at: r.get(0)?,
                    action: r.get(1)?,
                    subject: r.get(2)?,
                    detail: r.get(3)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn create_segment(
        &self,
        ws: WorkspaceId,
        name: &str,
        description: &str,
        definition: &str,
        now: i64,
    ) -> StoreResult<SegmentRecord> {
        segments::create_segment(self, ws, name, description, definition, now).await
    }

    async fn update_segment(
        &self,
        ws: WorkspaceId,
        id: SegmentId,
        name: &str,
        description: &str,
        definition: &str,
        now: i64,
    ) -> StoreResult<Option<SegmentRecord>> {
        segments::update_segment(self, ws, id, name, description, definition, now).await
    }

    async fn restart_backfill(&self, ws: WorkspaceId, id: SegmentId) -> StoreResult<bool> {
        rfm::restart_backfill(self, ws, id).await
    }

    async fn delete_segment(&self, ws: WorkspaceId, id: SegmentId) -> StoreResult<bool> {
        segments::delete_segment(self, ws, id).await
    }

    async fn get_segment(&self, ws: WorkspaceId, id: SegmentId) -> StoreResult<Option<SegmentRecord>> {
        segments::get_segment(self, ws, id).await
    }

    async fn list_segments(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<SegmentRecord>> {
        segments::list_segments(self, ws).await
    }

    async fn segment_size(&self, ws: WorkspaceId, id: SegmentId) -> StoreResult<i64> {
        segments::segment_size(self, ws, id).await
    }

    async fn segment_members(
        &self,
        ws: WorkspaceId,
        id: SegmentId,
        after: Option<ProfileId>,
        limit: usize,
    ) -> StoreResult<Vec<Member>> {
        segments::segment_members(self, ws, id, after, limit).await
    }

    async fn profile_segments(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
    ) -> StoreResult<Vec<(SegmentId, i64)>> {
        segments::profile_segments(self, ws, profile).await
    }

    async fn segment_history(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        limit: usize,
    ) -> StoreResult<Vec<MembershipChange>> {
        segments::segment_history(self, ws, profile, limit).await
    }

    async fn profile_ids(
        &self,
        ws: WorkspaceId,
        after: ProfileId,
        limit: usize,
    ) -> StoreResult<Vec<ProfileId>> {
        segments::profile_ids(self, ws, after, limit).await
    }

    async fn count_profiles(&self, ws: WorkspaceId) -> StoreResult<i64> {
        segments::count_profiles(self, ws).await
    }

    async fn profile_history(
        &self,
        ws: WorkspaceId,
        profiles: &[ProfileId],
        names: Option<&[String]>,
    ) -> StoreResult<Vec<HistoryRow>> {
        segments::profile_history(self, ws, profiles, names).await
    }

    async fn due_timers(&self, now: i64, limit: usize) -> StoreResult<Vec<DueTimer>> {
        segments::due_timers(self, now, limit).await
    }

    async fn next_timer(&self) -> StoreResult<Option<i64>> {
        segments::next_timer(self).await
    }

    async fn put_computed_trait(
        &self,
        ws: WorkspaceId,
        name: &str,
        definition: &str,
        now: i64,
    ) -> StoreResult<ComputedTraitRecord> {
        segments::put_computed_trait(self, ws, name, definition, now).await
    }

    async fn list_computed_traits(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<ComputedTraitRecord>> {
        segments::list_computed_traits(self, ws).await
    }

    async fn delete_computed_trait(&self, ws: WorkspaceId, name: &str) -> StoreResult<bool> {
        segments::delete_computed_trait(self, ws, name).await
    }

    async fn put_rfm_thresholds(&self, ws: WorkspaceId, t: &RfmThresholds) -> StoreResult<bool> {
        rfm::put_rfm_thresholds(self, ws, t).await
    }

    async fn rfm_thresholds(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<RfmThresholds>> {
        rfm::rfm_thresholds(self, ws).await
    }

    async fn enqueue_message(&self, m: &NewMessage) -> StoreResult<Enqueued> {
        messages::enqueue(self, m).await
    }
    async fn claim_messages(&self, now: i64, lease_ms: i64, limit: usize) -> StoreResult<Vec<MessageRecord>> {
        messages::claim(self, now, lease_ms, limit).await
    }
    async fn next_message_due(&self) -> StoreResult<Option<i64>> {
        messages::next_due(self).await
    }
    async fn record_attempt(&self, r: &AttemptResult) -> StoreResult<bool> {
        messages::record_attempt(self, r).await
    }
    async fn record_engagement(&self, u: &EngagementUpdate) -> StoreResult<Option<MessageRecord>> {
        messages::record_engagement(self, u).await
    }
    async fn get_message(&self, ws: WorkspaceId, id: &str) -> StoreResult<Option<MessageRecord>> {
        messages::get(self, ws, id).await
    }
    async fn find_message_by_provider_id(
        &self,
        provider: &str,
        provider_message_id: &str,
    ) -> StoreResult<Option<MessageRecord>> {
        messages::by_provider_id(self, provider, provider_message_id).await
    }
    async fn list_messages(&self, ws: WorkspaceId, f: &MessageFilter) -> StoreResult<Vec<MessageRecord>> {
        messages::list(self, ws, f).await
    }
    async fn message_attempts(&self, ws: WorkspaceId, id: &str) -> StoreResult<Vec<AttemptRecord>> {
        messages::attempts(self, ws, id).await
    }
    async fn count_recent_messages(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        channel: Option<&str>,
        category: &str,
        since: i64,
    ) -> StoreResult<i64> {
        messages::count_recent(self, ws, profile, channel, category, since).await
    }
    async fn put_suppression(&self, s: &Suppression) -> StoreResult<()> {
        messages::suppress(self, s).await
    }
    async fn find_suppression(
        &self,
        ws: WorkspaceId,
        channel: &str,
        address: &str,
    ) -> StoreResult<Option<Suppression>> {
        messages::find_suppression(self, ws, channel, address).await
    }
    async fn list_suppressions(&self, ws: WorkspaceId, limit: usize) -> StoreResult<Vec<Suppression>> {
        messages::list_suppressions(self, ws, limit).await
    }
    async fn delete_suppression(&self, ws: WorkspaceId, channel: &str, address: &str) -> StoreResult<bool> {
        messages::delete_suppression(self, ws, channel, address).await
    }
    async fn append_emitted(&self, events: &[EmittedEvent]) -> StoreResult<()> {
        self.write(|c| {
            let tx = c.transaction()?;
            commit::append_emitted(&tx, events)?;
            tx.commit()
        })
        .await
    }
    async fn get_setting(&self, ws: Option<WorkspaceId>, name: &str) -> StoreResult<Option<String>> {
        messages::get_setting(self, ws, name).await
    }
    async fn init_setting(&self, ws: Option<WorkspaceId>, name: &str, value: &str) -> StoreResult<String> {
        messages::init_setting(self, ws, name, value).await
    }
    async fn create_task(&self, t: &TaskRecord) -> StoreResult<bool> {
        tasks::create(self, t).await
    }
    async fn get_task(&self, ws: WorkspaceId, id: &str) -> StoreResult<Option<TaskRecord>> {
        tasks::get(self, ws, id).await
    }
    async fn list_tasks(&self, ws: WorkspaceId, f: &TaskFilter) -> StoreResult<Vec<TaskRecord>> {
        tasks::list(self, ws, f).await
    }
    async fn change_task(
        &self,
        ws: WorkspaceId,
        id: &str,
        change: &TaskChange,
        at: i64,
        emitted: &[EmittedEvent],
    ) -> StoreResult<TaskChangeResult> {
        tasks::change(self, ws, id, change, at, emitted).await
    }
}
