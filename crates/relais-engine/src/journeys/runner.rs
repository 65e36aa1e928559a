//! The journey runner: one task per process that reads the feed the
//! processor writes (triggers, waits, exits, goals) and the instances whose
//! timer is due, both from the store. Nothing lives only in memory: after a
//! crash the feed rows not acknowledged and the due instances are simply
//! read again, and every step is idempotent (see [`super::steps`]).
//!
//! Timers are an index on `wake_at`: the runner sleeps until the soonest
//! one (at most [`MAX_SLEEP`]), or until the processor commits a batch, or
//! until something sooner is scheduled. No periodic scan of all instances.

use super::steps::{self, advance, Wake};
use super::Live;
use crate::Engine;
use futures_util::StreamExt;
use metrics::{counter, histogram};
use relais_core::condition::HistEvent;
use relais_core::journey::Trigger;
use relais_core::time::now_ms;
use relais_core::{Error, ErrorCode, ProfileId, WorkspaceId};
use relais_store::{FeedRow, InstanceRecord};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;

const FEED_BATCH: usize = 500;
const DUE_BATCH: usize = 1_000;
/// Profiles advanced at once (one profile's instances stay in order, so a
/// frequency cap is never checked by two of its sends at the same time).
const PARALLEL: usize = 16;
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// A step that failed for a transient reason is tried again after this.
const RETRY_MS: i64 = 30_000;

pub(crate) async fn run(engine: Weak<Engine>, mut shutdown: watch::Receiver<bool>) {
    let Some(mut processed) = engine.upgrade().map(|e| e.pipeline.subscribe()) else {
        return;
    };
    loop {
        if *shutdown.borrow() {
            break;
        }
        let Some(e) = engine.upgrade() else { break };
        let busy = match tick(&e).await {
            Ok(b) => b,
            Err(err) => {
                counter!("relais_errors_total", "component" => "journeys").increment(1);
                tracing::error!(error = %err, "journey runner: retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if busy {
            continue;
        }
        let next = e.store.next_instance_wake().await.ok().flatten();
        let sleep = next.map_or(MAX_SLEEP, |t| {
            Duration::from_millis((t - now_ms()).clamp(0, MAX_SLEEP.as_millis() as i64) as u64)
        });
        let wake = e.journeys.clone();
        drop(e);
        tokio::select! {
            _ = wake.wake.notified() => {}
            _ = processed.changed() => {}
            _ = tokio::time::sleep(sleep) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!("journey runner stopped");
}

/// One pass: the feed, a page of each due schedule run, then due
/// instances. `true` when there was work.
async fn tick(e: &Arc<Engine>) -> Result<bool, Error> {
    let rows = e.store.journey_feed(0, FEED_BATCH).await?;
    for row in &rows {
        let started = std::time::Instant::now();
        on_event(e, row).await?;
        histogram!("relais_journey_event_seconds").record(started.elapsed().as_secs_f64());
    }
    if let Some(last) = rows.last() {
        e.store.ack_journey_feed(last.seq).await?;
    }
    let walked = super::schedule::tick(e).await?;
    let now = now_ms();
    let due = e.store.due_instances(now, DUE_BATCH).await?;
    if !due.is_empty() {
        for d in &due {
            if let Some(w) = d.wake_at {
                histogram!("relais_journey_timer_lateness_seconds").record((now - w).max(0) as f64 / 1000.0);
            }
        }
        // One group per profile, in order within the group.
        let mut groups: Vec<Vec<InstanceRecord>> = Vec::new();
        let mut sorted = due.clone();
        sorted.sort_by_key(|i| (i.workspace_id, i.profile_id));
        for inst in sorted {
            match groups.last_mut() {
                Some(g) if g[0].workspace_id == inst.workspace_id && g[0].profile_id == inst.profile_id => {
                    g.push(inst)
                }
                _ => groups.push(vec![inst]),
            }
        }
        let results: Vec<Result<(), Error>> = futures_util::stream::iter(groups)
            .map(|g| async move {
                for inst in g {
                    run_one(e, inst, Wake::Due).await?;
                }
                Ok(())
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), Error>>()?;
    }
    Ok(!rows.is_empty() || !due.is_empty() || walked)
}

/// Advances one instance with its journey version; a step that fails for a
/// reason of its own (a template that does not render) ends the instance
/// with that reason, a transient failure retries it later.
pub(super) async fn run_one(e: &Engine, inst: InstanceRecord, wake: Wake<'_>) -> Result<(), Error> {
    let ws = inst.workspace_id;
    let Some(journey) = e
        .journeys
        .version(&e.store, ws, &inst.journey_id, inst.version)
        .await?
    else {
        let mut gone = inst;
        steps::finish(&mut gone, "journey_deleted", now_ms());
        e.store.save_instance(&gone, &[]).await?;
        return Ok(());
    };
    let paused = e
        .journeys
        .find(ws, &inst.journey_id)
        .is_some_and(|l| l.record.status == "paused");
    let backup = inst.clone();
    counter!("relais_journey_steps_total").increment(1);
    let t0 = std::time::Instant::now();
    let advanced = advance(e, &journey, paused, inst, wake).await;
    histogram!("relais_journey_advance_seconds").record(t0.elapsed().as_secs_f64());
    match advanced {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.code,
                ErrorCode::Internal | ErrorCode::Overloaded | ErrorCode::Timeout
            ) =>
        {
            tracing::warn!(instance = %backup.id, error = %err, "journey step failed; retrying in 30 s");
            let mut later = backup;
            later.wake_at = Some(now_ms() + RETRY_MS);
            let _ = e.store.save_instance(&later, &[]).await;
            Ok(())
        }
        Err(err) => {
            let now = now_ms();
            let mut failed = backup;
            steps::finish(&mut failed, "failed", now);
            let t = steps::trace_row(&failed, now, "failed", err.to_string());
            e.store.save_instance(&failed, &[t]).await?;
            Ok(())
        }
    }
}

/// An event a journey listens to: goals, exits, waits, then triggers.
async fn on_event(e: &Engine, row: &FeedRow) -> Result<(), Error> {
    let ws = row.workspace_id;
    let props: Value = serde_json::from_str(&row.properties).unwrap_or(Value::Null);
    let hist = HistEvent {
        name: &row.name,
        timestamp: row.timestamp,
        channel: &row.channel,
        properties: &props,
    };
    let now = now_ms();
    for mut inst in e.store.profile_instances(ws, row.profile_id, None).await? {
        let Some(j) = e
            .journeys
            .version(&e.store, ws, &inst.journey_id, inst.version)
            .await?
        else {
            continue;
        };
        let mut trace = Vec::new();
        if let Some(g) = j.goal.as_ref().filter(|_| inst.converted_at.is_none()) {
            let within =
                row.timestamp >= inst.entered_at - 1_000 && row.timestamp <= inst.entered_at + g.within_ms;
            if within && g.event.matches(&hist) {
                inst.converted_at = Some(row.timestamp);
                trace.push(steps::trace_row(
                    &inst,
                    now,
                    "converted",
                    format!("{} (seq {})", row.name, row.seq),
                ));
            }
        }
        if inst.status == "active" {
            let exit = j.exit_events.iter().any(|s| s.matches(&hist));
            let exit_cond = match &j.exit_condition {
                Some(c) if !exit => {
                    let (_, state) = crate::messaging::profile_state(e, ws, inst.profile_id).await?;
                    let ctx: steps::Ctx = serde_json::from_str(&inst.context).unwrap_or_default();
                    steps::holds(e, ws, inst.profile_id, &state, &ctx.trigger, c, now).await?
                }
                _ => false,
            };
            if exit || exit_cond {
                let reason = if exit { "exit_event" } else { "exit_condition" };
                steps::finish(&mut inst, reason, now);
                inst.updated_at = now;
                trace.push(steps::trace_row(
                    &inst,
                    now,
                    "exited",
                    format!("{reason}: {} (seq {})", row.name, row.seq),
                ));
                e.store.save_instance(&inst, &trace).await?;
                continue;
            }
            if inst.wait_event.as_deref() == Some(row.name.as_str()) && waits_for(&j, &inst, &hist) {
                if !trace.is_empty() {
                    e.store.save_instance(&inst, &trace).await?;
                }
                run_one(e, inst, Wake::Event(row)).await?;
                continue;
            }
        }
        if !trace.is_empty() {
            inst.updated_at = now;
            e.store.save_instance(&inst, &trace).await?;
        }
    }
    for live in e.journeys.live(ws) {
        if live.record.status != "active" || !triggered_by(&live, row, &hist) {
            continue;
        }
        enter(
            e,
            &live,
            row.profile_id,
            &format!("seq:{}", row.seq),
            props.clone(),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Whether the instance's armed wait accepts this event (filters and correlation).
fn waits_for(j: &relais_core::journey::Journey, inst: &InstanceRecord, ev: &HistEvent) -> bool {
    let Some(relais_core::journey::StepKind::WaitForEvent(w)) = j.step(&inst.node).map(|s| &s.kind) else {
        return false;
    };
    if !w.event.matches(ev) {
        return false;
    }
    let Some(c) = &w.correlate else { return true };
    let ctx: steps::Ctx = serde_json::from_str(&inst.context).unwrap_or_default();
    let got = c.property.split('.').try_fold(ev.properties, |v, k| v.get(k));
    match (got, &ctx.correlation) {
        (Some(a), Some(b)) => same_value(a, b),
        _ => false,
    }
}

/// Equal JSON, or a number and its decimal string (`42` and `"42"`): ids
/// travel as either depending on the client.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => *s == n.to_string(),
        _ => a == b,
    }
}

fn triggered_by(live: &Live, row: &FeedRow, ev: &HistEvent) -> bool {
    match &live.journey.trigger {
        Trigger::Event(spec) => spec.matches(ev),
        Trigger::Segment { segment, exited } => {
            let name = if *exited {
                "Segment Exited"
            } else {
                "Segment Entered"
            };
            row.name == name
                && ev.properties.get("segment_id").and_then(Value::as_str) == Some(segment.as_str())
        }
        _ => false,
    }
}

/// The instance id of one entry: the same entry twice is one instance.
pub fn instance_id(ws: WorkspaceId, journey: &str, profile: ProfileId, key: &str) -> String {
    let h = Sha256::digest(format!("{}:{journey}:{}:{key}", ws.0, profile.0));
    format!("jin_{}", &hex::encode(h)[..24])
}

/// Enters a profile into a journey (entry condition and re-entry rule
/// permitting) and runs it to its first wait, or only schedules it for
/// `start_at`. `None` when it did not enter (the trace of why is logged).
pub async fn enter(
    e: &Engine,
    live: &Live,
    pid: ProfileId,
    key: &str,
    trigger: Value,
    now: i64,
) -> Result<Option<InstanceRecord>, Error> {
    enter_at(e, live, pid, key, trigger, now, None).await
}

pub async fn enter_at(
    e: &Engine,
    live: &Live,
    pid: ProfileId,
    key: &str,
    trigger: Value,
    now: i64,
    start_at: Option<i64>,
) -> Result<Option<InstanceRecord>, Error> {
    let (pid, state) = crate::messaging::profile_state(e, live.record.workspace_id, pid).await?;
    let Some((mut inst, t)) = prepare_entry(e, live, pid, &state, key, trigger, now, start_at).await? else {
        return Ok(None);
    };
    let later = start_at.is_some_and(|s| s > now);
    if !later {
        // Run here at once; stored due only after a lease, so the runner's
        // own pass does not advance it too (it takes over if this one dies).
        inst.wake_at = Some(now + RETRY_MS);
    }
    if !e.store.enter_instance(&inst, &[t]).await? {
        return Ok(None);
    }
    counter!("relais_journey_entries_total").increment(1);
    if later {
        e.journeys.wake.notify_one();
        return Ok(Some(inst));
    }
    inst.wake_at = Some(now);
    run_one(e, inst.clone(), Wake::Due).await?;
    Ok(Some(inst))
}

/// The instance a profile (its current id and state) enters with, and its
/// trace row, when the re-entry rule and the entry condition let it in;
/// `None` otherwise (or when this very entry was already made: a replay).
#[allow(clippy::too_many_arguments)]
pub(super) async fn prepare_entry(
    e: &Engine,
    live: &Live,
    pid: ProfileId,
    state: &relais_core::profile::ProfileState,
    key: &str,
    trigger: Value,
    now: i64,
    start_at: Option<i64>,
) -> Result<Option<(InstanceRecord, relais_store::TraceRecord)>, Error> {
    let existing = e
        .store
        .profile_instances(live.record.workspace_id, pid, Some(&live.record.id))
        .await?;
    prepare_entry_after(e, live, pid, state, &existing, key, trigger, now, start_at).await
}

/// [`prepare_entry`] with the profile's instances of the journey, newest
/// entry first, already read.
#[allow(clippy::too_many_arguments)]
pub(super) async fn prepare_entry_after(
    e: &Engine,
    live: &Live,
    pid: ProfileId,
    state: &relais_core::profile::ProfileState,
    existing: &[InstanceRecord],
    key: &str,
    trigger: Value,
    now: i64,
    start_at: Option<i64>,
) -> Result<Option<(InstanceRecord, relais_store::TraceRecord)>, Error> {
    let ws = live.record.workspace_id;
    let j = &live.journey;
    let id = instance_id(ws, &live.record.id, pid, key);
    if existing.iter().any(|i| i.id == id) {
        return Ok(None); // this very entry was handled (a replay)
    }
    let refused = if existing.iter().any(|i| i.status == "active") {
        Some("already in the journey")
    } else {
        match j.reentry {
            relais_core::journey::Reentry::Never if !existing.is_empty() => Some("re-entry: never"),
            relais_core::journey::Reentry::After(d)
                if existing
                    .first()
                    .is_some_and(|i| now < i.entered_at.saturating_add(d)) =>
            {
                Some("re-entry: cool-down not over")
            }
            _ => None,
        }
    };
    if let Some(why) = refused {
        tracing::debug!(journey = %live.record.id, profile = %pid, why, "not entered");
        counter!("relais_journey_entries_refused_total").increment(1);
        return Ok(None);
    }
    if let Some(c) = &j.entry {
        if !steps::holds(e, ws, pid, state, &trigger, c, now).await? {
            counter!("relais_journey_entries_refused_total").increment(1);
            return Ok(None);
        }
    }
    let ctx = steps::Ctx {
        trigger,
        ..Default::default()
    };
    let inst = InstanceRecord {
        id,
        workspace_id: ws,
        journey_id: live.record.id.clone(),
        version: live.record.version,
        profile_id: pid,
        status: "active".into(),
        node: j.first().to_owned(),
        wake_at: Some(start_at.unwrap_or(now)),
        wait_event: None,
        context: serde_json::to_string(&ctx).map_err(|e| Error::internal(e.to_string()))?,
        entered_at: now,
        updated_at: now,
        exited_at: None,
        exit_reason: None,
        converted_at: None,
    };
    let t = steps::trace_row(
        &inst,
        now,
        "entered",
        format!("{} (version {})", j.name, live.record.version),
    );
    Ok(Some((inst, t)))
}
