//! [`InterestStore`] on PostgreSQL, and the index rows a batch's profile
//! writes replace.

use super::*;

/// Replaces the index rows of every written profile that gives its keys
/// (written twice in one batch: the keys of its last write that gave any).
pub(super) async fn write(
    tx: &deadpool_postgres::Transaction<'_>,
    profiles: &[ProfileWrite],
) -> StoreResult<()> {
    let mut last: HashMap<(i64, i64), &[String]> = HashMap::new();
    for p in profiles {
        if let Some(keys) = &p.interests {
            last.insert((p.workspace_id.0, p.id.0), keys);
        }
    }
    if last.is_empty() {
        return Ok(());
    }
    let (mut ws, mut id) = (Vec::with_capacity(last.len()), Vec::with_capacity(last.len()));
    let (mut key_ws, mut key_id, mut keys) = (Vec::new(), Vec::new(), Vec::<&str>::new());
    for ((w, p), ks) in &last {
        ws.push(*w);
        id.push(*p);
        for k in ks.iter().filter(|k| k.len() <= MAX_PRODUCT_KEY_LEN) {
            key_ws.push(*w);
            key_id.push(*p);
            keys.push(k);
        }
    }
    super::commit::replace_profile_keys(
        tx,
        "product_interest",
        "product_key",
        (&ws, &id),
        (&key_ws, &keys, &key_id),
    )
    .await
}

#[async_trait::async_trait]
impl InterestStore for PgStore {
    /// One index range per key (each in id order, at most `limit`), merged.
    async fn interested_profiles(
        &self,
        ws: WorkspaceId,
        product_keys: &[String],
        after: ProfileId,
        limit: usize,
    ) -> StoreResult<Vec<ProfileId>> {
        if product_keys.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT DISTINCT i.profile_id
             FROM UNNEST($2::text[]) AS k(key)
             CROSS JOIN LATERAL (
                 SELECT profile_id FROM product_interest
                 WHERE workspace_id = $1 AND product_key = k.key AND profile_id > $3
                 ORDER BY profile_id LIMIT $4) i
             ORDER BY 1 LIMIT $4",
            &[&ws.0, &product_keys, &after.0, &sql_limit(limit)],
        )
        .await?;
        Ok(rows.iter().map(|r| ProfileId(r.get(0))).collect())
    }
}
