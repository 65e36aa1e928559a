//! Ingest: validated events into the durable log.
//!
//! Requests hand their events to one writer task and wait. The writer takes
//! everything queued (up to `max_group_events`) and appends it in one
//! transaction — group commit — then answers every waiting request. So a
//! request is acknowledged only once durable, and the fsync cost is shared
//! by all requests that arrived meanwhile.
//!
//! Memory is bounded by a semaphore counted in events: when
//! `ingest_queue_events` are waiting, new requests get `overloaded` at once
//! (HTTP 503 + `Retry-After`) instead of growing a queue.

use crate::EngineConfig;
use metrics::{counter, gauge, histogram};
use relais_core::message::ParsedEvent;
use relais_core::{Error, ErrorCode, WorkspaceId};
use relais_store::{DynStore, NewEvent, Source, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch, Notify, OwnedSemaphorePermit, Semaphore};

/// Seconds a client is told to wait when the pipeline is saturated.
pub const RETRY_AFTER_SECS: u64 = 1;

struct Job {
    events: Vec<NewEvent>,
    _permit: OwnedSemaphorePermit,
    reply: oneshot::Sender<Result<(), Error>>,
}

pub struct Ingestor {
    tx: mpsc::UnboundedSender<Job>,
    permits: Arc<Semaphore>,
    capacity: usize,
}

/// Turns parsed events into log entries for a source.
pub fn to_log_events(ws: WorkspaceId, source: &Source, events: Vec<ParsedEvent>) -> Vec<NewEvent> {
    let received_at = relais_core::time::now_ms();
    events
        .into_iter()
        .map(|e| NewEvent {
            workspace_id: ws,
            source_id: source.id,
            channel: e.touchpoint.unwrap_or_else(|| source.channel.clone()),
            message_id: e.message_id.unwrap_or_else(generated_message_id),
            kind: e.kind.as_str().to_owned(),
            received_at,
            timestamp: e.timestamp_ms,
            payload: e.payload,
        })
        .collect()
}

/// A message id for an event that came without one (retries of such events
/// cannot be deduplicated: say so in the docs, SDKs always send one).
fn generated_message_id() -> String {
    format!("relais-{}", hex::encode(rand::random::<[u8; 16]>()))
}

impl Ingestor {
    pub fn spawn(
        store: DynStore,
        config: &EngineConfig,
        appended: Arc<Notify>,
        shutdown: watch::Receiver<bool>,
    ) -> (Ingestor, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let capacity = config.ingest_queue_events.max(config.limits.max_batch_events);
        let permits = Arc::new(Semaphore::new(capacity));
        let writer = Writer {
            store,
            rx,
            appended,
            max_group: config.max_group_events.max(1),
            queued: permits.clone(),
            capacity,
        };
        let handle = tokio::spawn(writer.run(shutdown));
        (
            Ingestor {
                tx,
                permits,
                capacity,
            },
            handle,
        )
    }

    /// Appends `events` to the log; returns once they are durable.
    pub async fn submit(&self, events: Vec<NewEvent>) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let n = events.len();
        let permit = self
            .permits
            .clone()
            .try_acquire_many_owned(n as u32)
            .map_err(|_| {
                counter!("relais_ingest_overloaded_total").increment(1);
                Error::new(
                    ErrorCode::Overloaded,
                    format!(
                        "the ingest queue is full ({} events waiting to be written); retry in {RETRY_AFTER_SECS} s",
                        self.capacity
                    ),
                )
            })?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                events,
                _permit: permit,
                reply,
            })
            .map_err(|_| Error::new(ErrorCode::Overloaded, "the server is shutting down"))?;
        answer
            .await
            .map_err(|_| Error::new(ErrorCode::Overloaded, "the server is shutting down"))?
    }
}

struct Writer {
    store: DynStore,
    rx: mpsc::UnboundedReceiver<Job>,
    appended: Arc<Notify>,
    max_group: usize,
    queued: Arc<Semaphore>,
    capacity: usize,
}

impl Writer {
    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut stopping = false;
        loop {
            let first = if stopping {
                // Take no new jobs, but commit everything already queued.
                self.rx.close();
                self.rx.recv().await
            } else {
                tokio::select! {
                    job = self.rx.recv() => job,
                    changed = shutdown.changed() => {
                        stopping = changed.is_err() || *shutdown.borrow();
                        continue;
                    }
                }
            };
            let Some(first) = first else { break };
            let mut jobs = vec![first];
            let mut n = jobs[0].events.len();
            while n < self.max_group {
                match self.rx.try_recv() {
                    Ok(job) => {
                        n += job.events.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            self.commit(jobs, n).await;
        }
        tracing::info!("ingest writer drained and stopped");
    }

    async fn commit(&self, mut jobs: Vec<Job>, n: usize) {
        let mut events = Vec::with_capacity(n);
        for job in &mut jobs {
            events.append(&mut job.events);
        }
        let started = Instant::now();
        let result = append_with_retry(&self.store, &events).await;
        histogram!("relais_ingest_commit_seconds").record(started.elapsed().as_secs_f64());
        gauge!("relais_ingest_queue_events").set((self.capacity - self.queued.available_permits()) as f64);
        let answer = match result {
            Ok(outcome) => {
                counter!("relais_ingest_events_total", "outcome" => "accepted")
                    .increment(outcome.inserted as u64);
                counter!("relais_ingest_events_total", "outcome" => "duplicate")
                    .increment(outcome.duplicates as u64);
                counter!("relais_ingest_commits_total").increment(1);
                self.appended.notify_one();
                Ok(())
            }
            Err(e) => {
                counter!("relais_errors_total", "component" => "ingest").increment(1);
                tracing::error!(error = %e, events = n, "could not append to the event log; the batch was not acknowledged");
                Err(match e {
                    StoreError::Unavailable(m) => Error::new(
                        ErrorCode::Overloaded,
                        format!("the event log is unavailable ({m}); nothing was written, retry"),
                    ),
                    other => Error::internal(format!("the event log refused the batch: {other}")),
                })
            }
        };
        for job in jobs {
            let _ = job.reply.send(answer.clone());
        }
    }
}

/// Transient store failures (busy, I/O) are retried with backoff for about
/// two seconds before giving up (ingest then fails the requests, which are
/// so not acknowledged; import stops with the error).
pub async fn append_with_retry(
    store: &DynStore,
    events: &[NewEvent],
) -> Result<relais_store::AppendOutcome, StoreError> {
    let mut delay = Duration::from_millis(25);
    for attempt in 0.. {
        match store.append_events(events).await {
            Err(StoreError::Unavailable(m)) if attempt < 6 => {
                tracing::warn!(error = %m, attempt, "event log unavailable, retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    unreachable!("the retry loop returns")
}
