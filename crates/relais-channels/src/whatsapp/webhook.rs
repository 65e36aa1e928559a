//! What the Cloud API posts to us: message statuses and inbound messages, signed
//! with `X-Hub-Signature-256`.
//!
//! Payload: <https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages>
//! (`entry[].changes[].value.statuses[]` with `id`, `status`, `timestamp`,
//! `recipient_id`, `errors[]`; `value.messages[]` with `from`, `id`, `timestamp`,
//! `type`, `text.body`). Signature: <https://developers.facebook.com/docs/graph-api/webhooks/getting-started>
//! ("sha256=" + hex HMAC-SHA256 of the raw body, keyed with the app secret).

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

/// One error attached to a failed status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatsappError {
    pub code: i64,
    pub title: Option<String>,
    pub message: Option<String>,
    /// `error_data.details`.
    pub details: Option<String>,
}

/// One thing a webhook tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WhatsappEvent {
    /// A message we sent changed status: sent, delivered, read, failed (Meta may
    /// add others; kept as sent).
    Status {
        /// The `wamid.…` returned when sending.
        id: String,
        status: String,
        recipient_id: Option<String>,
        /// Unix seconds.
        timestamp: Option<i64>,
        errors: Vec<WhatsappError>,
    },
    /// A user wrote to the business number.
    Message {
        id: String,
        /// The sender's WhatsApp id (phone digits, no `+`).
        from: String,
        timestamp: Option<i64>,
        /// `text`, `image`, `button`, `interactive`…
        kind: String,
        /// `text.body` for text messages, `button.text` for quick replies.
        text: Option<String>,
    },
}

/// Checks `X-Hub-Signature-256` (`sha256=<hex>`) over the raw request body.
/// Constant-time comparison.
pub fn verify_signature(app_secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The header value Meta would send for `body` (for tests and tools).
pub fn signature_header(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Meta sends timestamps as strings of Unix seconds.
fn timestamp(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Every status and inbound message of a webhook body, in order. Entries that are
/// not message events (template status, account updates) yield nothing.
pub fn parse_webhook(body: &Value) -> Vec<WhatsappEvent> {
    let mut events = Vec::new();
    for entry in array(&body["entry"]) {
        for change in array(&entry["changes"]) {
            let value = &change["value"];
            for s in array(&value["statuses"]) {
                let (Some(id), Some(status)) = (string(&s["id"]), string(&s["status"])) else {
                    continue;
                };
                let errors = array(&s["errors"])
                    .iter()
                    .map(|e| WhatsappError {
                        code: e["code"].as_i64().unwrap_or_default(),
                        title: string(&e["title"]),
                        message: string(&e["message"]),
                        details: string(&e["error_data"]["details"]),
                    })
                    .collect();
                events.push(WhatsappEvent::Status {
                    id,
                    status,
                    recipient_id: string(&s["recipient_id"]),
                    timestamp: timestamp(&s["timestamp"]),
                    errors,
                });
            }
            for m in array(&value["messages"]) {
                let (Some(id), Some(from)) = (string(&m["id"]), string(&m["from"])) else {
                    continue;
                };
                let kind = string(&m["type"]).unwrap_or_default();
                let text = string(&m["text"]["body"]).or_else(|| string(&m["button"]["text"]));
                events.push(WhatsappEvent::Message {
                    id,
                    from,
                    timestamp: timestamp(&m["timestamp"]),
                    kind,
                    text,
                });
            }
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn signature_round_trip_and_tampering() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = signature_header("s3cret", body);
        assert!(header.starts_with("sha256=") && header.len() == 7 + 64);
        assert!(verify_signature("s3cret", body, &header));
        assert!(!verify_signature("other", body, &header));
        assert!(!verify_signature("s3cret", b"{}", &header));
        assert!(!verify_signature("s3cret", body, &header[7..]));
        assert!(!verify_signature("s3cret", body, "sha256=zz"));
        assert!(!verify_signature("s3cret", body, ""));
    }

    /// HMAC-SHA256 test case 2 of RFC 4231 ("Jefe"), in Meta's header form.
    #[test]
    fn signature_matches_rfc4231_vector() {
        let header = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert!(verify_signature("Jefe", b"what do ya want for nothing?", header));
    }

    #[test]
    fn parses_inbound_text_and_statuses() {
        let body = json!({
          "object": "whatsapp_business_account",
          "entry": [{
            "id": "102290129340398",
            "changes": [{
              "field": "messages",
              "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
                "messages": [{
                  "from": "16505551234",
                  "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                  "timestamp": "1749416383",
                  "type": "text",
                  "text": {"body": "Does it come in another color?"}
                }]
              }
            }, {
              "field": "messages",
              "value": {
                "messaging_product": "whatsapp",
                "statuses": [
                  {"id": "wamid.A", "status": "delivered", "timestamp": "1750857384",
                   "recipient_id": "5516992318222",
                   "pricing": {"billable": true, "pricing_model": "PMP", "category": "utility"}},
                  {"id": "wamid.B", "status": "failed", "timestamp": "1750857390",
                   "recipient_id": "5516992318223",
                   "errors": [{"code": 131026, "title": "Message undeliverable",
                               "message": "Message undeliverable",
                               "error_data": {"details": "Message Undeliverable."}}]}
                ]
              }
            }]
          }]
        });
        let events = parse_webhook(&body);
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[0],
            WhatsappEvent::Message {
                id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=".into(),
                from: "16505551234".into(),
                timestamp: Some(1749416383),
                kind: "text".into(),
                text: Some("Does it come in another color?".into()),
            }
        );
        assert_eq!(
            events[1],
            WhatsappEvent::Status {
                id: "wamid.A".into(),
                status: "delivered".into(),
                recipient_id: Some("5516992318222".into()),
                timestamp: Some(1750857384),
                errors: vec![],
            }
        );
        let WhatsappEvent::Status { status, errors, .. } = &events[2] else {
            panic!("{:?}", events[2]);
        };
        assert_eq!(status, "failed");
        assert_eq!(
            errors,
            &vec![WhatsappError {
                code: 131026,
                title: Some("Message undeliverable".into()),
                message: Some("Message undeliverable".into()),
                details: Some("Message Undeliverable.".into()),
            }]
        );
    }

    #[test]
    fn unrelated_or_malformed_bodies_yield_nothing() {
        assert!(parse_webhook(&json!({})).is_empty());
        assert!(parse_webhook(&json!({"entry": "x"})).is_empty());
        let tpl = json!({"entry": [{"changes": [{"field": "message_template_status_update",
            "value": {"event": "APPROVED", "message_template_id": 1}}]}]});
        assert!(parse_webhook(&tpl).is_empty());
        let no_id = json!({"entry": [{"changes": [{"value": {"statuses": [{"status": "read"}]}}]}]});
        assert!(parse_webhook(&no_id).is_empty());
    }
}
