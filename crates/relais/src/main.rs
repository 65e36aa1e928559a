//! `relais`: the one binary. Serve, migrate, import, generate, administer,
//! benchmark.

mod apply_cmd;
mod bench;
mod catalog_cmd;
mod config;
mod export_cmd;
mod segment_cmd;

// Ingest and processing allocate many small strings per event; in a profile
// of `relais bench ingest`, glibc's malloc/free took about a third of the
// CPU (docs/benchmarks.md). mimalloc is built for that pattern.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use config::FileConfig;
use indicatif::{ProgressBar, ProgressStyle};
use relais_engine::{admin, import, Engine};
use relais_store::DynStore;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "relais",
    version,
    about = "Relais: self-hosted cross-channel customer engagement"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives (shared by every subcommand that touches the store).
#[derive(Args, Clone)]
struct StoreArgs {
    /// Directory of the embedded SQLite database.
    #[arg(long, env = "RELAIS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of SQLite: postgres://user:pass@host/db
    #[arg(long, env = "RELAIS_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// PostgreSQL schema to work in (created if missing).
    #[arg(long, env = "RELAIS_DATABASE_SCHEMA")]
    database_schema: Option<String>,
    /// Configuration file (TOML).
    #[arg(long, env = "RELAIS_CONFIG")]
    config: Option<PathBuf>,
}

impl StoreArgs {
    fn file(&self) -> anyhow::Result<FileConfig> {
        FileConfig::load(self.config.as_deref())
    }
    async fn open(&self, file: &FileConfig) -> anyhow::Result<DynStore> {
        let dir = self
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("./relais-data"));
        let url = self.database_url.clone().or_else(|| file.database_url.clone());
        let schema = self
            .database_schema
            .clone()
            .or_else(|| file.database_schema.clone());
        relais_store::open(url.as_deref(), schema.as_deref(), &dir).await
    }
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server (tracking API, admin API, metrics).
    Serve {
        /// Address to listen on (port 0 picks a free port, printed at start).
        #[arg(long, env = "RELAIS_LISTEN")]
        listen: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// Log format: text or json.
        #[arg(long, env = "RELAIS_LOG_FORMAT")]
        log_format: Option<String>,
        /// Admin key of the default workspace, used on first start only.
        #[arg(long, env = "RELAIS_ADMIN_KEY", hide_env_values = true)]
        admin_key: Option<String>,
        /// Write key of the default workspace, used on first start only.
        #[arg(long, env = "RELAIS_WRITE_KEY", hide_env_values = true)]
        write_key: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Import an NDJSON file of Segment messages or a CSV file into the log.
    Import(ImportArgs),
    /// Write deterministic synthetic retailer data (NDJSON Segment messages).
    Generate {
        #[arg(long, default_value_t = 1000)]
        profiles: u64,
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output file (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Workspaces.
    #[command(subcommand)]
    Workspace(WorkspaceCmd),
    /// Sources (each gets a write key).
    #[command(subcommand)]
    Source(SourceCmd),
    /// Admin keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Segments: list, create from a condition file, follow a backfill.
    Segment {
        #[command(subcommand)]
        cmd: segment_cmd::SegmentCmd,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The commerce context: import products, shops and stock from files.
    Catalog {
        #[command(subcommand)]
        cmd: catalog_cmd::CatalogCmd,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Journeys as code: create or update journeys from YAML/JSON files
    /// through a running server (`-f`, repeatable; `--activate`).
    Apply(apply_cmd::ApplyArgs),
    /// Files for partners: the print shop's daily letters, ads audiences.
    Export {
        #[command(subcommand)]
        cmd: export_cmd::ExportCmd,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Benchmarks that print their figures.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
}

#[derive(Args)]
struct ImportArgs {
    /// The file (.ndjson / .jsonl, or .csv; .gz not supported yet).
    file: PathBuf,
    /// Write key of the source the events come from (its channel is recorded).
    #[arg(long, env = "RELAIS_WRITE_KEY", hide_env_values = true)]
    write_key: String,
    /// ndjson or csv (default: from the file name).
    #[arg(long)]
    format: Option<String>,
    /// CSV: message type of every row (default track).
    #[arg(long = "type")]
    kind: Option<String>,
    /// CSV: event name of every row (e.g. "Order Completed").
    #[arg(long)]
    event: Option<String>,
    /// CSV: column=path[:number|bool], e.g. total=properties.revenue:number (repeat).
    #[arg(long = "map")]
    map: Vec<String>,
    /// Events per committed batch.
    #[arg(long, default_value_t = 2000)]
    batch_size: usize,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand)]
enum WorkspaceCmd {
    /// Create a workspace with a default source; prints its keys once.
    Create {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List workspaces.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum SourceCmd {
    /// Create a source; prints its write key once.
    Create {
        #[arg(long, default_value = "default")]
        workspace: String,
        #[arg(long)]
        name: String,
        /// Touchpoint channel: web, app, store, call_centre, crm, server, …
        #[arg(long)]
        channel: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Create an admin key for a workspace; prints it once.
    Create {
        #[arg(long, default_value = "default")]
        workspace: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn init_logs(format: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RELAIS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == Some("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() {
    // One TLS crypto provider (ring) for every HTTP client in the process.
    relais_channels::http::install_crypto();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            store,
            log_format,
            admin_key,
            write_key,
        } => {
            let file = store.file()?;
            init_logs(log_format.as_deref().or(file.log_format.as_deref()));
            let listen = listen
                .or_else(|| file.listen.clone())
                .unwrap_or_else(|| "127.0.0.1:8080".into());
            serve(&listen, &store, file, admin_key, write_key).await
        }
        Command::Migrate { store } => {
            init_logs(None);
            let file = store.file()?;
            let s = store.open(&file).await?;
            // Opening ran the migrations; running them again reports nothing new.
            let again = s.migrate().await?;
            println!(
                "{} store is at the latest schema ({} migration(s) left)",
                s.engine(),
                again.len()
            );
            Ok(())
        }
        Command::Import(args) => run_import(args).await,
        Command::Generate {
            profiles,
            days,
            seed,
            output,
        } => generate(profiles, days, seed, output),
        Command::Workspace(WorkspaceCmd::Create { name, store }) => {
            let s = store.open(&store.file()?).await?;
            let c = admin::create_workspace(&s, &name, None, None).await?;
            print_credentials(&c);
            Ok(())
        }
        Command::Workspace(WorkspaceCmd::List { store }) => {
            let s = store.open(&store.file()?).await?;
            for w in s.list_workspaces().await? {
                println!("{}\t{}", w.id, w.name);
            }
            Ok(())
        }
        Command::Source(SourceCmd::Create {
            workspace,
            name,
            channel,
            store,
        }) => {
            let s = store.open(&store.file()?).await?;
            let ws = admin::workspace_by_name(&s, &workspace).await?;
            let (source, key) = admin::create_source(&s, ws.id, &name, &channel, None).await?;
            println!(
                "source {} ({}) in workspace {}",
                source.name, source.channel, ws.name
            );
            println!("write key: {key}");
            Ok(())
        }
        Command::Key(KeyCmd::Create { workspace, store }) => {
            let s = store.open(&store.file()?).await?;
            let ws = admin::workspace_by_name(&s, &workspace).await?;
            let key = admin::create_admin_key(&s, ws.id, None).await?;
            println!("admin key for workspace {}: {key}", ws.name);
            Ok(())
        }
        Command::Apply(a) => apply_cmd::run(a).await,
        Command::Segment { cmd, store } => {
            let s = store.open(&store.file()?).await?;
            segment_cmd::run(cmd, s).await
        }
        Command::Catalog { cmd, store } => {
            let file = store.file()?;
            let s = store.open(&file).await?;
            catalog_cmd::run(cmd, s, &file.engine.catalog).await
        }
        Command::Export { cmd, store } => {
            let file = store.file()?;
            let s = store.open(&file).await?;
            export_cmd::run(cmd, s, &file.engine).await
        }
        Command::Bench(cmd) => {
            if std::env::var_os("RELAIS_LOG").is_some() {
                init_logs(None);
            }
            bench::run(cmd).await
        }
    }
}

fn print_credentials(c: &admin::Credentials) {
    println!("workspace: {} ({})", c.workspace.name, c.workspace.id);
    println!("admin key: {}", c.admin_key);
    println!(
        "write key: {} (source {:?}, channel {})",
        c.write_key, c.source.name, c.source.channel
    );
    println!("These keys are shown once; Relais stores only their hashes.");
}

async fn serve(
    listen: &str,
    store_args: &StoreArgs,
    file: FileConfig,
    admin_key: Option<String>,
    write_key: Option<String>,
) -> anyhow::Result<()> {
    let store = store_args.open(&file).await?;
    if let Some(c) = admin::bootstrap(&store, admin_key, write_key).await? {
        println!("First start: created the default workspace.");
        print_credentials(&c);
    }
    // Install the metrics recorder before anything records.
    relais_server::metrics_handle();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let mut engine_config = file.engine;
    // Links in messages point here unless a public URL is configured.
    engine_config
        .channels
        .public_url
        .get_or_insert_with(|| format!("http://{addr}"));
    let engine = Engine::start(store.clone(), engine_config).await?;
    println!("relais listening on http://{addr} ({} store)", store.engine());
    tracing::info!(%addr, store = store.engine(), "relais started");
    relais_server::serve(listener, engine.clone(), shutdown_signal()).await?;
    tracing::info!("HTTP server stopped; draining the pipeline");
    engine.shutdown().await;
    tracing::info!("relais stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

async fn run_import(args: ImportArgs) -> anyhow::Result<()> {
    init_logs(None);
    let file = args.store.file()?;
    let store = args.store.open(&file).await?;
    let auth = relais_engine::keys::Auth::new(store.clone());
    let (workspace, source) = auth
        .writer(&args.write_key)
        .await
        .map_err(|e| anyhow::anyhow!("write key: {}", e.message))?;
    let mapping = import::CsvMapping {
        kind: args.kind,
        event: args.event,
        columns: args
            .map
            .iter()
            .map(|m| import::ColumnMap::parse(m))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!(e))?,
    };
    let format = match args.format.as_deref() {
        None => import::Format::guess(&args.file, mapping),
        Some("csv") => import::Format::Csv(mapping),
        Some("ndjson") | Some("jsonl") => import::Format::Ndjson,
        Some(other) => anyhow::bail!("unknown --format {other:?}: use ndjson or csv"),
    };
    let opts = import::ImportOptions {
        path: args.file.clone(),
        format,
        workspace,
        source,
        batch_size: args.batch_size.max(1),
        limits: file.engine.limits,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )?
        .progress_chars("=> "),
    );
    let report = import::run(&store, &opts, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    if report.resumed_after_line > 0 {
        println!("resumed after line {}", report.resumed_after_line);
    }
    println!(
        "{} lines: {} imported, {} already there, {} rejected",
        report.lines, report.imported, report.duplicates, report.rejected
    );
    for (line, reason) in &report.errors {
        println!("  line {line}: {reason}");
    }
    if report.rejected as usize > report.errors.len() {
        println!("  … and {} more", report.rejected as usize - report.errors.len());
    }
    Ok(())
}

fn generate(profiles: u64, days: u32, seed: u64, output: Option<PathBuf>) -> anyhow::Result<()> {
    let opts = relais_generate::GenerateOptions {
        profiles,
        days,
        seed,
        ..Default::default()
    };
    let bar = ProgressBar::new(profiles);
    bar.set_style(ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{bar:40}] {pos}/{len} customers {per_sec} ETA {eta}",
    )?);
    let summary = match &output {
        Some(path) => {
            let f =
                std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            relais_generate::generate(&opts, std::io::BufWriter::new(f), |n| bar.set_position(n))?
        }
        None => {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            relais_generate::generate(&opts, std::io::BufWriter::new(std::io::stdout().lock()), |_| {})?
        }
    };
    bar.finish_and_clear();
    eprintln!(
        "generated {} events for {} customers (seed {seed}, {days} days)",
        summary.events, summary.profiles
    );
    Ok(())
}
