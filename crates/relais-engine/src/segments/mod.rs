//! Segments: definitions managed through the API, evaluated in real time by
//! the processor ([`evaluate`], [`registry`]), previewed before they are
//! saved ([`preview`]).
//!
//! Creating or editing a segment stores it as `backfilling`; the processor
//! then computes it over every existing profile in chunks, between log
//! batches, while it keeps it up to date for the profiles that change.

pub mod evaluate;
pub mod preview;
pub mod registry;

use crate::Engine;
use registry::find_cycle;
use relais_core::condition::{self, Condition};
use relais_core::identity::Identity;
use relais_core::time::format_ms;
use relais_core::{Error, ErrorCode, ProfileId, SegmentId, WorkspaceId};
use relais_store::{DynStore, MembershipChange, SegmentRecord, SegmentStatus, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub condition: Value,
}

#[derive(Debug, Serialize)]
pub struct BackfillView {
    pub done: i64,
    pub total: i64,
    pub percent: f64,
}

#[derive(Debug, Serialize)]
pub struct SegmentView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub condition: Value,
    pub version: i64,
    /// `backfilling` while existing profiles are being evaluated, then `active`.
    pub status: &'static str,
    /// Profiles in the segment now.
    pub size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillView>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize)]
pub struct MemberView {
    pub id: String,
    /// When it entered the segment (absent in a preview: nothing entered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entered_at: Option<String>,
    pub identities: Vec<crate::profiles::IdentityView>,
}

#[derive(Debug, Serialize)]
pub struct MembersPage {
    pub members: Vec<MemberView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MembershipView {
    pub segment_id: String,
    pub name: Option<String>,
    pub entered_at: String,
}

#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub segment_id: String,
    /// `entered` or `exited`.
    pub change: &'static str,
    pub at: String,
    /// `event`, `timer` or `backfill`.
    pub cause: String,
    /// The log entry whose processing caused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause_seq: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct ProfileSegments {
    pub segments: Vec<MembershipView>,
    pub history: Vec<HistoryView>,
}

fn invalid(e: condition::ConditionError) -> Error {
    Error::new(ErrorCode::InvalidCondition, format!("condition {e}"))
}

/// Parses a segment's condition as the API receives it. Commerce
/// conditions are refused: stock and prices change outside the profile's
/// events, so a live segment could not keep them (journeys ask them).
pub fn parse_condition(json: &Value) -> Result<Condition, Error> {
    let c = condition::parse(json).map_err(invalid)?;
    if c.dependencies().commerce {
        return Err(Error::new(
            ErrorCode::InvalidCondition,
            "condition: a segment cannot use \"commerce\" conditions: stock and prices change \
             outside the profile's events, so membership could not be kept live; use them in a \
             journey's entry, exit or condition step",
        ));
    }
    Ok(c)
}

fn check_name(name: &str) -> Result<(), Error> {
    let n = name.trim();
    if n.is_empty() || n.len() > 200 || n.chars().any(char::is_control) {
        return Err(Error::new(
            ErrorCode::InvalidField,
            "name must be 1 to 200 printable characters",
        ));
    }
    Ok(())
}

/// Checks that a definition refers only to existing segments of the
/// workspace and does not close a circle of references.
async fn check_references(
    store: &DynStore,
    ws: WorkspaceId,
    id: Option<SegmentId>,
    cond: &Condition,
) -> Result<(), Error> {
    let refs = cond.dependencies().segments;
    if refs.is_empty() {
        return Ok(());
    }
    let all = store.list_segments(Some(ws)).await?;
    let known: BTreeSet<SegmentId> = all.iter().map(|s| s.id).collect();
    if let Some(missing) = refs.iter().find(|r| !known.contains(r)) {
        return Err(Error::new(
            ErrorCode::InvalidCondition,
            format!("condition refers to segment {missing}, which does not exist in this workspace"),
        ));
    }
    let Some(id) = id else { return Ok(()) };
    let mut graph: BTreeMap<SegmentId, BTreeSet<SegmentId>> = BTreeMap::new();
    for s in &all {
        if let Ok(c) = registry::compile(s) {
            graph.insert(s.id, c.deps.segments);
        }
    }
    graph.insert(id, refs);
    if let Some(path) = find_cycle(&graph, id) {
        let path: Vec<String> = path.iter().map(ToString::to_string).collect();
        return Err(Error::new(
            ErrorCode::InvalidCondition,
            format!(
                "segments would refer to each other in a circle: {}",
                path.join(" → ")
            ),
        ));
    }
    Ok(())
}

fn conflict_or(e: StoreError, name: &str) -> Error {
    match e {
        StoreError::Conflict(_) => Error::new(
            ErrorCode::Conflict,
            format!("a segment named {name:?} already exists in this workspace"),
        ),
        other => other.into(),
    }
}

async fn view(engine: &Engine, s: SegmentRecord) -> Result<SegmentView, Error> {
    let size = engine.store.segment_size(s.workspace_id, s.id).await?;
    let backfilling = s.status == SegmentStatus::Backfilling;
    Ok(SegmentView {
        id: s.id.to_string(),
        condition: serde_json::from_str(&s.definition).unwrap_or(Value::Null),
        version: s.version,
        status: if backfilling { "backfilling" } else { "active" },
        size,
        backfill: backfilling.then(|| BackfillView {
            done: s.backfill_done,
            total: s.backfill_total,
            percent: if s.backfill_total > 0 {
                (s.backfill_done as f64 * 100.0 / s.backfill_total as f64).min(100.0)
            } else {
                0.0
            },
        }),
        name: s.name,
        description: s.description,
        created_at: format_ms(s.created_at),
        updated_at: format_ms(s.updated_at),
    })
}

/// The canonical text of a condition, as stored.
fn canonical(c: &Condition) -> String {
    serde_json::to_string(c).expect("a condition serialises")
}

/// Validates and stores a new segment (the processor picks it up within a
/// few seconds; [`create`] tells it at once). Used by the API and the CLI.
pub async fn save_new(
    store: &DynStore,
    ws: WorkspaceId,
    input: &SegmentInput,
) -> Result<SegmentRecord, Error> {
    check_name(&input.name)?;
    let cond = parse_condition(&input.condition)?;
    check_references(store, ws, None, &cond).await?;
    let name = input.name.trim();
    let s = store
        .create_segment(
            ws,
            name,
            &input.description,
            &canonical(&cond),
            relais_core::time::now_ms(),
        )
        .await
        .map_err(|e| conflict_or(e, name))?;
    tracing::info!(workspace = %ws, segment = %s.id, name = %s.name, "segment created");
    Ok(s)
}

pub async fn create(engine: &Engine, ws: WorkspaceId, input: SegmentInput) -> Result<SegmentView, Error> {
    let s = save_new(&engine.store, ws, &input).await?;
    engine.pipeline.reload_definitions().await;
    view(engine, s).await
}

pub async fn update(
    engine: &Engine,
    ws: WorkspaceId,
    id: SegmentId,
    input: SegmentInput,
) -> Result<SegmentView, Error> {
    check_name(&input.name)?;
    let cond = parse_condition(&input.condition)?;
    check_references(&engine.store, ws, Some(id), &cond).await?;
    let name = input.name.trim();
    let s = engine
        .store
        .update_segment(
            ws,
            id,
            name,
            &input.description,
            &canonical(&cond),
            relais_core::time::now_ms(),
        )
        .await
        .map_err(|e| conflict_or(e, name))?
        .ok_or_else(|| Error::not_found(format!("no segment {id}")))?;
    engine.pipeline.reload_definitions().await;
    view(engine, s).await
}

pub async fn delete(engine: &Engine, ws: WorkspaceId, id: SegmentId) -> Result<(), Error> {
    let users: Vec<String> = engine
        .store
        .list_segments(Some(ws))
        .await?
        .iter()
        .filter(|s| s.id != id)
        .filter_map(|s| registry::compile(s).ok())
        .filter(|c| c.deps.segments.contains(&id))
        .map(|c| c.id.to_string())
        .collect();
    if !users.is_empty() {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!("segment {id} is used by {}; change those first", users.join(", ")),
        ));
    }
    if !engine.store.delete_segment(ws, id).await? {
        return Err(Error::not_found(format!("no segment {id}")));
    }
    engine.pipeline.reload_definitions().await;
    Ok(())
}

pub async fn get(engine: &Engine, ws: WorkspaceId, id: SegmentId) -> Result<SegmentView, Error> {
    let s = engine
        .store
        .get_segment(ws, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no segment {id}")))?;
    view(engine, s).await
}

pub async fn list(engine: &Engine, ws: WorkspaceId) -> Result<Vec<SegmentView>, Error> {
    let mut out = Vec::new();
    for s in engine.store.list_segments(Some(ws)).await? {
        out.push(view(engine, s).await?);
    }
    Ok(out)
}

pub const MAX_MEMBERS_PAGE: usize = 1_000;

pub async fn members(
    engine: &Engine,
    ws: WorkspaceId,
    id: SegmentId,
    after: Option<ProfileId>,
    limit: usize,
) -> Result<MembersPage, Error> {
    get(engine, ws, id).await?;
    let limit = limit.clamp(1, MAX_MEMBERS_PAGE);
    let rows = engine.store.segment_members(ws, id, after, limit).await?;
    let next_after = (rows.len() == limit)
        .then(|| rows.last().map(|m| m.profile_id.to_string()))
        .flatten();
    let mut members = Vec::with_capacity(rows.len());
    for m in rows {
        let ids: Vec<Identity> = engine.store.profile_identities(ws, m.profile_id).await?;
        members.push(MemberView {
            id: m.profile_id.to_string(),
            entered_at: Some(format_ms(m.entered_at)),
            identities: crate::profiles::identity_views(ids),
        });
    }
    Ok(MembersPage { members, next_after })
}

/// The workspace's segment names by id.
pub async fn names(engine: &Engine, ws: WorkspaceId) -> Result<BTreeMap<SegmentId, String>, Error> {
    Ok(engine
        .store
        .list_segments(Some(ws))
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

/// Current segments and membership history of a profile.
pub async fn of_profile(engine: &Engine, ws: WorkspaceId, id: ProfileId) -> Result<ProfileSegments, Error> {
    let names = names(engine, ws).await?;
    let segments = engine
        .store
        .profile_segments(ws, id)
        .await?
        .into_iter()
        .map(|(s, at)| MembershipView {
            segment_id: s.to_string(),
            name: names.get(&s).cloned(),
            entered_at: format_ms(at),
        })
        .collect();
    let history = engine
        .store
        .segment_history(ws, id, 200)
        .await?
        .into_iter()
        .map(|h: MembershipChange| HistoryView {
            segment_id: h.segment_id.to_string(),
            change: if h.entered { "entered" } else { "exited" },
            at: format_ms(h.at),
            cause: h.cause,
            cause_seq: h.cause_seq,
        })
        .collect();
    Ok(ProfileSegments { segments, history })
}
