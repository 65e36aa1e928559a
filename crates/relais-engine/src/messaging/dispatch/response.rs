//! A delivered webhook's answer onto the profile, when its content says
//! `store_response` (docs/journeys.md): the JSON answer, or its part at the
//! JSON Pointer `path`, becomes a trait through a `Webhook Response Stored`
//! event that the processor folds like a journey's `update_profile`. It is
//! written with the attempt's outcome, in one transaction. An answer that
//! is not JSON, was cut at `max_response_bytes`, has nothing at `path` or is
//! too big to keep is not stored; `Webhook Sent` says why.

use crate::event_names::WEBHOOK_RESPONSE_EVENT;
use crate::internal::{self, InternalSources};
use relais_channels::ResponseTarget;
use relais_store::{DynStore, EmittedEvent, MessageRecord, StoreError};
use serde_json::{json, Value};

/// The most JSON kept in one trait (bytes, serialised).
pub const MAX_STORED_BYTES: usize = 16 * 1024;

/// The value to store, or why not, from the provider's `detail`
/// (`{"status", "body", "truncated", "json"}`).
pub fn pick(target: &ResponseTarget, detail: Option<&Value>) -> Result<Value, String> {
    let Some(d) = detail else {
        return Err("the provider kept no answer".into());
    };
    if d["truncated"].as_bool() == Some(true) {
        return Err("the answer is longer than channels.webhook.max_response_bytes".into());
    }
    if d["json"].as_bool() != Some(true) {
        return Err("the answer is not JSON".into());
    }
    let Some(v) = d["body"].pointer(&target.path) else {
        return Err(format!("the answer has nothing at {:?}", target.path));
    };
    let size = serde_json::to_string(v).map_or(usize::MAX, |s| s.len());
    if size > MAX_STORED_BYTES {
        return Err(format!(
            "the value is {size} bytes of JSON, more than {MAX_STORED_BYTES}"
        ));
    }
    Ok(v.clone())
}

/// Properties for `Webhook Sent` (`response_stored` or
/// `response_not_stored`), and the event that stores the value.
pub async fn store(
    sources: &InternalSources,
    store: &DynStore,
    m: &MessageRecord,
    target: &ResponseTarget,
    detail: Option<&Value>,
    at: i64,
) -> Result<(Value, Option<EmittedEvent>), StoreError> {
    let value = match pick(target, detail) {
        Ok(v) => v,
        Err(why) => {
            tracing::info!(message = %m.id, trait_name = %target.trait_name, %why,
                "webhook answer not stored on the profile");
            return Ok((json!({ "response_not_stored": why }), None));
        }
    };
    let source = sources.get(store, m.workspace_id).await?;
    let props = json!({
        "message_id": m.id,
        "channel": "webhook",
        "campaign": m.campaign,
        "path": target.path,
        "traits": { target.trait_name.as_str(): value },
    });
    let ev = internal::event(
        m.workspace_id,
        source,
        m.profile_id,
        WEBHOOK_RESPONSE_EVENT,
        "webhook",
        format!("{}:response", m.id),
        props,
        at,
    );
    Ok((json!({ "response_stored": target.trait_name }), Some(ev)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> ResponseTarget {
        ResponseTarget {
            trait_name: "loyalty_tier".into(),
            path: path.into(),
        }
    }

    fn detail(body: Value, json: bool, truncated: bool) -> Value {
        json!({"status": 200, "body": body, "json": json, "truncated": truncated})
    }

    #[test]
    fn keeps_json_answers_and_says_why_not_otherwise() {
        let answer = detail(json!({"tier": "gold", "points": [1, 2]}), true, false);
        assert_eq!(pick(&target("/tier"), Some(&answer)), Ok(json!("gold")));
        assert_eq!(pick(&target("/points/1"), Some(&answer)), Ok(json!(2)));
        assert_eq!(
            pick(&target(""), Some(&answer)),
            Ok(json!({"tier": "gold", "points": [1, 2]}))
        );
        let why = |t: &str, d: Value| pick(&target(t), Some(&d)).unwrap_err();
        assert!(why("/tier", detail(json!("OK"), false, false)).contains("not JSON"));
        assert!(why("", detail(json!("{\"tier"), false, true)).contains("max_response_bytes"));
        assert!(why("/level", answer.clone()).contains("nothing at \"/level\""));
        let big = detail(json!({"blob": "x".repeat(MAX_STORED_BYTES)}), true, false);
        assert!(why("/blob", big.clone()).contains("more than 16384"));
        assert_eq!(
            pick(
                &target("/blob"),
                Some(&detail(json!({"blob": "x".repeat(100)}), true, false))
            ),
            Ok(json!("x".repeat(100)))
        );
        assert!(pick(&target(""), None).is_err());
        // A JSON string answer is JSON.
        assert_eq!(
            pick(&target(""), Some(&detail(json!("gold"), true, false))),
            Ok(json!("gold"))
        );
    }
}
