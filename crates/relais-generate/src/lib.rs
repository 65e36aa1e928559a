//! Deterministic synthetic retailer data as Segment messages, one JSON object
//! per line (NDJSON), for demos, tests and benchmarks.
//!
//! Each customer is simulated on its own from `(seed, customer_index)`:
//! customers can be generated in parallel and [`customer_events`] gives any
//! one of them directly. A customer's events come out in time order;
//! customers come out one after another, so **the output is not globally
//! sorted by time** (sort it, or replay it per customer, as needed).
//!
//! The same options give the same bytes: the PRNG, the time formatting and
//! the JSON key order are implemented in this crate, so that upgrading a
//! dependency cannot change the data. `docs/generate.md` describes the data
//! and every distribution.

mod catalog;
mod data;
mod json;
mod offline;
mod online;
mod params;
mod persona;
mod plan;
mod rng;
mod sim;
#[cfg(test)]
mod tests;
mod time;

use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// Random stream of the customers (see [`rng::Rng::for_stream`]).
const CUSTOMER_STREAM: u64 = 1;
/// Random stream of the B2B companies.
const COMPANY_STREAM: u64 = 2;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Number of customers.
    pub profiles: u64,
    /// Length of the simulated period in days.
    pub days: u32,
    pub seed: u64,
    /// Start of the period; it ends at `start + days`.
    pub start: jiff::Timestamp,
    /// Share of customers who are B2B leads (identify with company traits
    /// and a `group` call).
    pub b2b_share: f64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            profiles: 1000,
            days: 30,
            seed: 42,
            // 2026-01-01T00:00:00Z
            start: jiff::Timestamp::from_second(1_767_225_600).expect("a valid timestamp"),
            b2b_share: 0.05,
        }
    }
}

/// Counts of what [`generate`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Lines written.
    pub events: u64,
    /// Customers simulated.
    pub profiles: u64,
    /// Events by kind: the event name for `track` calls (`Order Completed`),
    /// the message type for the others (`page`, `identify`, …).
    pub by_type: BTreeMap<String, u64>,
    /// Events by `context.touchpoint` (`web`, `app`, `store`, `call_centre`,
    /// `email`, `sms`).
    pub by_channel: BTreeMap<String, u64>,
}

/// Writes one JSON object per line; calls `progress(profiles_done)` now and then
/// (every 1000 customers and at the end).
pub fn generate<W: Write>(
    opts: &GenerateOptions,
    out: W,
    mut progress: impl FnMut(u64),
) -> std::io::Result<Summary> {
    let mut out = std::io::BufWriter::new(out);
    let mut summary = Summary {
        profiles: opts.profiles,
        ..Summary::default()
    };
    let mut buf = String::new();
    for index in 0..opts.profiles {
        buf.clear();
        for (key, channel) in write_customer(opts, index, &mut buf) {
            summary.events += 1;
            *summary.by_type.entry(key).or_default() += 1;
            *summary.by_channel.entry(channel.to_owned()).or_default() += 1;
        }
        out.write_all(buf.as_bytes())?;
        if (index + 1) % params::PROGRESS_EVERY == 0 {
            progress(index + 1);
        }
    }
    out.flush()?;
    progress(opts.profiles);
    Ok(summary)
}

/// The events of one customer, in time order, as JSON lines (without the
/// newline). The same as the customer's lines in [`generate`]'s output.
pub fn customer_events(opts: &GenerateOptions, customer_index: u64) -> Vec<String> {
    let mut buf = String::new();
    write_customer(opts, customer_index, &mut buf);
    buf.lines().map(str::to_owned).collect()
}

/// Simulates one customer and appends its lines (with newlines) to `buf`;
/// returns the summary key and channel of each line.
fn write_customer(opts: &GenerateOptions, index: u64, buf: &mut String) -> Vec<(String, &'static str)> {
    let rng = rng::Rng::for_stream(opts.seed, CUSTOMER_STREAM, index);
    let mut sim = sim::Sim::new(opts, rng, index);
    sim.plan();
    sim.run();
    let mut keys = Vec::with_capacity(sim.events.len());
    for (n, ev) in sim.events.into_iter().enumerate() {
        let mut body = ev.body;
        body.insert(
            "messageId".into(),
            format!("gen-{}-{index}-{n}", opts.seed).into(),
        );
        json::write_event(&serde_json::Value::Object(body), buf);
        buf.push('\n');
        keys.push((ev.key, ev.channel));
    }
    keys
}
