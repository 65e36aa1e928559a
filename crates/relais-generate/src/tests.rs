//! Properties of the generated data as a whole.

use crate::{customer_events, generate, GenerateOptions, Summary};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};

fn opts(profiles: u64, seed: u64) -> GenerateOptions {
    GenerateOptions {
        profiles,
        seed,
        ..GenerateOptions::default()
    }
}

fn run(o: &GenerateOptions) -> (Vec<u8>, Summary) {
    let mut out = Vec::new();
    let mut calls = Vec::new();
    let summary = generate(o, &mut out, |n| calls.push(n)).unwrap();
    assert_eq!(calls.last(), Some(&o.profiles));
    assert!(calls.windows(2).all(|w| w[0] <= w[1]));
    (out, summary)
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn s<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The customer index encoded in `gen-<seed>-<customer>-<n>`.
fn customer_of(v: &Value) -> u64 {
    s(v, "/messageId")
        .unwrap()
        .split('-')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, _) = run(&opts(150, 7));
    let (b, _) = run(&opts(150, 7));
    let (c, _) = run(&opts(150, 8));
    assert!(!a.is_empty());
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn every_line_is_a_valid_segment_message() {
    let o = opts(400, 42);
    let (bytes, _) = run(&o);
    let start = o.start.as_millisecond();
    let end = start + i64::from(o.days) * 86_400_000;
    let mut ids = HashSet::new();
    let mut last: BTreeMap<u64, i64> = BTreeMap::new();
    for v in lines(&bytes) {
        let kind = s(&v, "/type").unwrap();
        assert!(
            ["track", "identify", "page", "screen", "group", "alias"].contains(&kind),
            "{v}"
        );
        match kind {
            "alias" => assert!(
                s(&v, "/previousId").is_some() && s(&v, "/userId").is_some(),
                "{v}"
            ),
            _ => assert!(
                s(&v, "/userId").is_some() || s(&v, "/anonymousId").is_some(),
                "{v}"
            ),
        }
        if kind == "track" {
            assert!(s(&v, "/event").is_some(), "{v}");
        }
        if kind == "group" {
            assert!(
                s(&v, "/groupId").is_some() && v["traits"]["name"].is_string(),
                "{v}"
            );
        }
        assert!(
            ids.insert(s(&v, "/messageId").unwrap().to_owned()),
            "duplicate id: {v}"
        );
        let ts = s(&v, "/timestamp").unwrap();
        assert!(ts.ends_with('Z') && ts.len() == 24, "{ts}");
        let t = ts.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        assert!((start..=end).contains(&t), "{ts} outside the period");
        let prev = last.insert(customer_of(&v), t).unwrap_or(i64::MIN);
        assert!(prev <= t, "time goes back for a customer: {v}");
        let touchpoint = s(&v, "/context/touchpoint").unwrap();
        assert!(["web", "app", "store", "call_centre", "email", "sms"].contains(&touchpoint));
        assert!(s(&v, "/context/timezone").unwrap().contains('/'));
        assert!(s(&v, "/context/locale").is_some());
        match touchpoint {
            "web" => assert!(s(&v, "/context/userAgent").is_some()),
            "app" => assert!(s(&v, "/context/device/model").is_some()),
            _ => {}
        }
        if let Some(email) = s(&v, "/traits/email").or(s(&v, "/context/traits/email")) {
            assert!(email.ends_with("@example.com"), "{email}");
        }
        if let Some(phone) = s(&v, "/traits/phone").or(s(&v, "/context/traits/phone")) {
            assert!(phone.starts_with("+3361"), "{phone}");
        }
    }
    assert!(ids.len() > 400 * 20);
}

#[test]
fn some_customers_browse_on_two_devices_then_log_in_on_both() {
    let (bytes, _) = run(&opts(300, 42));
    // userId → anonymousIds seen with it, and anonymousIds seen before any userId.
    let mut with_user: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut anonymous_first = HashSet::new();
    for v in lines(&bytes) {
        let (Some(anon), user) = (s(&v, "/anonymousId"), s(&v, "/userId")) else {
            continue;
        };
        match user {
            Some(u) => {
                with_user.entry(u.to_owned()).or_default().insert(anon.to_owned());
            }
            None => {
                anonymous_first.insert(anon.to_owned());
            }
        }
    }
    let cross_device = with_user
        .values()
        .filter(|anons| anons.iter().filter(|a| anonymous_first.contains(*a)).count() >= 2)
        .count();
    assert!(cross_device >= 10, "only {cross_device} cross-device customers");
}

#[test]
fn summary_counts_match_the_lines() {
    let (bytes, summary) = run(&opts(300, 3));
    let all = lines(&bytes);
    assert_eq!(summary.events, all.len() as u64);
    assert_eq!(summary.profiles, 300);
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_channel: BTreeMap<String, u64> = BTreeMap::new();
    for v in &all {
        let key = s(v, "/event").or(s(v, "/type")).unwrap();
        *by_type.entry(key.to_owned()).or_default() += 1;
        *by_channel
            .entry(s(v, "/context/touchpoint").unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(summary.by_type, by_type);
    assert_eq!(summary.by_channel, by_channel);
    for kind in [
        "page",
        "screen",
        "identify",
        "group",
        "alias",
        "Product Viewed",
        "Product Added",
        "Cart Viewed",
        "Checkout Started",
        "Order Completed",
        "Call Completed",
        "Email Delivered",
        "Email Opened",
        "Email Link Clicked",
        "SMS Delivered",
        "Unsubscribed",
        "Signed Up",
    ] {
        assert!(
            summary.by_type.contains_key(kind),
            "no {kind} in {:?}",
            summary.by_type
        );
    }
    for channel in ["web", "app", "store", "call_centre", "email", "sms"] {
        assert!(summary.by_channel.contains_key(channel), "no {channel}");
    }
    let per_customer = summary.events as f64 / 300.0;
    assert!(
        (30.0..=60.0).contains(&per_customer),
        "{per_customer} events per customer"
    );
}

#[test]
fn customers_are_random_access() {
    let o = opts(40, 11);
    let (bytes, _) = run(&o);
    let text = String::from_utf8(bytes).unwrap();
    let expected: Vec<String> = (0..40).flat_map(|i| customer_events(&o, i)).collect();
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn in_store_orders_carry_the_loyalty_card() {
    let (bytes, _) = run(&opts(300, 5));
    let store_orders: Vec<Value> = lines(&bytes)
        .into_iter()
        .filter(|v| s(v, "/context/touchpoint") == Some("store"))
        .collect();
    assert!(!store_orders.is_empty());
    for v in &store_orders {
        assert_eq!(s(v, "/event"), Some("Order Completed"));
        assert!(s(v, "/context/traits/loyalty_id").unwrap().starts_with("LOY-"));
        assert!(s(v, "/properties/store_id").unwrap().starts_with("store-"));
    }
    assert!(store_orders.iter().any(|v| s(v, "/userId").is_some()));
    assert!(store_orders.iter().any(|v| s(v, "/userId").is_none()));
}

#[test]
fn no_days_no_events() {
    let o = GenerateOptions {
        days: 0,
        ..opts(10, 1)
    };
    let (bytes, summary) = run(&o);
    assert!(bytes.is_empty());
    assert_eq!(summary.events, 0);
}

/// FNV-1a, to pin the output without storing it.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// The bytes for a given seed are part of the crate's contract: data sets
/// named in docs, tests and benchmarks must not change under them. When a
/// change of the simulation is intended, update this value and say so in
/// `docs/generate.md`.
#[test]
fn output_is_pinned() {
    let (bytes, summary) = run(&opts(100, 42));
    assert_eq!(
        (summary.events, fnv1a(&bytes)),
        (3565, 1_902_719_559_066_210_773),
        "the data for seed 42 changed"
    );
}
