//! Plain data exchanged with a [`crate::Store`].

use crate::segment_types::{MembershipChange, SegmentProgress, TimerWrite};
use relais_core::identity::Identity;
use relais_core::{ProfileId, SourceId, WorkspaceId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: i64,
}

/// A source of events (a website, an app, a till system) with its default
/// touchpoint channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub id: SourceId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub channel: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Full access to one workspace's API (Bearer).
    Admin,
    /// Ingest only, bound to one source.
    Write,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Admin => "admin",
            KeyKind::Write => "write",
        }
    }
    pub fn parse(s: &str) -> Option<KeyKind> {
        match s {
            "admin" => Some(KeyKind::Admin),
            "write" => Some(KeyKind::Write),
            _ => None,
        }
    }
}

/// A key as stored: never the key itself, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub hash: String,
    /// The first characters of the key, to recognise it in a list.
    pub prefix: String,
    pub workspace_id: WorkspaceId,
    pub kind: KeyKind,
    pub source_id: Option<SourceId>,
    pub created_at: i64,
}

/// An event on its way into the log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub workspace_id: WorkspaceId,
    pub source_id: SourceId,
    pub channel: String,
    pub message_id: String,
    /// Segment message type (`track`, `identify`, …).
    pub kind: String,
    pub received_at: i64,
    pub timestamp: i64,
    pub payload: String,
}

/// An event in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    pub seq: i64,
    pub event: NewEvent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppendOutcome {
    pub inserted: usize,
    pub duplicates: usize,
}

/// Identifier → profile.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityLink {
    pub workspace_id: WorkspaceId,
    pub identity: Identity,
    pub profile_id: ProfileId,
}

/// The new state of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileWrite {
    pub workspace_id: WorkspaceId,
    pub id: ProfileId,
    /// `relais_core::profile::ProfileState` as JSON.
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Lower-case keys for lookup by name; `None` = unchanged.
    pub search_keys: Option<Vec<String>>,
    /// Product keys the profile is interested in (the interest index,
    /// [`crate::InterestStore`]): replace its rows; `None` = unchanged.
    pub interests: Option<Vec<String>>,
}

/// One event on a profile's timeline (the payload stays in the log).
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    pub workspace_id: WorkspaceId,
    pub profile_id: ProfileId,
    pub seq: i64,
    pub timestamp: i64,
    pub kind: String,
    /// Event name (track) or page/screen name; empty otherwise.
    pub name: String,
    pub channel: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeKind {
    /// `loser` was merged into `winner`.
    Merge,
    /// An event linked two profiles with different `user_id`s; nothing merged.
    Conflict,
}

impl MergeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MergeKind::Merge => "merge",
            MergeKind::Conflict => "conflict",
        }
    }
    pub fn parse(s: &str) -> MergeKind {
        if s == "conflict" {
            MergeKind::Conflict
        } else {
            MergeKind::Merge
        }
    }
}

/// A merge (or a refused one), recorded for ever.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    pub workspace_id: WorkspaceId,
    pub kind: MergeKind,
    pub winner: ProfileId,
    pub loser: ProfileId,
    /// The log entry that caused it.
    pub seq: i64,
    pub at: i64,
    pub reason: String,
}

/// The effects of processing log entries up to `checkpoint`, committed in
/// one transaction, applied in this order:
///
/// 1. timeline rows;
/// 2. identity links;
/// 3. merges in list order (each re-points the loser's identities, timeline,
///    segment history and redirects to the winner, records a redirect
///    loser → winner and deletes the loser's profile, search keys, segment
///    memberships and timer);
/// 4. profile writes;
/// 5. segment membership changes in list order: an entry adds the member
///    (a profile already in keeps its `entered_at`), an exit removes it, and
///    each change adds a row to the segment history; changes for a segment
///    that no longer exists (deleted meanwhile) are dropped;
/// 6. timers (for a profile named twice, the last write wins);
/// 7. backfill progress, applied to a segment only while it is still at the
///    given version (an edit meanwhile restarted its backfill); `finished`
///    makes it active;
/// 8. emitted events: appended to the log (skipped when their message id is
///    already there, so a replayed batch emits nothing twice) with a
///    timeline row on their profile;
/// 9. the checkpoint.
///
/// A batch never writes a profile, membership or timer for a profile that
/// one of its merges deleted. The checkpoint may be the current one: timer
/// and backfill batches change state without consuming the log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessedBatch {
    pub checkpoint: i64,
    pub timeline: Vec<TimelineRow>,
    pub identities: Vec<IdentityLink>,
    pub merges: Vec<MergeRecord>,
    pub profiles: Vec<ProfileWrite>,
    pub memberships: Vec<MembershipChange>,
    pub timers: Vec<TimerWrite>,
    pub segment_progress: Vec<SegmentProgress>,
    pub emitted: Vec<EmittedEvent>,
    /// Events journeys listen to, resolved to their profiles (see
    /// [`crate::JourneyStore::journey_feed`]); written with the batch.
    pub journey_feed: Vec<crate::FeedRow>,
}

/// An event Relais produces itself (`Segment Entered`, …), written to the
/// log and to its profile's timeline with the state change that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct EmittedEvent {
    pub profile_id: ProfileId,
    /// Name on the timeline.
    pub name: String,
    pub event: NewEvent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile {
    pub workspace_id: WorkspaceId,
    pub id: ProfileId,
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A page of a timeline, newest first.
#[derive(Debug, Clone, Default)]
pub struct TimelineQuery {
    /// Only entries with `seq < before` (the cursor of the previous page).
    pub before: Option<i64>,
    pub limit: usize,
    pub channel: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub seq: i64,
    pub timestamp: i64,
    pub kind: String,
    pub name: String,
    pub channel: String,
    pub source_id: SourceId,
    pub message_id: String,
    pub received_at: i64,
    /// `None` once erased.
    pub payload: Option<String>,
}

/// An entry of the audit log. Holds no personal data: ids and counts only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub workspace_id: WorkspaceId,
    pub at: i64,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erasure {
    pub events_erased: usize,
    pub identities_removed: usize,
}
