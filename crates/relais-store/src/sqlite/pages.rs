//! [`PageStore`] on SQLite: each read is one reader connection running
//! its cached statement once per item — a thousand index lookups on one
//! thread instead of a thousand hops to the reader pool.

use super::journeys::{instance_row, INSTANCE_COLS};
use super::messages::suppression_row;
use super::SqliteStore;
use crate::*;
use relais_core::{ProfileId, WorkspaceId};
use rusqlite::{params, OptionalExtension};

#[async_trait::async_trait]
impl PageStore for SqliteStore {
    async fn journey_instances_of(
        &self,
        ws: WorkspaceId,
        journey_id: &str,
        profiles: &[ProfileId],
    ) -> StoreResult<Vec<InstanceRecord>> {
        let (journey, profiles) = (journey_id.to_owned(), profiles.to_vec());
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {INSTANCE_COLS} FROM journey_instances
                 WHERE workspace_id = ?1 AND profile_id = ?2 AND journey_id = ?3"
            ))?;
            let mut out = Vec::new();
            for p in &profiles {
                for row in st.query_map(params![ws.0, p.0, journey], instance_row)? {
                    out.push(row?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn find_suppressions(
        &self,
        ws: WorkspaceId,
        keys: &[(String, String)],
    ) -> StoreResult<Vec<Suppression>> {
        let keys = keys.to_vec();
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT workspace_id, channel, address, reason, message_id, created_at FROM suppressions
                 WHERE workspace_id = ?1 AND channel = ?2 AND address = ?3",
            )?;
            let mut out = Vec::new();
            for (channel, address) in &keys {
                if let Some(s) = st
                    .query_row(params![ws.0, channel, address], suppression_row)
                    .optional()?
                {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn count_recent_messages_many(
        &self,
        ws: WorkspaceId,
        asks: &[(ProfileId, i64)],
        channel: Option<&str>,
        category: &str,
    ) -> StoreResult<Vec<i64>> {
        let (asks, channel, category) = (asks.to_vec(), channel.map(str::to_owned), category.to_owned());
        self.read(move |c| {
            let mut st = c.prepare_cached(super::messages::COUNT_RECENT)?;
            asks.iter()
                .map(|(p, since)| st.query_row(params![ws.0, p.0, since, category, channel], |r| r.get(0)))
                .collect()
        })
        .await
    }
}
