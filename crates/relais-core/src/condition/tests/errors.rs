//! Validation: every error names its node (`and[1].where[0].op`) and says
//! what is allowed; the limits on depth and size.

use crate::condition::*;
use serde_json::{json, Value};

fn error(v: Value) -> ConditionError {
    match parse(&v) {
        Ok(c) => panic!("accepted {v}: {c:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn rejects(v: Value, path: &str, words: &str) {
    let e = error(v);
    assert_eq!(e.path, path, "{e}");
    assert!(e.message.contains(words), "{e:?} lacks {words:?}");
}

#[test]
fn every_error_names_its_node() {
    let t = json!({"trait": "a", "op": "exists"});
    rejects(json!(5), "", "expected a condition object");
    rejects(json!({}), "", "one of: and, or, not");
    rejects(json!({"and": []}), "and", "non-empty array");
    rejects(json!({"or": {}}), "or", "non-empty array");
    rejects(json!({"not": [t]}), "not", "expected a condition object");
    rejects(json!({"trait": "a", "computed": "b"}), "computed", "one kind");
    rejects(
        json!({"trait": "a", "op": "eq", "value": 1, "extra": 1}),
        "extra",
        "unknown key \"extra\"; allowed here: trait, op, value",
    );
    rejects(json!({"trait": "a..b", "op": "exists"}), "trait", "empty segment");
    rejects(
        json!({"trait": "*.b", "op": "exists"}),
        "trait",
        "starts with a trait name",
    );
    rejects(json!({"trait": 3, "op": "exists"}), "trait", "dotted trait path");
    rejects(json!({"trait": "a"}), "op", "missing \"op\"");
    rejects(json!({"trait": "a", "op": 1}), "op", "must be a string");
    rejects(
        json!({"trait": "a", "op": "like", "value": 1}),
        "op",
        "unknown in a trait test; allowed: eq, ne",
    );
    rejects(
        json!({"trait": "a", "op": "eq"}),
        "value",
        "missing value: eq needs a string, number or boolean",
    );
    rejects(
        json!({"trait": "a", "op": "eq", "value": null}),
        "value",
        "eq needs a string, number or boolean, got null",
    );
    rejects(
        json!({"trait": "a", "op": "exists", "value": 1}),
        "value",
        "exists takes no value",
    );
    rejects(
        json!({"trait": "a", "op": "not_exists", "value": 1}),
        "value",
        "not_exists takes no value",
    );
    rejects(
        json!({"trait": "a", "op": "gt", "value": "5"}),
        "value",
        "gt needs a number, got a string",
    );
    rejects(
        json!({"trait": "a", "op": "between", "value": [5, 1]}),
        "value",
        "low <= high",
    );
    rejects(
        json!({"trait": "a", "op": "between", "value": [1]}),
        "value",
        "two numbers",
    );
    rejects(
        json!({"trait": "a", "op": "starts_with", "value": 1}),
        "value",
        "needs a string",
    );
    rejects(
        json!({"trait": "a", "op": "in", "value": "x"}),
        "value",
        "an array",
    );
    rejects(
        json!({"trait": "a", "op": "in", "value": [1, [2]]}),
        "value[1]",
        "got an array",
    );
    let many: Vec<i64> = (0..10_001).collect();
    rejects(
        json!({"trait": "a", "op": "in", "value": many}),
        "value",
        "at most 10000 items",
    );
    rejects(
        json!({"trait": "a", "op": "before", "value": "soon"}),
        "value",
        "a date",
    );
    rejects(
        json!({"trait": "a", "op": "within_last_days", "value": -1}),
        "value",
        "whole number of days",
    );
    rejects(
        json!({"trait": "a", "op": "more_than_days_ago", "value": 1.5}),
        "value",
        "whole number of days",
    );
    rejects(
        json!({"computed": "", "op": "exists"}),
        "computed",
        "non-empty string",
    );
    rejects(
        json!({"consent": "email", "status": "maybe"}),
        "status",
        "subscribed, unsubscribed, unknown",
    );
    rejects(json!({"reachable": "fax"}), "reachable", "email, push, in_app");
    rejects(json!({"in_segment": "prof_1"}), "in_segment", "seg_12");
    rejects(
        json!({"bucket": {"salt": "s", "from": 50, "to": 50}}),
        "bucket.to",
        "from < to",
    );
    rejects(
        json!({"bucket": {"salt": "s", "from": 0, "to": 101}}),
        "bucket.to",
        "0 to 100",
    );
    rejects(
        json!({"bucket": {"salt": "s", "from": 0, "to": 10, "x": 1}}),
        "bucket.x",
        "unknown key",
    );
    rejects(json!({"bucket": {"from": 0, "to": 10}}), "bucket.salt", "string");
}

#[test]
fn event_errors_name_their_node() {
    let at = |inner: Value| json!({"and": [{"trait": "a", "op": "exists"}, inner]});
    rejects(
        at(json!({"event": "X", "where": [{"property": "a", "op": "bogus", "value": 1}]})),
        "and[1].where[0].op",
        "unknown",
    );
    rejects(json!({"event": ""}), "event", "non-empty string");
    rejects(
        json!({"event": "X", "within": {"days": -1}}),
        "within.days",
        "positive whole number",
    );
    rejects(
        json!({"event": "X", "within": {"days": 0}}),
        "within.days",
        "positive whole number",
    );
    rejects(
        json!({"event": "X", "within": {"days": 40_000}}),
        "within.days",
        "36500 days",
    );
    let huge = json!({"event": "X", "within": {"minutes": i64::MAX}});
    rejects(huge, "within.minutes", "36500 days");
    rejects(
        json!({"event": "X", "within": {"days": 1, "hours": 2}}),
        "within",
        "exactly one of",
    );
    rejects(
        json!({"event": "X", "within": {"weeks": 1}}),
        "within.weeks",
        "unknown key",
    );
    rejects(
        json!({"event": "X", "between": ["2025-02-01", "2025-01-01"]}),
        "between",
        "from <= to",
    );
    rejects(
        json!({"event": "X", "between": ["2025-02-01"]}),
        "between",
        "two dates",
    );
    rejects(
        json!({"event": "X", "within": {"days": 1}, "between": ["2025-01-01", "2025-01-02"]}),
        "between",
        "either",
    );
    rejects(json!({"event": "X", "where": {}}), "where", "array of filters");
    rejects(
        json!({"event": "X", "where": [{"property": "$foo", "op": "exists"}]}),
        "where[0].property",
        "$channel",
    );
    rejects(
        json!({"event": "X", "where": [{"op": "exists"}]}),
        "where[0].property",
        "dotted property path",
    );
    let relative = json!({"event": "X", "where": [{"property": "d", "op": "within_last_days", "value": 3}]});
    rejects(relative, "where[0].op", "not allowed in a where filter");
    rejects(
        json!({"event": "X", "count": {"op": "contains", "value": 1}}),
        "count.op",
        "not allowed in count",
    );
    rejects(
        json!({"event": "X", "count": {"op": "eq", "value": "1"}}),
        "count.value",
        "eq needs a number",
    );
    rejects(
        json!({"event": "X", "count": {"op": "gte"}}),
        "count.value",
        "missing value",
    );
    rejects(
        json!({"event": "X", "count": 3}),
        "count",
        "an object with op and value",
    );
    let two = json!({"event": "X", "count": {"op": "gte", "value": 1}, "last": {"op": "before", "value": 1}});
    rejects(two, "last", "at most one of count, aggregate");
    let agg = |a: Value| json!({"event": "X", "aggregate": a});
    rejects(
        agg(json!({"fn": "median", "property": "p", "op": "gt", "value": 1})),
        "aggregate.fn",
        "sum, avg, min, max",
    );
    rejects(
        agg(json!({"fn": "sum", "property": "p.*", "op": "gt", "value": 1})),
        "aggregate.property",
        "`*`",
    );
    rejects(
        agg(json!({"fn": "sum", "op": "gt", "value": 1})),
        "aggregate.property",
        "missing",
    );
    rejects(
        agg(json!({"fn": "sum", "property": "p", "op": "eq", "value": "x"})),
        "aggregate.value",
        "a number",
    );
    rejects(
        agg(json!({"fn": "sum", "property": "p", "op": "contains", "value": 1})),
        "aggregate.op",
        "not allowed",
    );
    rejects(
        json!({"event": "X", "first": {"op": "gt", "value": 3}}),
        "first.op",
        "allowed: before, after",
    );
    rejects(
        json!({"event": "X", "last": {"op": "within_next_days", "value": 3}}),
        "last.op",
        "not allowed in first/last",
    );
    rejects(
        json!({"event": "X", "not_followed_by": {"where": []}}),
        "not_followed_by.event",
        "missing",
    );
    let nf = json!({"event": "X", "not_followed_by": {"event": "Y", "within": {"days": 1}}});
    rejects(nf, "not_followed_by.within", "unknown key");
}

#[test]
fn limits_on_depth_and_size() {
    let mut deep = json!({"trait": "a", "op": "exists"});
    for _ in 0..32 {
        deep = json!({ "not": deep });
    }
    rejects(deep.clone(), &["not"; 32].join("."), "deeper than 32");
    assert!(parse(&deep["not"]).is_ok());
    let leaves: Vec<Value> = (0..500).map(|_| json!({"trait": "a", "op": "exists"})).collect();
    rejects(json!({ "or": leaves }), "or[499]", "at most 500");
    let leaves: Vec<Value> = (0..499).map(|_| json!({"trait": "a", "op": "exists"})).collect();
    assert!(parse(&json!({ "or": leaves })).is_ok());
}

#[test]
fn errors_display_with_their_path_and_map_to_invalid_condition() {
    let e = error(
        json!({"and": [{"trait": "a", "op": "exists"}, {"event": "X", "where": [{"property": "a", "op": "x"}]}]}),
    );
    assert!(
        e.to_string()
            .starts_with("at and[1].where[0].op: op \"x\" is unknown"),
        "{e}"
    );
    assert!(error(json!(1)).to_string().starts_with("at (root): expected"));
    let err: crate::Error = e.into();
    assert_eq!(err.code, crate::ErrorCode::InvalidCondition);
}
