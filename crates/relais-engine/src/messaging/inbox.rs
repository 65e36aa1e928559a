//! The in-app and web inbox: one profile's in-app messages as its app or
//! site shows them, read/click/dismiss reported back as events, and live
//! delivery of new ones (docs/channels/inbox.md).
//!
//! The write key is public (it ships in every browser), so it cannot be what
//! opens an inbox. The brand's server proves who the user is instead:
//! `user_hash = hex(HMAC-SHA256(key = the workspace's identity secret,
//! message = user_id))`, computed where the secret lives and handed to the app
//! with the user id. Without the secret nobody can forge another user's hash.

use super::engagement;
use super::feedback::What;
use crate::Engine;
use hmac::{Hmac, Mac};
use relais_channels::{Channel, Content, InAppContent};
use relais_core::identity::{Identity, USER_ID};
use relais_core::time::{format_ms, now_ms};
use relais_core::{Error, ErrorCode, ProfileId, WorkspaceId};
use relais_store::{Engagement, MessageFilter, MessageRecord, MessageStatus};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

/// The workspace setting that holds the identity-verification secret.
pub const IDENTITY_SECRET_SETTING: &str = "identity_secret";
/// Rows examined per listing at most: an inbox where thousands of messages
/// were dismissed still answers quickly (with a cursor to go on).
const SCAN_MAX: usize = 2_000;
/// Rows read per store query while looking for shown messages (small in
/// tests, so they cross store pages).
const SCAN_PAGE: usize = if cfg!(test) { 3 } else { 200 };
/// The unread count looks at this many newest in-app messages.
pub const UNREAD_SCAN: usize = 500;
/// Messages replayed to a stream that resumes (`Last-Event-ID`).
const REPLAY_MAX: usize = 100;
/// How far before the resume point the replay starts (short in tests, so
/// they can tell it works without waiting seconds).
const REPLAY_SLACK_MS: i64 = if cfg!(test) { 50 } else { 5_000 };
/// Clicked URLs longer than this are refused (they go into an event).
const MAX_URL: usize = 2_048;

/// The workspace's identity-verification secret, generated on first use
/// (32 random bytes from the thread CSPRNG, hex) and kept in the store.
pub async fn identity_secret(engine: &Engine, ws: WorkspaceId) -> Result<String, Error> {
    // Read first: the common case must not take the store's write path.
    if let Some(s) = engine
        .store
        .get_setting(Some(ws), IDENTITY_SECRET_SETTING)
        .await?
    {
        return Ok(s);
    }
    let fresh = hex::encode(rand::random::<[u8; 32]>());
    Ok(engine
        .store
        .init_setting(Some(ws), IDENTITY_SECRET_SETTING, &fresh)
        .await?)
}

fn mac(secret: &str, user_id: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(user_id.as_bytes());
    m
}

/// `hex(HMAC-SHA256(secret, user_id))`, the secret's text as the key.
pub fn user_hash(secret: &str, user_id: &str) -> String {
    hex::encode(mac(secret, user_id).finalize().into_bytes())
}

/// Whether `hash` is the user hash of `user_id`, compared in constant time.
pub fn verify_user_hash(secret: &str, user_id: &str, hash: &str) -> bool {
    match hex::decode(hash.trim()) {
        Ok(bytes) => mac(secret, user_id).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// Someone whose identity was verified: the inbox they may see.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub ws: WorkspaceId,
    pub identity: Identity,
    /// `None` while no profile holds the user id yet (an empty inbox).
    pub profile: Option<ProfileId>,
}

/// Checks the user hash and finds the user's profile.
pub async fn verify(
    engine: &Engine,
    ws: WorkspaceId,
    user_id: Option<&str>,
    hash: Option<&str>,
) -> Result<Viewer, Error> {
    let user_id = user_id.filter(|u| !u.is_empty()).ok_or_else(|| {
        Error::new(
            ErrorCode::MissingField,
            "user_id: send the user id as `user_id` or the X-Relais-User-Id header",
        )
    })?;
    let hash = hash.filter(|h| !h.is_empty()).ok_or_else(|| {
        Error::new(
            ErrorCode::Forbidden,
            "user_hash: missing; the brand's server computes hex(HMAC-SHA256(identity secret, user_id)) \
             and sends it as `user_hash` or the X-Relais-User-Hash header",
        )
    })?;
    let secret = identity_secret(engine, ws).await?;
    if !verify_user_hash(&secret, user_id, hash) {
        return Err(Error::new(
            ErrorCode::Forbidden,
            "user_hash: does not match user_id (identity verification failed)",
        ));
    }
    let identity = Identity::new(USER_ID, user_id)
        .ok_or_else(|| Error::invalid(format!("user_id: {user_id:?} is not a valid user id")))?;
    let profile = engine.store.find_profile(ws, &identity).await?;
    Ok(Viewer {
        ws,
        identity,
        profile,
    })
}

/// One message as the inbox shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InboxMessage {
    pub id: String,
    pub title: String,
    pub body: String,
    pub image: Option<String>,
    pub url: Option<String>,
    pub data: BTreeMap<String, String>,
    pub campaign: Option<String>,
    pub created_at: String,
    pub read: bool,
    pub clicked: bool,
    pub dismissed: bool,
    pub read_at: Option<String>,
    pub clicked_at: Option<String>,
    pub dismissed_at: Option<String>,
}

impl InboxMessage {
    /// `None` for a message that is not readable in-app content.
    pub fn from_record(m: &MessageRecord) -> Option<InboxMessage> {
        let Ok(Content::InApp(c)) = serde_json::from_str::<Content>(&m.content) else {
            tracing::warn!(message = %m.id, "inbox: stored content is not in-app content; not shown");
            return None;
        };
        let InAppContent {
            title,
            body,
            image,
            url,
            data,
        } = c;
        Some(InboxMessage {
            id: m.id.clone(),
            title,
            body,
            image,
            url,
            data,
            campaign: m.campaign.clone(),
            created_at: format_ms(m.created_at),
            read: m.opened_at.is_some(),
            clicked: m.clicked_at.is_some(),
            dismissed: m.dismissed_at.is_some(),
            read_at: m.opened_at.map(format_ms),
            clicked_at: m.clicked_at.map(format_ms),
            dismissed_at: m.dismissed_at.map(format_ms),
        })
    }
}

/// In the inbox: delivered by Relais (queued, skipped or failed ones never reached it).
fn delivered(m: &MessageRecord) -> bool {
    m.channel == Channel::InApp.as_str() && matches!(m.status, MessageStatus::Sent | MessageStatus::Delivered)
}

#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    pub include_dismissed: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InboxPage {
    /// Newest first.
    pub messages: Vec<InboxMessage>,
    /// Neither read nor dismissed, among the newest in-app messages.
    pub unread: usize,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next: Option<String>,
}

fn cursor_of(m: &MessageRecord) -> String {
    format!("{}_{}", m.created_at, m.id)
}

fn parse_cursor(c: &str) -> Result<(i64, String), Error> {
    let bad = || Error::invalid("cursor: not a cursor from a previous page");
    let (at, id) = c.split_once('_').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.to_owned()))
}

fn filter(pid: ProfileId, before: Option<(i64, String)>, limit: usize) -> MessageFilter {
    MessageFilter {
        profile_id: Some(pid),
        status: None,
        channel: Some(Channel::InApp.as_str().to_owned()),
        before,
        limit,
    }
}

/// The viewer's inbox, newest first.
pub async fn list(engine: &Engine, v: &Viewer, q: &InboxQuery) -> Result<InboxPage, Error> {
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    let mut before = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let Some(pid) = v.profile else {
        return Ok(InboxPage {
            messages: Vec::new(),
            unread: 0,
            next: None,
        });
    };
    let mut shown = Vec::new();
    let mut scanned = 0;
    let next = 'scan: loop {
        let rows = engine
            .store
            .list_messages(v.ws, &filter(pid, before.clone(), SCAN_PAGE.max(limit)))
            .await?;
        let exhausted = rows.len() < SCAN_PAGE.max(limit);
        let last = rows.len().saturating_sub(1);
        for (i, m) in rows.iter().enumerate() {
            scanned += 1;
            before = Some((m.created_at, m.id.clone()));
            if !delivered(m) || (m.dismissed_at.is_some() && !q.include_dismissed) {
                continue;
            }
            shown.extend(InboxMessage::from_record(m));
            if shown.len() == limit {
                break 'scan (!(exhausted && i == last)).then(|| cursor_of(m));
            }
        }
        match rows.last() {
            Some(m) if !exhausted => {
                if scanned >= SCAN_MAX {
                    break Some(cursor_of(m));
                }
            }
            _ => break None,
        }
    };
    Ok(InboxPage {
        messages: shown,
        unread: unread(engine, v.ws, pid).await?,
        next,
    })
}

async fn unread(engine: &Engine, ws: WorkspaceId, pid: ProfileId) -> Result<usize, Error> {
    let rows = engine
        .store
        .list_messages(ws, &filter(pid, None, UNREAD_SCAN))
        .await?;
    Ok(rows
        .iter()
        .filter(|m| delivered(m) && m.opened_at.is_none() && m.dismissed_at.is_none())
        .count())
}

/// What the app reports about a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Read,
    Click { url: Option<String> },
    Dismiss,
}

/// The viewer's own delivered in-app message; anything else is "not found",
/// so ids of other people's messages reveal nothing.
async fn own(engine: &Engine, v: &Viewer, id: &str) -> Result<MessageRecord, Error> {
    let missing = || Error::not_found(format!("no message {id} in this inbox"));
    let pid = v.profile.ok_or_else(missing)?;
    let m = engine.store.get_message(v.ws, id).await?.ok_or_else(missing)?;
    if m.profile_id != pid || !delivered(&m) {
        return Err(missing());
    }
    Ok(m)
}

/// Records a read, click or dismissal with its `In-App Message …` event.
/// Repeating one changes nothing: the first time is kept and the event's id
/// is derived from the message, so it is logged once.
pub async fn act(engine: &Engine, v: &Viewer, id: &str, action: Action) -> Result<InboxMessage, Error> {
    let m = own(engine, v, id).await?;
    let updated = match action {
        Action::Read => {
            engagement::record(
                engine,
                &m,
                Engagement::Opened,
                What::Opened,
                json!({}),
                None,
                None,
            )
            .await?
        }
        Action::Dismiss => {
            let (kind, what) = (Engagement::Dismissed, What::Dismissed);
            engagement::record(engine, &m, kind, what, json!({}), None, None).await?
        }
        Action::Click { url } => {
            if url.as_ref().is_some_and(|u| u.len() > MAX_URL) {
                return Err(Error::invalid(format!("url: longer than {MAX_URL} bytes")));
            }
            // Each distinct URL is its own click event, as for e-mail links.
            let disc = url
                .as_ref()
                .map(|u| hex::encode(&Sha256::digest(u.as_bytes())[..6]));
            let extra = url.as_ref().map_or(json!({}), |u| json!({ "url": u }));
            let (kind, what) = (Engagement::Clicked, What::Clicked);
            engagement::record(engine, &m, kind, what, extra, disc.as_deref(), None).await?
        }
    };
    let updated = updated.ok_or_else(|| Error::not_found(format!("no message {id} in this inbox")))?;
    InboxMessage::from_record(&updated).ok_or_else(|| Error::internal(format!("message {id}: bad content")))
}

/// What a live stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    Message(Box<InboxMessage>),
    /// Messages may have been missed (the stream fell behind, or could not
    /// resume where asked): fetch the inbox again.
    Resync,
}

/// Newly delivered messages of one viewer, as they are delivered.
pub struct Live {
    engine: Arc<Engine>,
    viewer: Viewer,
    rx: broadcast::Receiver<MessageRecord>,
    pending: VecDeque<LiveEvent>,
    /// The resume point asked for, while its replay is being yielded.
    since: Option<i64>,
    /// Replayed ids, so a message both replayed and broadcast shows once.
    replayed: HashSet<String>,
}

/// Subscribes to the viewer's new messages. With `since` (a time in ms, from
/// a stream that reconnects) the messages delivered from a little before it
/// are yielded first; a message may so come twice (clients keep them by id),
/// none is lost to a reconnection.
pub async fn live(engine: Arc<Engine>, viewer: Viewer, since: Option<i64>) -> Result<Live, Error> {
    // Subscribe before reading the replay, so nothing falls between the two.
    let rx = engine.messaging.dispatcher.inbox.subscribe();
    let mut live = Live {
        engine,
        viewer,
        rx,
        pending: VecDeque::new(),
        since,
        replayed: HashSet::new(),
    };
    if let (Some(since), Some(pid)) = (since, live.viewer.profile) {
        live.replay(pid, since).await?;
    }
    Ok(live)
}

impl Live {
    async fn replay(&mut self, pid: ProfileId, since: i64) -> Result<(), Error> {
        let rows = self
            .engine
            .store
            .list_messages(self.viewer.ws, &filter(pid, None, REPLAY_MAX))
            .await?;
        // Delivery time, not creation: a deferred message is created early
        // and delivered late. The slack covers a delivery recorded before an
        // event the client saw but broadcast after it.
        let at = |m: &MessageRecord| m.sent_at.unwrap_or(m.created_at);
        let from = since.saturating_sub(REPLAY_SLACK_MS);
        if rows.len() == REPLAY_MAX && rows.last().is_some_and(|m| at(m) >= from) {
            // More than a replay holds may have been missed.
            self.pending.push_back(LiveEvent::Resync);
            return Ok(());
        }
        let mut newer: Vec<&MessageRecord> = rows
            .iter()
            .filter(|m| delivered(m) && m.dismissed_at.is_none() && at(m) >= from)
            .collect();
        newer.sort_by_key(|m| (at(m), m.id.clone()));
        for m in newer {
            if let Some(view) = InboxMessage::from_record(m) {
                self.replayed.insert(m.id.clone());
                self.pending.push_back(LiveEvent::Message(Box::new(view)));
            }
        }
        Ok(())
    }

    /// Where a stream that saw every event yielded so far should resume
    /// (a time in ms for `live`): the time asked for until its replay is
    /// out, then now.
    pub fn resume_point(&self) -> i64 {
        match self.since {
            Some(since) if !self.pending.is_empty() => since,
            _ => now_ms(),
        }
    }

    /// The next event; `None` once the engine stops delivering.
    pub async fn next(&mut self) -> Option<LiveEvent> {
        if let Some(e) = self.pending.pop_front() {
            return Some(e);
        }
        loop {
            let m = match self.rx.recv().await {
                Ok(m) => m,
                Err(broadcast::error::RecvError::Lagged(_)) => return Some(LiveEvent::Resync),
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            if m.workspace_id != self.viewer.ws || m.channel != Channel::InApp.as_str() {
                continue;
            }
            if self.viewer.profile.is_none() {
                // The user had no profile when the stream opened; it may have one now.
                let found = self
                    .engine
                    .store
                    .find_profile(m.workspace_id, &self.viewer.identity)
                    .await;
                self.viewer.profile = found.ok().flatten();
            }
            if Some(m.profile_id) != self.viewer.profile || self.replayed.remove(&m.id) {
                continue;
            }
            if let Some(view) = InboxMessage::from_record(&m) {
                return Some(LiveEvent::Message(Box::new(view)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_store::{DynStore, NewMessage, TimelineQuery};
    use std::time::Duration;

    #[test]
    fn user_hash_is_hex_hmac_sha256_checked_in_full() {
        // RFC 4231-style vector computed by any HMAC library (key "key").
        let h = user_hash("key", "The quick brown fox jumps over the lazy dog");
        assert_eq!(
            h,
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        let msg = "The quick brown fox jumps over the lazy dog";
        assert!(verify_user_hash("key", msg, &h));
        assert!(
            verify_user_hash("key", msg, &h.to_uppercase()),
            "hex case does not matter"
        );
        assert!(!verify_user_hash("key", "another user", &h));
        assert!(!verify_user_hash("other secret", msg, &h));
        assert!(
            !verify_user_hash("key", msg, &h[..32]),
            "a truncated hash is refused"
        );
        assert!(!verify_user_hash("key", msg, "not hex"));
        assert!(!verify_user_hash("key", msg, ""));
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(
            parse_cursor("1700_msg_ab_c").unwrap(),
            (1700, "msg_ab_c".to_owned())
        );
        assert_eq!(parse_cursor("x_msg").unwrap_err().code, ErrorCode::InvalidField);
        assert_eq!(parse_cursor("1700").unwrap_err().code, ErrorCode::InvalidField);
    }

    async fn engine() -> (tempfile::TempDir, Arc<Engine>, WorkspaceId) {
        let dir = tempfile::tempdir().unwrap();
        let store: DynStore =
            Arc::new(relais_store::sqlite::SqliteStore::open(&dir.path().join("r.db")).unwrap());
        let creds = crate::admin::create_workspace(&store, "w", None, None)
            .await
            .unwrap();
        let engine = Engine::start(store, crate::EngineConfig::default())
            .await
            .unwrap();
        (dir, engine, creds.workspace.id)
    }

    /// Stores an in-app message and waits until the dispatcher delivered it.
    async fn deliver(engine: &Engine, ws: WorkspaceId, pid: ProfileId, n: usize) -> String {
        let id = super::super::message_id(ws, &format!("t{n}"));
        let content = Content::InApp(InAppContent {
            title: format!("Title {n}"),
            body: "Body".into(),
            image: None,
            url: Some("https://shop.example.com/x".into()),
            data: BTreeMap::from([("k".to_owned(), n.to_string())]),
        });
        let new = NewMessage {
            id: id.clone(),
            workspace_id: ws,
            profile_id: pid,
            channel: "in_app".into(),
            provider: super::super::providers::INBOX.into(),
            category: "marketing".into(),
            idempotency_key: format!("t{n}"),
            campaign: Some("c".into()),
            status: MessageStatus::Queued,
            reason: None,
            address: json!({"kind": "profile", "profile_id": pid.to_string()}).to_string(),
            content: serde_json::to_string(&content).unwrap(),
            next_attempt_at: Some(relais_core::time::now_ms()),
            // Distinct creation times keep the expected order unambiguous.
            created_at: 1_700_000_000_000 + n as i64,
            emitted: Vec::new(),
            relaxed: false,
        };
        engine.store.enqueue_message(&new).await.unwrap();
        engine.messaging.dispatcher.wake.notify_one();
        for _ in 0..200 {
            let m = engine.store.get_message(ws, &id).await.unwrap().unwrap();
            if m.status == MessageStatus::Sent {
                return id;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("message {id} was not delivered");
    }

    fn viewer(ws: WorkspaceId, pid: Option<ProfileId>) -> Viewer {
        Viewer {
            ws,
            identity: Identity::new(USER_ID, "u").unwrap(),
            profile: pid,
        }
    }

    fn titles(p: &InboxPage) -> Vec<&str> {
        p.messages.iter().map(|m| m.title.as_str()).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pages_skip_dismissed_actions_are_owned_and_logged_once() {
        let (_dir, engine, ws) = engine().await;
        let (ann, bob) = (ProfileId(7), ProfileId(8));
        let mut ids = Vec::new();
        for n in 0..7 {
            ids.push(deliver(&engine, ws, ann, n).await);
        }
        let bobs = deliver(&engine, ws, bob, 99).await;
        let v = viewer(ws, Some(ann));
        // Dismiss two in the middle: pages step over them.
        for id in [&ids[4], &ids[3]] {
            let m = act(&engine, &v, id, Action::Dismiss).await.unwrap();
            assert!(m.dismissed && !m.read);
        }
        let q = |cursor: Option<String>| InboxQuery {
            limit: Some(2),
            cursor,
            include_dismissed: false,
        };
        let p1 = list(&engine, &v, &q(None)).await.unwrap();
        assert_eq!((titles(&p1), p1.unread), (vec!["Title 6", "Title 5"], 5));
        let p2 = list(&engine, &v, &q(p1.next)).await.unwrap();
        assert_eq!(titles(&p2), ["Title 2", "Title 1"]);
        let p3 = list(&engine, &v, &q(p2.next)).await.unwrap();
        assert_eq!((titles(&p3), p3.next.as_deref()), (vec!["Title 0"], None));
        let all = InboxQuery {
            limit: Some(100),
            cursor: None,
            include_dismissed: true,
        };
        assert_eq!(list(&engine, &v, &all).await.unwrap().messages.len(), 7);
        assert_eq!(p1.messages[0].data["k"], "6");

        // Read twice, click with a URL: state changes, one event per kind.
        act(&engine, &v, &ids[6], Action::Read).await.unwrap();
        let m = act(&engine, &v, &ids[6], Action::Read).await.unwrap();
        assert!(m.read && !m.clicked && m.read_at.is_some());
        let url = Some("https://shop.example.com/x".to_owned());
        let m = act(&engine, &v, &ids[5], Action::Click { url }).await.unwrap();
        assert!(m.clicked && m.read, "a click implies a read");
        assert_eq!(list(&engine, &v, &q(None)).await.unwrap().unread, 3);
        let tl = engine
            .store
            .timeline(
                ws,
                ann,
                &TimelineQuery {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let count = |n: &str| tl.iter().filter(|e| e.name == n).count();
        assert_eq!(
            (
                count("In-App Message Viewed"),
                count("In-App Message Clicked"),
                count("In-App Message Dismissed")
            ),
            (1, 1, 2)
        );

        // Someone else's message, an unknown one, a viewer without profile: 404.
        for (who, id) in [
            (Some(ann), bobs.as_str()),
            (Some(ann), "msg_nope"),
            (None, ids[0].as_str()),
        ] {
            let e = act(&engine, &viewer(ws, who), id, Action::Read)
                .await
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::NotFound, "{id}");
        }
        let e = act(
            &engine,
            &v,
            &ids[0],
            Action::Click {
                url: Some("x".repeat(MAX_URL + 1)),
            },
        )
        .await;
        assert_eq!(e.unwrap_err().code, ErrorCode::InvalidField);
        assert!(list(&engine, &viewer(ws, None), &q(None))
            .await
            .unwrap()
            .messages
            .is_empty());
        engine.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn live_streams_only_the_viewers_messages_and_resumes() {
        let (_dir, engine, ws) = engine().await;
        let (ann, bob) = (ProfileId(7), ProfileId(8));
        let first = deliver(&engine, ws, ann, 0).await;
        tokio::time::sleep(Duration::from_millis(4 * REPLAY_SLACK_MS as u64)).await;
        let mut stream = live(engine.clone(), viewer(ws, Some(ann)), None).await.unwrap();
        deliver(&engine, ws, bob, 1).await;
        let mine = deliver(&engine, ws, ann, 2).await;
        let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap();
        match next {
            Some(LiveEvent::Message(m)) => assert_eq!((m.id, m.title.as_str()), (mine.clone(), "Title 2")),
            other => panic!("expected ann's message, got {other:?}"),
        }
        // Resuming from the last event seen yields what came since (the
        // first is older than the slack, so it does not come again).
        let first_at = engine
            .store
            .get_message(ws, &first)
            .await
            .unwrap()
            .unwrap()
            .sent_at
            .unwrap();
        let mine_at = engine
            .store
            .get_message(ws, &mine)
            .await
            .unwrap()
            .unwrap()
            .sent_at
            .unwrap();
        let mut resumed = live(engine.clone(), viewer(ws, Some(ann)), Some(mine_at))
            .await
            .unwrap();
        match resumed.next().await {
            Some(LiveEvent::Message(m)) => assert_eq!(m.id, mine),
            other => panic!("expected the replay, got {other:?}"),
        }
        let quiet = tokio::time::timeout(Duration::from_millis(300), resumed.next()).await;
        assert!(quiet.is_err(), "nothing else is pending");
        let mut all = live(engine.clone(), viewer(ws, Some(ann)), Some(first_at))
            .await
            .unwrap();
        let mut got = Vec::new();
        while let Ok(Some(LiveEvent::Message(m))) =
            tokio::time::timeout(Duration::from_millis(300), all.next()).await
        {
            got.push(m.id);
        }
        assert_eq!(got, [first.clone(), mine.clone()], "in delivery order");
        engine.shutdown().await;
    }
}
