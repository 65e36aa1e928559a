//! Plain data of real-time segments and computed traits, exchanged with a
//! [`crate::Store`]. The processor evaluates segments and writes their
//! effects with [`crate::ProcessedBatch`]; the API reads them back.

use crate::StoreError;
use relais_core::{ProfileId, SegmentId, WorkspaceId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentStatus {
    /// The processor is walking the existing profiles (after a create or a
    /// change of definition); membership is incomplete until it is done.
    Backfilling,
    /// Every profile has been evaluated; membership follows events live.
    Active,
}

impl SegmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentStatus::Backfilling => "backfilling",
            SegmentStatus::Active => "active",
        }
    }
    pub fn parse(s: &str) -> Option<SegmentStatus> {
        match s {
            "backfilling" => Some(SegmentStatus::Backfilling),
            "active" => Some(SegmentStatus::Active),
            _ => None,
        }
    }
}

/// A segment as stored. Ids come from one sequence for all workspaces and
/// are never reused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentRecord {
    pub workspace_id: WorkspaceId,
    pub id: SegmentId,
    pub name: String,
    pub description: String,
    /// The condition, as JSON text.
    pub definition: String,
    /// 1 at creation, +1 at each change of `definition` and each
    /// [`crate::Store::restart_backfill`].
    pub version: i64,
    pub status: SegmentStatus,
    /// The last profile id the backfill of this version has evaluated.
    pub backfill_cursor: i64,
    pub backfill_done: i64,
    pub backfill_total: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComputedTraitRecord {
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// JSON text.
    pub definition: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A workspace's RFM cut points (see `relais_core::rfm`): for each measure
/// the 20/40/60/80 % quantiles over the workspace's buyers, ascending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RfmThresholds {
    pub workspace_id: WorkspaceId,
    /// Whole days since the last order, at `computed_at`.
    pub recency: [f64; 4],
    /// Order count.
    pub frequency: [f64; 4],
    /// Lifetime value.
    pub monetary: [f64; 4],
    /// Profiles with at least one order they were computed over; 0: nobody
    /// can be scored (the cut points mean nothing).
    pub buyers: i64,
    pub computed_at: i64,
}

impl RfmThresholds {
    /// The cut points to score against; `None` without buyers.
    pub fn cuts(&self) -> Option<relais_core::rfm::RfmCuts> {
        (self.buyers > 0).then_some(relais_core::rfm::RfmCuts {
            recency: self.recency,
            frequency: self.frequency,
            monetary: self.monetary,
            at: self.computed_at,
        })
    }
}

/// A profile entering or leaving a segment; also a row of the segment
/// history, which is kept for ever (until the profile is erased).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipChange {
    pub workspace_id: WorkspaceId,
    pub segment_id: SegmentId,
    pub profile_id: ProfileId,
    /// `true` = entered, `false` = exited.
    pub entered: bool,
    pub at: i64,
    /// The log entry that caused it, when one did.
    pub cause_seq: Option<i64>,
    /// `"event"`, `"timer"`, `"backfill"` or `"edit"`.
    pub cause: String,
}

/// Sets (`Some`) or clears (`None`) the single timer of a profile: when a
/// time-based condition of some segment may next change for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerWrite {
    pub workspace_id: WorkspaceId,
    pub profile_id: ProfileId,
    pub due: Option<i64>,
}

/// How far the backfill of one version of a segment has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentProgress {
    pub workspace_id: WorkspaceId,
    pub segment_id: SegmentId,
    /// Applied only while the segment is still at this version.
    pub version: i64,
    pub cursor: i64,
    pub done: i64,
    pub total: i64,
    /// The backfill is complete: the segment becomes active.
    pub finished: bool,
}

/// A member of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub profile_id: ProfileId,
    pub entered_at: i64,
}

/// A timeline row with its event's payload, as segment evaluation reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub profile_id: ProfileId,
    pub seq: i64,
    pub timestamp: i64,
    pub kind: String,
    pub name: String,
    pub channel: String,
    /// `None` once erased.
    pub payload: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueTimer {
    pub workspace_id: WorkspaceId,
    pub profile_id: ProfileId,
    pub due: i64,
}

/// A segment name already used in its workspace (both engines say it so).
pub(crate) fn segment_name_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!(
        "a segment named {name:?} already exists in this workspace"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips() {
        for s in [SegmentStatus::Backfilling, SegmentStatus::Active] {
            assert_eq!(SegmentStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
        assert_eq!(SegmentStatus::parse("Active"), None);
    }
}
