//! Segmentation inside the processor: after a batch of events is folded
//! into profiles, the touched profiles are evaluated against the segments
//! their change can affect; scheduled checks and backfills go through the
//! same path. Membership changes, history, the `Segment Entered` /
//! `Segment Exited` events and the next check are committed with the
//! profile states, in the same transaction.

use super::resolve::State;
use super::Worker;
use crate::segments::evaluate::{evaluate_profile, Transition};
use crate::segments::registry::{Registry, SEGMENT_ENTERED, SEGMENT_EXITED};
use metrics::{counter, histogram};
use relais_core::time::now_ms;
use relais_core::{ProfileId, SourceId, WorkspaceId};
use relais_store::{EmittedEvent, MembershipChange, ProcessedBatch, SegmentProgress, StoreError, TimerWrite};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Name and channel of the source that Relais' own events come from.
pub const INTERNAL_SOURCE: &str = "relais";
pub const INTERNAL_CHANNEL: &str = "internal";

/// Profiles evaluated per backfill transaction.
const BACKFILL_CHUNK: usize = 1_000;
/// Due checks handled per transaction.
const TIMER_CHUNK: usize = 1_000;
/// How often the store is asked whether definitions changed elsewhere.
pub(super) const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// Why profiles are being evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cause {
    Event,
    Timer,
    Backfill,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Cause::Event => "event",
            Cause::Timer => "timer",
            Cause::Backfill => "backfill",
        }
    }
}

impl State {
    /// Evaluates every touched profile; fills `out` with the changes.
    pub(super) fn evaluate_touched(
        &mut self,
        cause: Cause,
        now: i64,
        internal: &HashMap<WorkspaceId, SourceId>,
        out: &mut ProcessedBatch,
    ) {
        let registry = self.registry.clone();
        self.pending.sort_unstable();
        self.pending.dedup();
        for pid in &self.pending {
            let Some(e) = self.profiles.get_mut(pid) else {
                continue;
            };
            if e.touch.is_empty() {
                continue;
            }
            let touch = std::mem::take(&mut e.touch);
            let before = e.state.membership.next_check();
            let Some(ws) = registry.workspace(e.ws) else {
                if before.is_some() || !e.state.membership.segments.is_empty() {
                    e.state.membership = Default::default();
                    e.dirty = true;
                    out.timers.push(TimerWrite {
                        workspace_id: e.ws,
                        profile_id: *pid,
                        due: None,
                    });
                }
                continue;
            };
            let changes = evaluate_profile(ws, *pid, &mut e.state, &touch, now);
            let after = e.state.membership.next_check();
            if after != before || touch.due {
                out.timers.push(TimerWrite {
                    workspace_id: e.ws,
                    profile_id: *pid,
                    due: after,
                });
            }
            if changes.is_empty() && after == before {
                continue;
            }
            e.dirty = true;
            let cause_seq = e.cause_seq.take();
            for t in changes {
                counter!("relais_segment_transitions_total", "kind" => if t.entered { "entered" } else { "exited" })
                    .increment(1);
                out.memberships.push(MembershipChange {
                    workspace_id: e.ws,
                    segment_id: t.segment,
                    profile_id: *pid,
                    entered: t.entered,
                    at: now,
                    cause_seq,
                    cause: cause.as_str().to_owned(),
                });
                // A backfill computes who is in a segment already; nobody
                // "enters" it, so journeys are not triggered by it.
                if cause != Cause::Backfill {
                    if let Some(src) = internal.get(&e.ws) {
                        out.emitted
                            .push(emitted_event(e.ws, *src, *pid, &t, cause, cause_seq, now));
                    }
                }
            }
        }
    }
}

/// The `Segment Entered` / `Segment Exited` event for a change. Its message
/// id is derived from what caused it, so a replayed batch emits the same id
/// (and the log's deduplication keeps one).
fn emitted_event(
    ws: WorkspaceId,
    source: SourceId,
    profile: ProfileId,
    t: &Transition,
    cause: Cause,
    cause_seq: Option<i64>,
    now: i64,
) -> EmittedEvent {
    let (name, verb) = if t.entered {
        (SEGMENT_ENTERED, "entered")
    } else {
        (SEGMENT_EXITED, "exited")
    };
    let why = match cause_seq {
        Some(seq) => format!("seq{seq}"),
        None => format!("{}{now}", cause.as_str()),
    };
    let message_id = format!("relais-{}-{}-{verb}-{why}", t.segment, profile);
    let properties = json!({
        "segment_id": t.segment.to_string(),
        "segment": t.name,
        "cause": cause.as_str(),
        "cause_seq": cause_seq,
    });
    crate::internal::event(
        ws,
        source,
        profile,
        name,
        INTERNAL_CHANNEL,
        message_id,
        properties,
        now,
    )
}

impl Worker {
    /// Re-reads definitions when the store's differ from the registry's.
    /// The caches are dropped: cached profiles lack new aggregates.
    pub(super) async fn reload_segments(&mut self, force: bool) -> Result<(), StoreError> {
        if !force {
            let sig = Registry::stored_signature(&self.store).await?;
            if &sig == self.state.registry.signature() {
                return Ok(());
            }
        }
        let registry = Registry::load(&self.store).await?;
        tracing::info!(
            definitions = registry.signature().len(),
            "segment definitions loaded"
        );
        self.state.set_registry(Arc::new(registry));
        self.state.clear();
        Ok(())
    }

    /// The source of Relais' own events in each workspace with segments.
    pub(super) async fn internal_sources(&mut self) -> Result<(), StoreError> {
        let wanted: Vec<WorkspaceId> = self
            .state
            .registry
            .workspaces()
            .filter(|ws| !self.internal.contains_key(ws))
            .collect();
        for ws in wanted {
            let source = crate::internal::find_or_create(&self.store, ws).await?;
            self.sources.insert(source.id, source.clone());
            self.internal.insert(ws, source.id);
        }
        Ok(())
    }

    /// Re-evaluates the profiles whose scheduled check is due. `true` when
    /// there were some (look again at once).
    pub(super) async fn fire_timers(&mut self) -> Result<bool, StoreError> {
        let now = now_ms();
        let due = self.store.due_timers(now, TIMER_CHUNK).await?;
        if due.is_empty() {
            return Ok(false);
        }
        let started = Instant::now();
        let mut out = ProcessedBatch {
            checkpoint: self.checkpoint,
            ..Default::default()
        };
        let keys: Vec<(WorkspaceId, ProfileId)> =
            due.iter().map(|d| (d.workspace_id, d.profile_id)).collect();
        let present = self.state.load_existing(&self.store, &keys).await?;
        for (d, found) in due.iter().zip(present) {
            match found {
                Some(pid) => self.state.touch(pid, |t| t.due = true),
                None => out.timers.push(TimerWrite {
                    workspace_id: d.workspace_id,
                    profile_id: d.profile_id,
                    due: None,
                }),
            }
        }
        self.state
            .evaluate_touched(Cause::Timer, now, &self.internal, &mut out);
        self.commit_side_batch(out).await?;
        histogram!("relais_segment_timer_batch_seconds").record(started.elapsed().as_secs_f64());
        counter!("relais_segment_checks_total").increment(due.len() as u64);
        Ok(due.len() == TIMER_CHUNK)
    }

    /// Evaluates the next chunk of profiles for a segment being backfilled.
    /// `true` when a chunk was done.
    pub(super) async fn backfill_step(&mut self) -> Result<bool, StoreError> {
        let Some((ws, seg)) = self.state.registry.backfilling() else {
            return Ok(false);
        };
        let (version, mut b) = {
            let s = self
                .state
                .registry
                .workspace(ws)
                .and_then(|w| w.segment(seg))
                .expect("backfilling segment is registered");
            (s.version, s.backfill.expect("backfilling"))
        };
        if b.cursor == 0 && b.done == 0 {
            b.total = self.store.count_profiles(ws).await?;
        }
        let ids = self
            .store
            .profile_ids(ws, ProfileId(b.cursor), BACKFILL_CHUNK)
            .await?;
        let now = now_ms();
        let mut out = ProcessedBatch {
            checkpoint: self.checkpoint,
            ..Default::default()
        };
        let started = Instant::now();
        let keys: Vec<(WorkspaceId, ProfileId)> = ids.iter().map(|p| (ws, *p)).collect();
        let present = self.state.load_existing(&self.store, &keys).await?;
        for pid in present.into_iter().flatten() {
            self.state.touch(pid, |t| t.only = Some(seg));
        }
        let loaded = Instant::now();
        self.state
            .evaluate_touched(Cause::Backfill, now, &self.internal, &mut out);
        let evaluated = Instant::now();
        b.cursor = ids.last().map_or(b.cursor, |p| p.0);
        b.done += ids.len() as i64;
        b.total = b.total.max(b.done);
        let finished = ids.len() < BACKFILL_CHUNK;
        out.segment_progress.push(SegmentProgress {
            workspace_id: ws,
            segment_id: seg,
            version,
            cursor: b.cursor,
            done: b.done,
            total: b.total,
            finished,
        });
        self.commit_side_batch(out).await?;
        tracing::debug!(%seg, profiles = ids.len(), load_ms = (loaded - started).as_millis() as u64,
            evaluate_ms = (evaluated - loaded).as_millis() as u64,
            commit_ms = evaluated.elapsed().as_millis() as u64, "backfill chunk");
        self.state.backfill_progress(ws, seg, (!finished).then_some(b));
        if finished {
            tracing::info!(workspace = %ws, segment = %seg, profiles = b.done, "segment backfill finished");
        }
        Ok(true)
    }

    /// Commits a batch that does not move the checkpoint.
    async fn commit_side_batch(&mut self, mut out: ProcessedBatch) -> Result<(), StoreError> {
        self.state.drain_dirty(&mut out);
        if let Err(e) = self.store.commit_processed(&out).await {
            self.state.clear();
            return Err(e);
        }
        self.state.committed();
        Ok(())
    }
}
