//! Apple Push Notification service, token-based: `POST {base}/3/device/{token}`
//! over HTTP/2 with an ES256 provider token (JWT header `{alg: ES256, kid}`,
//! claims `{iss: team_id, iat}`) signed with the `.p8` key from the developer account.
//!
//! Provider tokens: Apple refuses tokens older than one hour and answers
//! `429 TooManyProviderTokenUpdates` to providers that make new ones more than
//! once every 20 minutes. One token is therefore reused for 50 minutes. After
//! `403 ExpiredProviderToken`/`InvalidProviderToken` the next send makes a new
//! one, but such forced renewals happen at most once per 20 minutes: when a
//! fresh token is refused again (wrong key id, team or clock), renewing it
//! faster would only add a second error.

use super::{default_timeout_secs, inline_or_file, unix_now, ConfigError, COLLAPSE_ID_KEY};
use crate::http::{self, retry_after, transport_error, truncate};
use crate::{Accepted, Address, Channel, Content, Outgoing, Provider, PushContent, PushPlatform, SendError};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const PRODUCTION_URL: &str = "https://api.push.apple.com";
pub const SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";
/// A provider token is reused this long (Apple: between 20 and 60 minutes).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(50 * 60);
/// Apple rejects renewing the provider token more often than this.
pub const MIN_TOKEN_INTERVAL: Duration = Duration::from_secs(20 * 60);
/// The largest payload APNs takes for a regular (non-VoIP) notification.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

/// `[push.apns]` configuration. The key is the `.p8` file (PKCS#8 EC P-256 PEM).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsConfig {
    /// The 10-character Team ID (the JWT `iss`).
    pub team_id: String,
    /// The 10-character Key ID of the `.p8` key (the JWT `kid`).
    pub key_id: String,
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    #[serde(default)]
    pub private_key_pem: Option<String>,
    /// The app's bundle id, sent as `apns-topic`.
    pub topic: String,
    /// [`PRODUCTION_URL`] or [`SANDBOX_URL`] (development builds of the app).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Speak HTTP/2 without TLS negotiation: only for `http://` test servers.
    #[serde(default)]
    pub prior_knowledge_h2: bool,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_base_url() -> String {
    PRODUCTION_URL.into()
}

impl std::fmt::Debug for ApnsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsConfig")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .field("private_key_file", &self.private_key_file)
            .field(
                "private_key_pem",
                &self.private_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("topic", &self.topic)
            .field("base_url", &self.base_url)
            .field("prior_knowledge_h2", &self.prior_knowledge_h2)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

#[derive(Default)]
struct TokenState {
    current: Option<(String, Instant)>,
    /// The current token was refused: make a new one (if allowed) on next use.
    refused: bool,
    last_forced: Option<Instant>,
}

/// Sends through APNs over one pooled HTTP/2 connection.
pub struct ApnsProvider {
    team_id: String,
    key_id: String,
    topic: String,
    base_url: String,
    key: EncodingKey,
    http: reqwest::Client,
    token: Mutex<TokenState>,
    tokens_made: AtomicU64,
}

impl std::fmt::Debug for ApnsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsProvider")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .field("topic", &self.topic)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: u64,
}

impl ApnsProvider {
    /// Reads the key and signs a first provider token, so that a bad key fails now.
    pub fn new(cfg: ApnsConfig) -> Result<ApnsProvider, ConfigError> {
        for (name, v) in [
            ("team_id", &cfg.team_id),
            ("key_id", &cfg.key_id),
            ("topic", &cfg.topic),
        ] {
            if v.trim().is_empty() {
                return Err(ConfigError(format!("apns: {name} is empty")));
            }
        }
        let pem = inline_or_file(
            "apns private key",
            cfg.private_key_pem.as_deref(),
            cfg.private_key_file.as_deref(),
        )?;
        let key = EncodingKey::from_ec_pem(pem.as_bytes())
            .map_err(|e| ConfigError(format!("apns: private key is not a PKCS#8 EC PEM (.p8): {e}")))?;
        let provider = ApnsProvider {
            team_id: cfg.team_id.trim().to_string(),
            key_id: cfg.key_id.trim().to_string(),
            topic: cfg.topic.trim().to_string(),
            base_url: cfg.base_url.trim_end_matches('/').to_string(),
            key,
            http: http::client_h2(
                Duration::from_secs(cfg.timeout_secs.max(1)),
                cfg.prior_knowledge_h2,
            ),
            token: Mutex::new(TokenState::default()),
            tokens_made: AtomicU64::new(0),
        };
        provider
            .provider_token()
            .map_err(|e| ConfigError(format!("apns: cannot sign with the key: {e}")))?;
        Ok(provider)
    }

    /// Provider tokens signed so far (one at start, then one per 50 minutes).
    pub fn tokens_made(&self) -> u64 {
        self.tokens_made.load(Ordering::Relaxed)
    }

    fn sign(&self) -> Result<String, SendError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        header.typ = None;
        let claims = Claims {
            iss: &self.team_id,
            iat: unix_now(),
        };
        let jwt = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| SendError::retryable(format!("apns: cannot sign the provider token: {e}")))?;
        self.tokens_made.fetch_add(1, Ordering::Relaxed);
        Ok(jwt)
    }

    /// The provider token to send now (see the module notes for the renewal rules).
    fn provider_token(&self) -> Result<String, SendError> {
        let mut st = self.token.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let forced = st.refused
            && match st.last_forced {
                None => true,
                Some(t) => now.duration_since(t) >= MIN_TOKEN_INTERVAL,
            };
        st.refused = false;
        let current = match &st.current {
            Some((jwt, at)) if !forced && now.duration_since(*at) < TOKEN_LIFETIME => Some(jwt.clone()),
            _ => None,
        };
        if let Some(jwt) = current {
            return Ok(jwt);
        }
        if forced {
            st.last_forced = Some(now);
        }
        let jwt = self.sign()?;
        st.current = Some((jwt.clone(), now));
        Ok(jwt)
    }

    /// APNs refused `jwt`: renew it on next use unless another send already did.
    fn token_refused(&self, jwt: &str) {
        let mut st = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if st.current.as_ref().is_some_and(|(t, _)| t == jwt) {
            st.refused = true;
        }
    }
}

#[async_trait::async_trait]
impl Provider for ApnsProvider {
    fn name(&self) -> &str {
        "apns"
    }

    fn channel(&self) -> Channel {
        Channel::Push
    }

    async fn send(&self, msg: &Outgoing) -> Result<Accepted, SendError> {
        let (device, push) = match (&msg.to, &msg.content) {
            (
                Address::PushToken {
                    platform: PushPlatform::Apns,
                    token,
                },
                Content::Push(push),
            ) => (token.trim(), push),
            _ => {
                return Err(SendError::permanent(
                    "apns: needs an APNs device token and push content",
                ))
            }
        };
        if device.is_empty() || !device.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SendError::invalid_address(
                "apns: device token is not hexadecimal",
            ));
        }
        let body = serde_json::to_vec(&payload(push)).expect("JSON values serialise");
        if body.len() > MAX_PAYLOAD_BYTES {
            return Err(SendError::permanent(format!(
                "apns: payload is {} bytes, APNs takes at most {MAX_PAYLOAD_BYTES}",
                body.len()
            )));
        }
        let id = apns_id(&msg.id);
        let jwt = self.provider_token()?;
        let mut req = self
            .http
            .post(format!("{}/3/device/{device}", self.base_url))
            .header("authorization", format!("bearer {jwt}"))
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", "10")
            .header("apns-id", &id)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(c) = push.data.get(COLLAPSE_ID_KEY) {
            match HeaderValue::from_str(c) {
                Ok(v) if c.len() <= 64 => req = req.header("apns-collapse-id", v),
                _ => {
                    return Err(SendError::permanent(
                        "apns: collapse_id must be at most 64 visible bytes",
                    ))
                }
            }
        }
        let resp = req.send().await.map_err(|e| transport_error("apns", &e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        if status.is_success() {
            let returned = headers
                .get("apns-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let unique = headers.get("apns-unique-id").and_then(|v| v.to_str().ok());
            return Ok(Accepted {
                provider_message_id: Some(returned.unwrap_or(id)),
                detail: unique.map(|u| json!({ "apns_unique_id": u })),
            });
        }
        let text = resp.text().await.unwrap_or_default();
        let (err, token_problem) = classify_error(status, &headers, &text);
        if token_problem {
            self.token_refused(&jwt);
        }
        Err(err)
    }
}

/// The `apns-id` for a Relais message: a UUID derived from the message id
/// (first 16 bytes of its SHA-256), so every attempt of one message carries the
/// same id. Version/variant bits are set as for a v4 UUID so that strict UUID
/// parsers accept it; the value is deterministic, not random.
pub fn apns_id(message_id: &str) -> String {
    let digest = Sha256::digest(message_id.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `{"aps": {"alert": {title, body}, "mutable-content": 1, "sound": "default"},
/// "url": …, "image": …, <data keys>}`. `mutable-content` lets the app's
/// notification service extension download the image.
pub(crate) fn payload(p: &PushContent) -> Value {
    let mut root: Map<String, Value> = p
        .data
        .iter()
        .filter(|(k, _)| k.as_str() != COLLAPSE_ID_KEY && k.as_str() != "aps")
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if let Some(url) = &p.url {
        root.insert("url".into(), json!(url));
    }
    if let Some(image) = &p.image {
        root.insert("image".into(), json!(image));
    }
    root.insert(
        "aps".into(),
        json!({
            "alert": { "title": p.title, "body": p.body },
            "mutable-content": 1,
            "sound": "default",
        }),
    );
    Value::Object(root)
}

/// Maps an APNs error answer; the flag says the provider token was refused.
fn classify_error(status: StatusCode, headers: &HeaderMap, body: &str) -> (SendError, bool) {
    let reason_code = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("reason").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let reason = format!(
        "apns: HTTP {}: {}",
        status.as_u16(),
        if reason_code.is_empty() {
            truncate(body, 200)
        } else {
            &reason_code
        }
    );
    let retryable = SendError::Retryable {
        reason: reason.clone(),
        retry_after: retry_after(headers),
    };
    match reason_code.as_str() {
        "BadDeviceToken" | "Unregistered" | "DeviceTokenNotForTopic" | "ExpiredToken" => {
            (SendError::invalid_address(reason), false)
        }
        "ExpiredProviderToken" | "InvalidProviderToken" | "MissingProviderToken" => (retryable, true),
        "TooManyRequests"
        | "TooManyProviderTokenUpdates"
        | "InternalServerError"
        | "ServiceUnavailable"
        | "Shutdown"
        | "IdleTimeout" => (retryable, false),
        _ => (http::classify("apns", status, headers, &reason_code), false),
    }
}

#[cfg(test)]
#[path = "apns_tests.rs"]
mod tests;
