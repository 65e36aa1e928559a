//! The reference evaluator: recomputes every event condition from the
//! profile's full event list. Slow and simple on purpose; the incremental
//! evaluator must agree with it at every instant (`tests/differential.rs`).

use super::agg::{check, Agg};
use super::leaf::{commerce, computed_test, consent_status, in_bucket, reachable, trait_test};
use super::num::{fsum_add, fsum_total, Num};
use super::spec::{Entry, Keep};
use super::{
    Condition, EventSpec, Facts, HistEvent, Measure, Node, MAX_DISTINCT_VALUES, MAX_ROLLING_OCCURRENCES,
};
use std::collections::BTreeSet;

/// Evaluates `c` at `f.now` over all of the profile's events (any order).
pub fn evaluate_reference(c: &Condition, f: &Facts, events: &[HistEvent]) -> bool {
    node(&c.root, f, events)
}

fn node(n: &Node, f: &Facts, events: &[HistEvent]) -> bool {
    match n {
        Node::And(cs) => cs.iter().all(|c| node(c, f, events)),
        Node::Or(cs) => cs.iter().any(|c| node(c, f, events)),
        Node::Not(c) => !node(c, f, events),
        Node::Trait { path, test } => trait_test(path, test, f).0,
        Node::Computed { name, test } => computed_test(name, test, f).0,
        Node::Event(ev) => {
            let a = reference_agg(&ev.spec, events, f.now);
            let last_f = match &ev.measure {
                Measure::NotFollowedBy(fs) => {
                    events.iter().filter(|e| fs.matches(e)).map(|e| e.timestamp).max()
                }
                _ => None,
            };
            check(&ev.measure, &a, last_f, f.now)
        }
        Node::Consent { channel, status } => consent_status(f, channel) == *status,
        Node::Reachable { channel } => reachable(f, channel),
        Node::InSegment(s) => (f.in_segment)(*s),
        Node::Bucket { salt, from, to } => in_bucket(f, salt, *from, *to),
        Node::Commerce(c) => commerce(f, c),
    }
}

/// The occurrences of `spec` at `now`, aggregated from scratch. A rolling
/// window considers only its newest [`MAX_ROLLING_OCCURRENCES`] occurrences,
/// as the stored state does.
pub(crate) fn reference_agg(spec: &EventSpec, events: &[HistEvent], now: i64) -> Agg {
    let mut es: Vec<Entry> = events
        .iter()
        .filter(|e| spec.matches(e) && spec.in_window(e.timestamp, now))
        .map(|e| spec.entry(e))
        .collect();
    if spec.window.is_rolling() && es.len() > MAX_ROLLING_OCCURRENCES {
        es.sort();
        es.drain(..es.len() - MAX_ROLLING_OCCURRENCES);
    }
    let mut a = Agg::default();
    let mut partials = Vec::new();
    let (mut min, mut max): (Option<Num>, Option<Num>) = (None, None);
    let mut latest: Option<(i64, String)> = None;
    let mut distinct = BTreeSet::new();
    for e in es {
        a.count += 1;
        a.first = Some(a.first.map_or(e.t, |f| f.min(e.t)));
        a.last = Some(a.last.map_or(e.t, |l| l.max(e.t)));
        if let Some(n) = e.n {
            a.nums += 1;
            fsum_add(&mut partials, n.0);
            min = Some(min.map_or(n, |m| m.min(n)));
            max = Some(max.map_or(n, |m| m.max(n)));
        }
        if let Some(v) = e.v {
            if matches!(spec.keep, Keep::Last(_)) && latest.as_ref().is_none_or(|l| *l < (e.t, v.clone())) {
                latest = Some((e.t, v.clone()));
            }
            if matches!(spec.keep, Keep::Distinct(_)) {
                distinct.insert(v);
            }
        }
    }
    a.sum = fsum_total(&partials);
    a.min = min.map(|n| n.0);
    a.max = max.map(|n| n.0);
    a.last_value = latest.map(|(_, v)| v);
    a.distinct = distinct.into_iter().take(MAX_DISTINCT_VALUES).collect();
    a
}
