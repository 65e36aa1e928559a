//! JSON → validated [`Condition`]. Every error names the offending node
//! (`and[1].where[0].op`) and says what is allowed there.

use super::ops::Test;
use super::parse_op::{date_value, parse_test, Ctx};
use super::path::Path;
use super::spec::{Filter, Keep, Target, Window};
use super::{AggFn, Condition, ConditionError, EventCond, EventSpec, Measure, Node, MAX_DEPTH, MAX_NODES};
use crate::profile::ConsentStatus;
use crate::SegmentId;
use serde_json::{Map, Value};

const KINDS: [&str; 11] = [
    "and",
    "or",
    "not",
    "trait",
    "computed",
    "event",
    "consent",
    "reachable",
    "in_segment",
    "bucket",
    "commerce",
];
pub(crate) const REACHABLE_CHANNELS: [&str; 7] = [
    "email",
    "push",
    "in_app",
    "webhook",
    "direct_mail",
    "sms",
    "whatsapp",
];
const MEASURES: [&str; 5] = ["count", "aggregate", "first", "last", "not_followed_by"];
const MAX_WINDOW_MINUTES: i64 = 36_500 * 1_440;
const MAX_NAME: usize = 200;

pub fn parse(json: &Value) -> Result<Condition, ConditionError> {
    let mut nodes = 0;
    Ok(Condition {
        root: node(json, "", 1, &mut nodes)?,
    })
}

pub(crate) fn default_count() -> Test {
    Test::Gte(1.0)
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn err<T>(path: &str, message: impl Into<String>) -> Result<T, ConditionError> {
    Err(ConditionError::new(path, message))
}

pub(crate) fn object<'a>(
    v: &'a Value,
    path: &str,
    what: &str,
) -> Result<&'a Map<String, Value>, ConditionError> {
    v.as_object()
        .ok_or_else(|| ConditionError::new(path, format!("expected {what}")))
}

pub(crate) fn check_keys(
    obj: &Map<String, Value>,
    path: &str,
    allowed: &[&str],
) -> Result<(), ConditionError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => err(
            &join(path, k),
            format!("unknown key \"{k}\"; allowed here: {}", allowed.join(", ")),
        ),
        None => Ok(()),
    }
}

/// A required non-empty string of at most 200 characters.
pub(crate) fn name(obj: &Map<String, Value>, key: &str, path: &str) -> Result<String, ConditionError> {
    let p = join(path, key);
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_NAME => Ok(s.clone()),
        Some(_) => err(
            &p,
            format!("must be a non-empty string of at most {MAX_NAME} characters"),
        ),
        None => err(&p, format!("missing \"{key}\"")),
    }
}

fn count_node(nodes: &mut usize, path: &str) -> Result<(), ConditionError> {
    *nodes += 1;
    if *nodes > MAX_NODES {
        return err(
            path,
            format!("too many nodes: a condition has at most {MAX_NODES} (conditions and where filters)"),
        );
    }
    Ok(())
}

fn node(v: &Value, path: &str, depth: usize, nodes: &mut usize) -> Result<Node, ConditionError> {
    count_node(nodes, path)?;
    if depth > MAX_DEPTH {
        return err(path, format!("nested deeper than {MAX_DEPTH} levels"));
    }
    let obj = object(
        v,
        path,
        &format!("a condition object with one of: {}", KINDS.join(", ")),
    )?;
    let mut kinds = KINDS.iter().filter(|k| obj.contains_key(**k));
    let Some(kind) = kinds.next() else {
        return err(
            path,
            format!("expected a condition object with one of: {}", KINDS.join(", ")),
        );
    };
    if let Some(other) = kinds.next() {
        return err(
            &join(path, other),
            format!("a condition has one kind; \"{kind}\" and \"{other}\" found"),
        );
    }
    let at = join(path, kind);
    let val = &obj[*kind];
    let test_keys = [*kind, "op", "value"];
    match *kind {
        "and" | "or" => {
            check_keys(obj, path, &[kind])?;
            let items = match val.as_array() {
                Some(a) if !a.is_empty() => a,
                _ => return err(&at, format!("{kind} needs a non-empty array of conditions")),
            };
            let children = items
                .iter()
                .enumerate()
                .map(|(i, c)| node(c, &format!("{at}[{i}]"), depth + 1, nodes))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if *kind == "and" {
                Node::And(children)
            } else {
                Node::Or(children)
            })
        }
        "not" => {
            check_keys(obj, path, &["not"])?;
            Ok(Node::Not(Box::new(node(val, &at, depth + 1, nodes)?)))
        }
        "trait" => {
            check_keys(obj, path, &test_keys)?;
            let raw = val
                .as_str()
                .ok_or_else(|| ConditionError::new(&at, "must be a dotted trait path"))?;
            let p = Path::parse(raw, true).map_err(|m| ConditionError::new(&at, m))?;
            if p.first() == "*" {
                return err(&at, "a trait path starts with a trait name, not `*`");
            }
            let test = parse_test(obj.get("op"), obj.get("value"), path, Ctx::Value)?;
            Ok(Node::Trait { path: p, test })
        }
        "computed" => {
            check_keys(obj, path, &test_keys)?;
            let name = name(obj, "computed", path)?;
            let test = parse_test(obj.get("op"), obj.get("value"), path, Ctx::Value)?;
            Ok(Node::Computed { name, test })
        }
        "event" => Ok(Node::Event(Box::new(event(obj, path, nodes)?))),
        "consent" => {
            check_keys(obj, path, &["consent", "status"])?;
            let channel = name(obj, "consent", path)?.to_ascii_lowercase();
            let sp = join(path, "status");
            let status = match obj.get("status").and_then(Value::as_str) {
                Some("subscribed") => ConsentStatus::Subscribed,
                Some("unsubscribed") => ConsentStatus::Unsubscribed,
                Some("unknown") => ConsentStatus::Unknown,
                _ => return err(&sp, "status must be one of subscribed, unsubscribed, unknown"),
            };
            Ok(Node::Consent { channel, status })
        }
        "reachable" => {
            check_keys(obj, path, &["reachable"])?;
            match val.as_str() {
                Some(c) if REACHABLE_CHANNELS.contains(&c) => Ok(Node::Reachable {
                    channel: c.to_owned(),
                }),
                _ => err(&at, format!("must be one of {}", REACHABLE_CHANNELS.join(", "))),
            }
        }
        "in_segment" => {
            check_keys(obj, path, &["in_segment"])?;
            match val.as_str().and_then(SegmentId::parse) {
                Some(s) => Ok(Node::InSegment(s)),
                None => err(&at, "must be a segment id such as \"seg_12\""),
            }
        }
        "commerce" => Ok(Node::Commerce(Box::new(super::commerce::parse(obj, path)?))),
        _ => bucket(obj, path),
    }
}

fn bucket(obj: &Map<String, Value>, path: &str) -> Result<Node, ConditionError> {
    check_keys(obj, path, &["bucket"])?;
    let at = join(path, "bucket");
    let b = object(&obj["bucket"], &at, "{\"salt\": \"…\", \"from\": A, \"to\": B}")?;
    check_keys(b, &at, &["salt", "from", "to"])?;
    let salt = match b.get("salt") {
        Some(Value::String(s)) if s.len() <= MAX_NAME => s.clone(),
        _ => return err(&join(&at, "salt"), "must be a string of at most 200 characters"),
    };
    let bound = |k: &str| match b.get(k).and_then(Value::as_u64) {
        Some(n) if n <= 100 => Ok(n as u8),
        _ => err(&join(&at, k), "must be a whole number from 0 to 100"),
    };
    let (from, to) = (bound("from")?, bound("to")?);
    if from >= to {
        return err(
            &join(&at, "to"),
            format!("needs from < to, got from {from} and to {to}"),
        );
    }
    Ok(Node::Bucket { salt, from, to })
}

const EVENT_KEYS: [&str; 9] = [
    "event",
    "where",
    "within",
    "between",
    "count",
    "aggregate",
    "first",
    "last",
    "not_followed_by",
];

fn event(obj: &Map<String, Value>, path: &str, nodes: &mut usize) -> Result<EventCond, ConditionError> {
    check_keys(obj, path, &EVENT_KEYS)?;
    let event_name = name(obj, "event", path)?;
    let filters = where_filters(obj.get("where"), path, nodes)?;
    let window = window(obj, path)?;
    let mut present = MEASURES.iter().filter(|k| obj.contains_key(**k));
    let kind = present.next().copied();
    if let Some(other) = present.next() {
        let msg = format!(
            "use at most one of {}; \"{}\" and \"{other}\" found",
            MEASURES.join(", "),
            kind.unwrap_or("")
        );
        return err(&join(path, other), msg);
    }
    let at = join(path, kind.unwrap_or("count"));
    let test_obj = |keys: &[&str]| -> Result<&Map<String, Value>, ConditionError> {
        let o = object(&obj[kind.unwrap_or("count")], &at, "an object with op and value")?;
        check_keys(o, &at, keys)?;
        Ok(o)
    };
    let mut keep = Keep::Count;
    let measure = match kind {
        None => Measure::Count(default_count()),
        Some("count") => {
            let o = test_obj(&["op", "value"])?;
            Measure::Count(parse_test(o.get("op"), o.get("value"), &at, Ctx::Count)?)
        }
        Some("aggregate") => {
            let o = test_obj(&["fn", "property", "op", "value"])?;
            let fp = join(&at, "fn");
            let func = match o.get("fn").and_then(Value::as_str).and_then(AggFn::parse) {
                Some(f) => f,
                None => return err(&fp, format!("must be one of {}", AggFn::NAMES.join(", "))),
            };
            keep = Keep::Numbers(value_path(o, &at)?);
            let test = parse_test(o.get("op"), o.get("value"), &at, Ctx::Aggregate)?;
            Measure::Aggregate { func, test }
        }
        Some("first") | Some("last") => {
            let o = test_obj(&["op", "value"])?;
            let test = parse_test(o.get("op"), o.get("value"), &at, Ctx::Occurrence)?;
            if kind == Some("first") {
                Measure::First(test)
            } else {
                Measure::Last(test)
            }
        }
        _ => {
            let o = test_obj(&["event", "where"])?;
            let f_name = name(o, "event", &at)?;
            let f_filters = where_filters(o.get("where"), &at, nodes)?;
            Measure::NotFollowedBy(EventSpec::new(f_name, f_filters, Window::Ever, Keep::Count))
        }
    };
    Ok(EventCond {
        spec: EventSpec::new(event_name, filters, window, keep),
        measure,
    })
}

/// `property` of an aggregate or a computed trait: a path without `*`.
pub(crate) fn value_path(o: &Map<String, Value>, path: &str) -> Result<Path, ConditionError> {
    let pp = join(path, "property");
    match o.get("property") {
        Some(Value::String(s)) => Path::parse(s, false).map_err(|m| ConditionError::new(&pp, m)),
        Some(_) => err(&pp, "must be a dotted property path such as \"total\""),
        None => err(&pp, "missing \"property\""),
    }
}

pub(crate) fn where_filters(
    v: Option<&Value>,
    path: &str,
    nodes: &mut usize,
) -> Result<Vec<Filter>, ConditionError> {
    let at = join(path, "where");
    let Some(v) = v else { return Ok(Vec::new()) };
    let items = v
        .as_array()
        .ok_or_else(|| ConditionError::new(&at, "must be an array of filters"))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let fp = format!("{at}[{i}]");
        count_node(nodes, &fp)?;
        let o = object(item, &fp, "a filter {\"property\": …, \"op\": …, \"value\": …}")?;
        check_keys(o, &fp, &["property", "op", "value"])?;
        let pp = join(&fp, "property");
        let target = match o.get("property").and_then(Value::as_str) {
            Some("$channel") => Target::Channel,
            Some(s) if s.starts_with('$') => return err(&pp, "the only special property is \"$channel\""),
            Some(s) => Target::Prop(Path::parse(s, true).map_err(|m| ConditionError::new(&pp, m))?),
            None => {
                return err(
                    &pp,
                    "must be a dotted property path (\"products.*.category\") or \"$channel\"",
                )
            }
        };
        let test = parse_test(o.get("op"), o.get("value"), &fp, Ctx::Where)?;
        out.push(Filter { target, test });
    }
    Ok(out)
}

/// `within` or `between` (at most one); none is "ever".
pub(crate) fn window(obj: &Map<String, Value>, path: &str) -> Result<Window, ConditionError> {
    match (obj.get("within"), obj.get("between")) {
        (Some(_), Some(_)) => err(&join(path, "between"), "use either within or between, not both"),
        (Some(w), None) => {
            let at = join(path, "within");
            let o = object(w, &at, "{\"minutes\"|\"hours\"|\"days\": N}")?;
            check_keys(o, &at, &["minutes", "hours", "days"])?;
            let mut units = o.iter();
            let (Some((unit, n)), None) = (units.next(), units.next()) else {
                return err(&at, "needs exactly one of minutes, hours, days");
            };
            let minutes = match unit.as_str() {
                "minutes" => 1,
                "hours" => 60,
                _ => 1_440,
            };
            match n.as_i64().and_then(|n| n.checked_mul(minutes)) {
                Some(m) if m > 0 && m <= MAX_WINDOW_MINUTES => Ok(Window::Rolling(m * 60_000)),
                _ => err(
                    &join(&at, unit),
                    "must be a positive whole number (a window of at most 36500 days)",
                ),
            }
        }
        (None, Some(b)) => {
            let at = join(path, "between");
            let pair = b.as_array().filter(|a| a.len() == 2);
            let dates = pair.map(|p| (date_value(&p[0]), date_value(&p[1])));
            match dates {
                Some((Some(a), Some(b))) if a <= b => Ok(Window::Between(a, b)),
                Some((Some(_), Some(_))) => err(&at, "needs [from, to] with from <= to"),
                _ => err(
                    &at,
                    "needs [from, to]: two dates (RFC 3339, \"YYYY-MM-DD\" or ms since the epoch)",
                ),
            }
        }
        (None, None) => Ok(Window::Ever),
    }
}

/// `{"event": name, "where": [...]}` alone: which occurrences of an event a
/// journey trigger, wait or exit criterion reacts to (no window, no measure).
pub fn parse_event_filter(json: &Value, path: &str) -> Result<EventSpec, ConditionError> {
    let obj = object(json, path, "an object with \"event\" and optional \"where\"")?;
    check_keys(obj, path, &["event", "where"])?;
    let event_name = name(obj, "event", path)?;
    let mut nodes = 0;
    let filters = where_filters(obj.get("where"), path, &mut nodes)?;
    Ok(EventSpec::new(event_name, filters, Window::Ever, Keep::Count))
}
