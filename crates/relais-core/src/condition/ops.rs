//! Operators: how a test applies to a subject (a JSON value, a number, an
//! instant, or the `DaysSince` of a computed trait), and when its verdict
//! can change with time alone. Parsing is in `parse_op.rs`.

use super::dates::{date_holds, date_next, days_next, days_since, MAX_ABS_MS};
use super::num::{num_value, numeric};
use crate::time::{format_ms, parse_ms};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    Eq(Value),
    Ne(Value),
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    Between(f64, f64),
    Contains(Value),
    StartsWith(String),
    Exists,
    NotExists,
    In(Vec<Value>),
    Before(i64),
    After(i64),
    WithinLastDays(i64),
    WithinNextDays(i64),
    MoreThanDaysAgo(i64),
    Anniversary(i64),
}
pub(crate) const OPS: [&str; 18] = [
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "contains",
    "starts_with",
    "exists",
    "not_exists",
    "in",
    "before",
    "after",
    "within_last_days",
    "within_next_days",
    "more_than_days_ago",
    "anniversary_within_next_days",
];

/// What a test looks at.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    Json(&'a Value),
    Num(f64),
    Time(i64),
    /// `Computed::DaysSince(t0)`: a number of days, or the instant t0 for date tests.
    Days(i64),
}

impl Subject<'_> {
    fn number(&self, now: i64) -> Option<f64> {
        match *self {
            Subject::Json(v) => numeric(v),
            Subject::Num(n) => Some(n),
            Subject::Time(_) => None,
            Subject::Days(t0) => Some(days_since(t0, now) as f64),
        }
    }
    fn time(&self) -> Option<i64> {
        match *self {
            Subject::Json(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f.floor() as i64)),
            Subject::Json(Value::String(s)) => parse_ms(s),
            Subject::Time(t) | Subject::Days(t) => Some(t),
            _ => None,
        }
        .filter(|t| t.abs() <= MAX_ABS_MS)
    }
    fn equals(&self, x: &Value, now: i64) -> bool {
        match *self {
            Subject::Json(v) if v.is_number() && x.is_number() => numeric(v) == numeric(x),
            Subject::Json(v) => v == x,
            Subject::Num(_) | Subject::Days(_) => x.as_f64().is_some() && self.number(now) == x.as_f64(),
            Subject::Time(_) => false,
        }
    }
}

impl Test {
    pub(crate) fn name(&self) -> &'static str {
        let i = match self {
            Test::Eq(_) => 0,
            Test::Ne(_) => 1,
            Test::Gt(_) => 2,
            Test::Gte(_) => 3,
            Test::Lt(_) => 4,
            Test::Lte(_) => 5,
            Test::Between(..) => 6,
            Test::Contains(_) => 7,
            Test::StartsWith(_) => 8,
            Test::Exists => 9,
            Test::NotExists => 10,
            Test::In(_) => 11,
            Test::Before(_) => 12,
            Test::After(_) => 13,
            Test::WithinLastDays(_) => 14,
            Test::WithinNextDays(_) => 15,
            Test::MoreThanDaysAgo(_) => 16,
            Test::Anniversary(_) => 17,
        };
        OPS[i]
    }

    /// The canonical `value` (none for exists/not_exists).
    pub(crate) fn value_json(&self) -> Option<Value> {
        Some(match self {
            Test::Eq(v) | Test::Ne(v) | Test::Contains(v) => v.clone(),
            Test::Gt(x) | Test::Gte(x) | Test::Lt(x) | Test::Lte(x) => num_value(*x),
            Test::Between(a, b) => Value::from(vec![num_value(*a), num_value(*b)]),
            Test::StartsWith(s) => Value::from(s.as_str()),
            Test::Exists | Test::NotExists => return None,
            Test::In(items) => Value::from(items.clone()),
            Test::Before(d) | Test::After(d) => Value::from(format_ms(*d)),
            Test::WithinLastDays(n)
            | Test::WithinNextDays(n)
            | Test::MoreThanDaysAgo(n)
            | Test::Anniversary(n) => Value::from(*n),
        })
    }

    /// Depends on `now` (for a fixed subject that is a date).
    pub(crate) fn is_relative(&self) -> bool {
        matches!(
            self,
            Test::WithinLastDays(_)
                | Test::WithinNextDays(_)
                | Test::MoreThanDaysAgo(_)
                | Test::Anniversary(_)
        )
    }

    /// `ne` and `not_exists` are the negations of `eq` and `exists`.
    fn negated(&self) -> Option<Test> {
        match self {
            Test::Ne(v) => Some(Test::Eq(v.clone())),
            Test::NotExists => Some(Test::Exists),
            _ => None,
        }
    }

    /// Whether the test holds for a subject resolved to `subjects` (several
    /// for a `*` path, none when absent): any of them for positive tests,
    /// none of them for `ne`/`not_exists`.
    pub(crate) fn holds(&self, subjects: &[Subject], now: i64) -> bool {
        match self.negated() {
            Some(pos) => !subjects.iter().any(|s| pos.holds_one(s, now)),
            None => subjects.iter().any(|s| self.holds_one(s, now)),
        }
    }

    fn holds_one(&self, s: &Subject, now: i64) -> bool {
        let num = |f: &dyn Fn(f64) -> bool| s.number(now).is_some_and(f);
        match self {
            Test::Eq(x) => s.equals(x, now),
            Test::Ne(x) => !s.equals(x, now),
            Test::Gt(x) => num(&|v| v > *x),
            Test::Gte(x) => num(&|v| v >= *x),
            Test::Lt(x) => num(&|v| v < *x),
            Test::Lte(x) => num(&|v| v <= *x),
            Test::Between(a, b) => num(&|v| v >= *a && v <= *b),
            Test::Contains(x) => match s {
                Subject::Json(Value::String(h)) => x.as_str().is_some_and(|n| h.contains(n)),
                Subject::Json(Value::Array(items)) => items.iter().any(|e| Subject::Json(e).equals(x, now)),
                _ => false,
            },
            Test::StartsWith(p) => matches!(s, Subject::Json(Value::String(h)) if h.starts_with(p.as_str())),
            Test::Exists => true,
            Test::NotExists => false,
            Test::In(items) => items.iter().any(|x| s.equals(x, now)),
            _ => s.time().is_some_and(|t| date_holds(self, t, now)),
        }
    }

    /// A numeric test on a plain number (used to find `DaysSince` flips).
    pub(crate) fn holds_number(&self, v: f64) -> bool {
        self.holds_one(&Subject::Num(v), 0)
    }

    /// The numbers at which a numeric test changes.
    pub(crate) fn thresholds(&self) -> Vec<f64> {
        match self {
            Test::Gt(x) | Test::Gte(x) | Test::Lt(x) | Test::Lte(x) => vec![*x],
            Test::Between(a, b) => vec![*a, *b],
            Test::Eq(v) | Test::Ne(v) => v.as_f64().into_iter().collect(),
            Test::In(items) => items.iter().filter_map(Value::as_f64).collect(),
            _ => Vec::new(),
        }
    }

    /// The first instant after `now` at which [`Test::holds`] may change for
    /// these subjects with time alone (`None`: never).
    pub(crate) fn next_change(&self, subjects: &[Subject], now: i64) -> Option<i64> {
        let pos = self.negated().unwrap_or_else(|| self.clone());
        subjects
            .iter()
            .filter_map(|s| {
                if pos.is_relative() {
                    s.time().and_then(|t| date_next(&pos, t, now))
                } else if let Subject::Days(t0) = s {
                    days_next(&pos, *t0, now)
                } else {
                    None
                }
            })
            .min()
    }
}
