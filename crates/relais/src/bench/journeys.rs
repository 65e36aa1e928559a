//! `relais bench journeys`: the journey engine measured in one process on
//! a fresh store (SQLite, or the PostgreSQL given).
//!
//! 1. **broadcast**: `--profiles` profiles in a segment; a scheduled
//!    journey sends each a personalised e-mail through governance into the
//!    outbox. Reported: time from the run's start until every message is
//!    stored, and messages/s. Quiet hours hold the messages (production
//!    only) unless `--with-delivery`.
//! 2. **timers**: a second broadcast parks every profile on a delay until
//!    its own `due_at` trait, spread over `--timer-window-seconds`, all
//!    pending before the first is due. Reported: lateness of each timer
//!    (the runner's own measure: when it picked the instance up minus its
//!    `wake_at`), p50/p99/max, and steps/s while they fire.
//! 3. **latency**: `--pings` events, paced, each triggering a send; and as
//!    many trait changes that put a profile in a segment whose entry
//!    triggers a send. Reported: p50/p99 from the event's receipt (its log
//!    stamp) to the message's creation in the outbox.

use super::{basic, pct, send_all};
use clap::Args;
use relais_core::identity::Identity;
use relais_core::time::{format_ms, now_ms};
use relais_engine::{admin, journeys, segments, Engine};
use relais_store::{DynStore, MessageFilter};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct JourneysBench {
    /// Profiles in the broadcast segment (each gets one message and one timer).
    #[arg(long, default_value_t = 100_000)]
    profiles: usize,
    /// Seconds over which the timers come due.
    #[arg(long, default_value_t = 60)]
    timer_window_seconds: u64,
    /// How many of the parked timers come due in that window (default: all);
    /// the others stay pending a day away, so lateness is measured with
    /// `--profiles` timers pending.
    #[arg(long)]
    timers_due: Option<usize>,
    /// Events (and as many segment entries) for the latency phase.
    #[arg(long, default_value_t = 200)]
    pings: usize,
    /// Deliver the broadcast (sandbox providers) while it is produced; by
    /// default its messages are held by quiet hours so the figure is the
    /// production of governed, personalised intentions only.
    #[arg(long)]
    with_delivery: bool,
    /// Benchmark PostgreSQL instead of SQLite (in a fresh schema).
    #[arg(long, env = "RELAIS_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

/// Every value recorded into one histogram.
#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);

impl metrics::HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(value);
    }
}

impl Samples {
    /// The samples so far, in µs, sorted; cleared.
    fn take_us(&self) -> Vec<u64> {
        let samples = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        let mut us: Vec<u64> = samples.into_iter().map(|s| (s * 1e6) as u64).collect();
        us.sort_unstable();
        us
    }
}

/// The process's metrics recorder while the bench runs: the runner's timer
/// lateness, and the wall time of each journey send (governance, Liquid,
/// outbox) and instance advance; every other metric is dropped.
#[derive(Default)]
struct Recorder {
    lateness: Arc<Samples>,
    send: Arc<Samples>,
    advance: Arc<Samples>,
}

impl metrics::Recorder for Recorder {
    fn describe_counter(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_gauge(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_histogram(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::noop()
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Histogram {
        match key.name() {
            "relais_journey_timer_lateness_seconds" => metrics::Histogram::from_arc(self.lateness.clone()),
            "relais_journey_send_seconds" => metrics::Histogram::from_arc(self.send.clone()),
            "relais_journey_advance_seconds" => metrics::Histogram::from_arc(self.advance.clone()),
            _ => metrics::Histogram::noop(),
        }
    }
}

fn identify_bodies(n: usize, traits: impl Fn(usize) -> Value) -> Vec<Vec<u8>> {
    (0..n)
        .collect::<Vec<_>>()
        .chunks(100)
        .map(|c| {
            let batch: Vec<Value> = c
                .iter()
                .map(|&i| json!({"type": "identify", "userId": format!("u{i}"), "traits": traits(i)}))
                .collect();
            serde_json::to_vec(&json!({ "batch": batch })).expect("json")
        })
        .collect()
}

async fn ingest(
    store: &DynStore,
    engine: &Engine,
    url: &str,
    auth: &str,
    bodies: Vec<Vec<u8>>,
) -> anyhow::Result<()> {
    let phase = send_all(url, auth, Arc::new(bodies), 8, None).await;
    anyhow::ensure!(phase.errors == 0, "{} ingest requests failed", phase.errors);
    let head = store.log_head().await?;
    engine
        .pipeline
        .wait_processed(head, Duration::from_secs(3600))
        .await;
    Ok(())
}

async fn journey(engine: &Engine, ws: relais_core::WorkspaceId, doc: Value) -> anyhow::Result<String> {
    let out = journeys::apply(engine, ws, doc, true)
        .await
        .map_err(|e| anyhow::anyhow!("journey: {}", e.message))?;
    Ok(out.journey.id)
}

/// Waits until `done` says so, polling every 100 ms; the time it took.
async fn until<F, Fut>(what: &str, limit: Duration, mut done: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    while !done().await? {
        anyhow::ensure!(started.elapsed() < limit, "{what}: not done after {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(started.elapsed())
}

pub async fn run(b: JourneysBench) -> anyhow::Result<()> {
    let recorder = Recorder::default();
    let (lateness, send, advance) = (
        recorder.lateness.clone(),
        recorder.send.clone(),
        recorder.advance.clone(),
    );
    metrics::set_global_recorder(recorder)
        .map_err(|_| anyhow::anyhow!("a metrics recorder is already installed"))?;
    let tmp = tempfile::tempdir()?;
    let schema = format!("bench_jny_{}", std::process::id());
    let store: DynStore = relais_store::open(b.database_url.as_deref(), Some(&schema), tmp.path()).await?;
    let creds = admin::create_workspace(&store, "bench", None, None).await?;
    let ws = creds.workspace.id;
    let segment = |name: &str, condition: Value| segments::SegmentInput {
        name: name.into(),
        description: String::new(),
        condition,
    };
    let everyone = segments::save_new(
        &store,
        ws,
        &segment("everyone", json!({"trait": "plan", "op": "exists"})),
    )
    .await
    .map_err(|e| anyhow::anyhow!("segment: {}", e.message))?;
    let vip = segments::save_new(
        &store,
        ws,
        &segment("vip", json!({"trait": "vip", "op": "exists"})),
    )
    .await
    .map_err(|e| anyhow::anyhow!("segment: {}", e.message))?;
    let mut config = super::bench_config();
    if !b.with_delivery {
        // Quiet hours (UTC, the profiles' zone) from an hour ago to two hours
        // on: marketing messages are stored, deferred, not dispatched.
        let hm = |ms: i64| format_ms(ms)[11..16].to_owned();
        config.governance.quiet_hours = Some(relais_engine::messaging::config::QuietHours {
            start: hm(now_ms() - 3_600_000),
            end: hm(now_ms() + 7_200_000),
            behaviour: "defer".into(),
        });
    }
    let engine = Engine::start(store.clone(), config).await?;
    let (addr, server) = super::serve_local(&engine).await?;
    let (url, auth) = (format!("http://{addr}/v1/batch"), basic(&creds.write_key));
    let n = b.profiles;

    eprintln!("setup: {n} profiles");
    let t = Instant::now();
    let bodies = identify_bodies(
        n,
        |i| json!({"email": format!("u{i}@example.com"), "first_name": format!("Name{i}"), "plan": "basic"}),
    );
    ingest(&store, &engine, &url, &auth, bodies).await?;
    let seg = everyone.id.to_string();
    until("segment membership", Duration::from_secs(3600), || async {
        Ok(store.segment_size(ws, everyone.id).await? as usize >= n)
    })
    .await?;
    eprintln!("setup took {:.1}s", t.elapsed().as_secs_f64());

    // 1. Broadcast.
    eprintln!("broadcast: {n} personalised e-mails");
    let started = Instant::now();
    let jid = journey(
        &engine,
        ws,
        json!({"name": "Broadcast", "trigger": {"schedule": {"segment": seg, "at": format_ms(now_ms())}},
               "steps": [{"id": "mail", "type": "send", "channel": "email",
                          "content": {"email": {"subject": "{{ traits.first_name }}, our winter sale",
                                                "html": "<p>Hello {{ traits.first_name }}</p>"}}}]}),
    )
    .await?;
    let prefix = format!("{jid}:");
    let entered_at = Mutex::new(None);
    let broadcast = until("broadcast", Duration::from_secs(7200), || async {
        // The run's own row is the cheap probe (counting the journey's
        // messages every 100 ms took a tenth of the CPU); the messages are
        // counted once it says it is done.
        let run = store.journey_runs(ws, &jid, 1).await?;
        let Some(run) = run.first() else { return Ok(false) };
        {
            let mut at = entered_at.lock().unwrap_or_else(|p| p.into_inner());
            if at.is_none() && run.entered as usize >= n {
                *at = Some(started.elapsed());
            }
        }
        if run.done_at.is_none() {
            return Ok(false);
        }
        let c = store.journey_counts(ws, &jid, &prefix).await?;
        Ok(c.messages.iter().map(|(_, _, k)| *k).sum::<i64>() as usize >= n)
    })
    .await?;
    let (send_us, advance_us) = (send.take_us(), advance.take_us());
    let entered_after = entered_at.into_inner().ok().flatten().unwrap_or(broadcast);

    // 2. Timers, all pending before the first is due.
    let window = b.timer_window_seconds as i64 * 1000;
    let lead = (entered_after.as_millis() as i64 * 2).max(3_000) + 2_000;
    let due = b.timers_due.unwrap_or(n).min(n);
    eprintln!(
        "timers: {due} of {n} pending due over {}s, from {}s on",
        b.timer_window_seconds,
        lead / 1000
    );
    let t0 = now_ms() + lead + (n as i64 / 20); // + the due_at ingest itself
    let bodies = identify_bodies(n, |i| {
        let at = match i < due {
            true => t0 + window * i as i64 / due.max(1) as i64,
            false => t0 + 86_400_000,
        };
        json!({"due_at": format_ms(at)})
    });
    ingest(&store, &engine, &url, &auth, bodies).await?;
    let tid = journey(
        &engine,
        ws,
        json!({"name": "Timers", "trigger": {"schedule": {"segment": seg, "at": format_ms(now_ms())}},
               "steps": [{"id": "wait", "type": "delay", "until": {"trait": "due_at"}},
                         {"id": "end", "type": "exit"}]}),
    )
    .await?;
    // Parked: every instance entered and none due before the first timer
    // (the entries themselves are due at once, until their delay is set).
    let park = until("timers parked", Duration::from_secs(7200), || async {
        let c = store.journey_counts(ws, &tid, "-").await?;
        let soonest = store.next_instance_wake().await?;
        Ok(c.entered as usize >= n && soonest.is_some_and(|w| w >= t0))
    })
    .await?;
    let parked_margin = t0 - now_ms();
    lateness.take_us(); // the entries' own pick-ups: not timers
    until("timers fired", Duration::from_secs(7200), || async {
        let c = store.journey_counts(ws, &tid, "-").await?;
        Ok((c.entered - c.active) as usize >= due)
    })
    .await?;
    let park_secs = park.as_secs_f64();
    let late_us = lateness.take_us();

    // 3. Event → first send, segment entry → first send.
    eprintln!(
        "latency: {} events and {} segment entries, paced",
        b.pings, b.pings
    );
    journey(
        &engine,
        ws,
        json!({"name": "Ping", "trigger": {"event": "Bench Ping"}, "reentry": "always", "transactional": true,
               "steps": [{"id": "mail", "type": "send", "channel": "email",
                          "content": {"email": {"subject": "ping {{ data.trigger.ping }}", "html": "<p>ping</p>"}}}]}),
    )
    .await?;
    journey(
        &engine,
        ws,
        json!({"name": "Vip", "trigger": {"segment_entered": vip.id.to_string()}, "transactional": true,
               "steps": [{"id": "mail", "type": "send", "channel": "email",
                          "content": {"email": {"subject": "vip {{ traits.vip }}", "html": "<p>vip</p>"}}}]}),
    )
    .await?;
    let pings = b.pings.min(n);
    let from = store.log_head().await?;
    let mut ping_bodies = Vec::new();
    for i in 0..pings {
        let track = json!({"type": "track", "userId": format!("u{i}"), "event": "Bench Ping", "properties": {"ping": i}});
        let ident = json!({"type": "identify", "userId": format!("u{i}"), "traits": {"vip": i}});
        ping_bodies.push(serde_json::to_vec(&json!({ "batch": [track] }))?);
        ping_bodies.push(serde_json::to_vec(&json!({ "batch": [ident] }))?);
    }
    send_all(
        &url,
        &auth,
        Arc::new(ping_bodies),
        1,
        Some(Duration::from_millis(20)),
    )
    .await;
    let head = store.log_head().await?;
    engine
        .pipeline
        .wait_processed(head, Duration::from_secs(600))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (event_us, entry_us) = send_latencies(&store, ws, from, pings).await?;

    server.abort();
    engine.shutdown().await;
    if let Some(url) = b.database_url.as_deref() {
        relais_store::postgres::drop_schema(url, &schema).await?;
    }
    let engine_name = if b.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    println!("## relais bench journeys — {engine_name} store, {n} profiles");
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    let secs = broadcast.as_secs_f64();
    println!(
        "| broadcast: {n} governed, personalised e-mails in the outbox ({}) | {secs:.1} s, **{:.0} messages/s** (all entered after {:.1} s) |",
        if b.with_delivery { "delivered meanwhile" } else { "held by quiet hours: production only" },
        n as f64 / secs,
        entered_after.as_secs_f64()
    );
    if send_us.is_empty() {
        println!("| broadcast: the first send, a page of 1,000 at a time (no per-message timing) | — |");
    } else {
        println!(
            "| broadcast: one send (governance, Liquid, outbox) / one instance advance, 16 in parallel, p50 / p99 | {:.1} / {:.1} ms, {:.1} / {:.1} ms |",
            pct(&send_us, 0.5),
            pct(&send_us, 0.99),
            pct(&advance_us, 0.5),
            pct(&advance_us, 0.99)
        );
    }
    println!(
        "| timers: {} due over {} s, {n} pending (parked {:.1} s before the first) — lateness p50 / p99 / max | {:.0} / **{:.0}** / {:.0} ms |",
        late_us.len(),
        b.timer_window_seconds,
        parked_margin as f64 / 1000.0,
        pct(&late_us, 0.5),
        pct(&late_us, 0.99),
        pct(&late_us, 1.0)
    );
    println!(
        "| journey steps/s parking them (entry + delay step per profile, a page at a time, {n} profiles in {park_secs:.1} s) | {:.0} |",
        2.0 * n as f64 / park_secs.max(0.001)
    );
    println!(
        "| event → first send, {} events, p50 / p99 / max | {:.1} / **{:.1}** / {:.1} ms |",
        event_us.len(),
        pct(&event_us, 0.5),
        pct(&event_us, 0.99),
        pct(&event_us, 1.0)
    );
    println!(
        "| segment entry → first send, {} entries, p50 / p99 / max | {:.1} / **{:.1}** / {:.1} ms |",
        entry_us.len(),
        pct(&entry_us, 0.5),
        pct(&entry_us, 0.99),
        pct(&entry_us, 1.0)
    );
    Ok(())
}

/// For each ping: the message's creation minus the event's receipt (both
/// stamped by the server), for the event trigger and the segment entry.
async fn send_latencies(
    store: &DynStore,
    ws: relais_core::WorkspaceId,
    from: i64,
    pings: usize,
) -> anyhow::Result<(Vec<u64>, Vec<u64>)> {
    let mut received = std::collections::HashMap::new();
    let mut after = from;
    loop {
        let page = store.read_log(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in page {
            let v: Value = serde_json::from_str(&e.event.payload).unwrap_or(Value::Null);
            if let Some(i) = v.pointer("/properties/ping").and_then(Value::as_i64) {
                received.insert(format!("ping {i}"), e.event.received_at);
            } else if let Some(i) = v.pointer("/traits/vip").and_then(Value::as_i64) {
                received.insert(format!("vip {i}"), e.event.received_at);
            }
        }
    }
    let (mut event_us, mut entry_us) = (Vec::new(), Vec::new());
    for i in 0..pings {
        let Some(id) = Identity::new("user_id", &format!("u{i}")) else {
            continue;
        };
        let Some(pid) = store.find_profile(ws, &id).await? else {
            continue;
        };
        let filter = MessageFilter {
            profile_id: Some(pid),
            limit: 10,
            ..Default::default()
        };
        for m in store.list_messages(ws, &filter).await? {
            let content: Value = serde_json::from_str(&m.content).unwrap_or(Value::Null);
            let Some(subject) = content["subject"].as_str() else {
                continue;
            };
            let Some(at) = received.get(subject) else { continue };
            let us = ((m.created_at - at).max(0) * 1000) as u64;
            if subject.starts_with("ping") {
                event_us.push(us);
            } else {
                entry_us.push(us);
            }
        }
    }
    event_us.sort_unstable();
    entry_us.sort_unstable();
    Ok((event_us, entry_us))
}
