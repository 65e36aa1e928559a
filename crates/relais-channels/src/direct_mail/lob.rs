//! Lob's Print & Mail API: `POST {base}/v1/letters`, HTTP Basic auth with the
//! secret API key as user name and an empty password, JSON body, and
//! `Idempotency-Key: <message id>` so that a retried attempt never prints and
//! pays for a second letter (Lob keeps keys 24 hours).
//!
//! Errors are `{"error": {"message", "status_code", "code"}}`. A 422 about the
//! recipient address (`failed_deliverability_strictness`,
//! `address_length_exceeds_limit`, or a message naming a `to.` field) marks the
//! address invalid; 429, 5xx and 401/403 are retried; other errors are permanent.

use super::address::{describe, validate};
use super::ConfigError;
use crate::http::{self, transport_error, truncate};
use crate::{Accepted, Address, Channel, Content, Outgoing, PostalAddress, Provider, SendError};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::time::Duration;

pub const DEFAULT_BASE_URL: &str = "https://api.lob.com";
/// Lob takes inline HTML up to this many characters.
pub const MAX_HTML_CHARS: usize = 10_000;
const MAX_DESCRIPTION_CHARS: usize = 255;
/// Lob error codes that are about the recipient address.
const ADDRESS_CODES: &[&str] = &["failed_deliverability_strictness", "address_length_exceeds_limit"];

/// `[direct_mail.lob]` configuration.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LobConfig {
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The secret key (`live_…` or `test_…`).
    pub api_key: String,
    /// "marketing" or "operational" (Lob requires one on every mail piece).
    #[serde(default = "default_use_type")]
    pub use_type: String,
    #[serde(default)]
    pub color: bool,
    /// "usps_first_class" or "usps_standard".
    #[serde(default = "default_mail_type")]
    pub mail_type: String,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.into()
}
fn default_use_type() -> String {
    "marketing".into()
}
fn default_mail_type() -> String {
    "usps_first_class".into()
}
fn default_timeout_secs() -> u64 {
    http::DEFAULT_TIMEOUT.as_secs()
}

impl Default for LobConfig {
    fn default() -> Self {
        LobConfig {
            base_url: default_base_url(),
            api_key: String::new(),
            use_type: default_use_type(),
            color: false,
            mail_type: default_mail_type(),
            timeout_secs: default_timeout_secs(),
        }
    }
}

impl std::fmt::Debug for LobConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LobConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("use_type", &self.use_type)
            .field("color", &self.color)
            .field("mail_type", &self.mail_type)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

pub struct LobProvider {
    url: String,
    api_key: String,
    use_type: String,
    color: bool,
    mail_type: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for LobProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LobProvider")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl LobProvider {
    pub fn new(cfg: LobConfig) -> Result<LobProvider, ConfigError> {
        if cfg.api_key.trim().is_empty() {
            return Err(ConfigError("lob: api_key is empty".into()));
        }
        if !matches!(cfg.use_type.as_str(), "marketing" | "operational") {
            return Err(ConfigError(format!(
                "lob: use_type {:?} must be \"marketing\" or \"operational\"",
                cfg.use_type
            )));
        }
        if !matches!(cfg.mail_type.as_str(), "usps_first_class" | "usps_standard") {
            return Err(ConfigError(format!(
                "lob: mail_type {:?} must be \"usps_first_class\" or \"usps_standard\"",
                cfg.mail_type
            )));
        }
        Ok(LobProvider {
            url: format!("{}/v1/letters", cfg.base_url.trim_end_matches('/')),
            api_key: cfg.api_key.trim().to_string(),
            use_type: cfg.use_type,
            color: cfg.color,
            mail_type: cfg.mail_type,
            http: http::client(Duration::from_secs(cfg.timeout_secs.max(1))),
        })
    }
}

#[async_trait::async_trait]
impl Provider for LobProvider {
    fn name(&self) -> &str {
        "lob"
    }

    fn channel(&self) -> Channel {
        Channel::DirectMail
    }

    async fn send(&self, msg: &Outgoing) -> Result<Accepted, SendError> {
        let (to, letter) = match (&msg.to, &msg.content) {
            (Address::Postal(to), Content::Letter(letter)) => (to, letter),
            _ => {
                return Err(SendError::permanent(
                    "lob: needs a postal address and letter content",
                ))
            }
        };
        if let Err(problems) = validate(to) {
            return Err(SendError::invalid_address(format!(
                "lob: invalid address: {}",
                describe(&problems)
            )));
        }
        if let Err(problems) = validate(&letter.from) {
            return Err(SendError::permanent(format!(
                "lob: invalid return address: {}",
                describe(&problems)
            )));
        }
        let html_chars = letter.html.chars().count();
        if html_chars > MAX_HTML_CHARS {
            return Err(SendError::permanent(format!(
                "lob: letter HTML is {html_chars} characters; Lob takes at most {MAX_HTML_CHARS}"
            )));
        }
        let body = json!({
            "description": truncate_chars(&letter.description, MAX_DESCRIPTION_CHARS),
            "to": lob_address(to),
            "from": lob_address(&letter.from),
            "file": letter.html,
            "color": self.color,
            "use_type": self.use_type,
            "mail_type": self.mail_type,
            "metadata": { "relais_message_id": msg.id },
        });
        let resp = self
            .http
            .post(&self.url)
            .basic_auth(&self.api_key, Some(""))
            .header("Idempotency-Key", &msg.id)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error("lob", &e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.map_err(|e| transport_error("lob", &e))?;
        if !status.is_success() {
            return Err(classify_error(status, &headers, &text));
        }
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let id = v.get("id").and_then(Value::as_str).map(str::to_string);
        let detail = v
            .get("expected_delivery_date")
            .filter(|d| !d.is_null())
            .map(|d| json!({ "expected_delivery_date": d }));
        Ok(Accepted {
            provider_message_id: id,
            detail,
        })
    }
}

/// Lob's inline address object; empty optional fields are left out.
fn lob_address(a: &PostalAddress) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
            m.insert(k.into(), json!(v));
        }
    };
    put("name", Some(&a.name));
    put("company", a.company.as_deref());
    put("address_line1", Some(&a.line1));
    put("address_line2", a.line2.as_deref());
    put("address_city", Some(&a.city));
    put("address_state", a.state.as_deref());
    put("address_zip", Some(&a.postal_code));
    put("address_country", Some(&a.country));
    Value::Object(m)
}

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[derive(Deserialize, Default)]
struct LobError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: LobError,
}

fn classify_error(status: StatusCode, headers: &HeaderMap, body: &str) -> SendError {
    let err = serde_json::from_str::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_default();
    let message = if err.message.is_empty() {
        truncate(body, 200)
    } else {
        &err.message
    };
    let detail = if err.code.is_empty() {
        message.to_string()
    } else {
        format!("{}: {message}", err.code)
    };
    let about_recipient = ADDRESS_CODES.contains(&err.code.as_str()) || names_recipient_field(message);
    if status == StatusCode::UNPROCESSABLE_ENTITY && about_recipient {
        return SendError::invalid_address(format!("lob: HTTP 422: {}", truncate(&detail, 300)));
    }
    http::classify("lob", status, headers, &detail)
}

/// Lob names the offending field: "to.address_zip must be …".
fn names_recipient_field(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("to.") || m.contains("`to`") || m.contains("'to'") || m.contains("\"to\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(code: u16, body: Value) -> SendError {
        classify_error(
            StatusCode::from_u16(code).unwrap(),
            &HeaderMap::new(),
            &body.to_string(),
        )
    }

    fn lob_error(status: u16, code: &str, message: &str) -> Value {
        json!({"error": {"message": message, "status_code": status, "code": code}})
    }

    #[test]
    fn address_errors_mark_the_address_invalid() {
        let e = classify(
            422,
            lob_error(422, "failed_deliverability_strictness", "undeliverable"),
        );
        assert!(
            matches!(
                e,
                SendError::Permanent {
                    invalid_address: true,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = classify(
            422,
            lob_error(422, "invalid", "to.address_zip must be in a valid format"),
        );
        assert!(
            matches!(
                e,
                SendError::Permanent {
                    invalid_address: true,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn other_errors() {
        let e = classify(422, lob_error(422, "invalid_template_html", "bad html"));
        assert!(
            matches!(
                e,
                SendError::Permanent {
                    invalid_address: false,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = classify(
            422,
            lob_error(422, "foreign_return_address", "from must be a US address"),
        );
        assert!(
            matches!(
                e,
                SendError::Permanent {
                    invalid_address: false,
                    ..
                }
            ),
            "{e:?}"
        );
        for (status, code) in [
            (429, "rate_limit_exceeded"),
            (500, "internal_server_error"),
            (401, "unauthorized"),
        ] {
            assert!(
                classify(status, lob_error(status, code, "x")).is_retryable(),
                "{status}"
            );
        }
        let e = classify(404, lob_error(404, "not_found", "x"));
        assert!(!e.is_retryable());
    }

    #[test]
    fn config_is_checked_and_key_hidden() {
        assert!(LobProvider::new(LobConfig::default()).is_err());
        let cfg = LobConfig {
            api_key: "test_secret".into(),
            use_type: "promo".into(),
            ..LobConfig::default()
        };
        assert!(!format!("{cfg:?}").contains("test_secret"));
        assert!(LobProvider::new(cfg.clone()).is_err());
        let ok = LobConfig {
            use_type: "operational".into(),
            ..cfg
        };
        assert!(LobProvider::new(ok).is_ok());
    }

    #[test]
    fn optional_address_fields_are_omitted() {
        let a = PostalAddress {
            name: "Jeanne".into(),
            company: Some(" ".into()),
            line1: "1 rue".into(),
            line2: None,
            city: "Lyon".into(),
            state: None,
            postal_code: "69001".into(),
            country: "FR".into(),
        };
        assert_eq!(
            lob_address(&a),
            json!({"name": "Jeanne", "address_line1": "1 rue", "address_city": "Lyon",
                   "address_zip": "69001", "address_country": "FR"})
        );
    }
}
