//! Journey definitions (docs/journeys.md): a document in, a validated graph
//! out. What the engine does with it lives in `relais-engine::journeys`;
//! this module only knows what a journey *is* — its trigger, its settings
//! and its steps — and refuses documents that cannot run.
//!
//! Steps form a list; each names the step that follows (`next`, or the
//! branches of a wait, split or experiment). A step without `next` goes to
//! the one after it in the list; the last one exits.

pub mod parse;
pub mod store_response;
mod validate;

pub use parse::parse;
pub use store_response::StoreResponse;
pub use validate::{unknown_event_warnings, Warning};

use crate::condition::{Condition, EventSpec};
use serde_json::Value;

/// A journey that validated.
#[derive(Debug, Clone)]
pub struct Journey {
    pub name: String,
    pub description: String,
    pub trigger: Trigger,
    /// Who may enter (checked at entry).
    pub entry: Option<Condition>,
    /// Leave at once on any of these events.
    pub exit_events: Vec<EventSpec>,
    /// Leave when this holds (checked on every event and before every send).
    pub exit_condition: Option<Condition>,
    pub goal: Option<Goal>,
    pub reentry: Reentry,
    /// Higher first when several journeys react to one event.
    pub priority: i32,
    /// Transactional journeys skip consent, caps, quiet hours and the
    /// control group (never suppression).
    pub transactional: bool,
    /// Leave after this long in the journey.
    pub max_duration_ms: Option<i64>,
    pub quiet_hours: QuietHoursBehaviour,
    pub steps: Vec<Step>,
    /// The canonical JSON the journey was parsed from.
    pub source: Value,
}

#[derive(Debug, Clone)]
pub enum Trigger {
    /// An event, with `where` filters.
    Event(EventSpec),
    /// Entering (or leaving, `exited`) a segment, by id (`seg_…`).
    Segment { segment: String, exited: bool },
    /// Only `POST /api/v1/journeys/{id}/trigger`.
    Api,
    /// Every member of a segment, once at `at` or every `every_days` days at
    /// `local_time` (in each profile's time zone when `local`).
    Schedule(Schedule),
    /// A date trait (`birthday`, `contract_end`): `offset_days` before or
    /// after it, at `local_time`, every year when `yearly`.
    Date(DateTrigger),
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub segment: String,
    /// First run, unix ms.
    pub at: i64,
    /// Repeat every N days (`None`: once).
    pub every_days: Option<u32>,
    /// Send at the same local time in each profile's time zone.
    pub local_time: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DateTrigger {
    pub trait_name: String,
    pub offset_days: i32,
    pub yearly: bool,
    pub local_time: String,
}

#[derive(Debug, Clone)]
pub struct Goal {
    pub event: EventSpec,
    pub within_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reentry {
    Never,
    Always,
    /// After this long since the last entry.
    After(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuietHoursBehaviour {
    Defer,
    Drop,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    /// After this many passes through the step (a reminder loop), go to
    /// `on_max` instead of running it again.
    pub max_visits: Option<u32>,
    pub on_max: String,
}

impl Step {
    /// Where the step can lead, `on_max` included.
    pub fn successors(&self) -> Vec<&str> {
        let mut out = self.kind.successors();
        if self.max_visits.is_some() {
            out.push(&self.on_max);
        }
        out
    }
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Send(Send),
    Delay {
        wait: Delay,
        next: String,
    },
    WaitForEvent(WaitForEvent),
    Condition {
        test: Condition,
        then: String,
        otherwise: String,
    },
    Experiment {
        variants: Vec<Variant>,
    },
    /// `percent` of entrants (sticky) leave here, kept as the journey's
    /// control; the others go on.
    Holdout {
        percent: f64,
        next: String,
    },
    UpdateProfile {
        traits: serde_json::Map<String, Value>,
        consent: Vec<(String, String)>,
        next: String,
    },
    /// A signed webhook through the webhook channel.
    Webhook {
        content: Value,
        next: String,
    },
    /// A task for a person through the task channel.
    Task {
        content: Value,
        next: String,
    },
    Exit,
}

#[derive(Debug, Clone)]
pub struct Send {
    /// Tried in order; the first that passes governance is used.
    pub channels: Vec<String>,
    /// Rank `channels` by the profile's measured affinity first.
    pub best: bool,
    /// Content per channel (`{"email": {...}, "sms": {...}}`).
    pub content: serde_json::Map<String, Value>,
    pub campaign: Option<String>,
    pub offer: Option<Offer>,
    /// A coupon pool: a unique code, as `coupon` in the templates.
    pub coupon_pool: Option<String>,
    pub next: String,
}

#[derive(Debug, Clone)]
pub struct Offer {
    pub group: String,
    pub id: String,
    pub valid_ms: i64,
}

#[derive(Debug, Clone)]
pub enum Delay {
    For(i64),
    /// The next instant at this local time (HH:MM), on one of `weekdays`
    /// (1 = Monday … 7 = Sunday; empty: any day).
    Until {
        time: String,
        weekdays: Vec<i8>,
    },
    /// A date in a trait or a trigger property, plus an offset.
    UntilDate {
        source: DateSource,
        offset_ms: i64,
    },
}

#[derive(Debug, Clone)]
pub enum DateSource {
    Trait(String),
    Trigger(String),
}

#[derive(Debug, Clone)]
pub struct WaitForEvent {
    pub event: EventSpec,
    pub correlate: Option<Correlate>,
    pub timeout_ms: i64,
    pub on_event: String,
    pub on_timeout: String,
}

/// The waited-for event must carry, at `property`, the same value as …
#[derive(Debug, Clone)]
pub struct Correlate {
    pub property: String,
    pub with: CorrelateWith,
}

#[derive(Debug, Clone)]
pub enum CorrelateWith {
    /// … the trigger event's property of that name.
    Trigger(String),
    /// … the id of the message an earlier send step sent.
    MessageOf(String),
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub weight: u32,
    pub next: String,
}

/// A step id that ends the journey (`next: exit`).
pub const EXIT: &str = "exit";

impl Journey {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn first(&self) -> &str {
        self.steps.first().map_or(EXIT, |s| s.id.as_str())
    }

    /// Every event name the journey reacts to (trigger, waits, exit, goal):
    /// the processor feeds exactly these to the journey runner.
    pub fn event_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        match &self.trigger {
            Trigger::Event(s) => out.push(s.event().to_owned()),
            Trigger::Segment { exited, .. } => out.push(
                if *exited {
                    "Segment Exited"
                } else {
                    "Segment Entered"
                }
                .to_owned(),
            ),
            _ => {}
        }
        out.extend(self.exit_events.iter().map(|s| s.event().to_owned()));
        out.extend(self.goal.iter().map(|g| g.event.event().to_owned()));
        for s in &self.steps {
            if let StepKind::WaitForEvent(w) = &s.kind {
                out.push(w.event.event().to_owned());
            }
        }
        if let Some(c) = &self.exit_condition {
            // A condition's events can change it: look at them too.
            out.extend(c.dependencies().events);
            if !c.dependencies().segments.is_empty() {
                out.push("Segment Entered".into());
                out.push("Segment Exited".into());
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Every event name the journey's document names, with where (`trigger`,
    /// `entry`, `exit.events[0]`, `exit.condition`, `goal`, `steps[2] (wait)`,
    /// `steps[3] (check).if`), in document order: for "never seen" warnings.
    pub fn event_uses(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let condition = |path: String, c: &Condition, out: &mut Vec<(String, String)>| {
            out.extend(c.dependencies().events.into_iter().map(|n| (path.clone(), n)));
        };
        if let Trigger::Event(s) = &self.trigger {
            out.push(("trigger".into(), s.event().to_owned()));
        }
        if let Some(c) = &self.entry {
            condition("entry".into(), c, &mut out);
        }
        for (i, e) in self.exit_events.iter().enumerate() {
            out.push((format!("exit.events[{i}]"), e.event().to_owned()));
        }
        if let Some(c) = &self.exit_condition {
            condition("exit.condition".into(), c, &mut out);
        }
        if let Some(g) = &self.goal {
            out.push(("goal".into(), g.event.event().to_owned()));
        }
        for (i, s) in self.steps.iter().enumerate() {
            match &s.kind {
                StepKind::WaitForEvent(w) => {
                    out.push((format!("steps[{i}] ({})", s.id), w.event.event().to_owned()))
                }
                StepKind::Condition { test, .. } => {
                    condition(format!("steps[{i}] ({}).if", s.id), test, &mut out)
                }
                _ => {}
            }
        }
        out
    }
}

impl StepKind {
    /// The steps this one can go to.
    pub fn successors(&self) -> Vec<&str> {
        match self {
            StepKind::Send(s) => vec![&s.next],
            StepKind::Delay { next, .. }
            | StepKind::Holdout { next, .. }
            | StepKind::UpdateProfile { next, .. }
            | StepKind::Webhook { next, .. }
            | StepKind::Task { next, .. } => vec![next],
            StepKind::WaitForEvent(w) => vec![&w.on_event, &w.on_timeout],
            StepKind::Condition { then, otherwise, .. } => vec![then, otherwise],
            StepKind::Experiment { variants } => variants.iter().map(|v| v.next.as_str()).collect(),
            StepKind::Exit => vec![],
        }
    }

    /// Whether the step makes the profile wait (a cycle needs one).
    pub fn waits(&self) -> bool {
        matches!(self, StepKind::Delay { .. } | StepKind::WaitForEvent(_))
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            StepKind::Send(_) => "send",
            StepKind::Delay { .. } => "delay",
            StepKind::WaitForEvent(_) => "wait_for_event",
            StepKind::Condition { .. } => "condition",
            StepKind::Experiment { .. } => "experiment",
            StepKind::Holdout { .. } => "holdout",
            StepKind::UpdateProfile { .. } => "update_profile",
            StepKind::Webhook { .. } => "webhook",
            StepKind::Task { .. } => "task",
            StepKind::Exit => "exit",
        }
    }
}

/// A definition that does not validate: where (`steps[2] (email).content`)
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourneyError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for JourneyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "journey at {}: {}", self.path, self.message)
    }
}

impl From<JourneyError> for crate::Error {
    fn from(e: JourneyError) -> Self {
        crate::Error::new(crate::ErrorCode::InvalidJourney, e.to_string())
    }
}
