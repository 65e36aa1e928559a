//! The RFM refresh: each workspace's cut points recomputed from every
//! profile's order statistics (see `relais_core::rfm` for the scoring rule),
//! stored, and the segments that read an RFM score recomputed against them.
//!
//! It runs in the background every `rfm_refresh_secs` per workspace (a
//! workspace is due that long after its last refresh, whichever node made it,
//! so a restart does not refresh again) and on demand
//! (`POST /api/v1/rfm/refresh`). Refreshes of one engine run one at a time.
//!
//! Scores read the cut points live (segment conditions through the
//! registry, the profile API and previews from the store), so a new order
//! rescores its profile at once. A refresh moves the cut points under every
//! profile at once: the segments that read `rfm_*` are backfilled again
//! ([`relais_store::Store::restart_backfill`]), which records the membership
//! changes (cause `backfill`) without `Segment Entered`/`Exited` events.

use crate::segments::registry;
use crate::Engine;
use relais_core::commerce::CommerceState;
use relais_core::computed::RFM_NAMES;
use relais_core::rfm::{self, RfmCuts, RfmMeasures};
use relais_core::time::{format_ms, now_ms};
use relais_core::{Error, ProfileId, SegmentId, WorkspaceId};
use relais_store::{DynStore, RfmThresholds, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// Profiles read per store round trip.
const PAGE: usize = 1_000;
/// How soon a scheduled refresh that failed is tried again.
const RETRY: Duration = Duration::from_secs(60);

/// Cut points as the API shows them: each measure's 20/40/60/80 % quantiles.
#[derive(Debug, Serialize)]
pub struct CutsView {
    /// Whole days since the last order, at `computed_at`.
    pub recency_days: [f64; 4],
    pub frequency: [f64; 4],
    pub monetary: [f64; 4],
}

#[derive(Debug, Serialize)]
pub struct RefreshView {
    /// Profiles with at least one order.
    pub buyers: i64,
    pub computed_at: String,
    /// `null` without buyers: nobody has RFM scores then.
    pub cuts: Option<CutsView>,
    /// Segments that read an RFM score, being recomputed (`backfilling`).
    pub segments_recomputed: Vec<String>,
}

/// The workspace's cut points; `None` before its first refresh or without buyers.
pub async fn workspace_cuts(store: &DynStore, ws: WorkspaceId) -> Result<Option<RfmCuts>, StoreError> {
    Ok(store
        .rfm_thresholds(Some(ws))
        .await?
        .first()
        .and_then(RfmThresholds::cuts))
}

/// Refreshes one workspace now (waiting for a refresh under way to finish).
pub async fn refresh(engine: &Engine, ws: WorkspaceId) -> Result<RefreshView, Error> {
    let never = || false;
    let (t, restarted) = refresh_workspace(engine, ws, &never)
        .await?
        .ok_or_else(|| Error::internal("the RFM refresh was interrupted by a shutdown"))?;
    Ok(RefreshView {
        buyers: t.buyers,
        computed_at: format_ms(t.computed_at),
        cuts: (t.buyers > 0).then_some(CutsView {
            recency_days: t.recency,
            frequency: t.frequency,
            monetary: t.monetary,
        }),
        segments_recomputed: restarted.iter().map(ToString::to_string).collect(),
    })
}

/// Computes and stores the cut points, restarts the backfill of the
/// segments reading them and makes the processor reload. `None` when `stop`
/// said so before the end (nothing stored).
async fn refresh_workspace(
    engine: &Engine,
    ws: WorkspaceId,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Option<(RfmThresholds, Vec<SegmentId>)>, StoreError> {
    let _one_at_a_time = engine.rfm_lock.lock().await;
    let store = &engine.store;
    let at = now_ms();
    let Some(buyers) = buyers(store, ws, at, stop).await? else {
        return Ok(None);
    };
    let cuts = rfm::cuts_of(&buyers, at);
    let t = RfmThresholds {
        workspace_id: ws,
        recency: cuts.recency,
        frequency: cuts.frequency,
        monetary: cuts.monetary,
        buyers: buyers.len() as i64,
        computed_at: at,
    };
    let before = workspace_cuts(store, ws).await?;
    if !store.put_rfm_thresholds(ws, &t).await? {
        // Another node stored a later refresh meanwhile: it stands.
        let latest = store.rfm_thresholds(Some(ws)).await?.into_iter().next();
        return Ok(Some((latest.unwrap_or(t), Vec::new())));
    }
    let mut restarted = Vec::new();
    if before.is_some() || t.buyers > 0 {
        for s in store.list_segments(Some(ws)).await? {
            let reads_rfm = registry::compile(&s)
                .is_ok_and(|c| c.deps.computed.iter().any(|n| RFM_NAMES.contains(&n.as_str())));
            if reads_rfm && store.restart_backfill(ws, s.id).await? {
                restarted.push(s.id);
            }
        }
    }
    engine.pipeline.reload_definitions().await;
    tracing::info!(workspace = %ws, buyers = t.buyers, segments = restarted.len(), "RFM cut points refreshed");
    Ok(Some((t, restarted)))
}

/// Only the part of a stored profile the refresh reads.
#[derive(Deserialize)]
struct Orders {
    #[serde(default)]
    commerce: CommerceState,
}

/// Every buyer's measures at `at`, walking the workspace's profiles by id.
async fn buyers(
    store: &DynStore,
    ws: WorkspaceId,
    at: i64,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Option<Vec<RfmMeasures>>, StoreError> {
    let mut out = Vec::new();
    let mut after = ProfileId(0);
    loop {
        if stop() {
            return Ok(None);
        }
        let ids = store.profile_ids(ws, after, PAGE).await?;
        let Some(last) = ids.last() else { break };
        after = *last;
        let keys: Vec<(WorkspaceId, ProfileId)> = ids.iter().map(|p| (ws, *p)).collect();
        for p in store.get_profiles(&keys).await?.into_iter().flatten() {
            match serde_json::from_str::<Orders>(&p.state) {
                Ok(o) => out.extend(rfm::measures(&o.commerce.order_stats(), at)),
                Err(e) => tracing::warn!(workspace = %ws, profile = %p.id, error = %e,
                    "unreadable profile state left out of the RFM cut points"),
            }
        }
        if ids.len() < PAGE {
            break;
        }
    }
    Ok(Some(out))
}

/// The background refresh: every `every`, per workspace, until shutdown.
pub(crate) async fn schedule(engine: Weak<Engine>, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let wait = match engine.upgrade() {
            Some(e) => refresh_due(&e, every, &shutdown).await,
            None => return,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Refreshes the workspaces due; returns how long until the next one is.
async fn refresh_due(engine: &Arc<Engine>, every: Duration, shutdown: &watch::Receiver<bool>) -> Duration {
    let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    let listed = async {
        let workspaces = engine.store.list_workspaces().await?;
        let last: HashMap<WorkspaceId, i64> = (engine.store.rfm_thresholds(None).await?)
            .into_iter()
            .map(|t| (t.workspace_id, t.computed_at))
            .collect();
        Ok::<_, StoreError>((workspaces, last))
    };
    let (workspaces, last) = match listed.await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "RFM refresh: cannot list workspaces; retrying in a minute");
            return RETRY;
        }
    };
    let mut wait = every;
    let stop = || *shutdown.borrow();
    for w in workspaces {
        let now = now_ms();
        let due = last.get(&w.id).map_or(now, |t| t.saturating_add(every_ms));
        if due > now {
            wait = wait.min(Duration::from_millis((due - now) as u64));
            continue;
        }
        if let Err(e) = refresh_workspace(engine, w.id, &stop).await {
            tracing::error!(workspace = %w.id, error = %e, "RFM refresh failed; retrying in a minute");
            wait = wait.min(RETRY);
        }
        if stop() {
            break;
        }
    }
    wait.max(Duration::from_secs(1))
}
