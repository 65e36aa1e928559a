//! The catalogue of event names (`relais_store::EventNameStore`): every
//! tracked event name each workspace has seen, for `GET /api/v1/events/names`
//! and the journeys' "unknown event name" warnings.
//!
//! The processor keeps the names it has recorded in memory ([`Catalog`],
//! loaded from the store at start) and writes only when a batch brings a
//! new one — before that batch commits, so no processed name is missing —
//! plus, once a minute, how often and when the known ones were seen
//! (approximate counts: a batch retried after a failure counts twice, and
//! what was not written when the process died is lost).

use crate::Engine;
use relais_channels::Channel;
use relais_core::journey::{Journey, Warning};
use relais_core::time::format_ms;
use relais_core::{Error, WorkspaceId};
use relais_store::{DynStore, EventNameRecord, NewEvent, StoreError, MAX_EVENT_NAME_LEN};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Names catalogued per workspace at most: past this (a name that carries
/// an id, say), new names are not recorded and journeys get no "unknown
/// event name" warnings in that workspace (they could not be trusted).
pub const MAX_NAMES_PER_WORKSPACE: usize = 10_000;
/// How often counts and last-seen times of known names are written.
const COUNTS_EVERY: Duration = Duration::from_secs(60);

/// What the processor knows it has recorded, and what it has not written yet.
pub(crate) struct Catalog {
    known: HashMap<WorkspaceId, HashMap<String, Unwritten>>,
    /// A name not in the store yet: write before the batch commits.
    new: bool,
    last_write: Instant,
    full: HashSet<WorkspaceId>,
}

/// Sightings since the last write (`count` 0: nothing to write).
#[derive(Clone, Copy)]
struct Unwritten {
    count: i64,
    first: i64,
    last: i64,
}

impl Catalog {
    pub(crate) async fn load(store: &DynStore) -> Result<Catalog, StoreError> {
        let mut known: HashMap<WorkspaceId, HashMap<String, Unwritten>> = HashMap::new();
        for r in store.event_names(None).await? {
            let none = Unwritten {
                count: 0,
                first: r.first_seen,
                last: r.last_seen,
            };
            known.entry(r.workspace_id).or_default().insert(r.name, none);
        }
        Ok(Catalog {
            known,
            new: false,
            last_write: Instant::now(),
            full: HashSet::new(),
        })
    }

    /// Notes one event of the log (tracked events only; `value` is its payload).
    pub(crate) fn note(&mut self, ev: &NewEvent, value: &Value) {
        if ev.kind != "track" {
            return;
        }
        let Some(name) = value.get("event").and_then(Value::as_str) else {
            return;
        };
        if name.is_empty() || name.len() > MAX_EVENT_NAME_LEN || name.contains('\0') {
            return;
        }
        let at = ev.timestamp;
        let names = self.known.entry(ev.workspace_id).or_default();
        if let Some(u) = names.get_mut(name) {
            if u.count == 0 {
                (u.first, u.last) = (at, at);
            }
            u.count += 1;
            u.first = u.first.min(at);
            u.last = u.last.max(at);
            return;
        }
        if names.len() >= MAX_NAMES_PER_WORKSPACE {
            if self.full.insert(ev.workspace_id) {
                tracing::warn!(workspace = %ev.workspace_id, limit = MAX_NAMES_PER_WORKSPACE,
                    "event name catalogue full: new event names of this workspace are not recorded");
            }
            return;
        }
        let first = Unwritten {
            count: 1,
            first: at,
            last: at,
        };
        names.insert(name.to_owned(), first);
        self.new = true;
    }

    /// Writes new names now, and the counts when they are due (or `force`).
    /// On error nothing is forgotten: the next call writes it.
    pub(crate) async fn write(&mut self, store: &DynStore, force: bool) -> Result<(), StoreError> {
        if !self.new && !force && self.last_write.elapsed() < COUNTS_EVERY {
            return Ok(());
        }
        let rows: Vec<EventNameRecord> = self
            .known
            .iter()
            .flat_map(|(ws, names)| {
                names
                    .iter()
                    .filter(|(_, u)| u.count > 0)
                    .map(|(n, u)| EventNameRecord {
                        workspace_id: *ws,
                        name: n.clone(),
                        first_seen: u.first,
                        last_seen: u.last,
                        count: u.count,
                    })
            })
            .collect();
        store.record_event_names(&rows).await?;
        for u in self.known.values_mut().flat_map(|n| n.values_mut()) {
            u.count = 0;
        }
        self.new = false;
        self.last_write = Instant::now();
        Ok(())
    }
}

/// The event that stores a webhook's answer on the profile (its
/// `properties.traits`, folded by the processor).
pub const WEBHOOK_RESPONSE_EVENT: &str = "Webhook Response Stored";

/// Events Relais writes itself: journeys may name them before any was seen.
pub fn builtin() -> &'static BTreeSet<String> {
    static NAMES: OnceLock<BTreeSet<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        use crate::messaging::feedback::{event_name, What};
        let whats = [
            What::Sent,
            What::Delivered,
            What::Opened,
            What::Clicked,
            What::Bounced,
            What::Failed,
            What::Complained,
            What::Dismissed,
            What::Skipped,
        ];
        // Does not compile when `What` grows: add the new one above too.
        match whats[0] {
            What::Sent
            | What::Delivered
            | What::Opened
            | What::Clicked
            | What::Bounced
            | What::Failed
            | What::Complained
            | What::Dismissed
            | What::Skipped => {}
        }
        let mut out: BTreeSet<String> = Channel::ALL
            .iter()
            .flat_map(|c| whats.iter().map(|w| event_name(*c, *w)))
            .collect();
        out.extend(
            [
                crate::segments::registry::SEGMENT_ENTERED,
                crate::segments::registry::SEGMENT_EXITED,
                relais_core::profile::SUBSCRIBED_EVENT,
                relais_core::profile::UNSUBSCRIBED_EVENT,
                crate::journeys::PROFILE_UPDATED_EVENT,
                WEBHOOK_RESPONSE_EVENT,
                relais_catalog::events::PRICE_DROPPED,
                relais_catalog::events::BACK_IN_STOCK,
                relais_catalog::events::LOW_STOCK,
                // Provider callbacks (messaging/callbacks.rs) and the tasks API.
                "SMS Replied",
                "WhatsApp Message Replied",
                "Task Completed",
            ]
            .map(str::to_owned),
        );
        out
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventNameView {
    pub name: String,
    /// When the earliest and the latest event of that name happened (RFC 3339).
    pub first_seen: String,
    pub last_seen: String,
    /// About how many were seen (written once a minute; approximate).
    pub count: i64,
    /// One of Relais' own events.
    pub builtin: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventNamesView {
    /// Every tracked event name the workspace has seen, by name (byte order).
    pub names: Vec<EventNameView>,
    /// Relais' own events, known to journeys whether seen yet or not.
    pub builtin: Vec<String>,
    /// False when the workspace reached the catalogue's limit
    /// (`MAX_NAMES_PER_WORKSPACE`): later new names are not listed.
    pub complete: bool,
}

/// `GET /api/v1/events/names`.
pub async fn list(engine: &Engine, ws: WorkspaceId) -> Result<EventNamesView, Error> {
    let rows = engine.store.event_names(Some(ws)).await?;
    let builtin = builtin();
    Ok(EventNamesView {
        complete: rows.len() < MAX_NAMES_PER_WORKSPACE,
        names: rows
            .into_iter()
            .map(|r| EventNameView {
                builtin: builtin.contains(&r.name),
                first_seen: format_ms(r.first_seen),
                last_seen: format_ms(r.last_seen),
                count: r.count,
                name: r.name,
            })
            .collect(),
        builtin: builtin.iter().cloned().collect(),
    })
}

/// A warning for each event name the journey uses that the workspace has
/// never seen and Relais does not emit itself (none when the catalogue is
/// full: it would not know).
pub async fn unknown_in_journey(
    engine: &Engine,
    ws: WorkspaceId,
    j: &Journey,
) -> Result<Vec<Warning>, Error> {
    if j.event_uses().is_empty() {
        return Ok(Vec::new());
    }
    let seen: HashSet<String> = engine
        .store
        .event_names(Some(ws))
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    if seen.len() >= MAX_NAMES_PER_WORKSPACE {
        return Ok(Vec::new());
    }
    let builtin = builtin();
    Ok(relais_core::journey::unknown_event_warnings(j, |n| {
        seen.contains(n) || builtin.contains(n)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::SourceId;
    use relais_store::sqlite::SqliteStore;
    use serde_json::json;
    use std::sync::Arc;

    fn ev(ws: i64, kind: &str, at: i64) -> NewEvent {
        NewEvent {
            workspace_id: WorkspaceId(ws),
            source_id: SourceId(1),
            channel: "web".into(),
            message_id: format!("m{at}"),
            kind: kind.into(),
            received_at: at,
            timestamp: at,
            payload: String::new(),
        }
    }

    #[test]
    fn builtin_names_are_those_relais_emits() {
        let b = builtin();
        for n in [
            "Segment Entered",
            "Email Opened",
            "Email Link Clicked",
            "Push Notification Tapped",
            "Webhook Sent",
            "Task Created",
            "Task Completed",
            "Price Dropped",
            "Back In Stock",
            "Low Stock",
            "Unsubscribed",
            "Profile Updated by Journey",
            "Webhook Response Stored",
        ] {
            assert!(b.contains(n), "{n}");
        }
        assert!(!b.contains("Order Completed"));
    }

    #[tokio::test]
    async fn writes_new_names_at_once_and_counts_when_due() {
        let dir = tempfile::tempdir().unwrap();
        let store: DynStore = Arc::new(SqliteStore::open(&dir.path().join("relais.db")).unwrap());
        let ws = store.create_workspace("w", 0).await.unwrap().id;
        let mut c = Catalog::load(&store).await.unwrap();
        let order = json!({"event": "Order Completed"});
        c.note(&ev(ws.0, "track", 100), &order);
        c.note(&ev(ws.0, "track", 50), &order);
        c.note(
            &ev(ws.0, "page", 70),
            &json!({"event": "Not Tracked", "name": "Home"}),
        );
        c.note(
            &ev(ws.0, "track", 70),
            &json!({"event": "x".repeat(MAX_EVENT_NAME_LEN + 1)}),
        );
        c.note(&ev(ws.0, "track", 70), &json!({"event": ""}));
        c.write(&store, false).await.unwrap();
        let rows = store.event_names(Some(ws)).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].name.as_str(),
                rows[0].first_seen,
                rows[0].last_seen,
                rows[0].count
            ),
            ("Order Completed", 50, 100, 2)
        );
        // A known name: nothing written until the counts are due.
        c.note(&ev(ws.0, "track", 300), &order);
        c.write(&store, false).await.unwrap();
        assert_eq!(store.event_names(Some(ws)).await.unwrap()[0].count, 2);
        c.write(&store, true).await.unwrap();
        let r = &store.event_names(Some(ws)).await.unwrap()[0];
        assert_eq!((r.first_seen, r.last_seen, r.count), (50, 300, 3));
        // After a restart the name is known: no write for it.
        let mut again = Catalog::load(&store).await.unwrap();
        again.note(&ev(ws.0, "track", 400), &order);
        assert!(!again.new);
        again.note(&ev(ws.0, "track", 400), &json!({"event": "Cart Viewed"}));
        assert!(again.new);
    }
}
