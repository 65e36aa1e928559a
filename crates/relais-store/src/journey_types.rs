//! Plain data of journeys (docs/journeys.md), exchanged with a
//! [`crate::JourneyStore`]: definitions and their versions, one instance per
//! (journey, profile, entry) with its position and timer, the trace of every
//! decision, the feed of events journeys listen to, offers held by profiles
//! and coupon codes. The store keeps rows; what a definition means belongs
//! to `relais-core::journey` and the engine.

use relais_core::{ProfileId, WorkspaceId};
use serde::{Deserialize, Serialize};

/// A journey as stored: its current definition (canonical JSON) and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyRecord {
    pub workspace_id: WorkspaceId,
    /// `jny_…`, chosen by the engine.
    pub id: String,
    /// Unique per workspace: what `relais apply` matches on.
    pub name: String,
    /// `draft`, `active` or `paused`.
    pub status: String,
    /// 1 for a new journey, + 1 at every change of definition.
    pub version: i32,
    pub definition: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One profile's passage through one journey (one per entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// `jin_…`, derived by the engine from (journey, profile, entry key), so
    /// the same entry twice is one instance.
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub journey_id: String,
    /// The journey version the profile entered (it finishes that version).
    pub version: i32,
    pub profile_id: ProfileId,
    /// `active` (somewhere in the graph) or `done` (exited).
    pub status: String,
    /// The node it is at (or last was at, when done).
    pub node: String,
    /// When the engine must look at it again (a delay, a wait's timeout, a
    /// deferred step); `None` when nothing is scheduled. Always `None` once done.
    pub wake_at: Option<i64>,
    /// The event name a wait-for-event step waits for (`None` otherwise):
    /// the feed looks instances up by (profile, this).
    pub wait_event: Option<String>,
    /// Engine-owned JSON: trigger properties, the armed wait, counters.
    pub context: String,
    pub entered_at: i64,
    pub updated_at: i64,
    pub exited_at: Option<i64>,
    /// Why it left: `completed`, `exit_event`, `exit_segment`, `holdout`,
    /// `max_time`, `journey_deleted`, …
    pub exit_reason: Option<String>,
    /// When the conversion goal was met (counted within its window after
    /// entry, even after exit).
    pub converted_at: Option<i64>,
}

/// One decision about an instance: what `GET /api/v1/profiles/{ref}/journeys` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRecord {
    pub instance_id: String,
    pub at: i64,
    pub node: String,
    /// `entered`, `sent`, `skipped`, `deferred`, `waiting`, `resumed`,
    /// `branch`, `updated`, `exited`, `converted`, …
    pub kind: String,
    /// Human-readable; skip reasons start with the governance word
    /// (`capped:`, `no_consent:`, `control_group:`, `contradictory_offer:` …).
    pub detail: String,
}

/// An event a journey may react to, written by the processor with the
/// batch that resolved it to its profile (so it is in the feed exactly when
/// the profile reflects it), removed once the journey runner handled it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedRow {
    /// The event's log sequence number.
    pub seq: i64,
    pub workspace_id: WorkspaceId,
    pub profile_id: ProfileId,
    pub name: String,
    /// Touchpoint channel (`web`, `app`, `store`, …).
    pub channel: String,
    pub timestamp: i64,
    /// The event's `properties`, JSON.
    pub properties: String,
}

/// Counts for a journey's statistics, read from instances.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyCounts {
    pub entered: i64,
    pub active: i64,
    pub converted: i64,
    /// Active instances per node, by node.
    pub at_node: Vec<(String, i64)>,
    /// Done instances per exit reason, by reason.
    pub exited: Vec<(String, i64)>,
    /// Messages whose idempotency key starts with the journey's prefix, per
    /// (channel, status), by channel then status.
    pub messages: Vec<(String, String, i64)>,
}

/// An offer a profile holds (offer consistency, docs/journeys.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRecord {
    pub workspace_id: WorkspaceId,
    pub profile_id: ProfileId,
    /// The offer group: a profile holds at most one active offer per group.
    pub group: String,
    pub offer: String,
    /// Who granted it (a journey id, or `api`).
    pub granted_by: String,
    pub granted_at: i64,
    pub expires_at: i64,
}

/// The answer to [`crate::JourneyStore::grant_offer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferGrant {
    /// Stored (new, or the same offer again: its expiry is extended).
    Granted,
    /// The profile holds another active offer in the group: nothing stored.
    Held(OfferRecord),
}

/// A coupon pool's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponPoolStats {
    pub pool: String,
    pub total: i64,
    pub assigned: i64,
}

/// One run of a scheduled or date-trait journey: the walk of its audience
/// by profile id (docs/journeys.md, Schedules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyRun {
    pub workspace_id: WorkspaceId,
    pub journey_id: String,
    /// The run's nominal time (`schedule`) or day (`date`).
    pub run_key: String,
    /// The last profile id walked (0 before the first page).
    pub cursor: i64,
    /// Profiles entered by this run so far.
    pub entered: i64,
    pub started_at: i64,
    /// When the walk reached the end of the audience.
    pub done_at: Option<i64>,
}

/// One profile entering a run's page ([`crate::JourneyStore::enter_run_page`]).
#[derive(Debug, Clone)]
pub struct RunEntry {
    pub instance: InstanceRecord,
    pub trace: Vec<TraceRecord>,
    /// What its first step sent (a broadcast's page sends in bulk).
    pub messages: Vec<crate::NewMessage>,
}
