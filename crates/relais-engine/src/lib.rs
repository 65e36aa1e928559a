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
//! * [`event_names`] — the event names each workspace has seen (for
//!   journeys' "unknown event name" warnings).
//! * [`catalog`] — the commerce context: catalog, shops, stock, their
//!   signals and events, nearest shop with stock.
//!
//! Nothing here knows HTTP: the server crate is a thin layer over these.

pub mod admin;
pub mod catalog;
pub mod computed_traits;
pub mod config;
pub mod event_names;
pub mod import;
pub mod ingest;
pub mod internal;
pub mod journeys;
pub mod keys;
pub mod messaging;
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
    /// The outbox dispatcher, signed links, internal events.
    pub messaging: messaging::Messaging,
    /// Held by an RFM refresh: one at a time.
    rfm_lock: tokio::sync::Mutex<()>,
    /// Catalog, shops and stock of each workspace, loaded on first use.
    pub commerce: catalog::Commerce,
    /// Journeys in force and the runner's wake-up.
    pub journeys: Arc<journeys::Journeys>,
}

impl Engine {
    /// Starts the ingest writer, the processor and the scheduled RFM refresh.
    pub async fn start(store: DynStore, config: EngineConfig) -> anyhow::Result<Arc<Engine>> {
        let (shutdown, shutdown_rx) = watch::channel(false);
        let appended = Arc::new(tokio::sync::Notify::new());
        let (ingest, writer) =
            ingest::Ingestor::spawn(store.clone(), &config, appended.clone(), shutdown_rx.clone());
        // Journeys first: the processor feeds the runner the events they name.
        let journeys = Arc::new(journeys::Journeys::default());
        journeys.reload(&store).await?;
        let (pipeline, worker) = processor::spawn(
            store.clone(),
            &config,
            appended,
            journeys.interest.clone(),
            shutdown_rx.clone(),
        )
        .await?;
        let messaging = messaging_start(&store, &config).await?;
        let dispatcher = messaging.dispatcher.clone();
        let commerce =
            catalog::Commerce::new(store.clone(), messaging.sources.clone(), config.catalog.clone());
        let engine = Arc::new(Engine {
            journeys,
            commerce,
            messaging,
            auth: keys::Auth::new(store.clone()),
            store,
            config,
            ingest,
            pipeline,
            shutdown,
            tasks: std::sync::Mutex::new(vec![writer, worker]),
            rfm_lock: tokio::sync::Mutex::new(()),
        });
        let task = tokio::spawn(dispatcher.run(shutdown_rx.clone()));
        engine.tasks.lock().unwrap_or_else(|p| p.into_inner()).push(task);
        let task = tokio::spawn(journeys::run(Arc::downgrade(&engine), shutdown_rx.clone()));
        engine.tasks.lock().unwrap_or_else(|p| p.into_inner()).push(task);
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

/// Providers from the configuration, the link-signing key (generated once
/// per installation and kept in the store) and the dispatcher.
async fn messaging_start(store: &DynStore, config: &EngineConfig) -> anyhow::Result<messaging::Messaging> {
    let mut channels = config.channels.clone();
    // Twilio reports delivery to the URL given with each message: ours, unless configured.
    if let (Some(t), Some(base)) = (channels.twilio.as_mut(), config.channels.public_url.as_deref()) {
        t.status_callback_url
            .get_or_insert_with(|| format!("{}/callbacks/twilio/status", base.trim_end_matches('/')));
    }
    let providers = Arc::new(messaging::providers::Providers::from_config(&channels)?);
    let key = store
        .init_setting(
            None,
            messaging::links::SIGNING_KEY_SETTING,
            &hex::encode(rand::random::<[u8; 32]>()),
        )
        .await?;
    let key = hex::decode(key).map_err(|e| anyhow::anyhow!("stored link signing key is not hex: {e}"))?;
    let base = config
        .channels
        .public_url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let sources = Arc::new(internal::InternalSources::default());
    let dispatcher = messaging::dispatch::Dispatcher::new(
        store.clone(),
        providers,
        config.channels.clone(),
        sources.clone(),
    );
    Ok(messaging::Messaging {
        dispatcher: Arc::new(dispatcher),
        signer: messaging::links::Signer::new(key, &base),
        sources,
        locks: Default::default(),
        salts: Default::default(),
    })
}
