//! The scale-out engine: PostgreSQL through a `deadpool_postgres` pool.
//!
//! Same schema and semantics as [`crate::sqlite`]; several Relais nodes may
//! share one database. Two things differ from SQLite's single writer:
//!
//! * **Log order.** Sequence numbers come from an identity column, and
//!   nextval is not transactional: a transaction that took seq 7 could
//!   commit after one that took seq 8, and a processor that had read up to
//!   8 would never see 7. Every append therefore holds a transaction-scoped
//!   advisory lock from before it draws its numbers until it commits, so
//!   sequence numbers become visible strictly in order, across nodes.
//! * **Batches.** The hot paths (appends, timeline rows, identity links,
//!   profile writes, segment memberships, timers) send whole batches as
//!   arrays and insert them with one `UNNEST` statement each, instead of one
//!   statement per row.
//! * **Segments.** The processor's commit locks the segments it touches
//!   before anything else, so an API deleting or editing one meanwhile
//!   waits for it (see `commit::lock_segments`).
//!
//! Connecting and migrating are in `postgres/setup.rs`, error mapping in
//! `postgres/errors.rs`, the processor's commit in `postgres/commit.rs`,
//! the segment methods in `postgres/segments.rs`, RFM cut points in
//! `postgres/rfm.rs`.

use crate::*;
use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use relais_core::identity::Identity;
use relais_core::SegmentId;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio_postgres::{NoTls, Row};

mod catalog;
mod commit;
mod erase;
mod errors;
mod event_names;
mod interest;
mod journeys;
mod messages;
mod pages;
mod rfm;
mod segments;
mod setup;
mod tasks;

use commit::apply_processed;
use errors::{map_pg, map_pool};
pub use setup::drop_schema;

pub struct PgStore {
    pool: Pool,
    schema: Option<String>,
    append_lock: i64,
}

impl PgStore {
    async fn client(&self) -> StoreResult<deadpool_postgres::Client> {
        self.pool.get().await.map_err(map_pool)
    }
}

/// `usize` limit as a SQL `LIMIT` (never negative).
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The items with distinct keys, each holding the value of the key's last
/// occurrence, in order of first occurrence. A batch upsert may not touch a
/// row twice; this gives what row-by-row upserts would leave.
fn last_wins<'a, T, K: std::hash::Hash + Eq>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut index: HashMap<K, usize> = HashMap::with_capacity(items.len());
    let mut out: Vec<&T> = Vec::with_capacity(items.len());
    for item in items {
        match index.entry(key(item)) {
            Entry::Occupied(e) => out[*e.get()] = item,
            Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(item);
            }
        }
    }
    out
}

/// The least string greater than every string that starts with `prefix`,
/// in code point (= UTF-8 byte, = `COLLATE "C"`) order; `None` when there is
/// none (every string starts with the empty prefix).
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 {
            0xD7FF => Some('\u{E000}'),
            c => char::from_u32(c + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn workspace_row(r: &Row) -> Workspace {
    Workspace {
        id: WorkspaceId(r.get(0)),
        name: r.get(1),
        created_at: r.get(2),
    }
}

fn source_row(r: &Row) -> Source {
    Source {
        id: SourceId(r.get(0)),
        workspace_id: WorkspaceId(r.get(1)),
        name: r.get(2),
        channel: r.get(3),
        created_at: r.get(4),
    }
}

fn key_row(r: &Row) -> KeyRecord {
    let kind: &str = r.get(3);
    KeyRecord {
        hash: r.get(0),
        prefix: r.get(1),
        workspace_id: WorkspaceId(r.get(2)),
        kind: KeyKind::parse(kind).unwrap_or(KeyKind::Write),
        source_id: r.get::<_, Option<i64>>(4).map(SourceId),
        created_at: r.get(5),
    }
}

const KEY_COLS: &str = "hash, prefix, workspace_id, kind, source_id, created_at";

/// `id`, or the profile it was merged into.
const RESOLVED_ID: &str =
    "COALESCE((SELECT new_id FROM profile_redirects WHERE workspace_id = $1 AND old_id = $2), $2)";

async fn query_cached<C: std::ops::Deref<Target = deadpool_postgres::ClientWrapper>>(
    client: &C,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> StoreResult<Vec<Row>> {
    let st = client.prepare_cached(sql).await.map_err(map_pg)?;
    client.query(&st, params).await.map_err(map_pg)
}

#[async_trait]
impl Store for PgStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<Vec<u32>> {
        self.run_migrations().await
    }

    async fn create_workspace(&self, name: &str, now: i64) -> StoreResult<Workspace> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO workspaces (name, created_at) VALUES ($1, $2) RETURNING id",
                &[&name, &now],
            )
            .await
            .map_err(map_pg)?;
        Ok(Workspace {
            id: WorkspaceId(row.get(0)),
            name: name.to_owned(),
            created_at: now,
        })
    }

    async fn list_workspaces(&self) -> StoreResult<Vec<Workspace>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT id, name, created_at FROM workspaces ORDER BY id",
            &[],
        )
        .await?;
        Ok(rows.iter().map(workspace_row).collect())
    }

    async fn create_source(
        &self,
        ws: WorkspaceId,
        name: &str,
        channel: &str,
        now: i64,
    ) -> StoreResult<Source> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO sources (workspace_id, name, channel, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&ws.0, &name, &channel, &now],
            )
            .await
            .map_err(map_pg)?;
        Ok(Source {
            id: SourceId(row.get(0)),
            workspace_id: ws,
            name: name.to_owned(),
            channel: channel.to_owned(),
            created_at: now,
        })
    }

    async fn list_sources(&self, ws: WorkspaceId) -> StoreResult<Vec<Source>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT id, workspace_id, name, channel, created_at FROM sources WHERE workspace_id = $1 ORDER BY id",
            &[&ws.0],
        )
        .await?;
        Ok(rows.iter().map(source_row).collect())
    }

    async fn get_source(&self, id: SourceId) -> StoreResult<Option<Source>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT id, workspace_id, name, channel, created_at FROM sources WHERE id = $1",
            &[&id.0],
        )
        .await?;
        Ok(rows.first().map(source_row))
    }

    async fn insert_key(&self, key: &KeyRecord) -> StoreResult<()> {
        let client = self.client().await?;
        client
            .execute(
                &format!("INSERT INTO api_keys ({KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
                &[
                    &key.hash,
                    &key.prefix,
                    &key.workspace_id.0,
                    &key.kind.as_str(),
                    &key.source_id.map(|s| s.0),
                    &key.created_at,
                ],
            )
            .await
            .map_err(map_pg)?;
        Ok(())
    }

    async fn find_key(&self, hash: &str) -> StoreResult<Option<KeyRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            &format!("SELECT {KEY_COLS} FROM api_keys WHERE hash = $1"),
            &[&hash],
        )
        .await?;
        Ok(rows.first().map(key_row))
    }

    async fn list_keys(&self, ws: WorkspaceId) -> StoreResult<Vec<KeyRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            &format!("SELECT {KEY_COLS} FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, hash"),
            &[&ws.0],
        )
        .await?;
        Ok(rows.iter().map(key_row).collect())
    }

    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<AppendOutcome> {
        if events.is_empty() {
            return Ok(AppendOutcome::default());
        }
        // Duplicates within the batch: the first occurrence is the one kept,
        // as with row-by-row INSERT OR IGNORE.
        let mut seen = HashSet::with_capacity(events.len());
        let fresh: Vec<&NewEvent> = events
            .iter()
            .filter(|e| seen.insert((e.workspace_id, e.message_id.as_str())))
            .collect();
        let ws: Vec<i64> = fresh.iter().map(|e| e.workspace_id.0).collect();
        let src: Vec<i64> = fresh.iter().map(|e| e.source_id.0).collect();
        let channel: Vec<&str> = fresh.iter().map(|e| e.channel.as_str()).collect();
        let message_id: Vec<&str> = fresh.iter().map(|e| e.message_id.as_str()).collect();
        let kind: Vec<&str> = fresh.iter().map(|e| e.kind.as_str()).collect();
        let received: Vec<i64> = fresh.iter().map(|e| e.received_at).collect();
        let ts: Vec<i64> = fresh.iter().map(|e| e.timestamp).collect();
        let payload: Vec<&str> = fresh.iter().map(|e| e.payload.as_str()).collect();

        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        // Held until commit: seq numbers are drawn and become visible in
        // order. Its own statement, so that the insert's snapshot (taken
        // after the lock) sees every earlier append.
        let lock = tx
            .prepare_cached("SELECT pg_advisory_xact_lock($1)")
            .await
            .map_err(map_pg)?;
        tx.execute(&lock, &[&self.append_lock]).await.map_err(map_pg)?;
        // NOT EXISTS skips known duplicates before they draw a seq (the log
        // stays dense); ON CONFLICT remains the guarantee.
        let insert = tx
            .prepare_cached(
                "INSERT INTO events
                   (workspace_id, source_id, channel, message_id, kind, received_at, timestamp, payload)
                 SELECT u.workspace_id, u.source_id, u.channel, u.message_id, u.kind, u.received_at, u.ts, u.payload
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                             $6::bigint[], $7::bigint[], $8::text[])
                      WITH ORDINALITY AS u(workspace_id, source_id, channel, message_id, kind,
                                           received_at, ts, payload, ord)
                 WHERE NOT EXISTS (SELECT 1 FROM events e
                                   WHERE e.workspace_id = u.workspace_id AND e.message_id = u.message_id)
                 ORDER BY u.ord
                 ON CONFLICT (workspace_id, message_id) DO NOTHING",
            )
            .await
            .map_err(map_pg)?;
        let inserted = tx
            .execute(
                &insert,
                &[&ws, &src, &channel, &message_id, &kind, &received, &ts, &payload],
            )
            .await
            .map_err(map_pg)? as usize;
        tx.commit().await.map_err(map_pg)?;
        Ok(AppendOutcome {
            inserted,
            duplicates: events.len() - inserted,
        })
    }

    async fn read_log(&self, after: i64, limit: usize) -> StoreResult<Vec<LogEvent>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT seq, workspace_id, source_id, channel, message_id, kind, received_at, timestamp, payload
             FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &sql_limit(limit)],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| LogEvent {
                seq: r.get(0),
                event: NewEvent {
                    workspace_id: WorkspaceId(r.get(1)),
                    source_id: SourceId(r.get(2)),
                    channel: r.get(3),
                    message_id: r.get(4),
                    kind: r.get(5),
                    received_at: r.get(6),
                    timestamp: r.get(7),
                    payload: r.get::<_, Option<String>>(8).unwrap_or_default(),
                },
            })
            .collect())
    }

    async fn log_head(&self) -> StoreResult<i64> {
        let client = self.client().await?;
        let rows = query_cached(&client, "SELECT COALESCE(MAX(seq), 0) FROM events", &[]).await?;
        Ok(rows[0].get(0))
    }

    async fn checkpoint(&self) -> StoreResult<i64> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT COALESCE((SELECT seq FROM checkpoints WHERE name = 'processor'), 0)",
            &[],
        )
        .await?;
        Ok(rows[0].get(0))
    }

    async fn commit_processed(&self, batch: &ProcessedBatch) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        apply_processed(&tx, batch).await?;
        if !batch.emitted.is_empty() {
            // Emitted events draw log seqs: in order with appends, like them.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&self.append_lock])
                .await
                .map_err(map_pg)?;
            commit::append_emitted(&tx, &batch.emitted).await?;
        }
        tx.commit().await.map_err(map_pg)
    }

    async fn find_profile(&self, ws: WorkspaceId, identity: &Identity) -> StoreResult<Option<ProfileId>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT profile_id FROM identities WHERE workspace_id = $1 AND kind = $2 AND value = $3",
            &[&ws.0, &identity.kind, &identity.value],
        )
        .await?;
        Ok(rows.first().map(|r| ProfileId(r.get(0))))
    }

    async fn get_profile(&self, ws: WorkspaceId, id: ProfileId) -> StoreResult<Option<StoredProfile>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            &format!(
                "SELECT id, state, created_at, updated_at FROM profiles
                 WHERE workspace_id = $1 AND id = {RESOLVED_ID}"
            ),
            &[&ws.0, &id.0],
        )
        .await?;
        Ok(rows.first().map(|r| StoredProfile {
            workspace_id: ws,
            id: ProfileId(r.get(0)),
            state: r.get(1),
            created_at: r.get(2),
            updated_at: r.get(3),
        }))
    }

    async fn find_profiles(&self, keys: &[(WorkspaceId, Identity)]) -> StoreResult<Vec<Option<ProfileId>>> {
        let mut out = vec![None; keys.len()];
        if keys.is_empty() {
            return Ok(out);
        }
        let ws: Vec<i64> = keys.iter().map(|(ws, _)| ws.0).collect();
        let kinds: Vec<&str> = keys.iter().map(|(_, i)| i.kind.as_str()).collect();
        let values: Vec<&str> = keys.iter().map(|(_, i)| i.value.as_str()).collect();
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT q.ord, i.profile_id
             FROM UNNEST($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS q(workspace_id, kind, value, ord)
             JOIN identities i ON i.workspace_id = q.workspace_id AND i.kind = q.kind AND i.value = q.value",
            &[&ws, &kinds, &values],
        )
        .await?;
        for r in &rows {
            let ord: i64 = r.get(0);
            out[(ord - 1) as usize] = Some(ProfileId(r.get(1)));
        }
        Ok(out)
    }

    async fn get_profiles(
        &self,
        keys: &[(WorkspaceId, ProfileId)],
    ) -> StoreResult<Vec<Option<StoredProfile>>> {
        let mut out = vec![None; keys.len()];
        if keys.is_empty() {
            return Ok(out);
        }
        let ws: Vec<i64> = keys.iter().map(|(ws, _)| ws.0).collect();
        let ids: Vec<i64> = keys.iter().map(|(_, id)| id.0).collect();
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT q.ord, p.id, p.state, p.created_at, p.updated_at
             FROM UNNEST($1::bigint[], $2::bigint[]) WITH ORDINALITY AS q(workspace_id, id, ord)
             LEFT JOIN profile_redirects r ON r.workspace_id = q.workspace_id AND r.old_id = q.id
             JOIN profiles p ON p.workspace_id = q.workspace_id AND p.id = COALESCE(r.new_id, q.id)",
            &[&ws, &ids],
        )
        .await?;
        for r in &rows {
            let i = (r.get::<_, i64>(0) - 1) as usize;
            out[i] = Some(StoredProfile {
                workspace_id: keys[i].0,
                id: ProfileId(r.get(1)),
                state: r.get(2),
                created_at: r.get(3),
                updated_at: r.get(4),
            });
        }
        Ok(out)
    }

    async fn profile_identities(&self, ws: WorkspaceId, id: ProfileId) -> StoreResult<Vec<Identity>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT kind, value FROM identities WHERE workspace_id = $1 AND profile_id = $2 ORDER BY kind, value",
            &[&ws.0, &id.0],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| Identity {
                kind: r.get(0),
                value: r.get(1),
            })
            .collect())
    }

    async fn timeline(
        &self,
        ws: WorkspaceId,
        id: ProfileId,
        q: &TimelineQuery,
    ) -> StoreResult<Vec<TimelineEntry>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT t.seq, t.timestamp, t.kind, t.name, t.channel, e.source_id, e.message_id, e.received_at, e.payload
             FROM timeline t JOIN events e ON e.seq = t.seq
             WHERE t.workspace_id = $1 AND t.profile_id = $2 AND t.seq < $3
               AND ($4::text IS NULL OR t.channel = $4) AND ($5::text IS NULL OR t.name = $5)
             ORDER BY t.seq DESC LIMIT $6",
            &[
                &ws.0,
                &id.0,
                &q.before.unwrap_or(i64::MAX),
                &q.channel,
                &q.name,
                &sql_limit(q.limit),
            ],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| TimelineEntry {
                seq: r.get(0),
                timestamp: r.get(1),
                kind: r.get(2),
                name: r.get(3),
                channel: r.get(4),
                source_id: SourceId(r.get(5)),
                message_id: r.get(6),
                received_at: r.get(7),
                payload: r.get(8),
            })
            .collect())
    }

    async fn search_profiles(
        &self,
        ws: WorkspaceId,
        identities: &[Identity],
        prefix: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ProfileId>> {
        let client = self.client().await?;
        let mut out: Vec<ProfileId> = Vec::new();
        let mut push = |p: ProfileId| {
            if !out.contains(&p) && out.len() < limit {
                out.push(p);
            }
        };
        if !identities.is_empty() {
            let kinds: Vec<&str> = identities.iter().map(|i| i.kind.as_str()).collect();
            let values: Vec<&str> = identities.iter().map(|i| i.value.as_str()).collect();
            let rows = query_cached(
                &client,
                "SELECT i.profile_id
                 FROM UNNEST($2::text[], $3::text[]) WITH ORDINALITY AS q(kind, value, ord)
                 JOIN identities i ON i.workspace_id = $1 AND i.kind = q.kind AND i.value = q.value
                 ORDER BY q.ord",
                &[&ws.0, &kinds, &values],
            )
            .await?;
            for r in &rows {
                push(ProfileId(r.get(0)));
            }
        }
        // PostgreSQL text cannot hold NUL, so no key starts with one.
        if let Some(prefix) = prefix.filter(|p| !p.contains('\0')) {
            // A profile ranks by the least of its matching keys (what
            // SQLite's DISTINCT … ORDER BY key does).
            let lim = sql_limit(limit);
            let rows = match prefix_upper_bound(prefix) {
                Some(upper) => {
                    query_cached(
                        &client,
                        "SELECT profile_id FROM profile_search
                         WHERE workspace_id = $1 AND key >= $2 AND key < $3
                         GROUP BY profile_id ORDER BY min(key), profile_id LIMIT $4",
                        &[&ws.0, &prefix, &upper, &lim],
                    )
                    .await?
                }
                None => {
                    query_cached(
                        &client,
                        "SELECT profile_id FROM profile_search
                         WHERE workspace_id = $1 AND key >= $2
                         GROUP BY profile_id ORDER BY min(key), profile_id LIMIT $3",
                        &[&ws.0, &prefix, &lim],
                    )
                    .await?
                }
            };
            for r in &rows {
                push(ProfileId(r.get(0)));
            }
        }
        Ok(out)
    }

    async fn merges(&self, ws: WorkspaceId, id: ProfileId) -> StoreResult<Vec<MergeRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT kind, winner, loser, seq, at, reason FROM merges
             WHERE workspace_id = $1 AND (winner = $2 OR loser = $2) ORDER BY id",
            &[&ws.0, &id.0],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| MergeRecord {
                workspace_id: ws,
                kind: MergeKind::parse(r.get(0)),
                winner: ProfileId(r.get(1)),
                loser: ProfileId(r.get(2)),
                seq: r.get(3),
                at: r.get(4),
                reason: r.get(5),
            })
            .collect())
    }

    async fn erase_profile(
        &self,
        ws: WorkspaceId,
        id: ProfileId,
        audit: &AuditRecord,
    ) -> StoreResult<Option<Erasure>> {
        erase::erase_profile(self, ws, id, audit).await
    }

    async fn audit_log(&self, ws: WorkspaceId, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT at, action, subject, detail FROM audit_log WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2",
            &[&ws.0, &sql_limit(limit)],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| AuditRecord {
                workspace_id: ws,
                at: r.get(0),
                action: r.get(1),
                subject: r.get(2),
                detail: r.get(3),
            })
            .collect())
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
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        messages::finish(self, tx, None, events).await
    }
    async fn get_setting(&self, ws: Option<WorkspaceId>, name: &str) -> StoreResult<Option<String>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT value FROM settings WHERE workspace_id = $1 AND name = $2",
            &[&ws.map_or(0, |w| w.0), &name],
        )
        .await?;
        Ok(rows.first().map(|r| r.get(0)))
    }
    async fn init_setting(&self, ws: Option<WorkspaceId>, name: &str, value: &str) -> StoreResult<String> {
        let client = self.client().await?;
        // Racing another first insert, this statement's snapshot can see
        // neither row (the other committed after it began): ask again.
        for _ in 0..3 {
            let rows = query_cached(
                &client,
                "WITH ins AS (INSERT INTO settings (workspace_id, name, value) VALUES ($1, $2, $3)
                              ON CONFLICT DO NOTHING RETURNING value)
                 SELECT value FROM ins UNION ALL
                 SELECT value FROM settings WHERE workspace_id = $1 AND name = $2 LIMIT 1",
                &[&ws.map_or(0, |w| w.0), &name, &value],
            )
            .await?;
            if let Some(r) = rows.first() {
                return Ok(r.get(0));
            }
        }
        Err(StoreError::Other(format!(
            "setting {name}: unreadable after racing inserts"
        )))
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

#[cfg(test)]
mod tests;
