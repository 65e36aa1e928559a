//! `relais bench catalog`: the commerce context's costs.
//!
//! * the domain's own figures (`relais_catalog::bench`: in-memory stock
//!   book, nearest shop with stock, recommendations), over seeded data;
//! * what persistence adds (`--persisted-skus`, 0 skips it): products and
//!   stock files imported through the engine into a fresh SQLite store in
//!   batches (one transaction each), stock deltas in batches of 1,000 rows
//!   as shops would push them, and a cold reload of the whole context.

use clap::Args;
use relais_catalog::bench;
use relais_catalog::stock::Mode;
use relais_engine::catalog::rows::{self, Format, Kind};
use relais_engine::catalog::{CatalogConfig, Commerce};
use relais_store::DynStore;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

#[derive(Args)]
pub struct CatalogBench {
    /// Shops in the stock and nearest-shop runs.
    #[arg(long, default_value_t = 1_000)]
    shops: usize,
    /// SKUs (= products) in the stock and nearest-shop runs.
    #[arg(long, default_value_t = 20_000)]
    skus: usize,
    /// Stock updates applied after the initial load.
    #[arg(long, default_value_t = 1_000_000)]
    updates: usize,
    /// Nearest-shop queries per setting.
    #[arg(long, default_value_t = 20_000)]
    queries: usize,
    /// Profiles and orders of the recommendation model.
    #[arg(long, default_value_t = 100_000)]
    profiles: usize,
    #[arg(long, default_value_t = 300_000)]
    orders: usize,
    /// Products of the recommendation model.
    #[arg(long, default_value_t = 20_000)]
    products: usize,
    /// Products (and stock at --persisted-shops shops each) imported through
    /// the engine into SQLite; 0 skips the persisted run.
    #[arg(long, default_value_t = 20_000)]
    persisted_skus: usize,
    #[arg(long, default_value_t = 20)]
    persisted_shops: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub async fn run(b: CatalogBench) -> anyhow::Result<()> {
    println!("## relais bench catalog (one thread, in memory)");
    let stock = bench::stock_updates(b.shops, b.skus, b.updates, b.seed);
    println!("{stock}");
    let nearest = bench::nearest_with_stock(b.shops, b.skus, b.queries, b.seed + 1);
    println!("{nearest}");
    let recs = bench::recommendations(b.profiles, b.orders, b.products, b.seed + 2);
    println!("{recs}");
    if b.persisted_skus > 0 {
        persisted(b.persisted_skus, b.persisted_shops).await?;
    }
    Ok(())
}

async fn persisted(skus: usize, shops: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store: DynStore = Arc::new(relais_store::sqlite::SqliteStore::open(
        &dir.path().join("relais.db"),
    )?);
    let ws = store.create_workspace("bench", 0).await?.id;
    let commerce = Commerce::new(store.clone(), Arc::default(), CatalogConfig::default());
    let mut products = String::from("id,name,price,currency\n");
    for i in 0..skus {
        writeln!(products, "p{i},Product {i},{}.99,EUR", 5 + i % 200)?;
    }
    let mut levels = String::from("store_id,sku,quantity\n");
    for s in 0..shops {
        for i in 0..skus {
            writeln!(levels, "shop-{s},p{i},{}", (i * 7 + s) % 12)?;
        }
    }
    let rows_of =
        |kind, mode, text: &str| rows::open(kind, Format::Csv, mode, std::io::Cursor::new(text.to_owned()));
    println!("## persisted through the engine (SQLite, batches of 10,000 rows)");
    let t = Instant::now();
    let out = commerce
        .import(ws, rows_of(Kind::Products, Mode::Set, &products)?, 10_000, |_| {})
        .await?;
    let s = t.elapsed().as_secs_f64();
    println!(
        "  products import {:>10.0} rows/s  ({} rows)",
        out.applied as f64 / s,
        out.applied
    );
    let t = Instant::now();
    let out = commerce
        .import(ws, rows_of(Kind::Stock, Mode::Set, &levels)?, 10_000, |_| {})
        .await?;
    let s = t.elapsed().as_secs_f64();
    println!(
        "  stock import    {:>10.0} rows/s  ({} levels)",
        out.applied as f64 / s,
        out.applied
    );
    // Deltas as shops push them: 1,000 rows a request, one transaction each.
    let mut deltas = String::from("store_id,sku,quantity\n");
    let n = (skus * shops).min(200_000);
    for k in 0..n {
        writeln!(
            deltas,
            "shop-{},p{},{}",
            k % shops,
            (k * 31) % skus,
            if k % 3 == 0 { 2 } else { -1 }
        )?;
    }
    let t = Instant::now();
    let out = commerce
        .import(ws, rows_of(Kind::Stock, Mode::Delta, &deltas)?, 1_000, |_| {})
        .await?;
    let s = t.elapsed().as_secs_f64();
    println!(
        "  stock deltas    {:>10.0} rows/s  ({} rows in batches of 1,000; {} signals)",
        out.applied as f64 / s,
        out.applied,
        out.signals_total
    );
    let cold = Commerce::new(store, Arc::default(), CatalogConfig::default());
    let t = Instant::now();
    let state = cold.read(ws).await?;
    println!(
        "  cold reload     {:>10.0} ms      ({} products, {} levels)",
        t.elapsed().as_secs_f64() * 1000.0,
        state.catalog.len(),
        state.book.level_count()
    );
    Ok(())
}
