//! `relais catalog import products|shops|stock FILE`: the commerce context
//! from files, on the store directly (no server needed). The file streams
//! in batches of rows, one transaction each; a running server sees the new
//! revision on its next catalog request and reloads (docs/catalog.md).

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use relais_catalog::stock::Mode;
use relais_engine::admin;
use relais_engine::catalog::rows::{self, Format, Kind};
use relais_engine::catalog::write::WriteOutcome;
use relais_engine::catalog::{CatalogConfig, Commerce};
use relais_store::DynStore;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum CatalogCmd {
    /// Import a CSV or NDJSON file of products (and variants), shops or stock.
    Import {
        /// What the file holds.
        kind: KindArg,
        /// The file (.csv, .ndjson / .jsonl, or .json: an array).
        file: PathBuf,
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Stock: `set` levels (default) or add `delta`s, for rows without a mode column.
        #[arg(long, value_enum, default_value_t = ModeArg::Set)]
        mode: ModeArg,
        /// csv, ndjson or json (default: from the file name).
        #[arg(long)]
        format: Option<String>,
        /// Rows per committed batch.
        #[arg(long, default_value_t = 10_000)]
        batch_size: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum KindArg {
    Products,
    Shops,
    Stock,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Set,
    Delta,
}

/// Bytes read so far, shown by the progress bar.
struct Counted<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

pub async fn run(cmd: CatalogCmd, store: DynStore, config: &CatalogConfig) -> anyhow::Result<()> {
    let CatalogCmd::Import {
        kind,
        file,
        workspace,
        mode,
        format,
        batch_size,
    } = cmd;
    let ws = admin::workspace_by_name(&store, &workspace).await?;
    let format = match format.as_deref() {
        None => Format::from_path(&file).with_context(|| {
            format!(
                "cannot tell the format of {} from its name: pass --format csv|ndjson|json",
                file.display()
            )
        })?,
        Some("csv") => Format::Csv,
        Some("ndjson") | Some("jsonl") => Format::Ndjson,
        Some("json") => Format::Json,
        Some(other) => anyhow::bail!("unknown --format {other:?}: use csv, ndjson or json"),
    };
    let kind = match kind {
        KindArg::Products => Kind::Products,
        KindArg::Shops => Kind::Shops,
        KindArg::Stock => Kind::Stock,
    };
    let mode = match mode {
        ModeArg::Set => Mode::Set,
        ModeArg::Delta => Mode::Delta,
    };
    let f = std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )?
        .progress_chars("=> "),
    );
    let input = Counted {
        inner: std::io::BufReader::new(f),
        bar: bar.clone(),
    };
    let rows = rows::open(kind, format, mode, input)
        .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.message))?;
    let commerce = Commerce::new(store, Arc::default(), config.clone());
    let progress = bar.clone();
    let out = commerce
        .import(ws.id, rows, batch_size, move |o| {
            progress.set_message(format!("{} rows, {} refused", o.received, o.failed));
        })
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    bar.finish_and_clear();
    print_summary(&out);
    Ok(())
}

fn print_summary(o: &WriteOutcome) {
    println!(
        "{} rows: {} applied ({} new, {} levels changed), {} refused; {} signals, {} events; revision {}",
        o.received, o.applied, o.created, o.changed, o.failed, o.signals_total, o.events, o.revision
    );
    for e in &o.errors {
        println!("  {e}");
    }
    if o.failed as usize > o.errors.len() {
        println!("  … and {} more refused rows", o.failed as usize - o.errors.len());
    }
    if let Some(why) = &o.fanout.skipped {
        println!("  per-profile events skipped: {why}");
    }
    for s in o.signals.iter().take(20) {
        let place = s.store_id.as_deref().or(s.scope).unwrap_or("");
        println!(
            "  signal {} {} {} ({})",
            s.signal,
            s.product_id.as_deref().unwrap_or("-"),
            s.sku.as_deref().unwrap_or("-"),
            place
        );
    }
    if o.signals_total > 20 {
        println!("  … and {} more signals", o.signals_total - 20);
    }
}
