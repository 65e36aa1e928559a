//! Firebase Cloud Messaging, HTTP v1 API: `POST {base}/v1/projects/{project}/messages:send`
//! with an OAuth2 access token obtained from a service-account key (see
//! [`google_auth`](super::google_auth)). One message per call, to one registration token.
//!
//! Errors are `google.rpc.Status` bodies: `{"error": {code, message, status,
//! details: [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
//! "errorCode": "UNREGISTERED"}, …]}}`. The `errorCode` detail is the precise
//! one; `status` is the fallback.

use super::google_auth::{ServiceAccountKey, TokenSource, DEFAULT_TOKEN_URI};
use super::{default_timeout_secs, inline_or_file, ConfigError, COLLAPSE_ID_KEY};
use crate::http::{self, retry_after, transport_error, truncate};
use crate::{Accepted, Address, Channel, Content, Outgoing, Provider, PushContent, PushPlatform, SendError};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::time::Duration;

/// The OAuth scope FCM requires.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
pub const DEFAULT_BASE_URL: &str = "https://fcm.googleapis.com";
/// Google asks for at least one minute before retrying after QUOTA_EXCEEDED.
const QUOTA_BACKOFF: Duration = Duration::from_secs(60);

/// `[push.fcm]` configuration. The service-account key is given inline
/// (`service_account_json`) or as a file (`service_account_file`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FcmConfig {
    /// Firebase project id; empty means the key file's `project_id`.
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub service_account_file: Option<PathBuf>,
    /// The Google JSON key itself (`client_email`, `private_key`, `token_uri`).
    #[serde(default)]
    pub service_account_json: Option<String>,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Overrides the key file's `token_uri` (default `https://oauth2.googleapis.com/token`).
    #[serde(default)]
    pub token_uri: Option<String>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.into()
}

impl Default for FcmConfig {
    fn default() -> Self {
        FcmConfig {
            project_id: String::new(),
            service_account_file: None,
            service_account_json: None,
            base_url: default_base_url(),
            token_uri: None,
            timeout_secs: default_timeout_secs(),
        }
    }
}

impl std::fmt::Debug for FcmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmConfig")
            .field("project_id", &self.project_id)
            .field("service_account_file", &self.service_account_file)
            .field(
                "service_account_json",
                &self.service_account_json.as_ref().map(|_| "<redacted>"),
            )
            .field("base_url", &self.base_url)
            .field("token_uri", &self.token_uri)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// Sends through FCM HTTP v1. Cheap to share; the access token is cached inside.
pub struct FcmProvider {
    project_id: String,
    send_url: String,
    http: reqwest::Client,
    auth: TokenSource,
}

impl std::fmt::Debug for FcmProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmProvider")
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

impl FcmProvider {
    /// Reads and checks the key (RSA PEM, client_email) now, so that a bad
    /// configuration fails at start-up rather than on the first message.
    pub fn new(cfg: FcmConfig) -> Result<FcmProvider, ConfigError> {
        let json = inline_or_file(
            "fcm service account",
            cfg.service_account_json.as_deref(),
            cfg.service_account_file.as_deref(),
        )?;
        let key = ServiceAccountKey::parse(&json)?;
        let project_id = match cfg.project_id.trim() {
            "" => key.project_id.clone().unwrap_or_default(),
            p => p.to_string(),
        };
        if project_id.is_empty() {
            return Err(ConfigError(
                "fcm: project_id missing (neither configured nor in the key)".into(),
            ));
        }
        let token_uri = cfg
            .token_uri
            .clone()
            .or_else(|| key.token_uri.clone())
            .unwrap_or_else(|| DEFAULT_TOKEN_URI.into());
        let http = http::client(Duration::from_secs(cfg.timeout_secs.max(1)));
        let auth = TokenSource::new("fcm", &key, token_uri, FCM_SCOPE, http.clone())?;
        let send_url = format!(
            "{}/v1/projects/{}/messages:send",
            cfg.base_url.trim_end_matches('/'),
            project_id
        );
        Ok(FcmProvider {
            project_id,
            send_url,
            http,
            auth,
        })
    }

    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The token endpoint in use (the JWT `aud`).
    pub fn token_uri(&self) -> &str {
        self.auth.token_uri()
    }

    /// Access tokens fetched so far (one at start, then about one an hour).
    pub fn token_fetches(&self) -> u64 {
        self.auth.fetches()
    }

    async fn post(&self, access_token: &str, body: &Value) -> Result<Attempt, SendError> {
        let resp = self
            .http
            .post(&self.send_url)
            .bearer_auth(access_token)
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error("fcm", &e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.map_err(|e| transport_error("fcm", &e))?;
        if status.is_success() {
            let name = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("name").and_then(Value::as_str).map(str::to_string));
            return Ok(Attempt::Sent(Accepted {
                provider_message_id: name,
                detail: None,
            }));
        }
        Ok(classify_error(status, &headers, &text))
    }
}

#[async_trait::async_trait]
impl Provider for FcmProvider {
    fn name(&self) -> &str {
        "fcm"
    }

    fn channel(&self) -> Channel {
        Channel::Push
    }

    /// One request; when FCM answers 401 (the access token was revoked or
    /// expired early) the token is refreshed once and the request sent again:
    /// that is credential renewal, not a delivery retry.
    async fn send(&self, msg: &Outgoing) -> Result<Accepted, SendError> {
        let (token, push) = match (&msg.to, &msg.content) {
            (
                Address::PushToken {
                    platform: PushPlatform::Fcm,
                    token,
                },
                Content::Push(push),
            ) => (token, push),
            _ => {
                return Err(SendError::permanent(
                    "fcm: needs an FCM push token and push content",
                ))
            }
        };
        if token.trim().is_empty() {
            return Err(SendError::invalid_address("fcm: empty registration token"));
        }
        let body = message_body(token, push);
        let access = self.auth.token(None).await?;
        match self.post(&access, &body).await? {
            Attempt::Sent(a) => Ok(a),
            Attempt::Failed(e) => Err(e),
            Attempt::Unauthenticated(_) => {
                let fresh = self.auth.token(Some(&access)).await?;
                match self.post(&fresh, &body).await? {
                    Attempt::Sent(a) => Ok(a),
                    Attempt::Failed(e) | Attempt::Unauthenticated(e) => Err(e),
                }
            }
        }
    }
}

enum Attempt {
    Sent(Accepted),
    Failed(SendError),
    /// 401 about our access token (not THIRD_PARTY_AUTH_ERROR): worth one refresh.
    Unauthenticated(SendError),
}

/// The v1 `message` for one token. The tap URL travels as `data.url` (every
/// platform's app can read it) and as `webpush.fcm_options.link` (HTTPS only,
/// as FCM requires). An image needs `mutable-content` on iOS so that the app's
/// notification service extension can attach it.
pub(crate) fn message_body(token: &str, p: &PushContent) -> Value {
    let mut notification = json!({ "title": p.title, "body": p.body });
    if let Some(image) = &p.image {
        notification["image"] = json!(image);
    }
    let mut data: Map<String, Value> = p
        .data
        .iter()
        .filter(|(k, _)| k.as_str() != COLLAPSE_ID_KEY)
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if let Some(url) = &p.url {
        data.insert("url".into(), json!(url));
    }
    let collapse = p.data.get(COLLAPSE_ID_KEY);
    let mut message = json!({ "token": token, "notification": notification });
    if !data.is_empty() {
        message["data"] = Value::Object(data);
    }
    let mut android = Map::new();
    if let Some(c) = collapse {
        android.insert("collapse_key".into(), json!(c));
    }
    if !android.is_empty() {
        message["android"] = Value::Object(android);
    }
    let mut apns = Map::new();
    if let Some(c) = collapse {
        apns.insert("headers".into(), json!({ "apns-collapse-id": c }));
    }
    if let Some(image) = &p.image {
        apns.insert("payload".into(), json!({ "aps": { "mutable-content": 1 } }));
        apns.insert("fcm_options".into(), json!({ "image": image }));
    }
    if !apns.is_empty() {
        message["apns"] = Value::Object(apns);
    }
    if let Some(url) = p.url.as_deref().filter(|u| u.starts_with("https://")) {
        message["webpush"] = json!({ "fcm_options": { "link": url } });
    }
    json!({ "message": message })
}

#[derive(Deserialize, Default)]
struct Status {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

#[derive(Deserialize)]
struct StatusBody {
    error: Status,
}

fn classify_error(status: StatusCode, headers: &HeaderMap, body: &str) -> Attempt {
    let err = serde_json::from_str::<StatusBody>(body)
        .map(|b| b.error)
        .unwrap_or_default();
    let fcm_code = err.details.iter().find_map(|d| {
        let ty = d.get("@type")?.as_str()?;
        ty.ends_with("google.firebase.fcm.v1.FcmError")
            .then(|| d.get("errorCode")?.as_str().map(str::to_string))
            .flatten()
    });
    let code = fcm_code
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| err.status.clone());
    let detail = if err.message.is_empty() {
        truncate(body, 200).to_string()
    } else {
        err.message.clone()
    };
    let reason = format!(
        "fcm: HTTP {}: {code}: {}",
        status.as_u16(),
        truncate(&detail, 300)
    );
    let retry = |min: Option<Duration>| SendError::Retryable {
        reason: reason.clone(),
        retry_after: retry_after(headers).or(min),
    };
    match code.as_str() {
        "UNREGISTERED" | "SENDER_ID_MISMATCH" => Attempt::Failed(SendError::invalid_address(reason)),
        "INVALID_ARGUMENT" if about_the_token(&err) => Attempt::Failed(SendError::invalid_address(reason)),
        "INVALID_ARGUMENT" => Attempt::Failed(SendError::permanent(reason)),
        "QUOTA_EXCEEDED" | "RESOURCE_EXHAUSTED" => Attempt::Failed(retry(Some(QUOTA_BACKOFF))),
        "UNAVAILABLE" | "INTERNAL" | "THIRD_PARTY_AUTH_ERROR" => Attempt::Failed(retry(None)),
        _ if status == StatusCode::UNAUTHORIZED => Attempt::Unauthenticated(retry(None)),
        _ => Attempt::Failed(http::classify(
            "fcm",
            status,
            headers,
            &format!("{code}: {detail}"),
        )),
    }
}

/// INVALID_ARGUMENT covers any bad field; only a bad registration token makes
/// the address invalid. FCM says so in the message or in a `BadRequest`
/// field violation on `message.token`.
fn about_the_token(err: &Status) -> bool {
    let msg = err.message.to_ascii_lowercase();
    if msg.contains("registration token") {
        return true;
    }
    err.details.iter().any(|d| {
        d.get("fieldViolations")
            .and_then(Value::as_array)
            .is_some_and(|vs| {
                vs.iter()
                    .any(|v| v.get("field").and_then(Value::as_str) == Some("message.token"))
            })
    })
}

#[cfg(test)]
#[path = "fcm_tests.rs"]
mod tests;
