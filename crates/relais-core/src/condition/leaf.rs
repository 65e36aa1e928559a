//! Conditions on the profile's facts (traits, computed traits, consent,
//! segments, buckets): the same for both evaluators, since neither reads
//! events for them.

use super::canon::fnv1a64;
use super::ops::{Subject, Test};
use super::path::Path;
use super::Facts;
use crate::computed::Computed;
use crate::profile::ConsentStatus;
use serde_json::Value;

/// (matched, next change with time alone) of a trait test.
pub(crate) fn trait_test(path: &Path, test: &Test, f: &Facts) -> (bool, Option<i64>) {
    let values: Vec<Subject> = path
        .resolve_in(&f.state.traits)
        .into_iter()
        .map(Subject::Json)
        .collect();
    (test.holds(&values, f.now), test.next_change(&values, f.now))
}

/// (matched, next change with time alone) of a computed-trait test.
pub(crate) fn computed_test(name: &str, test: &Test, f: &Facts) -> (bool, Option<i64>) {
    let value = (f.computed)(name);
    let subjects: Vec<Subject> = match &value {
        None | Some(Computed::Value(Value::Null)) => Vec::new(),
        Some(Computed::Value(v)) => vec![Subject::Json(v)],
        Some(Computed::DaysSince(t0)) => vec![Subject::Days(*t0)],
    };
    (test.holds(&subjects, f.now), test.next_change(&subjects, f.now))
}

pub(crate) fn consent_status(f: &Facts, channel: &str) -> ConsentStatus {
    f.state
        .consent
        .get(channel)
        .map_or(ConsentStatus::Unknown, |c| c.status)
}

/// Has an address for the channel, and consent allows marketing on it:
/// SMS and WhatsApp need an opt-in, the others only no opt-out.
pub(crate) fn reachable(f: &Facts, channel: &str) -> bool {
    let status = consent_status(f, channel);
    let allowed = match channel {
        "sms" | "whatsapp" => status == ConsentStatus::Subscribed,
        _ => status != ConsentStatus::Unsubscribed,
    };
    allowed && (f.has_address)(channel)
}

/// Stable assignment to [0, 100): FNV-1a 64 of `"<salt>:<profile_id>"`.
pub(crate) fn bucket_of(salt: &str, profile_id: i64) -> u8 {
    (fnv1a64(format!("{salt}:{profile_id}").as_bytes()) % 100) as u8
}

pub(crate) fn in_bucket(f: &Facts, salt: &str, from: u8, to: u8) -> bool {
    let b = bucket_of(salt, f.profile_id);
    from <= b && b < to
}

/// A commerce condition, answered by the engine (false without one).
pub(crate) fn commerce(f: &Facts, c: &super::CommerceCond) -> bool {
    f.commerce.is_some_and(|answer| answer(c))
}
