//! `commit_processed` for PostgreSQL: the effects of a processed batch in
//! bulk statements, in the order `ProcessedBatch` documents.

use super::*;

pub(super) async fn apply_processed(
    tx: &deadpool_postgres::Transaction<'_>,
    b: &ProcessedBatch,
) -> StoreResult<()> {
    let live_segments = lock_segments(tx, b).await?;

    // 1. Timeline rows (a row given again replaces the earlier one).
    if !b.timeline.is_empty() {
        let rows = last_wins(&b.timeline, |t| (t.workspace_id, t.profile_id, t.seq));
        let ws: Vec<i64> = rows.iter().map(|t| t.workspace_id.0).collect();
        let pid: Vec<i64> = rows.iter().map(|t| t.profile_id.0).collect();
        let seq: Vec<i64> = rows.iter().map(|t| t.seq).collect();
        let ts: Vec<i64> = rows.iter().map(|t| t.timestamp).collect();
        let kind: Vec<&str> = rows.iter().map(|t| t.kind.as_str()).collect();
        let name: Vec<&str> = rows.iter().map(|t| t.name.as_str()).collect();
        let channel: Vec<&str> = rows.iter().map(|t| t.channel.as_str()).collect();
        let st = tx
            .prepare_cached(
                "INSERT INTO timeline (workspace_id, profile_id, seq, timestamp, kind, name, channel)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                                      $5::text[], $6::text[], $7::text[])
                 ON CONFLICT (workspace_id, profile_id, seq) DO UPDATE SET
                   timestamp = excluded.timestamp, kind = excluded.kind,
                   name = excluded.name, channel = excluded.channel",
            )
            .await
            .map_err(map_pg)?;
        tx.execute(&st, &[&ws, &pid, &seq, &ts, &kind, &name, &channel])
            .await
            .map_err(map_pg)?;
    }

    // 2. Identity links (the last link of an identifier wins).
    if !b.identities.is_empty() {
        let links = last_wins(&b.identities, |l| {
            (
                l.workspace_id,
                l.identity.kind.as_str(),
                l.identity.value.as_str(),
            )
        });
        let ws: Vec<i64> = links.iter().map(|l| l.workspace_id.0).collect();
        let kind: Vec<&str> = links.iter().map(|l| l.identity.kind.as_str()).collect();
        let value: Vec<&str> = links.iter().map(|l| l.identity.value.as_str()).collect();
        let pid: Vec<i64> = links.iter().map(|l| l.profile_id.0).collect();
        let st = tx
            .prepare_cached(
                "INSERT INTO identities (workspace_id, kind, value, profile_id)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[])
                 ON CONFLICT (workspace_id, kind, value) DO UPDATE SET profile_id = excluded.profile_id",
            )
            .await
            .map_err(map_pg)?;
        tx.execute(&st, &[&ws, &kind, &value, &pid])
            .await
            .map_err(map_pg)?;
    }

    // 3. Merges, in list order (a chain in one batch resolves in order). The
    //    loser's segment history follows it; its memberships and timer go
    //    (the processor re-evaluates the winner).
    for m in &b.merges {
        let st = tx
            .prepare_cached(
                "INSERT INTO merges (workspace_id, kind, winner, loser, seq, at, reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await
            .map_err(map_pg)?;
        tx.execute(
            &st,
            &[
                &m.workspace_id.0,
                &m.kind.as_str(),
                &m.winner.0,
                &m.loser.0,
                &m.seq,
                &m.at,
                &m.reason,
            ],
        )
        .await
        .map_err(map_pg)?;
        if m.kind != MergeKind::Merge {
            continue;
        }
        let (ws, w, l) = (m.workspace_id.0, m.winner.0, m.loser.0);
        for sql in [
            "UPDATE identities SET profile_id = $2 WHERE workspace_id = $1 AND profile_id = $3",
            "UPDATE timeline SET profile_id = $2 WHERE workspace_id = $1 AND profile_id = $3",
            "UPDATE segment_history SET profile_id = $2 WHERE workspace_id = $1 AND profile_id = $3",
            "UPDATE messages SET profile_id = $2 WHERE workspace_id = $1 AND profile_id = $3",
            "UPDATE tasks SET profile_id = $2 WHERE workspace_id = $1 AND profile_id = $3",
            "UPDATE profile_redirects SET new_id = $2 WHERE workspace_id = $1 AND new_id = $3",
            "INSERT INTO profile_redirects (workspace_id, old_id, new_id) VALUES ($1, $3, $2)
             ON CONFLICT (workspace_id, old_id) DO UPDATE SET new_id = excluded.new_id",
        ] {
            let st = tx.prepare_cached(sql).await.map_err(map_pg)?;
            tx.execute(&st, &[&ws, &w, &l]).await.map_err(map_pg)?;
        }
        for sql in [
            "DELETE FROM profile_search WHERE workspace_id = $1 AND profile_id = $2",
            "DELETE FROM product_interest WHERE workspace_id = $1 AND profile_id = $2",
            "DELETE FROM profiles WHERE workspace_id = $1 AND id = $2",
            "DELETE FROM segment_members WHERE workspace_id = $1 AND profile_id = $2",
            "DELETE FROM profile_timers WHERE workspace_id = $1 AND profile_id = $2",
        ] {
            let st = tx.prepare_cached(sql).await.map_err(map_pg)?;
            tx.execute(&st, &[&ws, &l]).await.map_err(map_pg)?;
        }
        super::journeys::merge(tx, ws, w, l).await?;
    }

    // 4. Profile writes. Written again in one batch, a profile keeps the
    //    created_at of its first write and the state of its last; its search
    //    keys are those of its last write that gave any.
    if !b.profiles.is_empty() {
        struct Merged<'a> {
            ws: i64,
            id: i64,
            state: &'a str,
            created_at: i64,
            updated_at: i64,
            keys: Option<&'a [String]>,
        }
        let mut index: HashMap<(i64, i64), usize> = HashMap::with_capacity(b.profiles.len());
        let mut merged: Vec<Merged<'_>> = Vec::with_capacity(b.profiles.len());
        for p in &b.profiles {
            let keys = p.search_keys.as_deref();
            match index.entry((p.workspace_id.0, p.id.0)) {
                Entry::Occupied(e) => {
                    let m = &mut merged[*e.get()];
                    m.state = &p.state;
                    m.updated_at = p.updated_at;
                    if keys.is_some() {
                        m.keys = keys;
                    }
                }
                Entry::Vacant(e) => {
                    e.insert(merged.len());
                    merged.push(Merged {
                        ws: p.workspace_id.0,
                        id: p.id.0,
                        state: &p.state,
                        created_at: p.created_at,
                        updated_at: p.updated_at,
                        keys,
                    });
                }
            }
        }
        let ws: Vec<i64> = merged.iter().map(|m| m.ws).collect();
        let id: Vec<i64> = merged.iter().map(|m| m.id).collect();
        let state: Vec<&str> = merged.iter().map(|m| m.state).collect();
        let created: Vec<i64> = merged.iter().map(|m| m.created_at).collect();
        let updated: Vec<i64> = merged.iter().map(|m| m.updated_at).collect();
        let st = tx
            .prepare_cached(
                "INSERT INTO profiles (workspace_id, id, state, created_at, updated_at)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[])
                 ON CONFLICT (workspace_id, id) DO UPDATE SET
                   state = excluded.state, updated_at = excluded.updated_at",
            )
            .await
            .map_err(map_pg)?;
        tx.execute(&st, &[&ws, &id, &state, &created, &updated])
            .await
            .map_err(map_pg)?;

        let rekeyed: Vec<&Merged<'_>> = merged.iter().filter(|m| m.keys.is_some()).collect();
        if !rekeyed.is_empty() {
            let ws: Vec<i64> = rekeyed.iter().map(|m| m.ws).collect();
            let id: Vec<i64> = rekeyed.iter().map(|m| m.id).collect();
            let mut key_ws = Vec::new();
            let mut key_id = Vec::new();
            let mut keys: Vec<&str> = Vec::new();
            for m in &rekeyed {
                for k in m.keys.unwrap_or_default() {
                    key_ws.push(m.ws);
                    key_id.push(m.id);
                    keys.push(k);
                }
            }
            replace_profile_keys(tx, "profile_search", "key", (&ws, &id), (&key_ws, &keys, &key_id)).await?;
        }
    }

    // The interest index of the profiles written (their last `Some`).
    super::interest::write(tx, &b.profiles).await?;

    // 5.–7. Segment memberships, timers, backfill progress.
    apply_segment_effects(tx, b, &live_segments).await?;

    // Journeys' feed, with the batch that resolved its events' profiles.
    super::journeys::write_feed(tx, &b.journey_feed).await?;

    // 8. The checkpoint.
    let st = tx
        .prepare_cached(
            "INSERT INTO checkpoints (name, seq) VALUES ('processor', $1)
             ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
        )
        .await
        .map_err(map_pg)?;
    tx.execute(&st, &[&b.checkpoint]).await.map_err(map_pg)?;
    Ok(())
}

/// Locks, in id order and before anything else, the segments whose
/// members this batch may change: those its membership changes and progress
/// name, and those its merge losers are in. A `delete_segment` (which locks
/// the segment, then deletes its members) thus either waits for this commit
/// and then removes the members it added, or goes first and leaves no row:
/// never a member without its segment, and no lock cycle. An edit waits too,
/// so progress is checked against the version it replaces. Returns the
/// (workspace, id) of those that exist.
async fn lock_segments(
    tx: &deadpool_postgres::Transaction<'_>,
    b: &ProcessedBatch,
) -> StoreResult<HashSet<(i64, i64)>> {
    let losers: Vec<&MergeRecord> = b.merges.iter().filter(|m| m.kind == MergeKind::Merge).collect();
    if b.memberships.is_empty() && b.segment_progress.is_empty() && losers.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<i64> = (b.memberships.iter().map(|m| m.segment_id.0))
        .chain(b.segment_progress.iter().map(|p| p.segment_id.0))
        .collect();
    let loser_ws: Vec<i64> = losers.iter().map(|m| m.workspace_id.0).collect();
    let loser_id: Vec<i64> = losers.iter().map(|m| m.loser.0).collect();
    let st = tx
        .prepare_cached(
            "SELECT workspace_id, id FROM segments
             WHERE id = ANY($1)
                OR id IN (SELECT m.segment_id
                          FROM UNNEST($2::bigint[], $3::bigint[]) AS l(workspace_id, profile_id)
                          JOIN segment_members m
                            ON m.workspace_id = l.workspace_id AND m.profile_id = l.profile_id)
             ORDER BY id FOR UPDATE",
        )
        .await
        .map_err(map_pg)?;
    let rows = tx
        .query(&st, &[&ids, &loser_ws, &loser_id])
        .await
        .map_err(map_pg)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Steps 5–7 of [`ProcessedBatch`], with what row-by-row statements in list
/// order would leave. Changes for segments not in `live` are dropped.
async fn apply_segment_effects(
    tx: &deadpool_postgres::Transaction<'_>,
    b: &ProcessedBatch,
    live: &HashSet<(i64, i64)>,
) -> StoreResult<()> {
    let changes: Vec<&MembershipChange> = (b.memberships.iter())
        .filter(|m| live.contains(&(m.workspace_id.0, m.segment_id.0)))
        .collect();
    apply_memberships(tx, &changes).await?;

    if !b.timers.is_empty() {
        let timers = last_wins(&b.timers, |t| (t.workspace_id, t.profile_id));
        let (set, clear): (Vec<&TimerWrite>, Vec<&TimerWrite>) = timers.iter().partition(|t| t.due.is_some());
        if !set.is_empty() {
            let ws: Vec<i64> = set.iter().map(|t| t.workspace_id.0).collect();
            let pid: Vec<i64> = set.iter().map(|t| t.profile_id.0).collect();
            let due: Vec<i64> = set.iter().map(|t| t.due.unwrap_or_default()).collect();
            let st = tx
                .prepare_cached(
                    "INSERT INTO profile_timers (workspace_id, profile_id, due)
                     SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[])
                     ON CONFLICT (workspace_id, profile_id) DO UPDATE SET due = excluded.due",
                )
                .await
                .map_err(map_pg)?;
            tx.execute(&st, &[&ws, &pid, &due]).await.map_err(map_pg)?;
        }
        if !clear.is_empty() {
            let ws: Vec<i64> = clear.iter().map(|t| t.workspace_id.0).collect();
            let pid: Vec<i64> = clear.iter().map(|t| t.profile_id.0).collect();
            let st = tx
                .prepare_cached(
                    "DELETE FROM profile_timers t
                     USING UNNEST($1::bigint[], $2::bigint[]) AS d(workspace_id, profile_id)
                     WHERE t.workspace_id = d.workspace_id AND t.profile_id = d.profile_id",
                )
                .await
                .map_err(map_pg)?;
            tx.execute(&st, &[&ws, &pid]).await.map_err(map_pg)?;
        }
    }

    if !b.segment_progress.is_empty() {
        // At most one version of a segment matches its row: per version,
        // the last progress given is the one row-by-row updates would leave.
        let progress = last_wins(&b.segment_progress, |p| (p.workspace_id, p.segment_id, p.version));
        let ws: Vec<i64> = progress.iter().map(|p| p.workspace_id.0).collect();
        let id: Vec<i64> = progress.iter().map(|p| p.segment_id.0).collect();
        let version: Vec<i64> = progress.iter().map(|p| p.version).collect();
        let cursor: Vec<i64> = progress.iter().map(|p| p.cursor).collect();
        let done: Vec<i64> = progress.iter().map(|p| p.done).collect();
        let total: Vec<i64> = progress.iter().map(|p| p.total).collect();
        let finished: Vec<bool> = progress.iter().map(|p| p.finished).collect();
        let st = tx
            .prepare_cached(
                "UPDATE segments s SET backfill_cursor = u.cur, backfill_done = u.done, backfill_total = u.total,
                        status = CASE WHEN u.finished THEN $8 ELSE s.status END
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                             $6::bigint[], $7::bool[]) AS u(workspace_id, id, version, cur, done, total, finished)
                 WHERE s.workspace_id = u.workspace_id AND s.id = u.id AND s.version = u.version",
            )
            .await
            .map_err(map_pg)?;
        let active = SegmentStatus::Active.as_str();
        tx.execute(
            &st,
            &[&ws, &id, &version, &cursor, &done, &total, &finished, &active],
        )
        .await
        .map_err(map_pg)?;
    }
    Ok(())
}

/// Membership changes (of live segments), as row-by-row statements in list
/// order would apply them: a member that exits at any point is deleted, and
/// re-inserted by the first entry after its last exit; one that only enters
/// is inserted with its first entry's time unless already in.
async fn apply_memberships(
    tx: &deadpool_postgres::Transaction<'_>,
    changes: &[&MembershipChange],
) -> StoreResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    struct Net {
        key: (i64, i64, i64),
        exits: bool,
        entered_at: Option<i64>,
    }
    let mut index: HashMap<(i64, i64, i64), usize> = HashMap::with_capacity(changes.len());
    let mut nets: Vec<Net> = Vec::with_capacity(changes.len());
    for m in changes {
        let key = (m.workspace_id.0, m.segment_id.0, m.profile_id.0);
        let i = *index.entry(key).or_insert_with(|| {
            nets.push(Net {
                key,
                exits: false,
                entered_at: None,
            });
            nets.len() - 1
        });
        let net = &mut nets[i];
        if m.entered {
            net.entered_at = net.entered_at.or(Some(m.at));
        } else {
            net.exits = true;
            net.entered_at = None;
        }
    }
    let exits: Vec<&Net> = nets.iter().filter(|n| n.exits).collect();
    if !exits.is_empty() {
        let ws: Vec<i64> = exits.iter().map(|n| n.key.0).collect();
        let seg: Vec<i64> = exits.iter().map(|n| n.key.1).collect();
        let pid: Vec<i64> = exits.iter().map(|n| n.key.2).collect();
        let st = tx
            .prepare_cached(
                "DELETE FROM segment_members m
                 USING UNNEST($1::bigint[], $2::bigint[], $3::bigint[]) AS d(workspace_id, segment_id, profile_id)
                 WHERE m.workspace_id = d.workspace_id AND m.segment_id = d.segment_id
                   AND m.profile_id = d.profile_id",
            )
            .await
            .map_err(map_pg)?;
        tx.execute(&st, &[&ws, &seg, &pid]).await.map_err(map_pg)?;
    }
    let entries: Vec<(&Net, i64)> = nets.iter().filter_map(|n| Some((n, n.entered_at?))).collect();
    if !entries.is_empty() {
        let ws: Vec<i64> = entries.iter().map(|(n, _)| n.key.0).collect();
        let seg: Vec<i64> = entries.iter().map(|(n, _)| n.key.1).collect();
        let pid: Vec<i64> = entries.iter().map(|(n, _)| n.key.2).collect();
        let at: Vec<i64> = entries.iter().map(|(_, at)| *at).collect();
        let st = tx
            .prepare_cached(
                "INSERT INTO segment_members (workspace_id, segment_id, profile_id, entered_at)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])
                 ON CONFLICT (workspace_id, segment_id, profile_id) DO NOTHING",
            )
            .await
            .map_err(map_pg)?;
        tx.execute(&st, &[&ws, &seg, &pid, &at]).await.map_err(map_pg)?;
    }

    // The history, every change, in list order (ids follow it).
    let ws: Vec<i64> = changes.iter().map(|m| m.workspace_id.0).collect();
    let pid: Vec<i64> = changes.iter().map(|m| m.profile_id.0).collect();
    let seg: Vec<i64> = changes.iter().map(|m| m.segment_id.0).collect();
    let entered: Vec<bool> = changes.iter().map(|m| m.entered).collect();
    let at: Vec<i64> = changes.iter().map(|m| m.at).collect();
    let cause_seq: Vec<Option<i64>> = changes.iter().map(|m| m.cause_seq).collect();
    let cause: Vec<&str> = changes.iter().map(|m| m.cause.as_str()).collect();
    let st = tx
        .prepare_cached(
            "INSERT INTO segment_history (workspace_id, profile_id, segment_id, entered, at, cause_seq, cause)
             SELECT u.workspace_id, u.profile_id, u.segment_id, u.entered, u.at, u.cause_seq, u.cause
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bool[], $5::bigint[],
                         $6::bigint[], $7::text[])
                  WITH ORDINALITY AS u(workspace_id, profile_id, segment_id, entered, at, cause_seq, cause, ord)
             ORDER BY u.ord",
        )
        .await
        .map_err(map_pg)?;
    tx.execute(&st, &[&ws, &pid, &seg, &entered, &at, &cause_seq, &cause])
        .await
        .map_err(map_pg)?;
    Ok(())
}

/// Step 8 of [`ProcessedBatch`]: emitted events into the log (a message id
/// already there is skipped) and onto their profile's timeline, in two bulk
/// statements. The caller holds the append lock.
pub(super) async fn append_emitted(
    tx: &deadpool_postgres::Transaction<'_>,
    emitted: &[EmittedEvent],
) -> StoreResult<()> {
    // Duplicates within the batch: the first is kept, as row by row.
    let mut seen = HashSet::with_capacity(emitted.len());
    let fresh: Vec<&EmittedEvent> = emitted
        .iter()
        .filter(|e| seen.insert((e.event.workspace_id, e.event.message_id.as_str())))
        .collect();
    let col = |f: fn(&EmittedEvent) -> i64| -> Vec<i64> { fresh.iter().map(|e| f(e)).collect() };
    let ws = col(|e| e.event.workspace_id.0);
    let src = col(|e| e.event.source_id.0);
    let received = col(|e| e.event.received_at);
    let ts = col(|e| e.event.timestamp);
    let profile = col(|e| e.profile_id.0);
    let channel: Vec<&str> = fresh.iter().map(|e| e.event.channel.as_str()).collect();
    let message_id: Vec<&str> = fresh.iter().map(|e| e.event.message_id.as_str()).collect();
    let kind: Vec<&str> = fresh.iter().map(|e| e.event.kind.as_str()).collect();
    let payload: Vec<&str> = fresh.iter().map(|e| e.event.payload.as_str()).collect();
    let name: Vec<&str> = fresh.iter().map(|e| e.name.as_str()).collect();
    // Events first (seqs drawn in list order), then the timeline rows of
    // those actually inserted, matched back by message id.
    let st = tx
        .prepare_cached(
            "WITH u AS (
               SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                                    $6::bigint[], $7::bigint[], $8::text[], $9::bigint[], $10::text[])
                      WITH ORDINALITY AS u(workspace_id, source_id, channel, message_id, kind,
                                           received_at, ts, payload, profile_id, name, ord)),
             ins AS (
               INSERT INTO events
                 (workspace_id, source_id, channel, message_id, kind, received_at, timestamp, payload)
               SELECT workspace_id, source_id, channel, message_id, kind, received_at, ts, payload
               FROM u ORDER BY ord
               ON CONFLICT (workspace_id, message_id) DO NOTHING
               RETURNING seq, workspace_id, message_id)
             INSERT INTO timeline (workspace_id, profile_id, seq, timestamp, kind, name, channel)
             SELECT u.workspace_id, u.profile_id, ins.seq, u.ts, u.kind, u.name, u.channel
             FROM ins JOIN u ON u.workspace_id = ins.workspace_id AND u.message_id = ins.message_id
             ON CONFLICT (workspace_id, profile_id, seq) DO NOTHING",
        )
        .await
        .map_err(map_pg)?;
    tx.execute(
        &st,
        &[
            &ws,
            &src,
            &channel,
            &message_id,
            &kind,
            &received,
            &ts,
            &payload,
            &profile,
            &name,
        ],
    )
    .await
    .map_err(map_pg)?;
    Ok(())
}

/// Replaces the rows of the profiles `owners` (workspace ids, profile ids)
/// in one of their key tables (`profile_search`, `product_interest`) with
/// `rows` (workspace ids, keys, profile ids).
pub(super) async fn replace_profile_keys(
    tx: &deadpool_postgres::Transaction<'_>,
    table: &str,
    key_col: &str,
    owners: (&[i64], &[i64]),
    rows: (&[i64], &[&str], &[i64]),
) -> StoreResult<()> {
    let st = tx
        .prepare_cached(&format!(
            "DELETE FROM {table} t
             USING UNNEST($1::bigint[], $2::bigint[]) AS d(workspace_id, profile_id)
             WHERE t.workspace_id = d.workspace_id AND t.profile_id = d.profile_id"
        ))
        .await
        .map_err(map_pg)?;
    tx.execute(&st, &[&owners.0, &owners.1]).await.map_err(map_pg)?;
    if rows.1.is_empty() {
        return Ok(());
    }
    let st = tx
        .prepare_cached(&format!(
            "INSERT INTO {table} (workspace_id, {key_col}, profile_id)
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[])
             ON CONFLICT DO NOTHING"
        ))
        .await
        .map_err(map_pg)?;
    tx.execute(&st, &[&rows.0, &rows.1, &rows.2])
        .await
        .map_err(map_pg)?;
    Ok(())
}
