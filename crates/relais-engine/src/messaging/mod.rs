//! Messages: one send to one profile on one channel, through governance
//! into the outbox, out through the dispatcher, and back as feedback
//! (docs/channels.md).
//!
//! * [`compose`] — address from the profile, Liquid/MJML rendering, tracked links.
//! * [`governance`] — suppression, consent, control group, caps, quiet hours.
//! * [`dispatch`] — the outbox worker: limits, retries, circuit breakers.
//! * [`feedback`] — sent/delivered/opened/… as events on the timeline.
//! * [`links`] — signed open/click/unsubscribe/preference links.

pub mod callbacks;
pub mod compose;
pub mod config;
pub mod dispatch;
pub mod engagement;
pub mod exports;
pub mod feedback;
pub mod governance;
pub mod inbox;
pub mod links;
pub mod providers;

use crate::Engine;
use compose::Subject;
pub use engagement::Messaging;
use governance::{Ask, Decision};
use relais_channels::Channel;
use relais_core::profile::ProfileState;
use relais_core::time::now_ms;
use relais_core::{Error, ErrorCode, ProfileId, WorkspaceId};
use relais_store::{AttemptRecord, MessageFilter, MessageRecord, MessageStatus, NewMessage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `POST /api/v1/messages`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// `prof_…` or `type:value` (`email:ann@example.com`, `user_id:42`, …).
    pub profile: String,
    /// email, sms, push, in_app, whatsapp, webhook, direct_mail, task.
    pub channel: String,
    /// Transactional messages skip consent, caps, quiet hours and the control
    /// group — never the suppression list.
    #[serde(default)]
    pub transactional: bool,
    /// The same key twice sends once (the first message is returned).
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Campaign name: `utm_campaign` on links, attribution.
    #[serde(default)]
    pub campaign: Option<String>,
    /// Templates for the channel (docs/channels.md).
    #[schema(value_type = Object)]
    pub content: Value,
    /// Extra Liquid data, available as `data`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Value,
    /// `defer` or `drop` a marketing send in quiet hours (default: the
    /// workspace's `quiet_hours.behaviour`).
    #[serde(default)]
    pub quiet_hours: Option<String>,
    /// Set by a journey's send step (never from the API): the message is
    /// stored without an fsync of its own (`NewMessage::relaxed`).
    #[serde(skip)]
    pub from_journey: bool,
}

/// A message as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: String,
    pub profile_id: String,
    pub channel: String,
    pub provider: String,
    pub category: String,
    pub status: String,
    pub reason: Option<String>,
    pub campaign: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: Option<String>,
    pub provider_message_id: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub delivered_at: Option<String>,
    pub opened_at: Option<String>,
    pub clicked_at: Option<String>,
    pub dismissed_at: Option<String>,
    #[schema(value_type = Object)]
    pub to: Value,
    #[schema(value_type = Object)]
    pub content: Value,
    /// Every attempt (only when one message is asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub attempt_log: Option<Vec<AttemptRecord>>,
}

fn ts(ms: Option<i64>) -> Option<String> {
    ms.map(relais_core::time::format_ms)
}

impl MessageView {
    pub fn from_record(m: MessageRecord) -> MessageView {
        MessageView {
            profile_id: m.profile_id.to_string(),
            status: m.status.as_str().to_owned(),
            next_attempt_at: ts(m.next_attempt_at),
            created_at: relais_core::time::format_ms(m.created_at),
            sent_at: ts(m.sent_at),
            delivered_at: ts(m.delivered_at),
            opened_at: ts(m.opened_at),
            clicked_at: ts(m.clicked_at),
            dismissed_at: ts(m.dismissed_at),
            to: serde_json::from_str(&m.address).unwrap_or(Value::Null),
            content: serde_json::from_str(&m.content).unwrap_or(Value::Null),
            attempt_log: None,
            id: m.id,
            channel: m.channel,
            provider: m.provider,
            category: m.category,
            reason: m.reason,
            campaign: m.campaign,
            attempts: m.attempts,
            provider_message_id: m.provider_message_id,
        }
    }
}

/// The message id for an idempotency key: the same key, the same id.
pub fn message_id(ws: WorkspaceId, key: &str) -> String {
    let h = Sha256::digest(format!("{}:{key}", ws.0));
    format!("msg_{}", &hex::encode(h)[..24])
}

pub(crate) async fn profile_state(
    engine: &Engine,
    ws: WorkspaceId,
    id: ProfileId,
) -> Result<(ProfileId, ProfileState), Error> {
    let (stored, state) = crate::profiles::load(engine, ws, id).await?;
    Ok((stored.id, state))
}

/// The Liquid globals `recommendations` (the `auto` strategy, 3 products)
/// and `nearest_store` (for `data.product`, from where the customer is,
/// within `nearest_store_within_km`: docs/catalog.md), each only when the
/// content mentions it.
async fn commerce_globals(
    engine: &Engine,
    ws: WorkspaceId,
    pid: ProfileId,
    state: &ProfileState,
    content: &Value,
    data: &Value,
) -> Result<serde_json::Map<String, Value>, Error> {
    let mut out = serde_json::Map::new();
    let (recommendations, nearest) = compose::wanted_globals(content);
    let c = &engine.commerce;
    if recommendations {
        let auto = crate::catalog::recommend::auto();
        let view = c.recommend_for(ws, pid, state, &auto, "auto", 3).await?;
        let list = serde_json::to_value(view.products).unwrap_or(Value::Null);
        out.insert("recommendations".into(), list);
    }
    if nearest {
        let store = match compose::data_product(data) {
            Some(product) => c.nearest_store_for(ws, state, product).await?,
            None => None,
        };
        out.insert("nearest_store".into(), store.unwrap_or(Value::Null));
    }
    Ok(out)
}

/// Sends one message: governance, rendering, the outbox. Returns the stored
/// message (queued, or skipped with the reason) and whether it is new.
pub async fn send(engine: &Engine, ws: WorkspaceId, req: SendRequest) -> Result<(MessageView, bool), Error> {
    let channel = check(&req)?;
    let m = &engine.messaging;
    let pid = crate::profiles::resolve_ref(engine, ws, &req.profile).await?;
    let (pid, state) = profile_state(engine, ws, pid).await?;
    let key = req
        .idempotency_key
        .clone()
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let id = message_id(ws, &key);
    if let Some(existing) = engine.store.get_message(ws, &id).await? {
        return Ok((MessageView::from_record(existing), false));
    }
    let now = now_ms();
    // Render first: a template error is the caller's to fix, whoever the profile is.
    let draft = Draft::compose(engine, ws, pid, &state, channel, &req, key, now).await?;
    // Caps are check-then-insert: one marketing send per profile at a time.
    let _one_at_a_time = match draft.marketing {
        true => Some(m.locks.lock(ws, pid).await),
        false => None,
    };
    let decision = match draft.ask(&state) {
        Ok(ask) => governance::decide(&engine.store, &engine.config.governance, &m.salts, &ask).await?,
        Err(why) => Decision::Skip(why),
    };
    let new = draft.decided(engine, decision).await?;
    let queued = new.status == MessageStatus::Queued;
    let stored = engine.store.enqueue_message(&new).await?;
    if stored.created && queued {
        m.dispatcher.wake.notify_one();
    }
    Ok((MessageView::from_record(stored.message), stored.created))
}

/// The request's channel, once its content and options are checked.
pub(crate) fn check(req: &SendRequest) -> Result<Channel, Error> {
    let channel = Channel::parse(&req.channel).ok_or_else(|| {
        let all: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
        Error::new(
            ErrorCode::InvalidField,
            format!("channel: {:?} is not one of {}", req.channel, all.join(", ")),
        )
    })?;
    if !req.content.is_object() {
        return Err(Error::new(ErrorCode::InvalidField, "content: must be an object"));
    }
    if let Some(q) = req
        .quiet_hours
        .as_deref()
        .filter(|q| !["defer", "drop"].contains(q))
    {
        return Err(Error::new(
            ErrorCode::InvalidField,
            format!("quiet_hours: {q:?} is not defer or drop"),
        ));
    }
    Ok(channel)
}

/// A message rendered and addressed for one profile, before governance.
pub(crate) struct Draft {
    pub ws: WorkspaceId,
    pub profile: ProfileId,
    pub id: String,
    key: String,
    pub channel: Channel,
    content: relais_channels::Content,
    /// The address, or why the profile cannot be reached on the channel.
    pub address: Result<(relais_channels::Address, Option<String>), String>,
    pub marketing: bool,
    campaign: Option<String>,
    drop_in_quiet_hours: Option<bool>,
    relaxed: bool,
    now: i64,
}

impl Draft {
    /// Renders the request's content for the profile and finds its address.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn compose(
        engine: &Engine,
        ws: WorkspaceId,
        pid: ProfileId,
        state: &ProfileState,
        channel: Channel,
        req: &SendRequest,
        key: String,
        now: i64,
    ) -> Result<Draft, Error> {
        let id = message_id(ws, &key);
        let marketing = !req.transactional;
        let commerce = commerce_globals(engine, ws, pid, state, &req.content, &req.data).await?;
        let subject = Subject {
            ws,
            profile: pid,
            state,
            message_id: &id,
            campaign: req.campaign.as_deref(),
            marketing,
            data: &req.data,
            now,
            commerce,
        };
        let content = compose::content(
            channel,
            &req.content,
            &subject,
            &engine.messaging.signer,
            &engine.config.channels.email_from,
        )?;
        Ok(Draft {
            ws,
            profile: pid,
            id,
            key,
            channel,
            content,
            address: compose::address(channel, pid, state, &req.content),
            marketing,
            campaign: req.campaign.clone(),
            drop_in_quiet_hours: req.quiet_hours.as_deref().map(|b| b == "drop"),
            relaxed: req.from_journey,
            now,
        })
    }

    /// What governance is asked, or why there is nothing to ask (unreachable).
    pub(crate) fn ask<'a>(&'a self, state: &'a ProfileState) -> Result<Ask<'a>, String> {
        let (_, key) = self.address.as_ref().map_err(Clone::clone)?;
        Ok(Ask {
            ws: self.ws,
            profile: self.profile,
            state,
            channel: self.channel,
            address_key: key.as_deref(),
            marketing: self.marketing,
            now: self.now,
            drop_in_quiet_hours: self.drop_in_quiet_hours,
        })
    }

    /// The outbox row for this draft and governance's decision (a skipped
    /// message is stored too, with its reason and a `… Skipped` event).
    pub(crate) async fn decided(self, engine: &Engine, decision: Decision) -> Result<NewMessage, Error> {
        let m = &engine.messaging;
        let (ws, pid, now) = (self.ws, self.profile, self.now);
        let address = match self.address {
            Ok((a, _)) => a,
            Err(_) => relais_channels::Address::Profile {
                profile_id: pid.to_string(),
            },
        };
        let provider = m.dispatcher.providers.name_for(self.channel, &address).to_owned();
        let (status, reason, next) = match &decision {
            Decision::Send { not_before } => (MessageStatus::Queued, None, Some(not_before.unwrap_or(now))),
            Decision::Skip(why) => (MessageStatus::Skipped, Some(why.clone()), None),
        };
        let mut emitted = Vec::new();
        if let Decision::Skip(why) = &decision {
            let extra = serde_json::json!({ "reason": why });
            emitted.push(
                feedback::event(
                    &m.sources,
                    &engine.store,
                    ws,
                    pid,
                    &self.id,
                    self.channel,
                    self.campaign.as_deref(),
                    feedback::What::Skipped,
                    extra,
                    None,
                    now,
                )
                .await?,
            );
        }
        Ok(NewMessage {
            id: self.id,
            workspace_id: ws,
            profile_id: pid,
            channel: self.channel.as_str().to_owned(),
            provider,
            category: if self.marketing {
                "marketing"
            } else {
                "transactional"
            }
            .to_owned(),
            idempotency_key: self.key,
            campaign: self.campaign,
            status,
            reason,
            address: serde_json::to_string(&address).map_err(|e| Error::internal(e.to_string()))?,
            content: serde_json::to_string(&self.content).map_err(|e| Error::internal(e.to_string()))?,
            next_attempt_at: next,
            created_at: now,
            emitted,
            relaxed: self.relaxed,
        })
    }
}

pub async fn get(engine: &Engine, ws: WorkspaceId, id: &str) -> Result<MessageView, Error> {
    let m = engine
        .store
        .get_message(ws, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no message {id}")))?;
    let mut view = MessageView::from_record(m);
    view.attempt_log = Some(engine.store.message_attempts(ws, id).await?);
    Ok(view)
}

/// `GET /api/v1/messages` filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// A profile reference (`prof_…` or `type:value`).
    pub profile: Option<String>,
    pub status: Option<String>,
    pub channel: Option<String>,
    /// The `next` cursor of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next: Option<String>,
}

pub async fn list(engine: &Engine, ws: WorkspaceId, q: ListQuery) -> Result<MessagePage, Error> {
    let status = match &q.status {
        Some(s) => Some(MessageStatus::parse(s).ok_or_else(|| {
            let all: Vec<&str> = MessageStatus::ALL.iter().map(|s| s.as_str()).collect();
            Error::new(
                ErrorCode::InvalidField,
                format!("status: {s:?} is not one of {}", all.join(", ")),
            )
        })?),
        None => None,
    };
    let profile_id = match &q.profile {
        Some(r) => Some(crate::profiles::resolve_ref(engine, ws, r).await?),
        None => None,
    };
    let before = match &q.cursor {
        Some(c) => {
            let bad = || {
                Error::new(
                    ErrorCode::InvalidField,
                    "cursor: not a cursor from a previous page",
                )
            };
            let (at, id) = c.split_once('_').ok_or_else(bad)?;
            Some((
                at.parse().map_err(|_| bad())?,
                format!("msg_{}", id.trim_start_matches("msg_")),
            ))
        }
        None => None,
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let filter = MessageFilter {
        profile_id,
        status,
        channel: q.channel,
        before,
        limit,
    };
    let rows = engine.store.list_messages(ws, &filter).await?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|m| format!("{}_{}", m.created_at, m.id)))
        .flatten();
    Ok(MessagePage {
        messages: rows.into_iter().map(MessageView::from_record).collect(),
        next,
    })
}
