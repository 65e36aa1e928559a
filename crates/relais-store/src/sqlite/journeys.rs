//! Journeys on SQLite: definitions and versions, instances with their
//! timers and traces, the feed, offers and coupons. Every write is one
//! transaction on the single writer, which also makes the check-then-write
//! of offers and coupons atomic: no other writer can come in between.

use super::*;

const JOURNEY_COLS: &str = "workspace_id, id, name, status, version, definition, created_at, updated_at";
pub(super) const INSTANCE_COLS: &str =
    "id, workspace_id, journey_id, version, profile_id, status, node, wake_at,
    wait_event, context, entered_at, updated_at, exited_at, exit_reason, converted_at";
const OFFER_COLS: &str = "workspace_id, profile_id, grp, offer, granted_by, granted_at, expires_at";

fn journey_row(r: &rusqlite::Row) -> rusqlite::Result<JourneyRecord> {
    Ok(JourneyRecord {
        workspace_id: WorkspaceId(r.get(0)?),
        id: r.get(1)?,
        name: r.get(2)?,
        status: r.get(3)?,
        version: r.get(4)?,
        definition: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

pub(super) fn instance_row(r: &rusqlite::Row) -> rusqlite::Result<InstanceRecord> {
    Ok(InstanceRecord {
        id: r.get(0)?,
        workspace_id: WorkspaceId(r.get(1)?),
        journey_id: r.get(2)?,
        version: r.get(3)?,
        profile_id: ProfileId(r.get(4)?),
        status: r.get(5)?,
        node: r.get(6)?,
        wake_at: r.get(7)?,
        wait_event: r.get(8)?,
        context: r.get(9)?,
        entered_at: r.get(10)?,
        updated_at: r.get(11)?,
        exited_at: r.get(12)?,
        exit_reason: r.get(13)?,
        converted_at: r.get(14)?,
    })
}

fn offer_row(r: &rusqlite::Row) -> rusqlite::Result<OfferRecord> {
    Ok(OfferRecord {
        workspace_id: WorkspaceId(r.get(0)?),
        profile_id: ProfileId(r.get(1)?),
        group: r.get(2)?,
        offer: r.get(3)?,
        granted_by: r.get(4)?,
        granted_at: r.get(5)?,
        expires_at: r.get(6)?,
    })
}

fn load_journey(c: &Connection, ws: WorkspaceId, id: &str) -> rusqlite::Result<Option<JourneyRecord>> {
    c.prepare_cached(&format!(
        "SELECT {JOURNEY_COLS} FROM journeys WHERE workspace_id = ?1 AND id = ?2"
    ))?
    .query_row(params![ws.0, id], journey_row)
    .optional()
}

fn append_trace(tx: &Transaction, trace: &[TraceRecord]) -> rusqlite::Result<()> {
    let mut st = tx.prepare_cached(
        "INSERT INTO journey_trace (instance_id, at, node, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for t in trace {
        st.execute(params![t.instance_id, t.at, t.node, t.kind, t.detail])?;
    }
    Ok(())
}

/// Inserts an instance unless one with its id exists; `true` when new.
fn insert_instance(tx: &Transaction, i: &InstanceRecord) -> rusqlite::Result<bool> {
    let n = tx
        .prepare_cached(&format!(
            "INSERT INTO journey_instances ({INSTANCE_COLS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (id) DO NOTHING"
        ))?
        .execute(params![
            i.id,
            i.workspace_id.0,
            i.journey_id,
            i.version,
            i.profile_id.0,
            i.status,
            i.node,
            i.wake_at,
            i.wait_event,
            i.context,
            i.entered_at,
            i.updated_at,
            i.exited_at,
            i.exit_reason,
            i.converted_at
        ])?;
    Ok(n > 0)
}

fn run_row(r: &rusqlite::Row) -> rusqlite::Result<JourneyRun> {
    Ok(JourneyRun {
        workspace_id: WorkspaceId(r.get(0)?),
        journey_id: r.get(1)?,
        run_key: r.get(2)?,
        cursor: r.get(3)?,
        entered: r.get(4)?,
        started_at: r.get(5)?,
        done_at: r.get(6)?,
    })
}

const RUN_COLS: &str = "workspace_id, journey_id, run_key, cursor, entered, started_at, done_at";

/// Feed rows of a processed batch (`commit::apply_processed`); a seq already
/// in the feed is skipped, so a replayed batch adds nothing twice.
pub(super) fn write_feed(tx: &Transaction, feed: &[FeedRow]) -> rusqlite::Result<()> {
    let mut st = tx.prepare_cached(
        "INSERT OR IGNORE INTO journey_feed (seq, workspace_id, profile_id, name, channel, timestamp, properties)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for f in feed {
        st.execute(params![
            f.seq,
            f.workspace_id.0,
            f.profile_id.0,
            f.name,
            f.channel,
            f.timestamp,
            f.properties
        ])?;
    }
    Ok(())
}

/// A merge (`commit::apply_processed`, in its transaction): the loser's
/// passages, pending feed rows and coupon codes follow it to the winner, so
/// a journey started on one device goes on with the merged profile; of two
/// offers in one group, the winner's is kept.
pub(super) fn merge(tx: &Transaction, ws: i64, winner: i64, loser: i64) -> rusqlite::Result<()> {
    for sql in [
        "UPDATE journey_instances SET profile_id = ?2 WHERE workspace_id = ?1 AND profile_id = ?3",
        "UPDATE journey_feed SET profile_id = ?2 WHERE workspace_id = ?1 AND profile_id = ?3",
        "UPDATE coupon_codes SET profile_id = ?2 WHERE workspace_id = ?1 AND profile_id = ?3",
        "UPDATE OR IGNORE profile_offers SET profile_id = ?2 WHERE workspace_id = ?1 AND profile_id = ?3",
    ] {
        tx.prepare_cached(sql)?.execute(params![ws, winner, loser])?;
    }
    tx.prepare_cached("DELETE FROM profile_offers WHERE workspace_id = ?1 AND profile_id = ?2")?
        .execute(params![ws, loser])?;
    Ok(())
}

/// Erasure (`Store::erase_profile`, in its transaction): the journey rows of
/// the profile and of the ids merged into it (merges leave them on the
/// loser's id), so it runs before their redirects are deleted. Instances go
/// with their traces, as do feed rows and offers; coupon codes stay used
/// (`assigned_at` kept, so never handed out again) but lose profile and key.
pub(super) fn erase(tx: &Transaction, ws: i64, profile: i64, now: i64) -> rusqlite::Result<()> {
    const IDS: &str =
        "(SELECT ?2 UNION ALL SELECT old_id FROM profile_redirects WHERE workspace_id = ?1 AND new_id = ?2)";
    for sql in [
        format!(
            "DELETE FROM journey_trace WHERE instance_id IN
               (SELECT id FROM journey_instances WHERE workspace_id = ?1 AND profile_id IN {IDS})"
        ),
        format!("DELETE FROM journey_instances WHERE workspace_id = ?1 AND profile_id IN {IDS}"),
        format!("DELETE FROM journey_feed WHERE workspace_id = ?1 AND profile_id IN {IDS}"),
        format!("DELETE FROM profile_offers WHERE workspace_id = ?1 AND profile_id IN {IDS}"),
    ] {
        tx.execute(&sql, params![ws, profile])?;
    }
    tx.execute(
        &format!(
            "UPDATE coupon_codes SET profile_id = NULL, assign_key = NULL, assigned_at = coalesce(assigned_at, ?3)
             WHERE workspace_id = ?1 AND profile_id IN {IDS}"
        ),
        params![ws, profile, now],
    )?;
    Ok(())
}

/// `(key, count)` pairs of a `GROUP BY` statement.
fn counted(c: &Connection, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<Vec<(String, i64)>> {
    c.prepare_cached(sql)?
        .query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

#[async_trait]
impl JourneyStore for SqliteStore {
    async fn create_journey(&self, j: &JourneyRecord) -> StoreResult<()> {
        let refused = self
            .write(|c| {
                let tx = c.transaction()?;
                let taken = |sql: &str, v: &str| -> rusqlite::Result<bool> {
                    tx.prepare_cached(sql)?
                        .query_row(params![j.workspace_id.0, v], |r| r.get(0))
                };
                if taken(
                    "SELECT EXISTS (SELECT 1 FROM journeys WHERE workspace_id = ?1 AND name = ?2)",
                    &j.name,
                )? {
                    return Ok(Some(format!("a journey named {:?} already exists", j.name)));
                }
                if taken(
                    "SELECT EXISTS (SELECT 1 FROM journeys WHERE workspace_id = ?1 AND id = ?2)",
                    &j.id,
                )? {
                    return Ok(Some(format!("journey id {:?} already exists", j.id)));
                }
                // A new journey is version 1 whatever the record says: the
                // version rows count from there.
                tx.prepare_cached(&format!(
                    "INSERT INTO journeys ({JOURNEY_COLS}) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7)"
                ))?
                .execute(params![
                    j.workspace_id.0,
                    j.id,
                    j.name,
                    j.status,
                    j.definition,
                    j.created_at,
                    j.updated_at
                ])?;
                tx.prepare_cached(
                    "INSERT INTO journey_versions (workspace_id, journey_id, version, definition, created_at)
                     VALUES (?1, ?2, 1, ?3, ?4)",
                )?
                .execute(params![j.workspace_id.0, j.id, j.definition, j.created_at])?;
                tx.commit()?;
                Ok(None)
            })
            .await?;
        refused.map_or(Ok(()), |m| Err(StoreError::Conflict(m)))
    }

    async fn update_journey_definition(
        &self,
        ws: WorkspaceId,
        id: &str,
        definition: &str,
        now: i64,
    ) -> StoreResult<Option<JourneyRecord>> {
        self.write(|c| {
            let tx = c.transaction()?;
            let changed = tx
                .prepare_cached(
                    "UPDATE journeys SET definition = ?3, version = version + 1, updated_at = ?4
                     WHERE workspace_id = ?1 AND id = ?2",
                )?
                .execute(params![ws.0, id, definition, now])?;
            if changed == 0 {
                return Ok(None);
            }
            let j = load_journey(&tx, ws, id)?;
            if let Some(j) = &j {
                tx.prepare_cached(
                    "INSERT INTO journey_versions (workspace_id, journey_id, version, definition, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![ws.0, id, j.version, definition, now])?;
            }
            tx.commit()?;
            Ok(j)
        })
        .await
    }

    async fn set_journey_status(
        &self,
        ws: WorkspaceId,
        id: &str,
        status: &str,
        now: i64,
    ) -> StoreResult<Option<JourneyRecord>> {
        self.write(|c| {
            let tx = c.transaction()?;
            tx.prepare_cached(
                "UPDATE journeys SET status = ?3, updated_at = ?4 WHERE workspace_id = ?1 AND id = ?2",
            )?
            .execute(params![ws.0, id, status, now])?;
            let j = load_journey(&tx, ws, id)?;
            tx.commit()?;
            Ok(j)
        })
        .await
    }

    async fn get_journey(&self, ws: WorkspaceId, id: &str) -> StoreResult<Option<JourneyRecord>> {
        let id = id.to_owned();
        self.read(move |c| load_journey(c, ws, &id)).await
    }

    async fn find_journey_by_name(&self, ws: WorkspaceId, name: &str) -> StoreResult<Option<JourneyRecord>> {
        let name = name.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {JOURNEY_COLS} FROM journeys WHERE workspace_id = ?1 AND name = ?2"
            ))?
            .query_row(params![ws.0, name], journey_row)
            .optional()
        })
        .await
    }

    async fn list_journeys(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<JourneyRecord>> {
        self.read(move |c| match ws {
            Some(ws) => c
                .prepare_cached(&format!(
                    "SELECT {JOURNEY_COLS} FROM journeys WHERE workspace_id = ?1 ORDER BY id"
                ))?
                .query_map([ws.0], journey_row)?
                .collect(),
            None => c
                .prepare_cached(&format!(
                    "SELECT {JOURNEY_COLS} FROM journeys ORDER BY id, workspace_id"
                ))?
                .query_map([], journey_row)?
                .collect(),
        })
        .await
    }

    async fn journey_version(&self, ws: WorkspaceId, id: &str, version: i32) -> StoreResult<Option<String>> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT definition FROM journey_versions
                 WHERE workspace_id = ?1 AND journey_id = ?2 AND version = ?3",
            )?
            .query_row(params![ws.0, id, version], |r| r.get(0))
            .optional()
        })
        .await
    }

    async fn enter_instance(&self, i: &InstanceRecord, trace: &[TraceRecord]) -> StoreResult<bool> {
        self.write(|c| {
            let tx = c.transaction()?;
            if !insert_instance(&tx, i)? {
                return Ok(false);
            }
            append_trace(&tx, trace)?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn save_instance(&self, i: &InstanceRecord, trace: &[TraceRecord]) -> StoreResult<()> {
        self.write(|c| {
            super::commit::maybe_relaxed(c, true, |c| {
                let tx = c.transaction()?;
                let changed = tx
                    .prepare_cached(
                        "UPDATE journey_instances SET status = ?3, node = ?4, wake_at = ?5, wait_event = ?6,
                       context = ?7, updated_at = ?8, exited_at = ?9, exit_reason = ?10, converted_at = ?11
                     WHERE id = ?1 AND workspace_id = ?2",
                    )?
                    .execute(params![
                        i.id,
                        i.workspace_id.0,
                        i.status,
                        i.node,
                        i.wake_at,
                        i.wait_event,
                        i.context,
                        i.updated_at,
                        i.exited_at,
                        i.exit_reason,
                        i.converted_at
                    ])?;
                // No instance, no trace: rows of an unknown instance would be
                // orphans no query reaches.
                if changed == 0 {
                    return Ok(());
                }
                append_trace(&tx, trace)?;
                tx.commit()
            })
        })
        .await
    }

    async fn get_instance(&self, ws: WorkspaceId, id: &str) -> StoreResult<Option<InstanceRecord>> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {INSTANCE_COLS} FROM journey_instances WHERE id = ?1 AND workspace_id = ?2"
            ))?
            .query_row(params![id, ws.0], instance_row)
            .optional()
        })
        .await
    }

    async fn profile_instances(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        journey: Option<&str>,
    ) -> StoreResult<Vec<InstanceRecord>> {
        let journey = journey.map(str::to_owned);
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {INSTANCE_COLS} FROM journey_instances
                 WHERE workspace_id = ?1 AND profile_id = ?2 AND (?3 IS NULL OR journey_id = ?3)
                 ORDER BY entered_at DESC, id DESC"
            ))?
            .query_map(params![ws.0, profile.0, journey], instance_row)?
            .collect()
        })
        .await
    }

    async fn due_instances(&self, now: i64, limit: usize) -> StoreResult<Vec<InstanceRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            // Spelled as the partial index's condition (a literal 'active'),
            // so the planner can prove the index covers the query; INDEXED BY
            // makes a plan that could not use it an error, never a scan of
            // every instance.
            c.prepare_cached(&format!(
                "SELECT {INSTANCE_COLS} FROM journey_instances INDEXED BY journey_instances_wake
                 WHERE wake_at IS NOT NULL AND status = 'active' AND wake_at <= ?1
                 ORDER BY wake_at LIMIT ?2"
            ))?
            .query_map(params![now, limit], instance_row)?
            .collect()
        })
        .await
    }

    async fn next_instance_wake(&self) -> StoreResult<Option<i64>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT wake_at FROM journey_instances INDEXED BY journey_instances_wake
                 WHERE wake_at IS NOT NULL AND status = 'active' ORDER BY wake_at LIMIT 1",
            )?
            .query_row([], |r| r.get(0))
            .optional()
        })
        .await
    }

    async fn instance_trace(&self, ws: WorkspaceId, id: &str) -> StoreResult<Vec<TraceRecord>> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT instance_id, at, node, kind, detail FROM journey_trace
                 WHERE instance_id = ?1
                   AND EXISTS (SELECT 1 FROM journey_instances WHERE id = ?1 AND workspace_id = ?2)
                 ORDER BY n",
            )?
            .query_map(params![id, ws.0], |r| {
                Ok(TraceRecord {
                    instance_id: r.get(0)?,
                    at: r.get(1)?,
                    node: r.get(2)?,
                    kind: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn journey_counts(
        &self,
        ws: WorkspaceId,
        id: &str,
        message_key_prefix: &str,
    ) -> StoreResult<JourneyCounts> {
        let (id, prefix) = (id.to_owned(), message_key_prefix.to_owned());
        self.read(move |c| {
            let (entered, active, converted) = c
                .prepare_cached(
                    "SELECT count(*), coalesce(sum(status = 'active'), 0), count(converted_at)
                     FROM journey_instances WHERE workspace_id = ?1 AND journey_id = ?2",
                )?
                .query_row(params![ws.0, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            let at_node = counted(
                c,
                "SELECT node, count(*) FROM journey_instances
                 WHERE workspace_id = ?1 AND journey_id = ?2 AND status = 'active' GROUP BY node ORDER BY node",
                params![ws.0, id],
            )?;
            let exited = counted(
                c,
                "SELECT coalesce(exit_reason, ''), count(*) FROM journey_instances
                 WHERE workspace_id = ?1 AND journey_id = ?2 AND status = 'done'
                 GROUP BY 1 ORDER BY 1",
                params![ws.0, id],
            )?;
            // A key range in the (workspace, key) unique index: x'ff' never
            // occurs in UTF-8, so every key with the prefix sorts below it.
            let messages = c
                .prepare_cached(
                    "SELECT channel, status, count(*) FROM messages
                     WHERE workspace_id = ?1 AND idempotency_key >= ?2 AND idempotency_key < ?2 || x'ff'
                     GROUP BY channel, status ORDER BY channel, status",
                )?
                .query_map(params![ws.0, prefix], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(JourneyCounts {
                entered,
                active,
                converted,
                at_node,
                exited,
                messages,
            })
        })
        .await
    }

    async fn journey_feed(&self, after: i64, limit: usize) -> StoreResult<Vec<FeedRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            c.prepare_cached(
                "SELECT seq, workspace_id, profile_id, name, channel, timestamp, properties
                 FROM journey_feed WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?
            .query_map(params![after, limit], |r| {
                Ok(FeedRow {
                    seq: r.get(0)?,
                    workspace_id: WorkspaceId(r.get(1)?),
                    profile_id: ProfileId(r.get(2)?),
                    name: r.get(3)?,
                    channel: r.get(4)?,
                    timestamp: r.get(5)?,
                    properties: r.get(6)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn ack_journey_feed(&self, upto: i64) -> StoreResult<()> {
        self.write(|c| {
            c.prepare_cached("DELETE FROM journey_feed WHERE seq <= ?1")?
                .execute([upto])
                .map(drop)
        })
        .await
    }

    async fn grant_offer(&self, o: &OfferRecord, now: i64) -> StoreResult<OfferGrant> {
        self.write(|c| {
            let tx = c.transaction()?;
            let held = tx
                .prepare_cached(&format!(
                    "SELECT {OFFER_COLS} FROM profile_offers
                     WHERE workspace_id = ?1 AND profile_id = ?2 AND grp = ?3"
                ))?
                .query_row(params![o.workspace_id.0, o.profile_id.0, o.group], offer_row)
                .optional()?
                .filter(|h| h.expires_at > now);
            match held {
                Some(h) if h.offer != o.offer => return Ok(OfferGrant::Held(h)),
                // The same offer again: it is extended, not granted anew.
                Some(_) => tx
                    .prepare_cached(
                        "UPDATE profile_offers SET expires_at = max(expires_at, ?4)
                         WHERE workspace_id = ?1 AND profile_id = ?2 AND grp = ?3",
                    )?
                    .execute(params![o.workspace_id.0, o.profile_id.0, o.group, o.expires_at])?,
                None => tx
                    .prepare_cached(&format!(
                        "INSERT OR REPLACE INTO profile_offers ({OFFER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    ))?
                    .execute(params![
                        o.workspace_id.0,
                        o.profile_id.0,
                        o.group,
                        o.offer,
                        o.granted_by,
                        o.granted_at,
                        o.expires_at
                    ])?,
            };
            tx.commit()?;
            Ok(OfferGrant::Granted)
        })
        .await
    }

    async fn active_offers(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        now: i64,
    ) -> StoreResult<Vec<OfferRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {OFFER_COLS} FROM profile_offers
                 WHERE workspace_id = ?1 AND profile_id = ?2 AND expires_at > ?3 ORDER BY grp"
            ))?
            .query_map(params![ws.0, profile.0, now], offer_row)?
            .collect()
        })
        .await
    }

    async fn add_coupons(&self, ws: WorkspaceId, pool: &str, codes: &[String], now: i64) -> StoreResult<u64> {
        self.write(|c| {
            let tx = c.transaction()?;
            let mut added = 0u64;
            {
                let mut st = tx.prepare_cached(
                    "INSERT OR IGNORE INTO coupon_codes (workspace_id, pool, code, added_at) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for code in codes {
                    added += st.execute(params![ws.0, pool, code, now])? as u64;
                }
            }
            tx.commit()?;
            Ok(added)
        })
        .await
    }

    async fn assign_coupon(
        &self,
        ws: WorkspaceId,
        pool: &str,
        profile: ProfileId,
        key: &str,
        now: i64,
    ) -> StoreResult<Option<String>> {
        self.write(|c| {
            let tx = c.transaction()?;
            let mine: Option<String> = tx
                .prepare_cached(
                    "SELECT code FROM coupon_codes WHERE workspace_id = ?1 AND pool = ?2 AND assign_key = ?3",
                )?
                .query_row(params![ws.0, pool, key], |r| r.get(0))
                .optional()?;
            if mine.is_some() {
                return Ok(mine);
            }
            let free: Option<String> = tx
                .prepare_cached(
                    "SELECT code FROM coupon_codes
                     WHERE workspace_id = ?1 AND pool = ?2 AND assigned_at IS NULL ORDER BY code LIMIT 1",
                )?
                .query_row(params![ws.0, pool], |r| r.get(0))
                .optional()?;
            let Some(code) = free else {
                return Ok(None);
            };
            tx.prepare_cached(
                "UPDATE coupon_codes SET profile_id = ?4, assign_key = ?5, assigned_at = ?6
                 WHERE workspace_id = ?1 AND pool = ?2 AND code = ?3",
            )?
            .execute(params![ws.0, pool, code, profile.0, key, now])?;
            tx.commit()?;
            Ok(Some(code))
        })
        .await
    }

    async fn coupon_pools(&self, ws: WorkspaceId) -> StoreResult<Vec<CouponPoolStats>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT pool, count(*), count(assigned_at) FROM coupon_codes
                 WHERE workspace_id = ?1 GROUP BY pool ORDER BY pool",
            )?
            .query_map([ws.0], |r| {
                Ok(CouponPoolStats {
                    pool: r.get(0)?,
                    total: r.get(1)?,
                    assigned: r.get(2)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn enter_run_page(&self, entries: &[RunEntry], run: &JourneyRun) -> StoreResult<u64> {
        self.write(|c| {
            let tx = c.transaction()?;
            let mut new = 0u64;
            for e in entries {
                if insert_instance(&tx, &e.instance)? {
                    append_trace(&tx, &e.trace)?;
                    for m in &e.messages {
                        super::messages::insert_new(&tx, m)?;
                    }
                    new += 1;
                }
            }
            tx.prepare_cached(&format!(
                "INSERT INTO journey_runs ({RUN_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (workspace_id, journey_id, run_key) DO UPDATE SET
                   cursor = excluded.cursor, done_at = excluded.done_at,
                   entered = journey_runs.entered + ?5"
            ))?
            .execute(params![
                run.workspace_id.0,
                run.journey_id,
                run.run_key,
                run.cursor,
                new as i64,
                run.started_at,
                run.done_at
            ])?;
            tx.commit()?;
            Ok(new)
        })
        .await
    }

    async fn journey_run(
        &self,
        ws: WorkspaceId,
        journey_id: &str,
        run_key: &str,
    ) -> StoreResult<Option<JourneyRun>> {
        let (j, k) = (journey_id.to_owned(), run_key.to_owned());
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {RUN_COLS} FROM journey_runs WHERE workspace_id = ?1 AND journey_id = ?2 AND run_key = ?3"
            ))?
            .query_row(params![ws.0, j, k], run_row)
            .optional()
        })
        .await
    }

    async fn journey_runs(
        &self,
        ws: WorkspaceId,
        journey_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<JourneyRun>> {
        let j = journey_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {RUN_COLS} FROM journey_runs WHERE workspace_id = ?1 AND journey_id = ?2
                 ORDER BY started_at DESC, run_key DESC LIMIT ?3"
            ))?
            .query_map(params![ws.0, j, limit as i64], run_row)?
            .collect()
        })
        .await
    }
}
