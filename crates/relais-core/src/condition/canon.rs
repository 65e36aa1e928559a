//! Canonical JSON: what a condition, a spec or a computed trait serialises
//! to, and the byte-stable text that spec keys hash. Object keys are written
//! sorted whatever `serde_json`'s map order is, and durations are normalised
//! (`{"hours": 24}` is `{"days": 1}`), so equal specs hash equal across
//! conditions and releases.

use super::dates::DAY;
use super::spec::{Filter, Keep, Target, Window};
use super::{Condition, EventSpec, Measure, Node};
use crate::time::format_ms;
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};

/// FNV-1a, 64 bits: stable, dependency-free, good enough to spread keys.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// JSON text with object keys sorted at every level.
pub(crate) fn canonical_string(v: &Value) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                write(&m[k], out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn test_into(m: &mut Map<String, Value>, t: &super::ops::Test) {
    m.insert("op".into(), Value::from(t.name()));
    if let Some(v) = t.value_json() {
        m.insert("value".into(), v);
    }
}

pub(crate) fn filter_json(f: &Filter) -> Value {
    let property = match &f.target {
        Target::Channel => "$channel",
        Target::Prop(p) => p.raw(),
    };
    let mut m = Map::new();
    m.insert("property".into(), Value::from(property));
    test_into(&mut m, &f.test);
    Value::Object(m)
}

fn filters_json(fs: &[Filter]) -> Value {
    fs.iter().map(filter_json).collect()
}

/// The window as a condition writes it (`within` / `between`), if any.
pub(crate) fn window_into(m: &mut Map<String, Value>, w: Window) {
    match w {
        Window::Ever => {}
        Window::Rolling(ms) => {
            let (unit, n) = if ms % DAY == 0 {
                ("days", ms / DAY)
            } else if ms % 3_600_000 == 0 {
                ("hours", ms / 3_600_000)
            } else {
                ("minutes", ms / 60_000)
            };
            m.insert("within".into(), json!({ unit: n }));
        }
        Window::Between(a, b) => {
            m.insert("between".into(), json!([format_ms(a), format_ms(b)]));
        }
    }
}

/// The form a spec key hashes. Never change it: keys name stored state.
pub(crate) fn spec_json(s: &EventSpec) -> Value {
    let window = match s.window {
        Window::Ever => json!("ever"),
        Window::Rolling(ms) => json!({ "within_ms": ms }),
        Window::Between(a, b) => json!({ "between_ms": [a, b] }),
    };
    let keep = match &s.keep {
        Keep::Count => json!("count"),
        Keep::Numbers(p) => json!({ "numbers": p.raw() }),
        Keep::Last(p) => json!({ "last": p.raw() }),
        Keep::Distinct(p) => json!({ "distinct": p.raw() }),
    };
    json!({ "event": s.event, "where": filters_json(&s.filters), "window": window, "keep": keep })
}

fn event_json(s: &EventSpec, m: &mut Map<String, Value>) {
    m.insert("event".into(), Value::from(s.event.as_str()));
    if !s.filters.is_empty() {
        m.insert("where".into(), filters_json(&s.filters));
    }
}

pub(crate) fn node_json(n: &Node) -> Value {
    match n {
        Node::And(cs) => json!({ "and": cs.iter().map(node_json).collect::<Vec<_>>() }),
        Node::Or(cs) => json!({ "or": cs.iter().map(node_json).collect::<Vec<_>>() }),
        Node::Not(c) => json!({ "not": node_json(c) }),
        Node::Trait { path, test } => {
            let mut m = Map::new();
            m.insert("trait".into(), Value::from(path.raw()));
            test_into(&mut m, test);
            Value::Object(m)
        }
        Node::Computed { name, test } => {
            let mut m = Map::new();
            m.insert("computed".into(), Value::from(name.as_str()));
            test_into(&mut m, test);
            Value::Object(m)
        }
        Node::Event(ev) => {
            let mut m = Map::new();
            event_json(&ev.spec, &mut m);
            window_into(&mut m, ev.spec.window);
            let mut inner = Map::new();
            let key = match &ev.measure {
                Measure::Count(t) if *t == super::parse::default_count() => None,
                Measure::Count(t) => Some(("count", t)),
                Measure::Aggregate { func, test } => {
                    inner.insert("fn".into(), Value::from(func.name()));
                    if let Keep::Numbers(p) = &ev.spec.keep {
                        inner.insert("property".into(), Value::from(p.raw()));
                    }
                    Some(("aggregate", test))
                }
                Measure::First(t) => Some(("first", t)),
                Measure::Last(t) => Some(("last", t)),
                Measure::NotFollowedBy(f) => {
                    event_json(f, &mut inner);
                    m.insert("not_followed_by".into(), Value::Object(inner));
                    return Value::Object(m);
                }
            };
            if let Some((key, test)) = key {
                test_into(&mut inner, test);
                m.insert(key.into(), Value::Object(inner));
            }
            Value::Object(m)
        }
        Node::Consent { channel, status } => json!({ "consent": channel, "status": status }),
        Node::Reachable { channel } => json!({ "reachable": channel }),
        Node::InSegment(s) => json!({ "in_segment": s.to_string() }),
        Node::Bucket { salt, from, to } => json!({ "bucket": { "salt": salt, "from": from, "to": to } }),
        Node::Commerce(cc) => super::commerce::to_json(cc),
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        node_json(&self.root).serialize(s)
    }
}

impl Serialize for EventSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        spec_json(self).serialize(s)
    }
}
