//! The condition language of real-time segments (and later journey splits,
//! exit criteria and filters): JSON in, a validated tree out.
//!
//! Two evaluators must agree on every profile at every instant:
//! [`evaluate_reference`] recomputes from the profile's full event list, and
//! [`evaluate`] reads the small per-profile [`AggState`]s that the processor
//! keeps up to date event by event (one per [`EventSpec`] of the condition).
//! The differential test (`tests/differential.rs`) holds them to that. The grammar
//! and its semantics are documented in `docs/conditions.md`.

mod agg;
mod canon;
pub mod commerce;
mod computed_def;
mod dates;
mod eval;
mod leaf;
mod num;
mod ops;
mod parse;
mod parse_op;
mod path;
mod reference;
mod spec;

#[cfg(test)]
mod tests;

pub use commerce::{CommerceCond, CommerceTest, ProductRef};
pub use computed_def::{parse_computed, ComputedDef};
pub use eval::evaluate;
pub use parse::{parse, parse_event_filter};
pub use reference::evaluate_reference;
pub use spec::{AggState, EventSpec};

use crate::profile::{ConsentStatus, ProfileState};
use crate::SegmentId;
use ops::Test;
use path::Path;
use std::collections::BTreeSet;
use std::fmt;

/// Deepest nesting of `and`/`or`/`not` accepted.
pub const MAX_DEPTH: usize = 32;
/// Most nodes (conditions and `where` filters) in one condition.
pub const MAX_NODES: usize = 500;
/// Most items in the value of an `in` test.
pub const MAX_IN_ITEMS: usize = 10_000;
/// Most occurrences kept per rolling-window spec (the newest are kept).
pub const MAX_ROLLING_OCCURRENCES: usize = 10_000;
/// Most values kept by a `distinct` computed trait (the smallest in canonical JSON order).
pub const MAX_DISTINCT_VALUES: usize = 1_000;

/// A validated condition. Serialises to its canonical JSON form, which
/// [`parse`] reads back to an equal condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub(crate) root: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Trait { path: Path, test: Test },
    Computed { name: String, test: Test },
    Event(Box<EventCond>),
    Consent { channel: String, status: ConsentStatus },
    Reachable { channel: String },
    InSegment(SegmentId),
    Bucket { salt: String, from: u8, to: u8 },
    Commerce(Box<CommerceCond>),
}

/// "Performed `spec`" plus what is measured on the matching occurrences.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventCond {
    pub spec: EventSpec,
    pub measure: Measure,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Measure {
    Count(Test),
    /// The property is the spec's `Keep::Numbers` path.
    Aggregate {
        func: AggFn,
        test: Test,
    },
    First(Test),
    Last(Test),
    /// The spec of the event that must not have followed (window: ever).
    NotFollowedBy(EventSpec),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggFn {
    Sum,
    Avg,
    Min,
    Max,
}

impl AggFn {
    pub(crate) const NAMES: [&'static str; 4] = ["sum", "avg", "min", "max"];
    pub(crate) fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
    pub(crate) fn parse(s: &str) -> Option<AggFn> {
        [AggFn::Sum, AggFn::Avg, AggFn::Min, AggFn::Max]
            .into_iter()
            .find(|f| f.name() == s)
    }
}

/// What a condition reads, so the engine knows which changes re-evaluate it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependencies {
    pub events: BTreeSet<String>,
    /// Top-level trait names (`address` for `address.city`).
    pub traits: BTreeSet<String>,
    pub computed: BTreeSet<String>,
    /// Reads consent (`consent` or `reachable`).
    pub consent: bool,
    pub segments: BTreeSet<SegmentId>,
    /// Asks about the catalog, shops or stock (a commerce condition):
    /// changes outside the profile's events, so segments refuse it.
    pub commerce: bool,
    /// May change with time alone (rolling windows, relative date tests,
    /// computed traits, which may be `DaysSince`).
    pub time: bool,
}

/// One of the profile's events as the evaluators see it.
#[derive(Debug, Clone, Copy)]
pub struct HistEvent<'a> {
    pub name: &'a str,
    pub timestamp: i64,
    /// Touchpoint channel (`web`, `app`, `store`, `call_centre`, `email`, …).
    pub channel: &'a str,
    pub properties: &'a serde_json::Value,
}

/// Everything about a profile besides its events.
pub struct Facts<'a> {
    pub profile_id: i64,
    /// Traits (`null` = absent) and the consent map.
    pub state: &'a ProfileState,
    pub computed: &'a dyn Fn(&str) -> Option<crate::computed::Computed>,
    pub in_segment: &'a dyn Fn(SegmentId) -> bool,
    pub has_address: &'a dyn Fn(&str) -> bool,
    /// Answers commerce conditions (journeys); `None`: they do not hold
    /// (segments refuse them, see [`Dependencies::commerce`]).
    pub commerce: Option<&'a dyn Fn(&CommerceCond) -> bool>,
    pub now: i64,
}

/// The result of [`evaluate`]: `matched` holds for every instant in
/// `[now, next_check)` unless an event or a state change comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub matched: bool,
    /// The earliest instant after `now` at which `matched` may change with
    /// time alone (`None`: never).
    pub next_check: Option<i64>,
}

/// A condition that does not validate: where (`and[1].where[0].op`; empty
/// for the top level) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    pub path: String,
    pub message: String,
}

impl ConditionError {
    pub(crate) fn new(path: &str, message: impl Into<String>) -> Self {
        ConditionError {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(root)"
        } else {
            &self.path
        };
        write!(f, "at {path}: {}", self.message)
    }
}

impl std::error::Error for ConditionError {}

impl From<ConditionError> for crate::Error {
    fn from(e: ConditionError) -> Self {
        crate::Error::new(crate::ErrorCode::InvalidCondition, e.to_string())
    }
}

impl Condition {
    /// The commerce questions it asks, in order.
    pub fn commerce(&self) -> Vec<&CommerceCond> {
        let mut out = Vec::new();
        self.root.walk(&mut |n| {
            if let Node::Commerce(c) = n {
                out.push(&**c);
            }
        });
        out
    }

    /// The aggregate specs the incremental evaluator reads, each once.
    pub fn specs(&self) -> Vec<EventSpec> {
        let mut out: Vec<EventSpec> = Vec::new();
        let mut push = |s: &EventSpec| {
            if !out.iter().any(|o| o.key() == s.key()) {
                out.push(s.clone());
            }
        };
        self.root.walk(&mut |n| {
            if let Node::Event(ev) = n {
                push(&ev.spec);
                if let Measure::NotFollowedBy(f) = &ev.measure {
                    push(f);
                }
            }
        });
        out
    }

    pub fn dependencies(&self) -> Dependencies {
        let mut d = Dependencies::default();
        self.root.walk(&mut |n| match n {
            Node::And(_) | Node::Or(_) | Node::Not(_) | Node::Bucket { .. } => {}
            Node::Trait { path, test } => {
                d.traits.insert(path.first().to_owned());
                d.time |= test.is_relative();
            }
            Node::Computed { name, .. } => {
                d.computed.insert(name.clone());
                d.time = true;
            }
            Node::Event(ev) => {
                d.events.insert(ev.spec.event.clone());
                d.time |= ev.spec.window.is_rolling();
                match &ev.measure {
                    Measure::First(t) | Measure::Last(t) => d.time |= t.is_relative(),
                    Measure::NotFollowedBy(f) => {
                        d.events.insert(f.event.clone());
                    }
                    Measure::Count(_) | Measure::Aggregate { .. } => {}
                }
            }
            Node::Consent { .. } | Node::Reachable { .. } => d.consent = true,
            Node::InSegment(s) => {
                d.segments.insert(*s);
            }
            Node::Commerce(_) => d.commerce = true,
        });
        d
    }
}

impl Node {
    fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Node)) {
        f(self);
        match self {
            Node::And(cs) | Node::Or(cs) => cs.iter().for_each(|c| c.walk(f)),
            Node::Not(c) => c.walk(f),
            _ => {}
        }
    }
}
