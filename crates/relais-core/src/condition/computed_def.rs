//! User-defined computed traits: one aggregate of one event spec, e.g.
//! `{"name": "orders_90d", "event": "Order Completed", "within": {"days": 90}, "fn": "count"}`.

use super::agg::Agg;
use super::canon::{filter_json, window_into};
use super::num::num_value;
use super::parse::{check_keys, err, name, object, value_path, where_filters, window};
use super::reference::reference_agg;
use super::spec::{Keep, Window};
use super::{AggFn, AggState, ConditionError, EventSpec, HistEvent};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

const FNS: [&str; 7] = ["count", "sum", "min", "max", "avg", "last", "distinct"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Count,
    Agg(AggFn),
    Last,
    Distinct,
}

/// A validated computed-trait definition. Serialises to its canonical JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputedDef {
    pub name: String,
    spec: EventSpec,
    func: Func,
}

/// Validates a computed-trait definition.
pub fn parse_computed(json: &Value) -> Result<ComputedDef, ConditionError> {
    let obj = object(
        json,
        "",
        "a computed trait object {\"name\", \"event\", \"fn\", …}",
    )?;
    let keys = ["name", "event", "where", "within", "between", "fn", "property"];
    check_keys(obj, "", &keys)?;
    let def_name = name(obj, "name", "")?;
    let event = name(obj, "event", "")?;
    let mut nodes = 0;
    let filters = where_filters(obj.get("where"), "", &mut nodes)?;
    let window: Window = window(obj, "")?;
    let func = match obj.get("fn").and_then(Value::as_str) {
        Some("count") => Some(Func::Count),
        Some("last") => Some(Func::Last),
        Some("distinct") => Some(Func::Distinct),
        Some(f) => AggFn::parse(f).map(Func::Agg),
        None => None,
    };
    let Some(func) = func else {
        return err("fn", format!("must be one of {}", FNS.join(", ")));
    };
    let keep = match func {
        Func::Count if obj.contains_key("property") => {
            return err("property", "count takes no property");
        }
        Func::Count => Keep::Count,
        Func::Agg(_) => Keep::Numbers(value_path(obj, "")?),
        Func::Last => Keep::Last(value_path(obj, "")?),
        Func::Distinct => Keep::Distinct(value_path(obj, "")?),
    };
    Ok(ComputedDef {
        name: def_name,
        spec: EventSpec::new(event, filters, window, keep),
        func,
    })
}

impl ComputedDef {
    /// The spec whose [`AggState`] this trait reads.
    pub fn spec(&self) -> &EventSpec {
        &self.spec
    }

    /// The value from the profile's state for [`ComputedDef::spec`] (`None`:
    /// no value; a count is 0 rather than absent).
    pub fn value(&self, agg: Option<&AggState>, now: i64) -> Option<Value> {
        let a = agg
            .map(|s| Agg::from_state(&self.spec, s, now))
            .unwrap_or_default();
        self.result(&a)
    }

    /// The value recomputed from all of the profile's events.
    pub fn reference_value(&self, events: &[HistEvent], now: i64) -> Option<Value> {
        self.result(&reference_agg(&self.spec, events, now))
    }

    fn result(&self, a: &Agg) -> Option<Value> {
        let parse = |s: &String| serde_json::from_str::<Value>(s).ok();
        match self.func {
            Func::Count => Some(Value::from(a.count)),
            Func::Agg(f) => a.value(f).map(num_value),
            Func::Last => a.last_value.as_ref().and_then(parse),
            Func::Distinct if a.distinct.is_empty() => None,
            Func::Distinct => Some(a.distinct.iter().filter_map(parse).collect()),
        }
    }
}

impl Serialize for ComputedDef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = Map::new();
        m.insert("name".into(), Value::from(self.name.as_str()));
        m.insert("event".into(), Value::from(self.spec.event.as_str()));
        if !self.spec.filters.is_empty() {
            m.insert(
                "where".into(),
                self.spec.filters.iter().map(filter_json).collect(),
            );
        }
        window_into(&mut m, self.spec.window);
        let f = match self.func {
            Func::Count => "count",
            Func::Agg(f) => f.name(),
            Func::Last => "last",
            Func::Distinct => "distinct",
        };
        m.insert("fn".into(), Value::from(f));
        if let Keep::Numbers(p) | Keep::Last(p) | Keep::Distinct(p) = &self.spec.keep {
            m.insert("property".into(), Value::from(p.raw()));
        }
        Value::Object(m).serialize(s)
    }
}
