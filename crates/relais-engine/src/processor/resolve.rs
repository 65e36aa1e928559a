//! Identity resolution and profile folding, over the worker's caches.
//!
//! The rules (DESIGN.md, "Identity"): an event that carries identifiers of
//! several profiles merges them into the oldest, unless that would put two
//! different `user_id`s on one profile; then the event attaches to the
//! profile of its own `user_id` (or of its strongest identifier), the other
//! profiles are left alone and the conflict is recorded.

use super::{interest_keys, search_keys, IdentityKey};
use crate::segments::evaluate::{self as seg, Touch};
use crate::segments::registry::{Backfill, Registry};
use relais_core::commerce::COMMERCE_EVENTS;
use relais_core::condition::HistEvent;
use relais_core::identity::{self, Identity, ANONYMOUS_ID, USER_ID};
use relais_core::message::MessageType;
use relais_core::profile::{ConsentStatus, EventFacts, ProfileState};
use relais_core::profile::{SUBSCRIBED_EVENT, UNSUBSCRIBED_EVENT};
use relais_core::SegmentId;
use relais_core::{ProfileId, WorkspaceId};
use relais_store::{
    DynStore, IdentityLink, LogEvent, MergeKind, MergeRecord, ProcessedBatch, ProfileWrite, StoreError,
    TimelineRow,
};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub(super) struct Entry {
    pub(super) ws: WorkspaceId,
    pub(super) state: ProfileState,
    created_at: i64,
    updated_at: i64,
    search_keys: Vec<String>,
    /// The product keys the store's interest index holds for it.
    interests: Vec<String>,
    pub(super) dirty: bool,
    /// What changed since the profile's segments were last evaluated.
    pub(super) touch: Touch,
    /// The last log entry applied to it in this batch.
    pub(super) cause_seq: Option<i64>,
}

pub(super) struct State {
    identity_traits: Vec<String>,
    /// Identifier → profile; `None` = known not to exist.
    ids: HashMap<IdentityKey, Option<ProfileId>>,
    /// Merged profile → the profile it was merged into.
    redirects: HashMap<ProfileId, ProfileId>,
    pub(super) profiles: HashMap<ProfileId, Entry>,
    /// Profiles changed or touched since the last commit (may repeat).
    pub(super) pending: Vec<ProfileId>,
    /// Segments and computed traits in force.
    pub(super) registry: Arc<Registry>,
    /// Events the journey runner listens to.
    pub(super) interest: Arc<crate::journeys::Interest>,
}

impl State {
    pub fn new(
        identity_traits: Vec<String>,
        registry: Arc<Registry>,
        interest: Arc<crate::journeys::Interest>,
    ) -> State {
        State {
            interest,
            identity_traits,
            ids: HashMap::new(),
            redirects: HashMap::new(),
            profiles: HashMap::new(),
            pending: Vec::new(),
            registry,
        }
    }

    pub fn set_registry(&mut self, registry: Arc<Registry>) {
        self.registry = registry;
    }

    pub fn backfill_progress(&mut self, ws: WorkspaceId, seg: SegmentId, b: Option<Backfill>) {
        Arc::make_mut(&mut self.registry).set_backfill(ws, seg, b);
    }

    /// Marks a cached profile for evaluation.
    pub fn touch(&mut self, pid: ProfileId, f: impl FnOnce(&mut Touch)) {
        if let Some(e) = self.profiles.get_mut(&pid) {
            f(&mut e.touch);
            self.pending.push(pid);
        }
    }

    pub fn len(&self) -> usize {
        self.profiles.len().max(self.ids.len() / 4)
    }

    pub fn clear(&mut self) {
        self.pending.clear();
        self.ids.clear();
        self.redirects.clear();
        self.profiles.clear();
    }

    /// Marks everything clean after a successful commit.
    pub fn committed(&mut self) {
        for pid in self.pending.drain(..) {
            if let Some(e) = self.profiles.get_mut(&pid) {
                e.dirty = false;
            }
        }
    }

    fn identities_of(&self, value: &Value) -> Vec<Identity> {
        identity::extract(value, &self.identity_traits)
    }

    /// Loads, in two bulk queries, the identifiers and profiles of a batch
    /// that the caches do not hold.
    pub async fn prefetch(
        &mut self,
        store: &DynStore,
        batch: &[LogEvent],
        parsed: &[Option<Value>],
    ) -> Result<(), StoreError> {
        let mut wanted: Vec<IdentityKey> = Vec::new();
        let mut asked: HashSet<IdentityKey> = HashSet::new();
        for (e, v) in batch.iter().zip(parsed) {
            let Some(v) = v else { continue };
            let ws = e.event.workspace_id;
            let mut ids = self.identities_of(v);
            if let Some(prev) = identity::alias_previous(v) {
                ids.extend(Identity::new(ANONYMOUS_ID, &prev));
                ids.extend(Identity::new(USER_ID, &prev));
            }
            for id in ids {
                let key = (ws, id);
                if !self.ids.contains_key(&key) && asked.insert(key.clone()) {
                    wanted.push(key);
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let found = store.find_profiles(&wanted).await?;
        let mut profiles: Vec<(WorkspaceId, ProfileId)> = Vec::new();
        let mut loading: HashSet<ProfileId> = HashSet::new();
        for (key, pid) in wanted.into_iter().zip(found) {
            if let Some(p) = pid {
                if !self.profiles.contains_key(&p) && loading.insert(p) {
                    profiles.push((key.0, p));
                }
            }
            self.ids.insert(key, pid);
        }
        self.load(store, &profiles).await
    }

    async fn load(&mut self, store: &DynStore, keys: &[(WorkspaceId, ProfileId)]) -> Result<(), StoreError> {
        self.load_from(store, keys, true).await.map(drop)
    }

    /// Loads profiles that may have been merged away or erased since they
    /// were named (timers, backfill): the answer is, per key, the profile
    /// now holding it, or `None`.
    pub async fn load_existing(
        &mut self,
        store: &DynStore,
        keys: &[(WorkspaceId, ProfileId)],
    ) -> Result<Vec<Option<ProfileId>>, StoreError> {
        self.load_from(store, keys, false).await?;
        Ok(keys
            .iter()
            .map(|(_, p)| {
                let p = self.resolve(*p);
                self.profiles.contains_key(&p).then_some(p)
            })
            .collect())
    }

    /// Loads the profiles of `keys` that the cache lacks (following merge
    /// redirects), then builds their missing aggregates. A missing profile
    /// is an error when `required` (an identifier points to it).
    async fn load_from(
        &mut self,
        store: &DynStore,
        keys: &[(WorkspaceId, ProfileId)],
        required: bool,
    ) -> Result<(), StoreError> {
        let wanted: Vec<(WorkspaceId, ProfileId)> = keys
            .iter()
            .filter(|(_, p)| !self.profiles.contains_key(&self.resolve(*p)))
            .copied()
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let loaded = store.get_profiles(&wanted).await?;
        let mut present = Vec::with_capacity(wanted.len());
        for ((ws, asked), got) in wanted.iter().zip(loaded) {
            let Some(p) = got else {
                if required {
                    return Err(StoreError::Other(format!(
                        "identity points to profile {asked} of {ws}, which does not exist"
                    )));
                }
                continue;
            };
            if p.id != *asked {
                self.redirects.insert(*asked, p.id);
            }
            present.push((*ws, p.id));
            if self.profiles.contains_key(&p.id) {
                continue;
            }
            let state: ProfileState = serde_json::from_str(&p.state)
                .map_err(|e| StoreError::Other(format!("profile {} has an unreadable state: {e}", p.id)))?;
            self.profiles.insert(
                p.id,
                Entry {
                    ws: *ws,
                    search_keys: search_keys(&state),
                    interests: interest_keys(&state),
                    state,
                    created_at: p.created_at,
                    updated_at: p.updated_at,
                    dirty: false,
                    touch: Touch::default(),
                    cause_seq: None,
                },
            );
        }
        self.init_aggregates(store, &present).await
    }

    /// Builds, from their history, the aggregates that loaded profiles lack
    /// (a segment or computed trait created since they were last written).
    async fn init_aggregates(
        &mut self,
        store: &DynStore,
        keys: &[(WorkspaceId, ProfileId)],
    ) -> Result<(), StoreError> {
        let registry = self.registry.clone();
        let mut by_ws: HashMap<WorkspaceId, Vec<ProfileId>> = HashMap::new();
        for (ws, asked) in keys {
            let p = self.resolve(*asked);
            let Some(w) = registry.workspace(*ws) else {
                continue;
            };
            if self
                .profiles
                .get(&p)
                .is_some_and(|e| seg::missing_specs(w, &e.state))
            {
                by_ws.entry(*ws).or_default().push(p);
            }
        }
        let now = relais_core::time::now_ms();
        for (ws, pids) in by_ws {
            let w = registry.workspace(ws).expect("workspace has segments");
            let names = w.event_names();
            let asked = std::time::Instant::now();
            let rows = store.profile_history(ws, &pids, Some(&names)).await?;
            tracing::debug!(
                profiles = pids.len(),
                rows = rows.len(),
                query_ms = asked.elapsed().as_millis() as u64,
                "history read"
            );
            let mut history = seg::group_history(rows);
            for p in pids {
                let past = history.remove(&p).unwrap_or_default();
                if let Some(e) = self.profiles.get_mut(&p) {
                    // Not marked dirty: the aggregates are written with the
                    // profile's next change; if it is dropped from the cache
                    // first, they are simply built again (a backfill thus
                    // writes only the profiles whose membership changed).
                    seg::init_aggregates(w, &mut e.state, &past, now);
                }
            }
        }
        Ok(())
    }

    fn resolve(&self, mut p: ProfileId) -> ProfileId {
        while let Some(next) = self.redirects.get(&p) {
            p = *next;
        }
        p
    }

    async fn lookup(
        &mut self,
        store: &DynStore,
        ws: WorkspaceId,
        id: &Identity,
    ) -> Result<Option<ProfileId>, StoreError> {
        let key = (ws, id.clone());
        let pid = match self.ids.get(&key) {
            Some(p) => *p,
            None => {
                let p = store.find_profile(ws, id).await?;
                self.ids.insert(key, p);
                p
            }
        };
        let Some(p) = pid else { return Ok(None) };
        let p = self.resolve(p);
        if !self.profiles.contains_key(&p) {
            self.load(store, &[(ws, p)]).await?;
        }
        Ok(Some(self.resolve(p)))
    }

    fn user_of(&self, p: ProfileId) -> Option<&str> {
        self.profiles.get(&p).and_then(|e| e.state.user_id.as_deref())
    }

    /// Resolves one event to its profile and folds it in.
    pub async fn apply(
        &mut self,
        store: &DynStore,
        entry: &LogEvent,
        value: &Value,
        source: &str,
        out: &mut ProcessedBatch,
    ) -> Result<(), StoreError> {
        let ev = &entry.event;
        let ws = ev.workspace_id;
        let kind = MessageType::parse(&ev.kind).unwrap_or(MessageType::Track);
        let mut ids = self.identities_of(value);
        let event_user = ids.iter().find(|i| i.kind == USER_ID).map(|i| i.value.clone());
        if kind == MessageType::Alias {
            if let Some(prev) = identity::alias_previous(value) {
                // previousId is an earlier anonymous id or user id.
                let as_user = Identity::new(USER_ID, &prev);
                let known_user = match &as_user {
                    Some(u) => self.lookup(store, ws, u).await?.is_some(),
                    None => false,
                };
                let prev_id = if known_user {
                    as_user
                } else {
                    Identity::new(ANONYMOUS_ID, &prev)
                };
                ids.extend(prev_id.filter(|p| !ids.contains(p)));
            }
        }

        // Which profiles does the event point to? (strongest identifier first)
        let mut found: Vec<(Identity, Option<ProfileId>)> = Vec::with_capacity(ids.len());
        let mut candidates: Vec<ProfileId> = Vec::new();
        for id in ids {
            let p = self.lookup(store, ws, &id).await?;
            if let Some(p) = p {
                if !candidates.contains(&p) {
                    candidates.push(p);
                }
            }
            found.push((id, p));
        }

        // The user id that the target profile will carry, and who may join it.
        let anchor_user: Option<String> = match &event_user {
            Some(u) => Some(u.clone()),
            None => candidates
                .iter()
                .find_map(|p| self.user_of(*p).map(str::to_owned)),
        };
        let (mergeable, conflicting): (Vec<ProfileId>, Vec<ProfileId>) =
            candidates
                .iter()
                .partition(|p| match (self.user_of(**p), &anchor_user) {
                    (Some(theirs), Some(anchor)) => theirs == anchor,
                    _ => true,
                });
        let target = match mergeable.iter().min() {
            Some(oldest) => *oldest,
            None => {
                let id = ProfileId(entry.seq);
                let mut state = ProfileState::default();
                if let Some(w) = self.registry.workspace(ws) {
                    seg::init_aggregates(w, &mut state, &[], relais_core::time::now_ms());
                }
                self.profiles.insert(
                    id,
                    Entry {
                        ws,
                        state,
                        created_at: ev.received_at,
                        updated_at: ev.received_at,
                        search_keys: Vec::new(),
                        interests: Vec::new(),
                        dirty: true,
                        touch: Touch {
                            all: true,
                            ..Touch::default()
                        },
                        cause_seq: None,
                    },
                );
                self.pending.push(id);
                id
            }
        };
        for loser in mergeable.iter().filter(|p| **p != target) {
            self.merge(ws, target, *loser, entry, out);
        }
        for other in &conflicting {
            tracing::info!(workspace = %ws, target = %target, other = %other, seq = entry.seq,
                "identity conflict: two user ids; profiles not merged");
            out.merges.push(MergeRecord {
                workspace_id: ws,
                kind: MergeKind::Conflict,
                winner: target,
                loser: *other,
                seq: entry.seq,
                at: ev.timestamp,
                reason: format!("event {} links profiles with different user ids", ev.message_id),
            });
        }

        // Identifiers not known yet now belong to the target.
        for (id, p) in found {
            if p.is_none() {
                self.ids.insert((ws, id.clone()), Some(target));
                out.identities.push(IdentityLink {
                    workspace_id: ws,
                    identity: id,
                    profile_id: target,
                });
            }
        }

        let e = self.profiles.get_mut(&target).expect("target profile is loaded");
        if e.state.user_id.is_none() {
            e.state.user_id = event_user;
        }
        e.state.apply(&EventFacts {
            kind,
            timestamp_ms: ev.timestamp,
            channel: &ev.channel,
            source,
            event: value,
        });
        e.updated_at = e.updated_at.max(ev.received_at);
        e.dirty = true;
        e.cause_seq = Some(entry.seq);
        note_change(&mut e.touch, kind, value);
        self.pending.push(target);
        if kind == MessageType::Track {
            if let (Some(name), Some(w)) = (
                value.get("event").and_then(Value::as_str),
                self.registry.workspace(ws),
            ) {
                let props = value.get("properties").unwrap_or(&Value::Null);
                let h = HistEvent {
                    name,
                    timestamp: ev.timestamp,
                    channel: &ev.channel,
                    properties: props,
                };
                seg::record_event(w, &mut e.state, &h, relais_core::time::now_ms());
            }
        }
        let name = match kind {
            MessageType::Track => value.get("event"),
            MessageType::Page | MessageType::Screen => value.get("name"),
            _ => None,
        };
        let name = name.and_then(Value::as_str).unwrap_or_default().replace('\0', "");
        self.feed(entry, target, &name, value, out);
        out.timeline.push(TimelineRow {
            workspace_id: ws,
            profile_id: target,
            seq: entry.seq,
            timestamp: ev.timestamp,
            kind: ev.kind.clone(),
            name,
            channel: ev.channel.clone(),
        });
        Ok(())
    }

    /// A feed row for the journey runner, when a journey listens to the event.
    fn feed(
        &self,
        entry: &LogEvent,
        profile: ProfileId,
        name: &str,
        value: &Value,
        out: &mut ProcessedBatch,
    ) {
        let ev = &entry.event;
        if name.is_empty() || !self.interest.wants(ev.workspace_id, name) {
            return;
        }
        out.journey_feed.push(relais_store::FeedRow {
            seq: entry.seq,
            workspace_id: ev.workspace_id,
            profile_id: profile,
            name: name.to_owned(),
            channel: ev.channel.clone(),
            timestamp: ev.timestamp,
            properties: value
                .get("properties")
                .map_or_else(|| "{}".to_owned(), |p| p.to_string()),
        });
    }

    /// Folds one of Relais' own events (`Segment Entered`, …) into the
    /// aggregates of the profile it names. Its timeline row was written
    /// when it was emitted.
    pub async fn apply_internal(
        &mut self,
        store: &DynStore,
        entry: &LogEvent,
        value: &Value,
        out: &mut ProcessedBatch,
    ) -> Result<(), StoreError> {
        let ws = entry.event.workspace_id;
        let named = value
            .pointer("/properties/profile_id")
            .and_then(Value::as_str)
            .and_then(ProfileId::parse);
        let (Some(named), Some(name)) = (named, value.get("event").and_then(Value::as_str)) else {
            return Ok(());
        };
        let Some(pid) = self.load_existing(store, &[(ws, named)]).await?[0] else {
            return Ok(()); // erased since
        };
        let registry = self.registry.clone();
        let e = self.profiles.get_mut(&pid).expect("loaded");
        if let Some(w) = registry.workspace(ws) {
            let h = HistEvent {
                name,
                timestamp: entry.event.timestamp,
                channel: &entry.event.channel,
                properties: value.get("properties").unwrap_or(&Value::Null),
            };
            seg::record_event(w, &mut e.state, &h, relais_core::time::now_ms());
        }
        // Consent changed by Relais itself (an unsubscribe link, a STOP reply):
        // the same statement a tracked `Unsubscribed` event makes.
        let status = match name {
            SUBSCRIBED_EVENT => Some(ConsentStatus::Subscribed),
            UNSUBSCRIBED_EVENT => Some(ConsentStatus::Unsubscribed),
            _ => None,
        };
        let channel = value.pointer("/properties/channel").and_then(Value::as_str);
        if let (Some(status), Some(channel)) = (status, channel) {
            e.state
                .set_consent(channel, status, super::INTERNAL_SOURCE, entry.event.timestamp);
            e.touch.consent = true;
        }
        // Traits set by a journey's update_profile step, or from a webhook's answer.
        if name == crate::journeys::PROFILE_UPDATED_EVENT
            || name == crate::event_names::WEBHOOK_RESPONSE_EVENT
        {
            if let Some(traits) = value.pointer("/properties/traits").and_then(Value::as_object) {
                for (k, v) in traits {
                    e.state.traits.insert(k.clone(), v.clone());
                }
                e.touch.traits = true;
            }
        }
        // A push token the provider refused is dropped from the profile.
        if name == "Push Notification Bounced" {
            if let Some(token) = value.pointer("/properties/token").and_then(Value::as_str) {
                e.state.push_tokens.retain(|t| t != token);
            }
        }
        e.touch.events.insert(name.to_owned());
        e.cause_seq = Some(entry.seq);
        e.dirty = true;
        self.pending.push(pid);
        self.feed(entry, pid, name, value, out);
        Ok(())
    }

    fn merge(
        &mut self,
        ws: WorkspaceId,
        winner: ProfileId,
        loser: ProfileId,
        entry: &LogEvent,
        out: &mut ProcessedBatch,
    ) {
        let Some(l) = self.profiles.remove(&loser) else {
            return;
        };
        let mut l = l;
        let w = self.profiles.get_mut(&winner).expect("winner is loaded");
        seg::absorb_aggregates(
            self.registry.workspace(ws),
            &mut w.state,
            &mut l.state,
            relais_core::time::now_ms(),
        );
        // The loser's memberships end with it; the winner is re-evaluated whole.
        l.state.membership = Default::default();
        w.state.absorb(l.state);
        w.touch.all = true;
        self.pending.push(winner);
        w.created_at = w.created_at.min(l.created_at);
        w.dirty = true;
        self.redirects.insert(loser, winner);
        tracing::debug!(workspace = %ws, %winner, %loser, seq = entry.seq, "profiles merged");
        out.merges.push(MergeRecord {
            workspace_id: ws,
            kind: MergeKind::Merge,
            winner,
            loser,
            seq: entry.seq,
            at: entry.event.timestamp,
            reason: format!("event {} carries identifiers of both", entry.event.message_id),
        });
    }

    /// Moves every changed profile into the batch to commit.
    pub fn drain_dirty(&mut self, out: &mut ProcessedBatch) {
        self.pending.sort_unstable();
        self.pending.dedup();
        for id in &self.pending {
            let Some(e) = self.profiles.get_mut(id).filter(|e| e.dirty) else {
                continue;
            };
            seg::drop_stale(self.registry.workspace(e.ws), &mut e.state);
            let keys = search_keys(&e.state);
            let changed = keys != e.search_keys;
            if changed {
                e.search_keys = keys.clone();
            }
            let interests = interest_keys(&e.state);
            let interests_changed = interests != e.interests;
            if interests_changed {
                e.interests = interests.clone();
            }
            out.profiles.push(ProfileWrite {
                workspace_id: e.ws,
                id: *id,
                state: serde_json::to_string(&e.state).expect("a profile state serialises"),
                created_at: e.created_at,
                updated_at: e.updated_at,
                search_keys: changed.then_some(keys),
                interests: interests_changed.then_some(interests),
            });
        }
    }
}

/// What an event may have changed, for choosing the segments to evaluate.
fn note_change(t: &mut Touch, kind: MessageType, value: &Value) {
    t.activity = true;
    if identity::event_traits(value).is_some_and(|m| !m.is_empty()) || kind == MessageType::Identify {
        t.traits = true;
    }
    if kind == MessageType::Track {
        if let Some(name) = value.get("event").and_then(Value::as_str) {
            if name == SUBSCRIBED_EVENT || name == UNSUBSCRIBED_EVENT {
                t.consent = true;
            }
            if COMMERCE_EVENTS.contains(&name) {
                t.commerce = true;
            }
            if !t.events.contains(name) {
                t.events.insert(name.to_owned());
            }
        }
    }
}
