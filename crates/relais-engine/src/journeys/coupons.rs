//! Coupon pools: unique codes per profile, imported (CSV, one code per
//! line, optional `code` header) or generated, assigned once per send step
//! and profile, with an alert when a pool runs low.

use crate::Engine;
use metrics::gauge;
use relais_core::{Error, ErrorCode, ProfileId, WorkspaceId};
use relais_store::CouponPoolStats;
use serde::{Deserialize, Serialize};

/// Most codes in one import.
pub const MAX_IMPORT: usize = 1_000_000;
/// Below this many free codes, every assignment logs a warning.
pub const LOW_WATER: i64 = 100;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    /// How many codes to add.
    pub count: usize,
    /// Printed before the random part (`WINBACK-`).
    #[serde(default)]
    pub prefix: String,
    /// Random characters after the prefix (default 8, from an alphabet
    /// without 0/O/1/I).
    #[serde(default)]
    pub length: Option<usize>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PoolView {
    pub pool: String,
    pub total: i64,
    pub assigned: i64,
    pub free: i64,
    /// `true` when fewer than 100 codes are free.
    pub low: bool,
}

impl From<CouponPoolStats> for PoolView {
    fn from(s: CouponPoolStats) -> Self {
        let free = s.total - s.assigned;
        PoolView {
            pool: s.pool,
            total: s.total,
            assigned: s.assigned,
            free,
            low: free < LOW_WATER,
        }
    }
}

fn check_pool(pool: &str) -> Result<(), Error> {
    if pool.is_empty()
        || pool.len() > 100
        || !pool
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    {
        return Err(Error::new(
            ErrorCode::InvalidField,
            format!("pool: {pool:?} must be 1-100 letters, digits, _ or -"),
        ));
    }
    Ok(())
}

/// Codes from CSV text: one per line (first column), an optional `code`
/// header; blank lines skipped. A bad line is an error naming it.
pub fn parse_csv(text: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split(',').next().unwrap_or("").trim().trim_matches('"');
        if code.is_empty() || (i == 0 && code.eq_ignore_ascii_case("code")) {
            continue;
        }
        if code.len() > 64 || code.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::new(
                ErrorCode::InvalidBody,
                format!(
                    "line {}: {code:?} is not a coupon code (at most 64 visible characters)",
                    i + 1
                ),
            ));
        }
        out.push(code.to_owned());
    }
    if out.len() > MAX_IMPORT {
        return Err(Error::new(
            ErrorCode::PayloadTooLarge,
            format!("at most {MAX_IMPORT} codes per import"),
        ));
    }
    Ok(out)
}

pub async fn import(
    engine: &Engine,
    ws: WorkspaceId,
    pool: &str,
    codes: Vec<String>,
) -> Result<PoolView, Error> {
    check_pool(pool)?;
    let now = relais_core::time::now_ms();
    for chunk in codes.chunks(10_000) {
        engine.store.add_coupons(ws, pool, chunk, now).await?;
    }
    stats(engine, ws, pool).await
}

pub async fn generate(engine: &Engine, ws: WorkspaceId, pool: &str, g: Generate) -> Result<PoolView, Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let length = g.length.unwrap_or(8);
    if !(6..=32).contains(&length) || g.count == 0 || g.count > MAX_IMPORT || g.prefix.len() > 32 {
        return Err(Error::new(
            ErrorCode::InvalidField,
            format!("count 1-{MAX_IMPORT}, length 6-32 and a prefix of at most 32 characters"),
        ));
    }
    let codes: Vec<String> = (0..g.count)
        .map(|_| {
            let r: String = (0..length)
                .map(|_| ALPHABET[rand::random::<u32>() as usize % ALPHABET.len()] as char)
                .collect();
            format!("{}{r}", g.prefix)
        })
        .collect();
    import(engine, ws, pool, codes).await
}

pub async fn stats(engine: &Engine, ws: WorkspaceId, pool: &str) -> Result<PoolView, Error> {
    let all = engine.store.coupon_pools(ws).await?;
    all.into_iter()
        .find(|p| p.pool == pool)
        .map(PoolView::from)
        .ok_or_else(|| Error::not_found(format!("no coupon pool {pool}")))
}

pub async fn list(engine: &Engine, ws: WorkspaceId) -> Result<Vec<PoolView>, Error> {
    Ok(engine
        .store
        .coupon_pools(ws)
        .await?
        .into_iter()
        .map(PoolView::from)
        .collect())
}

/// The code for one send (the same key: the same code); `None` when the
/// pool is exhausted. Warns while the pool is low.
pub async fn assign(
    engine: &Engine,
    ws: WorkspaceId,
    pool: &str,
    profile: ProfileId,
    key: &str,
    now: i64,
) -> Result<Option<String>, Error> {
    let code = engine.store.assign_coupon(ws, pool, profile, key, now).await?;
    if let Ok(s) = stats(engine, ws, pool).await {
        gauge!("relais_coupon_pool_free", "pool" => pool.to_owned()).set(s.free as f64);
        if s.low {
            tracing::warn!(workspace = %ws, pool, free = s.free, "coupon pool running low: import or generate codes");
        }
    }
    Ok(code)
}
