//! Event conditions: filters, windows at their boundaries, measures,
//! next_check, the storage caps, computed traits.

use super::kit::*;
use crate::condition::*;
use serde_json::{json, Value};

fn order(ts: i64, channel: &str, props: Value) -> Ev {
    Ev::new("Order", ts, channel, props)
}

#[test]
fn event_counts_filters_and_windows() {
    let fx = Fx::default();
    let evs = [
        order(
            T0,
            "web",
            json!({"total": 30, "products": [{"category": "shoes"}, {"category": "bags"}]}),
        ),
        order(
            T0 + HOUR,
            "store",
            json!({"total": "20", "products": [{"category": "hats"}]}),
        ),
        order(T0 + 2 * HOUR, "web", json!({"total": 5.5})),
        Ev::new("Refund", T0 + 3 * HOUR, "web", json!({})),
    ];
    let now = T0 + 2 * HOUR;
    let m = |v: Value, at: i64| both(&cond(v), &fx, &evs, at);
    assert!(m(json!({"event": "Order", "count": {"op": "eq", "value": 3}}), now).matched);
    assert!(
        m(
            json!({"event": "Order", "where": [{"property": "$channel", "op": "eq", "value": "web"}],
        "count": {"op": "eq", "value": 2}}),
            now
        )
        .matched
    );
    assert!(m(json!({"event": "Order", "where": [{"property": "products.*.category", "op": "eq", "value": "bags"}],
        "count": {"op": "eq", "value": 1}}), now).matched);
    assert!(
        m(
            json!({"event": "Missing", "count": {"op": "lt", "value": 1}}),
            now
        )
        .matched,
        "no state is count 0"
    );
    // Rolling: ts >= now - window, inclusive; flips when the oldest occurrence leaves.
    let w = json!({"event": "Order", "within": {"hours": 1}, "count": {"op": "gte", "value": 2}});
    assert_eq!(
        m(w.clone(), now),
        Outcome {
            matched: true,
            next_check: Some(T0 + 2 * HOUR + 1)
        }
    );
    assert!(!m(w, now + 1).matched);
    let w = json!({"event": "Order", "within": {"minutes": 30}, "count": {"op": "lt", "value": 1}});
    assert_eq!(
        m(w, now + 10 * MIN),
        Outcome {
            matched: false,
            next_check: Some(now + 30 * MIN + 1)
        }
    );
    // Absolute window, inclusive at both ends; time-independent.
    let b =
        json!({"event": "Order", "between": [T0 + HOUR, T0 + 2 * HOUR], "count": {"op": "eq", "value": 2}});
    assert_eq!(
        m(b, now + 400 * DAY),
        Outcome {
            matched: true,
            next_check: None
        }
    );
}

#[test]
fn aggregates_first_last_and_not_followed_by() {
    let fx = Fx::default();
    let evs = [
        order(T0, "web", json!({"total": 0.1})),
        order(T0 + HOUR, "web", json!({"total": "0.2"})),
        order(T0 + 2 * HOUR, "web", json!({"total": "n/a"})),
        order(T0 + 3 * HOUR, "web", json!({"total": 0.3})),
    ];
    let now = T0 + 3 * HOUR;
    let agg = |f: &str, op: &str, v: Value| {
        let c = json!({"event": "Order", "aggregate": {"fn": f, "property": "total", "op": op, "value": v}});
        both(&cond(c), &fx, &evs, now).matched
    };
    assert!(agg("sum", "eq", json!(0.6)), "sums are exact, whatever the order");
    assert!(
        agg("avg", "eq", json!(0.6 / 3.0)) && agg("min", "eq", json!(0.1)) && agg("max", "eq", json!(0.3))
    );
    let none = |op: &str| {
        let c = json!({"event": "Order", "where": [{"property": "total", "op": "eq", "value": "n/a"}],
            "aggregate": {"fn": "sum", "property": "total", "op": op, "value": 0}});
        both(&cond(c), &fx, &evs, now).matched
    };
    assert!(
        !none("eq") && !none("lte") && none("ne"),
        "no numeric value is absent"
    );
    // Rolling aggregates change as occurrences leave: min rises once 0.1 leaves.
    let c = json!({"event": "Order", "within": {"hours": 3}, "aggregate": {"fn": "min", "property": "total", "op": "lt", "value": 0.15}});
    assert_eq!(
        both(&cond(c), &fx, &evs, now),
        Outcome {
            matched: true,
            next_check: Some(T0 + 3 * HOUR + 1)
        }
    );
    let first = json!({"event": "Order", "first": {"op": "more_than_days_ago", "value": 1}});
    assert_eq!(
        both(&cond(first), &fx, &evs, now),
        Outcome {
            matched: false,
            next_check: Some(T0 + DAY + 1)
        }
    );
    let last =
        json!({"event": "Order", "within": {"days": 2}, "last": {"op": "within_last_days", "value": 1}});
    assert_eq!(
        both(&cond(last), &fx, &evs, now),
        Outcome {
            matched: true,
            next_check: Some(T0 + 3 * HOUR + DAY + 1)
        }
    );
    // "Carted and not ordered since": an order at the same instant counts as following.
    let nfb = json!({"event": "Cart", "within": {"days": 1}, "not_followed_by": {"event": "Order"}});
    let cart = |ts| Ev::new("Cart", ts, "web", json!({}));
    let with = |extra: Vec<Ev>| {
        both(
            &cond(nfb.clone()),
            &fx,
            &[evs.to_vec(), extra].concat(),
            T0 + 4 * HOUR,
        )
    };
    assert!(!with(vec![cart(T0 + 2 * HOUR)]).matched);
    assert!(!with(vec![cart(T0 + 3 * HOUR)]).matched);
    assert_eq!(
        with(vec![cart(T0 + 4 * HOUR)]),
        Outcome {
            matched: true,
            next_check: Some(T0 + 28 * HOUR + 1)
        }
    );
    assert!(!with(vec![]).matched);
}

#[test]
fn rolling_windows_keep_the_newest_10000_occurrences() {
    let c = cond(json!({"event": "View", "within": {"days": 1}, "count": {"op": "gte", "value": 10_000}}));
    let over = cond(json!({"event": "View", "within": {"days": 1}, "count": {"op": "gt", "value": 10_000}}));
    let evs: Vec<Ev> = (0..10_005)
        .map(|i| Ev::new("View", T0 + i, "web", json!({})))
        .collect();
    let st = states_of(&c, &evs);
    assert_eq!(
        st.0.values().next().unwrap().recent.len(),
        MAX_ROLLING_OCCURRENCES
    );
    let fx = Fx::default();
    assert!(both(&c, &fx, &evs, T0 + 10_005).matched);
    assert!(
        !both(&over, &fx, &evs, T0 + 10_005).matched,
        "both evaluators cap"
    );
    // The kept occurrences are the newest: the window empties a day after the 6th.
    assert_eq!(
        both(&c, &fx, &evs, T0 + 10_005).next_check,
        Some(T0 + 5 + DAY + 1)
    );
}

#[test]
fn agg_state_is_compact_and_lossless() {
    let c = cond(json!({"event": "Order", "aggregate": {"fn": "sum", "property": "total", "op": "exists"}}));
    let evs = [
        order(T0, "web", json!({"total": 0.1})),
        order(T0 + 1, "web", json!({"total": 0.2})),
    ];
    let st = states_of(&c, &evs);
    let state = st.0.values().next().unwrap();
    let text = serde_json::to_string(state).unwrap();
    assert!(
        !text.contains("\"r\"") && !text.contains("\"d\"") && text.contains("\"c\":2"),
        "{text}"
    );
    assert_eq!(&serde_json::from_str::<AggState>(&text).unwrap(), state);
    assert_eq!(serde_json::to_string(&AggState::default()).unwrap(), "{}");
    let rolling = cond(json!({"event": "Order", "within": {"days": 1}}));
    let text = serde_json::to_string(states_of(&rolling, &evs).0.values().next().unwrap()).unwrap();
    assert_eq!(text, format!("{{\"r\":[{{\"t\":{T0}}},{{\"t\":{}}}]}}", T0 + 1));
}

#[test]
fn computed_traits_compute_each_function() {
    let evs = [
        Ev::new("View", T0, "web", json!({"category": "shoes", "price": 10})),
        Ev::new("View", T0 + 1, "app", json!({"category": "bags", "price": "2.5"})),
        Ev::new("View", T0 + 2, "web", json!({"category": "shoes"})),
        Ev::new(
            "View",
            T0 - 5 * DAY,
            "web",
            json!({"category": "hats", "price": 100}),
        ),
    ];
    let value = |def: Value, now: i64| {
        let d = parse_computed(&def).unwrap();
        let mut st: Option<AggState> = None;
        for e in &evs {
            if d.spec().matches(&e.hist()) {
                st.get_or_insert_with(AggState::default)
                    .record(d.spec(), &e.hist(), T0 + 2);
            }
        }
        let v = d.value(st.as_ref(), now);
        assert_eq!(v, d.reference_value(&hists(&evs), now));
        v
    };
    let def = |f: &str, p: Option<&str>, within: Option<i64>| {
        let mut d = json!({"name": "x", "event": "View", "fn": f});
        if let Some(p) = p {
            d["property"] = json!(p);
        }
        if let Some(days) = within {
            d["within"] = json!({ "days": days });
        }
        d
    };
    let now = T0 + 2;
    assert_eq!(value(def("count", None, None), now), Some(json!(4)));
    assert_eq!(value(def("count", None, Some(1)), now), Some(json!(3)));
    assert_eq!(value(def("count", None, Some(1)), now + 2 * DAY), Some(json!(0)));
    assert_eq!(value(def("sum", Some("price"), None), now), Some(json!(112.5)));
    assert_eq!(value(def("sum", Some("price"), Some(1)), now), Some(json!(12.5)));
    assert_eq!(value(def("avg", Some("price"), Some(1)), now), Some(json!(6.25)));
    assert_eq!(value(def("min", Some("price"), None), now), Some(json!(2.5)));
    assert_eq!(value(def("max", Some("price"), None), now), Some(json!(100)));
    assert_eq!(value(def("max", Some("nothing"), None), now), None);
    assert_eq!(
        value(def("last", Some("category"), None), now),
        Some(json!("shoes"))
    );
    assert_eq!(
        value(def("last", Some("price"), None), now),
        Some(json!("2.5")),
        "latest with a value"
    );
    assert_eq!(
        value(def("distinct", Some("category"), None), now),
        Some(json!(["bags", "hats", "shoes"]))
    );
    assert_eq!(
        value(def("distinct", Some("category"), Some(1)), now),
        Some(json!(["bags", "shoes"]))
    );
    assert_eq!(value(def("distinct", Some("nothing"), None), now), None);
}

#[test]
fn distinct_keeps_the_smallest_1000_values_in_any_order() {
    let d = parse_computed(&json!({"name": "x", "event": "E", "fn": "distinct", "property": "v"})).unwrap();
    let evs: Vec<Ev> = (0..1_200)
        .map(|i| Ev::new("E", T0 + i, "web", json!({"v": (i * 7919) % 1_200})))
        .collect();
    let (mut a, mut b) = (AggState::default(), AggState::default());
    for (i, e) in evs.iter().enumerate() {
        if i % 3 == 0 { &mut a } else { &mut b }.record(d.spec(), &e.hist(), T0);
    }
    a.absorb(d.spec(), b, T0);
    let v = d.value(Some(&a), T0).unwrap();
    assert_eq!(v.as_array().unwrap().len(), MAX_DISTINCT_VALUES);
    assert_eq!(Some(v), d.reference_value(&hists(&evs), T0));
}
