//! The profile document and how events fold into it.
//!
//! Pure functions: the processor calls [`ProfileState::apply`] for each event
//! and [`ProfileState::absorb`] when two profiles merge. The rules are the
//! ones `DESIGN.md` commits to: traits last-write-wins by event time, consent
//! never unioned (an opt-out on either side survives a merge).

pub mod location;
pub mod visits;

use crate::commerce::CommerceState;
use crate::identity::event_traits;
use crate::message::MessageType;
use location::GeoFix;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A value with the event time that set it (for last-write-wins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamped<T> {
    pub value: T,
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    Subscribed,
    Unsubscribed,
    Unknown,
}

impl ConsentStatus {
    /// Reads the forms found in the wild: `"subscribed"`, `"opted_out"`, `true`, `false`.
    pub fn from_value(v: &Value) -> Option<ConsentStatus> {
        match v {
            Value::Bool(true) => Some(ConsentStatus::Subscribed),
            Value::Bool(false) => Some(ConsentStatus::Unsubscribed),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "subscribed" | "opted_in" | "opt_in" | "granted" | "yes" => Some(ConsentStatus::Subscribed),
                "unsubscribed" | "opted_out" | "opt_out" | "denied" | "no" => {
                    Some(ConsentStatus::Unsubscribed)
                }
                "unknown" => Some(ConsentStatus::Unknown),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Consent on one channel: status, where it came from, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub status: ConsentStatus,
    pub source: String,
    pub at: i64,
}

/// Use of one touchpoint channel or source.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub first: i64,
    pub last: i64,
    pub events: u64,
}

impl Usage {
    fn record(&mut self, at: i64) {
        self.first = self.first.min(at);
        self.last = self.last.max(at);
        self.events += 1;
    }
    fn absorb(&mut self, o: &Usage) {
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
        self.events += o.events;
    }
}

/// What the processor knows of one event when it applies it.
pub struct EventFacts<'a> {
    pub kind: MessageType,
    pub timestamp_ms: i64,
    /// Touchpoint channel (`web`, `store`, `call_centre`, …).
    pub channel: &'a str,
    /// Name of the source whose write key sent the event.
    pub source: &'a str,
    pub event: &'a Value,
}

/// Everything Relais keeps about one customer besides identifiers and events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileState {
    /// The one `user_id` of this profile, if known (never two).
    #[serde(default)]
    pub user_id: Option<String>,
    /// Traits; `null` marks a trait the customer removed (kept as a tombstone).
    #[serde(default)]
    pub traits: Map<String, Value>,
    #[serde(default)]
    pub trait_times: BTreeMap<String, i64>,
    #[serde(default)]
    pub consent: BTreeMap<String, ConsentRecord>,
    #[serde(default)]
    pub timezone: Option<Stamped<String>>,
    #[serde(default)]
    pub locale: Option<Stamped<String>>,
    /// The last position reported (`context.location`), by event time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Stamped<GeoFix>>,
    /// The last country reported (`context.location.country`, with or
    /// without a position), by event time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Stamped<String>>,
    /// Days at each shop (events of the `store` touchpoint naming a
    /// `store_id`): the most visited is the home shop without a trait.
    #[serde(default, skip_serializing_if = "visits::ShopVisits::is_empty")]
    pub shop_visits: visits::ShopVisits,
    #[serde(default)]
    pub first_seen: Option<i64>,
    #[serde(default)]
    pub last_seen: Option<i64>,
    #[serde(default)]
    pub channels: BTreeMap<String, Usage>,
    #[serde(default)]
    pub sources: BTreeMap<String, Usage>,
    #[serde(default)]
    pub event_count: u64,
    /// Cart, wishlist, orders… from the e-commerce track events.
    #[serde(default)]
    pub commerce: CommerceState,
    /// Push tokens (`context.device.token`), most recent first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push_tokens: Vec<String>,
    /// Segment memberships, scheduled checks and live aggregates; kept by
    /// the engine (a merge does not combine them here: the engine does).
    #[serde(default, skip_serializing_if = "crate::membership::Membership::is_empty")]
    pub membership: crate::membership::Membership,
}

/// Most push tokens kept per profile.
pub const MAX_PUSH_TOKENS: usize = 10;

/// Names of the track events that change consent (`properties.channel`).
pub const SUBSCRIBED_EVENT: &str = "Subscribed";
pub const UNSUBSCRIBED_EVENT: &str = "Unsubscribed";

impl ProfileState {
    /// Folds one event into the profile.
    pub fn apply(&mut self, f: &EventFacts<'_>) {
        let at = f.timestamp_ms;
        // Whether this is the latest event of the profile (it may arrive late).
        let latest = self.last_seen.is_none_or(|l| at >= l);
        self.event_count += 1;
        self.first_seen = Some(self.first_seen.map_or(at, |v| v.min(at)));
        self.last_seen = Some(self.last_seen.map_or(at, |v| v.max(at)));
        let fresh = Usage {
            first: at,
            last: at,
            events: 0,
        };
        self.channels
            .entry(f.channel.to_owned())
            .or_insert(fresh)
            .record(at);
        self.sources
            .entry(f.source.to_owned())
            .or_insert(fresh)
            .record(at);

        if let Some(traits) = event_traits(f.event) {
            for (k, v) in traits {
                if k == "consent" {
                    if let Some(obj) = v.as_object() {
                        for (channel, status) in obj {
                            if let Some(status) = ConsentStatus::from_value(status) {
                                self.set_consent(channel, status, f.source, at);
                            }
                        }
                    }
                } else {
                    self.set_trait(k, v.clone(), at);
                }
            }
        }
        if f.kind == MessageType::Track {
            let name = f.event.get("event").and_then(Value::as_str);
            let status = match name {
                Some(SUBSCRIBED_EVENT) => Some(ConsentStatus::Subscribed),
                Some(UNSUBSCRIBED_EVENT) => Some(ConsentStatus::Unsubscribed),
                _ => None,
            };
            let channel = f.event.pointer("/properties/channel").and_then(Value::as_str);
            if let (Some(status), Some(channel)) = (status, channel) {
                self.set_consent(channel, status, f.source, at);
            }
            if let Some(name) = name {
                let properties = f.event.get("properties").unwrap_or(&Value::Null);
                let device = f.event.pointer("/context/device");
                let text = |k: &str| {
                    device
                        .and_then(|d| d.get(k))
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                };
                let device = text("id").or_else(|| text("type"));
                self.commerce.apply(name, properties, at, f.channel, device);
            }
        }
        let ctx = f.event.get("context");
        let token = ctx
            .and_then(|c| c.pointer("/device/token"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 1024);
        if let Some(token) = token {
            self.record_push_token(token, latest);
        }
        if let Some(tz) = ctx.and_then(|c| c.get("timezone")).and_then(Value::as_str) {
            if jiff::tz::TimeZone::get(tz).is_ok() {
                set_stamped(&mut self.timezone, tz, at);
            }
        }
        if let Some(locale) = ctx.and_then(|c| c.get("locale")).and_then(Value::as_str) {
            if !locale.is_empty() && locale.len() <= 35 {
                set_stamped(&mut self.locale, locale, at);
            }
        }
        if f.channel == "store" {
            let shop = match f.event.pointer("/properties/store_id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            if let Some(shop) = shop {
                self.shop_visits.record(&shop, at);
            }
        }
        if let Some(place) = ctx.and_then(|c| c.get("location")) {
            let reported = location::read(place);
            if let Some(fix) = reported.fix {
                keep_newer(&mut self.location, Stamped { value: fix, at });
            }
            if let Some(country) = reported.country {
                keep_newer(&mut self.country, Stamped { value: country, at });
            }
        }
    }

    /// Puts a token first if it comes with the latest event; a token of a
    /// late (older) event goes last if unknown, else stays where it is.
    fn record_push_token(&mut self, token: &str, latest: bool) {
        let known = self.push_tokens.iter().position(|t| t == token);
        match (known, latest) {
            (Some(0), true) | (Some(_), false) => return,
            (Some(i), true) => {
                let t = self.push_tokens.remove(i);
                self.push_tokens.insert(0, t);
            }
            (None, true) => self.push_tokens.insert(0, token.to_owned()),
            (None, false) => self.push_tokens.push(token.to_owned()),
        }
        self.push_tokens.truncate(MAX_PUSH_TOKENS);
    }

    /// Sets a trait if `at` is not older than what set it before.
    pub fn set_trait(&mut self, key: &str, value: Value, at: i64) {
        let newer = self.trait_times.get(key).is_none_or(|t| at >= *t);
        if newer {
            self.trait_times.insert(key.to_owned(), at);
            self.traits.insert(key.to_owned(), value);
        }
    }

    /// Records consent for a channel; a later statement replaces an earlier one.
    pub fn set_consent(&mut self, channel: &str, status: ConsentStatus, source: &str, at: i64) {
        let channel = channel.to_ascii_lowercase();
        let newer = self.consent.get(&channel).is_none_or(|c| at >= c.at);
        if newer {
            self.consent.insert(
                channel,
                ConsentRecord {
                    status,
                    source: source.to_owned(),
                    at,
                },
            );
        }
    }

    /// Merges `other` into `self` (the surviving, older profile).
    pub fn absorb(&mut self, other: ProfileState) {
        if self.user_id.is_none() {
            self.user_id = other.user_id;
        }
        for (k, v) in other.traits {
            let at = other.trait_times.get(&k).copied().unwrap_or(i64::MIN);
            self.set_trait(&k, v, at);
        }
        for (channel, theirs) in other.consent {
            let keep_theirs = match self.consent.get(&channel) {
                None => true,
                Some(ours) => match (ours.status, theirs.status) {
                    // Never union consent: an opt-out on either side stays.
                    (ConsentStatus::Unsubscribed, ConsentStatus::Unsubscribed) => theirs.at > ours.at,
                    (ConsentStatus::Unsubscribed, _) => false,
                    (_, ConsentStatus::Unsubscribed) => true,
                    _ => theirs.at > ours.at,
                },
            };
            if keep_theirs {
                self.consent.insert(channel, theirs);
            }
        }
        for (mine, theirs) in [
            (&mut self.timezone, other.timezone),
            (&mut self.locale, other.locale),
        ] {
            if let Some(t) = theirs {
                set_stamped(mine, &t.value, t.at);
            }
        }
        if let Some(fix) = other.location {
            keep_newer(&mut self.location, fix);
        }
        if let Some(country) = other.country {
            keep_newer(&mut self.country, country);
        }
        self.shop_visits.absorb(other.shop_visits);
        // Tokens of the profile seen last come first.
        let (first, second) = if other.last_seen > self.last_seen {
            (other.push_tokens, std::mem::take(&mut self.push_tokens))
        } else {
            (std::mem::take(&mut self.push_tokens), other.push_tokens)
        };
        for t in first.into_iter().chain(second) {
            if !self.push_tokens.contains(&t) {
                self.push_tokens.push(t);
            }
        }
        self.push_tokens.truncate(MAX_PUSH_TOKENS);
        self.commerce.absorb(other.commerce);
        self.first_seen = min_opt(self.first_seen, other.first_seen);
        self.last_seen = match (self.last_seen, other.last_seen) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for (mine, theirs) in [
            (&mut self.channels, other.channels),
            (&mut self.sources, other.sources),
        ] {
            for (k, u) in theirs {
                mine.entry(k).and_modify(|m| m.absorb(&u)).or_insert(u);
            }
        }
        self.event_count += other.event_count;
    }

    /// Traits without tombstones, as the API shows them.
    pub fn visible_traits(&self) -> Map<String, Value> {
        self.traits
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn set_stamped(slot: &mut Option<Stamped<String>>, value: &str, at: i64) {
    if slot.as_ref().is_none_or(|s| at >= s.at) {
        *slot = Some(Stamped {
            value: value.to_owned(),
            at,
        });
    }
}

/// Takes `new` unless the slot holds something set by a later event (an
/// event that arrives late never moves the value back).
fn keep_newer<T>(slot: &mut Option<Stamped<T>>, new: Stamped<T>) {
    if slot.as_ref().is_none_or(|s| new.at >= s.at) {
        *slot = Some(new);
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn apply(p: &mut ProfileState, at: i64, channel: &str, ev: Value) {
        let kind = MessageType::parse(ev["type"].as_str().unwrap()).unwrap();
        p.apply(&EventFacts {
            kind,
            timestamp_ms: at,
            channel,
            source: channel,
            event: &ev,
        });
    }

    #[test]
    fn traits_are_last_write_wins_by_event_time_not_arrival() {
        let mut p = ProfileState::default();
        apply(
            &mut p,
            200,
            "web",
            json!({"type":"identify","traits":{"name":"New"}}),
        );
        apply(
            &mut p,
            100,
            "crm",
            json!({"type":"identify","traits":{"name":"Old","plan":"gold"}}),
        );
        assert_eq!(p.traits["name"], "New");
        assert_eq!(p.traits["plan"], "gold");
        apply(
            &mut p,
            300,
            "web",
            json!({"type":"identify","traits":{"plan":null}}),
        );
        assert!(!p.visible_traits().contains_key("plan"));
        assert_eq!(p.first_seen, Some(100));
        assert_eq!(p.last_seen, Some(300));
        assert_eq!(p.channels["web"].events, 2);
    }

    #[test]
    fn consent_from_traits_and_events() {
        let mut p = ProfileState::default();
        apply(
            &mut p,
            10,
            "web",
            json!({"type":"identify","traits":{"consent":{"email":"subscribed","sms":true}}}),
        );
        apply(
            &mut p,
            20,
            "email",
            json!({"type":"track","event":"Unsubscribed","properties":{"channel":"email"}}),
        );
        assert_eq!(p.consent["email"].status, ConsentStatus::Unsubscribed);
        assert_eq!(p.consent["email"].source, "email");
        assert_eq!(p.consent["sms"].status, ConsentStatus::Subscribed);
        assert!(!p.traits.contains_key("consent"));
    }

    #[test]
    fn merge_never_unions_consent() {
        let mut old = ProfileState::default();
        old.set_consent("email", ConsentStatus::Unsubscribed, "web", 10);
        old.set_consent("sms", ConsentStatus::Subscribed, "web", 10);
        let mut new = ProfileState::default();
        new.set_consent("email", ConsentStatus::Subscribed, "app", 99);
        new.set_consent("sms", ConsentStatus::Unsubscribed, "app", 5);
        new.set_consent("push", ConsentStatus::Subscribed, "app", 5);
        old.absorb(new);
        assert_eq!(old.consent["email"].status, ConsentStatus::Unsubscribed);
        assert_eq!(old.consent["sms"].status, ConsentStatus::Unsubscribed);
        assert_eq!(old.consent["push"].status, ConsentStatus::Subscribed);
    }

    #[test]
    fn merge_resolves_traits_by_time_and_sums_usage() {
        let mut a = ProfileState::default();
        apply(
            &mut a,
            100,
            "app",
            json!({"type":"identify","traits":{"name":"A","city":"Lyon"},
            "context":{"timezone":"Europe/Paris"}}),
        );
        let mut b = ProfileState::default();
        apply(
            &mut b,
            50,
            "web",
            json!({"type":"identify","traits":{"name":"B"}}),
        );
        apply(
            &mut b,
            150,
            "web",
            json!({"type":"identify","traits":{"city":"Lille"},
            "context":{"timezone":"Not/AZone"}}),
        );
        a.absorb(b);
        assert_eq!(a.traits["name"], "A");
        assert_eq!(a.traits["city"], "Lille");
        assert_eq!(a.timezone.as_ref().unwrap().value, "Europe/Paris");
        assert_eq!(a.first_seen, Some(50));
        assert_eq!(a.event_count, 3);
        assert_eq!(a.channels.len(), 2);
    }

    #[test]
    fn commerce_events_fold_into_one_cart_across_devices_and_merges() {
        let add = |product: &str, device: Value| {
            json!({"type":"track","event":"Product Added",
                "properties":{"product_id":product,"price":"10","quantity":2},
                "context":{"device":device}})
        };
        let mut phone = ProfileState::default();
        apply(
            &mut phone,
            100,
            "app",
            add("a", json!({"id":"dev-1","type":"ios"})),
        );
        let mut laptop = ProfileState::default();
        apply(&mut laptop, 200, "web", add("b", json!({"type":"desktop"})));
        assert_eq!(phone.commerce.cart.items[0].device.as_deref(), Some("dev-1"));
        assert_eq!(laptop.commerce.cart.device.as_deref(), Some("desktop"));
        // Identify and page events never touch the cart; neither do unknown names.
        apply(
            &mut laptop,
            210,
            "web",
            json!({"type":"page","name":"Product Added"}),
        );
        apply(&mut laptop, 220, "web", json!({"type":"track","event":"Clicked"}));
        assert_eq!(laptop.commerce.cart.items.len(), 1);
        phone.absorb(laptop);
        assert_eq!(phone.commerce.cart.items.len(), 2);
        assert_eq!(phone.commerce.cart.value, 40.0);
        assert_eq!(phone.commerce.cart.channel.as_deref(), Some("web"));
        let done = json!({"type":"track","event":"Order Completed",
            "properties":{"order_id":"o1","total":20,"products":[{"product_id":"a","quantity":2}]}});
        apply(&mut phone, 300, "store", done);
        assert_eq!(phone.commerce.cart.value, 20.0);
        assert_eq!(phone.commerce.order_stats().order_count, 1);
    }

    #[test]
    fn push_tokens_most_recent_first_deduplicated_and_bounded() {
        let mut p = ProfileState::default();
        let ev = |token: &str| json!({"type":"track","event":"Opened","context":{"device":{"token":token}}});
        for i in 0..12 {
            apply(&mut p, 100 + i, "app", ev(&format!("t{i}")));
        }
        assert_eq!(p.push_tokens.len(), MAX_PUSH_TOKENS);
        assert_eq!(p.push_tokens[0], "t11");
        apply(&mut p, 500, "app", ev("t5"));
        assert_eq!(&p.push_tokens[..2], ["t5", "t11"]);
        assert_eq!(p.push_tokens.iter().filter(|t| *t == "t5").count(), 1);
        // A late event's token is not the newest.
        apply(&mut p, 50, "app", ev("t9"));
        assert_eq!(p.push_tokens[0], "t5");
        apply(&mut p, 60, "app", ev("old"));
        assert!(!p.push_tokens.contains(&"old".to_owned()), "older than all kept");
        apply(&mut p, 600, "app", ev(" "));
        assert_eq!(p.push_tokens[0], "t5");

        let mut other = ProfileState::default();
        apply(&mut other, 900, "app", ev("t-new"));
        apply(&mut other, 901, "app", ev("t5"));
        p.absorb(other);
        assert_eq!(
            &p.push_tokens[..3],
            ["t5", "t-new", "t11"],
            "the profile seen last first"
        );
        assert_eq!(p.push_tokens.len(), MAX_PUSH_TOKENS);
    }

    #[test]
    fn profiles_stored_before_commerce_still_load() {
        let old = json!({"user_id":"u1","traits":{"name":"A"},"event_count":3});
        let p: ProfileState = serde_json::from_value(old).unwrap();
        assert_eq!(p.commerce, CommerceState::default());
        assert!(p.push_tokens.is_empty());
        let stored = serde_json::to_value(&p).unwrap();
        assert_eq!(stored["commerce"], json!({}));
        assert!(stored.get("push_tokens").is_none());
        assert!(p.location.is_none() && stored.get("location").is_none());
        assert!(stored.get("country").is_none());
    }
}
