//! The message a provider receives and what it answers.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Every channel Relais delivers on. The names are the ones consent, frequency
/// caps and the API use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Push,
    InApp,
    Whatsapp,
    Webhook,
    DirectMail,
    Task,
}

impl Channel {
    pub const ALL: [Channel; 8] = [
        Channel::Email,
        Channel::Sms,
        Channel::Push,
        Channel::InApp,
        Channel::Whatsapp,
        Channel::Webhook,
        Channel::DirectMail,
        Channel::Task,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::InApp => "in_app",
            Channel::Whatsapp => "whatsapp",
            Channel::Webhook => "webhook",
            Channel::DirectMail => "direct_mail",
            Channel::Task => "task",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message ready to leave: rendered, addressed, with its stable id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    /// The Relais message id (`msg_…`): the same on every attempt. Providers that
    /// take an idempotency key receive it; e-mail uses it in `Message-ID`.
    pub id: String,
    pub to: Address,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushPlatform {
    /// Firebase Cloud Messaging (Android, and iOS/web through FCM).
    Fcm,
    /// Apple Push Notification service.
    Apns,
}

/// A postal address as the direct-mail providers take it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PostalAddress {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case ("FR", "US").
    pub country: String,
}

/// Where the message goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Address {
    Email(Mailbox),
    /// E.164 (`+33612345678`).
    Phone {
        number: String,
    },
    PushToken {
        platform: PushPlatform,
        token: String,
    },
    Url {
        url: String,
    },
    Postal(PostalAddress),
    /// The profile itself (in-app inbox, tasks about the customer).
    Profile {
        profile_id: String,
    },
}

/// What the message says, per channel, already personalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Content {
    Email(EmailContent),
    Sms(SmsContent),
    Push(PushContent),
    Whatsapp(WhatsappContent),
    Webhook(WebhookContent),
    Letter(LetterContent),
    InApp(InAppContent),
    Task(TaskContent),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailContent {
    pub from: Mailbox,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Mailbox>,
    pub subject: String,
    /// The HTML part (MJML already rendered, links already rewritten for tracking).
    pub html: String,
    /// The plain-text part.
    pub text: String,
    /// Extra headers in order (`List-Unsubscribe`, `List-Unsubscribe-Post`, …).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmsContent {
    pub body: String,
    /// Sender override; otherwise the provider's sender for the destination country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushContent {
    pub title: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Deep link / URL opened on tap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Key/value data delivered to the app (FCM `data`, APNs custom keys).
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// A WhatsApp template message (the only kind a business may start a conversation with).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatsappContent {
    pub template: String,
    /// Template language code ("en_US", "fr").
    pub language: String,
    /// Positional parameters of the body component, in order.
    #[serde(default)]
    pub body_params: Vec<String>,
    /// Positional parameters of the header component, if it has any.
    #[serde(default)]
    pub header_params: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookContent {
    /// The event type put in the payload (`type`), e.g. "journey.step".
    pub event_type: String,
    pub payload: Value,
    /// Where the receiver's JSON answer goes on the profile. The provider
    /// ignores it; the engine stores the answer after a 2xx. Part of the
    /// stored message, so a retry after a restart still stores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_response: Option<ResponseTarget>,
}

/// A webhook answer (or the part at `path`) to keep as a profile trait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseTarget {
    #[serde(rename = "trait")]
    pub trait_name: String,
    /// A JSON Pointer into the answer; empty: the whole answer.
    #[serde(default)]
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LetterContent {
    /// Return address printed on the letter.
    pub from: PostalAddress,
    /// A short description kept by the provider ("Winter catalogue letter").
    pub description: String,
    /// The letter body as HTML (Lob renders it); the printer export lays out its text.
    pub html: String,
}

/// A message in the app's or site's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InAppContent {
    pub title: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// Work for a person (call-centre agent, sales owner, store associate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskContent {
    pub title: String,
    pub instructions: String,
    /// The team's queue ("call_centre", "store:paris-01", …).
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Due time, unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<i64>,
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Accepted {
    /// The provider's id for it (Twilio SID, FCM name, APNs id, Lob id, SMTP queue id…).
    pub provider_message_id: Option<String>,
    /// Anything else worth keeping (segments counted, the answer's body, …).
    pub detail: Option<Value>,
}

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// Worth another attempt later: timeouts, refused connections, 429, 5xx,
    /// SMTP 4xx, refused credentials (a configuration being fixed).
    #[error("{reason}")]
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Will never succeed as it is. `invalid_address` says the address itself is
    /// bad (hard bounce, invalid number, unregistered push token): the caller
    /// suppresses it or removes the token.
    #[error("{reason}")]
    Permanent { reason: String, invalid_address: bool },
}

impl SendError {
    pub fn retryable(reason: impl Into<String>) -> SendError {
        SendError::Retryable {
            reason: reason.into(),
            retry_after: None,
        }
    }
    pub fn permanent(reason: impl Into<String>) -> SendError {
        SendError::Permanent {
            reason: reason.into(),
            invalid_address: false,
        }
    }
    pub fn invalid_address(reason: impl Into<String>) -> SendError {
        SendError::Permanent {
            reason: reason.into(),
            invalid_address: true,
        }
    }
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Retryable { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), Value::String(c.as_str().into()));
        }
        assert_eq!(Channel::parse("fax"), None);
    }
}
