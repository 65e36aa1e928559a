//! The processor: the log, in order, into identities and profiles.
//!
//! One worker reads the log after its checkpoint in batches, resolves each
//! event to a profile (merging profiles when an event links them), folds the
//! event into the profile, and commits timeline rows, identity links,
//! merges, profile states and the new checkpoint in one transaction. A crash
//! before the commit replays the batch from the old checkpoint with the same
//! result (profile ids are derived from log sequence numbers), so nothing
//! is applied twice.
//!
//! Identities and profiles are cached in memory (the worker is their only
//! writer); the caches are dropped if a commit fails and when they grow
//! past `profile_cache`.

mod resolve;
mod segmenting;

pub use segmenting::{INTERNAL_CHANNEL, INTERNAL_SOURCE};

use crate::EngineConfig;
use metrics::{counter, gauge, histogram};
use relais_core::identity::Identity;
use relais_core::profile::ProfileState;
use relais_core::{Error, ProfileId, SourceId, WorkspaceId};
use relais_store::{AuditRecord, DynStore, Erasure, LogEvent, ProcessedBatch, Source, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch, Notify};

/// Handle to the processor for the rest of the engine.
pub struct Pipeline {
    processed: watch::Receiver<i64>,
    commands: mpsc::Sender<Command>,
}

enum Command {
    /// Segment or computed trait definitions changed: reload them now.
    Reload { reply: oneshot::Sender<()> },
    Erase {
        workspace: WorkspaceId,
        profile: ProfileId,
        audit: AuditRecord,
        reply: oneshot::Sender<Result<Option<Erasure>, Error>>,
    },
}

impl Pipeline {
    /// The last log sequence number whose effects are committed.
    pub fn processed(&self) -> i64 {
        *self.processed.borrow()
    }

    /// Follows the processed checkpoint (the journey runner wakes on it).
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.processed.clone()
    }

    /// Waits until the log is processed up to `seq`; `false` on timeout.
    pub async fn wait_processed(&self, seq: i64, timeout: Duration) -> bool {
        let mut rx = self.processed.clone();
        tokio::time::timeout(timeout, rx.wait_for(|p| *p >= seq))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Makes the worker pick up changed definitions before its next batch.
    pub async fn reload_definitions(&self) {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Reload { reply }).await.is_ok() {
            let _ = answer.await;
        }
    }

    /// Erases a profile through the worker, so that no cached copy of it is
    /// written back afterwards.
    pub async fn erase(
        &self,
        workspace: WorkspaceId,
        profile: ProfileId,
        audit: AuditRecord,
    ) -> Result<Option<Erasure>, Error> {
        let (reply, answer) = oneshot::channel();
        let gone = || Error::internal("the processor is not running");
        self.commands
            .send(Command::Erase {
                workspace,
                profile,
                audit,
                reply,
            })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

pub async fn spawn(
    store: DynStore,
    config: &EngineConfig,
    appended: Arc<Notify>,
    interest: Arc<crate::journeys::Interest>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(Pipeline, tokio::task::JoinHandle<()>)> {
    let checkpoint = store.checkpoint().await?;
    let registry = Arc::new(crate::segments::registry::Registry::load(&store).await?);
    let names = crate::event_names::Catalog::load(&store).await?;
    let (processed_tx, processed) = watch::channel(checkpoint);
    let (commands, command_rx) = mpsc::channel(64);
    let worker = Worker {
        store,
        batch_size: config.process_batch.max(1),
        cache_limit: config.profile_cache.max(1_000),
        state: resolve::State::new(config.identity_traits.clone(), registry, interest),
        sources: HashMap::new(),
        internal: HashMap::new(),
        names,
        checkpoint,
        last_reload: Instant::now(),
        last_timers: Instant::now() - TIMER_POLL,
    };
    let handle = tokio::spawn(worker.run(processed_tx, command_rx, appended, shutdown));
    Ok((Pipeline { processed, commands }, handle))
}

struct Worker {
    store: DynStore,
    batch_size: usize,
    cache_limit: usize,
    state: resolve::State,
    sources: HashMap<SourceId, Source>,
    /// Per workspace, the source of Relais' own events.
    internal: HashMap<WorkspaceId, SourceId>,
    /// The event names recorded per workspace (`crate::event_names`).
    names: crate::event_names::Catalog,
    checkpoint: i64,
    last_reload: Instant,
    last_timers: Instant,
}

/// How often due segment checks are looked for (they fire within this
/// much of their time, plus the time to evaluate them).
const TIMER_POLL: Duration = Duration::from_millis(100);

/// How long the worker sleeps when idle before looking at the log again
/// (another process, e.g. `relais import`, may have appended to it).
const IDLE_POLL: Duration = Duration::from_millis(200);

impl Worker {
    async fn run(
        mut self,
        processed: watch::Sender<i64>,
        mut commands: mpsc::Receiver<Command>,
        appended: Arc<Notify>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            while let Ok(cmd) = commands.try_recv() {
                self.handle(cmd).await;
            }
            if let Err(e) = self.segment_housekeeping().await {
                self.fault("evaluate segments", &e).await;
                continue;
            }
            let batch = match self.store.read_log(self.checkpoint, self.batch_size).await {
                Ok(b) => b,
                Err(e) => {
                    self.fault("read the event log", &e).await;
                    continue;
                }
            };
            if batch.is_empty() {
                if *shutdown.borrow() {
                    break;
                }
                if self.state.registry.backfilling().is_some() {
                    continue; // backfill chunks run between log batches
                }
                tokio::select! {
                    _ = appended.notified() => {}
                    _ = tokio::time::sleep(self.idle_wait()) => {}
                    Some(cmd) = commands.recv() => self.handle(cmd).await,
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let started = Instant::now();
            match self.process(&batch).await {
                Ok(()) => {
                    let last = batch.last().expect("non-empty batch");
                    let lag_ms = relais_core::time::now_ms() - last.event.received_at;
                    self.checkpoint = last.seq;
                    // Metrics first: whoever waits on `processed` may read them next.
                    counter!("relais_processed_events_total").increment(batch.len() as u64);
                    gauge!("relais_processed_seq").set(self.checkpoint as f64);
                    gauge!("relais_processing_lag_seconds").set(lag_ms.max(0) as f64 / 1000.0);
                    histogram!("relais_process_batch_seconds").record(started.elapsed().as_secs_f64());
                    processed.send_replace(self.checkpoint);
                    if self.state.len() > self.cache_limit {
                        self.state.clear();
                    }
                }
                Err(e) => {
                    // The caches may hold effects that were not committed.
                    self.state.clear();
                    self.fault("commit processed events", &e).await;
                }
            }
        }
        if let Err(e) = self.names.write(&self.store, true).await {
            tracing::warn!(error = %e, "event name counts not written at shutdown");
        }
        tracing::info!(checkpoint = self.checkpoint, "processor stopped");
    }

    async fn fault(&self, what: &str, e: &StoreError) {
        counter!("relais_errors_total", "component" => "processor").increment(1);
        tracing::error!(error = %e, checkpoint = self.checkpoint, "processor could not {what}; retrying in 1 s");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    /// Between log batches: definitions changed elsewhere, due checks, one
    /// backfill chunk.
    async fn segment_housekeeping(&mut self) -> Result<(), StoreError> {
        if self.last_reload.elapsed() >= segmenting::RELOAD_EVERY {
            self.last_reload = Instant::now();
            self.reload_segments(false).await?;
        }
        self.internal_sources().await?;
        // While checks keep coming due, look again at once.
        if self.last_timers.elapsed() >= TIMER_POLL && !self.fire_timers().await? {
            self.last_timers = Instant::now();
        }
        self.backfill_step().await?;
        Ok(())
    }

    /// How long to sleep when the log is drained.
    fn idle_wait(&self) -> Duration {
        IDLE_POLL.min(TIMER_POLL)
    }

    async fn process(&mut self, batch: &[LogEvent]) -> Result<(), StoreError> {
        let started = Instant::now();
        let registry = self.state.registry.clone();
        // Properties are kept for events segments or journeys read, and for
        // the events that set traits (`properties.traits`): webhook answers
        // and journeys' update-profile steps.
        let interest = self.state.interest.clone();
        let keep = |name: &str| {
            registry.keeps_properties(name)
                || interest.wants_name(name)
                || name == crate::event_names::WEBHOOK_RESPONSE_EVENT
                || name == crate::journeys::PROFILE_UPDATED_EVENT
        };
        let parsed: Vec<Option<serde_json::Value>> = batch
            .iter()
            .map(|e| {
                if e.event.payload.is_empty() {
                    return None; // erased
                }
                relais_core::slim::parse_with(&e.event.payload, &keep)
                    .map_err(|err| tracing::warn!(seq = e.seq, error = %err, "unreadable payload skipped"))
                    .ok()
            })
            .collect();
        self.load_sources(batch).await?;
        self.state.prefetch(&self.store, batch, &parsed).await?;
        let mut out = ProcessedBatch {
            checkpoint: batch.last().map_or(self.checkpoint, |e| e.seq),
            ..Default::default()
        };
        for (entry, value) in batch.iter().zip(&parsed) {
            let Some(value) = value else { continue };
            self.names.note(&entry.event, value);
            let source = self.sources.get(&entry.event.source_id);
            if source.is_some_and(|s| s.name == INTERNAL_SOURCE && s.channel == INTERNAL_CHANNEL) {
                self.state
                    .apply_internal(&self.store, entry, value, &mut out)
                    .await?;
                continue;
            }
            let source = source.map_or("unknown", |s| s.name.as_str());
            self.state
                .apply(&self.store, entry, value, source, &mut out)
                .await?;
        }
        let applied = Instant::now();
        let now = relais_core::time::now_ms();
        self.state
            .evaluate_touched(segmenting::Cause::Event, now, &self.internal, &mut out);
        let evaluated = Instant::now();
        self.state.drain_dirty(&mut out);
        let drained = Instant::now();
        // New names first: once the batch commits, its events are not read again.
        self.names.write(&self.store, false).await?;
        self.store.commit_processed(&out).await?;
        self.state.committed();
        tracing::debug!(
            events = batch.len(),
            profiles = out.profiles.len(),
            changes = out.memberships.len(),
            apply_ms = (applied - started).as_millis() as u64,
            evaluate_ms = (evaluated - applied).as_millis() as u64,
            serialise_ms = (drained - evaluated).as_millis() as u64,
            commit_ms = drained.elapsed().as_millis() as u64,
            "batch processed"
        );
        Ok(())
    }

    async fn load_sources(&mut self, batch: &[LogEvent]) -> Result<(), StoreError> {
        for e in batch {
            let id = e.event.source_id;
            if !self.sources.contains_key(&id) {
                if let Some(s) = self.store.get_source(id).await? {
                    self.sources.insert(id, s);
                }
            }
        }
        Ok(())
    }

    async fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Reload { reply } => {
                if let Err(e) = self.reload_segments(true).await {
                    tracing::error!(error = %e, "could not reload segment definitions; retrying on the next poll");
                }
                let _ = reply.send(());
            }
            Command::Erase {
                workspace,
                profile,
                audit,
                reply,
            } => {
                let result = self.store.erase_profile(workspace, profile, &audit).await;
                // Whatever happened, forget what the cache knew of the profile.
                self.state.clear();
                let _ = reply.send(result.map_err(Error::from));
            }
        }
    }
}

/// The product keys a profile is interested in, for the store's interest
/// index: the `product_id` and `sku` of what it viewed or wish-listed, as
/// its commerce state holds them (the catalog fan-out links either to a
/// product), sorted, each once; keys the catalog could not hold left out.
pub fn interest_keys(state: &ProfileState) -> Vec<String> {
    let c = &state.commerce;
    let products = c
        .recently_viewed
        .iter()
        .map(|v| &v.product)
        .chain(c.wishlist.iter().map(|w| &w.product));
    let mut keys: Vec<String> = products
        .flat_map(|p| [p.product_id.as_ref(), p.sku.as_ref()])
        .flatten()
        .filter(|k| k.len() <= relais_store::MAX_PRODUCT_KEY_LEN)
        .cloned()
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Lower-case keys under which a profile is found by name.
pub fn search_keys(state: &ProfileState) -> Vec<String> {
    let t = |k: &str| {
        state
            .traits
            .get(k)
            .and_then(|v| v.as_str())
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
    };
    let first = t("first_name").or_else(|| t("firstName"));
    let last = t("last_name").or_else(|| t("lastName"));
    let mut keys: Vec<String> = Vec::new();
    let mut add = |k: Option<String>| {
        if let Some(k) = k {
            let k: String = k.chars().take(100).collect();
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    };
    add(t("name"));
    if let (Some(f), Some(l)) = (&first, &last) {
        add(Some(format!("{f} {l}")));
    }
    add(last);
    add(first);
    add(t("company"));
    keys
}

pub(crate) type IdentityKey = (WorkspaceId, Identity);
