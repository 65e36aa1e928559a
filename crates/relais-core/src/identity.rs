//! Identifiers of a customer and how they are read off an event.
//!
//! Kinds: `user_id`, `anonymous_id`, `email`, `phone`, plus any trait the
//! workspace declares as an identifier (e.g. `loyalty_id`). Values are
//! normalised so the same person typed twice is one key.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const USER_ID: &str = "user_id";
pub const ANONYMOUS_ID: &str = "anonymous_id";
pub const EMAIL: &str = "email";
pub const PHONE: &str = "phone";

/// One identifier: a kind and a normalised value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identity {
    pub kind: String,
    pub value: String,
}

impl Identity {
    pub fn new(kind: &str, value: &str) -> Option<Identity> {
        normalise(kind, value).map(|value| Identity {
            kind: kind.to_owned(),
            value,
        })
    }

    /// Parses the `type:value` reference form (`email:ada@example.com`).
    pub fn parse_ref(s: &str) -> Option<Identity> {
        let (kind, value) = s.split_once(':')?;
        if !is_valid_kind(kind) {
            return None;
        }
        Identity::new(kind, value)
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// Kinds are lowercase snake-case names, like trait keys.
pub fn is_valid_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind.len() <= 64
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Normalises a value for its kind; `None` when it cannot be an identifier.
pub fn normalise(kind: &str, value: &str) -> Option<String> {
    let v = value.trim();
    // NUL is refused: PostgreSQL text cannot hold it.
    if v.is_empty() || v.len() > 512 || v.contains('\0') {
        return None;
    }
    match kind {
        EMAIL => {
            let v = v.to_lowercase();
            let (local, domain) = v.split_once('@')?;
            (!local.is_empty() && domain.contains('.')).then_some(v)
        }
        PHONE => {
            // Keep the digits and a leading '+': "+33 6 12-34-56-78" == "+33612345678".
            let plus = v.starts_with('+');
            let digits: String = v.chars().filter(char::is_ascii_digit).collect();
            (digits.len() >= 5).then(|| if plus { format!("+{digits}") } else { digits })
        }
        _ => Some(v.to_owned()),
    }
}

/// The traits object of an event: `traits` for identify and group, else
/// `context.traits` (where client SDKs put what they know of the user).
pub fn event_traits(event: &Value) -> Option<&serde_json::Map<String, Value>> {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    let direct = event.get("traits").and_then(Value::as_object);
    let ctx = event
        .get("context")
        .and_then(|c| c.get("traits"))
        .and_then(Value::as_object);
    match kind {
        "identify" => direct.or(ctx),
        _ => ctx.or(if kind == "group" { None } else { direct }),
    }
}

/// Reads every identifier an event carries, strongest first: `user_id`,
/// `email`, `phone`, the workspace's custom identifier traits, `anonymous_id`.
/// `previousId` of an alias is not included (see [`alias_previous`]).
pub fn extract(event: &Value, custom_kinds: &[String]) -> Vec<Identity> {
    let mut out = Vec::new();
    let mut push = |kind: &str, v: Option<&Value>| {
        if let Some(id) = v.and_then(value_str).and_then(|s| Identity::new(kind, &s)) {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    };
    push(USER_ID, event.get("userId"));
    let traits = event_traits(event);
    let t = |k: &str| traits.and_then(|t| t.get(k));
    push(EMAIL, t("email"));
    push(PHONE, t("phone"));
    for kind in custom_kinds {
        push(kind, t(kind));
    }
    push(ANONYMOUS_ID, event.get("anonymousId"));
    out
}

/// The `previousId` of an alias call: the id the customer had before.
pub fn alias_previous(event: &Value) -> Option<String> {
    event.get("previousId").and_then(value_str)
}

fn value_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalises_emails_and_phones() {
        assert_eq!(
            normalise(EMAIL, " Ada@Example.COM "),
            Some("ada@example.com".into())
        );
        assert_eq!(normalise(EMAIL, "not-an-email"), None);
        assert_eq!(normalise(PHONE, "+33 6 12-34-56-78"), Some("+33612345678".into()));
        assert_eq!(normalise(PHONE, "(555) 010-9999"), Some("5550109999".into()));
        assert_eq!(normalise(PHONE, "12"), None);
        assert_eq!(normalise("loyalty_id", " L-1 "), Some("L-1".into()));
    }

    #[test]
    fn extracts_in_priority_order() {
        let ev = json!({"type":"track","userId":"u1","anonymousId":"a1",
            "context":{"traits":{"email":"A@x.io","loyalty_id":"L9","phone":null}}});
        let ids = extract(&ev, &["loyalty_id".to_owned()]);
        let got: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            got,
            ["user_id:u1", "email:a@x.io", "loyalty_id:L9", "anonymous_id:a1"]
        );
    }

    #[test]
    fn identify_reads_top_level_traits() {
        let ev = json!({"type":"identify","anonymousId":"a","traits":{"phone":"+1 555 0100"}});
        let got: Vec<String> = extract(&ev, &[]).iter().map(|i| i.to_string()).collect();
        assert_eq!(got, ["phone:+15550100", "anonymous_id:a"]);
    }

    #[test]
    fn parses_refs() {
        assert_eq!(Identity::parse_ref("email:A@x.io").unwrap().value, "a@x.io");
        assert!(Identity::parse_ref("Bad Kind:x").is_none());
        assert!(Identity::parse_ref("nocolon").is_none());
    }
}
