//! `relais bench segments`: what real-time segmentation costs the
//! processor, and how soon a profile enters a segment.
//!
//! Two fresh stores receive the same generated events over HTTP: one with
//! no segment, one with `--segments` segments of mixed conditions. Printed:
//! processed events/s for both (and the ratio), then, on the second store
//! at about half its rate, the latency from the receipt of an event to the
//! evaluation that changed a membership (read from the log: each
//! `Segment Entered` / `Segment Exited` event names the event that caused
//! it, `cause_seq`, and is stamped when the evaluation ran; the commit of
//! the batch follows within a few milliseconds).

use super::{bodies, pct, send_all};
use clap::Args;
use relais_engine::{admin, segments, Engine};
use relais_store::DynStore;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct SegmentsBench {
    /// Events sent in each throughput run.
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Segments defined in the second run.
    #[arg(long, default_value_t = 50)]
    segments: usize,
    /// Events per request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds of the half-load latency phase (0 skips it).
    #[arg(long, default_value_t = 5)]
    latency_seconds: u64,
    /// Benchmark PostgreSQL instead of SQLite (each run in a fresh schema).
    #[arg(long, env = "RELAIS_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

/// `n` segment conditions over the generated retail data, cycling through
/// trait, event count, aggregate, sequence, computed-trait, consent,
/// bucket and nested forms with varying parameters.
pub fn mixed_conditions(n: usize) -> Vec<Value> {
    let categories = ["Knitwear", "Shoes", "Dresses", "Accessories", "Outerwear"];
    (0..n)
        .map(|i| {
            let k = (i / 10) as i64;
            let cat = categories[i % categories.len()];
            match i % 10 {
                0 => json!({"trait": "email", "op": "exists"}),
                1 => json!({"event": "Product Viewed", "count": {"op": "gte", "value": 2 + k}}),
                2 => json!({"event": "Product Viewed", "where": [{"property": "category", "op": "eq", "value": cat}],
                            "within": {"days": 365}}),
                3 => json!({"event": "Order Completed", "aggregate": {"fn": "sum", "property": "revenue",
                            "op": "gt", "value": 100 + 50 * k}}),
                4 => json!({"event": "Product Added", "within": {"days": 400},
                            "not_followed_by": {"event": "Order Completed"}}),
                5 => json!({"computed": "order_count", "op": "gte", "value": 1 + k}),
                6 => json!({"and": [{"reachable": "email"}, {"event": "Email Opened", "count": {"op": "gte", "value": 1}}]}),
                7 => json!({"bucket": {"salt": format!("b{i}"), "from": 0, "to": 10 + 5 * k}}),
                8 => json!({"or": [{"trait": "first_name", "op": "starts_with", "value": "A"},
                                   {"event": "Order Completed", "where": [{"property": "$channel", "op": "eq", "value": "store"}]}]}),
                _ => json!({"not": {"event": "Cart Viewed", "between": ["2026-01-01", "2026-01-15"]}}),
            }
        })
        .collect()
}

struct Run {
    processed_per_s: f64,
    events: i64,
    latencies_us: Vec<u64>,
    transitions: usize,
}

async fn run_once(b: &SegmentsBench, segments_n: usize, latency: bool) -> anyhow::Result<Run> {
    let tmp = tempfile::tempdir()?;
    let schema = format!("bench_seg_{}_{}", std::process::id(), segments_n);
    let store: DynStore = relais_store::open(b.database_url.as_deref(), Some(&schema), tmp.path()).await?;
    let creds = admin::create_workspace(&store, "bench", None, None).await?;
    let ws = creds.workspace.id;
    for (i, c) in mixed_conditions(segments_n).into_iter().enumerate() {
        let input = segments::SegmentInput {
            name: format!("bench {i}"),
            description: String::new(),
            condition: c,
        };
        segments::save_new(&store, ws, &input)
            .await
            .map_err(|e| anyhow::anyhow!("segment {i}: {}", e.message))?;
    }
    let engine = Engine::start(store.clone(), super::bench_config()).await?;
    let (addr, server) = super::serve_local(&engine).await?;
    let url = format!("http://{addr}/v1/batch");
    let auth = super::basic(&creds.write_key);

    let load = Arc::new(bodies(1, b.events, b.batch));
    let before = store.log_head().await?;
    let started = Instant::now();
    let full = send_all(&url, &auth, load, b.clients, None).await;
    anyhow::ensure!(full.errors == 0, "{} requests failed", full.errors);
    let head = store.log_head().await?;
    engine
        .pipeline
        .wait_processed(head, Duration::from_secs(3600))
        .await;
    let elapsed = started.elapsed();
    // Events the processor emitted itself are in the log too: count the
    // customer events only.
    let processed_per_s = b.events as f64 / elapsed.as_secs_f64();
    let mut run = Run {
        processed_per_s,
        events: head - before,
        latencies_us: Vec::new(),
        transitions: 0,
    };
    if latency && b.latency_seconds > 0 {
        let target = processed_per_s / 2.0;
        let requests = ((target * b.latency_seconds as f64) / b.batch as f64).ceil() as usize;
        let per_client = Duration::from_secs_f64(b.clients as f64 * b.batch as f64 / target);
        eprintln!("latency phase: ~{target:.0} events/s for {}s", b.latency_seconds);
        let from = store.log_head().await?;
        let load = Arc::new(bodies(2, requests * b.batch, b.batch));
        send_all(&url, &auth, load, b.clients, Some(per_client)).await;
        let head = store.log_head().await?;
        engine
            .pipeline
            .wait_processed(head, Duration::from_secs(600))
            .await;
        // Let the emitted events of the last batch reach the log.
        tokio::time::sleep(Duration::from_millis(300)).await;
        run.latencies_us = emitted_latencies(&store, from).await?;
        run.transitions = run.latencies_us.len();
    }
    server.abort();
    engine.shutdown().await;
    if b.database_url.is_some() {
        relais_store::postgres::drop_schema(b.database_url.as_deref().unwrap_or_default(), &schema).await?;
    }
    Ok(run)
}

/// For each `Segment Entered` / `Exited` event after `from` caused by an
/// event: its stamp minus the receipt time of the cause.
async fn emitted_latencies(store: &DynStore, from: i64) -> anyhow::Result<Vec<u64>> {
    let mut received: HashMap<i64, i64> = HashMap::new();
    let mut out = Vec::new();
    let mut after = from;
    loop {
        let page = store.read_log(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in page {
            if e.event.channel != relais_engine::processor::INTERNAL_CHANNEL {
                received.insert(e.seq, e.event.received_at);
                continue;
            }
            let v: Value = serde_json::from_str(&e.event.payload).unwrap_or(Value::Null);
            let cause = v.pointer("/properties/cause_seq").and_then(Value::as_i64);
            if let Some(at) = cause.and_then(|c| received.get(&c)) {
                out.push(((e.event.received_at - at).max(0) * 1000) as u64);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

pub async fn run(b: SegmentsBench) -> anyhow::Result<()> {
    eprintln!("run 1: {} events, no segment", b.events);
    let base = run_once(&b, 0, false).await?;
    eprintln!("run 2: {} events, {} segments", b.events, b.segments);
    let with = run_once(&b, b.segments, true).await?;
    let engine = if b.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    println!("## relais bench segments — {engine} store");
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| customer events per run | {} |", b.events);
    println!("| processed events/s, 0 segments | {:.0} |", base.processed_per_s);
    println!(
        "| processed events/s, {} segments (log entries incl. emitted: {}) | {:.0} |",
        b.segments, with.events, with.processed_per_s
    );
    println!(
        "| throughput kept with {} segments | {:.0} % |",
        b.segments,
        100.0 * with.processed_per_s / base.processed_per_s
    );
    if with.transitions > 0 {
        println!(
            "| receipt → membership change, at ~half load, p50 / p99 / max (ms), {} changes | {:.1} / {:.1} / {:.1} |",
            with.transitions,
            pct(&with.latencies_us, 0.5),
            pct(&with.latencies_us, 0.99),
            pct(&with.latencies_us, 1.0)
        );
    }
    Ok(())
}
