//! Event specs (which occurrences count, over which window, keeping what)
//! and the per-profile aggregate state the processor folds events into.

use super::canon::{canonical_string, fnv1a64, spec_json};
use super::num::{aggregate_number, fsum_add, Num};
use super::ops::{Subject, Test};
use super::path::Path;
use super::{HistEvent, MAX_DISTINCT_VALUES, MAX_ROLLING_OCCURRENCES};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// Which occurrences of an event count, over which window, and what is kept
/// of each. Two conditions that need the same spec share its state.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSpec {
    pub(crate) event: String,
    /// Sorted and deduplicated by canonical JSON.
    pub(crate) filters: Vec<Filter>,
    pub(crate) window: Window,
    pub(crate) keep: Keep,
    key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Window {
    Ever,
    /// Occurrences with `ts >= now - ms`.
    Rolling(i64),
    /// Occurrences with `a <= ts <= b`.
    Between(i64, i64),
}

impl Window {
    pub(crate) fn is_rolling(&self) -> bool {
        matches!(self, Window::Rolling(_))
    }
}

/// What is kept of each occurrence besides its time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Keep {
    Count,
    /// Numeric values of a property (sum, avg, min, max).
    Numbers(Path),
    /// The latest value of a property.
    Last(Path),
    /// The distinct values of a property.
    Distinct(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Filter {
    pub target: Target,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// `$channel`: the event's touchpoint channel.
    Channel,
    Prop(Path),
}

impl Filter {
    pub(crate) fn holds(&self, ev: &HistEvent) -> bool {
        match &self.target {
            Target::Channel => {
                let channel = Value::from(ev.channel);
                self.test.holds(&[Subject::Json(&channel)], 0)
            }
            Target::Prop(p) => {
                let values: Vec<Subject> = p.resolve(ev.properties).into_iter().map(Subject::Json).collect();
                self.test.holds(&values, 0)
            }
        }
    }
}

impl EventSpec {
    pub(crate) fn new(event: String, mut filters: Vec<Filter>, window: Window, keep: Keep) -> EventSpec {
        filters.sort_by_cached_key(|f| canonical_string(&super::canon::filter_json(f)));
        filters.dedup();
        let mut spec = EventSpec {
            event,
            filters,
            window,
            keep,
            key: String::new(),
        };
        let canon = canonical_string(&spec_json(&spec));
        spec.key = format!("{:016x}", fnv1a64(canon.as_bytes()));
        spec
    }

    /// Stable identifier of the spec: a hash of its canonical JSON.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn event(&self) -> &str {
        &self.event
    }

    /// Name, `where` filters and absolute window (not a rolling window,
    /// which depends on when it is asked).
    pub fn matches(&self, ev: &HistEvent) -> bool {
        ev.name == self.event
            && match self.window {
                Window::Between(a, b) => a <= ev.timestamp && ev.timestamp <= b,
                _ => true,
            }
            && self.filters.iter().all(|f| f.holds(ev))
    }

    /// Whether an occurrence at `ts` is inside a rolling window at `now`.
    pub(crate) fn in_window(&self, ts: i64, now: i64) -> bool {
        match self.window {
            Window::Rolling(w) => ts >= now.saturating_sub(w),
            _ => true,
        }
    }

    /// What is kept of one occurrence.
    pub(crate) fn entry(&self, ev: &HistEvent) -> Entry {
        let (mut n, mut v) = (None, None);
        match &self.keep {
            Keep::Count => {}
            Keep::Numbers(p) => n = p.single(ev.properties).and_then(aggregate_number).map(Num),
            Keep::Last(p) | Keep::Distinct(p) => v = p.single(ev.properties).map(canonical_string),
        }
        Entry {
            t: ev.timestamp,
            n,
            v,
        }
    }
}

/// One occurrence in a rolling window. Ordered by (time, number, value): the
/// cap keeps the greatest, and the reference evaluator sorts the same way.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub t: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<Num>,
    /// Canonical JSON of the kept value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<String>,
}

/// A profile's aggregate of one [`EventSpec`]. Rolling windows keep their
/// occurrences (`r`, at most [`MAX_ROLLING_OCCURRENCES`], the newest); other
/// windows keep counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AggState {
    #[serde(rename = "c", default, skip_serializing_if = "is_zero")]
    pub(crate) count: u64,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub(crate) first: Option<i64>,
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub(crate) last: Option<i64>,
    /// How many numeric values were summed.
    #[serde(rename = "k", default, skip_serializing_if = "is_zero")]
    pub(crate) nums: u64,
    /// The exact sum, as partials.
    #[serde(rename = "s", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) sum: Vec<Num>,
    #[serde(rename = "lo", default, skip_serializing_if = "Option::is_none")]
    pub(crate) min: Option<Num>,
    #[serde(rename = "hi", default, skip_serializing_if = "Option::is_none")]
    pub(crate) max: Option<Num>,
    /// (time, canonical JSON) of the latest value; ties go to the greater value.
    #[serde(rename = "lv", default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_value: Option<(i64, String)>,
    /// Canonical JSON of the distinct values, the smallest [`MAX_DISTINCT_VALUES`].
    #[serde(rename = "d", default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) distinct: BTreeSet<String>,
    #[serde(rename = "r", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) recent: Vec<Entry>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn opt_min<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl AggState {
    /// Folds in one occurrence; the caller has checked `spec.matches(ev)`.
    /// `now` prunes a rolling window (an occurrence already outside is dropped).
    pub fn record(&mut self, spec: &EventSpec, ev: &HistEvent, now: i64) {
        let entry = spec.entry(ev);
        if spec.window.is_rolling() {
            if spec.in_window(entry.t, now) {
                let at = self.recent.partition_point(|e| *e <= entry);
                self.recent.insert(at, entry);
                self.cap();
            }
            self.prune(spec, now);
        } else {
            self.add(entry, &spec.keep);
        }
    }

    /// Merges the state of another profile (merged into this one): the
    /// result is what recording both streams would have given.
    pub fn absorb(&mut self, spec: &EventSpec, other: AggState, now: i64) {
        if spec.window.is_rolling() {
            self.recent.extend(other.recent);
            self.recent.sort();
            self.cap();
            self.prune(spec, now);
            return;
        }
        self.count += other.count;
        self.first = opt_min(self.first, other.first);
        self.last = self.last.max(other.last);
        self.nums += other.nums;
        other.sum.iter().for_each(|p| fsum_add(&mut self.sum, p.0));
        self.min = opt_min(self.min, other.min);
        self.max = self.max.max(other.max);
        self.last_value = self.last_value.take().max(other.last_value);
        self.distinct.extend(other.distinct);
        self.trim_distinct();
    }

    /// Drops occurrences that have left a rolling window.
    pub fn prune(&mut self, spec: &EventSpec, now: i64) {
        if spec.window.is_rolling() {
            let gone = self.recent.partition_point(|e| !spec.in_window(e.t, now));
            self.recent.drain(..gone);
        }
    }

    fn add(&mut self, e: Entry, keep: &Keep) {
        self.count += 1;
        self.first = opt_min(self.first, Some(e.t));
        self.last = self.last.max(Some(e.t));
        if let Some(n) = e.n {
            self.nums += 1;
            fsum_add(&mut self.sum, n.0);
            self.min = opt_min(self.min, Some(n));
            self.max = self.max.max(Some(n));
        }
        match (e.v, keep) {
            (Some(v), Keep::Last(_)) => {
                let latest = Some((e.t, v));
                self.last_value = self.last_value.take().max(latest);
            }
            (Some(v), _) => {
                self.distinct.insert(v);
                self.trim_distinct();
            }
            (None, _) => {}
        }
    }

    fn cap(&mut self) {
        let over = self.recent.len().saturating_sub(MAX_ROLLING_OCCURRENCES);
        self.recent.drain(..over);
    }

    fn trim_distinct(&mut self) {
        while self.distinct.len() > MAX_DISTINCT_VALUES {
            self.distinct.pop_last();
        }
    }
}
