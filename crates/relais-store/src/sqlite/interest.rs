//! [`InterestStore`] on SQLite, and the index rows a profile write replaces.

use super::SqliteStore;
use crate::*;
use relais_core::{ProfileId, WorkspaceId};
use rusqlite::{params, Transaction};

/// Replaces the index rows of a written profile when it gives its keys.
pub(super) fn write(tx: &Transaction, p: &ProfileWrite) -> rusqlite::Result<()> {
    let Some(keys) = &p.interests else {
        return Ok(());
    };
    let keys = keys.iter().filter(|k| k.len() <= MAX_PRODUCT_KEY_LEN);
    super::commit::replace_profile_keys(tx, "product_interest", "product_key", p, keys.map(String::as_str))
}

#[async_trait::async_trait]
impl InterestStore for SqliteStore {
    /// One index range per key (each in id order, at most `limit`), merged:
    /// the first `limit` distinct ids are among them.
    async fn interested_profiles(
        &self,
        ws: WorkspaceId,
        product_keys: &[String],
        after: ProfileId,
        limit: usize,
    ) -> StoreResult<Vec<ProfileId>> {
        let keys = product_keys.to_vec();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT profile_id FROM product_interest
                 WHERE workspace_id = ?1 AND product_key = ?2 AND profile_id > ?3
                 ORDER BY profile_id LIMIT ?4",
            )?;
            let mut out: Vec<i64> = Vec::new();
            for k in &keys {
                for id in st.query_map(params![ws.0, k, after.0, limit], |r| r.get(0))? {
                    out.push(id?);
                }
            }
            out.sort_unstable();
            out.dedup();
            out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            Ok(out.into_iter().map(ProfileId).collect())
        })
        .await
    }
}
