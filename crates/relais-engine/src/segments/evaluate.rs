//! Evaluation of one profile against its workspace's segments: only the
//! segments that the profile's change can affect, in dependency order, so
//! that a segment referring to another sees its new membership.

use super::registry::{CompiledSegment, WorkspaceSegments};
use relais_core::computed::{self, Computed};
use relais_core::condition::{self, AggState, Facts, HistEvent};
use relais_core::membership::has_address;
use relais_core::profile::ProfileState;
use relais_core::{ProfileId, SegmentId};
use std::collections::{BTreeSet, HashMap};

/// What changed on a profile since it was last evaluated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Touch {
    /// Names of the track events applied.
    pub events: BTreeSet<String>,
    pub traits: bool,
    pub consent: bool,
    pub commerce: bool,
    /// Any customer event (first/last seen, channels, counts).
    pub activity: bool,
    /// Evaluate every segment (new profile, merge).
    pub all: bool,
    /// A scheduled check is due: evaluate the segments whose check passed.
    pub due: bool,
    /// Backfill of one segment: evaluate it (and what depends on it) only.
    pub only: Option<SegmentId>,
}

impl Touch {
    pub fn is_empty(&self) -> bool {
        *self == Touch::default()
    }
}

/// A membership change.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub segment: SegmentId,
    pub name: String,
    pub entered: bool,
}

/// Built-in computed traits that only e-commerce events change (RFM
/// scores too: against cut points that change only with the registry, and
/// a refresh restarts the backfill of the segments that read them).
fn commerce_trait(name: &str) -> bool {
    computed::COMMERCE_NAMES.contains(&name) || computed::RFM_NAMES.contains(&name)
}

fn affected(
    s: &CompiledSegment,
    ws: &WorkspaceSegments,
    touch: &Touch,
    changed: &BTreeSet<SegmentId>,
    state: &ProfileState,
    now: i64,
) -> bool {
    let d = &s.deps;
    if d.segments.iter().any(|r| changed.contains(r)) {
        return true;
    }
    if let Some(only) = touch.only {
        return s.id == only;
    }
    if touch.all {
        return true;
    }
    if touch.due && state.membership.checks.get(&s.id).is_some_and(|t| *t <= now) {
        return true;
    }
    d.events.iter().any(|e| touch.events.contains(e))
        || (!d.traits.is_empty() && touch.traits)
        || (d.consent && (touch.consent || touch.traits || touch.activity))
        || d.computed.iter().any(|c| match ws.computed.get(c) {
            Some(def) => touch.events.contains(def.spec().event()),
            None if commerce_trait(c) => touch.commerce,
            None => touch.activity || touch.commerce,
        })
}

/// A computed trait's value for conditions: user-defined ones from their
/// aggregate, built-in ones from the profile (RFM scores against the
/// workspace's cut points).
pub fn computed_value(
    ws: &WorkspaceSegments,
    state: &ProfileState,
    name: &str,
    now: i64,
) -> Option<Computed> {
    match ws.computed.get(name) {
        Some(def) => def
            .value(state.membership.aggregates.get(def.spec().key()), now)
            .map(Computed::Value),
        None => computed::rfm(state, ws.rfm.as_ref(), name).or_else(|| computed::builtin(state, name, now)),
    }
}

/// Evaluates the segments `touch` can affect; updates the profile's
/// memberships and scheduled checks; returns the changes in order.
pub fn evaluate_profile(
    ws: &WorkspaceSegments,
    profile: ProfileId,
    state: &mut ProfileState,
    touch: &Touch,
    now: i64,
) -> Vec<Transition> {
    // Forget segments that no longer exist (deleted: no exit is emitted).
    let live: BTreeSet<SegmentId> = ws.segments.iter().map(|s| s.id).collect();
    state.membership.segments.retain(|id, _| live.contains(id));
    state.membership.checks.retain(|id, _| live.contains(id));

    let mut changed: BTreeSet<SegmentId> = BTreeSet::new();
    let mut out = Vec::new();
    for s in &ws.segments {
        if !affected(s, ws, touch, &changed, state, now) {
            continue;
        }
        let outcome = {
            let st: &ProfileState = state;
            let computed = |name: &str| computed_value(ws, st, name, now);
            let in_segment = |id: SegmentId| st.membership.segments.contains_key(&id);
            let address = |channel: &str| has_address(st, channel);
            let facts = Facts {
                profile_id: profile.0,
                state: st,
                computed: &computed,
                in_segment: &in_segment,
                has_address: &address,
                commerce: None,
                now,
            };
            let aggs = |key: &str| st.membership.aggregates.get(key);
            condition::evaluate(&s.condition, &facts, &aggs)
        };
        let m = &mut state.membership;
        match outcome.next_check {
            Some(t) => m.checks.insert(s.id, t),
            None => m.checks.remove(&s.id),
        };
        let was = m.segments.contains_key(&s.id);
        if outcome.matched != was {
            if outcome.matched {
                m.segments.insert(s.id, now);
            } else {
                m.segments.remove(&s.id);
            }
            changed.insert(s.id);
            out.push(Transition {
                segment: s.id,
                name: s.name.clone(),
                entered: outcome.matched,
            });
        }
    }
    out
}

/// An event of the profile's history, as stored.
pub struct PastEvent {
    pub name: String,
    pub timestamp: i64,
    pub channel: String,
    pub properties: serde_json::Value,
}

impl PastEvent {
    /// The view conditions evaluate.
    pub fn as_hist(&self) -> HistEvent<'_> {
        HistEvent {
            name: &self.name,
            timestamp: self.timestamp,
            channel: &self.channel,
            properties: &self.properties,
        }
    }
}

/// The `properties` of a stored event, without building the rest of it
/// (context, traits…: most of its bytes) as a tree.
fn properties_of(payload: &str) -> serde_json::Value {
    #[derive(serde::Deserialize)]
    struct Props<'a> {
        #[serde(borrow, default)]
        properties: Option<&'a serde_json::value::RawValue>,
    }
    serde_json::from_str::<Props>(payload)
        .ok()
        .and_then(|p| p.properties)
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// History rows (track events with a readable payload) by profile.
pub fn group_history(rows: Vec<relais_store::HistoryRow>) -> HashMap<ProfileId, Vec<PastEvent>> {
    let mut out: HashMap<ProfileId, Vec<PastEvent>> = HashMap::new();
    for r in rows {
        if r.kind != "track" {
            continue;
        }
        let Some(payload) = r.payload else { continue };
        let properties = properties_of(&payload);
        out.entry(r.profile_id).or_default().push(PastEvent {
            name: r.name,
            timestamp: r.timestamp,
            channel: r.channel,
            properties,
        });
    }
    out
}

/// Builds, from the profile's whole history, the aggregates of the specs
/// in `keys` that it does not have yet.
pub fn init_aggregates(ws: &WorkspaceSegments, state: &mut ProfileState, history: &[PastEvent], now: i64) {
    for (key, spec) in &ws.specs {
        if state.membership.aggregates.contains_key(key) {
            continue;
        }
        let mut agg = AggState::default();
        for e in history.iter().filter(|e| e.name == spec.event()) {
            let h = e.as_hist();
            if spec.matches(&h) {
                agg.record(spec, &h, now);
            }
        }
        state.membership.aggregates.insert(key.clone(), agg);
    }
}

/// Spec keys the profile lacks (it needs its history read).
pub fn missing_specs(ws: &WorkspaceSegments, state: &ProfileState) -> bool {
    ws.specs
        .keys()
        .any(|k| !state.membership.aggregates.contains_key(k))
}

/// Records one event into the aggregates that count it.
pub fn record_event(ws: &WorkspaceSegments, state: &mut ProfileState, ev: &HistEvent, now: i64) {
    let Some(keys) = ws.by_event.get(ev.name) else {
        return;
    };
    for key in keys {
        let (Some(spec), Some(agg)) = (ws.specs.get(key), state.membership.aggregates.get_mut(key)) else {
            continue;
        };
        if spec.matches(ev) {
            agg.record(spec, ev, now);
        }
    }
}

/// Merge of two profiles' aggregates (both built over their whole history).
pub fn absorb_aggregates(
    ws: Option<&WorkspaceSegments>,
    into: &mut ProfileState,
    from: &mut ProfileState,
    now: i64,
) {
    let theirs = std::mem::take(&mut from.membership.aggregates);
    let ours = std::mem::take(&mut into.membership.aggregates);
    let Some(ws) = ws else { return };
    let mut theirs = theirs;
    for (key, mut mine) in ours {
        let (Some(spec), Some(other)) = (ws.specs.get(&key), theirs.remove(&key)) else {
            continue; // one side never built it: rebuilt from history on next load
        };
        mine.absorb(spec, other, now);
        into.membership.aggregates.insert(key, mine);
    }
}

/// Drops aggregates no spec in force needs any more.
pub fn drop_stale(ws: Option<&WorkspaceSegments>, state: &mut ProfileState) {
    match ws {
        Some(ws) => state
            .membership
            .aggregates
            .retain(|k, _| ws.specs.contains_key(k)),
        None => state.membership.aggregates.clear(),
    }
}
