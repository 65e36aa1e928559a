//! What providers tell us after a send, and what customers write back:
//! Twilio status callbacks and inbound SMS (STOP/START), WhatsApp Cloud API
//! statuses and inbound messages, e-mail DSN (RFC 3464) and ARF (RFC 5965)
//! reports, and a plain JSON bounce/complaint form for relays that post their
//! own webhooks. Each becomes an engagement on the message, an event on the
//! timeline and, where the address is dead or the customer objected, a
//! suppression or a consent change. Signatures are checked by the HTTP layer.

use super::engagement::{consent_event, record};
use super::feedback::What;
use crate::internal;
use crate::Engine;
use relais_channels::email::{DsnAction, Feedback};
use relais_channels::sms::twilio::{Inbound, Keyword, StatusUpdate};
use relais_channels::whatsapp::WhatsappEvent;
use relais_core::identity::{Identity, EMAIL, PHONE};
use relais_core::time::now_ms;
use relais_core::{Error, ErrorCode, ProfileId, WorkspaceId};
use relais_store::{Engagement, MessageRecord, Suppression};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Provider names as stored on messages (`providers::name_for`).
const TWILIO: &str = "twilio";
const WHATSAPP: &str = "whatsapp";

/// Twilio error codes that mean the number will never take an SMS: it is
/// suppressed like a hard-bounced e-mail (21211 invalid 'To', 21408/21612
/// unroutable, 21614 not a mobile number, 30005 unknown destination, 30006
/// landline, 30007 carrier-filtered is NOT here: it may pass later).
const DEAD_NUMBER_CODES: [u32; 6] = [21211, 21408, 21612, 21614, 30005, 30006];

/// What a callback did, for the provider's answer and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// Messages whose state changed (or whose event was logged).
    pub messages: usize,
    /// Profiles whose consent changed.
    pub consent_changes: usize,
    /// Addresses added to the suppression list.
    pub suppressed: usize,
    /// Reports that named no message Relais knows (logged, ignored).
    pub unknown: usize,
}

impl Applied {
    fn add(&mut self, o: Applied) {
        self.messages += o.messages;
        self.consent_changes += o.consent_changes;
        self.suppressed += o.suppressed;
        self.unknown += o.unknown;
    }
}

fn suppression(m: &MessageRecord, address: String, reason: String) -> Suppression {
    Suppression {
        workspace_id: m.workspace_id,
        channel: m.channel.clone(),
        address,
        reason,
        message_id: Some(m.id.clone()),
        created_at: now_ms(),
    }
}

/// The normalised address a message went to (the suppression key).
fn message_address(m: &MessageRecord) -> Option<String> {
    let a = serde_json::from_str(&m.address).ok()?;
    super::compose::address_key(&a)
}

/// A Twilio status callback for a message we sent.
pub async fn twilio_status(engine: &Engine, u: &StatusUpdate) -> Result<Applied, Error> {
    let Some(m) = engine
        .store
        .find_message_by_provider_id(TWILIO, &u.message_sid)
        .await?
    else {
        tracing::info!(sid = %u.message_sid, status = %u.status, "twilio status for an unknown message");
        return Ok(Applied {
            unknown: 1,
            ..Applied::default()
        });
    };
    let code = u.error_code;
    let (kind, what, suppress) = match u.status.as_str() {
        "delivered" => (Engagement::Delivered, What::Delivered, None),
        "read" => (Engagement::Opened, What::Opened, None),
        "undelivered" | "failed" => {
            let dead = code.is_some_and(|c| DEAD_NUMBER_CODES.contains(&c));
            let s = dead
                .then(|| message_address(&m))
                .flatten()
                .map(|a| suppression(&m, a, format!("twilio error {}", code.unwrap_or_default())));
            let kind = if dead {
                Engagement::Bounced
            } else {
                Engagement::Failed
            };
            (kind, if dead { What::Bounced } else { What::Failed }, s)
        }
        // queued, sending, sent, accepted, scheduled: nothing new.
        _ => return Ok(Applied::default()),
    };
    let suppressed = usize::from(suppress.is_some());
    let reason = code.map(|c| format!("twilio error {c}"));
    record(
        engine,
        &m,
        kind,
        what,
        json!({ "provider_status": u.status, "reason": reason, "error_code": code }),
        None,
        suppress,
    )
    .await?;
    Ok(Applied {
        messages: 1,
        suppressed,
        ..Applied::default()
    })
}

/// Every profile, in any workspace, known by this phone number. The
/// sending number is shared by the installation, so a STOP sent to it
/// concerns every workspace that texts from it.
async fn profiles_by_phone(engine: &Engine, phone: &str) -> Result<Vec<(WorkspaceId, ProfileId)>, Error> {
    let Some(id) = Identity::new(PHONE, phone) else {
        return Ok(Vec::new());
    };
    let keys: Vec<_> = engine
        .store
        .list_workspaces()
        .await?
        .into_iter()
        .map(|w| (w.id, id.clone()))
        .collect();
    let found = engine.store.find_profiles(&keys).await?;
    Ok(keys
        .into_iter()
        .zip(found)
        .filter_map(|((ws, _), p)| p.map(|p| (ws, p)))
        .collect())
}

/// A message written to us: a keyword changes consent, anything else is a
/// reply on the timeline. `id` is the provider's id of the inbound message
/// (Twilio and Meta retry webhooks: the event is logged once).
async fn inbound(
    engine: &Engine,
    channel: &str,
    from: &str,
    id: &str,
    keyword: Option<Keyword>,
    text: Option<&str>,
) -> Result<Applied, Error> {
    let mut applied = Applied::default();
    for (ws, profile) in profiles_by_phone(engine, from).await? {
        match keyword {
            Some(Keyword::Stop) | Some(Keyword::Start) => {
                let subscribed = keyword == Some(Keyword::Start);
                consent_event(engine, ws, profile, channel, subscribed, &format!("inbound:{id}")).await?;
                applied.consent_changes += 1;
            }
            Some(Keyword::Help) | None => {
                let source = engine.messaging.sources.get(&engine.store, ws).await?;
                let name = if channel == "sms" {
                    "SMS Replied"
                } else {
                    "WhatsApp Message Replied"
                };
                let ev = internal::event(
                    ws,
                    source,
                    profile,
                    name,
                    channel,
                    format!("inbound:{id}"),
                    json!({ "channel": channel, "text": text, "keyword": keyword }),
                    now_ms(),
                );
                engine.store.append_emitted(&[ev]).await?;
                applied.messages += 1;
            }
        }
    }
    if applied == Applied::default() {
        tracing::info!(channel, "inbound message from a number no profile has");
        applied.unknown = 1;
    }
    Ok(applied)
}

/// An SMS received on the Twilio number.
pub async fn twilio_inbound(engine: &Engine, m: &Inbound) -> Result<Applied, Error> {
    inbound(engine, "sms", &m.from, &m.message_sid, m.keyword, Some(&m.body)).await
}

/// A WhatsApp Cloud API webhook: statuses of our messages, messages to us.
pub async fn whatsapp(engine: &Engine, events: &[WhatsappEvent]) -> Result<Applied, Error> {
    let mut applied = Applied::default();
    for e in events {
        let one = match e {
            WhatsappEvent::Status {
                id, status, errors, ..
            } => {
                let Some(m) = engine.store.find_message_by_provider_id(WHATSAPP, id).await? else {
                    applied.unknown += 1;
                    continue;
                };
                let (kind, what) = match status.as_str() {
                    "delivered" => (Engagement::Delivered, What::Delivered),
                    "read" => (Engagement::Opened, What::Opened),
                    "failed" => (Engagement::Failed, What::Failed),
                    _ => continue,
                };
                let reason = errors
                    .first()
                    .map(|e| format!("whatsapp error {}: {}", e.code, e.title.as_deref().unwrap_or("")));
                record(
                    engine,
                    &m,
                    kind,
                    what,
                    json!({ "provider_status": status, "reason": reason }),
                    None,
                    None,
                )
                .await?;
                Applied {
                    messages: 1,
                    ..Applied::default()
                }
            }
            WhatsappEvent::Message { id, from, text, .. } => {
                let keyword = text.as_deref().and_then(Keyword::detect);
                let from = format!("+{}", from.trim_start_matches('+'));
                inbound(engine, "whatsapp", &from, id, keyword, text.as_deref()).await?
            }
        };
        applied.add(one);
    }
    Ok(applied)
}

/// The message a report names, when it is one of this workspace's.
async fn reported(
    engine: &Engine,
    ws: WorkspaceId,
    id: Option<&str>,
) -> Result<Option<MessageRecord>, Error> {
    match id {
        Some(id) => Ok(engine.store.get_message(ws, id).await?),
        None => Ok(None),
    }
}

/// A bounce or complaint for `address`, tied to its message when known.
/// Hard bounces and complaints suppress the address; a complaint also
/// unsubscribes the profile from e-mail; soft bounces only log the event.
async fn email_outcome(
    engine: &Engine,
    ws: WorkspaceId,
    message: Option<MessageRecord>,
    address: Option<&str>,
    outcome: EmailOutcome,
    reason: String,
) -> Result<Applied, Error> {
    let address = address.and_then(|a| Identity::new(EMAIL, a)).map(|i| i.value);
    let Some(m) = message else {
        // No message to attach to: the suppression alone still protects the address.
        let Some(address) = address.filter(|_| outcome != EmailOutcome::SoftBounce) else {
            return Ok(Applied {
                unknown: 1,
                ..Applied::default()
            });
        };
        let s = Suppression {
            workspace_id: ws,
            channel: "email".into(),
            address,
            reason,
            message_id: None,
            created_at: now_ms(),
        };
        engine.store.put_suppression(&s).await?;
        return Ok(Applied {
            suppressed: 1,
            ..Applied::default()
        });
    };
    let address = address.or_else(|| message_address(&m));
    let extra = json!({ "reason": reason, "hard": outcome != EmailOutcome::SoftBounce });
    let mut applied = Applied {
        messages: 1,
        ..Applied::default()
    };
    match outcome {
        EmailOutcome::SoftBounce => {
            // The message may still arrive: an event, no change of state.
            let ev = super::feedback::for_message(
                &engine.messaging.sources,
                &engine.store,
                &m,
                What::Bounced,
                extra,
                Some("soft"),
                now_ms(),
            )
            .await?;
            engine.store.append_emitted(&[ev]).await?;
        }
        EmailOutcome::HardBounce | EmailOutcome::Complaint => {
            let what = if outcome == EmailOutcome::Complaint {
                What::Complained
            } else {
                What::Bounced
            };
            let s = address.map(|a| suppression(&m, a, reason.clone()));
            applied.suppressed = usize::from(s.is_some());
            record(engine, &m, Engagement::Bounced, what, extra, None, s).await?;
            if outcome == EmailOutcome::Complaint {
                consent_event(
                    engine,
                    ws,
                    m.profile_id,
                    "email",
                    false,
                    &format!("complaint:{}", m.id),
                )
                .await?;
                applied.consent_changes = 1;
            }
        }
    }
    Ok(applied)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmailOutcome {
    HardBounce,
    SoftBounce,
    Complaint,
}

/// A DSN or ARF report received by the bounce mailbox (`message/rfc822` or
/// a `multipart/report` as it arrived).
pub async fn email_report(engine: &Engine, ws: WorkspaceId, feedback: Feedback) -> Result<Applied, Error> {
    let mut applied = Applied::default();
    match feedback {
        Feedback::Bounces(reports) => {
            for r in reports {
                let outcome = match r.action {
                    DsnAction::Failed if r.hard => EmailOutcome::HardBounce,
                    DsnAction::Failed | DsnAction::Delayed => EmailOutcome::SoftBounce,
                    // Delivered / relayed / expanded: not a problem.
                    _ => continue,
                };
                let m = reported(engine, ws, r.relais_message_id.as_deref()).await?;
                let reason = format!(
                    "{} {}",
                    r.status,
                    r.diagnostic.as_deref().unwrap_or("(no diagnostic)")
                );
                applied.add(email_outcome(engine, ws, m, Some(&r.recipient), outcome, reason).await?);
            }
        }
        Feedback::Complaint(c) => {
            // "not-spam" is the opposite of a complaint.
            if c.feedback_type != "not-spam" {
                let m = reported(engine, ws, c.relais_message_id.as_deref()).await?;
                let reason = format!("complaint ({})", c.feedback_type);
                let to = c.original_recipient.as_deref();
                applied.add(email_outcome(engine, ws, m, to, EmailOutcome::Complaint, reason).await?);
            }
        }
        Feedback::NotAReport => {
            return Err(Error::new(
                ErrorCode::InvalidBody,
                "the message is neither a delivery status notification (multipart/report; \
                 report-type=delivery-status) nor an abuse report (report-type=feedback-report)",
            ))
        }
    }
    Ok(applied)
}

/// The JSON form for relays with their own webhooks (one object or an array).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailFeedback {
    /// `bounce` or `complaint`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The recipient.
    pub email: Option<String>,
    /// The Relais message id (the `X-Relais-Message-Id` header of the send).
    pub message_id: Option<String>,
    /// Bounces: permanent (suppress) or not. Default true.
    #[serde(default)]
    pub hard: Option<bool>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Bounces and complaints posted as JSON.
pub async fn email_json(
    engine: &Engine,
    ws: WorkspaceId,
    items: Vec<EmailFeedback>,
) -> Result<Applied, Error> {
    // Checked before anything is written: a bad item refuses the whole post.
    for (i, f) in items.iter().enumerate() {
        if f.kind != "bounce" && f.kind != "complaint" {
            return Err(Error::new(
                ErrorCode::InvalidField,
                format!("[{i}].type: {:?} is not \"bounce\" or \"complaint\"", f.kind),
            ));
        }
        if f.email.is_none() && f.message_id.is_none() {
            return Err(Error::new(
                ErrorCode::MissingField,
                format!("[{i}]: give the recipient `email`, the `message_id`, or both"),
            ));
        }
    }
    let mut applied = Applied::default();
    for f in items {
        let outcome = match (f.kind.as_str(), f.hard.unwrap_or(true)) {
            ("complaint", _) => EmailOutcome::Complaint,
            (_, true) => EmailOutcome::HardBounce,
            (_, false) => EmailOutcome::SoftBounce,
        };
        let m = reported(engine, ws, f.message_id.as_deref()).await?;
        let reason = f
            .reason
            .unwrap_or_else(|| format!("{} reported by the relay", f.kind));
        applied.add(email_outcome(engine, ws, m, f.email.as_deref(), outcome, reason).await?);
    }
    Ok(applied)
}

/// Helper for the HTTP layer: an object or an array of objects.
pub fn one_or_many(v: Value) -> Result<Vec<EmailFeedback>, Error> {
    let items = match v {
        Value::Array(a) => a,
        other => vec![other],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v).map_err(|e| Error::new(ErrorCode::InvalidField, format!("[{i}]: {e}")))
        })
        .collect()
}
