//! `commit_processed` for PostgreSQL: the effects of a processed batch in
//! bulk statements, in the order `ProcessedBatch` documents.

use super::*;

pub(super) async fn apply_processed(
    tx: &deadpool_postgres::Transaction<'_>,
    b: &ProcessedBatch,
) -> StoreResult<()> {
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

    // 3. Merges, in list order (a chain in one batch resolves in order).
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
            "UPDATE profile_redirects SET new_id = $2 WHERE workspace_id = $1 AND new_id = $3",
            "INSERT INTO profile_redirects (workspace_id, old_id, new_id) VALUES ($1, $3, $2)
             ON CONFLICT (workspace_id, old_id) DO UPDATE SET new_id = excluded.new_id",
        ] {
            let st = tx.prepare_cached(sql).await.map_err(map_pg)?;
            tx.execute(&st, &[&ws, &w, &l]).await.map_err(map_pg)?;
        }
        for sql in [
            "DELETE FROM profile_search WHERE workspace_id = $1 AND profile_id = $2",
            "DELETE FROM profiles WHERE workspace_id = $1 AND id = $2",
        ] {
            let st = tx.prepare_cached(sql).await.map_err(map_pg)?;
            tx.execute(&st, &[&ws, &l]).await.map_err(map_pg)?;
        }
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
            let st = tx
                .prepare_cached(
                    "DELETE FROM profile_search s
                     USING UNNEST($1::bigint[], $2::bigint[]) AS d(workspace_id, profile_id)
                     WHERE s.workspace_id = d.workspace_id AND s.profile_id = d.profile_id",
                )
                .await
                .map_err(map_pg)?;
            tx.execute(&st, &[&ws, &id]).await.map_err(map_pg)?;

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
            if !keys.is_empty() {
                let st = tx
                    .prepare_cached(
                        "INSERT INTO profile_search (workspace_id, key, profile_id)
                         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[])
                         ON CONFLICT DO NOTHING",
                    )
                    .await
                    .map_err(map_pg)?;
                tx.execute(&st, &[&key_ws, &keys, &key_id])
                    .await
                    .map_err(map_pg)?;
            }
        }
    }

    // 5. The checkpoint.
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
