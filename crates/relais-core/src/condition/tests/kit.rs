//! Test helpers: a profile's facts, its events, and its aggregate states
//! kept the way the processor keeps them.

use crate::computed::Computed;
use crate::condition::*;
use crate::time::parse_ms;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

pub(super) const T0: i64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z
pub(super) const MIN: i64 = 60_000;
pub(super) const HOUR: i64 = 3_600_000;
pub(super) const DAY: i64 = 86_400_000;

pub(super) fn ms(s: &str) -> i64 {
    parse_ms(s).unwrap()
}

pub(super) fn cond(v: Value) -> Condition {
    parse(&v).unwrap_or_else(|e| panic!("{e}: {v}"))
}

/// Everything but events.
#[derive(Default)]
pub(super) struct Fx {
    pub profile_id: i64,
    pub state: ProfileState,
    pub computed: BTreeMap<String, Computed>,
    pub segments: BTreeSet<SegmentId>,
    pub addresses: BTreeSet<String>,
}

impl Fx {
    pub fn with_traits(traits: Value) -> Fx {
        let mut fx = Fx::default();
        for (k, v) in traits.as_object().unwrap() {
            fx.state.set_trait(k, v.clone(), 0);
        }
        fx
    }

    pub fn facts<R>(&self, now: i64, f: impl FnOnce(&Facts) -> R) -> R {
        self.facts_with(now, None, f)
    }

    /// [`Fx::facts`] with an answer to commerce conditions.
    pub fn facts_with<R>(
        &self,
        now: i64,
        commerce: Option<&dyn Fn(&CommerceCond) -> bool>,
        f: impl FnOnce(&Facts) -> R,
    ) -> R {
        let computed = |n: &str| self.computed.get(n).cloned();
        let in_segment = |s| self.segments.contains(&s);
        let has_address = |c: &str| self.addresses.contains(c);
        f(&Facts {
            profile_id: self.profile_id,
            state: &self.state,
            computed: &computed,
            in_segment: &in_segment,
            has_address: &has_address,
            commerce,
            now,
        })
    }
}

/// An owned event.
#[derive(Debug, Clone)]
pub(super) struct Ev {
    pub name: String,
    pub ts: i64,
    pub channel: String,
    pub props: Value,
}

impl Ev {
    pub fn new(name: &str, ts: i64, channel: &str, props: Value) -> Ev {
        Ev {
            name: name.into(),
            ts,
            channel: channel.into(),
            props,
        }
    }
    pub fn hist(&self) -> HistEvent<'_> {
        HistEvent {
            name: &self.name,
            timestamp: self.ts,
            channel: &self.channel,
            properties: &self.props,
        }
    }
}

pub(super) fn hists(evs: &[Ev]) -> Vec<HistEvent<'_>> {
    evs.iter().map(Ev::hist).collect()
}

/// A profile's aggregate states, keyed by spec key.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct States(pub HashMap<String, AggState>);

impl States {
    pub fn record(&mut self, specs: &[EventSpec], ev: &Ev, now: i64) {
        for s in specs.iter().filter(|s| s.matches(&ev.hist())) {
            self.0
                .entry(s.key().to_owned())
                .or_default()
                .record(s, &ev.hist(), now);
        }
    }

    pub fn prune(&mut self, specs: &[EventSpec], now: i64) {
        for s in specs {
            if let Some(st) = self.0.get_mut(s.key()) {
                st.prune(s, now);
            }
        }
    }

    /// `self` after merging `other` into it.
    pub fn absorbed(&self, specs: &[EventSpec], other: &States, now: i64) -> States {
        let mut out = self.clone();
        for s in specs {
            if let Some(o) = other.0.get(s.key()) {
                out.0
                    .entry(s.key().to_owned())
                    .or_default()
                    .absorb(s, o.clone(), now);
            }
        }
        out
    }

    pub fn eval(&self, c: &Condition, fx: &Fx, now: i64) -> Outcome {
        fx.facts(now, |f| evaluate(c, f, &|k| self.0.get(k)))
    }

    pub fn get(&self, s: &EventSpec) -> Option<&AggState> {
        self.0.get(s.key())
    }
}

/// Records `evs` in order into fresh states for `c`, each when it arrives
/// (the latest timestamp so far).
pub(super) fn states_of(c: &Condition, evs: &[Ev]) -> States {
    let specs = c.specs();
    let mut st = States::default();
    let mut now = i64::MIN;
    for e in evs {
        now = now.max(e.ts);
        st.record(&specs, e, now);
    }
    st
}

/// Both evaluators at `now`; panics if they disagree.
pub(super) fn both(c: &Condition, fx: &Fx, evs: &[Ev], now: i64) -> Outcome {
    let out = states_of(c, evs).eval(c, fx, now);
    let reference = fx.facts(now, |f| evaluate_reference(c, f, &hists(evs)));
    assert_eq!(out.matched, reference, "evaluators disagree at {now}");
    out
}
