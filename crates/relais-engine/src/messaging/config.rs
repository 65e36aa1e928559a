//! Delivery and governance settings (`[engine.channels]`, `[engine.governance]`).
//! With nothing configured every external channel goes to the built-in
//! sandbox: messages are stored, "sent" and readable through the API.

use relais_channels::direct_mail::LobConfig;
use relais_channels::email::SmtpConfig;
use relais_channels::push::{ApnsConfig, FcmConfig};
use relais_channels::sms::twilio::TwilioConfig;
use relais_channels::webhook::WebhookConfig;
use relais_channels::whatsapp::WhatsappConfig;
use relais_channels::Mailbox;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelsConfig {
    /// The public base URL of this Relais, used in tracking, unsubscribe and
    /// preference links (`https://relais.example.com`). Default: the listen address.
    pub public_url: Option<String>,
    /// Sender of e-mails that do not name one.
    pub email_from: Mailbox,
    #[serde(skip_serializing)]
    pub smtp: Option<SmtpConfig>,
    #[serde(skip_serializing)]
    pub twilio: Option<TwilioConfig>,
    #[serde(skip_serializing)]
    pub fcm: Option<FcmConfig>,
    #[serde(skip_serializing)]
    pub apns: Option<ApnsConfig>,
    #[serde(skip_serializing)]
    pub whatsapp: Option<WhatsappConfig>,
    #[serde(skip_serializing)]
    pub webhook: Option<WebhookConfig>,
    #[serde(skip_serializing)]
    pub lob: Option<LobConfig>,
    /// Direct mail into the daily print batch instead of Lob (`[engine.channels.printer]`).
    pub printer: Option<PrinterConfig>,
    /// Per provider ("smtp", "twilio", …, "sandbox"): rate and concurrency.
    pub limits: BTreeMap<String, ProviderLimits>,
    pub retry: RetryPolicy,
    /// Seconds a dispatcher holds a claimed message before another may retry it.
    pub lease_secs: u64,
    /// Messages claimed per dispatcher round.
    pub claim_batch: usize,
    /// Consecutive failures that open a provider's circuit, and for how long.
    pub breaker_failures: u32,
    pub breaker_open_secs: u64,
}

impl Default for ChannelsConfig {
    fn default() -> Self {
        ChannelsConfig {
            public_url: None,
            email_from: Mailbox {
                address: "relais@localhost".into(),
                name: Some("Relais".into()),
            },
            smtp: None,
            twilio: None,
            fcm: None,
            apns: None,
            whatsapp: None,
            webhook: None,
            lob: None,
            printer: None,
            limits: BTreeMap::new(),
            retry: RetryPolicy::default(),
            lease_secs: 60,
            claim_batch: 256,
            breaker_failures: 5,
            breaker_open_secs: 30,
        }
    }
}

/// The print-shop provider: each direct-mail letter joins the batch of the
/// day it is accepted, `print-YYYY-MM-DD` in `timezone` (IANA, default UTC),
/// exported by `GET /api/v1/exports/letters/{date}/…` or `relais export letters`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrinterConfig {
    pub timezone: String,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        PrinterConfig {
            timezone: "UTC".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderLimits {
    /// Sends per second (token bucket refill); 0 = unlimited.
    pub per_second: u32,
    /// Bucket size (bursts); default = per_second.
    pub burst: Option<u32>,
    /// Calls in flight at once.
    pub concurrency: usize,
}

impl Default for ProviderLimits {
    fn default() -> Self {
        ProviderLimits {
            per_second: 0,
            burst: None,
            concurrency: 32,
        }
    }
}

/// Exponential backoff with full jitter: attempt n waits a random time in
/// [base·2ⁿ⁻¹/2, base·2ⁿ⁻¹], capped; `Retry-After` wins when longer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub base_ms: u64,
    pub max_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base_ms: 1_000,
            max_ms: 3_600_000,
        }
    }
}

impl RetryPolicy {
    /// Milliseconds before attempt `attempt + 1`, given a jitter in [0, 1).
    pub fn delay_ms(&self, attempt: i32, jitter: f64, retry_after_ms: Option<u64>) -> u64 {
        let exp = self
            .base_ms
            .saturating_mul(1u64 << (attempt.clamp(1, 30) - 1) as u32)
            .min(self.max_ms);
        let d = exp / 2 + ((exp / 2) as f64 * jitter) as u64;
        d.max(retry_after_ms.unwrap_or(0))
    }
}

/// The governance rules DESIGN.md commits to, for marketing messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GovernanceConfig {
    /// Share of profiles (0–15 %) kept out of all marketing, for uplift.
    pub control_group_percent: f64,
    /// Channels where marketing needs an explicit `subscribed` (others need
    /// only not `unsubscribed`).
    pub opt_in_channels: Vec<String>,
    pub frequency_caps: Vec<FrequencyCap>,
    pub quiet_hours: Option<QuietHours>,
    /// Time zone of profiles that have none.
    pub default_timezone: String,
}

impl Default for GovernanceConfig {
    fn default() -> Self {
        GovernanceConfig {
            control_group_percent: 0.0,
            opt_in_channels: vec!["sms".into(), "whatsapp".into()],
            frequency_caps: Vec::new(),
            quiet_hours: None,
            default_timezone: "UTC".into(),
        }
    }
}

/// "At most `max` marketing messages per window", on one channel or all.
/// A misspelt key (`day` for `days`) is refused rather than read as a
/// rolling 24-hour cap.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    #[serde(default)]
    pub channel: Option<String>,
    pub max: i64,
    /// Calendar days in the profile's time zone (1 = today)…
    #[serde(default)]
    pub days: Option<u32>,
    /// …or rolling hours.
    #[serde(default)]
    pub hours: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Local time the quiet window starts ("21:00") and ends ("08:00").
    pub start: String,
    pub end: String,
    /// `defer` (to the end of the window, default) or `drop`.
    #[serde(default = "defer")]
    pub behaviour: String,
}

fn defer() -> String {
    "defer".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_cap_and_retry_after() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_ms: 1_000,
            max_ms: 10_000,
        };
        assert_eq!(p.delay_ms(1, 0.0, None), 500);
        assert_eq!(p.delay_ms(1, 0.999, None), 999);
        assert_eq!(p.delay_ms(3, 0.0, None), 2_000);
        assert_eq!(p.delay_ms(20, 0.999, None), 9_995, "capped");
        assert_eq!(p.delay_ms(1, 0.0, Some(30_000)), 30_000, "Retry-After wins");
    }
}
