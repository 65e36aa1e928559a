//! `relais bench email`: what one e-mail costs, step by step.
//!
//! * rendering (Liquid + MJML + text part) of a real newsletter on one thread;
//! * SMTP delivery through the pooled provider to an in-process sink, without
//!   and with DKIM (`relais_channels::email::bench`);
//! * the outbox through a real server in this process: `POST /api/v1/messages`
//!   from concurrent clients (compose, governance, the outbox row) and the
//!   dispatcher claiming and settling each message with the sandbox provider,
//!   whose send costs nothing — what is left is Relais' own overhead.

use super::{basic, bench_config, pct};
use clap::Args;
use relais_channels::email::bench as email;
use relais_engine::{admin, Engine};
use relais_store::{MessageFilter, MessageStatus};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct EmailBench {
    /// Seconds of rendering.
    #[arg(long, default_value_t = 3.0)]
    render_seconds: f64,
    /// E-mails delivered to the local SMTP sink (without DKIM).
    #[arg(long, default_value_t = 20_000)]
    smtp_messages: usize,
    /// E-mails delivered with DKIM (RSA-2048) signing.
    #[arg(long, default_value_t = 2_000)]
    dkim_messages: usize,
    /// Concurrent senders and pooled SMTP connections.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value_t = 16)]
    pool: u32,
    /// Messages through the outbox (API → dispatcher → sandbox provider).
    #[arg(long, default_value_t = 5_000)]
    outbox_messages: usize,
    /// Benchmark the outbox on PostgreSQL instead of SQLite.
    #[arg(long, env = "RELAIS_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

pub async fn run(b: EmailBench) -> anyhow::Result<()> {
    eprintln!("rendering for {} s…", b.render_seconds);
    let render = email::render_throughput(usize::MAX, b.render_seconds).await;
    eprintln!("{render}");
    eprintln!("SMTP: {} messages…", b.smtp_messages);
    let smtp = email::smtp_throughput(b.smtp_messages, b.concurrency, b.pool).await?;
    eprintln!("{smtp}");
    eprintln!("SMTP with DKIM: {} messages…", b.dkim_messages);
    let dkim = email::smtp_throughput_dkim(b.dkim_messages, b.concurrency, b.pool).await?;
    eprintln!("{dkim}");
    eprintln!("outbox: {} newsletters…", b.outbox_messages);
    let outbox_big = outbox(&b, true).await?;
    eprintln!("outbox: {} short receipts…", b.outbox_messages);
    let outbox_small = outbox(&b, false).await?;

    println!("## relais bench email — outbox on {}", outbox_big.engine);
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| render (Liquid + MJML + text, {} B MJML → {} B HTML), one thread | {:.0} e-mails/s (liquid {:.0} µs, mjml {:.0} µs, text {:.0} µs) |",
        render.template_bytes, render.html_bytes, render.per_sec, render.liquid_us, render.mjml_us, render.text_us
    );
    println!(
        "| SMTP to a local sink, {} tasks, pool of {} | {:.0} e-mails/s ({} delivered, {} failed, {} connections) |",
        b.concurrency, b.pool, smtp.per_sec, smtp.delivered, smtp.failed, smtp.connections
    );
    println!(
        "| the same, DKIM-signed (RSA-2048) | {:.0} e-mails/s ({} delivered, {} failed) |",
        dkim.per_sec, dkim.delivered, dkim.failed
    );
    for (what, o) in [
        ("newsletter, 35 KB of HTML", &outbox_big),
        ("short receipt, 0.2 KB", &outbox_small),
    ] {
        println!(
            "| outbox ({what}): `POST /api/v1/messages` accepted, {} clients | {:.0} messages/s, p50 / p99 {:.2} / {:.2} ms |",
            o.clients, o.accepted_per_sec, o.p50_ms, o.p99_ms
        );
        println!(
            "| outbox ({what}): first request to last message settled `sent` | {:.0} messages/s = {:.0} µs per message ({} failed requests) |",
            o.settled_per_sec,
            1e6 / o.settled_per_sec,
            o.errors
        );
    }
    Ok(())
}

struct Outbox {
    engine: &'static str,
    clients: usize,
    accepted_per_sec: f64,
    settled_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

const PROFILES: usize = 1_000;
const CLIENTS: usize = 16;

/// `newsletter`: the 35 KB bench newsletter per message; else a short receipt.
async fn outbox(b: &EmailBench, newsletter: bool) -> anyhow::Result<Outbox> {
    let tmp = tempfile::tempdir()?;
    let store = relais_store::open(b.database_url.as_deref(), None, tmp.path()).await?;
    let creds = admin::create_workspace(
        &store,
        &format!(
            "bench-email-{}-{}",
            std::process::id(),
            if newsletter { "newsletter" } else { "receipt" }
        ),
        None,
        None,
    )
    .await?;
    let engine = Engine::start(store.clone(), bench_config()).await?;
    let (addr, server) = super::serve_local(&engine).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()?;

    // The recipients, through the tracking API like any customer.
    let batch: Vec<_> = (0..PROFILES)
        .map(|i| json!({"type":"identify","userId":format!("r{i}"),"traits":{"email":format!("r{i}@client.example"),"first_name":"Ana"}}))
        .collect();
    http.post(format!("http://{addr}/v1/batch"))
        .header("authorization", basic(&creds.write_key))
        .json(&json!({ "batch": batch }))
        .send()
        .await?
        .error_for_status()?;
    let head = store.log_head().await?;
    engine
        .pipeline
        .wait_processed(head, Duration::from_secs(600))
        .await;

    // The bench template reads its variables at the top level; in a message
    // they come from the profile and the send's `data`.
    let mjml = format!(
        "{{% assign first_name = traits.first_name %}}{{% assign products = data.products %}}\
         {{% assign campaign = data.campaign %}}{}",
        email::NEWSLETTER_MJML
    );
    let next = Arc::new(AtomicUsize::new(0));
    let n = b.outbox_messages;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (next, http, mjml) = (next.clone(), http.clone(), mjml.clone());
        let url = format!("http://{addr}/api/v1/messages");
        let auth = format!("Bearer {}", creds.admin_key);
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let content = if newsletter {
                    json!({"subject": "Spring sale", "mjml": mjml})
                } else {
                    json!({"subject": "Your receipt", "html": "<p>Thank you {{ traits.first_name }}, order {{ data.order }} is paid.</p>"})
                };
                let body = json!({"profile": format!("user_id:r{}", i % PROFILES), "channel": "email",
                    "transactional": true, "idempotency_key": format!("bench-{i}"), "content": content,
                    "data": if newsletter { email::newsletter_context(i) } else { json!({"order": i}) }});
                let t0 = Instant::now();
                match http
                    .post(&url)
                    .header("authorization", &auth)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => lat.push(t0.elapsed().as_micros() as u64),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    let accepted_in = started.elapsed();
    lat.sort_unstable();
    // Settled when nothing is queued or being sent any more.
    let ws = creds.workspace.id;
    let pending = |status| MessageFilter {
        status: Some(status),
        limit: 1,
        ..MessageFilter::default()
    };
    loop {
        let queued = store.list_messages(ws, &pending(MessageStatus::Queued)).await?;
        let sending = store.list_messages(ws, &pending(MessageStatus::Sending)).await?;
        if queued.is_empty() && sending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let settled_in = started.elapsed();
    server.abort();
    engine.shutdown().await;
    Ok(Outbox {
        engine: store.engine(),
        clients: CLIENTS,
        accepted_per_sec: lat.len() as f64 / accepted_in.as_secs_f64(),
        settled_per_sec: lat.len() as f64 / settled_in.as_secs_f64(),
        p50_ms: pct(&lat, 0.5),
        p99_ms: pct(&lat, 0.99),
        errors,
    })
}
