//! Outgoing webhooks, signed as Standard Webhooks (<https://www.standardwebhooks.com/>):
//! `POST` of `{"type", "timestamp", "data"}` to the address's URL with
//! `webhook-id` (the Relais message id, the same on every attempt, so receivers
//! can deduplicate), `webhook-timestamp` (Unix seconds) and `webhook-signature`
//! (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`).
//!
//! Destinations are user input: the [`guard`] refuses private and special
//! addresses unless configured otherwise, and redirects are never followed.

pub mod guard;
mod signature;

pub use signature::{sign, verify, verify_at, SecretError, VerifyError, WebhookSecret};

use crate::{http, Accepted, Address, Channel, Content, Outgoing, Provider, SendError};
use guard::{GuardedResolver, Policy};
use reqwest::header::CONTENT_TYPE;
use reqwest::{redirect, Url};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const NAME: &str = "webhook";

/// Webhook delivery settings (`[channels.webhook]`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `whsec_` + base64 of the signing key.
    pub secret: String,
    /// Allow any destination, private networks and loopback included.
    #[serde(default)]
    pub allow_private: bool,
    /// Host names allowed even when they resolve to private addresses.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// How much of a receiver's answer is kept in the delivery detail.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: usize,
}

fn default_timeout_secs() -> u64 {
    10
}
fn default_max_response_bytes() -> usize {
    65536
}

impl WebhookConfig {
    pub fn new(secret: impl Into<String>) -> WebhookConfig {
        WebhookConfig {
            secret: secret.into(),
            allow_private: false,
            allowed_hosts: Vec::new(),
            timeout_secs: default_timeout_secs(),
            max_response_bytes: default_max_response_bytes(),
        }
    }
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("secret", &"<redacted>")
            .field("allow_private", &self.allow_private)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// Delivers signed webhooks to user-given URLs.
#[derive(Debug)]
pub struct WebhookProvider {
    secret: WebhookSecret,
    policy: Arc<Policy>,
    client: reqwest::Client,
    max_response_bytes: usize,
}

impl WebhookProvider {
    pub fn new(config: WebhookConfig) -> Result<WebhookProvider, SecretError> {
        let secret = WebhookSecret::parse(&config.secret)?;
        let policy = Arc::new(Policy {
            allow_private: config.allow_private,
            allowed_hosts: config.allowed_hosts,
        });
        http::install_crypto();
        let timeout = Duration::from_secs(config.timeout_secs.max(1));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("relais/", env!("CARGO_PKG_VERSION")))
            .redirect(redirect::Policy::none())
            // A proxy would resolve the destination itself, out of the guard's sight.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver::new(policy.clone())))
            .build()
            .expect("reqwest client with rustls (ring) builds");
        Ok(WebhookProvider {
            secret,
            policy,
            client,
            max_response_bytes: config.max_response_bytes,
        })
    }

    /// The exact bytes sent for one event at `timestamp` (Unix seconds).
    pub fn body(event_type: &str, payload: &Value, timestamp: i64) -> Vec<u8> {
        let ts = jiff::Timestamp::from_second(timestamp).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let envelope = json!({"type": event_type, "timestamp": ts.to_string(), "data": payload});
        serde_json::to_vec(&envelope).expect("a JSON value serialises")
    }
}

#[async_trait::async_trait]
impl Provider for WebhookProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    async fn send(&self, msg: &Outgoing) -> Result<Accepted, SendError> {
        let (Address::Url { url }, Content::Webhook(content)) = (&msg.to, &msg.content) else {
            return Err(SendError::permanent(
                "webhook: needs a URL address and webhook content",
            ));
        };
        let url = Url::parse(url)
            .map_err(|e| SendError::invalid_address(format!("webhook: invalid URL {url:?}: {e}")))?;
        guard::check_url(&url, &self.policy).map_err(|e| SendError::permanent(format!("webhook: {e}")))?;
        let timestamp = jiff::Timestamp::now().as_second();
        let body = Self::body(&content.event_type, &content.payload, timestamp);
        let signature = sign(&self.secret, &msg.id, timestamp, &body);
        let mut resp = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", &msg.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| match guard::find_blocked(&e) {
                Some(b) => SendError::permanent(format!("webhook: {b}")),
                None => http::transport_error(NAME, &e),
            })?;
        let status = resp.status();
        if status.is_redirection() {
            let to = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok());
            return Err(SendError::permanent(format!(
                "webhook: HTTP {}: redirect to {} not followed (configure the final URL)",
                status.as_u16(),
                to.unwrap_or("(no Location)")
            )));
        }
        let headers = resp.headers().clone();
        let (bytes, truncated) = read_capped(&mut resp, self.max_response_bytes).await;
        let text = String::from_utf8_lossy(&bytes);
        if status == reqwest::StatusCode::GONE {
            // The spec's way for a receiver to say "stop sending here".
            return Err(SendError::invalid_address(format!(
                "webhook: HTTP 410: the receiver retired this endpoint: {}",
                http::truncate(&text, 300)
            )));
        }
        if !status.is_success() {
            return Err(http::classify(NAME, status, &headers, &text));
        }
        // `json`: the whole answer parsed as JSON (a JSON string answer too).
        let parsed = match truncated {
            true => None,
            false => serde_json::from_slice::<Value>(&bytes).ok(),
        };
        let json = parsed.is_some();
        let body = parsed.unwrap_or_else(|| Value::String(text.into_owned()));
        Ok(Accepted {
            provider_message_id: None,
            detail: Some(
                json!({"status": status.as_u16(), "body": body, "truncated": truncated, "json": json}),
            ),
        })
    }
}

/// Reads at most `max` bytes of the answer (a receiver may answer with anything,
/// of any size); says whether some were left unread. A body that breaks off
/// midway keeps what arrived: the status already said what happened.
async fn read_capped(resp: &mut reqwest::Response, max: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = max - out.len();
        if chunk.len() > room {
            out.extend_from_slice(&chunk[..room]);
            // A cut inside a UTF-8 character drops its first bytes, so that the
            // kept text stays valid.
            if let Err(e) = std::str::from_utf8(&out) {
                if e.error_len().is_none() {
                    out.truncate(e.valid_up_to());
                }
            }
            return (out, true);
        }
        out.extend_from_slice(&chunk);
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_the_standard_envelope() {
        let body = WebhookProvider::body("journey.step", &json!({"profile": "p_1"}), 1_700_000_000);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"type": "journey.step", "timestamp": "2023-11-14T22:13:20Z", "data": {"profile": "p_1"}})
        );
    }

    #[test]
    fn invalid_secret_is_refused_and_debug_hides_it() {
        assert!(WebhookProvider::new(WebhookConfig::new("whsec_%%%")).is_err());
        let cfg = WebhookConfig::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        assert!(!format!("{cfg:?}").contains("C2FV"));
        assert!(WebhookProvider::new(cfg).is_ok());
    }
}
