//! Persistence for Relais: one [`Store`] trait, two engines.
//!
//! * [`sqlite::SqliteStore`] — the embedded default: WAL, one writer
//!   connection that takes whole batches in one transaction, a pool of
//!   readers.
//! * [`postgres::PgStore`] — the scale-out engine, pooled.
//!
//! Both run the versioned migrations in `migrations/` and pass the same
//! [`conformance`] suite, which is the definition of what a store must do.

mod catalog_types;
pub mod conformance;
mod event_names;
mod interest;
mod journey_types;
mod message_types;
mod pages;
pub mod postgres;
mod segment_types;
pub mod sqlite;
mod types;

pub use catalog_types::*;
pub use event_names::*;
pub use interest::*;
pub use journey_types::*;
pub use message_types::*;
pub use pages::*;
pub use segment_types::*;
pub use types::*;

use async_trait::async_trait;
use relais_core::identity::Identity;
use relais_core::{ProfileId, SegmentId, SourceId, WorkspaceId};
use std::sync::Arc;

/// Errors a store reports. `Unavailable` is transient (retry later);
/// the others are final for the request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<StoreError> for relais_core::Error {
    fn from(e: StoreError) -> Self {
        use relais_core::ErrorCode;
        match e {
            StoreError::Conflict(m) => relais_core::Error::new(ErrorCode::Conflict, m),
            StoreError::Unavailable(m) => relais_core::Error::new(ErrorCode::Overloaded, m),
            StoreError::Other(m) => relais_core::Error::new(ErrorCode::Internal, m),
        }
    }
}

/// The commerce context of each workspace: catalog items, shops and stock
/// levels (`docs/catalog.md`). Not personal data: erasure leaves it alone.
///
/// Every write names the [`CatalogRevision`] it follows and returns the new
/// one; all three kinds share the workspace's revision. Writes that cause
/// events (`Price Dropped`, `Back In Stock`, `Low Stock`) take them as
/// `emitted` and append them in the same transaction as the change.
#[async_trait]
pub trait CatalogStore: Send + Sync + 'static {
    /// The workspace's current revision (0 before its first write).
    async fn catalog_revision(&self, ws: WorkspaceId) -> StoreResult<CatalogRevision>;
    /// Inserts or replaces items by `(kind, id)` (a repeated key: the last
    /// wins), with `emitted`, if the revision is still `expect`.
    async fn put_catalog_items(
        &self,
        ws: WorkspaceId,
        expect: CatalogRevision,
        items: &[CatalogItemRecord],
        emitted: &[EmittedEvent],
    ) -> StoreResult<CatalogRevision>;
    async fn get_catalog_item(
        &self,
        ws: WorkspaceId,
        kind: CatalogKind,
        id: &str,
    ) -> StoreResult<Option<CatalogItemRecord>>;
    /// Items of one kind with `id > after`, by id (byte order), at most `limit`.
    async fn list_catalog_items(
        &self,
        ws: WorkspaceId,
        kind: CatalogKind,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<CatalogItemRecord>>;
    /// Inserts or replaces shops by id, if the revision is still `expect`.
    async fn put_shops(
        &self,
        ws: WorkspaceId,
        expect: CatalogRevision,
        shops: &[ShopRecord],
    ) -> StoreResult<CatalogRevision>;
    /// Shops with `id > after`, by id, at most `limit`.
    async fn list_shops(
        &self,
        ws: WorkspaceId,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ShopRecord>>;
    /// Writes absolute levels by `(location, sku)` with `emitted`, if the
    /// revision is still `expect`: one transaction for the whole batch.
    async fn put_stock_levels(
        &self,
        ws: WorkspaceId,
        expect: CatalogRevision,
        levels: &[StockLevel],
        emitted: &[EmittedEvent],
    ) -> StoreResult<CatalogRevision>;
    /// Levels after `(location, sku)` in that order, at most `limit`: the
    /// walk that loads the stock book.
    async fn list_stock_levels(
        &self,
        ws: WorkspaceId,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> StoreResult<Vec<StockLevel>>;
}

/// Journeys (docs/journeys.md): definitions with their versions, instances
/// with their timers and traces, the event feed, offers and coupons.
#[async_trait]
pub trait JourneyStore: Send + Sync + 'static {
    /// Stores a new journey (version 1) and its version row. `Conflict` when
    /// the workspace has a journey of that name or that id.
    async fn create_journey(&self, j: &JourneyRecord) -> StoreResult<()>;
    /// Replaces the definition: version + 1, the new version row kept beside
    /// the old ones (instances finish the version they entered). `None` when
    /// there is no such journey.
    async fn update_journey_definition(
        &self,
        ws: WorkspaceId,
        id: &str,
        definition: &str,
        now: i64,
    ) -> StoreResult<Option<JourneyRecord>>;
    /// `draft`, `active` or `paused`; `None` when there is no such journey.
    async fn set_journey_status(
        &self,
        ws: WorkspaceId,
        id: &str,
        status: &str,
        now: i64,
    ) -> StoreResult<Option<JourneyRecord>>;
    async fn get_journey(&self, ws: WorkspaceId, id: &str) -> StoreResult<Option<JourneyRecord>>;
    async fn find_journey_by_name(&self, ws: WorkspaceId, name: &str) -> StoreResult<Option<JourneyRecord>>;
    /// One workspace's journeys, or every workspace's (`None`), by id.
    async fn list_journeys(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<JourneyRecord>>;
    /// The definition of one version.
    async fn journey_version(&self, ws: WorkspaceId, id: &str, version: i32) -> StoreResult<Option<String>>;

    /// Inserts an instance with its first trace rows unless its id exists
    /// (`false` then, and nothing is written).
    async fn enter_instance(&self, i: &InstanceRecord, trace: &[TraceRecord]) -> StoreResult<bool>;
    /// Writes an instance's mutable fields (status, node, wake_at,
    /// wait_event, context, updated_at, exited_at, exit_reason,
    /// converted_at) and appends `trace`, in one transaction, if it exists.
    /// Committed without an fsync of its own (see [`NewMessage::relaxed`]):
    /// a power loss can only take the instance back to a step it replays.
    async fn save_instance(&self, i: &InstanceRecord, trace: &[TraceRecord]) -> StoreResult<()>;
    async fn get_instance(&self, ws: WorkspaceId, id: &str) -> StoreResult<Option<InstanceRecord>>;
    /// A profile's instances (of one journey when named), newest entry first.
    async fn profile_instances(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        journey: Option<&str>,
    ) -> StoreResult<Vec<InstanceRecord>>;
    /// Active instances with `wake_at <= now`, soonest first, at most `limit`
    /// (an index range, never a scan of every instance).
    async fn due_instances(&self, now: i64, limit: usize) -> StoreResult<Vec<InstanceRecord>>;
    /// The soonest `wake_at` of any active instance.
    async fn next_instance_wake(&self) -> StoreResult<Option<i64>>;
    /// An instance's trace, oldest first.
    async fn instance_trace(&self, ws: WorkspaceId, id: &str) -> StoreResult<Vec<TraceRecord>>;
    /// Counts for the statistics of one journey (all versions). Messages are
    /// those whose idempotency key starts with `message_key_prefix`.
    async fn journey_counts(
        &self,
        ws: WorkspaceId,
        id: &str,
        message_key_prefix: &str,
    ) -> StoreResult<JourneyCounts>;

    /// Feed rows with `seq > after`, by seq, at most `limit`.
    async fn journey_feed(&self, after: i64, limit: usize) -> StoreResult<Vec<FeedRow>>;
    /// Removes the feed rows with `seq <= upto` (handled).
    async fn ack_journey_feed(&self, upto: i64) -> StoreResult<()>;

    /// Grants an offer unless the profile holds another active one
    /// (`expires_at > now`, different offer) in the same group — checked and
    /// written in one transaction, so two journeys racing cannot both grant.
    async fn grant_offer(&self, o: &OfferRecord, now: i64) -> StoreResult<OfferGrant>;
    /// The profile's offers still active at `now`, by group.
    async fn active_offers(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        now: i64,
    ) -> StoreResult<Vec<OfferRecord>>;
    /// Adds codes to a pool (codes already in the pool are skipped); returns
    /// how many were added.
    async fn add_coupons(&self, ws: WorkspaceId, pool: &str, codes: &[String], now: i64) -> StoreResult<u64>;
    /// The code assigned to `key` in the pool (the same key: the same code),
    /// else a free code now assigned to `key` and `profile`; `None` when the
    /// pool has no free code. Atomic: two callers never get one code.
    async fn assign_coupon(
        &self,
        ws: WorkspaceId,
        pool: &str,
        profile: ProfileId,
        key: &str,
        now: i64,
    ) -> StoreResult<Option<String>>;
    /// Every pool of the workspace with its counts, by name.
    async fn coupon_pools(&self, ws: WorkspaceId) -> StoreResult<Vec<CouponPoolStats>>;
    /// Enters one page of a run: the instances not already there (by id),
    /// each with its trace rows and the messages its first step made (with
    /// their emitted events; an id already stored is left as it is), and
    /// the run's progress (`cursor`, `done_at`; `entered` grows by the
    /// instances new here), all in one transaction, so a crash keeps all or
    /// nothing. An entry whose instance was already there writes nothing.
    /// Returns how many instances were new.
    async fn enter_run_page(&self, entries: &[RunEntry], run: &JourneyRun) -> StoreResult<u64>;
    async fn journey_run(
        &self,
        ws: WorkspaceId,
        journey_id: &str,
        run_key: &str,
    ) -> StoreResult<Option<JourneyRun>>;
    /// A journey's runs, newest start first, at most `limit`.
    async fn journey_runs(
        &self,
        ws: WorkspaceId,
        journey_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<JourneyRun>>;
}

/// Everything Relais persists. Implementations must pass [`conformance`].
#[async_trait]
pub trait Store:
    CatalogStore + JourneyStore + EventNameStore + PageStore + InterestStore + Send + Sync + 'static
{
    /// `"sqlite"` or `"postgres"`, for logs and metrics.
    fn engine(&self) -> &'static str;

    /// Applies pending migrations; returns the versions applied now.
    async fn migrate(&self) -> StoreResult<Vec<u32>>;

    // ---- workspaces, sources, keys -------------------------------------
    async fn create_workspace(&self, name: &str, now: i64) -> StoreResult<Workspace>;
    async fn list_workspaces(&self) -> StoreResult<Vec<Workspace>>;
    async fn create_source(
        &self,
        ws: WorkspaceId,
        name: &str,
        channel: &str,
        now: i64,
    ) -> StoreResult<Source>;
    async fn list_sources(&self, ws: WorkspaceId) -> StoreResult<Vec<Source>>;
    async fn get_source(&self, id: SourceId) -> StoreResult<Option<Source>>;
    async fn insert_key(&self, key: &KeyRecord) -> StoreResult<()>;
    async fn find_key(&self, hash: &str) -> StoreResult<Option<KeyRecord>>;
    async fn list_keys(&self, ws: WorkspaceId) -> StoreResult<Vec<KeyRecord>>;

    // ---- the event log ----------------------------------------------------
    /// Appends events in one transaction; an event whose
    /// `(workspace, message_id)` is already in the log is skipped. Durable
    /// when this returns `Ok`.
    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<AppendOutcome>;
    /// Events with `seq > after`, in order, at most `limit`.
    async fn read_log(&self, after: i64, limit: usize) -> StoreResult<Vec<LogEvent>>;
    /// The highest sequence number in the log (0 when empty).
    async fn log_head(&self) -> StoreResult<i64>;

    // ---- processing -----------------------------------------------------
    /// The last sequence number whose effects are committed.
    async fn checkpoint(&self) -> StoreResult<i64>;
    /// Commits the effects of processing a slice of the log, with the new
    /// checkpoint, atomically (see [`ProcessedBatch`] for the order).
    async fn commit_processed(&self, batch: &ProcessedBatch) -> StoreResult<()>;

    // ---- profiles -------------------------------------------------------
    async fn find_profile(&self, ws: WorkspaceId, identity: &Identity) -> StoreResult<Option<ProfileId>>;
    /// Bulk [`Store::find_profile`]: the processor's cold path looks up a
    /// whole batch's identifiers at once. Engines may override the loop.
    async fn find_profiles(&self, keys: &[(WorkspaceId, Identity)]) -> StoreResult<Vec<Option<ProfileId>>> {
        let mut out = Vec::with_capacity(keys.len());
        for (ws, id) in keys {
            out.push(self.find_profile(*ws, id).await?);
        }
        Ok(out)
    }
    /// Bulk [`Store::get_profile`].
    async fn get_profiles(
        &self,
        keys: &[(WorkspaceId, ProfileId)],
    ) -> StoreResult<Vec<Option<StoredProfile>>> {
        let mut out = Vec::with_capacity(keys.len());
        for (ws, id) in keys {
            out.push(self.get_profile(*ws, *id).await?);
        }
        Ok(out)
    }
    /// Loads a profile, following merge redirects (the returned id may differ).
    async fn get_profile(&self, ws: WorkspaceId, id: ProfileId) -> StoreResult<Option<StoredProfile>>;
    async fn profile_identities(&self, ws: WorkspaceId, id: ProfileId) -> StoreResult<Vec<Identity>>;
    async fn timeline(
        &self,
        ws: WorkspaceId,
        id: ProfileId,
        q: &TimelineQuery,
    ) -> StoreResult<Vec<TimelineEntry>>;
    /// Profiles whose search keys start with `prefix` (lower-case), or that
    /// hold exactly one of `identities`.
    async fn search_profiles(
        &self,
        ws: WorkspaceId,
        identities: &[Identity],
        prefix: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ProfileId>>;
    async fn merges(&self, ws: WorkspaceId, id: ProfileId) -> StoreResult<Vec<MergeRecord>>;
    /// Right to erasure: removes the profile, its identifiers, search keys,
    /// timeline and the payloads of its events, and its journey data (that
    /// of ids merged into it too): instances with their traces, feed rows and
    /// offers; its coupon codes stay used but lose profile and key. Writes
    /// `audit`. `None` when there is no such profile.
    async fn erase_profile(
        &self,
        ws: WorkspaceId,
        id: ProfileId,
        audit: &AuditRecord,
    ) -> StoreResult<Option<Erasure>>;
    async fn audit_log(&self, ws: WorkspaceId, limit: usize) -> StoreResult<Vec<AuditRecord>>;

    // ---- segments ------------------------------------------------------------
    // Definitions are written by the API; memberships, timers and backfill
    // progress only by the processor, through `commit_processed`.

    /// A new segment: version 1, backfilling. `Conflict` when the workspace
    /// already has a segment of that name.
    async fn create_segment(
        &self,
        ws: WorkspaceId,
        name: &str,
        description: &str,
        definition: &str,
        now: i64,
    ) -> StoreResult<SegmentRecord>;
    /// Renames, re-describes and/or redefines a segment; `None` when there
    /// is no such segment. A new `definition` bumps the version and restarts
    /// the backfill (status backfilling, cursor and done 0; the last total
    /// stays as an estimate); name and description alone change neither.
    /// `Conflict` when another segment of the workspace has that name.
    async fn update_segment(
        &self,
        ws: WorkspaceId,
        id: SegmentId,
        name: &str,
        description: &str,
        definition: &str,
        now: i64,
    ) -> StoreResult<Option<SegmentRecord>>;
    /// Starts the segment's backfill over without changing its definition:
    /// status backfilling, cursor and done 0, version + 1 (so progress of
    /// the run under way is ignored; the last total stays as an estimate).
    /// For when something the segment reads changed (e.g. RFM cut points).
    /// `false` when there is no such segment.
    async fn restart_backfill(&self, ws: WorkspaceId, id: SegmentId) -> StoreResult<bool>;
    /// Removes the segment and its members (their history stays); `false`
    /// when there was no such segment.
    async fn delete_segment(&self, ws: WorkspaceId, id: SegmentId) -> StoreResult<bool>;
    async fn get_segment(&self, ws: WorkspaceId, id: SegmentId) -> StoreResult<Option<SegmentRecord>>;
    /// The segments of one workspace, or of all (`None`: what the processor
    /// loads), by id.
    async fn list_segments(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<SegmentRecord>>;
    async fn segment_size(&self, ws: WorkspaceId, id: SegmentId) -> StoreResult<i64>;
    /// Members by profile id, ascending, after `after` (keyset pagination).
    async fn segment_members(
        &self,
        ws: WorkspaceId,
        id: SegmentId,
        after: Option<ProfileId>,
        limit: usize,
    ) -> StoreResult<Vec<Member>>;
    /// The segments the profile is in, with when it entered each, by segment
    /// id. Takes the profile's current id (merged ids are not followed).
    async fn profile_segments(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
    ) -> StoreResult<Vec<(SegmentId, i64)>>;
    /// The profile's membership changes, newest first.
    async fn segment_history(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        limit: usize,
    ) -> StoreResult<Vec<MembershipChange>>;
    /// Ids of existing profiles (not merged away, not erased) greater than
    /// `after`, ascending: the walk of a backfill.
    async fn profile_ids(
        &self,
        ws: WorkspaceId,
        after: ProfileId,
        limit: usize,
    ) -> StoreResult<Vec<ProfileId>>;
    async fn count_profiles(&self, ws: WorkspaceId) -> StoreResult<i64>;
    /// The timeline rows of `profiles` (only those named in `names`, when
    /// given) with their payloads, ordered by (profile, seq), in one query:
    /// segment evaluation reads a chunk of about a thousand profiles at once.
    async fn profile_history(
        &self,
        ws: WorkspaceId,
        profiles: &[ProfileId],
        names: Option<&[String]>,
    ) -> StoreResult<Vec<HistoryRow>>;
    /// Timers due at or before `now`, soonest first, at most `limit`.
    async fn due_timers(&self, now: i64, limit: usize) -> StoreResult<Vec<DueTimer>>;
    /// When the soonest timer is due.
    async fn next_timer(&self) -> StoreResult<Option<i64>>;

    // ---- computed traits -----------------------------------------------------
    /// Creates or replaces a definition (a replaced one keeps its `created_at`).
    async fn put_computed_trait(
        &self,
        ws: WorkspaceId,
        name: &str,
        definition: &str,
        now: i64,
    ) -> StoreResult<ComputedTraitRecord>;
    /// One workspace's, or all (`None`), by workspace then name.
    async fn list_computed_traits(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<ComputedTraitRecord>>;
    async fn delete_computed_trait(&self, ws: WorkspaceId, name: &str) -> StoreResult<bool>;

    // ---- RFM -------------------------------------------------------------------
    /// Replaces the workspace's RFM cut points (stored under `ws`;
    /// `t.workspace_id` is not read), unless the stored ones were computed
    /// later (`false`: two refreshes raced and the later one stays).
    async fn put_rfm_thresholds(&self, ws: WorkspaceId, t: &RfmThresholds) -> StoreResult<bool>;
    /// One workspace's cut points (none before its first refresh), or every
    /// workspace's (`None`), by workspace.
    async fn rfm_thresholds(&self, ws: Option<WorkspaceId>) -> StoreResult<Vec<RfmThresholds>>;
    // ---- the outbox (docs/channels.md) ----

    /// Stores a message before any attempt, unless one with the same
    /// (workspace, idempotency key) exists: that one is returned unchanged.
    /// `emitted` is written only with a new message.
    async fn enqueue_message(&self, m: &NewMessage) -> StoreResult<Enqueued>;
    /// Claims up to `limit` messages due at `now`, oldest due first: queued ones
    /// whose time has come and claimed ones whose lease ran out (their dispatcher
    /// died). Each becomes `sending`, `attempts + 1`, leased until `now + lease_ms`.
    async fn claim_messages(&self, now: i64, lease_ms: i64, limit: usize) -> StoreResult<Vec<MessageRecord>>;
    /// The earliest time any message is due (queued or lease end).
    async fn next_message_due(&self) -> StoreResult<Option<i64>>;
    /// Settles one attempt with its suppression and events, only if the message
    /// is still claimed for that attempt (`false`: someone else took it over).
    async fn record_attempt(&self, r: &AttemptResult) -> StoreResult<bool>;
    /// Applies feedback (delivered, opened, …) with its events; `None` for an unknown message.
    async fn record_engagement(&self, u: &EngagementUpdate) -> StoreResult<Option<MessageRecord>>;
    async fn get_message(&self, ws: WorkspaceId, id: &str) -> StoreResult<Option<MessageRecord>>;
    /// The message a provider knows by its own id (status callbacks).
    async fn find_message_by_provider_id(
        &self,
        provider: &str,
        provider_message_id: &str,
    ) -> StoreResult<Option<MessageRecord>>;
    async fn list_messages(&self, ws: WorkspaceId, f: &MessageFilter) -> StoreResult<Vec<MessageRecord>>;
    async fn message_attempts(&self, ws: WorkspaceId, id: &str) -> StoreResult<Vec<AttemptRecord>>;
    /// Messages of one category to a profile created at or after `since` that
    /// went or may still go (queued, sending, sent, delivered): what frequency caps count.
    async fn count_recent_messages(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        channel: Option<&str>,
        category: &str,
        since: i64,
    ) -> StoreResult<i64>;
    /// Adds an address to the suppression list (the first reason is kept).
    async fn put_suppression(&self, s: &Suppression) -> StoreResult<()>;
    async fn find_suppression(
        &self,
        ws: WorkspaceId,
        channel: &str,
        address: &str,
    ) -> StoreResult<Option<Suppression>>;
    async fn list_suppressions(&self, ws: WorkspaceId, limit: usize) -> StoreResult<Vec<Suppression>>;
    async fn delete_suppression(&self, ws: WorkspaceId, channel: &str, address: &str) -> StoreResult<bool>;

    /// Appends Relais' own events with their timeline rows (a message id
    /// already in the log is skipped).
    async fn append_emitted(&self, events: &[EmittedEvent]) -> StoreResult<()>;
    /// A named setting of a workspace (`None`: of the installation).
    async fn get_setting(&self, ws: Option<WorkspaceId>, name: &str) -> StoreResult<Option<String>>;
    /// Stores `value` unless the setting exists; returns the stored value
    /// (so concurrent first users agree on one generated secret).
    async fn init_setting(&self, ws: Option<WorkspaceId>, name: &str, value: &str) -> StoreResult<String>;

    // ---- tasks for people ----

    /// Creates a task unless its id exists (`false` then).
    async fn create_task(&self, t: &TaskRecord) -> StoreResult<bool>;
    async fn get_task(&self, ws: WorkspaceId, id: &str) -> StoreResult<Option<TaskRecord>>;
    async fn list_tasks(&self, ws: WorkspaceId, f: &TaskFilter) -> StoreResult<Vec<TaskRecord>>;
    /// Claims, completes or cancels a task, writing `emitted` with the change.
    async fn change_task(
        &self,
        ws: WorkspaceId,
        id: &str,
        change: &TaskChange,
        at: i64,
        emitted: &[EmittedEvent],
    ) -> StoreResult<TaskChangeResult>;
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store: PostgreSQL when a `postgres://` URL is given (in
/// `schema` when named, else the connection's default), else SQLite in
/// `data_dir/relais.db`.
pub async fn open(
    database_url: Option<&str>,
    schema: Option<&str>,
    data_dir: &std::path::Path,
) -> anyhow::Result<DynStore> {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(postgres::PgStore::connect(url, schema).await?))
        }
        Some(other) => anyhow::bail!("unsupported --database-url {other:?}: use postgres://… (SQLite is the default, under --data-dir)"),
        None => {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| anyhow::anyhow!("cannot create data dir {}: {e}", data_dir.display()))?;
            Ok(Arc::new(sqlite::SqliteStore::open(&data_dir.join("relais.db"))?))
        }
    }
}
