//! Delivery to the outside world. A [`Provider`] takes one rendered, addressed
//! message ([`Outgoing`]) and answers accepted, retry later, or never. This crate
//! knows nothing of the store, journeys or governance: the engine's outbox decides
//! what is sent, when and how often it is retried; providers only speak protocols.

pub mod audiences;
pub mod direct_mail;
pub mod email;
pub mod http;
pub mod message;
pub mod push;
pub mod sms;
pub mod webhook;
pub mod whatsapp;

pub use message::{
    Accepted, Address, Channel, Content, EmailContent, InAppContent, LetterContent, Mailbox, Outgoing,
    PostalAddress, PushContent, PushPlatform, ResponseTarget, SendError, SmsContent, TaskContent,
    WebhookContent, WhatsappContent,
};

/// One delivery provider (an SMTP relay, Twilio, FCM, …). Implementations are
/// cheap to share (`Arc<dyn Provider>`) and safe to call concurrently; pooling,
/// tokens and connections are their own business. Rate limits, retries and
/// circuit breaking belong to the caller.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// The name used in configuration and recorded on each message ("smtp", "twilio", …).
    fn name(&self) -> &str;
    /// The channel this provider delivers.
    fn channel(&self) -> Channel;
    /// Delivers one message. Must not retry internally: the outbox owns retries.
    async fn send(&self, msg: &Outgoing) -> Result<Accepted, SendError>;
}
