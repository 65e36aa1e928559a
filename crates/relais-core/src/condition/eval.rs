//! The incremental evaluator: reads the profile's [`AggState`]s, and says
//! when the answer can next change with time alone.

use super::agg::{check, check_next, in_window, Agg};
use super::leaf::{commerce, computed_test, consent_status, in_bucket, reachable, trait_test};
use super::num::{fsum_add, fsum_total, Num};
use super::spec::{Entry, Window};
use super::{AggState, Condition, EventCond, Facts, Measure, Node, Outcome};

type Aggs<'a, 'f> = dyn Fn(&str) -> Option<&'a AggState> + 'f;

/// Evaluates `c` at `f.now`; `aggs(spec_key)` is the profile's state for a
/// spec of `c.specs()` (`None`: no occurrence recorded).
pub fn evaluate<'a>(c: &Condition, f: &Facts, aggs: &dyn Fn(&str) -> Option<&'a AggState>) -> Outcome {
    let (matched, next_check) = node(&c.root, f, aggs);
    Outcome { matched, next_check }
}

/// The earliest of two "next change" instants (`None`: never).
fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn node<'a>(n: &Node, f: &Facts, aggs: &Aggs<'a, '_>) -> (bool, Option<i64>) {
    match n {
        Node::And(cs) | Node::Or(cs) => {
            let want = matches!(n, Node::Or(_));
            let rs: Vec<(bool, Option<i64>)> = cs.iter().map(|c| node(c, f, aggs)).collect();
            if rs.iter().any(|r| r.0 == want) {
                // Decided (an `or` true / an `and` false) until every deciding
                // child has flipped: the latest of their flips, never if one never does.
                let deciding = rs.iter().filter(|r| r.0 == want).map(|r| r.1);
                let latest = deciding
                    .collect::<Option<Vec<i64>>>()
                    .and_then(|v| v.into_iter().max());
                (want, latest)
            } else {
                // Any child flipping flips the result.
                (!want, rs.iter().fold(None, |acc, r| earliest(acc, r.1)))
            }
        }
        Node::Not(c) => {
            let (m, next) = node(c, f, aggs);
            (!m, next)
        }
        Node::Trait { path, test } => trait_test(path, test, f),
        Node::Computed { name, test } => computed_test(name, test, f),
        Node::Event(ev) => event(ev, f.now, aggs),
        Node::Consent { channel, status } => (consent_status(f, channel) == *status, None),
        Node::Reachable { channel } => (reachable(f, channel), None),
        Node::InSegment(s) => ((f.in_segment)(*s), None),
        Node::Bucket { salt, from, to } => (in_bucket(f, salt, *from, *to), None),
        Node::Commerce(c) => (commerce(f, c), None),
    }
}

fn event<'a>(ev: &EventCond, now: i64, aggs: &Aggs<'a, '_>) -> (bool, Option<i64>) {
    let st = aggs(ev.spec.key());
    let last_f = match &ev.measure {
        Measure::NotFollowedBy(fs) => aggs(fs.key()).and_then(|s| Agg::from_state(fs, s, now).last),
        _ => None,
    };
    let Window::Rolling(w) = ev.spec.window else {
        let a = st.map(|s| Agg::from_state(&ev.spec, s, now)).unwrap_or_default();
        return (
            check(&ev.measure, &a, last_f, now),
            check_next(&ev.measure, &a, now),
        );
    };
    let es = st.map_or(&[][..], |s| in_window(&ev.spec, &s.recent, now));
    let full = Agg::from_entries(&ev.spec, es);
    let matched = check(&ev.measure, &full, last_f, now);
    // Walk forward through the instants at which the oldest occurrences leave
    // the window; between two of them the occurrences are fixed.
    let suffixes = matches!(ev.measure, Measure::Aggregate { .. }).then(|| numeric_suffixes(es));
    let (mut t, mut i) = (now, 0);
    loop {
        let a = if i == 0 {
            full.clone()
        } else {
            suffix(es, i, suffixes.as_deref())
        };
        if check(&ev.measure, &a, last_f, t) != matched {
            return (matched, Some(t));
        }
        let leaves = es.get(i).map(|e| e.t.saturating_add(w).saturating_add(1));
        if let Some(x) = check_next(&ev.measure, &a, t) {
            if leaves.is_none_or(|l| x < l) {
                return (matched, Some(x));
            }
        }
        let Some(leaves) = leaves else {
            return (matched, None);
        };
        let oldest = es[i].t;
        while i < es.len() && es[i].t == oldest {
            i += 1;
        }
        t = leaves;
    }
}

/// Numeric aggregates of `es[i..]` for every i (index `es.len()` = none).
fn numeric_suffixes(es: &[Entry]) -> Vec<Agg> {
    let mut out = vec![Agg::default(); es.len() + 1];
    let mut partials: Vec<Num> = Vec::new();
    for i in (0..es.len()).rev() {
        let mut a = out[i + 1].clone();
        if let Some(n) = es[i].n {
            a.nums += 1;
            fsum_add(&mut partials, n.0);
            a.sum = fsum_total(&partials);
            a.min = Some(a.min.map_or(n, |m| Num(m).min(n)).0);
            a.max = Some(a.max.map_or(n, |m| Num(m).max(n)).0);
        }
        out[i] = a;
    }
    out
}

/// What the measures need of the occurrences `es[i..]`.
fn suffix(es: &[Entry], i: usize, numeric: Option<&[Agg]>) -> Agg {
    let mut a = numeric.map(|s| s[i].clone()).unwrap_or_default();
    a.count = (es.len() - i) as u64;
    a.first = es.get(i).map(|e| e.t);
    a.last = (i < es.len()).then(|| es[es.len() - 1].t);
    a
}
