//! The segments and computed traits in force, compiled, per workspace, with
//! the RFM cut points their conditions score against.
//!
//! The processor holds one [`Registry`]; it is rebuilt from the store when
//! the API changes a definition (and every few seconds, for changes made by
//! another process such as the CLI). Rebuilding is cheap: definitions are
//! small and few.

use relais_core::condition::{self, ComputedDef, Condition, Dependencies, EventSpec};
use relais_core::rfm::RfmCuts;
use relais_core::{SegmentId, WorkspaceId};
use relais_store::{ComputedTraitRecord, DynStore, RfmThresholds, SegmentRecord, SegmentStatus, StoreError};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Events the engine emits itself, on the profile's timeline.
pub const SEGMENT_ENTERED: &str = "Segment Entered";
pub const SEGMENT_EXITED: &str = "Segment Exited";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backfill {
    /// Last profile id evaluated.
    pub cursor: i64,
    pub done: i64,
    pub total: i64,
}

#[derive(Debug, Clone)]
pub struct CompiledSegment {
    pub id: SegmentId,
    pub workspace: WorkspaceId,
    pub name: String,
    pub version: i64,
    pub condition: Condition,
    pub deps: Dependencies,
    /// `Some` while the segment is being computed over existing profiles.
    pub backfill: Option<Backfill>,
}

/// Everything one workspace's evaluation needs.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceSegments {
    /// In dependency order: a segment comes after the segments it refers to.
    pub segments: Vec<CompiledSegment>,
    /// Aggregate specs by key, from segments and computed traits.
    pub specs: HashMap<String, EventSpec>,
    /// Event name → keys of the specs that count it.
    pub by_event: HashMap<String, Vec<String>>,
    pub computed: BTreeMap<String, ComputedDef>,
    /// The workspace's RFM cut points (none before its first refresh, or
    /// without buyers), read by the `rfm_*` computed traits.
    pub rfm: Option<RfmCuts>,
}

impl WorkspaceSegments {
    pub fn segment(&self, id: SegmentId) -> Option<&CompiledSegment> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// Event names whose occurrences some spec records.
    pub fn event_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_event.keys().cloned().collect();
        names.sort();
        names
    }

    fn add_spec(&mut self, spec: EventSpec) {
        let key = spec.key().to_owned();
        if !self.specs.contains_key(&key) {
            self.by_event
                .entry(spec.event().to_owned())
                .or_default()
                .push(key.clone());
            self.specs.insert(key, spec);
        }
    }
}

/// What identifies a set of definitions: when it differs from the store's,
/// the registry is rebuilt.
pub type Signature = Vec<(i64, i64, String)>;

#[derive(Debug, Clone, Default)]
pub struct Registry {
    workspaces: HashMap<WorkspaceId, WorkspaceSegments>,
    /// Every event name some workspace's specs record (properties kept).
    names: HashSet<String>,
    signature: Signature,
}

impl Registry {
    pub async fn load(store: &DynStore) -> Result<Registry, StoreError> {
        let segments = store.list_segments(None).await?;
        let computed = store.list_computed_traits(None).await?;
        let rfm = store.rfm_thresholds(None).await?;
        Ok(Registry::build(segments, computed, rfm))
    }

    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The signature of what the store holds now.
    pub async fn stored_signature(store: &DynStore) -> Result<Signature, StoreError> {
        let segments = store.list_segments(None).await?;
        let computed = store.list_computed_traits(None).await?;
        let rfm = store.rfm_thresholds(None).await?;
        Ok(signature_of(&segments, &computed, &rfm))
    }

    pub fn build(
        segments: Vec<SegmentRecord>,
        computed: Vec<ComputedTraitRecord>,
        rfm: Vec<RfmThresholds>,
    ) -> Registry {
        let signature = signature_of(&segments, &computed, &rfm);
        let mut workspaces: HashMap<WorkspaceId, WorkspaceSegments> = HashMap::new();
        for c in computed {
            let parsed = serde_json::from_str(&c.definition)
                .map_err(|e| e.to_string())
                .and_then(|v| condition::parse_computed(&v).map_err(|e| e.to_string()));
            match parsed {
                Ok(def) => {
                    let ws = workspaces.entry(c.workspace_id).or_default();
                    ws.add_spec(def.spec().clone());
                    ws.computed.insert(c.name.clone(), def);
                }
                Err(e) => tracing::error!(workspace = %c.workspace_id, name = %c.name, error = %e,
                    "stored computed trait definition is invalid; ignored"),
            }
        }
        let mut pending: HashMap<WorkspaceId, Vec<CompiledSegment>> = HashMap::new();
        for s in segments {
            match compile(&s) {
                Ok(c) => pending.entry(s.workspace_id).or_default().push(c),
                Err(e) => tracing::error!(workspace = %s.workspace_id, segment = %s.id, error = %e,
                    "stored segment definition is invalid; ignored"),
            }
        }
        for (ws_id, list) in pending {
            let ws = workspaces.entry(ws_id).or_default();
            for s in &list {
                for spec in s.condition.specs() {
                    ws.add_spec(spec);
                }
            }
            ws.segments = dependency_order(list);
        }
        // Only where something is evaluated: a workspace with cut points
        // but no definitions needs no entry (nor an internal source).
        for t in rfm {
            if let Some(ws) = workspaces.get_mut(&t.workspace_id) {
                ws.rfm = t.cuts();
            }
        }
        let names = workspaces
            .values()
            .flat_map(|w| w.by_event.keys().cloned())
            .collect();
        Registry {
            workspaces,
            names,
            signature,
        }
    }

    pub fn workspace(&self, ws: WorkspaceId) -> Option<&WorkspaceSegments> {
        self.workspaces.get(&ws)
    }

    pub fn workspaces(&self) -> impl Iterator<Item = WorkspaceId> + '_ {
        self.workspaces.keys().copied()
    }

    /// Records a backfill's progress (`None` = finished).
    pub fn set_backfill(&mut self, ws: WorkspaceId, seg: SegmentId, b: Option<Backfill>) {
        let s = self
            .workspaces
            .get_mut(&ws)
            .and_then(|w| w.segments.iter_mut().find(|s| s.id == seg));
        if let Some(s) = s {
            s.backfill = b;
        }
    }

    /// Whether the processor must keep the `properties` of events so named.
    pub fn keeps_properties(&self, name: &str) -> bool {
        name == SEGMENT_ENTERED || name == SEGMENT_EXITED || self.names.contains(name)
    }

    /// The first segment still being backfilled, if any.
    pub fn backfilling(&self) -> Option<(WorkspaceId, SegmentId)> {
        let mut all: Vec<(WorkspaceId, SegmentId)> = self
            .workspaces
            .iter()
            .flat_map(|(ws, w)| {
                w.segments
                    .iter()
                    .filter(|s| s.backfill.is_some())
                    .map(move |s| (*ws, s.id))
            })
            .collect();
        all.sort_by_key(|(_, s)| *s);
        all.first().copied()
    }
}

fn signature_of(
    segments: &[SegmentRecord],
    computed: &[ComputedTraitRecord],
    rfm: &[RfmThresholds],
) -> Signature {
    let mut sig: Signature = segments
        .iter()
        .map(|s| {
            let status = match s.status {
                SegmentStatus::Backfilling => "b",
                SegmentStatus::Active => "a",
            };
            (s.id.0, s.version, status.to_owned())
        })
        .collect();
    sig.extend(computed.iter().map(|c| {
        (
            -c.workspace_id.0,
            c.updated_at,
            format!("{}={}", c.name, c.definition),
        )
    }));
    sig.extend(
        rfm.iter()
            .map(|t| (-t.workspace_id.0, t.computed_at, format!("rfm={t:?}"))),
    );
    sig
}

/// Parses a stored segment.
pub fn compile(s: &SegmentRecord) -> Result<CompiledSegment, String> {
    let json: serde_json::Value = serde_json::from_str(&s.definition).map_err(|e| e.to_string())?;
    let condition = condition::parse(&json).map_err(|e| e.to_string())?;
    let deps = condition.dependencies();
    Ok(CompiledSegment {
        id: s.id,
        workspace: s.workspace_id,
        name: s.name.clone(),
        version: s.version,
        backfill: (s.status == SegmentStatus::Backfilling).then_some(Backfill {
            cursor: s.backfill_cursor,
            done: s.backfill_done,
            total: s.backfill_total,
        }),
        condition,
        deps,
    })
}

/// Orders segments so that each follows those it refers to. Segments in a
/// cycle (the API refuses them; a store edited by hand might hold one) or
/// referring to a missing segment keep their relative order at the end:
/// a reference to a missing segment is simply false.
fn dependency_order(mut list: Vec<CompiledSegment>) -> Vec<CompiledSegment> {
    list.sort_by_key(|s| s.id);
    let ids: BTreeSet<SegmentId> = list.iter().map(|s| s.id).collect();
    let mut placed: BTreeSet<SegmentId> = BTreeSet::new();
    let mut out = Vec::with_capacity(list.len());
    loop {
        let before = out.len();
        let mut rest = Vec::new();
        for s in list {
            let ready = s
                .deps
                .segments
                .iter()
                .all(|d| placed.contains(d) || !ids.contains(d) || *d == s.id);
            if ready {
                placed.insert(s.id);
                out.push(s);
            } else {
                rest.push(s);
            }
        }
        list = rest;
        if list.is_empty() || out.len() == before {
            out.extend(list);
            return out;
        }
    }
}

/// Refuses a definition that would make segments refer to each other in a
/// circle. `defs` maps every segment of the workspace to what it refers to,
/// with the candidate's new references in place.
pub fn find_cycle(
    defs: &BTreeMap<SegmentId, BTreeSet<SegmentId>>,
    start: SegmentId,
) -> Option<Vec<SegmentId>> {
    fn walk(
        defs: &BTreeMap<SegmentId, BTreeSet<SegmentId>>,
        at: SegmentId,
        start: SegmentId,
        path: &mut Vec<SegmentId>,
        seen: &mut BTreeSet<SegmentId>,
    ) -> bool {
        for next in defs.get(&at).into_iter().flatten() {
            if *next == start {
                path.push(*next);
                return true;
            }
            if seen.insert(*next) {
                path.push(*next);
                if walk(defs, *next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start];
    let mut seen = BTreeSet::new();
    walk(defs, start, start, &mut path, &mut seen).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(pairs: &[(i64, &[i64])]) -> BTreeMap<SegmentId, BTreeSet<SegmentId>> {
        pairs
            .iter()
            .map(|(a, bs)| (SegmentId(*a), bs.iter().map(|b| SegmentId(*b)).collect()))
            .collect()
    }

    fn segment(ws: i64, id: i64, definition: &str) -> SegmentRecord {
        SegmentRecord {
            workspace_id: WorkspaceId(ws),
            id: SegmentId(id),
            name: format!("s{id}"),
            description: String::new(),
            definition: definition.into(),
            version: 1,
            status: SegmentStatus::Active,
            backfill_cursor: 0,
            backfill_done: 0,
            backfill_total: 0,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn rfm(ws: i64, buyers: i64, computed_at: i64) -> RfmThresholds {
        RfmThresholds {
            workspace_id: WorkspaceId(ws),
            recency: [1.0, 2.0, 3.0, 4.0],
            frequency: [1.0; 4],
            monetary: [10.0, 20.0, 30.0, 40.0],
            buyers,
            computed_at,
        }
    }

    #[test]
    fn rfm_cut_points_go_to_workspaces_with_definitions_and_into_the_signature() {
        let segments = || {
            vec![
                segment(1, 1, r#"{"computed":"rfm_m","op":"eq","value":5}"#),
                segment(2, 2, r#"{"trait":"x","op":"exists"}"#),
            ]
        };
        let r = Registry::build(
            segments(),
            vec![],
            vec![rfm(1, 10, 5), rfm(2, 0, 5), rfm(3, 10, 5)],
        );
        let cuts = r
            .workspace(WorkspaceId(1))
            .and_then(|w| w.rfm)
            .expect("cut points");
        assert_eq!((cuts.monetary, cuts.at), ([10.0, 20.0, 30.0, 40.0], 5));
        assert_eq!(
            r.workspace(WorkspaceId(2)).map(|w| w.rfm),
            Some(None),
            "no buyers: no cut points"
        );
        assert!(r.workspace(WorkspaceId(3)).is_none(), "nothing to evaluate there");
        let later = Registry::build(
            segments(),
            vec![],
            vec![rfm(1, 10, 6), rfm(2, 0, 5), rfm(3, 10, 5)],
        );
        assert_ne!(r.signature(), later.signature(), "a refresh reloads the registry");
    }

    #[test]
    fn cycles_are_found_with_their_path() {
        let d = deps(&[(1, &[2]), (2, &[3]), (3, &[1]), (4, &[1])]);
        assert_eq!(
            find_cycle(&d, SegmentId(1)),
            Some(vec![SegmentId(1), SegmentId(2), SegmentId(3), SegmentId(1)])
        );
        assert_eq!(find_cycle(&d, SegmentId(4)), None);
        assert_eq!(
            find_cycle(&deps(&[(1, &[1])]), SegmentId(1)).map(|p| p.len()),
            Some(2)
        );
    }
}
