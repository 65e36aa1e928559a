//! The outbox, suppressions and tasks as the store sees them. Address and
//! content are opaque JSON here (their shape belongs to `relais-channels`).

use crate::types::EmittedEvent;
use relais_core::{ProfileId, WorkspaceId};
use serde::{Deserialize, Serialize};

/// Where a message is in its life. `queued` and `sending` are in flight; the
/// others are settled except `sent`, which later feedback may move to
/// `delivered` or `bounced`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Stored, waiting for its (next) attempt.
    Queued,
    /// Claimed by a dispatcher (until its lease ends).
    Sending,
    /// The provider accepted it.
    Sent,
    /// The provider reported delivery.
    Delivered,
    /// A permanent error: this message will never go.
    Failed,
    /// The address bounced (hard) or complained: suppressed from now on.
    Bounced,
    /// Retries exhausted (dead letter), with the last reason.
    Dead,
    /// Not sent by decision (consent, suppression, cap, control group, …).
    Skipped,
    /// Withdrawn before it went (journey exit, erasure).
    Cancelled,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 9] = [
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Failed,
        MessageStatus::Bounced,
        MessageStatus::Dead,
        MessageStatus::Skipped,
        MessageStatus::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Bounced => "bounced",
            MessageStatus::Dead => "dead",
            MessageStatus::Skipped => "skipped",
            MessageStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<MessageStatus> {
        MessageStatus::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A message to store before any attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub profile_id: ProfileId,
    pub channel: String,
    pub provider: String,
    /// "marketing" or "transactional".
    pub category: String,
    pub idempotency_key: String,
    pub campaign: Option<String>,
    /// `Queued`, or `Skipped` when governance decided against it (kept for "why").
    pub status: MessageStatus,
    pub reason: Option<String>,
    pub address: String,
    pub content: String,
    /// First attempt not before (quiet hours defer); `None` for skipped.
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    /// Written with the message when it is new (e.g. `Message Skipped`).
    pub emitted: Vec<EmittedEvent>,
    /// Committed without an fsync of its own: for a journey's send, which
    /// the runner re-makes (same idempotency key) if a power loss took it
    /// back. The dispatcher's claim, fsync'd, precedes any delivery and
    /// makes it durable. `false` for a message acknowledged to an API caller.
    pub relaxed: bool,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageRecord {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub profile_id: ProfileId,
    pub channel: String,
    pub provider: String,
    pub category: String,
    pub idempotency_key: String,
    pub campaign: Option<String>,
    pub status: MessageStatus,
    pub reason: Option<String>,
    pub address: String,
    pub content: String,
    pub attempts: i32,
    pub next_attempt_at: Option<i64>,
    pub lease_until: Option<i64>,
    pub provider_message_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub opened_at: Option<i64>,
    pub clicked_at: Option<i64>,
    pub dismissed_at: Option<i64>,
}

/// What `enqueue_message` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    pub message: MessageRecord,
    /// False when a message with the same idempotency key already existed
    /// (it is returned unchanged).
    pub created: bool,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    /// The provider took it → `sent`.
    Accepted { provider_message_id: Option<String> },
    /// Try again at `at` → `queued`.
    Retry { at: i64, error: String },
    /// Settled without delivery: `Failed`, `Bounced` or `Dead`.
    Settled { status: MessageStatus, error: String },
}

/// The result of one attempt, written in one transaction with its
/// suppression and its events.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptResult {
    pub workspace_id: WorkspaceId,
    pub message_id: String,
    /// The attempt number the claim gave (`MessageRecord::attempts`).
    pub attempt: i32,
    pub started_at: i64,
    pub finished_at: i64,
    pub outcome: AttemptOutcome,
    pub suppress: Option<Suppression>,
    pub emitted: Vec<EmittedEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRecord {
    pub attempt: i32,
    pub started_at: i64,
    pub finished_at: i64,
    /// "accepted" | "retry" | "failed"
    pub outcome: String,
    pub error: Option<String>,
}

/// Feedback after the attempt: from provider callbacks, tracking links, the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engagement {
    Delivered,
    Opened,
    Clicked,
    Dismissed,
    /// Hard bounce or complaint: status `bounced`.
    Bounced,
    /// Delivery failed after acceptance (undelivered SMS, failed WhatsApp).
    Failed,
}

/// One piece of feedback, written with its events and suppression at once.
#[derive(Debug, Clone, PartialEq)]
pub struct EngagementUpdate {
    pub workspace_id: WorkspaceId,
    pub message_id: String,
    pub kind: Engagement,
    pub at: i64,
    pub reason: Option<String>,
    pub suppress: Option<Suppression>,
    pub emitted: Vec<EmittedEvent>,
}

/// Which messages to list: newest first, `before` is the last (created_at,
/// id) of the previous page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageFilter {
    pub profile_id: Option<ProfileId>,
    pub status: Option<MessageStatus>,
    pub channel: Option<String>,
    pub before: Option<(i64, String)>,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    pub workspace_id: WorkspaceId,
    pub channel: String,
    /// The normalised address (lower-case e-mail, E.164 number, push token).
    pub address: String,
    pub reason: String,
    pub message_id: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Claimed,
    Done,
    Cancelled,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Claimed => "claimed",
            TaskStatus::Done => "done",
            TaskStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<TaskStatus> {
        [
            TaskStatus::Open,
            TaskStatus::Claimed,
            TaskStatus::Done,
            TaskStatus::Cancelled,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRecord {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub profile_id: ProfileId,
    pub title: String,
    pub instructions: String,
    pub queue: String,
    pub assignee: Option<String>,
    pub due_at: Option<i64>,
    /// JSON: the customer's context and why the task exists.
    pub context: String,
    pub status: TaskStatus,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub outcome: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    pub queue: Option<String>,
    pub assignee: Option<String>,
    pub profile_id: Option<ProfileId>,
    pub limit: usize,
}

/// A change of a task's state; `emitted` (e.g. `Task Completed`) is written with it.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskChange {
    Claim { by: String },
    Complete { by: String, outcome: Option<String> },
    Cancel,
}

/// What a task change did.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskChangeResult {
    Changed(TaskRecord),
    NotFound,
    /// The change does not apply to the task as it is; `why` says so.
    Refused {
        task: TaskRecord,
        why: String,
    },
}

/// Why `change` cannot apply to `t`, if it cannot: settled tasks stay settled;
/// a claimed task is completed or re-claimed only by its holder.
pub fn task_change_refused(t: &TaskRecord, change: &TaskChange) -> Option<String> {
    match (t.status, change) {
        (TaskStatus::Done | TaskStatus::Cancelled, _) => {
            Some(format!("task {} is already {}", t.id, t.status.as_str()))
        }
        (TaskStatus::Claimed, TaskChange::Claim { by } | TaskChange::Complete { by, .. })
            if t.claimed_by.as_deref() != Some(by.as_str()) =>
        {
            Some(format!(
                "task {} is claimed by {}",
                t.id,
                t.claimed_by.as_deref().unwrap_or("someone else")
            ))
        }
        _ => None,
    }
}
