//! The Relais engine: everything between the transport and the store.
//!
//! * [`ingest`] — validated events into the durable log, group commit,
//!   backpressure.
//! * [`processor`] — reads the log in order, resolves identities, folds
//!   events into profiles, commits state and checkpoint together.
//! * [`profiles`] — the 360° view, timeline, lookup, export, erasure.
//! * [`keys`], [`admin`] — workspaces, sources and credentials.
//! * [`import`] — NDJSON and CSV files into the log, resumable.
//! * [`rfm`] — RFM cut points, refreshed on a schedule and on demand.
//!
//! Nothing here knows HTTP: the server crate is a thin layer over these.

pub mod admin;
pub mod computed_traits;
pub mod config;
pub mod import;
pub mod ingest;
pub mod keys;
pub mod processor;
pub mod profiles;
pub mod rfm;
pub mod segments;

pub use config::EngineConfig;

use relais_store::DynStore;
use std::sync::Arc;
use tokio::sync::watch;

/// A running engine: the ingest writer and the processor, over one store.
pub struct Engine {
    pub store: DynStore,
    pub config: EngineConfig,
    pub auth: keys::Auth,
    pub ingest: ingest::Ingestor,
    pub pipeline: processor::Pipeline,
    shutdown: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Held by an RFM refresh: one at a time.
    rfm_lock: tokio::sync::Mutex<()>,
}

impl Engine {
    /// Starts the ingest writer, the processor and the scheduled RFM refresh.
    pub async fn start(store: DynStore, config: EngineConfig) -> anyhow::Result<Arc<Engine>> {
        let (shutdown, shutdown_rx) = watch::channel(false);
        let appended = Arc::new(tokio::sync::Notify::new());
        let (ingest, writer) =
            ingest::Ingestor::spawn(store.clone(), &config, appended.clone(), shutdown_rx.clone());
        let (pipeline, worker) =
            processor::spawn(store.clone(), &config, appended, shutdown_rx.clone()).await?;
        let engine = Arc::new(Engine {
            auth: keys::Auth::new(store.clone()),
            store,
            config,
            ingest,
            pipeline,
            shutdown,
            tasks: std::sync::Mutex::new(vec![writer, worker]),
            rfm_lock: tokio::sync::Mutex::new(()),
        });
        if engine.config.rfm_refresh_secs > 0 {
            let every = std::time::Duration::from_secs(engine.config.rfm_refresh_secs);
            let task = tokio::spawn(rfm::schedule(Arc::downgrade(&engine), every, shutdown_rx));
            engine.tasks.lock().unwrap_or_else(|p| p.into_inner()).push(task);
        }
        Ok(engine)
    }

    /// Drains: the writer commits every queued batch (their clients get
    /// their answer), the processor finishes its batch and commits, then both
    /// stop; an RFM refresh under way stops without storing anything. Call
    /// after the transport stopped accepting requests.
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        let tasks: Vec<_> = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            let _ = t.await;
        }
    }
}
