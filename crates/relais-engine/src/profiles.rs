//! The 360° profile: what a store associate, an agent or a developer reads.

use crate::segments::evaluate::PastEvent;
use crate::Engine;
use relais_core::identity::{Identity, EMAIL, PHONE, USER_ID};
use relais_core::profile::visits::{home_store, HomeSource};
use relais_core::profile::{ConsentStatus, ProfileState, Usage};
use relais_core::time::{format_ms, now_ms};
use relais_core::{Error, ErrorCode, ProfileId, SourceId, WorkspaceId};
use relais_store::{AuditRecord, MergeRecord, StoredProfile, TimelineQuery};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Serialize)]
pub struct IdentityView {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct ConsentView {
    pub status: ConsentStatus,
    pub source: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize)]
pub struct UsageView {
    pub first_seen: String,
    pub last_seen: String,
    pub events: u64,
}

impl From<&Usage> for UsageView {
    fn from(u: &Usage) -> Self {
        UsageView {
            first_seen: format_ms(u.first),
            last_seen: format_ms(u.last),
            events: u.events,
        }
    }
}

/// The last position the customer's app or site reported.
#[derive(Debug, Serialize)]
pub struct LocationView {
    pub latitude: f64,
    pub longitude: f64,
    /// As reported with the position (`context.location.city`).
    pub city: Option<String>,
    /// As reported with the position (`context.location.country`).
    pub country: Option<String>,
    /// The time of the event that reported it.
    pub at: String,
}

/// The customer's home shop and where Relais has it from.
#[derive(Debug, Serialize)]
pub struct HomeStoreView {
    pub store_id: String,
    /// `trait` (`home_store_id`) or `most_visited` (visit days at shops).
    pub source: HomeSource,
}

#[derive(Debug, Serialize)]
pub struct ProfileView {
    pub id: String,
    pub user_id: Option<String>,
    pub identities: Vec<IdentityView>,
    pub traits: Map<String, Value>,
    pub consent: BTreeMap<String, ConsentView>,
    pub timezone: Option<String>,
    pub locale: Option<String>,
    /// Last known position (`context.location`), by event time.
    pub last_location: Option<LocationView>,
    /// Last known country (`context.location.country`, with or without a
    /// position), by event time.
    pub country: Option<String>,
    /// The home shop: the `home_store_id` trait's, else the most visited.
    pub home_store: Option<HomeStoreView>,
    /// Visit days per shop (events of the `store` touchpoint with a `store_id`).
    pub shop_visits: BTreeMap<String, usize>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub event_count: u64,
    /// Touchpoint channels used (web, app, store, call_centre, …).
    pub channels: BTreeMap<String, UsageView>,
    /// Sources the events came from, by source name.
    pub sources: BTreeMap<String, UsageView>,
    /// Built-in and user-defined computed traits, as of now; the RFM
    /// scores once the workspace has cut points.
    pub computed: Map<String, Value>,
    /// Cart, wishlist, recent orders, recently viewed, coupons (times in ms).
    pub commerce: Value,
    /// Segments the profile is in now.
    pub segments: Vec<crate::segments::MembershipView>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize)]
pub struct TimelineItem {
    /// Log sequence number: the order Relais processed events in.
    pub seq: i64,
    pub message_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub channel: String,
    pub source: String,
    pub timestamp: String,
    pub received_at: String,
    /// The event as sent; `null` once erased.
    pub event: Value,
}

#[derive(Debug, Serialize)]
pub struct TimelinePage {
    pub events: Vec<TimelineItem>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct ProfileSummary {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub identities: Vec<IdentityView>,
    pub last_seen: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MergeView {
    pub kind: &'static str,
    pub winner: String,
    pub loser: String,
    pub at: String,
    pub reason: String,
}

impl From<&MergeRecord> for MergeView {
    fn from(m: &MergeRecord) -> Self {
        MergeView {
            kind: m.kind.as_str(),
            winner: m.winner.to_string(),
            loser: m.loser.to_string(),
            at: format_ms(m.at),
            reason: m.reason.clone(),
        }
    }
}

/// Everything Relais holds on a person (right of access).
#[derive(Debug, Serialize)]
pub struct Export {
    pub exported_at: String,
    pub profile: ProfileView,
    pub merges: Vec<MergeView>,
    pub events: Vec<TimelineItem>,
}

#[derive(Debug, Serialize)]
pub struct ErasureReport {
    pub id: String,
    pub events_erased: usize,
    pub identities_removed: usize,
}

/// Parses a profile reference: `prof_123` or `type:value`.
pub async fn resolve_ref(engine: &Engine, ws: WorkspaceId, reference: &str) -> Result<ProfileId, Error> {
    if let Some(id) = ProfileId::parse(reference) {
        return Ok(id);
    }
    let identity = Identity::parse_ref(reference).ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidField,
            format!(
                "{reference:?} is not a profile reference: use prof_<n> or type:value \
                 (user_id:…, email:…, phone:…, anonymous_id:…, loyalty_id:…)"
            ),
        )
    })?;
    engine
        .store
        .find_profile(ws, &identity)
        .await?
        .ok_or_else(|| Error::not_found(format!("no profile with {identity}")))
}

pub(crate) async fn load(
    engine: &Engine,
    ws: WorkspaceId,
    id: ProfileId,
) -> Result<(StoredProfile, ProfileState), Error> {
    let stored = engine
        .store
        .get_profile(ws, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no profile {id}")))?;
    let state = serde_json::from_str(&stored.state)
        .map_err(|e| Error::internal(format!("profile {} has an unreadable state: {e}", stored.id)))?;
    Ok((stored, state))
}

pub fn identity_views(ids: Vec<Identity>) -> Vec<IdentityView> {
    ids.into_iter()
        .map(|i| IdentityView {
            kind: i.kind,
            value: i.value,
        })
        .collect()
}

pub async fn get(engine: &Engine, ws: WorkspaceId, id: ProfileId) -> Result<ProfileView, Error> {
    let (stored, state) = load(engine, ws, id).await?;
    let identities = engine.store.profile_identities(ws, stored.id).await?;
    let now = now_ms();
    let mut computed = relais_core::computed::all_builtin(&state, now);
    let rfm = crate::rfm::workspace_cuts(&engine.store, ws).await?;
    computed.extend(relais_core::computed::all_rfm(&state, rfm.as_ref()));
    computed.extend(user_computed(engine, ws, stored.id, &state, now).await?);
    let names = crate::segments::names(engine, ws).await?;
    let segments = state
        .membership
        .segments
        .iter()
        .filter_map(|(id, at)| {
            names.get(id).map(|n| crate::segments::MembershipView {
                segment_id: id.to_string(),
                name: Some(n.clone()),
                entered_at: format_ms(*at),
            })
        })
        .collect();
    let c = &state.commerce;
    let commerce = serde_json::json!({
        "cart": c.cart,
        "wishlist": c.wishlist,
        "orders": c.orders,
        "recently_viewed": c.recently_viewed,
        "coupons": c.coupons,
    });
    let mut v = view(&stored, state, identity_views(identities));
    v.computed = computed;
    v.commerce = commerce;
    v.segments = segments;
    Ok(v)
}

/// User-defined computed traits: from the profile's live aggregate, or
/// from its history when the processor has not built that aggregate yet.
async fn user_computed(
    engine: &Engine,
    ws: WorkspaceId,
    id: ProfileId,
    state: &ProfileState,
    now: i64,
) -> Result<Map<String, Value>, Error> {
    let mut out = Map::new();
    for rec in engine.store.list_computed_traits(Some(ws)).await? {
        let def = serde_json::from_str::<Value>(&rec.definition)
            .ok()
            .and_then(|v| relais_core::condition::parse_computed(&v).ok());
        let Some(def) = def else { continue };
        let value = match state.membership.aggregates.get(def.spec().key()) {
            Some(agg) => def.value(Some(agg), now),
            None => {
                let names = [def.spec().event().to_owned()];
                let rows = engine.store.profile_history(ws, &[id], Some(&names)).await?;
                let past = crate::segments::evaluate::group_history(rows)
                    .remove(&id)
                    .unwrap_or_default();
                let events: Vec<_> = past.iter().map(PastEvent::as_hist).collect();
                def.reference_value(&events, now)
            }
        };
        out.insert(rec.name, value.unwrap_or(Value::Null));
    }
    Ok(out)
}

fn view(stored: &StoredProfile, state: ProfileState, identities: Vec<IdentityView>) -> ProfileView {
    ProfileView {
        computed: Map::new(),
        commerce: Value::Null,
        segments: Vec::new(),
        id: stored.id.to_string(),
        identities,
        traits: state.visible_traits(),
        consent: state
            .consent
            .iter()
            .map(|(k, c)| {
                (
                    k.clone(),
                    ConsentView {
                        status: c.status,
                        source: c.source.clone(),
                        updated_at: format_ms(c.at),
                    },
                )
            })
            .collect(),
        timezone: state.timezone.map(|t| t.value),
        locale: state.locale.map(|t| t.value),
        last_location: state.location.map(|l| LocationView {
            latitude: l.value.latitude,
            longitude: l.value.longitude,
            city: l.value.city,
            country: l.value.country,
            at: format_ms(l.at),
        }),
        country: state.country.map(|c| c.value),
        home_store: home_store(&state.traits, &state.shop_visits)
            .map(|(store_id, source)| HomeStoreView { store_id, source }),
        shop_visits: state
            .shop_visits
            .counts()
            .map(|(s, n)| (s.to_owned(), n))
            .collect(),
        first_seen: state.first_seen.map(format_ms),
        last_seen: state.last_seen.map(format_ms),
        event_count: state.event_count,
        channels: state
            .channels
            .iter()
            .map(|(k, u)| (k.clone(), u.into()))
            .collect(),
        sources: state.sources.iter().map(|(k, u)| (k.clone(), u.into())).collect(),
        user_id: state.user_id,
        created_at: format_ms(stored.created_at),
        updated_at: format_ms(stored.updated_at),
    }
}

pub const MAX_PAGE: usize = 500;

pub async fn timeline(
    engine: &Engine,
    ws: WorkspaceId,
    id: ProfileId,
    mut q: TimelineQuery,
) -> Result<TimelinePage, Error> {
    let (stored, _) = load(engine, ws, id).await?;
    q.limit = q.limit.clamp(1, MAX_PAGE);
    let limit = q.limit;
    let rows = engine.store.timeline(ws, stored.id, &q).await?;
    let names: HashMap<SourceId, String> = engine
        .store
        .list_sources(ws)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let next_before = (rows.len() == limit)
        .then(|| rows.last().map(|r| r.seq))
        .flatten();
    let events = rows
        .into_iter()
        .map(|r| TimelineItem {
            seq: r.seq,
            message_id: r.message_id,
            kind: r.kind,
            name: r.name,
            channel: r.channel,
            source: names
                .get(&r.source_id)
                .cloned()
                .unwrap_or_else(|| r.source_id.to_string()),
            timestamp: format_ms(r.timestamp),
            received_at: format_ms(r.received_at),
            event: r
                .payload
                .and_then(|p| serde_json::from_str(&p).ok())
                .unwrap_or(Value::Null),
        })
        .collect();
    Ok(TimelinePage { events, next_before })
}

/// Lookup for a store associate or an agent: an e-mail, a phone number, a
/// loyalty id (or any identifier), `type:value`, or the start of a name.
pub async fn search(
    engine: &Engine,
    ws: WorkspaceId,
    q: &str,
    limit: usize,
) -> Result<Vec<ProfileSummary>, Error> {
    let q = q.trim();
    if q.is_empty() {
        return Err(Error::new(ErrorCode::MissingField, "the query `q` is empty"));
    }
    let limit = limit.clamp(1, 100);
    let mut ids: Vec<Identity> = Vec::new();
    if let Some(i) = Identity::parse_ref(q) {
        ids.push(i);
    }
    let kinds = [EMAIL, PHONE, USER_ID]
        .into_iter()
        .chain(engine.config.identity_traits.iter().map(String::as_str));
    for kind in kinds {
        ids.extend(Identity::new(kind, q).filter(|i| !ids.contains(i)));
    }
    let prefix = q.to_lowercase();
    let found = engine
        .store
        .search_profiles(ws, &ids, Some(&prefix), limit)
        .await?;
    let mut out = Vec::with_capacity(found.len());
    for id in found {
        let Ok((stored, state)) = load(engine, ws, id).await else {
            continue;
        };
        let t = |k: &str| state.traits.get(k).and_then(Value::as_str).map(str::to_owned);
        let name = t("name").or_else(|| match (t("first_name"), t("last_name")) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (f, l) => f.or(l),
        });
        let identities = engine.store.profile_identities(ws, stored.id).await?;
        let pick = |kind: &str| {
            identities
                .iter()
                .find(|i| i.kind == kind)
                .map(|i| i.value.clone())
        };
        out.push(ProfileSummary {
            id: stored.id.to_string(),
            name,
            email: pick(EMAIL),
            phone: pick(PHONE),
            last_seen: state.last_seen.map(format_ms),
            identities: identity_views(identities),
        });
    }
    Ok(out)
}

pub async fn export(engine: &Engine, ws: WorkspaceId, id: ProfileId) -> Result<Export, Error> {
    let profile = get(engine, ws, id).await?;
    let id = ProfileId::parse(&profile.id).unwrap_or(id);
    let mut events = Vec::new();
    let mut before = None;
    loop {
        let page = timeline(
            engine,
            ws,
            id,
            TimelineQuery {
                before,
                limit: MAX_PAGE,
                ..Default::default()
            },
        )
        .await?;
        events.extend(page.events);
        match page.next_before {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    let merges = engine
        .store
        .merges(ws, id)
        .await?
        .iter()
        .map(MergeView::from)
        .collect();
    Ok(Export {
        exported_at: format_ms(now_ms()),
        profile,
        merges,
        events,
    })
}

/// Right to erasure. Waits for events already ingested to be processed
/// first, so none of them recreates the profile afterwards.
pub async fn erase(engine: &Engine, ws: WorkspaceId, id: ProfileId) -> Result<ErasureReport, Error> {
    let head = engine.store.log_head().await?;
    engine
        .pipeline
        .wait_processed(head, std::time::Duration::from_secs(30))
        .await;
    let (stored, _) = load(engine, ws, id).await?;
    let audit = AuditRecord {
        workspace_id: ws,
        at: now_ms(),
        action: "profile.erased".into(),
        subject: stored.id.to_string(),
        detail: String::new(),
    };
    let erased = engine
        .pipeline
        .erase(ws, stored.id, audit)
        .await?
        .ok_or_else(|| Error::not_found(format!("no profile {}", stored.id)))?;
    tracing::info!(workspace = %ws, profile = %stored.id, events = erased.events_erased, "profile erased");
    Ok(ErasureReport {
        id: stored.id.to_string(),
        events_erased: erased.events_erased,
        identities_removed: erased.identities_removed,
    })
}
