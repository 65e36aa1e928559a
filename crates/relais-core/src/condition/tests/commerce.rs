//! Commerce conditions: their grammar, errors, dependencies, and that both
//! evaluators ask the engine's answer (and hold nothing without one).

use super::kit::{cond, Fx};
use crate::condition::*;
use serde_json::json;

#[test]
fn errors_name_the_field_and_what_is_allowed() {
    let rejects = |v: serde_json::Value, path: &str, words: &str| {
        let e = parse(&v).expect_err(&v.to_string());
        assert_eq!(e.path, path, "{e}");
        assert!(e.message.contains(words), "{e:?} lacks {words:?}");
    };
    rejects(
        json!({"commerce": "in_stock_somewhere", "product": "a"}),
        "commerce",
        "in_stock_nearby, in_stock_at_home_store, available_online, available, price_below_seen",
    );
    rejects(
        json!({"commerce": "available"}),
        "product",
        "missing: a product id, or {\"from\"",
    );
    rejects(
        json!({"commerce": "available", "product": " "}),
        "product",
        "expected a product id",
    );
    rejects(
        json!({"commerce": "available", "product": {"from": "basket"}}),
        "product.from",
        "trigger, last_viewed, viewed, wishlist, cart",
    );
    rejects(
        json!({"commerce": "available", "product": {"from": "cart", "n": 1}}),
        "product.n",
        "unknown key",
    );
    rejects(
        json!({"commerce": "available", "product": "a", "within_km": 5}),
        "within_km",
        "allowed here: commerce, product",
    );
    for km in [json!(0), json!(-3), json!(20_001), json!("5")] {
        rejects(
            json!({"and": [{"commerce": "in_stock_nearby", "product": "a", "within_km": km}]}),
            "and[0].within_km",
            "number of km in (0, 20000]",
        );
    }
}

#[test]
fn the_engine_answers_and_without_it_nothing_holds() {
    let c = cond(json!({"or": [
        {"commerce": "in_stock_nearby", "product": {"from": "trigger"}, "within_km": 20},
        {"not": {"commerce": "price_below_seen", "product": "runner"}},
    ]}));
    let d = c.dependencies();
    assert!(d.commerce && !d.time && d.events.is_empty());
    let asked: Vec<&str> = c.commerce().iter().map(|q| q.test.name()).collect();
    assert_eq!(asked, ["in_stock_nearby", "price_below_seen"]);
    assert!(!cond(json!({"reachable": "sms"})).dependencies().commerce);

    let kit = Fx::default();
    let both = |answer: Option<&dyn Fn(&CommerceCond) -> bool>| {
        kit.facts_with(0, answer, |f| {
            let reference = evaluate_reference(&c, f, &[]);
            let incremental = evaluate(&c, f, &|_| None);
            assert_eq!(reference, incremental.matched);
            assert_eq!(incremental.next_check, None);
            reference
        })
    };
    // No engine: every commerce leaf is false, so `not price_below_seen` holds.
    assert!(both(None));
    let nearby_only = |q: &CommerceCond| matches!(q.test, CommerceTest::InStockNearby { within_km: Some(km) } if km == 20.0);
    assert!(both(Some(&nearby_only)));
    let price_only = |q: &CommerceCond| {
        q.test == CommerceTest::PriceBelowSeen && q.product == ProductRef::Id("runner".into())
    };
    assert!(!both(Some(&price_only)));
}
