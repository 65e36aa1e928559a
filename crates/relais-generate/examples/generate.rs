//! Writes a data set as NDJSON and prints its summary and the time taken.
//!
//! `cargo run --release -p relais-generate --example generate -- [profiles] [days] [seed] [out.ndjson]`
//! (without an output path, the lines are generated and discarded).

use relais_generate::{generate, GenerateOptions};
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u64| args.get(i).map_or(default, |s| s.parse().expect("a number"));
    let opts = GenerateOptions {
        profiles: num(0, 10_000),
        days: num(1, 30) as u32,
        seed: num(2, 42),
        ..GenerateOptions::default()
    };
    let out: Box<dyn std::io::Write> = match args.get(3) {
        Some(path) => Box::new(std::fs::File::create(path)?),
        None => Box::new(std::io::sink()),
    };
    let t0 = Instant::now();
    let summary = generate(&opts, out, |_| {})?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).expect("a summary serialises")
    );
    println!(
        "{} profiles, {} events ({:.1} per profile) in {secs:.2} s: {:.0} events/s, {:.0} profiles/s",
        summary.profiles,
        summary.events,
        summary.events as f64 / summary.profiles.max(1) as f64,
        summary.events as f64 / secs,
        summary.profiles as f64 / secs
    );
    Ok(())
}
