//! Erasure (right to be forgotten) on PostgreSQL: everything personal about
//! one profile goes in one transaction; the audit row stays.

use super::*;

pub(super) async fn erase_profile(
    store: &PgStore,
    ws: WorkspaceId,
    id: ProfileId,
    audit: &AuditRecord,
) -> StoreResult<Option<Erasure>> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(map_pg)?;
    // Resolve a merged id, and lock the profile row: a concurrent
    // processor commit writing this profile waits for the erasure.
    let found = tx
        .query_opt(
            &format!("SELECT id FROM profiles WHERE workspace_id = $1 AND id = {RESOLVED_ID} FOR UPDATE"),
            &[&ws.0, &id.0],
        )
        .await
        .map_err(map_pg)?;
    let Some(row) = found else {
        return Ok(None);
    };
    let id: i64 = row.get(0);
    let p: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&ws.0, &id];
    let events_erased = tx
        .execute(
            "UPDATE events SET payload = NULL
             WHERE seq IN (SELECT seq FROM timeline WHERE workspace_id = $1 AND profile_id = $2)",
            &p,
        )
        .await
        .map_err(map_pg)? as usize;
    let identities_removed = tx
        .execute(
            "DELETE FROM identities WHERE workspace_id = $1 AND profile_id = $2",
            &p,
        )
        .await
        .map_err(map_pg)? as usize;
    // Before the redirects go: it also reaches the ids merged into this one.
    super::journeys::erase(&tx, ws.0, id, audit.at).await?;
    for sql in [
        "DELETE FROM timeline WHERE workspace_id = $1 AND profile_id = $2",
        "DELETE FROM profile_search WHERE workspace_id = $1 AND profile_id = $2",
        "DELETE FROM product_interest WHERE workspace_id = $1 AND profile_id = $2",
        "DELETE FROM profile_redirects WHERE workspace_id = $1 AND new_id = $2",
        "DELETE FROM profiles WHERE workspace_id = $1 AND id = $2",
        "DELETE FROM segment_members WHERE workspace_id = $1 AND profile_id = $2",
        "DELETE FROM segment_history WHERE workspace_id = $1 AND profile_id = $2",
        "DELETE FROM profile_timers WHERE workspace_id = $1 AND profile_id = $2",
        "DELETE FROM message_attempts WHERE message_id IN
           (SELECT id FROM messages WHERE workspace_id = $1 AND profile_id = $2)",
        "DELETE FROM messages WHERE workspace_id = $1 AND profile_id = $2",
        "DELETE FROM tasks WHERE workspace_id = $1 AND profile_id = $2",
    ] {
        tx.execute(sql, &p).await.map_err(map_pg)?;
    }
    tx.execute(
        "INSERT INTO audit_log (workspace_id, at, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
        &[
            &audit.workspace_id.0,
            &audit.at,
            &audit.action,
            &audit.subject,
            &audit.detail,
        ],
    )
    .await
    .map_err(map_pg)?;
    tx.commit().await.map_err(map_pg)?;
    Ok(Some(Erasure {
        events_erased,
        identities_removed,
    }))
}
