//! The dispatcher: claims due messages from the outbox and delivers them,
//! each provider behind its rate limit, concurrency limit and circuit
//! breaker. Retryable failures come back later (exponential backoff with
//! jitter, `Retry-After` honoured) until the retry budget is spent (dead
//! letter); permanent ones settle at once. Every outcome is written with its
//! feedback event in one transaction, and only by the holder of the claim, so
//! a crash or a lease taken over never records (or sends) one attempt twice.

mod response;

use super::compose::address_key;
use super::config::ChannelsConfig;
use super::feedback::{self, What};
use super::providers::{Providers, INBOX, TASKS};
use crate::internal::InternalSources;
use relais_channels::{Channel, Content, Outgoing, SendError, WebhookContent};
use relais_core::time::now_ms;
use relais_store::{
    AttemptOutcome, AttemptResult, DynStore, MessageRecord, MessageStatus, StoreError, Suppression,
    TaskRecord, TaskStatus,
};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch, Notify, Semaphore};

/// Messages in flight at once, all providers together.
const MAX_IN_FLIGHT: usize = 2_048;

pub struct Dispatcher {
    pub store: DynStore,
    pub providers: Arc<Providers>,
    pub cfg: ChannelsConfig,
    pub sources: Arc<InternalSources>,
    /// Poked when a message is stored: it goes out at once, not on a poll.
    pub wake: Arc<Notify>,
    /// In-app messages as they are delivered (for live inbox streams).
    pub inbox: broadcast::Sender<MessageRecord>,
    in_flight: Arc<Semaphore>,
}

impl Dispatcher {
    pub fn new(
        store: DynStore,
        providers: Arc<Providers>,
        cfg: ChannelsConfig,
        sources: Arc<InternalSources>,
    ) -> Dispatcher {
        Dispatcher {
            store,
            providers,
            cfg,
            sources,
            wake: Arc::new(Notify::new()),
            inbox: broadcast::channel(1024).0,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let lease = self.cfg.lease_secs.max(1) as i64 * 1000;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let room = self
                .in_flight
                .available_permits()
                .min(self.cfg.claim_batch.max(1));
            let claimed = if room == 0 {
                Ok(Vec::new())
            } else {
                self.store.claim_messages(now_ms(), lease, room).await
            };
            let wait = match claimed {
                Ok(list) if !list.is_empty() => {
                    for m in list {
                        let permit = self
                            .in_flight
                            .clone()
                            .acquire_owned()
                            .await
                            .expect("never closed");
                        let me = self.clone();
                        tokio::spawn(async move {
                            me.deliver(m).await;
                            drop(permit);
                        });
                    }
                    continue;
                }
                Ok(_) if room == 0 => Duration::from_millis(5),
                Ok(_) => match self.store.next_message_due().await {
                    Ok(Some(at)) => Duration::from_millis((at - now_ms()).clamp(1, 1_000) as u64),
                    Ok(None) => Duration::from_secs(1),
                    Err(_) => Duration::from_secs(1),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: cannot claim messages; retrying in 1 s");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn deliver(&self, m: MessageRecord) {
        let started = now_ms();
        let result = self.attempt(&m, started).await;
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(message = %m.id, error = %e, "outbox: attempt not recorded (store); the lease will bring it back");
                return;
            }
        };
        // The store may be briefly unavailable: keep the outcome until written,
        // or until the lease lapses and another attempt takes over.
        for wait in [0u64, 100, 500, 2_000, 5_000] {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            match self.store.record_attempt(&r).await {
                Ok(true) => {
                    if m.channel == Channel::InApp.as_str()
                        && matches!(r.outcome, AttemptOutcome::Accepted { .. })
                    {
                        let _ = self.inbox.send(MessageRecord {
                            status: MessageStatus::Sent,
                            ..m.clone()
                        });
                    }
                    return;
                }
                Ok(false) => return, // someone else holds it now
                Err(e) => {
                    tracing::warn!(message = %m.id, error = %e, "outbox: recording the attempt failed; retrying")
                }
            }
        }
    }

    async fn attempt(&self, m: &MessageRecord, started: i64) -> Result<AttemptResult, StoreError> {
        let mut r = AttemptResult {
            workspace_id: m.workspace_id,
            message_id: m.id.clone(),
            attempt: m.attempts,
            started_at: started,
            finished_at: started,
            outcome: AttemptOutcome::Accepted {
                provider_message_id: None,
            },
            suppress: None,
            emitted: Vec::new(),
        };
        let parsed =
            serde_json::from_str(&m.address).and_then(|to| Ok((to, serde_json::from_str(&m.content)?)));
        let (to, content) = match parsed {
            Ok(v) => v,
            Err(e) => {
                r.outcome = AttemptOutcome::Settled {
                    status: MessageStatus::Failed,
                    error: format!("unreadable message: {e}"),
                };
                return Ok(r);
            }
        };
        let out = Outgoing {
            id: m.id.clone(),
            to,
            content,
        };
        let sent = match m.provider.as_str() {
            INBOX => Ok(relais_channels::Accepted::default()),
            TASKS => self.create_task(m, &out).await,
            name => self.call(name, m, &out).await,
        };
        r.finished_at = now_ms();
        let at = r.finished_at;
        match sent {
            Ok(acc) => {
                let mut extra =
                    json!({ "provider": m.provider, "provider_message_id": acc.provider_message_id });
                let mut stored_event = None;
                if let Content::Webhook(WebhookContent {
                    store_response: Some(target),
                    ..
                }) = &out.content
                {
                    let detail = acc.detail.as_ref();
                    let (note, stored) =
                        response::store(&self.sources, &self.store, m, target, detail, at).await?;
                    if let (Some(e), Value::Object(note)) = (extra.as_object_mut(), note) {
                        e.extend(note);
                    }
                    stored_event = stored;
                }
                r.emitted.push(
                    feedback::for_message(&self.sources, &self.store, m, What::Sent, extra, None, at).await?,
                );
                r.emitted.extend(stored_event);
                r.outcome = AttemptOutcome::Accepted {
                    provider_message_id: acc.provider_message_id,
                };
            }
            Err(SendError::Retryable { reason, retry_after }) if m.attempts < self.cfg.retry.max_attempts => {
                let jitter: f64 = rand::random();
                let wait =
                    self.cfg
                        .retry
                        .delay_ms(m.attempts, jitter, retry_after.map(|d| d.as_millis() as u64));
                tracing::info!(message = %m.id, attempt = m.attempts, retry_in_ms = wait, %reason, "delivery will be retried");
                r.outcome = AttemptOutcome::Retry {
                    at: at + wait as i64,
                    error: reason,
                };
            }
            Err(SendError::Retryable { reason, .. }) => {
                let error = format!("gave up after {} attempts: {reason}", m.attempts);
                tracing::warn!(message = %m.id, %error, "message dead-lettered");
                let extra = json!({ "reason": error });
                r.emitted.push(
                    feedback::for_message(&self.sources, &self.store, m, What::Failed, extra, None, at)
                        .await?,
                );
                r.outcome = AttemptOutcome::Settled {
                    status: MessageStatus::Dead,
                    error,
                };
            }
            Err(SendError::Permanent {
                reason,
                invalid_address,
            }) => {
                let bounced = invalid_address
                    && matches!(Channel::parse(&m.channel), Some(Channel::Email | Channel::Push));
                let what = if bounced { What::Bounced } else { What::Failed };
                let mut extra = json!({ "reason": reason, "invalid_address": invalid_address });
                if let relais_channels::Address::PushToken { token, .. } = &out.to {
                    extra["token"] = json!(token); // the processor drops it from the profile
                }
                r.emitted
                    .push(feedback::for_message(&self.sources, &self.store, m, what, extra, None, at).await?);
                if invalid_address {
                    r.suppress = address_key(&out.to).map(|address| Suppression {
                        workspace_id: m.workspace_id,
                        channel: m.channel.clone(),
                        address,
                        reason: reason.clone(),
                        message_id: Some(m.id.clone()),
                        created_at: at,
                    });
                }
                let status = if bounced {
                    MessageStatus::Bounced
                } else {
                    MessageStatus::Failed
                };
                r.outcome = AttemptOutcome::Settled {
                    status,
                    error: reason,
                };
            }
        }
        Ok(r)
    }

    async fn call(
        &self,
        name: &str,
        m: &MessageRecord,
        out: &Outgoing,
    ) -> Result<relais_channels::Accepted, SendError> {
        let Some(g) = self.providers.get(name) else {
            return Err(SendError::retryable(format!(
                "provider {name:?} is not configured on this node"
            )));
        };
        if let Some(left) = g.open_for() {
            return Err(SendError::Retryable {
                reason: format!("{name}: circuit open after repeated failures"),
                retry_after: Some(left),
            });
        }
        let _permit = g.concurrency.acquire().await.expect("never closed");
        g.rate_limit().await;
        let res = g.provider.send(out).await;
        g.record(!matches!(res, Err(SendError::Retryable { .. })));
        if let Err(e) = &res {
            tracing::debug!(message = %m.id, provider = name, error = %e, "delivery attempt failed");
        }
        res
    }

    async fn create_task(
        &self,
        m: &MessageRecord,
        out: &Outgoing,
    ) -> Result<relais_channels::Accepted, SendError> {
        let Content::Task(t) = &out.content else {
            return Err(SendError::permanent("a task message needs task content"));
        };
        let task = TaskRecord {
            id: m.id.clone(),
            workspace_id: m.workspace_id,
            profile_id: m.profile_id,
            title: t.title.clone(),
            instructions: t.instructions.clone(),
            queue: t.queue.clone(),
            assignee: t.assignee.clone(),
            due_at: t.due_at,
            context: json!({ "campaign": m.campaign, "message_id": m.id }).to_string(),
            status: TaskStatus::Open,
            claimed_by: None,
            claimed_at: None,
            completed_at: None,
            outcome: None,
            created_at: now_ms(),
        };
        match self.store.create_task(&task).await {
            Ok(_) => Ok(relais_channels::Accepted {
                provider_message_id: Some(m.id.clone()),
                detail: None,
            }),
            Err(e) => Err(SendError::retryable(format!("tasks: {e}"))),
        }
    }
}
