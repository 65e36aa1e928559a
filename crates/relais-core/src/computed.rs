//! Computed traits: values derived from a profile that conditions and the
//! profile API read by name.

use crate::profile::{ProfileState, Usage};
use crate::rfm::{score_profile, RfmCuts};
use crate::time::format_ms;
use serde_json::{json, Map, Value};

/// The value of a computed trait as conditions see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Computed {
    /// A plain value (number, string, array, object).
    Value(Value),
    /// Whole days elapsed since this instant (ms): changes with time alone,
    /// so a condition on it knows when it can flip.
    DaysSince(i64),
}

/// Channel of events that Relais or a back-office system records about a
/// customer rather than the customer's own touchpoints; left out of the
/// channel traits.
pub const INTERNAL_CHANNEL: &str = "internal";

/// The built-in computed traits, in the order the profile API lists them.
/// The built-in traits that only e-commerce events change.
pub const COMMERCE_NAMES: &[&str] = &[
    "order_count",
    "lifetime_value",
    "average_order_value",
    "first_order_at",
    "last_order_at",
    "days_since_last_order",
    "purchase_cycle_days",
    "cart_value",
    "cart_item_count",
    "wishlist_count",
];

pub const BUILTIN_NAMES: &[&str] = &[
    "order_count",
    "lifetime_value",
    "average_order_value",
    "first_order_at",
    "last_order_at",
    "days_since_last_order",
    "purchase_cycle_days",
    "cart_value",
    "cart_item_count",
    "wishlist_count",
    "first_seen",
    "last_seen",
    "days_since_last_seen",
    "event_count",
    "channels_used",
    "distinct_channels",
    "preferred_channel",
    "has_push_token",
];

/// The RFM scores ([`crate::rfm`]): built in too, but scored against the
/// workspace's cut points, so read with [`rfm`] rather than [`builtin`].
pub const RFM_NAMES: &[&str] = &["rfm_r", "rfm_f", "rfm_m", "rfm"];

const DAY_MS: i64 = 86_400_000;

/// The value of the built-in computed trait `name` for a profile; `None` for
/// an unknown name. A trait without a value yet (`last_order_at` of a
/// customer who never ordered) is `Value(Null)`. `now` (ms) caps
/// `DaysSince` instants, so an event stamped in the future counts 0 days.
pub fn builtin(state: &ProfileState, name: &str, now: i64) -> Option<Computed> {
    let c = &state.commerce;
    let time = |t: Option<i64>| Computed::Value(t.map_or(Value::Null, |t| Value::from(format_ms(t))));
    let since = |t: Option<i64>| t.map_or(Computed::Value(Value::Null), |t| Computed::DaysSince(t.min(now)));
    let value = match name {
        "order_count" => Value::from(c.order_stats().order_count),
        "lifetime_value" => Value::from(c.order_stats().lifetime_value),
        "average_order_value" => {
            let s = c.order_stats();
            if s.order_count == 0 {
                Value::Null
            } else {
                let aov = s.lifetime_value / s.order_count as f64;
                Value::from((aov * 100.0).round() / 100.0)
            }
        }
        "first_order_at" => return Some(time(c.order_stats().first_order_at)),
        "last_order_at" => return Some(time(c.order_stats().last_order_at)),
        "days_since_last_order" => return Some(since(c.order_stats().last_order_at)),
        "purchase_cycle_days" => c
            .order_stats()
            .purchase_cycle_days
            .map_or(Value::Null, Value::from),
        "cart_value" => Value::from(c.cart.value),
        "cart_item_count" => Value::from(c.cart.item_count()),
        "wishlist_count" => Value::from(c.wishlist.len()),
        "first_seen" => return Some(time(state.first_seen)),
        "last_seen" => return Some(time(state.last_seen)),
        "days_since_last_seen" => return Some(since(state.last_seen)),
        "event_count" => Value::from(state.event_count),
        "channels_used" => Value::Object(
            customer_channels(state)
                .map(|(k, u)| {
                    let usage =
                        json!({"first": format_ms(u.first), "last": format_ms(u.last), "events": u.events});
                    (k.clone(), usage)
                })
                .collect(),
        ),
        "distinct_channels" => Value::from(customer_channels(state).count()),
        "preferred_channel" => preferred_channel(state).map_or(Value::Null, Value::from),
        "has_push_token" => Value::from(!state.push_tokens.is_empty()),
        _ => return None,
    };
    Some(Computed::Value(value))
}

/// The RFM trait `name` of a profile against its workspace's cut points;
/// `None` for a name not in [`RFM_NAMES`]. `rfm_r`, `rfm_f`, `rfm_m` are
/// numbers 1..=5, `rfm` their digits (`"545"`); `Value(Null)` for a profile
/// without an order, or when the workspace has no cut points yet. They do
/// not change with time alone (recency is measured when the cut points were
/// computed; see [`crate::rfm`]).
pub fn rfm(state: &ProfileState, cuts: Option<&RfmCuts>, name: &str) -> Option<Computed> {
    if !RFM_NAMES.contains(&name) {
        return None;
    }
    let score = cuts.and_then(|c| score_profile(c, &state.commerce.order_stats()));
    let value = score.map_or(Value::Null, |s| match name {
        "rfm_r" => Value::from(s.r),
        "rfm_f" => Value::from(s.f),
        "rfm_m" => Value::from(s.m),
        _ => Value::from(s.code()),
    });
    Some(Computed::Value(value))
}

/// The RFM traits as the profile API shows them: all four when the
/// workspace has cut points (`null` for a profile without an order), none
/// otherwise.
pub fn all_rfm(state: &ProfileState, cuts: Option<&RfmCuts>) -> Map<String, Value> {
    let Some(cuts) = cuts else { return Map::new() };
    RFM_NAMES
        .iter()
        .filter_map(|&name| Some((name.to_owned(), render(rfm(state, Some(cuts), name)?, 0))))
        .collect()
}

/// Every built-in computed trait as the profile API shows it: `DaysSince`
/// as a number of whole days at `now`.
pub fn all_builtin(state: &ProfileState, now: i64) -> Map<String, Value> {
    BUILTIN_NAMES
        .iter()
        .filter_map(|&name| Some((name.to_owned(), render(builtin(state, name, now)?, now))))
        .collect()
}

/// A computed value as JSON: `DaysSince` as whole days elapsed at `now`.
pub fn render(value: Computed, now: i64) -> Value {
    match value {
        Computed::Value(v) => v,
        Computed::DaysSince(t) => Value::from(now.saturating_sub(t).max(0) / DAY_MS),
    }
}

/// The customer's touchpoint channels (all but [`INTERNAL_CHANNEL`]).
fn customer_channels(state: &ProfileState) -> impl Iterator<Item = (&String, &Usage)> {
    state
        .channels
        .iter()
        .filter(|(k, _)| k.as_str() != INTERNAL_CHANNEL)
}

/// The channel the customer uses most: among the customer's touchpoint
/// channels (all but `internal`), the one with the most events; on a tie,
/// the one used most recently; then the first by name.
pub fn preferred_channel(state: &ProfileState) -> Option<&str> {
    customer_channels(state)
        .min_by(|(a, ua), (b, ub)| {
            ub.events
                .cmp(&ua.events)
                .then(ub.last.cmp(&ua.last))
                .then(a.cmp(b))
        })
        .map(|(k, _)| k.as_str())
}

#[cfg(test)]
mod tests {
    #[test]
    fn commerce_names_are_built_in_names() {
        for n in super::COMMERCE_NAMES {
            assert!(super::BUILTIN_NAMES.contains(n), "{n}");
        }
    }

    use super::*;
    use crate::message::MessageType;
    use crate::profile::EventFacts;

    const DAY: i64 = 86_400_000;

    fn track(p: &mut ProfileState, at: i64, channel: &str, ev: Value) {
        p.apply(&EventFacts {
            kind: MessageType::Track,
            timestamp_ms: at,
            channel,
            source: "s",
            event: &ev,
        });
    }

    fn usage(p: &mut ProfileState, channel: &str, events: u64, last: i64) {
        p.channels.insert(
            channel.to_owned(),
            Usage {
                first: 0,
                last,
                events,
            },
        );
    }

    fn value(p: &ProfileState, name: &str) -> Value {
        match builtin(p, name, 0) {
            Some(Computed::Value(v)) => v,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn preferred_channel_most_events_then_most_recent_then_name() {
        let mut p = ProfileState::default();
        assert_eq!(preferred_channel(&p), None);
        usage(&mut p, "web", 5, 100);
        usage(&mut p, "store", 3, 900);
        usage(&mut p, INTERNAL_CHANNEL, 50, 999);
        assert_eq!(preferred_channel(&p), Some("web"), "internal never counts");
        usage(&mut p, "app", 5, 50);
        assert_eq!(preferred_channel(&p), Some("web"), "tie: the most recently used");
        usage(&mut p, "sms", 5, 100);
        usage(&mut p, "call_centre", 5, 100);
        assert_eq!(
            preferred_channel(&p),
            Some("call_centre"),
            "then the first by name"
        );
        assert_eq!(value(&p, "preferred_channel"), "call_centre");
        assert_eq!(value(&p, "distinct_channels"), 5);
        let used = value(&p, "channels_used");
        assert!(used.get(INTERNAL_CHANNEL).is_none());
        assert_eq!(used["store"]["events"], 3);
        assert_eq!(used["store"]["last"], "1970-01-01T00:00:00.900Z");
    }

    #[test]
    fn builtin_traits_of_a_customer() {
        let now = 100 * DAY + DAY / 2;
        let mut p = ProfileState::default();
        assert_eq!(builtin(&p, "no_such_trait", now), None);
        assert_eq!(value(&p, "order_count"), 0);
        assert_eq!(value(&p, "average_order_value"), Value::Null);
        assert_eq!(value(&p, "last_order_at"), Value::Null);
        assert_eq!(
            builtin(&p, "days_since_last_order", now),
            Some(Computed::Value(Value::Null))
        );
        assert_eq!(value(&p, "has_push_token"), false);

        let order = |id: &str, total: &str| json!({"type":"track","event":"Order Completed","properties":{"order_id":id,"total":total}});
        track(&mut p, 10 * DAY, "web", order("o1", "100"));
        track(&mut p, 40 * DAY, "store", order("o2", "50"));
        track(&mut p, 30 * DAY, "call_centre", order("o3", "30"));
        track(
            &mut p,
            41 * DAY,
            "web",
            json!({"type":"track","event":"Order Refunded","properties":{"order_id":"o1","total":"40"}}),
        );
        track(
            &mut p,
            90 * DAY,
            "app",
            json!({"type":"track","event":"Product Added","properties":{"sku":"s","price":2.5,"quantity":4},
                "context":{"device":{"token":"apns-1"}}}),
        );
        track(
            &mut p,
            91 * DAY,
            "app",
            json!({"type":"track","event":"Product Added to Wishlist","properties":{"sku":"w"}}),
        );
        assert_eq!(
            builtin(&p, "days_since_last_order", now),
            Some(Computed::DaysSince(40 * DAY))
        );
        // An event stamped in the future counts from now, not before it.
        track(
            &mut p,
            now + DAY,
            "web",
            json!({"type":"track","event":"Clicked"}),
        );
        assert_eq!(
            builtin(&p, "days_since_last_seen", now),
            Some(Computed::DaysSince(now))
        );

        let all = all_builtin(&p, now);
        assert_eq!(all.len(), BUILTIN_NAMES.len());
        let expected = json!({
            "order_count": 3,
            "lifetime_value": 140.0,
            "average_order_value": 46.67,
            "first_order_at": "1970-01-11T00:00:00.000Z",
            "last_order_at": "1970-02-10T00:00:00.000Z",
            "days_since_last_order": 60,
            "purchase_cycle_days": 15.0,
            "cart_value": 10.0,
            "cart_item_count": 4,
            "wishlist_count": 1,
            "first_seen": "1970-01-11T00:00:00.000Z",
            "last_seen": "1970-04-12T12:00:00.000Z",
            "days_since_last_seen": 0,
            "event_count": 7,
            "distinct_channels": 4,
            "preferred_channel": "web",
            "has_push_token": true,
        });
        for (k, v) in expected.as_object().unwrap() {
            assert_eq!(&all[k], v, "{k}");
        }
        assert_eq!(all["channels_used"]["app"]["events"], 2);
    }

    #[test]
    fn rfm_traits_need_cut_points_and_an_order() {
        let cuts = RfmCuts {
            recency: [10.0, 20.0, 30.0, 40.0],
            frequency: [1.0, 2.0, 3.0, 4.0],
            monetary: [10.0, 20.0, 30.0, 40.0],
            at: 100 * DAY,
        };
        let mut p = ProfileState::default();
        assert_eq!(rfm(&p, Some(&cuts), "order_count"), None, "not an RFM name");
        assert_eq!(rfm(&p, Some(&cuts), "rfm_r"), Some(Computed::Value(Value::Null)));
        assert!(all_rfm(&p, None).is_empty(), "no cut points: not shown");
        let order =
            json!({"type":"track","event":"Order Completed","properties":{"order_id":"o1","total":"25"}});
        track(&mut p, 85 * DAY, "web", order);
        track(
            &mut p,
            88 * DAY,
            "web",
            json!({"type":"track","event":"Order Completed","properties":{"order_id":"o2","total":"12"}}),
        );
        assert_eq!(rfm(&p, None, "rfm_m"), Some(Computed::Value(Value::Null)));
        // 12 days before `at`: better than 3 recency cuts; 2 orders: equal
        // to one cut; 37: better than 3.
        assert_eq!(rfm(&p, Some(&cuts), "rfm_r"), Some(Computed::Value(json!(4))));
        assert_eq!(
            Value::Object(all_rfm(&p, Some(&cuts))),
            json!({"rfm_r": 4, "rfm_f": 2, "rfm_m": 4, "rfm": "424"})
        );
        assert!(RFM_NAMES.iter().all(|n| !BUILTIN_NAMES.contains(n)));
    }

    #[test]
    fn days_since_renders_as_whole_days() {
        assert_eq!(render(Computed::DaysSince(0), 3 * DAY - 1), 2);
        assert_eq!(render(Computed::DaysSince(10 * DAY), DAY), 0);
        assert_eq!(render(Computed::Value(json!("x")), 0), "x");
    }
}
