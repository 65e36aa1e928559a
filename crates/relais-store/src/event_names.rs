//! The catalogue of event names: per workspace, every tracked event name
//! the processor has seen, with when it was first and last seen and about
//! how often (docs/journeys.md, "Unknown event names"). Journeys warn about
//! names a workspace has never seen.
//!
//! The processor writes it only when a batch brings a name it has not
//! recorded yet, and its counts once a minute (never a write per event);
//! engines in `sqlite/event_names.rs` and `postgres/event_names.rs`.

use crate::StoreResult;
use async_trait::async_trait;
use relais_core::WorkspaceId;
use std::collections::HashMap;

/// Names longer than this (in bytes) are not catalogued.
pub const MAX_EVENT_NAME_LEN: usize = 256;

/// One name of one workspace. Written as a delta: `first_seen` and
/// `last_seen` widen the stored span, `count` is added to the stored count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventNameRecord {
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// Unix ms.
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: i64,
}

#[async_trait]
pub trait EventNameStore: Send + Sync + 'static {
    /// Adds names not catalogued yet and widens those that are (earliest
    /// `first_seen`, latest `last_seen`, counts added), in one transaction.
    /// A name given twice counts as the two deltas merged.
    async fn record_event_names(&self, seen: &[EventNameRecord]) -> StoreResult<()>;
    /// One workspace's names, or every workspace's (`None`: what the
    /// processor loads at start), by workspace then name (byte order).
    async fn event_names(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<EventNameRecord>>;
}

/// The deltas with one row per (workspace, name), in order of first
/// occurrence: an upsert of many rows may not touch one row twice.
pub(crate) fn merge_event_names(seen: &[EventNameRecord]) -> Vec<EventNameRecord> {
    let mut index: HashMap<(WorkspaceId, &str), usize> = HashMap::with_capacity(seen.len());
    let mut out: Vec<EventNameRecord> = Vec::with_capacity(seen.len());
    for s in seen {
        match index.get(&(s.workspace_id, s.name.as_str())) {
            Some(&i) => {
                let o = &mut out[i];
                o.first_seen = o.first_seen.min(s.first_seen);
                o.last_seen = o.last_seen.max(s.last_seen);
                o.count = o.count.saturating_add(s.count);
            }
            None => {
                index.insert((s.workspace_id, s.name.as_str()), out.len());
                out.push(s.clone());
            }
        }
    }
    out
}
