//! Schedule and date-trait triggers (docs/journeys.md, Schedules): a run
//! walks its audience — a segment's members, or every profile for a date
//! trait — by profile id, a page at a time. Each page's entries and the
//! run's cursor are written in one transaction, and every entry's instance
//! id is derived from the run, so a crash mid-walk resumes after the last
//! page written and nobody enters one run twice.
//!
//! A run with a local time starts walking when that time comes in the
//! earliest time zone (UTC+14); each profile's instance then waits until
//! the time comes in its own zone (the runner's timers).

use super::page::{self, first_delay, first_send, Member};
use super::runner::{instance_id, prepare_entry_after};
use super::{timing, Live};
use crate::Engine;
use jiff::civil::Date;
use relais_core::journey::{DateTrigger, Schedule, Trigger};
use relais_core::profile::ProfileState;
use relais_core::time::{format_ms, now_ms};
use relais_core::{Error, ProfileId, SegmentId};
use relais_store::{InstanceRecord, JourneyRun, RunEntry};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Profiles per page: one transaction each.
const PAGE: usize = 1_000;
/// A run this late (the server was down when it came) is skipped: a
/// broadcast two days late is worse than none.
const STALE_MS: i64 = 48 * 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// UTC+14, the earliest time zone.
const EARLIEST_MS: i64 = 14 * 3_600_000;

/// The run due now: its key, when its walk may start, and the day it is
/// for (local-time runs).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Plan {
    pub key: String,
    pub walk_from: i64,
    /// The instant every profile starts at (no local time).
    pub at: Option<i64>,
    /// The day and `HH:MM` each profile starts at in its own zone.
    pub local: Option<(Date, String)>,
}

fn utc_date(ms: i64) -> Option<Date> {
    let ts = jiff::Timestamp::from_millisecond(ms).ok()?;
    Some(ts.to_zoned(jiff::tz::TimeZone::UTC).date())
}

/// `HH:MM` on `day` in UTC, unix ms.
fn utc_at(day: Date, hm: &str) -> Option<i64> {
    let (h, m) = relais_core::journey::parse::check_hm(hm, "time").ok()?;
    let t = jiff::civil::Time::new(h, m, 0, 0).ok()?;
    let z = day.to_datetime(t).to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    Some(z.timestamp().as_millisecond())
}

/// The latest run of a schedule whose walk may have started by `now`
/// (`None` before the first, after a one-off, or when it is stale).
pub(super) fn schedule_plan(s: &Schedule, now: i64) -> Option<Plan> {
    let period = i64::from(s.every_days.unwrap_or(0)) * DAY_MS;
    let walk_from = |k: i64| -> Option<i64> {
        let nominal = s.at + k * period;
        match &s.local_time {
            Some(hm) => Some(utc_at(utc_date(nominal)?, hm)? - EARLIEST_MS),
            None => Some(nominal),
        }
    };
    let first = walk_from(0)?;
    if now < first {
        return None;
    }
    let k = if period > 0 { (now - first) / period } else { 0 };
    let from = walk_from(k)?;
    if now - from > STALE_MS {
        return None;
    }
    let nominal = s.at + k * period;
    Some(Plan {
        key: format!("schedule:{}", format_ms(nominal)),
        walk_from: from,
        at: s.local_time.is_none().then_some(nominal),
        local: match &s.local_time {
            Some(hm) => Some((utc_date(nominal)?, hm.clone())),
            None => None,
        },
    })
}

/// Today's run of a date trigger: the day whose local time has come in
/// the earliest zone.
pub(super) fn date_plan(d: &DateTrigger, now: i64) -> Option<Plan> {
    let (h, m) = relais_core::journey::parse::check_hm(&d.local_time, "time").ok()?;
    let hm_ms = (i64::from(h) * 60 + i64::from(m)) * 60_000;
    let day = utc_date(now + EARLIEST_MS - hm_ms)?;
    Some(Plan {
        key: format!("date:{day}"),
        walk_from: utc_at(day, &d.local_time)? - EARLIEST_MS,
        at: None,
        local: Some((day, d.local_time.clone())),
    })
}

/// Whether the profile's date trait, moved by the offset, falls on `day`
/// (any year when yearly: 29 February counts on the 28th in other years).
pub(super) fn date_matches(d: &DateTrigger, value: &Value, day: Date) -> bool {
    let Some(s) = value.as_str() else { return false };
    let Some(date) = s.get(..10).and_then(|s| s.parse::<Date>().ok()) else {
        return false;
    };
    let Ok(send) = date.checked_add(jiff::Span::new().days(i64::from(d.offset_days))) else {
        return false;
    };
    if !d.yearly {
        return send == day;
    }
    let leap_day_in_common_year = send.month() == 2 && send.day() == 29 && !day.in_leap_year();
    (send.month(), send.day()) == (day.month(), day.day())
        || (leap_day_in_common_year && (day.month(), day.day()) == (2, 28))
}

/// When a profile of this run starts: the run's instant, or its local time
/// in the profile's zone (now if that has passed).
fn start_at(plan: &Plan, state: &ProfileState, default_tz: &str, now: i64) -> i64 {
    if let Some(at) = plan.at {
        return at;
    }
    let Some((day, hm)) = &plan.local else { return now };
    let tz = timing::zone(state, default_tz);
    let local = relais_core::journey::parse::check_hm(hm, "time")
        .ok()
        .and_then(|(h, m)| jiff::civil::Time::new(h, m, 0, 0).ok())
        .and_then(|t| day.to_datetime(t).to_zoned(tz).ok())
        .map(|z| z.timestamp().as_millisecond());
    local.unwrap_or(now).max(now)
}

/// One page of every due run. `true` when a page was walked (more may follow).
pub(super) async fn tick(e: &Arc<Engine>) -> Result<bool, Error> {
    let now = now_ms();
    let mut busy = false;
    for live in e.journeys.all_live() {
        if live.record.status != "active" {
            continue;
        }
        let plan = match &live.journey.trigger {
            Trigger::Schedule(s) => schedule_plan(s, now),
            Trigger::Date(d) => date_plan(d, now),
            _ => continue,
        };
        let Some(plan) = plan.filter(|p| p.walk_from <= now) else {
            continue;
        };
        if e.journeys.run_done(&live.record, &plan.key) {
            continue;
        }
        busy |= walk_page(e, &live, &plan, now).await?;
    }
    Ok(busy)
}

async fn walk_page(e: &Arc<Engine>, live: &Arc<Live>, plan: &Plan, now: i64) -> Result<bool, Error> {
    let ws = live.record.workspace_id;
    let mut run = e
        .store
        .journey_run(ws, &live.record.id, &plan.key)
        .await?
        .unwrap_or(JourneyRun {
            workspace_id: ws,
            journey_id: live.record.id.clone(),
            run_key: plan.key.clone(),
            cursor: 0,
            entered: 0,
            started_at: now,
            done_at: None,
        });
    if run.done_at.is_some() {
        e.journeys.mark_run_done(&live.record, &plan.key);
        return Ok(false);
    }
    let after = (run.cursor > 0).then_some(ProfileId(run.cursor));
    let ids: Vec<ProfileId> = match &live.journey.trigger {
        Trigger::Schedule(s) => {
            let seg = SegmentId::parse(&s.segment)
                .ok_or_else(|| Error::internal(format!("schedule segment {} is not an id", s.segment)))?;
            let members = e.store.segment_members(ws, seg, after, PAGE).await?;
            members.into_iter().map(|m| m.profile_id).collect()
        }
        _ => {
            e.store
                .profile_ids(ws, after.unwrap_or(ProfileId(0)), PAGE)
                .await?
        }
    };
    let keys: Vec<_> = ids.iter().map(|p| (ws, *p)).collect();
    let profiles = e.store.get_profiles(&keys).await?;
    let date = match &live.journey.trigger {
        Trigger::Date(d) => Some(d),
        _ => None,
    };
    let default_tz = &e.config.governance.default_timezone;
    let key = format!("run:{}", plan.key);
    let wanted = profiles.into_iter().flatten().filter_map(|p| {
        let state: ProfileState = serde_json::from_str(&p.state).ok()?;
        let trigger = match date {
            Some(d) => {
                let value = state.traits.get(&d.trait_name)?;
                let (day, _) = plan.local.as_ref()?;
                if !date_matches(d, value, *day) {
                    return None;
                }
                json!({"run": plan.key, "trait": d.trait_name, "date": value, "day": day.to_string()})
            }
            None => json!({"run": plan.key, "segment_id": segment_of(live)}),
        };
        let start = start_at(plan, &state, default_tz, now);
        Some((p.id, state, trigger, start))
    });
    let wanted: Vec<_> = wanted.collect();
    // Their instances of the journey, newest entry first (the re-entry rule).
    let pids: Vec<ProfileId> = wanted.iter().map(|w| w.0).collect();
    let mut existing: HashMap<ProfileId, Vec<InstanceRecord>> = HashMap::new();
    for i in e.store.journey_instances_of(ws, &live.record.id, &pids).await? {
        existing.entry(i.profile_id).or_default().push(i);
    }
    for list in existing.values_mut() {
        list.sort_by(|a, b| (b.entered_at, &b.id).cmp(&(a.entered_at, &a.id)));
    }
    let mut entered = Vec::with_capacity(wanted.len());
    for (pid, state, trigger, start) in wanted {
        let before = existing.get(&pid).map_or(&[][..], Vec::as_slice);
        if let Some((i, t)) =
            prepare_entry_after(e, live, pid, &state, before, &key, trigger, now, Some(start)).await?
        {
            entered.push(Member {
                instance: i,
                trace: t,
                state,
            });
        }
    }
    // Those starting now get the first send in bulk when it allows
    // (super::page); the others wait on their timer.
    let bulk = first_send(&live.journey).is_some() || first_delay(&live.journey).is_some();
    let (now_members, later): (Vec<Member>, Vec<Member>) = match bulk {
        true => entered
            .into_iter()
            .partition(|m| m.instance.wake_at.is_some_and(|w| w <= now)),
        false => (Vec::new(), entered),
    };
    let mut entries: Vec<RunEntry> = later
        .into_iter()
        .map(|m| RunEntry {
            instance: m.instance,
            trace: vec![m.trace],
            messages: vec![],
        })
        .collect();
    let mut sent = None;
    if let Some((step, s)) = first_send(&live.journey).filter(|_| !now_members.is_empty()) {
        let page = page::send(e, live, step, s, now_members, now).await?;
        sent = Some((page.queued, page.locks));
        entries.extend(page.entries);
    } else if let Some((step, wait, next)) = first_delay(&live.journey) {
        entries.extend(page::park(e, step, wait, next, now_members, now));
    }
    run.cursor = ids.last().map_or(run.cursor, |p| p.0);
    if ids.len() < PAGE {
        run.done_at = Some(now);
    }
    let new = e.store.enter_run_page(&entries, &run).await?;
    if let Some((queued, locks)) = sent {
        drop(locks);
        if queued > 0 {
            e.messaging.dispatcher.wake.notify_one();
        }
    }
    metrics::counter!("relais_journey_entries_total").increment(new);
    if run.done_at.is_some() {
        e.journeys.mark_run_done(&live.record, &plan.key);
        tracing::info!(journey = %live.record.id, run = %plan.key, entered = run.entered + new as i64, "journey run walked");
    }
    if new > 0 {
        e.journeys.wake.notify_one();
    }
    debug_assert!(entries
        .iter()
        .all(|e| e.instance.id == instance_id(ws, &live.record.id, e.instance.profile_id, &key)));
    Ok(!ids.is_empty())
}

fn segment_of(live: &Live) -> Option<&str> {
    match &live.journey.trigger {
        Trigger::Schedule(s) => Some(&s.segment),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn sched(at: &str, every: Option<u32>, local: Option<&str>) -> Schedule {
        Schedule {
            segment: "seg_x".into(),
            at: relais_core::time::parse_ms(at).unwrap(),
            every_days: every,
            local_time: local.map(str::to_owned),
        }
    }

    #[test]
    fn one_off_schedule_runs_once_and_goes_stale() {
        let s = sched("2026-12-01T10:00:00Z", None, None);
        assert_eq!(schedule_plan(&s, ms("2026-12-01T09:59:59Z")), None);
        let p = schedule_plan(&s, ms("2026-12-01T10:00:00Z")).unwrap();
        assert_eq!(p.at, Some(ms("2026-12-01T10:00:00Z")));
        assert_eq!(p.key, "schedule:2026-12-01T10:00:00.000Z");
        assert_eq!(schedule_plan(&s, ms("2026-12-02T10:00:00Z")).unwrap().key, p.key);
        assert_eq!(
            schedule_plan(&s, ms("2026-12-03T10:00:01Z")),
            None,
            "two days late: skipped"
        );
    }

    #[test]
    fn recurring_schedule_picks_the_latest_run() {
        let s = sched("2026-12-01T10:00:00Z", Some(7), None);
        let p = schedule_plan(&s, ms("2026-12-16T09:00:00Z")).unwrap();
        assert_eq!(p.at, Some(ms("2026-12-15T10:00:00Z")));
        let p = schedule_plan(&s, ms("2026-12-09T09:00:00Z")).unwrap();
        assert_eq!(p.at, Some(ms("2026-12-08T10:00:00Z")));
        // Between runs, once the last is stale, nothing is due.
        assert_eq!(schedule_plan(&s, ms("2026-12-15T09:00:00Z")), None);
    }

    #[test]
    fn local_time_runs_start_in_the_earliest_zone_and_wait_per_profile() {
        let s = sched("2026-12-01", None, Some("10:00"));
        // 10:00 at UTC+14 is 20:00 UTC the day before.
        assert_eq!(schedule_plan(&s, ms("2026-11-30T19:59:00Z")), None);
        let p = schedule_plan(&s, ms("2026-11-30T20:00:00Z")).unwrap();
        assert_eq!(p.walk_from, ms("2026-11-30T20:00:00Z"));
        let now = ms("2026-11-30T20:00:00Z");
        let paris = ProfileState {
            timezone: Some(relais_core::profile::Stamped {
                value: "Europe/Paris".into(),
                at: 0,
            }),
            ..Default::default()
        };
        assert_eq!(start_at(&p, &paris, "UTC", now), ms("2026-12-01T09:00:00Z"));
        let nobody = ProfileState::default();
        assert_eq!(
            start_at(&p, &nobody, "America/New_York", now),
            ms("2026-12-01T15:00:00Z")
        );
        // Walked late (after Paris' 10:00): Paris starts now.
        let late = ms("2026-12-01T12:00:00Z");
        assert_eq!(start_at(&p, &paris, "UTC", late), late);
    }

    #[test]
    fn date_triggers_match_the_day_with_offset_and_leap_years() {
        let birthday = DateTrigger {
            trait_name: "birthday".into(),
            offset_days: 0,
            yearly: true,
            local_time: "09:00".into(),
        };
        let day: Date = "2027-05-17".parse().unwrap();
        assert!(date_matches(&birthday, &json!("1990-05-17"), day));
        assert!(date_matches(&birthday, &json!("1990-05-17T00:00:00Z"), day));
        assert!(!date_matches(&birthday, &json!("1990-05-18"), day));
        assert!(!date_matches(&birthday, &json!(19900517), day));
        let feb28: Date = "2027-02-28".parse().unwrap();
        assert!(
            date_matches(&birthday, &json!("2000-02-29"), feb28),
            "leap-day birthdays on the 28th"
        );
        let leap_feb28: Date = "2028-02-28".parse().unwrap();
        assert!(!date_matches(&birthday, &json!("2000-02-29"), leap_feb28));
        let renewal = DateTrigger {
            trait_name: "contract_end".into(),
            offset_days: -30,
            yearly: false,
            local_time: "09:00".into(),
        };
        assert!(date_matches(&renewal, &json!("2027-06-16"), day));
        assert!(!date_matches(&renewal, &json!("2028-06-16"), day));
    }

    #[test]
    fn date_plan_is_the_day_whose_time_came_in_the_earliest_zone() {
        let d = DateTrigger {
            trait_name: "birthday".into(),
            offset_days: 0,
            yearly: true,
            local_time: "09:00".into(),
        };
        // 09:00 on 17 May at UTC+14 is 19:00 UTC on 16 May.
        let p = date_plan(&d, ms("2027-05-16T19:00:00Z")).unwrap();
        assert_eq!(p.key, "date:2027-05-17");
        assert_eq!(p.walk_from, ms("2027-05-16T19:00:00Z"));
        assert_eq!(
            date_plan(&d, ms("2027-05-16T18:59:00Z")).unwrap().key,
            "date:2027-05-16"
        );
    }
}
