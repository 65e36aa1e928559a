//! The canonical form, spec keys, dependencies, computed-trait definitions.

use super::kit::cond;
use crate::condition::*;
use serde_json::{json, Value};

/// Every form of the grammar, as `docs/conditions.md` shows it.
fn every_form() -> Vec<Value> {
    vec![
        json!({"and": [{"trait": "tier", "op": "eq", "value": "gold"}, {"not": {"in_segment": "seg_3"}}]}),
        json!({"or": [{"trait": "age", "op": "between", "value": [18, 25.5]}, {"trait": "x", "op": "ne", "value": false}]}),
        json!({"trait": "address.city", "op": "in", "value": ["Lyon", "Lille", 3]}),
        json!({"trait": "tags", "op": "contains", "value": "vip"}),
        json!({"trait": "email", "op": "starts_with", "value": "ada"}),
        json!({"trait": "children.*.age", "op": "lt", "value": 3}),
        json!({"trait": "birthday", "op": "anniversary_within_next_days", "value": 7}),
        json!({"trait": "renewal", "op": "within_next_days", "value": 30}),
        json!({"trait": "signup", "op": "before", "value": "2025-01-01T00:00:00.000Z"}),
        json!({"computed": "days_since_last_order", "op": "gte", "value": 30}),
        json!({"computed": "last_order_at", "op": "more_than_days_ago", "value": 90}),
        json!({"consent": "email", "status": "unsubscribed"}),
        json!({"reachable": "sms"}),
        json!({"bucket": {"salt": "spring-test", "from": 0, "to": 50}}),
        json!({"event": "Order Completed"}),
        json!({"event": "Order Completed", "within": {"days": 30}, "count": {"op": "gte", "value": 3}}),
        json!({"event": "Product Viewed", "where": [{"property": "products.*.category", "op": "eq", "value": "shoes"},
            {"property": "$channel", "op": "in", "value": ["web", "app"]}], "within": {"hours": 12}}),
        json!({"event": "Order Completed", "between": ["2024-11-29T00:00:00.000Z", "2024-12-02T23:59:59.999Z"],
            "aggregate": {"fn": "sum", "property": "total", "op": "gt", "value": 500}}),
        json!({"event": "Order Completed", "first": {"op": "within_last_days", "value": 30}}),
        json!({"event": "Order Completed", "last": {"op": "more_than_days_ago", "value": 180}}),
        json!({"event": "Cart Viewed", "within": {"minutes": 90},
            "not_followed_by": {"event": "Order Completed", "where": [{"property": "total", "op": "gt", "value": 0}]}}),
        json!({"commerce": "in_stock_nearby", "product": {"from": "trigger"}, "within_km": 20}),
        json!({"commerce": "in_stock_nearby", "product": "runner", "within_km": 7.5}),
        json!({"commerce": "in_stock_nearby", "product": {"from": "last_viewed"}}),
        json!({"commerce": "in_stock_at_home_store", "product": {"from": "viewed"}}),
        json!({"commerce": "available_online", "product": {"from": "wishlist"}}),
        json!({"commerce": "available", "product": {"from": "cart"}}),
        json!({"commerce": "price_below_seen", "product": {"from": "trigger"}}),
    ]
}

#[test]
fn canonical_form_round_trips() {
    for v in every_form() {
        let c = cond(v.clone());
        let out = serde_json::to_value(&c).unwrap();
        assert_eq!(parse(&out), Ok(c.clone()), "{out}");
        assert_eq!(out, v, "every_form is written canonically");
    }
    // Normalised: 24 hours is a day, 5.0 is 5, dates are RFC 3339 UTC, count >= 1 is implied.
    let c = cond(
        json!({"event": "E", "within": {"hours": 48}, "count": {"op": "gte", "value": 1.0},
        "where": [{"property": "d", "op": "after", "value": "2025-03-01"}, {"property": "n", "op": "eq", "value": 5.0}]}),
    );
    let expected = json!({"event": "E", "within": {"days": 2},
        "where": [{"property": "d", "op": "after", "value": "2025-03-01T00:00:00.000Z"}, {"property": "n", "op": "eq", "value": 5}]});
    assert_eq!(serde_json::to_value(&c).unwrap(), expected);
}

#[test]
fn spec_keys_are_shared_stable_and_normalised() {
    let a = cond(json!({"event": "Order", "within": {"days": 1}, "where": [
        {"property": "a", "op": "eq", "value": 1}, {"property": "$channel", "op": "eq", "value": "web"}]}));
    let b = cond(
        json!({"or": [{"trait": "x", "op": "exists"}, {"event": "Order", "within": {"hours": 24},
        "where": [{"property": "$channel", "op": "eq", "value": "web"}, {"property": "a", "op": "eq", "value": 1.0}],
        "last": {"op": "within_last_days", "value": 1}}]}),
    );
    let (ka, kb) = (a.specs()[0].key().to_owned(), b.specs()[0].key().to_owned());
    assert_eq!(ka, kb);
    assert_eq!(ka.len(), 16);
    assert!(ka.chars().all(|c| c.is_ascii_hexdigit()));
    // Pinned: a key names stored state, so it must not change across releases.
    assert_eq!(
        cond(json!({"event": "Order Completed"})).specs()[0].key(),
        "916ee4019a104123"
    );
    let other = cond(json!({"event": "Order", "within": {"days": 2}}));
    assert_ne!(other.specs()[0].key(), ka);
    // An aggregate keeps more than a count, so it is another spec.
    let sum =
        cond(json!({"event": "Order", "aggregate": {"fn": "sum", "property": "total", "op": "exists"}}));
    assert_ne!(
        sum.specs()[0].key(),
        cond(json!({"event": "Order"})).specs()[0].key()
    );
}

#[test]
fn specs_are_deduplicated_and_include_not_followed_by() {
    let c = cond(json!({"and": [
        {"event": "Cart", "within": {"days": 1}},
        {"event": "Cart", "within": {"days": 1}, "count": {"op": "gte", "value": 2}},
        {"event": "Cart", "within": {"days": 1}, "not_followed_by": {"event": "Order"}},
    ]}));
    let specs = c.specs();
    assert_eq!(
        specs.iter().map(EventSpec::event).collect::<Vec<_>>(),
        ["Cart", "Order"]
    );
}

#[test]
fn dependencies_list_what_a_condition_reads() {
    let c = cond(json!({"and": [
        {"trait": "address.city", "op": "eq", "value": "Lyon"},
        {"trait": "signup", "op": "before", "value": "2025-01-01"},
        {"event": "Order", "not_followed_by": {"event": "Refund"}},
        {"or": [{"reachable": "email"}, {"in_segment": "seg_4"}, {"computed": "ltv", "op": "gt", "value": 3}]},
    ]}));
    let d = c.dependencies();
    assert_eq!(d.traits.iter().collect::<Vec<_>>(), ["address", "signup"]);
    assert_eq!(d.events.iter().collect::<Vec<_>>(), ["Order", "Refund"]);
    assert_eq!(d.computed.iter().collect::<Vec<_>>(), ["ltv"]);
    assert!(d.consent);
    assert_eq!(d.segments.iter().collect::<Vec<_>>(), [&SegmentId(4)]);
    assert!(d.time, "a computed trait may be DaysSince");
    let timeless = cond(
        json!({"and": [{"trait": "signup", "op": "before", "value": "2025-01-01"},
        {"event": "Order", "between": ["2025-01-01", "2025-02-01"], "last": {"op": "after", "value": "2025-01-10"}}]}),
    );
    assert!(!timeless.dependencies().time);
    for c in [
        json!({"event": "Order", "within": {"days": 3}}),
        json!({"event": "Order", "first": {"op": "within_last_days", "value": 3}}),
        json!({"trait": "birthday", "op": "anniversary_within_next_days", "value": 3}),
    ] {
        assert!(cond(c.clone()).dependencies().time, "{c}");
    }
}

#[test]
fn computed_definitions_validate_and_round_trip() {
    let bad = |v: Value, path: &str, words: &str| {
        let e = parse_computed(&v).unwrap_err();
        assert_eq!(e.path, path, "{e}");
        assert!(e.message.contains(words), "{e}");
    };
    bad(
        json!({"name": "x", "event": "E", "fn": "count", "property": "p"}),
        "property",
        "count takes no property",
    );
    bad(
        json!({"name": "x", "event": "E"}),
        "fn",
        "count, sum, min, max, avg, last, distinct",
    );
    bad(
        json!({"name": "x", "event": "E", "fn": "sum"}),
        "property",
        "missing",
    );
    bad(json!({"event": "E", "fn": "count"}), "name", "missing");
    bad(
        json!({"name": "x", "event": "E", "fn": "count", "op": "gt"}),
        "op",
        "unknown key",
    );
    bad(
        json!({"name": "x", "event": "E", "fn": "count", "within": {"days": -3}}),
        "within.days",
        "positive",
    );
    bad(
        json!({"name": "x", "event": "E", "fn": "last", "where": [{"property": "a", "op": "eq"}]}),
        "where[0].value",
        "missing",
    );
    for v in [
        json!({"name": "orders_90d", "event": "Order", "within": {"days": 90}, "fn": "count"}),
        json!({"name": "ltv", "event": "Order", "where": [{"property": "total", "op": "gt", "value": 0}], "fn": "sum", "property": "total"}),
        json!({"name": "fav", "event": "View", "between": ["2025-01-01T00:00:00.000Z", "2025-02-01T00:00:00.000Z"],
            "fn": "distinct", "property": "category"}),
    ] {
        let d = parse_computed(&v).unwrap();
        assert_eq!(serde_json::to_value(&d).unwrap(), v);
    }
}

#[test]
fn every_example_in_the_documentation_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/conditions.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let mut checked = 0;
    for block in doc.split("```json").skip(1) {
        let block = block.split("```").next().unwrap();
        for v in serde_json::Deserializer::from_str(block).into_iter::<Value>() {
            let v = v.unwrap_or_else(|e| panic!("{e} in {block}"));
            if v.get("name").is_some() {
                parse_computed(&v).unwrap_or_else(|e| panic!("{e}: {v}"));
            } else {
                cond(v);
            }
            checked += 1;
        }
    }
    // And the inline examples of the tables: every snippet that starts like a condition.
    let kinds = [
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
    for inline in doc.split('`') {
        if kinds.iter().any(|k| inline.starts_with(&format!("{{\"{k}\":"))) {
            let v: Value = serde_json::from_str(inline).unwrap_or_else(|e| panic!("{e}: {inline}"));
            cond(v);
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
}
