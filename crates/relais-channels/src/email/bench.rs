//! Throughput figures for `relais bench email`: rendering (Liquid + MJML + text
//! part) on one thread, and SMTP delivery through [`SmtpProvider`] to an
//! in-process sink.
//!
//! ```ignore
//! pub async fn render_throughput(n: usize, secs: f64) -> RenderFigures
//! pub async fn smtp_throughput(n_messages: usize, concurrency: usize, pool: u32) -> std::io::Result<SmtpFigures>
//! pub async fn smtp_throughput_dkim(n_messages: usize, concurrency: usize, pool: u32) -> std::io::Result<SmtpFigures>
//! ```

use super::render::{html_to_text, mjml_to_html, render_liquid};
use super::smtp::{DkimAlgorithm, DkimConfig, SmtpConfig, SmtpProvider, SmtpTls};
use crate::{Address, Content, EmailContent, Mailbox, Outgoing, Provider};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A newsletter as a marketer would write it (~5 KB of MJML with a product loop).
pub const NEWSLETTER_MJML: &str = include_str!("bench_newsletter.mjml");

/// The personalisation context of recipient `i`: a name and six products.
pub fn newsletter_context(i: usize) -> Value {
    let names = ["Ana", "Bruno", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro"];
    let products: Vec<Value> = (0..6)
        .map(|p| {
            json!({
                "name": format!("Linen shirt #{}", (i + p) % 40),
                "price": (19 + (i * 7 + p * 3) % 60) as f64 + 0.9,
                "url": format!("https://shop.example/p/{}", 1000 + (i + p) % 400),
                "image": format!("https://cdn.shop.example/img/{}.jpg", 1000 + (i + p) % 400),
                "on_sale": (i + p).is_multiple_of(3),
            })
        })
        .collect();
    json!({
        "first_name": names[i % names.len()],
        "products": products,
        "unsubscribe_url": format!("https://shop.example/u/{i:08x}"),
        "campaign": "spring-2025",
    })
}

/// What [`render_throughput`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderFigures {
    /// Complete renders: Liquid over the MJML, MJML to HTML, HTML to text.
    pub renders: u64,
    pub secs: f64,
    pub per_sec: f64,
    /// Mean time of each step, in microseconds.
    pub liquid_us: f64,
    pub mjml_us: f64,
    pub text_us: f64,
    pub template_bytes: usize,
    /// Size of the last HTML produced.
    pub html_bytes: usize,
}

impl std::fmt::Display for RenderFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "render: {} e-mails in {:.2} s = {:.0}/s on one thread (liquid {:.0} µs, mjml {:.0} µs, \
             text {:.0} µs; {} B of MJML → {} B of HTML)",
            self.renders,
            self.secs,
            self.per_sec,
            self.liquid_us,
            self.mjml_us,
            self.text_us,
            self.template_bytes,
            self.html_bytes
        )
    }
}

/// Renders the newsletter for up to `n` recipients or for `secs` seconds,
/// whichever ends first, on one (blocking) thread: figures per core.
pub async fn render_throughput(n: usize, secs: f64) -> RenderFigures {
    tokio::task::spawn_blocking(move || render_loop(n, secs))
        .await
        .expect("the render loop does not panic")
}

fn render_loop(n: usize, secs: f64) -> RenderFigures {
    let limit = Duration::from_secs_f64(secs.max(0.0));
    let (mut liquid, mut mjml, mut text) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut html_bytes = 0;
    let started = Instant::now();
    let mut done = 0u64;
    while (done as usize) < n && started.elapsed() < limit {
        let ctx = newsletter_context(done as usize);
        let t0 = Instant::now();
        let source = render_liquid(NEWSLETTER_MJML, &ctx).expect("the newsletter renders");
        let t1 = Instant::now();
        let html = mjml_to_html(&source).expect("the newsletter is valid MJML");
        let t2 = Instant::now();
        let plain = html_to_text(&html);
        let t3 = Instant::now();
        std::hint::black_box(&plain);
        liquid += t1 - t0;
        mjml += t2 - t1;
        text += t3 - t2;
        html_bytes = html.len();
        done += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let mean_us = |d: Duration| d.as_secs_f64() * 1e6 / done.max(1) as f64;
    RenderFigures {
        renders: done,
        secs,
        per_sec: done as f64 / secs.max(1e-9),
        liquid_us: mean_us(liquid),
        mjml_us: mean_us(mjml),
        text_us: mean_us(text),
        template_bytes: NEWSLETTER_MJML.len(),
        html_bytes,
    }
}

/// What [`smtp_throughput`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpFigures {
    /// Messages the provider reported accepted.
    pub delivered: u64,
    pub failed: u64,
    /// Messages the sink received (equals `delivered` unless something is wrong).
    pub received: u64,
    /// Connections the sink saw.
    pub connections: u64,
    pub message_bytes: usize,
    pub secs: f64,
    pub per_sec: f64,
}

impl std::fmt::Display for SmtpFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "smtp: {} e-mails delivered ({} failed) in {:.2} s = {:.0}/s over {} connections \
             ({} B each, sink received {})",
            self.delivered,
            self.failed,
            self.secs,
            self.per_sec,
            self.connections,
            self.message_bytes,
            self.received
        )
    }
}

/// Sends `n_messages` copies of the rendered newsletter (distinct ids) through an
/// [`SmtpProvider`] (`tls = none`, `pool_max_size = pool`) from `concurrency`
/// tasks, to an in-process sink on 127.0.0.1. The sink runs on the same runtime,
/// so on a small machine the figure is a floor for the client side.
pub async fn smtp_throughput(
    n_messages: usize,
    concurrency: usize,
    pool: u32,
) -> std::io::Result<SmtpFigures> {
    smtp_run(n_messages, concurrency, pool, None).await
}

/// A throwaway RSA-2048 key (PKCS#1) for [`smtp_throughput_dkim`] only: it signs
/// for nobody, its public half is published nowhere.
const BENCH_DKIM_KEY: &str = include_str!("bench_dkim_rsa.pem");

/// [`smtp_throughput`] with every message DKIM-signed (RSA-2048, SHA-256), as a
/// production relay does: the signature's CPU cost is then the limit.
pub async fn smtp_throughput_dkim(
    n_messages: usize,
    concurrency: usize,
    pool: u32,
) -> std::io::Result<SmtpFigures> {
    let dkim = DkimConfig {
        domain: "shop.example".into(),
        selector: "bench".into(),
        private_key_pem: Some(BENCH_DKIM_KEY.into()),
        private_key_file: None,
        algorithm: DkimAlgorithm::Rsa,
    };
    smtp_run(n_messages, concurrency, pool, Some(dkim)).await
}

async fn smtp_run(
    n_messages: usize,
    concurrency: usize,
    pool: u32,
    dkim: Option<DkimConfig>,
) -> std::io::Result<SmtpFigures> {
    let sink = Sink::start().await?;
    let mut cfg = SmtpConfig::new("127.0.0.1", sink.port);
    cfg.tls = SmtpTls::None;
    cfg.pool_max_size = pool.max(1);
    cfg.hello_name = Some("bench.relais.local".into());
    cfg.dkim = dkim;
    let provider = Arc::new(SmtpProvider::new(cfg).map_err(std::io::Error::other)?);
    let html = mjml_to_html(&render_liquid(NEWSLETTER_MJML, &newsletter_context(0)).expect("renders"))
        .expect("valid MJML");
    let content = EmailContent {
        from: Mailbox {
            address: "news@shop.example".into(),
            name: Some("Shop".into()),
        },
        reply_to: None,
        subject: "Spring sale: 20% off linen".into(),
        text: html_to_text(&html),
        html,
        headers: vec![
            (
                "List-Unsubscribe".into(),
                "<https://shop.example/u/0000002a>".into(),
            ),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
        ],
    };
    let message_bytes = content.html.len() + content.text.len();
    let next = Arc::new(AtomicUsize::new(0));
    let (delivered, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (provider, next, content) = (Arc::clone(&provider), Arc::clone(&next), content.clone());
        let (delivered, failed) = (Arc::clone(&delivered), Arc::clone(&failed));
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n_messages {
                    break;
                }
                let msg = Outgoing {
                    id: format!("msg_bench{i:08}"),
                    to: Address::Email(Mailbox {
                        address: format!("r{i}@client.example"),
                        name: None,
                    }),
                    content: Content::Email(content.clone()),
                };
                match provider.send(&msg).await {
                    Ok(_) => delivered.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for w in workers {
        w.await.map_err(std::io::Error::other)?;
    }
    let secs = started.elapsed().as_secs_f64();
    provider.close().await;
    let delivered = delivered.load(Ordering::Relaxed);
    Ok(SmtpFigures {
        delivered,
        failed: failed.load(Ordering::Relaxed),
        received: sink.messages.load(Ordering::Relaxed),
        connections: sink.connections.load(Ordering::Relaxed),
        message_bytes,
        secs,
        per_sec: delivered as f64 / secs.max(1e-9),
    })
}

/// A minimal SMTP server for measuring the client side: it accepts everything
/// (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no PIPELINING, no TLS, no AUTH),
/// counts connections and messages, and keeps nothing.
struct Sink {
    port: u16,
    connections: Arc<AtomicU64>,
    messages: Arc<AtomicU64>,
}

impl Sink {
    async fn start() -> std::io::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let connections = Arc::new(AtomicU64::new(0));
        let messages = Arc::new(AtomicU64::new(0));
        let (conns, msgs) = (Arc::clone(&connections), Arc::clone(&messages));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                conns.fetch_add(1, Ordering::Relaxed);
                let msgs = Arc::clone(&msgs);
                tokio::spawn(async move {
                    let _ = sink_session(stream, msgs).await;
                });
            }
        });
        Ok(Sink {
            port,
            connections,
            messages,
        })
    }
}

async fn sink_session(stream: tokio::net::TcpStream, messages: Arc<AtomicU64>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::with_capacity(64 * 1024, read);
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).map(|v| v.to_ascii_uppercase()).unwrap_or_default();
        let reply: &[u8] = match verb.as_slice() {
            b"EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            b"HELO" | b"MAIL" | b"RCPT" | b"RSET" | b"NOOP" => b"250 2.0.0 OK\r\n",
            b"QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            b"DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                loop {
                    line.clear();
                    if read.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                }
                let n = messages.fetch_add(1, Ordering::Relaxed);
                write
                    .write_all(format!("250 2.0.0 Ok: queued as SINK{n:X}\r\n").as_bytes())
                    .await?;
                continue;
            }
            _ => b"502 5.5.2 not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newsletter_renders() {
        let src = render_liquid(NEWSLETTER_MJML, &newsletter_context(3)).unwrap();
        assert!(src.contains("Dmitri") && src.contains("https://shop.example/u/00000003"));
        let html = mjml_to_html(&src).unwrap();
        let text = html_to_text(&html);
        assert!(text.contains("Linen shirt #3"), "{text}");
        assert!(
            (4000..8000).contains(&NEWSLETTER_MJML.len()),
            "{}",
            NEWSLETTER_MJML.len()
        );
    }

    #[tokio::test]
    async fn small_runs_report_figures() {
        let r = render_throughput(3, 30.0).await;
        assert_eq!(r.renders, 3);
        assert!(r.html_bytes > 10_000 && r.per_sec > 0.0, "{r}");
        let s = smtp_throughput(40, 8, 4).await.unwrap();
        assert_eq!((s.delivered, s.failed, s.received), (40, 0, 40), "{s}");
        assert!(s.connections <= 4, "{s}");
        let s = smtp_throughput_dkim(5, 2, 2).await.unwrap();
        assert_eq!((s.delivered, s.received), (5, 5), "{s}");
    }

    /// `cargo test -p relais-channels --release -- --ignored bench --nocapture`
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "benchmark: run in release"]
    async fn bench_email() {
        println!("{}", render_throughput(usize::MAX, 5.0).await);
        println!("{}", smtp_throughput(20_000, 64, 16).await.unwrap());
        println!("with DKIM {}", smtp_throughput_dkim(2_000, 64, 16).await.unwrap());
    }
}
