//! `relais bench ingest`: the ingest path measured end to end.
//!
//! Starts a real server in this process on a loopback port (SQLite in a
//! fresh temporary directory, or the PostgreSQL given with
//! `--database-url`), sends generated retail events over HTTP in batches
//! from concurrent clients, and reports:
//! * events/s acknowledged (200 = durable) at full load;
//! * events/s fully processed (identity + profile committed);
//! * p50/p99 acknowledgement latency at about half the measured load;
//! * peak RSS of the process (server *and* load generator).

mod backfill;
mod catalog;
mod email;
mod journeys;
mod segments;

use base64::Engine as _;
use clap::{Args, Subcommand};
use relais_engine::{admin, Engine, EngineConfig};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BenchCmd {
    /// HTTP ingest and processing throughput, latency and memory.
    Ingest(IngestBench),
    /// Processing cost of live segments and ingest-to-membership latency.
    Segments(segments::SegmentsBench),
    /// A new segment over existing profiles, against DuckDB on the same data.
    Backfill(backfill::BackfillBench),
    /// E-mail rendering, SMTP delivery (with and without DKIM), outbox overhead.
    Email(email::EmailBench),
    /// Stock book, nearest shop with stock, recommendations; imports persisted through the engine.
    Catalog(catalog::CatalogBench),
    /// Broadcast throughput, timer lateness, event and segment-entry to first send.
    Journeys(journeys::JourneysBench),
}

#[derive(Args)]
pub struct IngestBench {
    /// Events to send in the throughput phase.
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Events per request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds of the half-load latency phase (0 skips it).
    #[arg(long, default_value_t = 5)]
    latency_seconds: u64,
    /// Benchmark PostgreSQL instead of SQLite.
    #[arg(long, env = "RELAIS_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

pub async fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Ingest(b) => ingest(b).await,
        BenchCmd::Segments(b) => segments::run(b).await,
        BenchCmd::Backfill(b) => backfill::run(b).await,
        BenchCmd::Email(b) => email::run(b).await,
        BenchCmd::Catalog(b) => catalog::run(b).await,
        BenchCmd::Journeys(b) => journeys::run(b).await,
    }
}

/// Generated events, cut into request bodies.
fn bodies(seed: u64, events: usize, batch: usize) -> Vec<Vec<u8>> {
    let opts = relais_generate::GenerateOptions {
        profiles: u64::MAX,
        seed,
        ..Default::default()
    };
    let mut lines = Vec::with_capacity(events);
    let mut customer = 0;
    while lines.len() < events {
        lines.extend(relais_generate::customer_events(&opts, customer));
        customer += 1;
    }
    lines.truncate(events);
    lines
        .chunks(batch.max(1))
        .map(|c| format!(r#"{{"batch":[{}]}}"#, c.join(",")).into_bytes())
        .collect()
}

struct Phase {
    events: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    errors: usize,
}

/// Sends every body once; `interval` paces each client (None = flat out).
async fn send_all(
    url: &str,
    auth: &str,
    bodies: Arc<Vec<Vec<u8>>>,
    clients: usize,
    interval: Option<Duration>,
) -> Phase {
    let next = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("http client");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, bodies, client) = (next.clone(), bodies.clone(), client.clone());
        let (url, auth) = (url.to_owned(), auth.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            let mut tick = interval.map(|i| {
                let mut t = tokio::time::interval(i);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let t0 = Instant::now();
                let resp = client
                    .post(&url)
                    .header("authorization", &auth)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().is_success() => lat.push(t0.elapsed().as_micros() as u64),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("client task");
        latencies_us.extend(l);
        errors += e;
    }
    latencies_us.sort_unstable();
    Phase {
        events: 0,
        elapsed: started.elapsed(),
        latencies_us,
        errors,
    }
}

/// The engine as configured by default, without scheduled jobs (the RFM
/// refresh) that would run at an arbitrary point of a measurement.
fn bench_config() -> EngineConfig {
    EngineConfig {
        rfm_refresh_secs: 0,
        ..EngineConfig::default()
    }
}

/// Serves `engine` on a loopback port: its address and the server task.
async fn serve_local(
    engine: &Arc<Engine>,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(relais_server::serve(
        listener,
        engine.clone(),
        std::future::pending(),
    ));
    Ok((addr, server))
}

/// `Authorization` header value for a write key.
fn basic(write_key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{write_key}:"))
    )
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn ingest(b: IngestBench) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let store = relais_store::open(b.database_url.as_deref(), None, tmp.path()).await?;
    let ws_name = format!("bench-{}", std::process::id());
    let creds = admin::create_workspace(&store, &ws_name, None, None).await?;
    let engine = Engine::start(store.clone(), bench_config()).await?;
    let (addr, server) = serve_local(&engine).await?;
    let url = format!("http://{addr}/v1/batch");
    let auth = basic(&creds.write_key);

    eprintln!("generating {} events…", b.events);
    let load = Arc::new(bodies(1, b.events, b.batch));
    let head_before = store.log_head().await?;
    eprintln!(
        "throughput phase: {} requests of {} events, {} clients",
        load.len(),
        b.batch,
        b.clients
    );
    let started = Instant::now();
    let mut full = send_all(&url, &auth, load, b.clients, None).await;
    full.events = b.events;
    let head = store.log_head().await?;
    engine
        .pipeline
        .wait_processed(head, Duration::from_secs(3600))
        .await;
    let processed_in = started.elapsed();
    let processed_events = (head - head_before) as f64;

    let ack_rate = full.events as f64 / full.elapsed.as_secs_f64();
    let mut half = None;
    if b.latency_seconds > 0 {
        let target = ack_rate / 2.0;
        let requests = ((target * b.latency_seconds as f64) / b.batch as f64).ceil() as usize;
        let per_client = Duration::from_secs_f64(b.clients as f64 * b.batch as f64 / target);
        eprintln!("latency phase: ~{target:.0} events/s for {}s", b.latency_seconds);
        let load = Arc::new(bodies(2, requests * b.batch, b.batch));
        let mut p = send_all(&url, &auth, load, b.clients, Some(per_client)).await;
        p.events = requests * b.batch;
        half = Some(p);
    }
    server.abort();
    engine.shutdown().await;

    println!("## relais bench ingest — {} store", store.engine());
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| events sent (batches of {}, {} clients) | {} |",
        b.batch, b.clients, full.events
    );
    println!("| failed requests | {} |", full.errors);
    println!("| acknowledged events/s (full load) | {ack_rate:.0} |");
    println!(
        "| ack latency at full load p50 / p99 (ms) | {:.2} / {:.2} |",
        pct(&full.latencies_us, 0.5),
        pct(&full.latencies_us, 0.99)
    );
    println!(
        "| fully processed events/s (identity + profile, from first send to last commit) | {:.0} |",
        processed_events / processed_in.as_secs_f64()
    );
    if let Some(h) = half {
        println!(
            "| ack latency at ~half load ({:.0} events/s) p50 / p99 (ms) | {:.2} / {:.2} |",
            h.events as f64 / h.elapsed.as_secs_f64(),
            pct(&h.latencies_us, 0.5),
            pct(&h.latencies_us, 0.99)
        );
    }
    println!(
        "| peak RSS, server + load generator (MiB) | {:.0} |",
        peak_rss_mib()
    );
    Ok(())
}
