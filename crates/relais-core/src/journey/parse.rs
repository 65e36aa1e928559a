//! A journey document (JSON; YAML is read into the same value) into a
//! [`Journey`]. Each part is read on its own so an error names where it is:
//! `steps[2] (email).content`, `trigger.where[0].op`.

use super::validate::{validate, Warning};
use super::*;
use crate::condition::{parse as parse_condition, parse_event_filter, ConditionError};
use serde::Deserialize;
use serde_json::Map;

/// The longest wait, delay or window accepted (ten years).
const MAX_SPAN_MS: i64 = 3_650 * 86_400_000;
/// Most steps in one journey.
pub const MAX_STEPS: usize = 200;

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, JourneyError> {
    Err(JourneyError {
        path: path.to_owned(),
        message: message.into(),
    })
}

fn cond_err(path: &str) -> impl Fn(ConditionError) -> JourneyError + '_ {
    move |e| JourneyError {
        path: if e.path.is_empty() {
            path.to_owned()
        } else {
            format!("{path}.{}", e.path)
        },
        message: e.message,
    }
}

/// Reads a part with serde, naming the part on error.
fn read<T: for<'de> Deserialize<'de>>(v: &Value, path: &str) -> Result<T, JourneyError> {
    T::deserialize(v).map_err(|e| JourneyError {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    name: String,
    #[serde(default)]
    description: String,
    trigger: Value,
    #[serde(default)]
    entry: Option<Value>,
    #[serde(default)]
    exit: Option<ExitDoc>,
    #[serde(default)]
    goal: Option<GoalDoc>,
    #[serde(default)]
    reentry: Option<Value>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    transactional: bool,
    #[serde(default)]
    max_duration: Option<Value>,
    #[serde(default)]
    quiet_hours: Option<String>,
    steps: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExitDoc {
    #[serde(default)]
    events: Vec<Value>,
    #[serde(default)]
    condition: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GoalDoc {
    event: String,
    #[serde(default, rename = "where")]
    filters: Option<Value>,
    within: Value,
}

/// `{"days": 1, "hours": 4, "minutes": 30, "seconds": 10}` (any of them).
pub fn duration(v: &Value, path: &str) -> Result<i64, JourneyError> {
    let Some(o) = v.as_object().filter(|o| !o.is_empty()) else {
        return err(path, "expected a duration such as {\"hours\": 4}");
    };
    let mut ms: i64 = 0;
    for (k, n) in o {
        let unit = match k.as_str() {
            "days" => 86_400_000,
            "hours" => 3_600_000,
            "minutes" => 60_000,
            "seconds" => 1_000,
            _ => {
                return err(
                    &format!("{path}.{k}"),
                    "unknown unit; use days, hours, minutes or seconds",
                )
            }
        };
        let Some(n) = n.as_f64().filter(|n| n.is_finite() && *n >= 0.0) else {
            return err(&format!("{path}.{k}"), "must be a number >= 0");
        };
        ms = ms.saturating_add((n * unit as f64) as i64);
    }
    if ms <= 0 || ms > MAX_SPAN_MS {
        return err(path, "must be more than 0 and at most 3650 days");
    }
    Ok(ms)
}

/// A signed duration (`{"days": -30}` for "30 days before").
fn offset(v: Option<&Value>, path: &str) -> Result<i64, JourneyError> {
    let Some(v) = v else { return Ok(0) };
    let neg = v
        .as_object()
        .is_some_and(|o| o.values().any(|n| n.as_f64().is_some_and(|n| n < 0.0)));
    if !neg {
        return duration(v, path);
    }
    let abs: Map<String, Value> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, n)| (k.clone(), Value::from(n.as_f64().unwrap_or(0.0).abs())))
        .collect();
    Ok(-duration(&Value::Object(abs), path)?)
}

fn event_filter(name: &str, filters: Option<&Value>, path: &str) -> Result<EventSpec, JourneyError> {
    let mut o = Map::new();
    o.insert("event".into(), Value::from(name));
    if let Some(f) = filters {
        o.insert("where".into(), f.clone());
    }
    parse_event_filter(&Value::Object(o), "").map_err(cond_err(path))
}

/// Parses and validates a journey document. Warnings (an event name never
/// seen, …) do not refuse it; the engine reports them.
pub fn parse(v: &Value) -> Result<(Journey, Vec<Warning>), JourneyError> {
    let doc: Doc = read(v, "(root)")?;
    if doc.name.trim().is_empty() || doc.name.len() > 200 {
        return err("name", "must be a non-empty string of at most 200 characters");
    }
    if doc.steps.is_empty() {
        return err("steps", "a journey needs at least one step");
    }
    if doc.steps.len() > MAX_STEPS {
        return err("steps", format!("at most {MAX_STEPS} steps"));
    }
    let trigger = trigger(&doc.trigger)?;
    let entry = match &doc.entry {
        Some(c) => Some(parse_condition(c).map_err(cond_err("entry"))?),
        None => None,
    };
    let (exit_events, exit_condition) = match &doc.exit {
        Some(x) => {
            let mut evs = Vec::new();
            for (i, e) in x.events.iter().enumerate() {
                evs.push(parse_event_filter(e, "").map_err(cond_err(&format!("exit.events[{i}]")))?);
            }
            let c = match &x.condition {
                Some(c) => Some(parse_condition(c).map_err(cond_err("exit.condition"))?),
                None => None,
            };
            (evs, c)
        }
        None => (Vec::new(), None),
    };
    let goal = match &doc.goal {
        Some(g) => Some(Goal {
            event: event_filter(&g.event, g.filters.as_ref(), "goal")?,
            within_ms: duration(&g.within, "goal.within")?,
        }),
        None => None,
    };
    let reentry = match &doc.reentry {
        None => Reentry::Never,
        Some(Value::String(s)) if s == "never" => Reentry::Never,
        Some(Value::String(s)) if s == "always" => Reentry::Always,
        Some(Value::Object(o)) if o.len() == 1 && o.contains_key("after") => {
            Reentry::After(duration(&o["after"], "reentry.after")?)
        }
        Some(_) => {
            return err(
                "reentry",
                "must be \"never\", \"always\" or {\"after\": {\"days\": 30}}",
            )
        }
    };
    let max_duration_ms = match &doc.max_duration {
        Some(d) => Some(duration(d, "max_duration")?),
        None => None,
    };
    let quiet_hours = match doc.quiet_hours.as_deref() {
        None | Some("defer") => QuietHoursBehaviour::Defer,
        Some("drop") => QuietHoursBehaviour::Drop,
        Some(other) => return err("quiet_hours", format!("{other:?}: use \"defer\" or \"drop\"")),
    };
    let mut steps = Vec::with_capacity(doc.steps.len());
    let ids: Vec<Option<&str>> = doc
        .steps
        .iter()
        .map(|s| s.get("id").and_then(Value::as_str))
        .collect();
    for (i, raw) in doc.steps.iter().enumerate() {
        let id = ids[i].unwrap_or("");
        let path = format!("steps[{i}] ({id})");
        let fallthrough = ids.get(i + 1).copied().flatten().unwrap_or(EXIT);
        steps.push(step(raw, &path, fallthrough)?);
    }
    let journey = Journey {
        name: doc.name,
        description: doc.description,
        trigger,
        entry,
        exit_events,
        exit_condition,
        goal,
        reentry,
        priority: doc.priority,
        transactional: doc.transactional,
        max_duration_ms,
        quiet_hours,
        steps,
        source: v.clone(),
    };
    let warnings = validate(&journey)?;
    Ok((journey, warnings))
}

fn trigger(v: &Value) -> Result<Trigger, JourneyError> {
    let Some(o) = v.as_object() else {
        return err("trigger", "expected an object: {\"event\": …}, {\"segment_entered\": …}, {\"segment_exited\": …}, {\"api\": true}, {\"schedule\": …} or {\"date\": …}");
    };
    let keys = |allowed: &[&str]| -> Result<(), JourneyError> {
        match o.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => err(
                &format!("trigger.{k}"),
                format!("unknown key; allowed here: {}", allowed.join(", ")),
            ),
            None => Ok(()),
        }
    };
    if let Some(name) = o.get("event") {
        keys(&["event", "where"])?;
        let name = name.as_str().filter(|s| !s.is_empty());
        let Some(name) = name else {
            return err("trigger.event", "must be an event name");
        };
        return Ok(Trigger::Event(event_filter(name, o.get("where"), "trigger")?));
    }
    for (key, exited) in [("segment_entered", false), ("segment_exited", true)] {
        if let Some(s) = o.get(key) {
            keys(&[key])?;
            let Some(segment) = s.as_str().filter(|s| s.starts_with("seg_")) else {
                return err(&format!("trigger.{key}"), "must be a segment id (seg_…)");
            };
            return Ok(Trigger::Segment {
                segment: segment.to_owned(),
                exited,
            });
        }
    }
    if o.get("api") == Some(&Value::Bool(true)) {
        keys(&["api"])?;
        return Ok(Trigger::Api);
    }
    if let Some(s) = o.get("schedule") {
        keys(&["schedule"])?;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct S {
            segment: String,
            at: String,
            #[serde(default)]
            every_days: Option<u32>,
            #[serde(default)]
            local_time: Option<String>,
        }
        let s: S = read(s, "trigger.schedule")?;
        let Some(at) = crate::time::parse_ms(&s.at) else {
            return err("trigger.schedule.at", "must be an RFC 3339 time or a date");
        };
        if let Some(t) = &s.local_time {
            check_hm(t, "trigger.schedule.local_time")?;
        }
        if s.every_days == Some(0) {
            return err("trigger.schedule.every_days", "must be at least 1");
        }
        return Ok(Trigger::Schedule(Schedule {
            segment: s.segment,
            at,
            every_days: s.every_days,
            local_time: s.local_time,
        }));
    }
    if let Some(d) = o.get("date") {
        keys(&["date"])?;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct D {
            #[serde(rename = "trait")]
            trait_name: String,
            #[serde(default)]
            offset_days: i32,
            #[serde(default)]
            yearly: bool,
            #[serde(default = "nine")]
            local_time: String,
        }
        fn nine() -> String {
            "09:00".into()
        }
        let d: D = read(d, "trigger.date")?;
        check_hm(&d.local_time, "trigger.date.local_time")?;
        return Ok(Trigger::Date(DateTrigger {
            trait_name: d.trait_name,
            offset_days: d.offset_days,
            yearly: d.yearly,
            local_time: d.local_time,
        }));
    }
    err(
        "trigger",
        "one of event, segment_entered, segment_exited, api, schedule or date is needed",
    )
}

/// `HH:MM`, 00:00 to 23:59.
pub fn check_hm(s: &str, path: &str) -> Result<(i8, i8), JourneyError> {
    let parsed = s.split_once(':').and_then(|(h, m)| {
        let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
        ((0..24).contains(&h) && (0..60).contains(&m) && s.len() == 5).then_some((h, m))
    });
    parsed.ok_or_else(|| JourneyError {
        path: path.to_owned(),
        message: format!("{s:?} is not a time of day HH:MM"),
    })
}

fn next_of(o: &Map<String, Value>, key: &str, path: &str, fallthrough: &str) -> Result<String, JourneyError> {
    match o.get(key) {
        None => Ok(fallthrough.to_owned()),
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => err(&format!("{path}.{key}"), "must be a step id (or \"exit\")"),
    }
}

fn required_next(o: &Map<String, Value>, key: &str, path: &str) -> Result<String, JourneyError> {
    match o.get(key) {
        None => err(
            &format!("{path}.{key}"),
            format!("missing \"{key}\": the step to go to"),
        ),
        Some(_) => next_of(o, key, path, EXIT),
    }
}

fn step(raw: &Value, path: &str, fallthrough: &str) -> Result<Step, JourneyError> {
    let Some(o) = raw.as_object() else {
        return err(path, "expected an object with id and type");
    };
    let id = match o.get("id").and_then(Value::as_str) {
        Some(id) if valid_id(id) => id.to_owned(),
        _ => {
            return err(
                &format!("{path}.id"),
                "missing or invalid: letters, digits, _ and -, at most 64, not \"exit\"",
            )
        }
    };
    let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
    let allowed: &[&str] = match ty {
        "send" => &["channel", "channels", "best", "content", "campaign", "offer", "coupon_pool", "next"],
        "delay" => &["for", "until", "next"],
        "wait_for_event" => &["event", "where", "correlate", "timeout", "on_event", "on_timeout"],
        "condition" => &["if", "then", "else"],
        "experiment" => &["variants"],
        "holdout" => &["percent", "next"],
        "update_profile" => &["traits", "consent", "next"],
        "webhook" | "task" => &["content", "next"],
        "exit" => &[],
        other => {
            return err(
                &format!("{path}.type"),
                format!("{other:?}: use send, delay, wait_for_event, condition, experiment, holdout, update_profile, webhook, task or exit"),
            )
        }
    };
    if let Some(k) = o.keys().find(|k| {
        !["id", "type", "max_visits", "on_max"].contains(&k.as_str()) && !allowed.contains(&k.as_str())
    }) {
        return err(
            &format!("{path}.{k}"),
            format!("unknown key for a {ty} step; allowed: {}", allowed.join(", ")),
        );
    }
    let next = || next_of(o, "next", path, fallthrough);
    let kind = match ty {
        "send" => StepKind::Send(send(o, path, next()?)?),
        "delay" => StepKind::Delay {
            wait: delay(o, path)?,
            next: next()?,
        },
        "wait_for_event" => StepKind::WaitForEvent(wait(o, path, fallthrough)?),
        "condition" => StepKind::Condition {
            test: parse_condition(o.get("if").unwrap_or(&Value::Null))
                .map_err(cond_err(&format!("{path}.if")))?,
            then: required_next(o, "then", path)?,
            otherwise: required_next(o, "else", path)?,
        },
        "experiment" => StepKind::Experiment {
            variants: variants(o, path)?,
        },
        "holdout" => {
            let p = o.get("percent").and_then(Value::as_f64);
            let Some(percent) = p.filter(|p| (0.0..=50.0).contains(p)) else {
                return err(&format!("{path}.percent"), "must be a number from 0 to 50");
            };
            StepKind::Holdout {
                percent,
                next: next()?,
            }
        }
        "update_profile" => {
            let traits = match o.get("traits") {
                None => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(_) => return err(&format!("{path}.traits"), "must be an object of traits"),
            };
            let mut consent = Vec::new();
            if let Some(c) = o.get("consent") {
                let Some(m) = c.as_object() else {
                    return err(&format!("{path}.consent"), "must be {\"sms\": \"subscribed\", …}");
                };
                for (ch, st) in m {
                    match st.as_str() {
                        Some(s @ ("subscribed" | "unsubscribed")) => consent.push((ch.clone(), s.to_owned())),
                        _ => {
                            return err(
                                &format!("{path}.consent.{ch}"),
                                "must be \"subscribed\" or \"unsubscribed\"",
                            )
                        }
                    }
                }
            }
            if traits.is_empty() && consent.is_empty() {
                return err(path, "an update_profile step needs traits or consent");
            }
            StepKind::UpdateProfile {
                traits,
                consent,
                next: next()?,
            }
        }
        "webhook" | "task" => {
            let Some(content) = o.get("content").filter(|c| c.is_object()).cloned() else {
                return err(
                    &format!("{path}.content"),
                    format!("a {ty} step needs content (an object)"),
                );
            };
            if ty == "webhook" {
                store_response::check_content(&content, &format!("{path}.content"))?;
                StepKind::Webhook {
                    content,
                    next: next()?,
                }
            } else {
                StepKind::Task {
                    content,
                    next: next()?,
                }
            }
        }
        _ => StepKind::Exit,
    };
    let max_visits = match o.get("max_visits") {
        None => None,
        Some(v) => match v.as_u64().filter(|n| (1..=1000).contains(n)) {
            Some(n) => Some(n as u32),
            None => {
                return err(
                    &format!("{path}.max_visits"),
                    "must be a whole number from 1 to 1000",
                )
            }
        },
    };
    if o.contains_key("on_max") && max_visits.is_none() {
        return err(&format!("{path}.on_max"), "on_max needs max_visits");
    }
    let on_max = next_of(o, "on_max", path, EXIT)?;
    Ok(Step {
        id,
        kind,
        max_visits,
        on_max,
    })
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id != EXIT
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The channels a send may use (`best` is a ranking, not a channel).
pub const CHANNELS: [&str; 8] = [
    "email",
    "sms",
    "push",
    "in_app",
    "whatsapp",
    "webhook",
    "direct_mail",
    "task",
];

fn send(o: &Map<String, Value>, path: &str, next: String) -> Result<Send, JourneyError> {
    let mut channels: Vec<String> = match (o.get("channel"), o.get("channels")) {
        (Some(_), Some(_)) => return err(path, "use either channel or channels, not both"),
        (Some(c), None) => vec![read(c, &format!("{path}.channel"))?],
        (None, Some(cs)) => read(cs, &format!("{path}.channels"))?,
        (None, None) => return err(path, "a send step needs channel or channels"),
    };
    let best = o.get("best").and_then(Value::as_bool).unwrap_or(false);
    if channels.is_empty() {
        return err(&format!("{path}.channels"), "name at least one channel");
    }
    channels.dedup();
    for c in &channels {
        if !CHANNELS.contains(&c.as_str()) {
            return err(
                &format!("{path}.channels"),
                format!("{c:?} is not one of {}", CHANNELS.join(", ")),
            );
        }
    }
    let content = match o.get("content") {
        Some(Value::Object(m)) => m.clone(),
        _ => {
            return err(
                &format!("{path}.content"),
                "must be an object with the content of each channel",
            )
        }
    };
    for c in &channels {
        if !content.get(c).is_some_and(Value::is_object) {
            return err(
                &format!("{path}.content.{c}"),
                format!("missing template for channel {c}"),
            );
        }
    }
    if let Some(webhook) = content.get("webhook") {
        store_response::check_content(webhook, &format!("{path}.content.webhook"))?;
    }
    if let Some(k) = content.keys().find(|k| !channels.contains(k)) {
        return err(
            &format!("{path}.content.{k}"),
            "content for a channel the step does not use",
        );
    }
    let offer = match o.get("offer") {
        None => None,
        Some(v) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct O {
                group: String,
                id: String,
                valid: Value,
            }
            let of: O = read(v, &format!("{path}.offer"))?;
            if of.group.is_empty() || of.id.is_empty() {
                return err(&format!("{path}.offer"), "group and id must not be empty");
            }
            Some(Offer {
                group: of.group,
                id: of.id,
                valid_ms: duration(&of.valid, &format!("{path}.offer.valid"))?,
            })
        }
    };
    let str_opt = |k: &str| -> Result<Option<String>, JourneyError> {
        match o.get(k) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => err(&format!("{path}.{k}"), "must be a non-empty string"),
        }
    };
    Ok(Send {
        channels,
        best,
        content,
        campaign: str_opt("campaign")?,
        offer,
        coupon_pool: str_opt("coupon_pool")?,
        next,
    })
}

fn delay(o: &Map<String, Value>, path: &str) -> Result<Delay, JourneyError> {
    match (o.get("for"), o.get("until")) {
        (Some(d), None) => Ok(Delay::For(duration(d, &format!("{path}.for"))?)),
        (None, Some(Value::Object(u))) => {
            let at = format!("{path}.until");
            if let Some(t) = u.get("time") {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct U {
                    time: String,
                    #[serde(default)]
                    weekdays: Vec<i8>,
                }
                let u: U = read(&Value::Object(u.clone()), &at)?;
                check_hm(t.as_str().unwrap_or(""), &format!("{at}.time"))?;
                if u.weekdays.iter().any(|d| !(1..=7).contains(d)) {
                    return err(&format!("{at}.weekdays"), "days are 1 (Monday) to 7 (Sunday)");
                }
                return Ok(Delay::Until {
                    time: u.time,
                    weekdays: u.weekdays,
                });
            }
            let source = match (u.get("trait"), u.get("trigger")) {
                (Some(Value::String(t)), None) => DateSource::Trait(t.clone()),
                (None, Some(Value::String(t))) => DateSource::Trigger(t.clone()),
                _ => {
                    return err(
                        &at,
                        "one of {\"time\": \"09:00\"}, {\"trait\": name} or {\"trigger\": property} (with an optional offset)",
                    )
                }
            };
            if let Some(k) = u
                .keys()
                .find(|k| !["trait", "trigger", "offset"].contains(&k.as_str()))
            {
                return err(
                    &format!("{at}.{k}"),
                    "unknown key; allowed: trait, trigger, offset",
                );
            }
            Ok(Delay::UntilDate {
                source,
                offset_ms: offset(u.get("offset"), &format!("{at}.offset"))?,
            })
        }
        _ => err(path, "a delay needs either for (a duration) or until (an object)"),
    }
}

fn wait(o: &Map<String, Value>, path: &str, fallthrough: &str) -> Result<WaitForEvent, JourneyError> {
    let Some(name) = o.get("event").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return err(&format!("{path}.event"), "must be the event name to wait for");
    };
    let event = event_filter(name, o.get("where"), path)?;
    let correlate = match o.get("correlate") {
        None => None,
        Some(Value::String(p)) => Some(Correlate {
            property: p.clone(),
            with: CorrelateWith::Trigger(p.clone()),
        }),
        Some(Value::Object(c)) => {
            let at = format!("{path}.correlate");
            let property = match c.get("property").and_then(Value::as_str) {
                Some(p) if !p.is_empty() => p.to_owned(),
                _ => return err(&format!("{at}.property"), "must be the waited event's property"),
            };
            let with = match (c.get("trigger"), c.get("message_of")) {
                (Some(Value::String(t)), None) => CorrelateWith::Trigger(t.clone()),
                (None, Some(Value::String(s))) => CorrelateWith::MessageOf(s.clone()),
                (None, None) => CorrelateWith::Trigger(property.clone()),
                _ => {
                    return err(
                        &at,
                        "use one of trigger (a trigger property) or message_of (a send step)",
                    )
                }
            };
            if let Some(k) = c
                .keys()
                .find(|k| !["property", "trigger", "message_of"].contains(&k.as_str()))
            {
                return err(
                    &format!("{at}.{k}"),
                    "unknown key; allowed: property, trigger, message_of",
                );
            }
            Some(Correlate { property, with })
        }
        Some(_) => {
            return err(
                &format!("{path}.correlate"),
                "a property name, or {\"property\": …, \"trigger\" | \"message_of\": …}",
            )
        }
    };
    let Some(t) = o.get("timeout") else {
        return err(&format!("{path}.timeout"), "a wait needs a timeout (a duration)");
    };
    Ok(WaitForEvent {
        event,
        correlate,
        timeout_ms: duration(t, &format!("{path}.timeout"))?,
        on_event: next_of(o, "on_event", path, fallthrough)?,
        on_timeout: required_next(o, "on_timeout", path)?,
    })
}

fn variants(o: &Map<String, Value>, path: &str) -> Result<Vec<Variant>, JourneyError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct V {
        name: String,
        weight: u32,
        next: String,
    }
    let at = format!("{path}.variants");
    let vs: Vec<V> = read(o.get("variants").unwrap_or(&Value::Null), &at)?;
    if vs.len() < 2 {
        return err(&at, "an experiment needs at least two variants");
    }
    if vs.iter().map(|v| v.weight as u64).sum::<u64>() == 0 {
        return err(&at, "weights must not all be 0");
    }
    Ok(vs
        .into_iter()
        .map(|v| Variant {
            name: v.name,
            weight: v.weight,
            next: v.next,
        })
        .collect())
}
