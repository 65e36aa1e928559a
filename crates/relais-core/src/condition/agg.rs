//! What is known of the matching occurrences at one instant, and the
//! measure of an event condition applied to it. Both evaluators build an
//! [`Agg`] (the incremental one from state, the reference from events) and
//! then share [`check`].

use super::num::{fsum_add, fsum_total, TotalMinMax};
use super::ops::{Subject, Test};
use super::spec::{Entry, Keep, Window};
use super::{AggFn, AggState, EventSpec, Measure, MAX_DISTINCT_VALUES};

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Agg {
    pub count: u64,
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub nums: u64,
    pub sum: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Canonical JSON of the latest value.
    pub last_value: Option<String>,
    /// Canonical JSON of the distinct values, sorted, at most [`MAX_DISTINCT_VALUES`].
    pub distinct: Vec<String>,
}

/// The occurrences of a (sorted) rolling list still inside the window at `now`.
pub(crate) fn in_window<'a>(spec: &EventSpec, recent: &'a [Entry], now: i64) -> &'a [Entry] {
    &recent[recent.partition_point(|e| !spec.in_window(e.t, now))..]
}

impl Agg {
    pub(crate) fn from_state(spec: &EventSpec, st: &AggState, now: i64) -> Agg {
        if let Window::Rolling(_) = spec.window {
            return Agg::from_entries(spec, in_window(spec, &st.recent, now));
        }
        Agg {
            count: st.count,
            first: st.first,
            last: st.last,
            nums: st.nums,
            sum: fsum_total(&st.sum),
            min: st.min.map(|n| n.0),
            max: st.max.map(|n| n.0),
            last_value: st.last_value.as_ref().map(|(_, v)| v.clone()),
            distinct: st.distinct.iter().cloned().collect(),
        }
    }

    /// From occurrences of `spec` sorted in [`Entry`] order.
    pub(crate) fn from_entries(spec: &EventSpec, es: &[Entry]) -> Agg {
        let mut a = Agg {
            count: es.len() as u64,
            first: es.first().map(|e| e.t),
            last: es.last().map(|e| e.t),
            ..Agg::default()
        };
        let mut partials = Vec::new();
        for n in es.iter().filter_map(|e| e.n) {
            a.nums += 1;
            fsum_add(&mut partials, n.0);
            a.min = Some(a.min.map_or(n.0, |m| m.min_by_total(n.0)));
            a.max = Some(a.max.map_or(n.0, |m| m.max_by_total(n.0)));
        }
        a.sum = fsum_total(&partials);
        match spec.keep {
            Keep::Last(_) => a.last_value = es.iter().rev().find_map(|e| e.v.clone()),
            Keep::Distinct(_) => {
                let mut distinct: Vec<String> = es.iter().filter_map(|e| e.v.clone()).collect();
                distinct.sort();
                distinct.dedup();
                distinct.truncate(MAX_DISTINCT_VALUES);
                a.distinct = distinct;
            }
            Keep::Count | Keep::Numbers(_) => {}
        }
        a
    }

    pub(crate) fn value(&self, func: AggFn) -> Option<f64> {
        if self.nums == 0 {
            return None;
        }
        match func {
            AggFn::Sum => Some(self.sum),
            AggFn::Avg => Some(self.sum / self.nums as f64),
            AggFn::Min => self.min,
            AggFn::Max => self.max,
        }
    }
}

fn subject<T>(v: Option<T>, f: impl Fn(T) -> Subject<'static>) -> Vec<Subject<'static>> {
    v.map(f).into_iter().collect()
}

/// Whether the measure holds for these occurrences at `now`; `last_f` is the
/// latest `not_followed_by` occurrence.
pub(crate) fn check(m: &Measure, a: &Agg, last_f: Option<i64>, now: i64) -> bool {
    match m {
        Measure::Count(t) => t.holds(&[Subject::Num(a.count as f64)], now),
        Measure::Aggregate { func, test } => test.holds(&subject(a.value(*func), Subject::Num), now),
        Measure::First(t) => t.holds(&subject(a.first, Subject::Time), now),
        Measure::Last(t) => t.holds(&subject(a.last, Subject::Time), now),
        Measure::NotFollowedBy(_) => a.last.is_some_and(|e| last_f.is_none_or(|f| f < e)),
    }
}

/// When [`check`] may change with time alone while the occurrences stay the same.
pub(crate) fn check_next(m: &Measure, a: &Agg, now: i64) -> Option<i64> {
    let at = |t: &Test, s: Option<i64>| t.next_change(&subject(s, Subject::Time), now);
    match m {
        Measure::First(t) => at(t, a.first),
        Measure::Last(t) => at(t, a.last),
        _ => None,
    }
}
