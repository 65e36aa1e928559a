//! Evaluation of every operator and every non-event leaf, with next_check.

use super::kit::*;
use crate::computed::Computed;
use crate::condition::*;
use serde_json::{json, Value};

/// The verdict of a trait test on `traits` at T0 (both evaluators).
fn on(traits: Value, test: Value) -> bool {
    both(&cond(test), &Fx::with_traits(traits), &[], T0).matched
}

#[test]
fn value_operators() {
    let p = json!({"n": 42, "f": 2.5, "s": "42", "name": "Ada Lovelace", "tags": ["vip", 3], "gone": null,
        "address": {"city": "Lyon"}, "kids": [{"age": 2}, {"age": 9}], "ok": true});
    let t = |path: &str, op: &str, v: Value| on(p.clone(), json!({"trait": path, "op": op, "value": v}));
    let e = |path: &str, op: &str| on(p.clone(), json!({"trait": path, "op": op}));
    assert!(t("n", "eq", json!(42)) && t("n", "eq", json!(42.0)) && t("ok", "eq", json!(true)));
    assert!(!t("s", "eq", json!(42)), "eq on a string is exact");
    assert!(t("s", "eq", json!("42")) && !t("name", "eq", json!("ada lovelace")));
    assert!(t("n", "ne", json!(41)) && !t("n", "ne", json!(42)));
    assert!(
        t("missing", "ne", json!(1)) && t("gone", "ne", json!(1)),
        "ne holds when absent"
    );
    assert!(t("n", "gt", json!(41.5)) && !t("n", "gt", json!(42)) && t("n", "gte", json!(42)));
    assert!(
        t("s", "gt", json!(41)) && t("s", "lte", json!(42)),
        "a numeric string compares as a number"
    );
    assert!(t("f", "lt", json!(3)) && !t("name", "lt", json!(3)) && !t("missing", "lt", json!(3)));
    assert!(
        t("n", "between", json!([42, 50]))
            && t("n", "between", json!([0, 42]))
            && !t("f", "between", json!([3, 4]))
    );
    assert!(t("name", "contains", json!("Love")) && !t("name", "contains", json!("love")));
    assert!(
        t("tags", "contains", json!("vip"))
            && t("tags", "contains", json!(3))
            && !t("tags", "contains", json!("v"))
    );
    assert!(t("name", "starts_with", json!("Ada")) && !t("tags", "starts_with", json!("v")));
    assert!(e("n", "exists") && !e("gone", "exists") && !e("missing", "exists"));
    assert!(e("gone", "not_exists") && !e("address.city", "not_exists"));
    assert!(t("address.city", "in", json!(["Lille", "Lyon"])) && !t("address.city", "in", json!([])));
    assert!(t("n", "in", json!([1, 42.0])));
    assert!(
        t("kids.*.age", "gt", json!(5)) && !t("kids.*.age", "gt", json!(9)),
        "any element"
    );
    assert!(
        t("kids.1.age", "eq", json!(9)) && !t("kids.*.age", "ne", json!(9)),
        "ne: no element equal"
    );
}

#[test]
fn date_operators_and_when_they_flip() {
    let now = ms("2025-06-15T12:00:00Z");
    let p = json!({"past": "2025-06-10T12:00:00Z", "day": "2025-06-20", "ms": ms("2025-06-14T00:00:00Z"),
        "birthday": "1990-06-18", "junk": "soon"});
    let fx = Fx::with_traits(p);
    let run = |test: Value| both(&cond(test), &fx, &[], now);
    let t = |path: &str, op: &str, v: Value| run(json!({"trait": path, "op": op, "value": v}));
    let o = |m: bool, n: Option<&str>| Outcome {
        matched: m,
        next_check: n.map(ms),
    };
    assert_eq!(t("past", "before", json!("2025-06-11")), o(true, None));
    assert_eq!(t("ms", "after", json!("2025-06-13")), o(true, None));
    assert_eq!(t("junk", "before", json!("2030-01-01")), o(false, None));
    assert_eq!(
        t("past", "within_last_days", json!(5)),
        o(true, Some("2025-06-15T12:00:00.001Z"))
    );
    assert_eq!(t("past", "within_last_days", json!(4)), o(false, None));
    assert_eq!(
        t("day", "within_last_days", json!(4)),
        o(false, Some("2025-06-20")),
        "future: true from then"
    );
    assert_eq!(
        t("day", "within_next_days", json!(5)),
        o(true, Some("2025-06-20T00:00:00.001Z"))
    );
    assert_eq!(
        t("day", "within_next_days", json!(2)),
        o(false, Some("2025-06-18"))
    );
    assert_eq!(t("past", "within_next_days", json!(9)), o(false, None));
    assert_eq!(t("past", "more_than_days_ago", json!(4)), o(true, None));
    assert_eq!(
        t("past", "more_than_days_ago", json!(5)),
        o(false, Some("2025-06-15T12:00:00.001Z"))
    );
    assert_eq!(
        t("ms", "more_than_days_ago", json!(2)),
        o(false, Some("2025-06-16T00:00:00.001Z"))
    );
    assert_eq!(
        t("birthday", "anniversary_within_next_days", json!(3)),
        o(true, Some("2025-06-19"))
    );
    assert_eq!(
        t("birthday", "anniversary_within_next_days", json!(2)),
        o(false, Some("2025-06-16"))
    );
    // and/or/not: a decided `and` waits for every false child; an undecided one for the first flip.
    let w = |n: i64| json!({"trait": "past", "op": "more_than_days_ago", "value": n});
    assert_eq!(
        run(json!({"and": [w(5), w(6)]})),
        o(false, Some("2025-06-16T12:00:00.001Z"))
    );
    assert_eq!(
        run(json!({"and": [w(5), {"trait": "nope", "op": "exists"}]})),
        o(false, None)
    );
    assert_eq!(
        run(json!({"or": [w(5), w(6)]})),
        o(false, Some("2025-06-15T12:00:00.001Z"))
    );
    assert_eq!(
        run(json!({"not": w(5)})),
        o(true, Some("2025-06-15T12:00:00.001Z"))
    );
}

#[test]
fn computed_values_and_days_since() {
    let t0 = ms("2025-06-01T08:00:00Z");
    let mut fx = Fx::default();
    fx.computed.insert("days".into(), Computed::DaysSince(t0));
    fx.computed.insert("ltv".into(), Computed::Value(json!(120.5)));
    fx.computed.insert("nothing".into(), Computed::Value(Value::Null));
    let now = t0 + 10 * DAY + 5;
    let run = |name: &str, op: &str, v: Option<Value>| {
        let mut c = json!({"computed": name, "op": op});
        if let Some(v) = v {
            c["value"] = v;
        }
        both(&cond(c), &fx, &[], now)
    };
    let o = |m: bool, n: Option<i64>| Outcome {
        matched: m,
        next_check: n,
    };
    assert_eq!(run("days", "eq", Some(json!(10))), o(true, Some(t0 + 11 * DAY)));
    assert_eq!(run("days", "gt", Some(json!(30))), o(false, Some(t0 + 31 * DAY)));
    assert_eq!(run("days", "lt", Some(json!(30))), o(true, Some(t0 + 30 * DAY)));
    assert_eq!(
        run("days", "between", Some(json!([12, 14]))),
        o(false, Some(t0 + 12 * DAY))
    );
    assert_eq!(run("days", "exists", None), o(true, None));
    assert_eq!(
        run("days", "within_last_days", Some(json!(10))),
        o(false, None),
        "date tests read t0"
    );
    assert_eq!(run("days", "more_than_days_ago", Some(json!(10))), o(true, None));
    assert_eq!(run("ltv", "gte", Some(json!(120.5))), o(true, None));
    assert_eq!(run("nothing", "not_exists", None), o(true, None));
    assert_eq!(run("unknown", "ne", Some(json!(3))), o(true, None));
}

#[test]
fn consent_reachability_segments_and_buckets() {
    use crate::profile::ConsentStatus::*;
    let mut fx = Fx::default();
    fx.state.set_consent("Email", Unknown, "web", 1);
    fx.state.set_consent("sms", Unknown, "web", 1);
    fx.state.set_consent("push", Unsubscribed, "web", 1);
    fx.addresses = ["email", "sms", "push", "whatsapp"].map(String::from).into();
    fx.segments.insert(SegmentId(3));
    let m = |fx: &Fx, v: Value| both(&cond(v), fx, &[], T0).matched;
    assert!(m(&fx, json!({"consent": "email", "status": "unknown"})));
    assert!(
        m(&fx, json!({"consent": "direct_mail", "status": "unknown"})),
        "no record is unknown"
    );
    assert!(m(&fx, json!({"consent": "push", "status": "unsubscribed"})));
    assert!(
        m(&fx, json!({"reachable": "email"})),
        "email: not unsubscribed is enough"
    );
    assert!(!m(&fx, json!({"reachable": "sms"})), "sms needs an opt-in");
    assert!(!m(&fx, json!({"reachable": "push"})));
    assert!(!m(&fx, json!({"reachable": "in_app"})), "no address");
    fx.state.set_consent("sms", Subscribed, "web", 2);
    assert!(m(&fx, json!({"reachable": "sms"})));
    assert!(m(&fx, json!({"in_segment": "seg_3"})) && !m(&fx, json!({"in_segment": "seg_4"})));
    // FNV-1a 64 of "<salt>:<profile id>" mod 100; stable, and spread evenly.
    assert_eq!(leaf::bucket_of("", 0), 43, "0x081e1407b4da01c7 % 100");
    let mut counts = [0u32; 100];
    for id in 0..20_000 {
        counts[leaf::bucket_of("spring", id) as usize] += 1;
    }
    assert!(counts.iter().all(|c| (120..=280).contains(c)), "{counts:?}");
    let in_half = (0..1000).filter(|id| {
        let fx = Fx {
            profile_id: *id,
            ..Fx::default()
        };
        both(
            &cond(json!({"bucket": {"salt": "spring", "from": 0, "to": 50}})),
            &fx,
            &[],
            T0,
        )
        .matched
    });
    assert!((400..600).contains(&in_half.count()));
}
