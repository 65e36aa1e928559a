//! Journeys (docs/journeys.md): definitions managed by API and `relais
//! apply`, and the runner that moves profiles through them.
//!
//! * [`interest`] — which events the processor feeds to the runner.
//! * [`runner`] — the loop: feed rows (triggers, waits, exits, goals) and
//!   due timers, from the store, so a restart resumes where it was.
//! * [`steps`] — one instance through its steps until it waits or exits.
//! * [`schedule`] — schedule and date-trait triggers: runs walking their audience.
//! * [`timing`] — when a delay ends, in the profile's time zone.
//! * [`manage`] — create, apply, activate, pause, trigger, statistics, traces.
//! * [`coupons`] — coupon pools: CSV import, generated codes, counts.

pub mod coupons;
pub mod interest;
pub mod manage;
mod page;
mod runner;
mod schedule;
mod steps;
mod timing;

pub use interest::Interest;
pub use manage::*;

use relais_core::journey::Journey;
use relais_core::{Error, WorkspaceId};
use relais_store::{DynStore, JourneyRecord, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::Notify;

/// The event a journey's `update_profile` step appends; the processor sets
/// its `traits` on the profile.
pub const PROFILE_UPDATED_EVENT: &str = "Profile Updated by Journey";

/// A journey in force: its record and its parsed current version.
pub struct Live {
    pub record: JourneyRecord,
    pub journey: Arc<Journey>,
}

/// The journeys of every workspace that can react to something (active or
/// paused), their versions, and the runner's wake-up.
#[derive(Default)]
pub struct Journeys {
    pub interest: Arc<Interest>,
    live: RwLock<HashMap<WorkspaceId, Vec<Arc<Live>>>>,
    versions: Mutex<HashMap<(WorkspaceId, String, i32), Arc<Journey>>>,
    /// New instances or timers sooner than the runner's sleep.
    pub wake: Notify,
    /// Runs walked to the end (journey, version, run key): not asked again.
    done_runs: Mutex<HashSet<(WorkspaceId, String, String)>>,
}

fn parse_stored(definition: &str) -> Result<Journey, Error> {
    let v: serde_json::Value =
        serde_json::from_str(definition).map_err(|e| Error::internal(format!("stored journey: {e}")))?;
    Ok(relais_core::journey::parse(&v)?.0)
}

impl Journeys {
    /// Reloads every active or paused journey and the events they listen to.
    pub async fn reload(&self, store: &DynStore) -> Result<(), StoreError> {
        let mut live: HashMap<WorkspaceId, Vec<Arc<Live>>> = HashMap::new();
        let mut names: HashSet<(WorkspaceId, String)> = HashSet::new();
        for r in store.list_journeys(None).await? {
            if r.status == "draft" {
                continue;
            }
            let journey = match parse_stored(&r.definition) {
                Ok(j) => Arc::new(j),
                Err(e) => {
                    tracing::error!(journey = %r.id, error = %e, "stored journey does not parse; ignored");
                    continue;
                }
            };
            for n in journey.event_names() {
                names.insert((r.workspace_id, n));
            }
            self.versions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((r.workspace_id, r.id.clone(), r.version), journey.clone());
            live.entry(r.workspace_id)
                .or_default()
                .push(Arc::new(Live { record: r, journey }));
        }
        for list in live.values_mut() {
            list.sort_by(|a, b| {
                b.journey
                    .priority
                    .cmp(&a.journey.priority)
                    .then(a.record.id.cmp(&b.record.id))
            });
        }
        // Waiting instances of journeys since stopped still hear their events.
        for ((ws, _, _), j) in self.versions.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            for n in j.event_names() {
                names.insert((*ws, n));
            }
        }
        self.interest.replace(names);
        *self.live.write().unwrap_or_else(|p| p.into_inner()) = live;
        Ok(())
    }

    /// The workspace's active and paused journeys, highest priority first.
    pub fn live(&self, ws: WorkspaceId) -> Vec<Arc<Live>> {
        self.live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ws)
            .cloned()
            .unwrap_or_default()
    }

    /// Every workspace's active and paused journeys.
    pub fn all_live(&self) -> Vec<Arc<Live>> {
        let live = self.live.read().unwrap_or_else(|p| p.into_inner());
        live.values().flatten().cloned().collect()
    }

    fn run_done(&self, j: &JourneyRecord, key: &str) -> bool {
        let done = self.done_runs.lock().unwrap_or_else(|p| p.into_inner());
        done.contains(&(j.workspace_id, j.id.clone(), key.to_owned()))
    }

    fn mark_run_done(&self, j: &JourneyRecord, key: &str) {
        let mut done = self.done_runs.lock().unwrap_or_else(|p| p.into_inner());
        done.insert((j.workspace_id, j.id.clone(), key.to_owned()));
    }

    pub fn find(&self, ws: WorkspaceId, id: &str) -> Option<Arc<Live>> {
        self.live(ws).into_iter().find(|l| l.record.id == id)
    }

    /// One version of a journey (what an instance runs), cached.
    pub async fn version(
        &self,
        store: &DynStore,
        ws: WorkspaceId,
        id: &str,
        version: i32,
    ) -> Result<Option<Arc<Journey>>, Error> {
        let key = (ws, id.to_owned(), version);
        if let Some(j) = self.versions.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(Some(j.clone()));
        }
        let Some(def) = store.journey_version(ws, id, version).await? else {
            return Ok(None);
        };
        let j = Arc::new(parse_stored(&def)?);
        self.versions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, j.clone());
        Ok(Some(j))
    }
}

pub(crate) use runner::run;
