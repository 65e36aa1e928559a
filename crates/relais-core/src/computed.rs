//! Computed traits: values derived from a profile that conditions and the
//! profile API read by name.

use serde_json::Value;

/// The value of a computed trait as conditions see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Computed {
    /// A plain value (number, string, array, object).
    Value(Value),
    /// Whole days elapsed since this instant (ms): changes with time alone,
    /// so a condition on it knows when it can flip.
    DaysSince(i64),
}
