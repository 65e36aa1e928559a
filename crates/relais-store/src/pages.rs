//! Reads for a page of governed sends at once. A broadcast walks its
//! audience a thousand profiles at a time; what the per-message path asks
//! one profile at a time (its instances of the journey, the suppression
//! list, the counts frequency caps read) is asked here once per page.
//! Each answer is exactly what the one-at-a-time method would give
//! (conformance checks both against each other).

use crate::{InstanceRecord, StoreResult, Suppression};
use async_trait::async_trait;
use relais_core::{ProfileId, WorkspaceId};

#[async_trait]
pub trait PageStore: Send + Sync + 'static {
    /// The instances of one journey of each of these profiles, any order.
    async fn journey_instances_of(
        &self,
        ws: WorkspaceId,
        journey_id: &str,
        profiles: &[ProfileId],
    ) -> StoreResult<Vec<InstanceRecord>>;
    /// The suppressions among these `(channel, address)` pairs.
    async fn find_suppressions(
        &self,
        ws: WorkspaceId,
        keys: &[(String, String)],
    ) -> StoreResult<Vec<Suppression>>;
    /// `count_recent_messages` of each `(profile, since)`, in order.
    async fn count_recent_messages_many(
        &self,
        ws: WorkspaceId,
        asks: &[(ProfileId, i64)],
        channel: Option<&str>,
        category: &str,
    ) -> StoreResult<Vec<i64>>;
}
