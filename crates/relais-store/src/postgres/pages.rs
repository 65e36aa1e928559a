//! [`PageStore`] on PostgreSQL: one statement per page, the items passed
//! as arrays.

use super::journeys::{instance_row, INSTANCE_COLS};
use super::messages::suppression_row;
use super::*;

#[async_trait::async_trait]
impl PageStore for PgStore {
    async fn journey_instances_of(
        &self,
        ws: WorkspaceId,
        journey_id: &str,
        profiles: &[ProfileId],
    ) -> StoreResult<Vec<InstanceRecord>> {
        let ids: Vec<i64> = profiles.iter().map(|p| p.0).collect();
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            &format!(
                "SELECT {INSTANCE_COLS} FROM journey_instances
                 WHERE workspace_id = $1 AND journey_id = $2 AND profile_id = ANY($3)"
            ),
            &[&ws.0, &journey_id, &ids],
        )
        .await?;
        Ok(rows.iter().map(instance_row).collect())
    }

    async fn find_suppressions(
        &self,
        ws: WorkspaceId,
        keys: &[(String, String)],
    ) -> StoreResult<Vec<Suppression>> {
        let channels: Vec<&str> = keys.iter().map(|(c, _)| c.as_str()).collect();
        let addresses: Vec<&str> = keys.iter().map(|(_, a)| a.as_str()).collect();
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT s.workspace_id, s.channel, s.address, s.reason, s.message_id, s.created_at
             FROM UNNEST($2::text[], $3::text[]) AS k(channel, address)
             JOIN suppressions s ON s.workspace_id = $1 AND s.channel = k.channel AND s.address = k.address",
            &[&ws.0, &channels, &addresses],
        )
        .await?;
        Ok(rows.iter().map(suppression_row).collect())
    }

    async fn count_recent_messages_many(
        &self,
        ws: WorkspaceId,
        asks: &[(ProfileId, i64)],
        channel: Option<&str>,
        category: &str,
    ) -> StoreResult<Vec<i64>> {
        let profiles: Vec<i64> = asks.iter().map(|(p, _)| p.0).collect();
        let since: Vec<i64> = asks.iter().map(|(_, s)| *s).collect();
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT (SELECT COUNT(*) FROM messages m
                     WHERE m.workspace_id = $1 AND m.profile_id = a.profile AND m.created_at >= a.since
                       AND m.category = $4 AND ($5::text IS NULL OR m.channel = $5)
                       AND m.status IN ('queued', 'sending', 'sent', 'delivered'))
             FROM UNNEST($2::bigint[], $3::bigint[]) WITH ORDINALITY AS a(profile, since, n)
             ORDER BY a.n",
            &[&ws.0, &profiles, &since, &category, &channel],
        )
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
