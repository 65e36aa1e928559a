//! One instance through its steps until it waits or leaves.
//!
//! Everything a step does is keyed by (journey, version, step, instance,
//! visit): message idempotency keys, coupon assignments, the `message_id`
//! of profile updates. Running the same step again after a crash therefore
//! finds what the first run did instead of doing it twice, and the instance
//! row written at each wait is the only progress marker needed.

use super::timing;
use crate::catalog;
use crate::messaging::{self, SendRequest};
use crate::Engine;
use relais_core::condition::{evaluate_reference, CommerceCond, Condition, Facts, HistEvent};
use relais_core::journey::{Journey, Send, StepKind, EXIT};
use relais_core::membership::has_address;
use relais_core::profile::ProfileState;
use relais_core::time::now_ms;
use relais_core::{computed, Error, ProfileId, SegmentId, WorkspaceId};
use relais_store::{FeedRow, InstanceRecord, OfferGrant, OfferRecord, TraceRecord};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The engine's part of an instance row.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ctx {
    /// Trigger event properties, or the API trigger's payload.
    #[serde(default)]
    pub trigger: Value,
    /// The delay or wait the instance is stopped at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub armed: Option<String>,
    /// The value the awaited event must carry (correlation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Value>,
    #[serde(default)]
    pub visits: BTreeMap<String, u32>,
    /// Send step → id of the message it sent last.
    #[serde(default)]
    pub messages: BTreeMap<String, String>,
}

/// Why the instance is being run.
pub enum Wake<'a> {
    /// Just entered, or due (a timer, a deferred step).
    Due,
    /// The event its wait was waiting for.
    Event(&'a FeedRow),
}

/// Stop a runaway instance (validation forbids cycles without a wait).
const MAX_HOPS: usize = 100;
/// A paused journey's instances are looked at again this often.
const PAUSE_RECHECK_MS: i64 = 30_000;

/// Runs `inst` from its current step; returns it saved.
pub async fn advance(
    engine: &Engine,
    journey: &Journey,
    paused: bool,
    mut inst: InstanceRecord,
    wake: Wake<'_>,
) -> Result<InstanceRecord, Error> {
    let ws = inst.workspace_id;
    let now = now_ms();
    let mut ctx: Ctx = serde_json::from_str(&inst.context).unwrap_or_default();
    let mut trace: Vec<TraceRecord> = Vec::new();
    let mut note = |inst: &InstanceRecord, kind: &str, detail: String| {
        trace.push(trace_row(inst, now, kind, detail));
    };
    let state = match crate::messaging::profile_state(engine, ws, inst.profile_id).await {
        Ok((pid, state)) => {
            inst.profile_id = pid;
            state
        }
        Err(e) if e.code == relais_core::ErrorCode::NotFound => {
            finish(&mut inst, "profile_erased", now);
            note(&inst, "exited", "the profile no longer exists".into());
            return save(engine, inst, ctx, trace).await;
        }
        Err(e) => return Err(e),
    };
    if journey
        .max_duration_ms
        .is_some_and(|m| now >= inst.entered_at.saturating_add(m))
    {
        finish(&mut inst, "max_time", now);
        note(&inst, "exited", "maximum time in the journey reached".into());
        return save(engine, inst, ctx, trace).await;
    }
    if paused {
        inst.wake_at = Some(inst.wake_at.unwrap_or(now).max(now + PAUSE_RECHECK_MS));
        return save(engine, inst, ctx, trace).await;
    }
    let mut wake = Some(wake);
    for _ in 0..MAX_HOPS {
        if inst.node == EXIT {
            finish(&mut inst, "completed", now);
            note(&inst, "exited", "reached the end".into());
            break;
        }
        let Some(step) = journey.step(&inst.node) else {
            finish(&mut inst, "step_missing", now);
            note(
                &inst,
                "exited",
                format!("no step {:?} in this version", inst.node),
            );
            break;
        };
        let armed_here = ctx.armed.as_deref() == Some(step.id.as_str());
        if !armed_here {
            if let Some(max) = step.max_visits {
                let seen = ctx.visits.get(&step.id).copied().unwrap_or(0);
                if seen >= max {
                    note(
                        &inst,
                        "branch",
                        format!("ran {seen} times (max_visits {max}): on to {}", step.on_max),
                    );
                    inst.node = step.on_max.clone();
                    continue;
                }
            }
        }
        let visit = {
            let v = ctx.visits.entry(step.id.clone()).or_insert(0);
            if !armed_here {
                *v += 1;
            }
            *v
        };
        let key = step_key(&inst, &step.id, visit);
        match &step.kind {
            StepKind::Exit => {
                finish(&mut inst, "completed", now);
                note(&inst, "exited", "exit step".into());
                break;
            }
            StepKind::Send(s) => {
                if let Some(c) = &journey.exit_condition {
                    if holds(engine, ws, inst.profile_id, &state, &ctx.trigger, c, now).await? {
                        finish(&mut inst, "exit_condition", now);
                        note(
                            &inst,
                            "exited",
                            "exit condition holds (checked before the send)".into(),
                        );
                        break;
                    }
                }
                let outcome = send(engine, journey, &inst, &ctx, s, &key, now).await?;
                for (kind, detail) in outcome.notes {
                    note(&inst, kind, detail);
                }
                if let Some(id) = outcome.message_id {
                    ctx.messages.insert(step.id.clone(), id);
                }
                inst.node = s.next.clone();
            }
            StepKind::Delay { wait, next } => {
                if armed_here {
                    if inst.wake_at.is_some_and(|w| w > now) {
                        break; // woken early (an event for another wait): keep waiting
                    }
                    ctx.armed = None;
                    inst.wake_at = None;
                    note(&inst, "resumed", "delay over".into());
                    inst.node = next.clone();
                    continue;
                }
                let tz = timing::zone(&state, &engine.config.governance.default_timezone);
                match timing::delay_end(wait, now, &tz, &state, &ctx.trigger) {
                    Ok(until) if until > now => {
                        ctx.armed = Some(step.id.clone());
                        inst.wake_at = Some(until);
                        note(
                            &inst,
                            "waiting",
                            format!("until {}", relais_core::time::format_ms(until)),
                        );
                        break;
                    }
                    Ok(_) => inst.node = next.clone(),
                    Err(why) => {
                        note(&inst, "skipped", format!("delay skipped: {why}"));
                        inst.node = next.clone();
                    }
                }
            }
            StepKind::WaitForEvent(w) => {
                if armed_here {
                    match wake.take() {
                        Some(Wake::Event(row)) => {
                            note(&inst, "resumed", format!("{} (seq {})", row.name, row.seq));
                            inst.node = w.on_event.clone();
                        }
                        _ if inst.wake_at.is_some_and(|t| t <= now) => {
                            note(&inst, "resumed", "timed out".into());
                            inst.node = w.on_timeout.clone();
                        }
                        _ => break,
                    }
                    ctx.armed = None;
                    ctx.correlation = None;
                    inst.wait_event = None;
                    inst.wake_at = None;
                    continue;
                }
                ctx.correlation = match &w.correlate {
                    None => None,
                    Some(c) => Some(match &c.with {
                        relais_core::journey::CorrelateWith::Trigger(p) => {
                            ctx.trigger.get(p).cloned().unwrap_or(Value::Null)
                        }
                        relais_core::journey::CorrelateWith::MessageOf(s) => ctx
                            .messages
                            .get(s)
                            .map_or(Value::Null, |m| Value::from(m.as_str())),
                    }),
                };
                if ctx.correlation.as_ref().is_some_and(Value::is_null) {
                    note(
                        &inst,
                        "branch",
                        "nothing to correlate with: on as timed out".into(),
                    );
                    inst.node = w.on_timeout.clone();
                    continue;
                }
                ctx.armed = Some(step.id.clone());
                inst.wait_event = Some(w.event.event().to_owned());
                inst.wake_at = Some(now.saturating_add(w.timeout_ms));
                note(
                    &inst,
                    "waiting",
                    format!(
                        "for {} until {}",
                        w.event.event(),
                        relais_core::time::format_ms(now + w.timeout_ms)
                    ),
                );
                break;
            }
            StepKind::Condition {
                test,
                then,
                otherwise,
            } => {
                let yes = holds(engine, ws, inst.profile_id, &state, &ctx.trigger, test, now).await?;
                let to = if yes { then } else { otherwise };
                note(
                    &inst,
                    "branch",
                    format!(
                        "condition {}: on to {to}",
                        if yes { "holds" } else { "does not hold" }
                    ),
                );
                inst.node = to.clone();
            }
            StepKind::Experiment { variants } => {
                let total: u64 = variants.iter().map(|v| u64::from(v.weight)).sum();
                let mut pick = bucket(
                    &format!("{}:{}:{}", inst.journey_id, step.id, inst.profile_id),
                    total.max(1),
                );
                let mut chosen = &variants[0];
                for v in variants {
                    if pick < u64::from(v.weight) {
                        chosen = v;
                        break;
                    }
                    pick -= u64::from(v.weight);
                }
                note(
                    &inst,
                    "branch",
                    format!("variant {}: on to {}", chosen.name, chosen.next),
                );
                inst.node = chosen.next.clone();
            }
            StepKind::Holdout { percent, next } => {
                let b = bucket(
                    &format!("{}:holdout:{}", inst.journey_id, inst.profile_id),
                    10_000,
                );
                if (b as f64) < percent * 100.0 {
                    finish(&mut inst, "holdout", now);
                    note(&inst, "exited", format!("in the journey's {percent} % holdout"));
                    break;
                }
                inst.node = next.clone();
            }
            StepKind::UpdateProfile {
                traits,
                consent,
                next,
            } => {
                update_profile(engine, ws, inst.profile_id, traits, consent, &key, now).await?;
                note(
                    &inst,
                    "updated",
                    format!(
                        "traits {:?}, consent {:?}",
                        traits.keys().collect::<Vec<_>>(),
                        consent
                    ),
                );
                inst.node = next.clone();
            }
            StepKind::Webhook { content, next } | StepKind::Task { content, next } => {
                let channel = if matches!(step.kind, StepKind::Webhook { .. }) {
                    "webhook"
                } else {
                    "task"
                };
                let req = request(journey, &inst, &ctx, channel, content.clone(), &key, None, true);
                let (view, _) = messaging::send(engine, ws, req).await?;
                note(
                    &inst,
                    if view.status == "skipped" {
                        "skipped"
                    } else {
                        "sent"
                    },
                    describe(&view),
                );
                inst.node = next.clone();
            }
        }
        wake = None;
    }
    inst.updated_at = now;
    save(engine, inst, ctx, trace).await
}

/// What a step's effects are keyed by: (journey, version, step, instance, visit).
pub(super) fn step_key(inst: &InstanceRecord, step: &str, visit: u32) -> String {
    format!("{}:v{}:{step}:{}:{visit}", inst.journey_id, inst.version, inst.id)
}

/// Ends the instance: no timer, no wait, the reason kept.
pub(super) fn finish(inst: &mut InstanceRecord, reason: &str, now: i64) {
    inst.status = "done".into();
    inst.wake_at = None;
    inst.wait_event = None;
    inst.exited_at = Some(now);
    inst.exit_reason = Some(reason.to_owned());
}

async fn save(
    engine: &Engine,
    mut inst: InstanceRecord,
    ctx: Ctx,
    trace: Vec<TraceRecord>,
) -> Result<InstanceRecord, Error> {
    inst.context = serde_json::to_string(&ctx).map_err(|e| Error::internal(e.to_string()))?;
    engine.store.save_instance(&inst, &trace).await?;
    Ok(inst)
}

/// One decision about the instance at its current step.
pub(super) fn trace_row(inst: &InstanceRecord, at: i64, kind: &str, detail: String) -> TraceRecord {
    TraceRecord {
        instance_id: inst.id.clone(),
        at,
        node: inst.node.clone(),
        kind: kind.to_owned(),
        detail,
    }
}

/// A stable number in `0..n` from a string.
pub fn bucket(s: &str, n: u64) -> u64 {
    let h = Sha256::digest(s.as_bytes());
    u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) % n.max(1)
}

/// Evaluates a condition on the profile from its history (the reference
/// evaluator: exact, whatever segments the workspace keeps aggregates for).
/// Commerce conditions are answered from the catalog as loaded now, about
/// the passage's `trigger` when they name it.
#[allow(clippy::too_many_arguments)]
pub async fn holds(
    engine: &Engine,
    ws: WorkspaceId,
    pid: ProfileId,
    state: &ProfileState,
    trigger: &Value,
    c: &Condition,
    now: i64,
) -> Result<bool, Error> {
    let deps = c.dependencies();
    let names: Vec<String> = deps.events.iter().cloned().collect();
    let history = if names.is_empty() {
        Vec::new()
    } else {
        let rows = engine.store.profile_history(ws, &[pid], Some(&names)).await?;
        crate::segments::evaluate::group_history(rows)
            .remove(&pid)
            .unwrap_or_default()
    };
    let events: Vec<HistEvent> = history.iter().map(|e| e.as_hist()).collect();
    let computed = |name: &str| computed::builtin(state, name, now);
    let in_segment = |id: SegmentId| state.membership.segments.contains_key(&id);
    let address = |channel: &str| has_address(state, channel);
    let cat = if deps.commerce {
        Some(engine.commerce.read(ws).await?)
    } else {
        None
    };
    let subject = catalog::conditions::Subject {
        state,
        trigger,
        now_ms: now,
    };
    let config = &engine.commerce.config;
    let commerce = |q: &CommerceCond| {
        cat.as_ref()
            .is_some_and(|cat| catalog::conditions::answer(cat, config, &subject, q))
    };
    let facts = Facts {
        profile_id: pid.0,
        state,
        computed: &computed,
        in_segment: &in_segment,
        has_address: &address,
        commerce: Some(&commerce),
        now,
    };
    Ok(evaluate_reference(c, &facts, &events))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn request(
    journey: &Journey,
    inst: &InstanceRecord,
    ctx: &Ctx,
    channel: &str,
    content: Value,
    key: &str,
    extra: Option<(&str, Value)>,
    transactional: bool,
) -> SendRequest {
    let mut data = json!({
        "trigger": ctx.trigger,
        "journey": {"id": inst.journey_id, "name": journey.name, "version": inst.version, "step": inst.node},
    });
    if let (Some((k, v)), Some(o)) = (extra, data.as_object_mut()) {
        o.insert(k.to_owned(), v);
    }
    SendRequest {
        profile: inst.profile_id.to_string(),
        channel: channel.to_owned(),
        transactional,
        idempotency_key: Some(key.to_owned()),
        campaign: Some(journey.name.clone()),
        content,
        data,
        quiet_hours: Some(
            match journey.quiet_hours {
                relais_core::journey::QuietHoursBehaviour::Defer => "defer",
                relais_core::journey::QuietHoursBehaviour::Drop => "drop",
            }
            .to_owned(),
        ),
        from_journey: true,
    }
}

fn describe(v: &messaging::MessageView) -> String {
    match &v.reason {
        Some(r) => format!("{} {} {}: {r}", v.channel, v.id, v.status),
        None => format!("{} {} {}", v.channel, v.id, v.status),
    }
}

struct SendOutcome {
    message_id: Option<String>,
    notes: Vec<(&'static str, String)>,
}

/// Skip reasons after which the next channel of the list is tried (the
/// control group and quiet hours apply to every channel alike).
pub(super) fn falls_back(reason: &str) -> bool {
    ["no_consent", "suppressed", "capped", "unreachable"]
        .iter()
        .any(|p| reason.starts_with(p))
}

#[allow(clippy::too_many_arguments)]
async fn send(
    engine: &Engine,
    journey: &Journey,
    inst: &InstanceRecord,
    ctx: &Ctx,
    s: &Send,
    key: &str,
    now: i64,
) -> Result<SendOutcome, Error> {
    let ws = inst.workspace_id;
    let mut notes = Vec::new();
    let mut out = SendOutcome {
        message_id: None,
        notes: Vec::new(),
    };
    // Coherent offers: another active offer in the group blocks this one.
    if let Some(offer) = &s.offer {
        let held = engine.store.active_offers(ws, inst.profile_id, now).await?;
        if let Some(h) = held
            .iter()
            .find(|h| h.group == offer.group && h.offer != offer.id)
        {
            notes.push((
                "skipped",
                format!(
                    "contradictory_offer: the profile holds offer {} of group {} (from {}) until {}",
                    h.offer,
                    h.group,
                    h.granted_by,
                    relais_core::time::format_ms(h.expires_at)
                ),
            ));
            out.notes = notes;
            return Ok(out);
        }
    }
    let mut extra = None;
    if let Some(pool) = &s.coupon_pool {
        match super::coupons::assign(engine, ws, pool, inst.profile_id, key, now).await? {
            Some(code) => extra = Some(("coupon", Value::from(code))),
            None => {
                notes.push((
                    "skipped",
                    format!("coupon_pool_exhausted: no free code in pool {pool}"),
                ));
                out.notes = notes;
                return Ok(out);
            }
        }
    }
    let mut channels = s.channels.clone();
    if s.best {
        let affinity = super::manage::channel_affinity(engine, ws, inst.profile_id).await?;
        channels.sort_by(|a, b| {
            let (x, y) = (
                affinity.get(a).copied().unwrap_or(0.0),
                affinity.get(b).copied().unwrap_or(0.0),
            );
            y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    for channel in &channels {
        let content = s.content.get(channel).cloned().unwrap_or(Value::Null);
        let mut req = request(
            journey,
            inst,
            ctx,
            channel,
            content,
            &format!("{key}:{channel}"),
            extra.clone(),
            journey.transactional,
        );
        if let Some(c) = &s.campaign {
            req.campaign = Some(c.clone());
        }
        let t0 = std::time::Instant::now();
        let (view, _) = messaging::send(engine, ws, req).await?;
        metrics::histogram!("relais_journey_send_seconds").record(t0.elapsed().as_secs_f64());
        if view.status == "skipped" {
            let reason = view.reason.clone().unwrap_or_default();
            notes.push(("skipped", describe(&view)));
            if falls_back(&reason) {
                continue;
            }
            break;
        }
        notes.push(("sent", describe(&view)));
        if let Some(offer) = &s.offer {
            let rec = OfferRecord {
                workspace_id: ws,
                profile_id: inst.profile_id,
                group: offer.group.clone(),
                offer: offer.id.clone(),
                granted_by: inst.journey_id.clone(),
                granted_at: now,
                expires_at: now.saturating_add(offer.valid_ms),
            };
            if let OfferGrant::Held(h) = engine.store.grant_offer(&rec, now).await? {
                tracing::warn!(journey = %inst.journey_id, profile = %inst.profile_id, held = %h.offer,
                    "offer granted concurrently elsewhere; the message was already queued");
            }
        }
        out.message_id = Some(view.id);
        break;
    }
    out.notes = notes;
    Ok(out)
}

async fn update_profile(
    engine: &Engine,
    ws: WorkspaceId,
    pid: ProfileId,
    traits: &serde_json::Map<String, Value>,
    consent: &[(String, String)],
    key: &str,
    now: i64,
) -> Result<(), Error> {
    let source = engine.messaging.sources.get(&engine.store, ws).await?;
    let mut events = Vec::new();
    if !traits.is_empty() {
        events.push(crate::internal::event(
            ws,
            source,
            pid,
            super::PROFILE_UPDATED_EVENT,
            "journey",
            format!("jny-upd-{}", hex::encode(&Sha256::digest(key.as_bytes())[..12])),
            json!({"traits": traits}),
            now,
        ));
    }
    for (channel, status) in consent {
        let name = if status == "subscribed" {
            relais_core::profile::SUBSCRIBED_EVENT
        } else {
            relais_core::profile::UNSUBSCRIBED_EVENT
        };
        events.push(crate::internal::event(
            ws,
            source,
            pid,
            name,
            "journey",
            format!(
                "jny-con-{}",
                hex::encode(&Sha256::digest(format!("{key}:{channel}").as_bytes())[..12])
            ),
            json!({"channel": channel}),
            now,
        ));
    }
    engine.store.append_emitted(&events).await?;
    Ok(())
}
