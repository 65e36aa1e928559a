//! A broadcast's first send, a page at a time. When a scheduled run walks
//! a page of its audience and the journey opens with a plain send step,
//! the page is governed and rendered here in bulk: the profiles' states
//! come with the page, suppressions and frequency-cap counts are read once
//! per page ([`relais_store::PageStore`]), and the messages are written
//! with their instances in the page's one transaction. Each decision is
//! the one [`super::steps`] would take for that profile (the same
//! idempotency keys, governance, fallback between channels and trace).
//!
//! Steps after the send continue on the runner as usual. A send step with
//! an offer, a coupon pool or best-channel ranking reads and writes per
//! profile, so such a journey's page only enters its instances (they run
//! at once on the runner, one at a time).

use super::steps::{self, Ctx};
use super::Live;
use crate::messaging::governance::{cap_windows, decide_known, Decision, Known};
use crate::messaging::{self, Draft};
use crate::Engine;
use relais_core::journey::{Delay, Journey, Send, Step, StepKind, EXIT};
use relais_core::profile::ProfileState;
use relais_core::{Error, ErrorCode, ProfileId};
use relais_store::{InstanceRecord, MessageStatus, NewMessage, RunEntry, TraceRecord};
use serde_json::Value;
use std::collections::HashMap;

/// The journey's first step when it can be sent a page at a time.
pub(super) fn first_send(j: &Journey) -> Option<(&Step, &Send)> {
    let step = j.step(j.first())?;
    match &step.kind {
        StepKind::Send(s)
            if s.offer.is_none() && s.coupon_pool.is_none() && !s.best && step.max_visits != Some(0) =>
        {
            Some((step, s))
        }
        _ => None,
    }
}

/// The journey's first step when it is a delay (a broadcast that parks
/// each profile until its own time): its end is worked out for the page
/// and written with the entry, so the runner only sees it when it is due.
pub(super) fn first_delay(j: &Journey) -> Option<(&Step, &Delay, &str)> {
    let step = j.step(j.first())?;
    match &step.kind {
        StepKind::Delay { wait, next } if step.max_visits != Some(0) => Some((step, wait, next)),
        _ => None,
    }
}

/// Arms the first delay of each member as the runner would (see
/// `steps::advance`): waiting until its end, or on to the next step (due at
/// once) when that end has passed or cannot be worked out.
pub(super) fn park(
    e: &Engine,
    step: &Step,
    wait: &Delay,
    next: &str,
    members: Vec<Member>,
    now: i64,
) -> Vec<RunEntry> {
    let default_tz = &e.config.governance.default_timezone;
    members
        .into_iter()
        .map(|m| {
            let mut inst = m.instance;
            let mut trace = vec![m.trace];
            let mut ctx: Ctx = serde_json::from_str(&inst.context).unwrap_or_default();
            ctx.visits.insert(step.id.clone(), 1);
            let tz = super::timing::zone(&m.state, default_tz);
            match super::timing::delay_end(wait, now, &tz, &m.state, &ctx.trigger) {
                Ok(until) if until > now => {
                    ctx.armed = Some(step.id.clone());
                    inst.wake_at = Some(until);
                    let detail = format!("until {}", relais_core::time::format_ms(until));
                    trace.push(steps::trace_row(&inst, now, "waiting", detail));
                }
                Ok(_) => {
                    inst.node = next.to_owned();
                    inst.wake_at = Some(now);
                }
                Err(why) => {
                    trace.push(steps::trace_row(
                        &inst,
                        now,
                        "skipped",
                        format!("delay skipped: {why}"),
                    ));
                    inst.node = next.to_owned();
                    inst.wake_at = Some(now);
                }
            }
            inst.context = serde_json::to_string(&ctx).unwrap_or_else(|_| inst.context.clone());
            inst.updated_at = now;
            RunEntry {
                instance: inst,
                trace,
                messages: vec![],
            }
        })
        .collect()
}

/// One profile of the page, entered and due now.
pub(super) struct Member {
    pub instance: InstanceRecord,
    pub trace: TraceRecord,
    pub state: ProfileState,
}

/// The page's entries with their first send made, and the profiles' cap
/// locks, to be held until the page is committed.
pub(super) struct Sent<'e> {
    pub entries: Vec<RunEntry>,
    pub locks: Vec<tokio::sync::MutexGuard<'e, ()>>,
    pub queued: usize,
}

/// Runs the first send step for every member (see the module's doc).
pub(super) async fn send<'e>(
    e: &'e Engine,
    live: &Live,
    step: &Step,
    s: &Send,
    members: Vec<Member>,
    now: i64,
) -> Result<Sent<'e>, Error> {
    let j = &live.journey;
    let ws = live.record.workspace_id;
    let cfg = &e.config.governance;
    // Render every channel of every member first (a template error ends
    // that member's passage, as on the runner).
    let mut drafts: Vec<Vec<Result<Draft, Error>>> = Vec::with_capacity(members.len());
    for m in &members {
        let ctx: Ctx = serde_json::from_str(&m.instance.context).unwrap_or_default();
        drafts.push(compose(e, j, s, step, m, &ctx, now).await);
    }
    let locks = match j.transactional {
        true => Vec::new(),
        false => {
            let m = &e.messaging;
            m.locks
                .lock_many(ws, members.iter().map(|m| m.instance.profile_id))
                .await
        }
    };
    // What governance reads, once for the page.
    let all: Vec<(&Member, &Draft)> = members
        .iter()
        .zip(&drafts)
        .flat_map(|(m, ds)| ds.iter().filter_map(move |d| Some((m, d.as_ref().ok()?))))
        .collect();
    let keys: Vec<(String, String)> = all
        .iter()
        .filter_map(|(_, d)| Some((d.channel.as_str().to_owned(), d.address.as_ref().ok()?.1.clone()?)))
        .collect();
    let suppressed: HashMap<(String, String), relais_store::Suppression> = e
        .store
        .find_suppressions(ws, &keys)
        .await?
        .into_iter()
        .map(|s| ((s.channel.clone(), s.address.clone()), s))
        .collect();
    let windows: Vec<Vec<Option<i64>>> = all
        .iter()
        .map(|(m, d)| d.ask(&m.state).map(|a| cap_windows(cfg, &a)).unwrap_or_default())
        .collect();
    let mut sent: Vec<Vec<Option<i64>>> = windows.iter().map(|w| vec![None; w.len()]).collect();
    for (c, cap) in cfg.frequency_caps.iter().enumerate() {
        let asks: Vec<(usize, (ProfileId, i64))> = windows
            .iter()
            .enumerate()
            .filter_map(|(i, w)| Some((i, (all[i].1.profile, (*w.get(c)?)?))))
            .collect();
        if asks.is_empty() {
            continue;
        }
        let pairs: Vec<(ProfileId, i64)> = asks.iter().map(|(_, a)| *a).collect();
        let counts = e
            .store
            .count_recent_messages_many(ws, &pairs, cap.channel.as_deref(), "marketing")
            .await?;
        for ((i, _), n) in asks.iter().zip(counts) {
            sent[*i][c] = Some(n);
        }
    }
    let salt = match !j.transactional && cfg.control_group_percent > 0.0 {
        true => Some(e.messaging.salts.get(&e.store, ws).await?),
        false => None,
    };
    // The counts back to each member's drafts, in order.
    let mut sent = sent.into_iter();
    let sent_of: Vec<Vec<Vec<Option<i64>>>> = drafts
        .iter()
        .map(|ds| {
            ds.iter()
                .map(|d| match d {
                    Ok(_) => sent.next().unwrap_or_default(),
                    Err(_) => Vec::new(),
                })
                .collect()
        })
        .collect();
    let mut out = Sent {
        entries: Vec::with_capacity(members.len()),
        locks,
        queued: 0,
    };
    for ((m, drafts), counts) in members.into_iter().zip(drafts).zip(sent_of) {
        let mut inst = m.instance;
        let mut trace = vec![m.trace];
        let mut ctx: Ctx = serde_json::from_str(&inst.context).unwrap_or_default();
        if let Some(c) = &j.exit_condition {
            if steps::holds(e, ws, inst.profile_id, &m.state, &ctx.trigger, c, now).await? {
                steps::finish(&mut inst, "exit_condition", now);
                let why = "exit condition holds (checked before the send)";
                trace.push(steps::trace_row(&inst, now, "exited", why.into()));
                out.entries.push(RunEntry {
                    instance: inst,
                    trace,
                    messages: vec![],
                });
                continue;
            }
        }
        let mut messages = Vec::new();
        let mut failed = None;
        for (d, counts) in drafts.into_iter().zip(counts) {
            // A template that does not render fails the passage when its
            // channel is reached, as on the runner (what went before stays).
            let d = match d {
                Ok(d) => d,
                Err(err) if transient(&err) => return Err(err),
                Err(err) => {
                    failed = Some(err);
                    break;
                }
            };
            let decision = match d.ask(&m.state) {
                Ok(ask) => {
                    let suppression = ask
                        .address_key
                        .and_then(|k| suppressed.get(&(d.channel.as_str().to_owned(), k.to_owned())));
                    let known = Known {
                        suppression,
                        salt: salt.as_deref(),
                        sent: &counts,
                    };
                    decide_known(cfg, &ask, &known)?
                }
                Err(why) => Decision::Skip(why),
            };
            let message = d.decided(e, decision).await?;
            let status = message.status;
            trace.push(steps::trace_row(
                &inst,
                now,
                note_kind(status),
                describe(&message),
            ));
            let falls_back = message.reason.as_deref().is_some_and(steps::falls_back);
            let id = message.id.clone();
            messages.push(message);
            if status == MessageStatus::Queued {
                ctx.messages.insert(step.id.clone(), id);
                out.queued += 1;
                break;
            }
            if !falls_back {
                break;
            }
        }
        if let Some(err) = failed {
            steps::finish(&mut inst, "failed", now);
            trace.truncate(1);
            trace.push(steps::trace_row(&inst, now, "failed", err.to_string()));
            out.entries.push(RunEntry {
                instance: inst,
                trace,
                messages,
            });
            continue;
        }
        ctx.visits.insert(step.id.clone(), 1);
        inst.node = s.next.clone();
        inst.wake_at = Some(now);
        if inst.node == EXIT {
            steps::finish(&mut inst, "completed", now);
            trace.push(steps::trace_row(&inst, now, "exited", "reached the end".into()));
        }
        inst.context = serde_json::to_string(&ctx).map_err(|e| Error::internal(e.to_string()))?;
        inst.updated_at = now;
        out.entries.push(RunEntry {
            instance: inst,
            trace,
            messages,
        });
    }
    metrics::counter!("relais_journey_steps_total").increment(out.entries.len() as u64);
    Ok(out)
}

/// Every channel's draft for one member, in the step's order.
async fn compose(
    e: &Engine,
    j: &Journey,
    s: &Send,
    step: &Step,
    m: &Member,
    ctx: &Ctx,
    now: i64,
) -> Vec<Result<Draft, Error>> {
    let inst = &m.instance;
    let ws = inst.workspace_id;
    let key = steps::step_key(inst, &step.id, 1);
    let mut out = Vec::with_capacity(s.channels.len());
    for channel in &s.channels {
        let content = s.content.get(channel).cloned().unwrap_or(Value::Null);
        let ch_key = format!("{key}:{channel}");
        let mut req = steps::request(j, inst, ctx, channel, content, &ch_key, None, j.transactional);
        if let Some(c) = &s.campaign {
            req.campaign = Some(c.clone());
        }
        out.push(match messaging::check(&req) {
            Ok(ch) => Draft::compose(e, ws, inst.profile_id, &m.state, ch, &req, ch_key, now).await,
            Err(err) => Err(err),
        });
    }
    out
}

/// A failure to try again later (the whole page), not the passage's own.
fn transient(err: &Error) -> bool {
    matches!(
        err.code,
        ErrorCode::Internal | ErrorCode::Overloaded | ErrorCode::Timeout
    )
}

fn note_kind(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::Skipped => "skipped",
        _ => "sent",
    }
}

/// The trace detail the runner writes for a send (`steps::describe`).
fn describe(m: &NewMessage) -> String {
    match &m.reason {
        Some(r) => format!("{} {} {}: {r}", m.channel, m.id, m.status.as_str()),
        None => format!("{} {} {}", m.channel, m.id, m.status.as_str()),
    }
}
