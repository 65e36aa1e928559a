//! Random conditions, computed traits, facts and events for the
//! differential test, from a seeded SplitMix64 (stable across dependency
//! upgrades, so a failing seed stays reproducible).

use super::kit::*;
use crate::computed::Computed;
use crate::condition::*;
use crate::profile::ConsentStatus;
use crate::time::format_ms;
use serde_json::{json, Value};

/// SplitMix64: small, seedable, and stable across dependency upgrades.
pub(super) struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

pub(super) const EVENTS: [&str; 4] = ["View", "Cart", "Order", "Refund"];
pub(super) const CHANNELS: [&str; 4] = ["web", "app", "store", "email"];
const CATS: [&str; 3] = ["shoes", "bags", "hats"];

fn date(r: &mut Rng, days_lo: i64, days_hi: i64) -> Value {
    let t = T0 + r.range(days_lo * DAY, days_hi * DAY);
    if r.chance(50) {
        json!(format_ms(t)[..10])
    } else {
        json!(format_ms(t))
    }
}

fn amount(r: &mut Rng) -> Value {
    match r.below(7) {
        0 => json!(r.range(0, 200)),
        1 | 2 => json!(r.range(0, 2000) as f64 / 10.0),
        3 => json!(r.range(0, 200).to_string()),
        4 => json!("n/a"),
        5 => Value::Null,
        _ => json!(r.range(0, 50) as f64 * 0.25),
    }
}

pub(super) fn props(r: &mut Rng) -> Value {
    let mut p = serde_json::Map::new();
    if r.chance(80) {
        p.insert("total".into(), amount(r));
    }
    if r.chance(70) {
        p.insert("category".into(), json!(r.pick(&CATS)));
    }
    if r.chance(60) {
        let products: Vec<Value> = (0..r.below(4))
            .map(|_| json!({"category": r.pick(&CATS), "price": amount(r)}))
            .collect();
        p.insert("products".into(), json!(products));
    }
    if r.chance(40) {
        p.insert("meta".into(), json!({"coupon": r.chance(50)}));
    }
    if r.chance(40) {
        p.insert("ship".into(), date(r, -20, 40));
    }
    Value::Object(p)
}

fn filter(r: &mut Rng) -> Value {
    match r.below(10) {
        0 => json!({"property": "category", "op": "eq", "value": r.pick(&CATS)}),
        1 => json!({"property": "$channel", "op": "in", "value": [r.pick(&CHANNELS), r.pick(&CHANNELS)]}),
        2 => json!({"property": "total", "op": "gt", "value": r.range(0, 150)}),
        3 => json!({"property": "products.*.category", "op": "eq", "value": r.pick(&CATS)}),
        4 => json!({"property": "products.0.price", "op": "lte", "value": r.range(0, 100)}),
        5 => json!({"property": "meta.coupon", "op": "eq", "value": true}),
        6 => json!({"property": "ship", "op": "before", "value": date(r, -10, 30)}),
        7 => json!({"property": "category", "op": "ne", "value": r.pick(&CATS)}),
        8 => json!({"property": "total", "op": "exists"}),
        _ => json!({"property": "category", "op": "starts_with", "value": "b"}),
    }
}

fn window(r: &mut Rng, o: &mut serde_json::Map<String, Value>) {
    match r.below(10) {
        0..=2 => {}
        3 => _ = o.insert("within".into(), json!({"minutes": r.range(1, 600)})),
        4 | 5 => _ = o.insert("within".into(), json!({"hours": r.range(1, 72)})),
        6 | 7 => _ = o.insert("within".into(), json!({"days": r.range(1, 30)})),
        _ => {
            let a = r.range(-5, 30);
            let b = a + r.range(0, 20);
            o.insert("between".into(), json!([date(r, a, a), date(r, b, b)]));
        }
    }
}

fn numeric_test(r: &mut Rng, ops: &[&str], lo: i64, hi: i64) -> Value {
    let op = *r.pick(ops);
    let n = |r: &mut Rng| {
        if r.chance(50) {
            json!(r.range(lo, hi))
        } else {
            json!(r.range(lo * 10, hi * 10) as f64 / 10.0)
        }
    };
    match op {
        "exists" | "not_exists" => json!({"op": op}),
        "between" => {
            let a = r.range(lo, hi);
            json!({"op": op, "value": [a, a + r.range(0, hi - lo)]})
        }
        "in" => json!({"op": op, "value": [n(r), n(r), r.range(lo, hi)]}),
        _ => json!({"op": op, "value": n(r)}),
    }
}

fn date_test(r: &mut Rng, ops: &[&str]) -> Value {
    let op = *r.pick(ops);
    match op {
        "before" | "after" => json!({"op": op, "value": date(r, -10, 60)}),
        _ => json!({"op": op, "value": r.range(0, 12)}),
    }
}

fn event_cond(r: &mut Rng) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("event".into(), json!(r.pick(&EVENTS)));
    let n = r.below(3);
    if n > 0 {
        o.insert("where".into(), (0..n).map(|_| filter(r)).collect());
    }
    window(r, &mut o);
    let num_ops = ["eq", "ne", "gt", "gte", "lt", "lte", "between"];
    let agg_ops = [
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
    let time_ops = ["before", "after", "within_last_days", "more_than_days_ago"];
    match r.below(7) {
        0 => {}
        1 | 2 => _ = o.insert("count".into(), numeric_test(r, &num_ops, 0, 4)),
        3 => {
            let mut a = numeric_test(r, &agg_ops, 0, 300);
            a["fn"] = json!(r.pick(&["sum", "avg", "min", "max"]));
            a["property"] = json!(r.pick(&["total", "products.0.price"]));
            o.insert("aggregate".into(), a);
        }
        4 => _ = o.insert("first".into(), date_test(r, &time_ops)),
        5 => _ = o.insert("last".into(), date_test(r, &time_ops)),
        _ => {
            let mut f = json!({"event": r.pick(&EVENTS)});
            if r.chance(40) {
                f["where"] = json!([filter(r)]);
            }
            o.insert("not_followed_by".into(), f);
        }
    }
    Value::Object(o)
}

fn leaf(r: &mut Rng) -> Value {
    let value_ops = [
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
    match r.below(20) {
        0..=9 => event_cond(r),
        10 => json!({"trait": "tier", "op": r.pick(&["eq", "ne"]), "value": r.pick(&["gold", "silver"])}),
        11 => {
            json!({"trait": r.pick(&["age", "address.city", "tags"]), "op": r.pick(&["exists", "not_exists"])})
        }
        12 => json!({"trait": "age", "op": r.pick(&["gt", "lte"]), "value": r.range(18, 70)}),
        13 => json!({"trait": "tags", "op": "contains", "value": r.pick(&["vip", "new"])}),
        14 => {
            let (name, ops): (&str, &[&str]) = match r.below(3) {
                0 => ("birthday", &["anniversary_within_next_days"]),
                1 => (
                    "last_visit",
                    &["within_last_days", "more_than_days_ago", "before", "after"],
                ),
                _ => ("renewal", &["within_next_days", "after", "within_last_days"]),
            };
            let mut t = date_test(r, ops);
            if t["op"] == "anniversary_within_next_days" {
                t["value"] = json!(r.range(0, 400));
            }
            t["trait"] = json!(name);
            t
        }
        15 => {
            let mut t = if r.chance(25) {
                date_test(r, &["within_last_days", "more_than_days_ago"])
            } else {
                numeric_test(r, &value_ops, 0, 40)
            };
            t["computed"] = json!(r.pick(&["days_since_order", "ltv", "missing"]));
            t
        }
        16 => {
            json!({"consent": r.pick(&["email", "sms"]), "status": r.pick(&["subscribed", "unsubscribed", "unknown"])})
        }
        17 => json!({"reachable": r.pick(&["email", "sms", "push"])}),
        18 => json!({"in_segment": r.pick(&["seg_1", "seg_2"])}),
        _ => {
            let from = r.range(0, 99);
            json!({"bucket": {"salt": r.pick(&["a", "b"]), "from": from, "to": r.range(from + 1, 100)}})
        }
    }
}

pub(super) fn tree(r: &mut Rng, depth: u32) -> Value {
    if depth >= 4 || !r.chance(40) {
        return leaf(r);
    }
    match r.below(5) {
        0 => json!({"not": tree(r, depth + 1)}),
        k => {
            let children: Vec<Value> = (0..r.range(1, 3)).map(|_| tree(r, depth + 1)).collect();
            let mut o = serde_json::Map::new();
            o.insert(if k % 2 == 0 { "and" } else { "or" }.into(), json!(children));
            Value::Object(o)
        }
    }
}

pub(super) fn computed_def(r: &mut Rng) -> ComputedDef {
    let mut o = serde_json::Map::new();
    o.insert("name".into(), json!("c"));
    o.insert("event".into(), json!(r.pick(&EVENTS)));
    if r.chance(50) {
        o.insert("where".into(), json!([filter(r)]));
    }
    window(r, &mut o);
    let f = *r.pick(&["count", "sum", "min", "max", "avg", "last", "distinct"]);
    o.insert("fn".into(), json!(f));
    if f != "count" {
        let paths: &[&str] = if matches!(f, "last" | "distinct") {
            &["category", "total", "products.0.category", "meta"]
        } else {
            &["total", "products.0.price"]
        };
        o.insert("property".into(), json!(r.pick(paths)));
    }
    parse_computed(&Value::Object(o)).unwrap()
}

pub(super) fn facts(r: &mut Rng) -> Fx {
    let candidates = [
        ("tier", json!(r.pick(&["gold", "silver"]))),
        (
            "age",
            if r.chance(50) {
                json!(r.range(10, 80))
            } else {
                json!(r.range(10, 80).to_string())
            },
        ),
        ("address", json!({"city": r.pick(&["Lyon", "Lille"])})),
        ("tags", json!([r.pick(&["vip", "new", "old"])])),
        ("birthday", date(r, -20_000, -3_000)),
        ("last_visit", date(r, -40, 20)),
        ("renewal", date(r, -10, 60)),
    ];
    let traits: serde_json::Map<String, Value> = candidates
        .into_iter()
        .filter(|_| r.chance(75))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let mut fx = Fx::with_traits(Value::Object(traits));
    fx.profile_id = r.range(1, 1_000_000);
    if r.chance(70) {
        let t0 = T0 + r.range(-40 * DAY, 10 * DAY);
        fx.computed
            .insert("days_since_order".into(), Computed::DaysSince(t0));
    }
    fx.computed
        .insert("ltv".into(), Computed::Value(json!(r.range(0, 40))));
    for ch in ["email", "sms"] {
        let statuses = [
            ConsentStatus::Subscribed,
            ConsentStatus::Unsubscribed,
            ConsentStatus::Unknown,
        ];
        if r.chance(70) {
            fx.state.set_consent(ch, *r.pick(&statuses), "web", 0);
        }
    }
    fx.addresses = ["email", "sms", "push"]
        .into_iter()
        .filter(|_| r.chance(60))
        .map(String::from)
        .collect();
    fx.segments = [SegmentId(1), SegmentId(2)]
        .into_iter()
        .filter(|_| r.chance(50))
        .collect();
    fx
}
