//! `store_response` in webhook content: where the receiver's JSON answer goes
//! on the profile once the webhook is delivered (docs/journeys.md).
//!
//! ```yaml
//! content:
//!   url: https://loyalty.example.com/tier
//!   store_response: {trait: loyalty_tier, path: /tier}   # path: a JSON Pointer; none: the whole answer
//! ```
//!
//! Read here for journeys (the error names the step) and for
//! `POST /api/v1/messages`; the engine's dispatcher applies it.

use super::JourneyError;
use serde_json::Value;

/// Longest trait name accepted.
pub const MAX_TRAIT_LEN: usize = 128;
/// Longest path accepted.
pub const MAX_PATH_LEN: usize = 512;

/// A validated `store_response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreResponse {
    /// The top-level trait written.
    pub trait_name: String,
    /// A JSON Pointer (RFC 6901) into the answer; empty: the whole answer.
    pub path: String,
}

/// What is wrong with a `store_response`: the key (`trait`, `path`, or empty
/// for the whole setting) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreResponseError {
    pub key: &'static str,
    pub message: String,
}

impl std::fmt::Display for StoreResponseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.key {
            "" => write!(f, "store_response: {}", self.message),
            k => write!(f, "store_response.{k}: {}", self.message),
        }
    }
}

fn fail<T>(key: &'static str, message: impl Into<String>) -> Result<T, StoreResponseError> {
    Err(StoreResponseError {
        key,
        message: message.into(),
    })
}

impl StoreResponse {
    /// Reads `{"trait": "loyalty_tier", "path": "/tier"}` (`path` optional).
    pub fn parse(v: &Value) -> Result<StoreResponse, StoreResponseError> {
        let Some(o) = v.as_object() else {
            return fail(
                "",
                "must be an object such as {\"trait\": \"loyalty_tier\", \"path\": \"/tier\"}",
            );
        };
        if let Some(k) = o.keys().find(|k| !["trait", "path"].contains(&k.as_str())) {
            return fail("", format!("unknown key {k:?}; allowed: trait, path"));
        }
        let trait_name = match o.get("trait") {
            Some(Value::String(t)) => t,
            Some(_) => return fail("trait", "must be a string (the trait to write)"),
            None => return fail("trait", "is required: the trait the answer is stored as"),
        };
        if trait_name.trim().is_empty()
            || trait_name.chars().count() > MAX_TRAIT_LEN
            || trait_name.chars().any(char::is_control)
        {
            return fail(
                "trait",
                format!("must be 1 to {MAX_TRAIT_LEN} characters, not blank, without control characters"),
            );
        }
        let path = match o.get("path") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(p)) => p.clone(),
            Some(_) => return fail("path", "must be a string (a JSON Pointer such as \"/tier\")"),
        };
        check_pointer(&path).or_else(|why| fail("path", why))?;
        Ok(StoreResponse {
            trait_name: trait_name.clone(),
            path,
        })
    }

    /// The part of the answer to store; `None` when the answer has nothing at `path`.
    pub fn pick<'a>(&self, answer: &'a Value) -> Option<&'a Value> {
        answer.pointer(&self.path)
    }
}

/// A JSON Pointer: empty, or `/`-separated tokens where `~` is only `~0` or `~1`.
fn check_pointer(p: &str) -> Result<(), String> {
    if p.len() > MAX_PATH_LEN {
        return Err(format!("longer than {MAX_PATH_LEN} bytes"));
    }
    if !p.is_empty() && !p.starts_with('/') {
        return Err(format!(
            "{p:?} is not a JSON Pointer: start it with \"/\" (\"/tier\", \"/data/0/level\"), \
             or leave it out to store the whole answer"
        ));
    }
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "{p:?}: \"~\" must be written ~0, and \"/\" inside a key ~1"
            ));
        }
    }
    Ok(())
}

/// Checks the `store_response` of webhook `content` (at `path`), if it has one.
pub(super) fn check_content(content: &Value, path: &str) -> Result<(), JourneyError> {
    match content.get("store_response") {
        None => Ok(()),
        Some(v) => StoreResponse::parse(v).map(|_| ()).map_err(|e| JourneyError {
            path: match e.key {
                "" => format!("{path}.store_response"),
                k => format!("{path}.store_response.{k}"),
            },
            message: e.message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_trait_and_pointer() {
        let s = StoreResponse::parse(&json!({"trait": "loyalty_tier", "path": "/data/tier"})).unwrap();
        assert_eq!(s.trait_name, "loyalty_tier");
        let answer = json!({"data": {"tier": "gold"}});
        assert_eq!(s.pick(&answer), Some(&json!("gold")));
        assert_eq!(s.pick(&json!({"data": {}})), None);
        let whole = StoreResponse::parse(&json!({"trait": "loyalty"})).unwrap();
        assert_eq!(whole.path, "");
        assert_eq!(whole.pick(&answer), Some(&answer));
        let escaped = StoreResponse::parse(&json!({"trait": "t", "path": "/a~1b/~0c/1"})).unwrap();
        assert_eq!(escaped.pick(&json!({"a/b": {"~c": [0, "x"]}})), Some(&json!("x")));
    }

    #[test]
    fn refuses_what_cannot_be_stored() {
        let e = |v: Value| StoreResponse::parse(&v).unwrap_err().to_string();
        assert!(e(json!("loyalty_tier")).starts_with("store_response: must be an object"));
        assert!(e(json!({"path": "/tier"})).contains("store_response.trait: is required"));
        assert!(e(json!({"trait": ""})).contains("store_response.trait"));
        assert!(e(json!({"trait": "  "})).contains("not blank"));
        assert!(e(json!({"trait": 3})).contains("must be a string"));
        assert!(e(json!({"trait": "x".repeat(129)})).contains("1 to 128"));
        assert!(e(json!({"trait": "t", "path": "tier"}))
            .contains("store_response.path: \"tier\" is not a JSON Pointer"));
        assert!(e(json!({"trait": "t", "path": "/a~2"})).contains("~0"));
        assert!(e(json!({"trait": "t", "path": "/a~"})).contains("~0"));
        assert!(e(json!({"trait": "t", "path": 1})).contains("store_response.path"));
        assert!(e(json!({"trait": "t", "into": "x"})).contains("unknown key \"into\""));
    }

    fn journey(steps: Value) -> Value {
        json!({"name": "t", "trigger": {"api": true}, "steps": steps})
    }

    #[test]
    fn journey_errors_name_the_step() {
        let ok = journey(json!([{"id": "tier", "type": "webhook",
            "content": {"url": "https://x.example/t", "store_response": {"trait": "loyalty_tier", "path": "/tier"}}}]));
        assert!(parse(&ok).is_ok());
        let bad = journey(json!([{"id": "tier", "type": "webhook",
            "content": {"url": "https://x.example/t", "store_response": {"trait": "loyalty_tier", "path": "tier"}}}]));
        let e = parse(&bad).map(|_| ()).unwrap_err().to_string();
        assert!(
            e.starts_with("journey at steps[0] (tier).content.store_response.path: "),
            "{e}"
        );
        let bad = journey(json!([{"id": "a", "type": "send", "channel": "webhook",
            "content": {"webhook": {"url": "https://x.example/t", "store_response": {}}}}]));
        let e = parse(&bad).map(|_| ()).unwrap_err().to_string();
        assert!(
            e.starts_with("journey at steps[0] (a).content.webhook.store_response.trait: is required"),
            "{e}"
        );
    }
}
