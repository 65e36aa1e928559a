//! What segmentation keeps on each profile: current memberships, when each
//! time-dependent segment must be looked at again, and the aggregate state
//! of the event conditions and computed traits in force.
//!
//! It lives inside the profile document so that it is committed with the
//! profile, in the same transaction as the events that changed it.

use crate::condition::AggState;
use crate::profile::ProfileState;
use crate::SegmentId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    /// Segments the profile is in → when it entered (ms).
    #[serde(rename = "in", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub segments: BTreeMap<SegmentId, i64>,
    /// Segments whose result may change with time alone → when (ms).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<SegmentId, i64>,
    /// Aggregate state per event spec key. A key is present once the
    /// aggregate has been built over the profile's whole history.
    #[serde(rename = "aggs", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aggregates: BTreeMap<String, AggState>,
}

impl Membership {
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty() && self.checks.is_empty() && self.aggregates.is_empty()
    }

    /// The next moment a time-dependent segment must be re-evaluated.
    pub fn next_check(&self) -> Option<i64> {
        self.checks.values().min().copied()
    }
}

/// Whether the profile holds an address for `channel` (consent aside).
pub fn has_address(state: &ProfileState, channel: &str) -> bool {
    let text = |k: &str| {
        state
            .traits
            .get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    };
    match channel {
        "email" => text("email"),
        "sms" | "whatsapp" => text("phone"),
        "push" => !state.push_tokens.is_empty(),
        "in_app" => state.user_id.is_some(),
        "direct_mail" => state.traits.get("address").is_some_and(Value::is_object),
        "webhook" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_round_trips_with_integer_keys_and_stays_small_when_empty() {
        let mut m = Membership::default();
        assert_eq!(serde_json::to_string(&m).unwrap(), "{}");
        m.segments.insert(SegmentId(3), 100);
        m.checks.insert(SegmentId(3), 500);
        m.checks.insert(SegmentId(4), 200);
        let text = serde_json::to_string(&m).unwrap();
        let back: Membership = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.next_check(), Some(200));
    }

    #[test]
    fn addresses_per_channel() {
        let mut s = ProfileState::default();
        assert!(!has_address(&s, "email"));
        s.traits.insert("email".into(), Value::from("a@b.c"));
        s.traits.insert("phone".into(), Value::from(" "));
        assert!(has_address(&s, "email"));
        assert!(!has_address(&s, "sms"));
        assert!(!has_address(&s, "carrier_pigeon"));
    }
}
