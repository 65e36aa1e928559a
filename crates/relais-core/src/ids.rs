//! Typed ids. Internally integers (cheap to index and compare); outside, a
//! prefixed string so an id of one kind is never mistaken for another.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! typed_id {
    ($name:ident, $prefix:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            /// Parses the external form (`prefix_123`).
            pub fn parse(s: &str) -> Option<Self> {
                s.strip_prefix($prefix)?
                    .strip_prefix('_')?
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0)
            }
        }
    };
}

typed_id!(WorkspaceId, "ws");
typed_id!(SourceId, "src");
// A profile id is the log sequence number of the event that created the
// profile: deterministic on replay, and "the oldest profile" is the smallest.
typed_id!(ProfileId, "prof");
typed_id!(SegmentId, "seg");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_kinds() {
        let p = ProfileId(42);
        assert_eq!(p.to_string(), "prof_42");
        assert_eq!(ProfileId::parse("prof_42"), Some(p));
        assert_eq!(ProfileId::parse("ws_42"), None);
        assert_eq!(ProfileId::parse("prof_x"), None);
        assert_eq!(ProfileId::parse("prof_0"), None);
        assert_eq!(WorkspaceId::parse("ws_7"), Some(WorkspaceId(7)));
    }
}
