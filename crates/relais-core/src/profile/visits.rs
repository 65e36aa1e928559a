//! Which of the brand's shops a customer visits, from the events a shop
//! sends (touchpoint `store`, with `properties.store_id`: a till receipt, a
//! click & collect pick-up, a visit an associate records).
//!
//! A visit is a distinct UTC day at a shop: a receipt of five lines is one
//! visit. The most-visited shop stands for the customer's home shop when no
//! `home_store_id` trait names one (docs/catalog.md).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The trait naming a customer's home shop (a shop id).
pub const HOME_STORE_TRAIT: &str = "home_store_id";

/// Shops remembered per profile (the least visited go first).
pub const MAX_SHOPS: usize = 20;
/// Visit days remembered per shop (the newest are kept).
pub const MAX_DAYS: usize = 60;
/// Longest shop id kept, in bytes.
const MAX_ID: usize = 100;
const DAY_MS: i64 = 86_400_000;

/// Shop id → the days (since the Unix epoch, UTC) it was visited, ascending.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShopVisits(BTreeMap<String, Vec<i64>>);

impl ShopVisits {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records a visit to `shop` at `at_ms`, in any order of arrival.
    pub fn record(&mut self, shop: &str, at_ms: i64) {
        let shop = shop.trim();
        if shop.is_empty() || shop.len() > MAX_ID || shop.chars().any(char::is_control) {
            return;
        }
        let days = self.0.entry(shop.to_owned()).or_default();
        insert_day(days, at_ms.div_euclid(DAY_MS));
        self.cap();
    }

    /// Adds the visits of a profile merged into this one.
    pub fn absorb(&mut self, other: ShopVisits) {
        for (shop, theirs) in other.0 {
            let days = self.0.entry(shop).or_default();
            for d in theirs {
                insert_day(days, d);
            }
        }
        self.cap();
    }

    /// The shop with the most visit days (ties: the latest visit, then the
    /// smaller id), and its number of visits.
    pub fn most_visited(&self) -> Option<(&str, usize)> {
        self.0
            .iter()
            .max_by(|a, b| rank(a.1).cmp(&rank(b.1)).then_with(|| b.0.cmp(a.0)))
            .map(|(shop, days)| (shop.as_str(), days.len()))
    }

    /// Visits per shop, for the profile view.
    pub fn counts(&self) -> impl Iterator<Item = (&str, usize)> {
        self.0.iter().map(|(s, d)| (s.as_str(), d.len()))
    }

    fn cap(&mut self) {
        while self.0.len() > MAX_SHOPS {
            let least = self
                .0
                .iter()
                .min_by(|a, b| rank(a.1).cmp(&rank(b.1)).then_with(|| b.0.cmp(a.0)))
                .map(|(s, _)| s.clone());
            if let Some(s) = least {
                self.0.remove(&s);
            }
        }
    }
}

/// Where a customer's home shop comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HomeSource {
    /// The `home_store_id` trait (what the customer or the loyalty system says).
    Trait,
    /// The shop with the most visit days.
    MostVisited,
}

/// The customer's home shop: the one the `home_store_id` trait names (a
/// string or a number), else the most-visited shop.
pub fn home_store(traits: &Map<String, Value>, visits: &ShopVisits) -> Option<(String, HomeSource)> {
    let named = match traits.get(HOME_STORE_TRAIT) {
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    match named.filter(|s| !s.is_empty()) {
        Some(id) => Some((id, HomeSource::Trait)),
        None => visits
            .most_visited()
            .map(|(id, _)| (id.to_owned(), HomeSource::MostVisited)),
    }
}

fn rank(days: &[i64]) -> (usize, i64) {
    (days.len(), days.last().copied().unwrap_or(i64::MIN))
}

fn insert_day(days: &mut Vec<i64>, day: i64) {
    if let Err(i) = days.binary_search(&day) {
        days.insert(i, day);
        if days.len() > MAX_DAYS {
            days.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = DAY_MS;

    #[test]
    fn a_visit_is_a_day_at_a_shop_and_the_most_visited_wins() {
        let mut v = ShopVisits::default();
        assert_eq!(v.most_visited(), None);
        // Three receipts one morning in Lyon are one visit; Paris twice.
        for at in [10 * D + 1, 10 * D + 5_000, 10 * D + 9_000] {
            v.record("lyon", at);
        }
        v.record("paris", 3 * D);
        v.record("paris", 12 * D);
        assert_eq!(v.most_visited(), Some(("paris", 2)));
        // Late events count where they belong; a tie goes to the latest visit.
        v.record("lyon", 2 * D);
        assert_eq!(v.most_visited(), Some(("paris", 2)), "Paris was visited last");
        v.record("lyon", 13 * D);
        assert_eq!(v.most_visited(), Some(("lyon", 3)));
        for bad in ["", "  ", "a\nb", &"x".repeat(101)] {
            v.record(bad, D);
        }
        assert_eq!(v.counts().count(), 2);
    }

    #[test]
    fn the_trait_names_the_home_shop_else_the_most_visited() {
        let mut v = ShopVisits::default();
        let traits = |t: Value| t.as_object().unwrap().clone();
        assert_eq!(home_store(&traits(serde_json::json!({})), &v), None);
        v.record("lyon", D);
        let none = traits(serde_json::json!({"home_store_id": " "}));
        assert_eq!(
            home_store(&none, &v),
            Some(("lyon".into(), HomeSource::MostVisited))
        );
        let named = traits(serde_json::json!({"home_store_id": 42}));
        assert_eq!(home_store(&named, &v), Some(("42".into(), HomeSource::Trait)));
    }

    #[test]
    fn bounded_and_merged_without_double_counting() {
        let mut v = ShopVisits::default();
        for day in 0..(MAX_DAYS as i64 + 10) {
            v.record("home", day * D);
        }
        assert_eq!(v.most_visited(), Some(("home", MAX_DAYS)));
        for s in 0..MAX_SHOPS {
            v.record(&format!("shop{s:02}"), s as i64 * D);
        }
        assert_eq!(v.counts().count(), MAX_SHOPS, "the least visited went");
        assert!(v.counts().any(|(s, _)| s == "home"));
        assert!(
            !v.counts().any(|(s, _)| s == "shop00"),
            "oldest single visit dropped"
        );

        let mut a = ShopVisits::default();
        a.record("paris", D);
        a.record("paris", 2 * D);
        let mut b = ShopVisits::default();
        b.record("paris", 2 * D);
        b.record("lille", 5 * D);
        a.absorb(b);
        assert_eq!(a.counts().collect::<Vec<_>>(), [("lille", 1), ("paris", 2)]);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#"{"lille":[5],"paris":[1,2]}"#);
        assert_eq!(serde_json::from_str::<ShopVisits>(&json).unwrap(), a);
    }
}
