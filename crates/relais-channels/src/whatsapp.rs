//! WhatsApp Business Cloud API: template messages through
//! `POST {graph}/{version}/{phone_number_id}/messages` with a Bearer token.
//!
//! Request and answer: <https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages>
//! (`messaging_product`, `recipient_type`, `to`, `type: template`, `template.name`,
//! `template.language.code`, `template.components[]`; answer `messages[0].id`).
//! Errors: <https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes>
//! (`{"error": {"message", "type", "code", "error_data": {"details"}, "error_subcode",
//! "fbtrace_id"}}`). Webhooks and their `X-Hub-Signature-256` are in [`webhook`].

mod webhook;

pub use webhook::{parse_webhook, signature_header, verify_signature, WhatsappError, WhatsappEvent};

use crate::{http, Accepted, Address, Channel, Content, Outgoing, Provider, SendError, WhatsappContent};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

const NAME: &str = "whatsapp";

/// The Graph API version used unless configured: the newest at the time of
/// writing (<https://developers.facebook.com/docs/graph-api/changelog>, v26.0,
/// 29 July 2026). Each version is supported for about two years.
pub const DEFAULT_API_VERSION: &str = "v26.0";

/// WhatsApp Cloud API settings (`[channels.whatsapp]`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappConfig {
    #[serde(default = "default_base_url")]
    pub base_url: String,
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// The business phone number's id (not the number itself).
    pub phone_number_id: String,
    /// A system-user access token with `whatsapp_business_messaging`.
    pub access_token: String,
    /// The Meta app secret, to check `X-Hub-Signature-256` on webhooks.
    #[serde(default)]
    pub app_secret: Option<String>,
    /// The token typed in Meta's webhook settings: Meta's `GET` check
    /// (`hub.verify_token`) must present it before the webhook is used.
    #[serde(default)]
    pub verify_token: Option<String>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_base_url() -> String {
    "https://graph.facebook.com".into()
}
fn default_api_version() -> String {
    DEFAULT_API_VERSION.into()
}
fn default_timeout_secs() -> u64 {
    http::DEFAULT_TIMEOUT.as_secs()
}

impl WhatsappConfig {
    pub fn new(phone_number_id: impl Into<String>, access_token: impl Into<String>) -> WhatsappConfig {
        WhatsappConfig {
            base_url: default_base_url(),
            api_version: default_api_version(),
            phone_number_id: phone_number_id.into(),
            access_token: access_token.into(),
            app_secret: None,
            verify_token: None,
            timeout_secs: default_timeout_secs(),
        }
    }
}

impl std::fmt::Debug for WhatsappConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsappConfig")
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("phone_number_id", &self.phone_number_id)
            .field("access_token", &"<redacted>")
            .field("app_secret", &self.app_secret.as_ref().map(|_| "<redacted>"))
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// Sends WhatsApp template messages through the Cloud API.
#[derive(Debug)]
pub struct WhatsappProvider {
    config: WhatsappConfig,
    client: reqwest::Client,
    messages_url: String,
}

impl WhatsappProvider {
    pub fn new(config: WhatsappConfig) -> WhatsappProvider {
        let client = http::client(Duration::from_secs(config.timeout_secs.max(1)));
        let messages_url = format!(
            "{}/{}/{}/messages",
            config.base_url.trim_end_matches('/'),
            config.api_version.trim_matches('/'),
            config.phone_number_id
        );
        WhatsappProvider {
            config,
            client,
            messages_url,
        }
    }
}

/// The JSON body of one template message to `to` (digits only, country code first).
pub fn request_body(to: &str, content: &WhatsappContent) -> Value {
    let text = |p: &String| json!({"type": "text", "text": p});
    let mut components = Vec::new();
    if !content.header_params.is_empty() {
        let params: Vec<Value> = content.header_params.iter().map(text).collect();
        components.push(json!({"type": "header", "parameters": params}));
    }
    if !content.body_params.is_empty() {
        let params: Vec<Value> = content.body_params.iter().map(text).collect();
        components.push(json!({"type": "body", "parameters": params}));
    }
    let mut template = json!({
        "name": content.template,
        "language": {"code": content.language},
    });
    if !components.is_empty() {
        template["components"] = Value::Array(components);
    }
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": template,
    })
}

#[derive(Debug, Deserialize)]
struct SendAnswer {
    #[serde(default)]
    contacts: Vec<Value>,
    #[serde(default)]
    messages: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct GraphErrorBody {
    #[serde(default)]
    error: GraphError,
}

#[derive(Debug, Default, Deserialize)]
struct GraphError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    error_data: Option<Value>,
    #[serde(default)]
    fbtrace_id: Option<String>,
}

#[async_trait::async_trait]
impl Provider for WhatsappProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn channel(&self) -> Channel {
        Channel::Whatsapp
    }

    async fn send(&self, msg: &Outgoing) -> Result<Accepted, SendError> {
        let (Address::Phone { number }, Content::Whatsapp(content)) = (&msg.to, &msg.content) else {
            return Err(SendError::permanent(
                "whatsapp: needs a phone address and WhatsApp template content",
            ));
        };
        crate::sms::require_e164("whatsapp", number)?;
        if content.template.is_empty() || content.language.is_empty() {
            return Err(SendError::permanent(
                "whatsapp: template name and language are required",
            ));
        }
        let body = request_body(&number[1..], content);
        let resp = self
            .client
            .post(&self.messages_url)
            .bearer_auth(&self.config.access_token)
            .json(&body)
            .send()
            .await
            .map_err(|e| http::transport_error(NAME, &e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.map_err(|e| http::transport_error(NAME, &e))?;
        if !status.is_success() {
            return Err(error_for(status, &headers, &text));
        }
        let answer: SendAnswer = serde_json::from_str(&text)
            .map_err(|e| SendError::retryable(format!("whatsapp: unreadable answer to a {status}: {e}")))?;
        let message = answer.messages.first();
        let id = message.and_then(|m| m["id"].as_str()).ok_or_else(|| {
            SendError::retryable(format!(
                "whatsapp: answer without messages[0].id: {}",
                http::truncate(&text, 200)
            ))
        })?;
        Ok(Accepted {
            provider_message_id: Some(id.to_string()),
            detail: Some(json!({
                "wa_id": answer.contacts.first().and_then(|c| c.get("wa_id")).cloned(),
                "message_status": message.and_then(|m| m.get("message_status")).cloned(),
            })),
        })
    }
}

/// Reads a Graph API error. The code says more than the HTTP status (Meta answers
/// 400 to many errors that are worth a retry), so it is read first.
fn error_for(status: StatusCode, headers: &HeaderMap, text: &str) -> SendError {
    let err = serde_json::from_str::<GraphErrorBody>(text)
        .unwrap_or_default()
        .error;
    let mut detail = match (err.code, &err.message) {
        (Some(code), Some(m)) => format!("(#{code}) {m}"),
        (None, Some(m)) => m.clone(),
        _ => http::truncate(text, 200).to_string(),
    };
    if let Some(sub) = err.error_subcode {
        detail.push_str(&format!(" [subcode {sub}]"));
    }
    if let Some(d) = err.error_data.as_ref().and_then(|d| d["details"].as_str()) {
        detail.push_str(&format!(": {d}"));
    }
    if let Some(t) = &err.fbtrace_id {
        detail.push_str(&format!(" (fbtrace_id {t})"));
    }
    let retry = |what: &str| SendError::Retryable {
        reason: format!("whatsapp: {what}: {detail}"),
        retry_after: http::retry_after(headers),
    };
    match err.code {
        // API-level throttling, rate limit hit, Cloud API throughput, pair rate limit.
        Some(4 | 80007 | 130429 | 131056) => retry("rate limited"),
        // Access token expired or invalid, authentication failed: being fixed.
        Some(0 | 190) => retry("credentials refused"),
        // Unknown error, service temporarily unavailable, something went wrong.
        Some(1 | 2 | 131000) => retry("temporary failure"),
        Some(131026) => {
            SendError::invalid_address(format!("whatsapp: undeliverable to this number: {detail}"))
        }
        Some(code @ 132000..=132999) => {
            SendError::permanent(format!("whatsapp: template error {code}: {detail}"))
        }
        _ if status == StatusCode::UNAUTHORIZED => retry("credentials refused"),
        _ => http::classify(NAME, status, headers, &detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(header: &[&str], body: &[&str]) -> WhatsappContent {
        WhatsappContent {
            template: "order_update".into(),
            language: "fr".into(),
            body_params: body.iter().map(|s| s.to_string()).collect(),
            header_params: header.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn request_body_has_the_documented_shape() {
        let b = request_body("33612345678", &content(&["Anna"], &["42", "demain"]));
        assert_eq!(
            b,
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "33612345678",
                "type": "template",
                "template": {
                    "name": "order_update",
                    "language": {"code": "fr"},
                    "components": [
                        {"type": "header", "parameters": [{"type": "text", "text": "Anna"}]},
                        {"type": "body", "parameters": [
                            {"type": "text", "text": "42"},
                            {"type": "text", "text": "demain"}
                        ]}
                    ]
                }
            })
        );
        let b = request_body("1555", &content(&[], &[]));
        assert!(b["template"].get("components").is_none());
        let b = request_body("1555", &content(&[], &["x"]));
        assert_eq!(b["template"]["components"][0]["type"], "body");
    }

    fn err(status: u16, code: i64) -> SendError {
        let body = json!({"error": {"message": "m", "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": "d"}, "fbtrace_id": "Ab"}});
        error_for(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            &body.to_string(),
        )
    }

    #[test]
    fn errors_are_mapped_by_code() {
        for code in [4, 80007, 130429, 131056, 190, 0, 131000] {
            assert!(err(400, code).is_retryable(), "{code}");
        }
        assert!(matches!(
            err(400, 131026),
            SendError::Permanent {
                invalid_address: true,
                ..
            }
        ));
        for code in [132000, 132001, 132012, 132015] {
            let e = err(400, code);
            assert!(
                matches!(
                    e,
                    SendError::Permanent {
                        invalid_address: false,
                        ..
                    }
                ),
                "{code}"
            );
            assert!(e.to_string().contains("template"), "{e}");
        }
        assert!(err(401, 100).is_retryable());
        assert!(err(500, 100).is_retryable());
        assert!(!err(400, 100).is_retryable());
        let e = err(400, 131026).to_string();
        assert!(
            e.contains("(#131026) m") && e.contains(": d") && e.contains("fbtrace_id Ab"),
            "{e}"
        );
        // Not JSON at all: the HTTP status decides.
        assert!(error_for(StatusCode::BAD_GATEWAY, &HeaderMap::new(), "<html>").is_retryable());
    }

    #[test]
    fn debug_hides_secrets() {
        let mut c = WhatsappConfig::new("123", "EAAtoken");
        c.app_secret = Some("appsecret".into());
        let d = format!("{c:?}");
        assert!(!d.contains("EAAtoken") && !d.contains("appsecret"), "{d}");
    }
}
