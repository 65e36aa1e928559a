//! Reading `{"op": …, "value": …}`: which operators each context allows,
//! what value each needs, and an error that says so.

use super::dates::MAX_ABS_MS;
use super::num::{num_value, numeric};
use super::ops::{Test, OPS};
use super::parse::join;
use super::{ConditionError, MAX_IN_ITEMS};
use crate::time::parse_ms;
use serde_json::Value;

/// Where a test appears; each context allows a subset of the operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// A trait or computed trait.
    Value,
    /// An event's `where` filter: no time-relative operators, since an
    /// occurrence is matched once, when it is recorded.
    Where,
    Count,
    Aggregate,
    /// The time of the first/last occurrence.
    Occurrence,
}

const AGGREGATE_OPS: [&str; 10] = [
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "in",
    "exists",
    "not_exists",
];
const OCCURRENCE_OPS: [&str; 4] = ["before", "after", "within_last_days", "more_than_days_ago"];
const MAX_DAYS: i64 = 100_000;

impl Ctx {
    fn allowed(self) -> &'static [&'static str] {
        match self {
            Ctx::Value => &OPS,
            Ctx::Where => &OPS[..14],
            Ctx::Count => &OPS[..7],
            Ctx::Aggregate => &AGGREGATE_OPS,
            Ctx::Occurrence => &OCCURRENCE_OPS,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Ctx::Value => "a trait test",
            Ctx::Where => "a where filter",
            Ctx::Count => "count",
            Ctx::Aggregate => "aggregate",
            Ctx::Occurrence => "first/last",
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads `op` and `value` of the object at `path`.
pub(crate) fn parse_test(
    op: Option<&Value>,
    value: Option<&Value>,
    path: &str,
    ctx: Ctx,
) -> Result<Test, ConditionError> {
    let allowed = ctx.allowed().join(", ");
    let op_path = join(path, "op");
    let op = match op {
        None => {
            return Err(ConditionError::new(
                &op_path,
                format!("missing \"op\"; one of {allowed}"),
            ))
        }
        Some(Value::String(s)) => s.as_str(),
        Some(v) => {
            return Err(ConditionError::new(
                &op_path,
                format!("must be a string, got {}", kind(v)),
            ))
        }
    };
    if !ctx.allowed().contains(&op) {
        let what = if OPS.contains(&op) {
            "not allowed in"
        } else {
            "unknown in"
        };
        let msg = format!("op \"{op}\" is {what} {}; allowed: {allowed}", ctx.name());
        return Err(ConditionError::new(&op_path, msg));
    }
    let vpath = join(path, "value");
    if matches!(op, "exists" | "not_exists") {
        return match value {
            Some(_) => Err(ConditionError::new(&vpath, format!("{op} takes no value"))),
            None => Ok(if op == "exists" {
                Test::Exists
            } else {
                Test::NotExists
            }),
        };
    }
    let numbers_only = matches!(ctx, Ctx::Count | Ctx::Aggregate);
    let need = value_kind(op, numbers_only);
    let Some(v) = value else {
        return Err(ConditionError::new(
            &vpath,
            format!("missing value: {op} needs {need}"),
        ));
    };
    let bad = || ConditionError::new(&vpath, format!("{op} needs {need}, got {}", kind(v)));
    let scalar = |v: &Value| match v {
        Value::Number(_) => numeric(v).map(num_value),
        Value::String(_) | Value::Bool(_) if !numbers_only => Some(v.clone()),
        _ => None,
    };
    let number = || numeric(v).filter(|_| v.is_number()).ok_or_else(bad);
    let days = || match v.as_i64() {
        Some(n) if (0..=MAX_DAYS).contains(&n) => Ok(n),
        _ => Err(ConditionError::new(&vpath, format!("{op} needs {need}"))),
    };
    Ok(match op {
        "eq" => Test::Eq(scalar(v).ok_or_else(bad)?),
        "ne" => Test::Ne(scalar(v).ok_or_else(bad)?),
        "contains" => Test::Contains(scalar(v).ok_or_else(bad)?),
        "gt" => Test::Gt(number()?),
        "gte" => Test::Gte(number()?),
        "lt" => Test::Lt(number()?),
        "lte" => Test::Lte(number()?),
        "between" => {
            let pair = v
                .as_array()
                .filter(|a| a.len() == 2 && a.iter().all(Value::is_number));
            let pair = pair.ok_or_else(bad)?;
            let (a, b) = (
                numeric(&pair[0]).ok_or_else(bad)?,
                numeric(&pair[1]).ok_or_else(bad)?,
            );
            if a > b {
                return Err(ConditionError::new(
                    &vpath,
                    format!("between needs [low, high] with low <= high, got [{a}, {b}]"),
                ));
            }
            Test::Between(a, b)
        }
        "starts_with" => Test::StartsWith(v.as_str().ok_or_else(bad)?.to_owned()),
        "in" => {
            let items = v.as_array().ok_or_else(bad)?;
            if items.len() > MAX_IN_ITEMS {
                let msg = format!("in takes at most {MAX_IN_ITEMS} items, got {}", items.len());
                return Err(ConditionError::new(&vpath, msg));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let msg = format!("in needs {need}, got {}", kind(item));
                out.push(scalar(item).ok_or_else(|| ConditionError::new(&format!("{vpath}[{i}]"), msg))?);
            }
            Test::In(out)
        }
        "before" | "after" => {
            let d = date_value(v).ok_or_else(bad)?;
            if op == "before" {
                Test::Before(d)
            } else {
                Test::After(d)
            }
        }
        "within_last_days" => Test::WithinLastDays(days()?),
        "within_next_days" => Test::WithinNextDays(days()?),
        "more_than_days_ago" => Test::MoreThanDaysAgo(days()?),
        _ => Test::Anniversary(days()?),
    })
}

fn value_kind(op: &str, numbers_only: bool) -> String {
    match op {
        "eq" | "ne" | "contains" if numbers_only => "a number".into(),
        "eq" | "ne" | "contains" => "a string, number or boolean".into(),
        "gt" | "gte" | "lt" | "lte" => "a number".into(),
        "between" => "[low, high], two numbers".into(),
        "starts_with" => "a string".into(),
        "in" if numbers_only => format!("an array of at most {MAX_IN_ITEMS} numbers"),
        "in" => format!("an array of at most {MAX_IN_ITEMS} strings, numbers or booleans"),
        "before" | "after" => "a date (RFC 3339, \"YYYY-MM-DD\" or ms since the epoch)".into(),
        _ => format!("a whole number of days, 0 to {MAX_DAYS}"),
    }
}

/// A date as written in a condition: an RFC 3339 / `YYYY-MM-DD` string or
/// an integer number of ms since the epoch.
pub(crate) fn date_value(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => parse_ms(s),
        _ => v.as_i64(),
    }
    .filter(|t| t.abs() <= MAX_ABS_MS)
}
