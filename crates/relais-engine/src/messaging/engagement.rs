//! Feedback from the customer: opens, clicks, unsubscribes and preference
//! changes through signed links; inbox reads, clicks and dismissals; provider
//! status reports. Each becomes an engagement on the message and an event on
//! the timeline, written together.

use super::dispatch::Dispatcher;
use super::feedback::{self, What};
use super::links::{Link, Signer};
use crate::internal::{self, InternalSources};
use crate::Engine;
use relais_core::profile::{SUBSCRIBED_EVENT, UNSUBSCRIBED_EVENT};
use relais_core::time::now_ms;
use relais_core::{Error, ErrorCode, ProfileId, WorkspaceId};
use relais_store::{Engagement, EngagementUpdate, MessageRecord, Suppression};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Digest;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The messaging side of a running engine.
pub struct Messaging {
    pub dispatcher: Arc<Dispatcher>,
    pub signer: Signer,
    pub sources: Arc<InternalSources>,
    /// Held from a marketing send's cap check to its outbox insert.
    pub locks: super::governance::ProfileLocks,
    pub salts: super::governance::Salts,
}

fn bad_link() -> Error {
    Error::new(
        ErrorCode::NotFound,
        "this link is not valid (altered or from another installation)",
    )
}

/// Applies one engagement to a message with its event (and suppression).
pub async fn record(
    engine: &Engine,
    m: &MessageRecord,
    kind: Engagement,
    what: What,
    extra: Value,
    discriminator: Option<&str>,
    suppress: Option<Suppression>,
) -> Result<Option<MessageRecord>, Error> {
    let at = now_ms();
    let sources = &engine.messaging.sources;
    let reason = extra.get("reason").and_then(Value::as_str).map(str::to_owned);
    let ev = feedback::for_message(sources, &engine.store, m, what, extra, discriminator, at).await?;
    let u = EngagementUpdate {
        workspace_id: m.workspace_id,
        message_id: m.id.clone(),
        kind,
        at,
        reason,
        suppress,
        emitted: vec![ev],
    };
    Ok(engine.store.record_engagement(&u).await?)
}

async fn message(engine: &Engine, ws: WorkspaceId, id: &str) -> Result<MessageRecord, Error> {
    engine.store.get_message(ws, id).await?.ok_or_else(bad_link)
}

/// The open pixel was loaded.
pub async fn open(engine: &Engine, token: &str) -> Result<(), Error> {
    let Some(Link::Open { ws, message: id }) = engine.messaging.signer.verify(token) else {
        return Err(bad_link());
    };
    let m = message(engine, ws, &id).await?;
    record(
        engine,
        &m,
        Engagement::Opened,
        What::Opened,
        json!({}),
        None,
        None,
    )
    .await?;
    Ok(())
}

/// A tracked link was followed: records the click, answers where to go.
pub async fn click(engine: &Engine, token: &str) -> Result<String, Error> {
    let Some(Link::Click { ws, message: id, url }) = engine.messaging.signer.verify(token) else {
        return Err(bad_link());
    };
    // Only a message that exists may redirect: the link cannot serve as an open redirect.
    let m = message(engine, ws, &id).await?;
    // A click is an open the pixel did not see (images blocked, as many mail
    // clients do by default): record it first, so "not opened" journeys and
    // open rates do not count a reader as absent. Its event id is the
    // pixel's, so a later pixel load adds nothing.
    if m.opened_at.is_none() {
        record(
            engine,
            &m,
            Engagement::Opened,
            What::Opened,
            json!({ "implied_by": "click" }),
            None,
            None,
        )
        .await?;
    }
    let disc = hex::encode(&sha2::Sha256::digest(url.as_bytes())[..6]);
    record(
        engine,
        &m,
        Engagement::Clicked,
        What::Clicked,
        json!({ "url": url }),
        Some(&disc),
        None,
    )
    .await?;
    Ok(url)
}

/// What an unsubscribe did.
#[derive(Debug, Clone, Serialize)]
pub struct Unsubscribed {
    pub channel: String,
    pub profile_id: String,
    pub preferences_url: String,
}

/// Writes a consent statement by Relais itself (`Subscribed`/`Unsubscribed`
/// with `properties.channel`), folded into the profile by the processor.
pub(crate) async fn consent_event(
    engine: &Engine,
    ws: WorkspaceId,
    profile: ProfileId,
    channel: &str,
    subscribed: bool,
    cause: &str,
) -> Result<(), Error> {
    let at = now_ms();
    let source = engine.messaging.sources.get(&engine.store, ws).await?;
    let name = if subscribed {
        SUBSCRIBED_EVENT
    } else {
        UNSUBSCRIBED_EVENT
    };
    let id = format!("{cause}:{}:{channel}:{at}", name.to_lowercase());
    let ev = internal::event(
        ws,
        source,
        profile,
        name,
        channel,
        id,
        json!({ "channel": channel, "cause": cause }),
        at,
    );
    engine.store.append_emitted(&[ev]).await?;
    Ok(())
}

/// One-click unsubscribe (RFC 8058) or the link in the message: the
/// profile is unsubscribed from the message's channel.
pub async fn unsubscribe(engine: &Engine, token: &str) -> Result<Unsubscribed, Error> {
    let Some(Link::Unsubscribe { ws, message: id }) = engine.messaging.signer.verify(token) else {
        return Err(bad_link());
    };
    let m = message(engine, ws, &id).await?;
    consent_event(engine, ws, m.profile_id, &m.channel, false, &m.id).await?;
    record(
        engine,
        &m,
        Engagement::Delivered,
        What::Delivered,
        json!({ "via": "unsubscribe" }),
        None,
        None,
    )
    .await?;
    let preferences_url = engine.messaging.signer.url(&Link::Preferences {
        ws,
        profile: m.profile_id,
    });
    Ok(Unsubscribed {
        channel: m.channel,
        profile_id: m.profile_id.to_string(),
        preferences_url,
    })
}

/// The preference centre's view of a profile.
#[derive(Debug, Clone, Serialize)]
pub struct Preferences {
    pub profile_id: String,
    /// Channel → subscribed / unsubscribed / unknown.
    pub consent: BTreeMap<String, String>,
}

pub const PREFERENCE_CHANNELS: [&str; 5] = ["email", "sms", "push", "whatsapp", "direct_mail"];

pub async fn preferences(
    engine: &Engine,
    token: &str,
) -> Result<(WorkspaceId, ProfileId, Preferences), Error> {
    let Some(Link::Preferences { ws, profile }) = engine.messaging.signer.verify(token) else {
        return Err(bad_link());
    };
    let (pid, state) = super::profile_state(engine, ws, profile).await?;
    let consent = PREFERENCE_CHANNELS
        .iter()
        .map(|c| {
            let s = state
                .consent
                .get(*c)
                .map(|r| serde_json::to_value(r.status).unwrap_or(Value::Null));
            (
                c.to_string(),
                s.and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "unknown".into()),
            )
        })
        .collect();
    Ok((
        ws,
        pid,
        Preferences {
            profile_id: pid.to_string(),
            consent,
        },
    ))
}

/// A choice made in the preference centre.
pub async fn set_preference(
    engine: &Engine,
    token: &str,
    channel: &str,
    subscribed: bool,
) -> Result<(), Error> {
    if !PREFERENCE_CHANNELS.contains(&channel) {
        return Err(Error::new(
            ErrorCode::InvalidField,
            format!("channel: {channel:?} has no preference"),
        ));
    }
    let (ws, pid, _) = preferences(engine, token).await?;
    consent_event(engine, ws, pid, channel, subscribed, "preferences").await
}
