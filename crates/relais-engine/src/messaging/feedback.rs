//! What happened to a message, as events on the customer's timeline
//! (`Email Opened`, `SMS Delivered`, …): usable by segments and journeys like
//! any tracked event. Each event's message id is derived from the message and
//! what happened, so recording the same thing twice logs it once.

use crate::internal::{self, InternalSources};
use relais_channels::Channel;
use relais_core::{ProfileId, WorkspaceId};
use relais_store::{DynStore, EmittedEvent, MessageRecord, StoreError};
use serde_json::{json, Value};

/// Something that happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Sent,
    Delivered,
    Opened,
    Clicked,
    Bounced,
    Failed,
    Complained,
    Dismissed,
    Skipped,
}

impl What {
    fn key(self) -> &'static str {
        match self {
            What::Sent => "sent",
            What::Delivered => "delivered",
            What::Opened => "opened",
            What::Clicked => "clicked",
            What::Bounced => "bounced",
            What::Failed => "failed",
            What::Complained => "complained",
            What::Dismissed => "dismissed",
            What::Skipped => "skipped",
        }
    }
}

/// The event name for `what` on `channel` (docs/channels.md lists them all).
pub fn event_name(channel: Channel, what: What) -> String {
    let prefix = match channel {
        Channel::Email => "Email",
        Channel::Sms => "SMS",
        Channel::Push => "Push Notification",
        Channel::InApp => "In-App Message",
        Channel::Whatsapp => "WhatsApp Message",
        Channel::Webhook => "Webhook",
        Channel::DirectMail => "Letter",
        Channel::Task => "Task",
    };
    let verb = match (channel, what) {
        (_, What::Skipped) => "Skipped",
        (Channel::Task, What::Sent) => "Created",
        (_, What::Sent) => "Sent",
        (_, What::Delivered) => "Delivered",
        (Channel::Push, What::Opened | What::Clicked) => "Tapped",
        (Channel::InApp, What::Opened) => "Viewed",
        (Channel::Whatsapp, What::Opened) => "Read",
        (_, What::Opened) => "Opened",
        (Channel::Email | Channel::Sms, What::Clicked) => "Link Clicked",
        (_, What::Clicked) => "Clicked",
        (_, What::Bounced) => "Bounced",
        (_, What::Failed) => "Failed",
        (Channel::Email, What::Complained) => "Marked as Spam",
        (_, What::Complained) => "Complained",
        (_, What::Dismissed) => "Dismissed",
    };
    format!("{prefix} {verb}")
}

/// Builds the feedback event for a message. `extra` goes into the
/// properties (the clicked URL, the error…); `discriminator` separates
/// events of one kind that must each be logged (two different links).
#[allow(clippy::too_many_arguments)]
pub async fn event(
    sources: &InternalSources,
    store: &DynStore,
    ws: WorkspaceId,
    profile: ProfileId,
    message_id: &str,
    channel: Channel,
    campaign: Option<&str>,
    what: What,
    extra: Value,
    discriminator: Option<&str>,
    at: i64,
) -> Result<EmittedEvent, StoreError> {
    let source = sources.get(store, ws).await?;
    let mut props = json!({
        "message_id": message_id,
        "channel": channel.as_str(),
        "campaign": campaign,
    });
    if let (Some(p), Value::Object(extra)) = (props.as_object_mut(), extra) {
        p.extend(extra);
    }
    let id = match discriminator {
        Some(d) => format!("{message_id}:{}:{d}", what.key()),
        None => format!("{message_id}:{}", what.key()),
    };
    Ok(internal::event(
        ws,
        source,
        profile,
        &event_name(channel, what),
        channel.as_str(),
        id,
        props,
        at,
    ))
}

/// The same for a stored message.
pub async fn for_message(
    sources: &InternalSources,
    store: &DynStore,
    m: &MessageRecord,
    what: What,
    extra: Value,
    discriminator: Option<&str>,
    at: i64,
) -> Result<EmittedEvent, StoreError> {
    let channel = Channel::parse(&m.channel).unwrap_or(Channel::Webhook);
    event(
        sources,
        store,
        m.workspace_id,
        m.profile_id,
        &m.id,
        channel,
        m.campaign.as_deref(),
        what,
        extra,
        discriminator,
        at,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_field() {
        assert_eq!(event_name(Channel::Email, What::Clicked), "Email Link Clicked");
        assert_eq!(
            event_name(Channel::Email, What::Complained),
            "Email Marked as Spam"
        );
        assert_eq!(
            event_name(Channel::Push, What::Opened),
            "Push Notification Tapped"
        );
        assert_eq!(
            event_name(Channel::Whatsapp, What::Opened),
            "WhatsApp Message Read"
        );
        assert_eq!(event_name(Channel::Task, What::Sent), "Task Created");
        assert_eq!(
            event_name(Channel::InApp, What::Dismissed),
            "In-App Message Dismissed"
        );
    }
}
