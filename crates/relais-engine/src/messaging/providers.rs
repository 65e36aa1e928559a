//! The providers this installation delivers through, each with its rate
//! limit (token bucket), concurrency limit and circuit breaker.

use super::config::{ChannelsConfig, ProviderLimits};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use relais_channels::{Accepted, Address, Channel, Content, Outgoing, Provider, PushPlatform, SendError};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Names of the providers Relais runs itself.
pub const SANDBOX: &str = "sandbox";
pub const INBOX: &str = "inbox";
pub const TASKS: &str = "tasks";
pub const PRINTER: &str = "printer";

/// The built-in sandbox: accepts every message without sending it anywhere.
/// The message stays readable through the API (`GET /api/v1/messages/{id}`),
/// which is what `relais serve` with no provider configured shows.
pub struct Sandbox {
    channel: Channel,
}

#[async_trait::async_trait]
impl Provider for Sandbox {
    fn name(&self) -> &str {
        SANDBOX
    }
    fn channel(&self) -> Channel {
        self.channel
    }
    async fn send(&self, msg: &Outgoing) -> Result<Accepted, SendError> {
        Ok(Accepted {
            provider_message_id: Some(format!("sandbox-{}", msg.id)),
            detail: None,
        })
    }
}

/// Direct mail for a print shop (`[engine.channels.printer]`): a letter whose
/// addresses are valid joins the batch of the day, in the configured time
/// zone; `messaging::exports` turns a batch into its CSV and PDF.
pub struct Printer {
    tz: jiff::tz::TimeZone,
}

/// The batch of letters accepted on `date`: its id and its file names.
pub fn print_batch(date: jiff::civil::Date) -> String {
    format!("print-{date}")
}

#[async_trait::async_trait]
impl Provider for Printer {
    fn name(&self) -> &str {
        PRINTER
    }
    fn channel(&self) -> Channel {
        Channel::DirectMail
    }
    async fn send(&self, msg: &Outgoing) -> Result<Accepted, SendError> {
        use relais_channels::direct_mail::{address::describe, validate};
        let (Address::Postal(to), Content::Letter(letter)) = (&msg.to, &msg.content) else {
            return Err(SendError::permanent("printer: not a letter to a postal address"));
        };
        validate(to).map_err(|p| SendError::invalid_address(format!("printer: {}", describe(&p))))?;
        validate(&letter.from)
            .map_err(|p| SendError::permanent(format!("printer: return address: {}", describe(&p))))?;
        let today = jiff::Timestamp::now().to_zoned(self.tz.clone()).date();
        Ok(Accepted {
            provider_message_id: Some(print_batch(today)),
            detail: None,
        })
    }
}

/// One provider with what guards it.
pub struct Guarded {
    pub provider: Arc<dyn Provider>,
    pub concurrency: Arc<Semaphore>,
    limiter: Option<DefaultDirectRateLimiter>,
    breaker: Mutex<Breaker>,
    breaker_failures: u32,
    breaker_open: Duration,
}

#[derive(Default)]
struct Breaker {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

impl Guarded {
    fn new(provider: Arc<dyn Provider>, limits: &ProviderLimits, cfg: &ChannelsConfig) -> Guarded {
        let limiter = NonZeroU32::new(limits.per_second).map(|rate| {
            let burst = limits.burst.and_then(NonZeroU32::new).unwrap_or(rate);
            RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
        });
        Guarded {
            provider,
            concurrency: Arc::new(Semaphore::new(limits.concurrency.max(1))),
            limiter,
            breaker: Mutex::new(Breaker::default()),
            breaker_failures: cfg.breaker_failures.max(1),
            breaker_open: Duration::from_secs(cfg.breaker_open_secs),
        }
    }

    /// Waits for a token of the rate limit.
    pub async fn rate_limit(&self) {
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
    }

    /// `Some(remaining)` while the circuit is open: the provider is left
    /// alone and its messages wait, costing nothing to other providers.
    pub fn open_for(&self) -> Option<Duration> {
        let b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        b.open_until
            .and_then(|t| t.checked_duration_since(Instant::now()))
    }

    /// Records an outcome: retryable failures count towards opening the circuit.
    pub fn record(&self, ok: bool) {
        let mut b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            *b = Breaker::default();
            return;
        }
        b.consecutive_failures += 1;
        if b.consecutive_failures >= self.breaker_failures {
            b.open_until = Some(Instant::now() + self.breaker_open);
            b.consecutive_failures = 0;
            tracing::warn!(
                provider = self.provider.name(),
                secs = self.breaker_open.as_secs(),
                "provider failing: circuit open"
            );
        }
    }
}

/// All providers by name, and which one serves each channel.
pub struct Providers {
    by_name: HashMap<String, Arc<Guarded>>,
    by_channel: HashMap<Channel, String>,
    apns: Option<String>,
}

impl Providers {
    pub fn from_config(cfg: &ChannelsConfig) -> anyhow::Result<Providers> {
        use relais_channels::{direct_mail, email, push, sms, webhook, whatsapp};
        let mut list: Vec<Arc<dyn Provider>> = Vec::new();
        let mut pick = |ch: Channel, p: Option<Arc<dyn Provider>>| -> String {
            let p = p.unwrap_or_else(|| Arc::new(Sandbox { channel: ch }));
            let name = p.name().to_owned();
            list.push(p);
            name
        };
        let err = |what: &str, e: &dyn std::fmt::Display| anyhow::anyhow!("channels.{what}: {e}");
        let mut by_channel = HashMap::new();
        let smtp = cfg
            .smtp
            .clone()
            .map(email::SmtpProvider::new)
            .transpose()
            .map_err(|e| err("smtp", &e))?;
        by_channel.insert(
            Channel::Email,
            pick(Channel::Email, smtp.map(|p| Arc::new(p) as _)),
        );
        let twilio = cfg.twilio.clone().map(sms::twilio::TwilioProvider::new);
        by_channel.insert(Channel::Sms, pick(Channel::Sms, twilio.map(|p| Arc::new(p) as _)));
        let fcm = cfg
            .fcm
            .clone()
            .map(push::FcmProvider::new)
            .transpose()
            .map_err(|e| err("fcm", &e))?;
        by_channel.insert(Channel::Push, pick(Channel::Push, fcm.map(|p| Arc::new(p) as _)));
        let apns = cfg
            .apns
            .clone()
            .map(push::ApnsProvider::new)
            .transpose()
            .map_err(|e| err("apns", &e))?;
        let apns = apns.map(|p| pick(Channel::Push, Some(Arc::new(p) as _)));
        let wa = cfg.whatsapp.clone().map(whatsapp::WhatsappProvider::new);
        by_channel.insert(
            Channel::Whatsapp,
            pick(Channel::Whatsapp, wa.map(|p| Arc::new(p) as _)),
        );
        let hook = cfg
            .webhook
            .clone()
            .map(webhook::WebhookProvider::new)
            .transpose()
            .map_err(|e| err("webhook", &e))?;
        by_channel.insert(
            Channel::Webhook,
            pick(Channel::Webhook, hook.map(|p| Arc::new(p) as _)),
        );
        let lob = cfg
            .lob
            .clone()
            .map(direct_mail::LobProvider::new)
            .transpose()
            .map_err(|e| err("lob", &e))?;
        let printer = match (&cfg.printer, &lob) {
            (Some(_), Some(_)) => {
                anyhow::bail!("channels: configure lob or printer for direct mail, not both")
            }
            (Some(p), None) => Some(Arc::new(Printer {
                tz: jiff::tz::TimeZone::get(&p.timezone).map_err(|e| err("printer.timezone", &e))?,
            }) as Arc<dyn Provider>),
            (None, _) => None,
        };
        let letters = lob.map(|p| Arc::new(p) as _).or(printer);
        by_channel.insert(Channel::DirectMail, pick(Channel::DirectMail, letters));
        by_channel.insert(Channel::InApp, INBOX.to_owned());
        by_channel.insert(Channel::Task, TASKS.to_owned());
        let mut by_name = HashMap::new();
        for p in list {
            let limits = cfg.limits.get(p.name()).cloned().unwrap_or_default();
            by_name
                .entry(p.name().to_owned())
                .or_insert_with(|| Arc::new(Guarded::new(p, &limits, cfg)));
        }
        Ok(Providers {
            by_name,
            by_channel,
            apns,
        })
    }

    /// The provider for a message to `to` on `channel` (push tokens go to APNs
    /// when it is configured and the token is an APNs one).
    pub fn name_for(&self, channel: Channel, to: &Address) -> &str {
        if let (
            Some(apns),
            Address::PushToken {
                platform: PushPlatform::Apns,
                ..
            },
        ) = (&self.apns, to)
        {
            return apns;
        }
        self.by_channel.get(&channel).map_or(SANDBOX, String::as_str)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Guarded>> {
        self.by_name.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::PrinterConfig;
    use super::*;
    use relais_channels::{LetterContent, PostalAddress};

    fn config(toml_like: serde_json::Value) -> ChannelsConfig {
        serde_json::from_value(toml_like).expect("config")
    }

    fn letter(postal_code: &str) -> Outgoing {
        let addr = |name: &str| PostalAddress {
            name: name.into(),
            line1: "12 rue de la Paix".into(),
            city: "Paris".into(),
            postal_code: postal_code.into(),
            country: "FR".into(),
            ..PostalAddress::default()
        };
        Outgoing {
            id: "msg_1".into(),
            to: Address::Postal(addr("Anne Martin")),
            content: Content::Letter(LetterContent {
                from: addr("Shop"),
                description: String::new(),
                html: "<p>Hello</p>".into(),
            }),
        }
    }

    #[tokio::test]
    async fn printer_takes_letters_into_the_batch_of_its_day() {
        let zone = "Pacific/Kiritimati"; // UTC+14: its day is rarely the UTC day
        let cfg = config(serde_json::json!({"printer": {"timezone": zone}}));
        let p = Providers::from_config(&cfg).unwrap();
        let ok = letter("75002");
        assert_eq!(p.name_for(Channel::DirectMail, &ok.to), PRINTER);
        let printer = &p.get(PRINTER).unwrap().provider;
        let day = jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::get(zone).unwrap())
            .date();
        let accepted = printer.send(&ok).await.unwrap();
        assert_eq!(accepted.provider_message_id, Some(format!("print-{day}")));
        let err = printer.send(&letter("7500")).await.unwrap_err();
        assert!(
            matches!(&err, SendError::Permanent { invalid_address: true, reason } if reason.contains("postal_code")),
            "{err:?}"
        );
    }

    #[test]
    fn printer_configuration_errors() {
        relais_channels::http::install_crypto();
        let cfg = config(serde_json::json!({"printer": {"timezone": "Mars/Olympus"}}));
        let e = Providers::from_config(&cfg).err().unwrap().to_string();
        assert!(e.contains("channels.printer.timezone"), "{e}");
        let mut cfg = config(serde_json::json!({"lob": {"api_key": "test_x"}}));
        cfg.printer = Some(PrinterConfig::default());
        let e = Providers::from_config(&cfg).err().unwrap().to_string();
        assert!(e.contains("lob or printer"), "{e}");
        let sandbox = Providers::from_config(&ChannelsConfig::default()).unwrap();
        assert_eq!(
            sandbox.name_for(Channel::DirectMail, &letter("75002").to),
            SANDBOX
        );
    }
}
