//! Twilio Programmable Messaging: one `POST /2010-04-01/Accounts/{sid}/Messages.json`
//! per message (form-encoded, HTTP Basic with the account SID and auth token).
//!
//! Request and answer: <https://www.twilio.com/docs/messaging/api/message-resource>.
//! Error codes: <https://www.twilio.com/docs/api/errors> (21211 invalid `To`, 21614
//! not a mobile number, 21217 number not valid, 21635 landline, 21610 recipient
//! replied STOP, 20429 too many requests). Inbound messages, status callbacks and
//! the `X-Twilio-Signature` check are in [`inbound`] (re-exported here).

mod inbound;

pub use inbound::{
    parse_inbound, parse_status_callback, signature, verify_signature, Inbound, Keyword, StatusUpdate,
};

use super::segments;
use crate::{http, Accepted, Address, Channel, Content, Outgoing, Provider, SendError};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

const NAME: &str = "twilio";

/// Twilio account settings (`[channels.sms.twilio]`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    /// API root; a test server in tests.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    /// Send through a Messaging Service (Twilio picks the sender from its pool).
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// Sender when neither the message nor `from_by_country` names one.
    #[serde(default)]
    pub default_from: Option<String>,
    /// Sender per destination country calling code ("33", "1", "44"…): the longest
    /// code that prefixes the destination number wins.
    #[serde(default)]
    pub from_by_country: BTreeMap<String, String>,
    /// Bodies counting more segments than this are refused (each segment is billed).
    #[serde(default = "default_max_segments")]
    pub max_segments: usize,
    /// Where Twilio posts delivery status changes (`StatusCallback`).
    #[serde(default)]
    pub status_callback_url: Option<String>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_base_url() -> String {
    "https://api.twilio.com".into()
}
fn default_max_segments() -> usize {
    6
}
fn default_timeout_secs() -> u64 {
    http::DEFAULT_TIMEOUT.as_secs()
}

impl TwilioConfig {
    /// A configuration with the defaults and these credentials.
    pub fn new(account_sid: impl Into<String>, auth_token: impl Into<String>) -> TwilioConfig {
        TwilioConfig {
            base_url: default_base_url(),
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            messaging_service_sid: None,
            default_from: None,
            from_by_country: BTreeMap::new(),
            max_segments: default_max_segments(),
            status_callback_url: None,
            timeout_secs: default_timeout_secs(),
        }
    }

    /// The sender for `to` (E.164) from the country table: the longest calling
    /// code that prefixes the number.
    pub fn country_sender(&self, to: &str) -> Option<&str> {
        let digits = to.trim_start_matches('+');
        self.from_by_country
            .iter()
            .map(|(code, from)| (code.trim_start_matches('+'), from))
            .filter(|(code, _)| !code.is_empty() && digits.starts_with(code))
            .max_by_key(|(code, _)| code.len())
            .map(|(_, from)| from.as_str())
    }
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("messaging_service_sid", &self.messaging_service_sid)
            .field("default_from", &self.default_from)
            .field("from_by_country", &self.from_by_country)
            .field("max_segments", &self.max_segments)
            .field("status_callback_url", &self.status_callback_url)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// Sends SMS through Twilio's Messages API.
#[derive(Debug)]
pub struct TwilioProvider {
    config: TwilioConfig,
    client: reqwest::Client,
    messages_url: String,
}

impl TwilioProvider {
    pub fn new(config: TwilioConfig) -> TwilioProvider {
        let client = http::client(Duration::from_secs(config.timeout_secs.max(1)));
        let messages_url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            config.base_url.trim_end_matches('/'),
            config.account_sid
        );
        TwilioProvider {
            config,
            client,
            messages_url,
        }
    }

    /// The form fields of one message, in the order they are sent. The sender is
    /// the message's own, else the country table's; failing both, a Messaging
    /// Service picks one from its pool, or `default_from` is used.
    fn form(
        &self,
        to: &str,
        body: &str,
        from: Option<&str>,
    ) -> Result<Vec<(&'static str, String)>, SendError> {
        let mss = self.config.messaging_service_sid.as_deref();
        let from = match from.or_else(|| self.config.country_sender(to)) {
            Some(f) => Some(f),
            None if mss.is_some() => None,
            None => self.config.default_from.as_deref(),
        };
        if from.is_none() && mss.is_none() {
            return Err(SendError::permanent(
                "twilio: no sender: set default_from, from_by_country or messaging_service_sid",
            ));
        }
        let mut form = vec![("To", to.to_string())];
        if let Some(from) = from {
            form.push(("From", from.to_string()));
        }
        if let Some(mss) = mss {
            form.push(("MessagingServiceSid", mss.to_string()));
        }
        form.push(("Body", body.to_string()));
        if let Some(cb) = &self.config.status_callback_url {
            form.push(("StatusCallback", cb.clone()));
        }
        Ok(form)
    }
}

#[derive(Debug, Deserialize)]
struct Created {
    sid: String,
    #[serde(default)]
    status: Option<String>,
}

/// Twilio's error body: `{"code": 21211, "message": "…", "more_info": "…", "status": 400}`.
#[derive(Debug, Default, Deserialize)]
struct TwilioError {
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    more_info: Option<String>,
}

#[async_trait::async_trait]
impl Provider for TwilioProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn channel(&self) -> Channel {
        Channel::Sms
    }

    async fn send(&self, msg: &Outgoing) -> Result<Accepted, SendError> {
        let (Address::Phone { number }, Content::Sms(sms)) = (&msg.to, &msg.content) else {
            return Err(SendError::permanent(
                "twilio: needs a phone address and SMS content",
            ));
        };
        super::require_e164("twilio", number)?;
        if sms.body.is_empty() {
            return Err(SendError::permanent("twilio: empty body"));
        }
        let count = segments::count(&sms.body);
        if count.segments > self.config.max_segments {
            return Err(SendError::permanent(format!(
                "twilio: body is {} segments ({} {} units), over max_segments = {}",
                count.segments,
                count.units,
                count.encoding.as_str(),
                self.config.max_segments
            )));
        }
        let form = self.form(number, &sms.body, sms.from.as_deref())?;
        let resp = self
            .client
            .post(&self.messages_url)
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|e| http::transport_error(NAME, &e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.map_err(|e| http::transport_error(NAME, &e))?;
        if !status.is_success() {
            return Err(error_for(status, &headers, &text));
        }
        let created: Created = serde_json::from_str(&text)
            .map_err(|e| SendError::retryable(format!("twilio: unreadable answer to a {status}: {e}")))?;
        Ok(Accepted {
            provider_message_id: Some(created.sid),
            detail: Some(json!({
                "segments": count.segments,
                "encoding": count.encoding.as_str(),
                "status": created.status,
            })),
        })
    }
}

/// Reads a Twilio error answer. Codes first (they say more than the status), then
/// the usual reading of the HTTP status.
fn error_for(status: StatusCode, headers: &HeaderMap, text: &str) -> SendError {
    let err: TwilioError = serde_json::from_str(text).unwrap_or_default();
    let message = err.message.as_deref().unwrap_or(http::truncate(text, 200));
    let detail = match (err.code, &err.more_info) {
        (Some(code), Some(info)) => format!("{code} {message} ({info})"),
        (Some(code), None) => format!("{code} {message}"),
        _ => message.to_string(),
    };
    match err.code {
        Some(21211 | 21614 | 21217 | 21635) => {
            SendError::invalid_address(format!("twilio: invalid destination number: {detail}"))
        }
        Some(21610) => SendError::permanent(format!(
            "twilio: recipient unsubscribed at the carrier (replied STOP to this sender): {detail}"
        )),
        Some(20429) => SendError::Retryable {
            reason: format!("twilio: rate limited: {detail}"),
            retry_after: http::retry_after(headers),
        },
        _ => http::classify(NAME, status, headers, &detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_sender_takes_the_longest_calling_code() {
        let mut c = TwilioConfig::new("AC1", "tok");
        c.from_by_country.insert("1".into(), "+15550000000".into());
        c.from_by_country.insert("+44".into(), "RELAIS".into());
        c.from_by_country.insert("4420".into(), "+442000000000".into());
        assert_eq!(c.country_sender("+14155552671"), Some("+15550000000"));
        assert_eq!(c.country_sender("+447700900000"), Some("RELAIS"));
        assert_eq!(c.country_sender("+442071838750"), Some("+442000000000"));
        assert_eq!(c.country_sender("+33612345678"), None);
    }

    #[test]
    fn debug_hides_the_token() {
        let d = format!("{:?}", TwilioConfig::new("AC1", "very-secret"));
        assert!(d.contains("AC1") && !d.contains("very-secret"), "{d}");
    }

    #[test]
    fn errors_are_mapped_by_code_then_status() {
        let h = HeaderMap::new();
        let body = |code: u32| json!({"code": code, "message": "m", "status": 400}).to_string();
        for code in [21211, 21614, 21217, 21635] {
            let e = error_for(StatusCode::BAD_REQUEST, &h, &body(code));
            assert!(
                matches!(
                    e,
                    SendError::Permanent {
                        invalid_address: true,
                        ..
                    }
                ),
                "{code}"
            );
        }
        let e = error_for(StatusCode::BAD_REQUEST, &h, &body(21610));
        assert!(
            matches!(&e, SendError::Permanent { invalid_address: false, reason } if reason.contains("STOP"))
        );
        assert!(error_for(StatusCode::TOO_MANY_REQUESTS, &h, &body(20429)).is_retryable());
        assert!(error_for(StatusCode::UNAUTHORIZED, &h, &body(20003)).is_retryable());
        assert!(error_for(StatusCode::SERVICE_UNAVAILABLE, &h, "<html>").is_retryable());
        let e = error_for(StatusCode::BAD_REQUEST, &h, &body(21408));
        assert!(matches!(
            e,
            SendError::Permanent {
                invalid_address: false,
                ..
            }
        ));
    }
}
