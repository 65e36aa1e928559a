//! Preview of a definition that is not saved: how many profiles match, and
//! a few of them, within a time budget so that a segment builder can call
//! it as the marketer types. It evaluates from scratch (the reference
//! evaluator over each profile's history), so it needs no aggregate built
//! beforehand. Past the budget the size is extrapolated from the profiles
//! evaluated, which are taken from a random point of the id space so the
//! estimate is not biased towards the oldest profiles.

use super::{parse_condition, MemberView};
use crate::segments::evaluate::{group_history, PastEvent};
use crate::Engine;
use relais_core::computed::{self, Computed};
use relais_core::condition::{evaluate_reference, parse_computed, ComputedDef, Facts, HistEvent};
use relais_core::membership::has_address;
use relais_core::profile::ProfileState;
use relais_core::time::now_ms;
use relais_core::{Error, ProfileId, SegmentId, WorkspaceId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    pub condition: Value,
    /// How many matching profiles to return (default 10, at most 100).
    #[serde(default)]
    pub sample: Option<usize>,
    /// Time budget in milliseconds (default 300, at most 10,000).
    #[serde(default)]
    pub budget_ms: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct PreviewView {
    /// Exact size when `exact`, else extrapolated from `evaluated` profiles.
    pub size: i64,
    pub exact: bool,
    pub matched: i64,
    pub evaluated: i64,
    pub total_profiles: i64,
    pub sample: Vec<MemberView>,
    pub took_ms: u64,
}

const CHUNK: usize = 500;

pub async fn preview(engine: &Engine, ws: WorkspaceId, input: PreviewInput) -> Result<PreviewView, Error> {
    let started = Instant::now();
    let cond = parse_condition(&input.condition)?;
    let budget = Duration::from_millis(input.budget_ms.unwrap_or(300).clamp(10, 10_000));
    let want = input.sample.unwrap_or(10).min(100);
    let deps = cond.dependencies();
    let mut defs: BTreeMap<String, ComputedDef> = BTreeMap::new();
    for c in engine.store.list_computed_traits(Some(ws)).await? {
        if deps.computed.contains(&c.name) {
            let parsed = serde_json::from_str::<Value>(&c.definition)
                .ok()
                .and_then(|v| parse_computed(&v).ok());
            if let Some(d) = parsed {
                defs.insert(c.name, d);
            }
        }
    }
    let rfm = if deps
        .computed
        .iter()
        .any(|c| computed::RFM_NAMES.contains(&c.as_str()))
    {
        crate::rfm::workspace_cuts(&engine.store, ws).await?
    } else {
        None
    };
    let mut names: Vec<String> = deps.events.iter().cloned().collect();
    names.extend(defs.values().map(|d| d.spec().event().to_owned()));
    names.sort();
    names.dedup();

    let total = engine.store.count_profiles(ws).await?;
    let now = now_ms();
    // Start at a random profile, walk to the end, then wrap around.
    let head = engine.store.log_head().await?;
    let start = if head > 0 {
        rand::random::<u64>() as i64 % head
    } else {
        0
    };
    let (mut cursor, mut wrapped) = (start, start == 0);
    let (mut matched, mut evaluated) = (0i64, 0i64);
    let mut sample: Vec<ProfileId> = Vec::new();
    loop {
        let mut ids = engine.store.profile_ids(ws, ProfileId(cursor), CHUNK).await?;
        if wrapped {
            ids.retain(|p| p.0 <= start || start == 0);
        }
        if ids.is_empty() {
            if wrapped {
                break;
            }
            (cursor, wrapped) = (0, true);
            continue;
        }
        cursor = ids.last().map_or(cursor, |p| p.0);
        let keys: Vec<(WorkspaceId, ProfileId)> = ids.iter().map(|p| (ws, *p)).collect();
        let profiles = engine.store.get_profiles(&keys).await?;
        let history = if names.is_empty() {
            HashMap::new()
        } else {
            group_history(engine.store.profile_history(ws, &ids, Some(&names)).await?)
        };
        for p in profiles.into_iter().flatten() {
            let Ok(state) = serde_json::from_str::<ProfileState>(&p.state) else {
                continue;
            };
            let past = history.get(&p.id).map(Vec::as_slice).unwrap_or_default();
            let events: Vec<HistEvent> = past.iter().map(PastEvent::as_hist).collect();
            let computed = |name: &str| match defs.get(name) {
                Some(d) => d.reference_value(&events, now).map(Computed::Value),
                None => {
                    computed::rfm(&state, rfm.as_ref(), name).or_else(|| computed::builtin(&state, name, now))
                }
            };
            let in_segment = |id: SegmentId| state.membership.segments.contains_key(&id);
            let address = |channel: &str| has_address(&state, channel);
            let facts = Facts {
                profile_id: p.id.0,
                state: &state,
                computed: &computed,
                in_segment: &in_segment,
                has_address: &address,
                commerce: None,
                now,
            };
            evaluated += 1;
            if evaluate_reference(&cond, &facts, &events) {
                matched += 1;
                if sample.len() < want {
                    sample.push(p.id);
                }
            }
        }
        if started.elapsed() >= budget {
            break;
        }
    }
    let exact = evaluated >= total;
    let size = if exact || evaluated == 0 {
        matched
    } else {
        ((matched as f64) * (total as f64) / (evaluated as f64)).round() as i64
    };
    let mut views = Vec::with_capacity(sample.len());
    for id in sample {
        let ids = engine.store.profile_identities(ws, id).await?;
        views.push(MemberView {
            id: id.to_string(),
            entered_at: None,
            identities: crate::profiles::identity_views(ids),
        });
    }
    Ok(PreviewView {
        size,
        exact,
        matched,
        evaluated,
        total_profiles: total,
        sample: views,
        took_ms: started.elapsed().as_millis() as u64,
    })
}
