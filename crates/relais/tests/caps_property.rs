//! Property: no frequency-cap window is ever exceeded, whatever the
//! interleaving of journeys and direct sends for one profile — and caps are
//! not over-enforced either (what could go, went).
//!
//! Each case draws profiles, journeys (each triggered by its own event,
//! sending on random channels with or without a 1-second delay between
//! sends) and direct `POST /api/v1/messages` sends, fires the trigger events
//! and the sends as concurrent tasks in a random order, waits for every
//! passage to end, then checks every profile's messages against the caps.
//!
//! The seed is printed; `RELAIS_CAPS_SEED=<seed>` replays a run.

mod common;

use common::{Backend, Server};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

both_backends_with_config!(no_window_ever_exceeds_its_cap);

const CASES: u64 = 5;
const CHANNELS: [&str; 3] = ["email", "sms", "push"];
/// Statuses the engine counts against a cap (docs/channels.md).
const COUNTED: [&str; 4] = ["queued", "sending", "sent", "delivered"];

/// One `frequency_caps` rule, as configured below.
#[derive(Debug, Clone, Copy)]
struct Cap {
    channel: Option<&'static str>,
    max: usize,
    /// Rolling hours, or (None) one calendar day in UTC (the default zone).
    hours: Option<i64>,
}

const CAPS: [Cap; 3] = [
    Cap {
        channel: None,
        max: 3,
        hours: Some(24),
    },
    Cap {
        channel: Some("sms"),
        max: 1,
        hours: None,
    },
    Cap {
        channel: Some("email"),
        max: 2,
        hours: Some(24),
    },
];

impl Cap {
    fn applies(&self, channel: &str) -> bool {
        self.channel.is_none_or(|c| c == channel)
    }

    fn toml(&self) -> String {
        let channel = self
            .channel
            .map_or(String::new(), |c| format!("channel = {c:?}, "));
        let window = match self.hours {
            Some(h) => format!("hours = {h}"),
            None => "days = 1".to_owned(),
        };
        format!("{{ {channel}max = {}, {window} }}", self.max)
    }

    /// The reason of a message this cap refuses (governance.rs `describe`).
    fn reason(&self) -> String {
        let on = self.channel.unwrap_or("all channels");
        match self.hours {
            Some(h) => format!("capped: at most {} per {h} hours on {on}", self.max),
            None => format!("capped: at most {} per day on {on}", self.max),
        }
    }

    /// Where the window of a decision taken at `at` (unix ms) starts.
    fn window_start(&self, at: i64) -> i64 {
        match self.hours {
            Some(h) => at - h * 3_600_000,
            None => at - at.rem_euclid(86_400_000),
        }
    }

    /// Whether two instants fall in one window of this cap.
    fn same_window(&self, a: i64, b: i64) -> bool {
        match self.hours {
            Some(h) => (a - b).abs() < h * 3_600_000,
            None => a.div_euclid(86_400_000) == b.div_euclid(86_400_000),
        }
    }
}

fn config() -> String {
    let caps: Vec<String> = CAPS.iter().map(Cap::toml).collect();
    format!(
        "[engine.governance]\n# SMS marketing without an explicit subscription: only caps refuse here.\n\
         opt_in_channels = []\nfrequency_caps = [ {} ]\n",
        caps.join(", ")
    )
}

/// A channel's template (`POST /api/v1/messages` `content`; a journey's
/// send step keys it by channel).
fn template(channel: &str, what: &str) -> Value {
    match channel {
        "email" => json!({"subject": what, "html": format!("<p>{what}</p>")}),
        "sms" => json!({"body": what}),
        _ => json!({"title": what, "body": what}),
    }
}

struct Journey {
    name: String,
    /// Its trigger event (the name too).
    event: String,
    /// Channels of its send steps, in order.
    sends: Vec<&'static str>,
    doc: Value,
}

#[derive(Debug, Clone)]
enum Action {
    Trigger {
        user: String,
        event: String,
    },
    Direct {
        user: String,
        channel: &'static str,
        key: String,
    },
}

struct Case {
    index: u64,
    users: Vec<String>,
    journeys: Vec<Journey>,
    /// In firing order, each with a start delay (ms).
    actions: Vec<(Action, u64)>,
    /// Per user: marketing attempts per channel, passages.
    attempts: BTreeMap<String, BTreeMap<&'static str, usize>>,
    passages: BTreeMap<String, usize>,
}

fn draw_case(seed: u64, index: u64) -> Case {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let users: Vec<String> = (0..rng.random_range(3..=5))
        .map(|p| format!("c{index}-p{p}"))
        .collect();
    let journeys: Vec<Journey> = (0..rng.random_range(3..=5))
        .map(|j| {
            let name = format!("Caps c{index} j{j}");
            let sends: Vec<&'static str> = (0..rng.random_range(1..=3))
                .map(|_| CHANNELS[rng.random_range(0..CHANNELS.len())])
                .collect();
            let mut steps = Vec::new();
            for (i, channel) in sends.iter().enumerate() {
                if i > 0 && rng.random_bool(0.4) {
                    steps.push(json!({"id": format!("delay{i}"), "type": "delay", "for": {"seconds": 1}}));
                }
                steps.push(json!({
                    "id": format!("send{i}"), "type": "send", "channel": channel,
                    "content": {*channel: template(channel, &format!("{name} step {i}"))},
                }));
            }
            let doc = json!({"name": name, "trigger": {"event": name}, "steps": steps});
            Journey {
                event: name.clone(),
                name,
                sends,
                doc,
            }
        })
        .collect();
    let mut attempts: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    let mut passages = BTreeMap::new();
    let mut actions = Vec::new();
    for user in &users {
        let per = attempts.entry(user.clone()).or_default();
        for c in CHANNELS {
            per.insert(c, 0);
        }
        // A busy profile (many sends at once: contention) or a quiet one
        // (few: the caps that must let messages through).
        let busy = rng.random_bool(0.7);
        let (enter, directs) = if busy { (0.9, 3..=8) } else { (0.3, 0..=2) };
        let mut entered = 0;
        for j in &journeys {
            if rng.random_bool(enter) {
                entered += 1;
                for c in &j.sends {
                    *per.get_mut(c).unwrap() += 1;
                }
                actions.push(Action::Trigger {
                    user: user.clone(),
                    event: j.event.clone(),
                });
            }
        }
        passages.insert(user.clone(), entered);
        for k in 0..rng.random_range(directs) {
            let channel = CHANNELS[rng.random_range(0..CHANNELS.len())];
            *per.get_mut(channel).unwrap() += 1;
            actions.push(Action::Direct {
                user: user.clone(),
                channel,
                key: format!("direct-{user}-{k}"),
            });
        }
    }
    actions.shuffle(&mut rng);
    // Half start at once (contention on each profile), a quarter a little
    // later, a quarter up to 1.2 s later: among the journeys' sends, which
    // come after the pipeline and after their delays.
    let actions = actions
        .into_iter()
        .map(|a| {
            let later = match rng.random_range(0..4) {
                0 | 1 => 0,
                2 => rng.random_range(1..100),
                _ => rng.random_range(1..1200),
            };
            (a, later)
        })
        .collect();
    Case {
        index,
        users,
        journeys,
        actions,
        attempts,
        passages,
    }
}

#[derive(Debug, Clone)]
struct Msg {
    id: String,
    channel: String,
    status: String,
    category: String,
    reason: Option<String>,
    campaign: Option<String>,
    created: String,
    at: i64,
}

impl Msg {
    fn counted(&self) -> bool {
        COUNTED.contains(&self.status.as_str())
    }
}

impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = format!(
            "{} {:<5} {:<9} {} from {:<16} {}",
            self.id,
            self.channel,
            self.status,
            self.created,
            self.campaign.as_deref().unwrap_or("-"),
            self.reason.as_deref().unwrap_or("")
        );
        f.write_str(line.trim_end())
    }
}

/// Every message of a profile, through the `next` cursor (small pages).
async fn messages_of(s: &Server, user: &str) -> Vec<Msg> {
    let mut out: Vec<Msg> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/messages?profile=user_id:{user}&limit=7");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (code, page) = s.get(&path).await;
        assert_eq!(code, 200, "{path}: {page}");
        for m in page["messages"].as_array().expect("messages") {
            let text = |k: &str| m[k].as_str().map(str::to_owned);
            let created = text("created_at").expect("created_at");
            let at = created
                .parse::<jiff::Timestamp>()
                .unwrap_or_else(|e| panic!("created_at {created}: {e}"))
                .as_millisecond();
            let msg = Msg {
                id: text("id").expect("id"),
                channel: text("channel").expect("channel"),
                status: text("status").expect("status"),
                category: text("category").expect("category"),
                reason: text("reason"),
                campaign: text("campaign"),
                created,
                at,
            };
            assert!(
                out.iter().all(|o| o.id != msg.id),
                "message {} listed twice across pages of {user}",
                msg.id
            );
            out.push(msg);
        }
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    out.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    out
}

/// Every rule a profile's messages must satisfy; the broken ones, in words.
fn violations(msgs: &[Msg], attempts: &BTreeMap<&'static str, usize>) -> Vec<String> {
    let mut bad = Vec::new();
    for c in CHANNELS {
        let n = msgs.iter().filter(|m| m.channel == c).count();
        if n != attempts[c] {
            bad.push(format!(
                "{n} {c} messages stored for {} marketing sends",
                attempts[c]
            ));
        }
    }
    for m in msgs {
        if m.category != "marketing" {
            bad.push(format!("not marketing: {m}"));
        }
        if m.counted() {
            continue;
        }
        let reason = m.reason.as_deref().unwrap_or("");
        if m.status != "skipped" || !reason.starts_with("capped:") {
            bad.push(format!("neither counted nor capped: {m}"));
            continue;
        }
        let Some(cap) = CAPS.iter().find(|c| c.reason() == reason) else {
            bad.push(format!("capped by no configured cap: {m}"));
            continue;
        };
        if !cap.applies(&m.channel) {
            bad.push(format!("capped by a cap of another channel: {m}"));
        }
        // Not over-enforced: the cap that refused was full (counts only grow here).
        let since = cap.window_start(m.at);
        let full = msgs
            .iter()
            .filter(|o| o.counted() && cap.applies(&o.channel) && o.at >= since)
            .count();
        if full < cap.max {
            bad.push(format!(
                "refused by a cap with room ({full} of {} in its window): {m}",
                cap.max
            ));
        }
    }
    // No window over its cap: every window that starts at a counted message.
    for cap in &CAPS {
        let counted: Vec<&Msg> = msgs
            .iter()
            .filter(|m| m.counted() && cap.applies(&m.channel))
            .collect();
        for first in &counted {
            let inside: Vec<&&Msg> = counted
                .iter()
                .filter(|o| o.at >= first.at && cap.same_window(first.at, o.at))
                .collect();
            if inside.len() > cap.max {
                let list: Vec<String> = inside.iter().map(|m| format!("\n      {m}")).collect();
                bad.push(format!(
                    "{} messages in one window of \"{}\":{}",
                    inside.len(),
                    cap.reason(),
                    list.concat()
                ));
                break;
            }
        }
    }
    // Exactly what could go, went: with every message in every window, the
    // number sent does not depend on the order.
    let one_window = match (msgs.first(), msgs.last()) {
        (Some(a), Some(b)) => CAPS.iter().all(|c| c.same_window(a.at, b.at)),
        _ => false,
    };
    if one_window {
        let all_max = CAPS
            .iter()
            .filter(|c| c.channel.is_none())
            .map(|c| c.max)
            .min()
            .unwrap_or(usize::MAX);
        let room = |c: &str| {
            let max = CAPS
                .iter()
                .filter(|cap| cap.channel == Some(c))
                .map(|cap| cap.max)
                .min()
                .unwrap_or(usize::MAX);
            max.min(attempts[c])
        };
        let sent = |c: &str| msgs.iter().filter(|m| m.counted() && m.channel == c).count();
        let could: usize = CHANNELS.iter().map(|c| room(c)).sum();
        let total: usize = CHANNELS.iter().map(|c| sent(c)).sum();
        if total != could.min(all_max) {
            bad.push(format!(
                "{total} marketing messages went, {} should have (attempts {attempts:?})",
                could.min(all_max)
            ));
        }
        if total < all_max {
            for c in CHANNELS {
                if sent(c) != room(c) {
                    bad.push(format!(
                        "{} {c} messages went, {} should have (attempts {attempts:?})",
                        sent(c),
                        room(c)
                    ));
                }
            }
        }
    }
    bad
}

async fn run_case(s: &Arc<Server>, backend: &Backend, seed: u64, case: &Case) {
    for j in &case.journeys {
        let (code, out) = s
            .admin(
                "POST",
                "/api/v1/journeys/apply?activate=true",
                Some(j.doc.clone()),
            )
            .await;
        assert_eq!(code, 200, "{}: {out}", j.name);
        assert_eq!(out["activated"], true, "{}: {out}", j.name);
    }
    for user in &case.users {
        let traits = json!({"email": format!("{user}@example.com"), "phone": "+33612345678"});
        let device = json!({"token": format!("tok-{user}")});
        let (code, body) = s
            .track(
                "/v1/identify",
                json!({"userId": user, "traits": traits, "context": {"device": device}}),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }
    s.settle().await;

    let mut tasks = tokio::task::JoinSet::new();
    for (action, later) in case.actions.clone() {
        let s = s.clone();
        tasks.spawn(async move {
            if later > 0 {
                tokio::time::sleep(Duration::from_millis(later)).await;
            }
            match &action {
                Action::Trigger { user, event } => {
                    let (code, body) = s
                        .track("/v1/track", json!({"userId": user, "event": event}))
                        .await;
                    assert_eq!(code, 200, "{action:?}: {body}");
                }
                Action::Direct { user, channel, key } => {
                    let req = json!({
                        "profile": format!("user_id:{user}"), "channel": channel, "campaign": "direct",
                        "idempotency_key": key, "content": template(channel, key),
                    });
                    let (code, m) = s.admin("POST", "/api/v1/messages", Some(req)).await;
                    assert_eq!(code, 201, "{action:?}: {m}");
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done {
            panic!(
                "seed {seed} ({backend:?}, case {}): an action failed: {e}",
                case.index
            );
        }
    }
    s.settle().await;

    // Every passage over (the last sends wait out their delays).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut pending = Vec::new();
        for user in &case.users {
            let (code, v) = s.get(&format!("/api/v1/profiles/user_id:{user}/journeys")).await;
            assert_eq!(code, 200, "{v}");
            let list = v.as_array().cloned().unwrap_or_default();
            let done = list.iter().filter(|p| p["status"] == "done").count();
            if list.len() != case.passages[user] || done != list.len() {
                pending.push(format!(
                    "{user}: {done} done of {} passages, {} expected",
                    list.len(),
                    case.passages[user]
                ));
            }
        }
        if pending.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "seed {seed} ({backend:?}, case {}): journeys still running after 20 s: {pending:?}",
            case.index
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut report = String::new();
    let (mut went, mut skipped) = (0, 0);
    for user in &case.users {
        let msgs = messages_of(s, user).await;
        went += msgs.iter().filter(|m| m.counted()).count();
        skipped += msgs.iter().filter(|m| !m.counted()).count();
        let bad = violations(&msgs, &case.attempts[user]);
        if !bad.is_empty() {
            report.push_str(&format!("\n  profile user_id:{user}:"));
            for b in &bad {
                report.push_str(&format!("\n    - {b}"));
            }
            report.push_str("\n    all its messages, oldest first:");
            for m in &msgs {
                report.push_str(&format!("\n      {m}"));
            }
        }
    }
    eprintln!(
        "caps_property ({backend:?}) case {}: {} profiles, {} journeys, {} actions: \
         {went} went, {skipped} skipped",
        case.index,
        case.users.len(),
        case.journeys.len(),
        case.actions.len()
    );
    if !report.is_empty() {
        let journeys: Vec<String> = case
            .journeys
            .iter()
            .map(|j| format!("{} {:?}", j.name, j.sends))
            .collect();
        panic!(
            "frequency caps broken: seed {seed} (replay: RELAIS_CAPS_SEED={seed}), {backend:?}, case {}\n  \
             caps: {:?}\n  journeys: {journeys:?}{report}",
            case.index,
            CAPS.iter().map(Cap::reason).collect::<Vec<_>>()
        );
    }
}

async fn no_window_ever_exceeds_its_cap(backend: Backend) {
    let seed = match std::env::var("RELAIS_CAPS_SEED") {
        Ok(s) => s.trim().parse().expect("RELAIS_CAPS_SEED: a u64"),
        Err(_) => rand::random(),
    };
    eprintln!("caps_property ({backend:?}): seed {seed} (replay: RELAIS_CAPS_SEED={seed})");
    let s = Arc::new(Server::start_with_config(backend.clone(), Some(&config())));
    for index in 0..CASES {
        let case = draw_case(seed, index);
        run_case(&s, &backend, seed, &case).await;
    }
}
