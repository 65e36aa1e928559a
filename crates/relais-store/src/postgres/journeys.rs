//! Journeys on PostgreSQL: definitions and versions, instances with their
//! timers and traces, the feed, offers and coupons. Unlike SQLite's single
//! writer, several nodes write at once here, so the check-then-write paths
//! (a journey's name, an offer group, a coupon code) rely on row locks and
//! unique indexes rather than on being alone.

use super::messages::{exec, Tx};
use super::*;
use tokio_postgres::types::ToSql;

mod runs;

const JOURNEY_COLS: &str = "workspace_id, id, name, status, version, definition, created_at, updated_at";
pub(super) const INSTANCE_COLS: &str =
    "id, workspace_id, journey_id, version, profile_id, status, node, wake_at,
    wait_event, context, entered_at, updated_at, exited_at, exit_reason, converted_at";
const OFFER_COLS: &str = "workspace_id, profile_id, grp, offer, granted_by, granted_at, expires_at";

/// Rows per bulk statement: arrays stay a few MB however large the batch.
const CHUNK: usize = 10_000;

/// How often `assign_coupon` starts over after losing a race for its key.
const ASSIGN_TRIES: usize = 3;

fn journey_row(r: &Row) -> JourneyRecord {
    JourneyRecord {
        workspace_id: WorkspaceId(r.get(0)),
        id: r.get(1),
        name: r.get(2),
        status: r.get(3),
        version: r.get(4),
        definition: r.get(5),
        created_at: r.get(6),
        updated_at: r.get(7),
    }
}

pub(super) fn instance_row(r: &Row) -> InstanceRecord {
    InstanceRecord {
        id: r.get(0),
        workspace_id: WorkspaceId(r.get(1)),
        journey_id: r.get(2),
        version: r.get(3),
        profile_id: ProfileId(r.get(4)),
        status: r.get(5),
        node: r.get(6),
        wake_at: r.get(7),
        wait_event: r.get(8),
        context: r.get(9),
        entered_at: r.get(10),
        updated_at: r.get(11),
        exited_at: r.get(12),
        exit_reason: r.get(13),
        converted_at: r.get(14),
    }
}

fn offer_row(r: &Row) -> OfferRecord {
    OfferRecord {
        workspace_id: WorkspaceId(r.get(0)),
        profile_id: ProfileId(r.get(1)),
        group: r.get(2),
        offer: r.get(3),
        granted_by: r.get(4),
        granted_at: r.get(5),
        expires_at: r.get(6),
    }
}

async fn query_tx(tx: &Tx<'_>, sql: &str, p: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
    let st = tx.prepare_cached(sql).await.map_err(map_pg)?;
    tx.query(&st, p).await.map_err(map_pg)
}

/// Appends trace rows; `n` is drawn in list order.
pub(super) async fn append_trace(tx: &Tx<'_>, trace: &[TraceRecord]) -> StoreResult<()> {
    if trace.is_empty() {
        return Ok(());
    }
    let id: Vec<&str> = trace.iter().map(|t| t.instance_id.as_str()).collect();
    let at: Vec<i64> = trace.iter().map(|t| t.at).collect();
    let node: Vec<&str> = trace.iter().map(|t| t.node.as_str()).collect();
    let kind: Vec<&str> = trace.iter().map(|t| t.kind.as_str()).collect();
    let detail: Vec<&str> = trace.iter().map(|t| t.detail.as_str()).collect();
    exec(
        tx,
        "INSERT INTO journey_trace (instance_id, at, node, kind, detail)
         SELECT u.id, u.at, u.node, u.kind, u.detail
         FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])
              WITH ORDINALITY AS u(id, at, node, kind, detail, ord)
         ORDER BY u.ord",
        &[&id, &at, &node, &kind, &detail],
    )
    .await
    .map(drop)
}

/// Feed rows of a processed batch (`commit::apply_processed`); a seq already
/// in the feed (or repeated in the batch) is skipped, the first one kept.
pub(super) async fn write_feed(tx: &Tx<'_>, feed: &[FeedRow]) -> StoreResult<()> {
    for chunk in feed.chunks(CHUNK) {
        let seq: Vec<i64> = chunk.iter().map(|f| f.seq).collect();
        let ws: Vec<i64> = chunk.iter().map(|f| f.workspace_id.0).collect();
        let pid: Vec<i64> = chunk.iter().map(|f| f.profile_id.0).collect();
        let name: Vec<&str> = chunk.iter().map(|f| f.name.as_str()).collect();
        let channel: Vec<&str> = chunk.iter().map(|f| f.channel.as_str()).collect();
        let ts: Vec<i64> = chunk.iter().map(|f| f.timestamp).collect();
        let props: Vec<&str> = chunk.iter().map(|f| f.properties.as_str()).collect();
        exec(
            tx,
            "INSERT INTO journey_feed (seq, workspace_id, profile_id, name, channel, timestamp, properties)
             SELECT u.seq, u.ws, u.pid, u.name, u.channel, u.ts, u.props
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[],
                         $7::text[]) WITH ORDINALITY AS u(seq, ws, pid, name, channel, ts, props, ord)
             ORDER BY u.ord
             ON CONFLICT (seq) DO NOTHING",
            &[&seq, &ws, &pid, &name, &channel, &ts, &props],
        )
        .await?;
    }
    Ok(())
}

/// A merge (`commit::apply_processed`, in its transaction): the loser's
/// passages, pending feed rows and coupon codes follow it to the winner; of
/// two offers in one group, the winner's is kept.
pub(super) async fn merge(tx: &Tx<'_>, ws: i64, winner: i64, loser: i64) -> StoreResult<()> {
    for sql in [
        "UPDATE journey_instances SET profile_id = $2 WHERE workspace_id = $1 AND profile_id = $3",
        "UPDATE journey_feed SET profile_id = $2 WHERE workspace_id = $1 AND profile_id = $3",
        "UPDATE coupon_codes SET profile_id = $2 WHERE workspace_id = $1 AND profile_id = $3",
        "UPDATE profile_offers o SET profile_id = $2 WHERE workspace_id = $1 AND profile_id = $3
           AND NOT EXISTS (SELECT 1 FROM profile_offers w
                           WHERE w.workspace_id = $1 AND w.profile_id = $2 AND w.grp = o.grp)",
    ] {
        exec(tx, sql, &[&ws, &winner, &loser]).await?;
    }
    let gone = "DELETE FROM profile_offers WHERE workspace_id = $1 AND profile_id = $2";
    exec(tx, gone, &[&ws, &loser]).await.map(drop)
}

/// Erasure (`erase::erase_profile`, in its transaction): the journey rows of
/// the profile and of the ids merged into it (merges leave them on the
/// loser's id), so it runs before their redirects are deleted. Instances go
/// with their traces, as do feed rows and offers; coupon codes stay used
/// (`assigned_at` kept, so never handed out again) but lose profile and key.
pub(super) async fn erase(tx: &Tx<'_>, ws: i64, profile: i64, now: i64) -> StoreResult<()> {
    // The ids first, then `= ANY`: an index condition in every statement,
    // where `IN (subquery)` plans as a semi-join over the whole workspace.
    let merged = query_tx(
        tx,
        "SELECT old_id FROM profile_redirects WHERE workspace_id = $1 AND new_id = $2",
        &[&ws, &profile],
    )
    .await?;
    let ids: Vec<i64> = std::iter::once(profile)
        .chain(merged.iter().map(|r| r.get(0)))
        .collect();
    for sql in [
        "DELETE FROM journey_trace WHERE instance_id IN
           (SELECT id FROM journey_instances WHERE workspace_id = $1 AND profile_id = ANY($2))",
        "DELETE FROM journey_instances WHERE workspace_id = $1 AND profile_id = ANY($2)",
        "DELETE FROM journey_feed WHERE workspace_id = $1 AND profile_id = ANY($2)",
        "DELETE FROM profile_offers WHERE workspace_id = $1 AND profile_id = ANY($2)",
    ] {
        exec(tx, sql, &[&ws, &ids]).await?;
    }
    exec(
        tx,
        "UPDATE coupon_codes SET profile_id = NULL, assign_key = NULL, assigned_at = coalesce(assigned_at, $3)
         WHERE workspace_id = $1 AND profile_id = ANY($2)",
        &[&ws, &ids, &now],
    )
    .await
    .map(drop)
}

#[async_trait]
impl JourneyStore for PgStore {
    async fn create_journey(&self, j: &JourneyRecord) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        // DO NOTHING rather than an error: a racing creator of the same name
        // waits for the first to commit, then finds it below and is told why.
        let inserted = exec(
            &tx,
            &format!(
                "INSERT INTO journeys ({JOURNEY_COLS}) VALUES ($1, $2, $3, $4, 1, $5, $6, $7)
                 ON CONFLICT DO NOTHING"
            ),
            &[
                &j.workspace_id.0,
                &j.id,
                &j.name,
                &j.status,
                &j.definition,
                &j.created_at,
                &j.updated_at,
            ],
        )
        .await?;
        if inserted == 0 {
            let by_name = query_tx(
                &tx,
                "SELECT 1 FROM journeys WHERE workspace_id = $1 AND name = $2",
                &[&j.workspace_id.0, &j.name],
            )
            .await?;
            return Err(StoreError::Conflict(if by_name.is_empty() {
                format!("journey id {:?} already exists", j.id)
            } else {
                format!("a journey named {:?} already exists", j.name)
            }));
        }
        exec(
            &tx,
            "INSERT INTO journey_versions (workspace_id, journey_id, version, definition, created_at)
             VALUES ($1, $2, 1, $3, $4)",
            &[&j.workspace_id.0, &j.id, &j.definition, &j.created_at],
        )
        .await?;
        tx.commit().await.map_err(map_pg)
    }

    async fn update_journey_definition(
        &self,
        ws: WorkspaceId,
        id: &str,
        definition: &str,
        now: i64,
    ) -> StoreResult<Option<JourneyRecord>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        let rows = query_tx(
            &tx,
            &format!(
                "UPDATE journeys SET definition = $3, version = version + 1, updated_at = $4
                 WHERE workspace_id = $1 AND id = $2 RETURNING {JOURNEY_COLS}"
            ),
            &[&ws.0, &id, &definition, &now],
        )
        .await?;
        let Some(j) = rows.first().map(journey_row) else {
            return Ok(None);
        };
        exec(
            &tx,
            "INSERT INTO journey_versions (workspace_id, journey_id, version, definition, created_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&ws.0, &id, &j.version, &definition, &now],
        )
        .await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(Some(j))
    }

    async fn set_journey_status(
        &self,
        ws: WorkspaceId,
        id: &str,
        status: &str,
        now: i64,
    ) -> StoreResult<Option<JourneyRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            &format!(
                "UPDATE journeys SET status = $3, updated_at = $4
                 WHERE workspace_id = $1 AND id = $2 RETURNING {JOURNEY_COLS}"
            ),
            &[&ws.0, &id, &status, &now],
        )
        .await?;
        Ok(rows.first().map(journey_row))
    }

    async fn get_journey(&self, ws: WorkspaceId, id: &str) -> StoreResult<Option<JourneyRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            &format!("SELECT {JOURNEY_COLS} FROM journeys WHERE workspace_id = $1 AND id = $2"),
            &[&ws.0, &id],
        )
        .await?;
        Ok(rows.first().map(journey_row))
    }

    async fn find_journey_by_name(&self, ws: WorkspaceId, name: &str) -> StoreResult<Option<JourneyRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            &format!("SELECT {JOURNEY_COLS} FROM journeys WHERE workspace_id = $1 AND name = $2"),
            &[&ws.0, &name],
        )
        .await?;
        Ok(rows.first().map(journey_row))
    }

    async fn list_journeys(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<JourneyRecord>> {
        let client = self.client().await?;
        let rows = match ws {
            Some(ws) => {
                query_cached(
                    &client,
                    &format!("SELECT {JOURNEY_COLS} FROM journeys WHERE workspace_id = $1 ORDER BY id"),
                    &[&ws.0],
                )
                .await?
            }
            None => {
                query_cached(
                    &client,
                    &format!("SELECT {JOURNEY_COLS} FROM journeys ORDER BY id, workspace_id"),
                    &[],
                )
                .await?
            }
        };
        Ok(rows.iter().map(journey_row).collect())
    }

    async fn journey_version(&self, ws: WorkspaceId, id: &str, version: i32) -> StoreResult<Option<String>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT definition FROM journey_versions
             WHERE workspace_id = $1 AND journey_id = $2 AND version = $3",
            &[&ws.0, &id, &version],
        )
        .await?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    async fn enter_instance(&self, i: &InstanceRecord, trace: &[TraceRecord]) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        let inserted = exec(
            &tx,
            &format!(
                "INSERT INTO journey_instances ({INSTANCE_COLS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                 ON CONFLICT (id) DO NOTHING"
            ),
            &[
                &i.id,
                &i.workspace_id.0,
                &i.journey_id,
                &i.version,
                &i.profile_id.0,
                &i.status,
                &i.node,
                &i.wake_at,
                &i.wait_event,
                &i.context,
                &i.entered_at,
                &i.updated_at,
                &i.exited_at,
                &i.exit_reason,
                &i.converted_at,
            ],
        )
        .await?;
        if inserted == 0 {
            return Ok(false);
        }
        append_trace(&tx, trace).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(true)
    }

    async fn save_instance(&self, i: &InstanceRecord, trace: &[TraceRecord]) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        // Re-made by the runner after a crash (see `JourneyStore::save_instance`).
        exec(&tx, "SET LOCAL synchronous_commit TO OFF", &[]).await?;
        let changed = exec(
            &tx,
            "UPDATE journey_instances SET status = $3, node = $4, wake_at = $5, wait_event = $6,
               context = $7, updated_at = $8, exited_at = $9, exit_reason = $10, converted_at = $11
             WHERE id = $1 AND workspace_id = $2",
            &[
                &i.id,
                &i.workspace_id.0,
                &i.status,
                &i.node,
                &i.wake_at,
                &i.wait_event,
                &i.context,
                &i.updated_at,
                &i.exited_at,
                &i.exit_reason,
                &i.converted_at,
            ],
        )
        .await?;
        // No instance, no trace: rows of an unknown instance would be
        // orphans no query reaches.
        if changed == 0 {
            return Ok(());
        }
        append_trace(&tx, trace).await?;
        tx.commit().await.map_err(map_pg)
    }

    async fn get_instance(&self, ws: WorkspaceId, id: &str) -> StoreResult<Option<InstanceRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            &format!("SELECT {INSTANCE_COLS} FROM journey_instances WHERE id = $1 AND workspace_id = $2"),
            &[&id, &ws.0],
        )
        .await?;
        Ok(rows.first().map(instance_row))
    }

    async fn profile_instances(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        journey: Option<&str>,
    ) -> StoreResult<Vec<InstanceRecord>> {
        let client = self.client().await?;
        // One profile has few instances: the optional filter costs nothing.
        let rows = query_cached(
            &client,
            &format!(
                "SELECT {INSTANCE_COLS} FROM journey_instances
                 WHERE workspace_id = $1 AND profile_id = $2 AND ($3::text IS NULL OR journey_id = $3)
                 ORDER BY entered_at DESC, id DESC"
            ),
            &[&ws.0, &profile.0, &journey],
        )
        .await?;
        Ok(rows.iter().map(instance_row).collect())
    }

    async fn due_instances(&self, now: i64, limit: usize) -> StoreResult<Vec<InstanceRecord>> {
        let client = self.client().await?;
        // The partial index's own condition, with the literal 'active': a
        // parameter there would keep a generic plan from using the index.
        let rows = query_cached(
            &client,
            &format!(
                "SELECT {INSTANCE_COLS} FROM journey_instances
                 WHERE wake_at IS NOT NULL AND status = 'active' AND wake_at <= $1
                 ORDER BY wake_at LIMIT $2"
            ),
            &[&now, &sql_limit(limit)],
        )
        .await?;
        Ok(rows.iter().map(instance_row).collect())
    }

    async fn next_instance_wake(&self) -> StoreResult<Option<i64>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT min(wake_at) FROM journey_instances WHERE wake_at IS NOT NULL AND status = 'active'",
            &[],
        )
        .await?;
        Ok(rows.first().and_then(|r| r.get(0)))
    }

    async fn instance_trace(&self, ws: WorkspaceId, id: &str) -> StoreResult<Vec<TraceRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT instance_id, at, node, kind, detail FROM journey_trace
             WHERE instance_id = $1
               AND EXISTS (SELECT 1 FROM journey_instances WHERE id = $1 AND workspace_id = $2)
             ORDER BY n",
            &[&id, &ws.0],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| TraceRecord {
                instance_id: r.get(0),
                at: r.get(1),
                node: r.get(2),
                kind: r.get(3),
                detail: r.get(4),
            })
            .collect())
    }

    async fn journey_counts(
        &self,
        ws: WorkspaceId,
        id: &str,
        message_key_prefix: &str,
    ) -> StoreResult<JourneyCounts> {
        let client = self.client().await?;
        let totals = query_cached(
            &client,
            "SELECT count(*), count(*) FILTER (WHERE status = 'active'), count(converted_at)
             FROM journey_instances WHERE workspace_id = $1 AND journey_id = $2",
            &[&ws.0, &id],
        )
        .await?;
        let pairs =
            |rows: Vec<Row>| -> Vec<(String, i64)> { rows.iter().map(|r| (r.get(0), r.get(1))).collect() };
        let at_node = query_cached(
            &client,
            "SELECT node, count(*) FROM journey_instances
             WHERE workspace_id = $1 AND journey_id = $2 AND status = 'active' GROUP BY node ORDER BY node",
            &[&ws.0, &id],
        )
        .await?;
        let exited = query_cached(
            &client,
            "SELECT coalesce(exit_reason, ''), count(*) FROM journey_instances
             WHERE workspace_id = $1 AND journey_id = $2 AND status = 'done' GROUP BY 1 ORDER BY 1",
            &[&ws.0, &id],
        )
        .await?;
        // Byte order (COLLATE "C", the `messages_key_prefix` index) makes
        // the prefix a key range. Text cannot hold NUL: no key starts with one.
        const MESSAGES: &str = "SELECT channel, status, count(*) FROM messages
             WHERE workspace_id = $1 AND idempotency_key COLLATE \"C\" >= $2";
        const GROUPED: &str = "GROUP BY channel, status ORDER BY channel COLLATE \"C\", status COLLATE \"C\"";
        let prefix = message_key_prefix;
        let messages = if prefix.contains('\0') {
            Vec::new()
        } else if let Some(upper) = prefix_upper_bound(prefix) {
            let sql = format!("{MESSAGES} AND idempotency_key COLLATE \"C\" < $3 {GROUPED}");
            query_cached(&client, &sql, &[&ws.0, &prefix, &upper]).await?
        } else {
            query_cached(&client, &format!("{MESSAGES} {GROUPED}"), &[&ws.0, &prefix]).await?
        };
        let total = |i: usize| totals.first().map_or(0, |r| r.get::<_, i64>(i));
        Ok(JourneyCounts {
            entered: total(0),
            active: total(1),
            converted: total(2),
            at_node: pairs(at_node),
            exited: pairs(exited),
            messages: messages.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect(),
        })
    }

    async fn journey_feed(&self, after: i64, limit: usize) -> StoreResult<Vec<FeedRow>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT seq, workspace_id, profile_id, name, channel, timestamp, properties
             FROM journey_feed WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &sql_limit(limit)],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| FeedRow {
                seq: r.get(0),
                workspace_id: WorkspaceId(r.get(1)),
                profile_id: ProfileId(r.get(2)),
                name: r.get(3),
                channel: r.get(4),
                timestamp: r.get(5),
                properties: r.get(6),
            })
            .collect())
    }

    async fn ack_journey_feed(&self, upto: i64) -> StoreResult<()> {
        let client = self.client().await?;
        query_cached(&client, "DELETE FROM journey_feed WHERE seq <= $1", &[&upto])
            .await
            .map(drop)
    }

    async fn grant_offer(&self, o: &OfferRecord, now: i64) -> StoreResult<OfferGrant> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        let key: [&(dyn ToSql + Sync); 3] = [&o.workspace_id.0, &o.profile_id.0, &o.group];
        // Race-safe without SERIALIZABLE: the insert either creates the
        // group's row (nobody held it: granted) or, if another transaction
        // holds or just wrote it, waits for that one to finish and does
        // nothing. The row then exists and FOR UPDATE locks its latest
        // version, so the check below and the write after it see no other
        // grant in between: of N racing journeys, exactly one is granted.
        let inserted = exec(
            &tx,
            &format!(
                "INSERT INTO profile_offers ({OFFER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT DO NOTHING"
            ),
            &[
                key[0],
                key[1],
                key[2],
                &o.offer,
                &o.granted_by,
                &o.granted_at,
                &o.expires_at,
            ],
        )
        .await?;
        if inserted == 0 {
            let rows = query_tx(
                &tx,
                &format!(
                    "SELECT {OFFER_COLS} FROM profile_offers
                     WHERE workspace_id = $1 AND profile_id = $2 AND grp = $3 FOR UPDATE"
                ),
                &key,
            )
            .await?;
            let held = rows.first().map(offer_row).filter(|h| h.expires_at > now);
            match held {
                Some(h) if h.offer != o.offer => return Ok(OfferGrant::Held(h)),
                // The same offer again: it is extended, not granted anew.
                Some(_) => {
                    exec(
                        &tx,
                        "UPDATE profile_offers SET expires_at = GREATEST(expires_at, $4)
                         WHERE workspace_id = $1 AND profile_id = $2 AND grp = $3",
                        &[key[0], key[1], key[2], &o.expires_at],
                    )
                    .await?
                }
                None => exec(
                    &tx,
                    "UPDATE profile_offers SET offer = $4, granted_by = $5, granted_at = $6, expires_at = $7
                         WHERE workspace_id = $1 AND profile_id = $2 AND grp = $3",
                    &[
                        key[0],
                        key[1],
                        key[2],
                        &o.offer,
                        &o.granted_by,
                        &o.granted_at,
                        &o.expires_at,
                    ],
                )
                .await?,
            };
        }
        tx.commit().await.map_err(map_pg)?;
        Ok(OfferGrant::Granted)
    }

    async fn active_offers(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        now: i64,
    ) -> StoreResult<Vec<OfferRecord>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            &format!(
                "SELECT {OFFER_COLS} FROM profile_offers
                 WHERE workspace_id = $1 AND profile_id = $2 AND expires_at > $3 ORDER BY grp"
            ),
            &[&ws.0, &profile.0, &now],
        )
        .await?;
        Ok(rows.iter().map(offer_row).collect())
    }

    async fn add_coupons(&self, ws: WorkspaceId, pool: &str, codes: &[String], now: i64) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        let mut added = 0;
        for chunk in codes.chunks(CHUNK) {
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            added += exec(
                &tx,
                "INSERT INTO coupon_codes (workspace_id, pool, code, added_at)
                 SELECT $1, $2, u.code, $4 FROM UNNEST($3::text[]) AS u(code)
                 ON CONFLICT DO NOTHING",
                &[&ws.0, &pool, &chunk, &now],
            )
            .await?;
        }
        tx.commit().await.map_err(map_pg)?;
        Ok(added)
    }

    async fn assign_coupon(
        &self,
        ws: WorkspaceId,
        pool: &str,
        profile: ProfileId,
        key: &str,
        now: i64,
    ) -> StoreResult<Option<String>> {
        let client = self.client().await?;
        let mut tries = 0;
        loop {
            let mine = query_cached(
                &client,
                "SELECT code FROM coupon_codes WHERE workspace_id = $1 AND pool = $2 AND assign_key = $3",
                &[&ws.0, &pool, &key],
            )
            .await?;
            if let Some(r) = mine.first() {
                return Ok(Some(r.get(0)));
            }
            // SKIP LOCKED: concurrent assigners each take a different free
            // code instead of queueing on the first one.
            let taken = query_cached(
                &client,
                "UPDATE coupon_codes SET profile_id = $3, assign_key = $4, assigned_at = $5
                 WHERE workspace_id = $1 AND pool = $2 AND assigned_at IS NULL
                   AND code = (SELECT code FROM coupon_codes
                               WHERE workspace_id = $1 AND pool = $2 AND assigned_at IS NULL
                               ORDER BY code LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING code",
                &[&ws.0, &pool, &profile.0, &key, &now],
            )
            .await;
            match taken {
                Ok(rows) => return Ok(rows.first().map(|r| r.get(0))),
                // Another caller with the same key assigned first (the
                // unique key index refused ours, rolling it back): its code
                // is now the key's, found by the lookup above.
                Err(StoreError::Conflict(_)) if tries + 1 < ASSIGN_TRIES => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }

    async fn coupon_pools(&self, ws: WorkspaceId) -> StoreResult<Vec<CouponPoolStats>> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT pool, count(*), count(assigned_at) FROM coupon_codes
             WHERE workspace_id = $1 GROUP BY pool ORDER BY pool",
            &[&ws.0],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| CouponPoolStats {
                pool: r.get(0),
                total: r.get(1),
                assigned: r.get(2),
            })
            .collect())
    }

    async fn enter_run_page(&self, entries: &[RunEntry], run: &JourneyRun) -> StoreResult<u64> {
        runs::enter_page(self, entries, run).await
    }

    async fn journey_run(
        &self,
        ws: WorkspaceId,
        journey_id: &str,
        run_key: &str,
    ) -> StoreResult<Option<JourneyRun>> {
        runs::get(self, ws, journey_id, run_key).await
    }

    async fn journey_runs(
        &self,
        ws: WorkspaceId,
        journey_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<JourneyRun>> {
        runs::list(self, ws, journey_id, limit).await
    }
}
