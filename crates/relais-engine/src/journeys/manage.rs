//! Journeys as the API and `relais apply` see them: create, replace,
//! apply (idempotent), activate, pause, trigger by API, statistics, and a
//! profile's passages with every decision.

use crate::Engine;
use relais_core::journey::{self, Trigger, Warning};
use relais_core::time::{format_ms, now_ms};
use relais_core::{Error, ErrorCode, ProfileId, SegmentId, WorkspaceId};
use relais_store::{InstanceRecord, JourneyRecord, MessageFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

pub use super::runner::{enter, instance_id};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JourneyView {
    pub id: String,
    pub name: String,
    /// `draft`, `active` or `paused`.
    pub status: String,
    pub version: i32,
    #[schema(value_type = Object)]
    pub definition: Value,
    pub created_at: String,
    pub updated_at: String,
    /// Worth fixing, not blocking (docs/journeys.md).
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<Warning>,
}

fn view(r: JourneyRecord, warnings: Vec<Warning>) -> JourneyView {
    JourneyView {
        definition: serde_json::from_str(&r.definition).unwrap_or(Value::Null),
        created_at: format_ms(r.created_at),
        updated_at: format_ms(r.updated_at),
        id: r.id,
        name: r.name,
        status: r.status,
        version: r.version,
        warnings,
    }
}

/// Parses and validates a definition, with the checks that need the store
/// (the segment a trigger names exists).
pub async fn validate(engine: &Engine, ws: WorkspaceId, doc: &Value) -> Result<Vec<Warning>, Error> {
    let (j, mut warnings) = journey::parse(doc)?;
    let segment = match &j.trigger {
        Trigger::Segment { segment, .. } => Some(("trigger", segment.as_str())),
        Trigger::Schedule(s) => Some(("trigger.schedule.segment", s.segment.as_str())),
        _ => None,
    };
    if let Some((path, s)) = segment {
        let found = match SegmentId::parse(s) {
            Some(id) => engine.store.get_segment(ws, id).await?.is_some(),
            None => false,
        };
        if !found {
            return Err(Error::new(
                ErrorCode::InvalidJourney,
                format!("journey at {path}: no segment {s} in this workspace"),
            ));
        }
    }
    let recurring = match &j.trigger {
        Trigger::Schedule(s) => s.every_days.is_some(),
        Trigger::Date(d) => d.yearly,
        _ => false,
    };
    if recurring && j.reentry == relais_core::journey::Reentry::Never {
        warnings.push(Warning {
            path: "reentry".into(),
            message: "re-entry is never: a profile enters one run only, later runs skip it \
                      (set reentry: always for a recurring send)"
                .into(),
        });
    }
    if j.exit_events.is_empty() && j.exit_condition.is_none() && matches!(j.trigger, Trigger::Event(_)) {
        warnings.push(Warning {
            path: "exit".into(),
            message: "no exit criteria: profiles leave only at the end of the steps".into(),
        });
    }
    warnings.extend(crate::event_names::unknown_in_journey(engine, ws, &j).await?);
    Ok(warnings)
}

pub async fn create(engine: &Engine, ws: WorkspaceId, doc: Value) -> Result<JourneyView, Error> {
    let warnings = validate(engine, ws, &doc).await?;
    let now = now_ms();
    let rec = JourneyRecord {
        workspace_id: ws,
        id: format!("jny_{}", hex::encode(rand::random::<[u8; 8]>())),
        name: doc["name"].as_str().unwrap_or_default().to_owned(),
        status: "draft".into(),
        version: 1,
        definition: doc.to_string(),
        created_at: now,
        updated_at: now,
    };
    engine.store.create_journey(&rec).await?;
    Ok(view(rec, warnings))
}

async fn record(engine: &Engine, ws: WorkspaceId, id: &str) -> Result<JourneyRecord, Error> {
    engine
        .store
        .get_journey(ws, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no journey {id}")))
}

/// Replaces the definition: a new version for new entries; profiles inside
/// finish the version they entered.
pub async fn update(engine: &Engine, ws: WorkspaceId, id: &str, doc: Value) -> Result<JourneyView, Error> {
    let warnings = validate(engine, ws, &doc).await?;
    let old = record(engine, ws, id).await?;
    if doc["name"].as_str() != Some(old.name.as_str()) {
        return Err(Error::new(
            ErrorCode::InvalidField,
            format!(
                "name: a journey keeps its name ({:?}); create another to rename",
                old.name
            ),
        ));
    }
    let rec = engine
        .store
        .update_journey_definition(ws, id, &doc.to_string(), now_ms())
        .await?
        .ok_or_else(|| Error::not_found(format!("no journey {id}")))?;
    engine.journeys.reload(&engine.store).await?;
    Ok(view(rec, warnings))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplyOutcome {
    /// `created`, `updated` (a new version) or `unchanged`.
    pub action: String,
    /// Whether this call activated it.
    pub activated: bool,
    pub journey: JourneyView,
}

/// Journeys as code: create by name, or a new version when the definition
/// changed, or nothing; then activate when asked. Applying twice is a no-op.
pub async fn apply(
    engine: &Engine,
    ws: WorkspaceId,
    doc: Value,
    activate: bool,
) -> Result<ApplyOutcome, Error> {
    let name = doc["name"].as_str().unwrap_or_default().to_owned();
    let existing = engine.store.find_journey_by_name(ws, &name).await?;
    let (action, mut journey) = match existing {
        None => ("created", create(engine, ws, doc).await?),
        Some(r) => {
            let stored: Value = serde_json::from_str(&r.definition).unwrap_or(Value::Null);
            if stored == doc {
                let warnings = validate(engine, ws, &doc).await?;
                ("unchanged", view(r, warnings))
            } else {
                ("updated", update(engine, ws, &r.id, doc).await?)
            }
        }
    };
    let mut activated = false;
    if activate && journey.status != "active" {
        let warnings = std::mem::take(&mut journey.warnings);
        journey = set_status(engine, ws, &journey.id, "active").await?;
        journey.warnings = warnings;
        activated = true;
    }
    Ok(ApplyOutcome {
        action: action.into(),
        activated,
        journey,
    })
}

/// `active` (entries open), `paused` (no entries, instances hold), `draft`.
pub async fn set_status(
    engine: &Engine,
    ws: WorkspaceId,
    id: &str,
    status: &str,
) -> Result<JourneyView, Error> {
    let rec = engine
        .store
        .set_journey_status(ws, id, status, now_ms())
        .await?
        .ok_or_else(|| Error::not_found(format!("no journey {id}")))?;
    engine.journeys.reload(&engine.store).await?;
    engine.journeys.wake.notify_one();
    Ok(view(rec, Vec::new()))
}

pub async fn get(engine: &Engine, ws: WorkspaceId, id: &str) -> Result<JourneyView, Error> {
    Ok(view(record(engine, ws, id).await?, Vec::new()))
}

pub async fn list(engine: &Engine, ws: WorkspaceId) -> Result<Vec<JourneyView>, Error> {
    Ok(engine
        .store
        .list_journeys(Some(ws))
        .await?
        .into_iter()
        .map(|r| view(r, Vec::new()))
        .collect())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRequest {
    /// `prof_…` or `type:value`.
    pub profile: String,
    /// Available to templates as `data.trigger` and to correlations.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub payload: Value,
    /// The same key twice enters once.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TriggerOutcome {
    pub entered: bool,
    pub instance_id: Option<String>,
}

pub async fn trigger(
    engine: &Engine,
    ws: WorkspaceId,
    id: &str,
    req: TriggerRequest,
) -> Result<TriggerOutcome, Error> {
    let live = engine
        .journeys
        .find(ws, id)
        .filter(|l| l.record.status == "active")
        .ok_or_else(|| Error::new(ErrorCode::Conflict, format!("journey {id} is not active")))?;
    let pid = crate::profiles::resolve_ref(engine, ws, &req.profile).await?;
    let key = format!(
        "api:{}",
        req.idempotency_key
            .unwrap_or_else(|| hex::encode(rand::random::<[u8; 12]>()))
    );
    let inst = enter(engine, &live, pid, &key, req.payload, now_ms()).await?;
    Ok(TriggerOutcome {
        entered: inst.is_some(),
        instance_id: inst.map(|i| i.id),
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TraceView {
    pub at: String,
    pub step: String,
    pub kind: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PassageView {
    pub instance_id: String,
    pub journey_id: String,
    pub journey: String,
    pub version: i32,
    pub status: String,
    pub step: String,
    pub entered_at: String,
    pub next_wake: Option<String>,
    pub exited_at: Option<String>,
    pub exit_reason: Option<String>,
    pub converted_at: Option<String>,
    /// Every decision, oldest first: path taken, sends, skips and why.
    pub trace: Vec<TraceView>,
}

/// "Why did or didn't this customer get this message": every passage of
/// the profile through journeys with its decisions.
pub async fn of_profile(engine: &Engine, ws: WorkspaceId, pid: ProfileId) -> Result<Vec<PassageView>, Error> {
    let names: HashMap<String, String> = engine
        .store
        .list_journeys(Some(ws))
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let mut out = Vec::new();
    for i in engine.store.profile_instances(ws, pid, None).await? {
        let trace = engine.store.instance_trace(ws, &i.id).await?;
        out.push(passage(i, &names, trace));
    }
    Ok(out)
}

fn passage(
    i: InstanceRecord,
    names: &HashMap<String, String>,
    trace: Vec<relais_store::TraceRecord>,
) -> PassageView {
    PassageView {
        journey: names.get(&i.journey_id).cloned().unwrap_or_default(),
        instance_id: i.id,
        journey_id: i.journey_id,
        version: i.version,
        status: i.status,
        step: i.node,
        entered_at: format_ms(i.entered_at),
        next_wake: i.wake_at.map(format_ms),
        exited_at: i.exited_at.map(format_ms),
        exit_reason: i.exit_reason,
        converted_at: i.converted_at.map(format_ms),
        trace: trace
            .into_iter()
            .map(|t| TraceView {
                at: format_ms(t.at),
                step: t.node,
                kind: t.kind,
                detail: t.detail,
            })
            .collect(),
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JourneyStats {
    pub journey_id: String,
    pub entered: i64,
    pub active: i64,
    pub converted: i64,
    /// Conversions per entry.
    pub conversion_rate: f64,
    #[schema(value_type = Object)]
    pub at_step: serde_json::Map<String, Value>,
    #[schema(value_type = Object)]
    pub exited: serde_json::Map<String, Value>,
    /// `{channel: {status: count}}`.
    #[schema(value_type = Object)]
    pub messages: serde_json::Map<String, Value>,
    /// Schedule and date-trait journeys: the last runs, newest first.
    pub runs: Vec<RunView>,
}

/// One run of a scheduled or date-trait journey.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunView {
    /// `schedule:<time>` or `date:<day>`.
    pub run: String,
    pub entered: i64,
    pub done: bool,
    pub started_at: String,
    pub done_at: Option<String>,
}

pub async fn stats(engine: &Engine, ws: WorkspaceId, id: &str) -> Result<JourneyStats, Error> {
    record(engine, ws, id).await?;
    let c = engine.store.journey_counts(ws, id, &format!("{id}:")).await?;
    let mut messages = serde_json::Map::new();
    for (channel, status, n) in c.messages {
        let e = messages
            .entry(channel)
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(o) = e.as_object_mut() {
            o.insert(status, Value::from(n));
        }
    }
    Ok(JourneyStats {
        journey_id: id.to_owned(),
        entered: c.entered,
        active: c.active,
        converted: c.converted,
        conversion_rate: if c.entered > 0 {
            c.converted as f64 / c.entered as f64
        } else {
            0.0
        },
        at_step: c.at_node.into_iter().map(|(k, n)| (k, Value::from(n))).collect(),
        exited: c.exited.into_iter().map(|(k, n)| (k, Value::from(n))).collect(),
        messages,
        runs: engine
            .store
            .journey_runs(ws, id, 20)
            .await?
            .into_iter()
            .map(|r| RunView {
                run: r.run_key,
                entered: r.entered,
                done: r.done_at.is_some(),
                started_at: format_ms(r.started_at),
                done_at: r.done_at.map(format_ms),
            })
            .collect(),
    })
}

/// The profile's measured engagement per channel over its last 200
/// messages: (opened or clicked + 0.5 × delivered) / sent, for ranking
/// channels in a `best` send. Unmeasured channels score 0.
pub async fn channel_affinity(
    engine: &Engine,
    ws: WorkspaceId,
    pid: ProfileId,
) -> Result<HashMap<String, f64>, Error> {
    let filter = MessageFilter {
        profile_id: Some(pid),
        status: None,
        channel: None,
        before: None,
        limit: 200,
    };
    let mut sent: HashMap<String, (f64, f64)> = HashMap::new();
    for m in engine.store.list_messages(ws, &filter).await? {
        if m.status.as_str() == "skipped" {
            continue;
        }
        let e = sent.entry(m.channel.clone()).or_default();
        e.0 += 1.0;
        e.1 += if m.opened_at.is_some() || m.clicked_at.is_some() {
            1.0
        } else if m.delivered_at.is_some() {
            0.5
        } else {
            0.0
        };
    }
    Ok(sent.into_iter().map(|(k, (n, s))| (k, s / n.max(1.0))).collect())
}
