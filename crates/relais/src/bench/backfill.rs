//! `relais bench backfill`: a new segment computed over every existing
//! profile, against the same condition written in SQL and run by DuckDB
//! over the same data exported to CSV and Parquet, in the same invocation.
//!
//! Steps: generate `--profiles` customers over `--days` (relais generate),
//! import them, wait until processed (untimed set-up); export the track
//! events with their resolved profile id to CSV (untimed; DuckDB also gets a
//! Parquet copy made untimed); then time (1) Relais from saving the segment
//! to its backfill being done, (2) DuckDB's query over the CSV, (3) over the
//! Parquet file. Both must find the same number of profiles.

use clap::Args;
use relais_core::ProfileId;
use relais_engine::{admin, import, segments, Engine};
use relais_store::{DynStore, SegmentStatus};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct BackfillBench {
    /// Customers to generate.
    #[arg(long, default_value_t = 20_000)]
    profiles: u64,
    /// Days simulated (about 1.2 events per customer per day).
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Python interpreter with the `duckdb` package (skipped when missing).
    #[arg(long, default_value = "python3", env = "RELAIS_BENCH_PYTHON")]
    python: String,
    /// Keep the data here instead of a temporary directory.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// "Spent more than 150 in January and viewed at least 3 knitwear products."
fn condition() -> Value {
    json!({"and": [
        {"event": "Order Completed", "between": ["2026-01-01", "2026-01-31T23:59:59Z"],
         "aggregate": {"fn": "sum", "property": "revenue", "op": "gt", "value": 150}},
        {"event": "Product Viewed", "where": [{"property": "category", "op": "eq", "value": "Knitwear"}],
         "count": {"op": "gte", "value": 3}}
    ]})
}

/// The same condition for DuckDB, over `events(profile_id, event, ts, category, revenue)`.
const SQL: &str = "WITH spend AS (
    SELECT profile_id, SUM(revenue) AS s FROM {T}
    WHERE event = 'Order Completed' AND ts BETWEEN 1767225600000 AND 1769903999000 AND revenue IS NOT NULL
    GROUP BY profile_id),
  views AS (
    SELECT profile_id, COUNT(*) AS c FROM {T}
    WHERE event = 'Product Viewed' AND category = 'Knitwear' GROUP BY profile_id)
SELECT COUNT(*) FROM spend JOIN views USING (profile_id) WHERE s > 150 AND c >= 3";

const DUCK: &str = r#"
import json, sys, time
try:
    import duckdb
except ImportError:
    print(json.dumps({"error": "the duckdb Python package is not installed"})); sys.exit(0)
csv, parquet, sql = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
src = f"read_csv('{csv}', header=true, columns={{'profile_id':'BIGINT','event':'VARCHAR','ts':'BIGINT','category':'VARCHAR','revenue':'DOUBLE'}})"
con.execute(f"COPY (SELECT * FROM {src}) TO '{parquet}' (FORMAT parquet)")
t = time.perf_counter(); n_csv = con.execute(sql.replace("{T}", src)).fetchone()[0]; csv_s = time.perf_counter() - t
t = time.perf_counter(); n_pq = con.execute(sql.replace("{T}", f"read_parquet('{parquet}')")).fetchone()[0]; pq_s = time.perf_counter() - t
print(json.dumps({"count_csv": n_csv, "count_parquet": n_pq, "csv_s": csv_s, "parquet_s": pq_s,
                  "version": duckdb.__version__, "threads": con.execute("select current_setting('threads')").fetchone()[0]}))
"#;

pub async fn run(b: BackfillBench) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = b.dir.clone().unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&dir)?;
    let data = dir.join("events.ndjson");
    let opts = relais_generate::GenerateOptions {
        profiles: b.profiles,
        days: b.days,
        ..Default::default()
    };
    eprintln!("generating {} customers over {} days…", b.profiles, b.days);
    let summary = relais_generate::generate(&opts, std::fs::File::create(&data)?, |_| {})?;

    let store = relais_store::open(None, None, &dir.join("store")).await?;
    let creds = admin::create_workspace(&store, "bench", None, None).await?;
    let ws = creds.workspace.id;
    let engine = Engine::start(store.clone(), super::bench_config()).await?;
    eprintln!("importing {} events…", summary.events);
    let started = Instant::now();
    let opts = import::ImportOptions {
        path: data.clone(),
        format: import::Format::Ndjson,
        workspace: ws,
        source: creds.source.clone(),
        batch_size: 5_000,
        limits: Default::default(),
    };
    import::run(&store, &opts, |_, _| {}).await?;
    let head = store.log_head().await?;
    engine
        .pipeline
        .wait_processed(head, Duration::from_secs(24 * 3600))
        .await;
    let load_s = started.elapsed().as_secs_f64();
    let profiles = store.count_profiles(ws).await?;

    eprintln!("exporting track events to CSV…");
    let csv = dir.join("events.csv");
    let exported = export_csv(&store, ws, &csv).await?;

    eprintln!("backfilling the segment…");
    let input = segments::SegmentInput {
        name: "bench backfill".into(),
        description: String::new(),
        condition: condition(),
    };
    let started = Instant::now();
    let seg = segments::save_new(&store, ws, &input)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    engine.pipeline.reload_definitions().await;
    loop {
        let s = store.get_segment(ws, seg.id).await?.expect("segment exists");
        if s.status == SegmentStatus::Active {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let relais_s = started.elapsed().as_secs_f64();
    let size = store.segment_size(ws, seg.id).await?;
    engine.shutdown().await;

    eprintln!("running DuckDB…");
    let duck = run_duckdb(&b.python, &csv, &dir.join("events.parquet"));

    println!("## relais bench backfill — sqlite store");
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| data | {} customers → {profiles} profiles, {} events ({exported} track events exported) |",
        b.profiles, summary.events
    );
    println!("| import + processing (set-up, not compared) | {load_s:.1} s |");
    println!("| Relais: segment saved → backfill done | {relais_s:.2} s ({size} members) |");
    match duck {
        Ok(d) if d.get("error").is_none() => {
            let f = |k: &str| d[k].as_f64().unwrap_or(f64::NAN);
            println!(
                "| DuckDB {} ({} threads), same SQL over CSV | {:.2} s ({} members) |",
                d["version"].as_str().unwrap_or("?"),
                d["threads"],
                f("csv_s"),
                d["count_csv"]
            );
            println!(
                "| DuckDB over Parquet | {:.2} s ({} members) |",
                f("parquet_s"),
                d["count_parquet"]
            );
            println!("| Relais / DuckDB-CSV time | {:.2} |", relais_s / f("csv_s"));
            println!(
                "| Relais / DuckDB-Parquet time | {:.2} |",
                relais_s / f("parquet_s")
            );
            let same = d["count_csv"].as_i64() == Some(size) && d["count_parquet"].as_i64() == Some(size);
            println!("| same members count | {} |", if same { "yes" } else { "NO" });
            anyhow::ensure!(same, "Relais and DuckDB disagree: {size} vs {d}");
        }
        Ok(d) => println!("| DuckDB | skipped: {} |", d["error"]),
        Err(e) => println!("| DuckDB | skipped: {e} |"),
    }
    Ok(())
}

/// Track events with their resolved profile: `profile_id,event,ts,category,revenue`.
async fn export_csv(store: &DynStore, ws: relais_core::WorkspaceId, path: &Path) -> anyhow::Result<u64> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "profile_id,event,ts,category,revenue")?;
    let mut after = ProfileId(0);
    let mut n = 0;
    loop {
        let ids = store.profile_ids(ws, after, 2_000).await?;
        let Some(last) = ids.last() else { break };
        after = *last;
        for r in store.profile_history(ws, &ids, None).await? {
            if r.kind != "track" {
                continue;
            }
            let p: Value = r
                .payload
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or(Value::Null);
            let props = &p["properties"];
            let category = props["category"].as_str().unwrap_or("");
            let revenue = props["revenue"]
                .as_f64()
                .map(|v| v.to_string())
                .unwrap_or_default();
            let event = r.name.replace('"', "\"\"");
            writeln!(
                w,
                "{},\"{event}\",{},\"{category}\",{revenue}",
                r.profile_id.0, r.timestamp
            )?;
            n += 1;
        }
    }
    w.flush()?;
    Ok(n)
}

fn run_duckdb(python: &str, csv: &Path, parquet: &Path) -> anyhow::Result<Value> {
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(DUCK)
        .arg(csv)
        .arg(parquet)
        .arg(SQL)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {python}: {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "DuckDB script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}
