//! How PostgreSQL and pool errors become [`StoreError`]s.

use super::*;

/// The error with its cause: tokio-postgres' own message is only the kind
/// ("db error", "error connecting to server").
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.to_string();
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

pub(super) fn map_pg(e: tokio_postgres::Error) -> StoreError {
    let msg = describe(&e);
    if let Some(code) = e.code() {
        let c = code.code();
        return if c.starts_with("23") {
            // Integrity constraint violations (unique, foreign key, …), as
            // SQLite's SQLITE_CONSTRAINT.
            StoreError::Conflict(msg)
        } else if c.starts_with("08") // connection exception
            || c.starts_with("53") // insufficient resources
            || c.starts_with("57") // operator intervention: shutdown, cancel
            || c.starts_with("58") // system (I/O) error
            || c == "40001" // serialization failure
            || c == "40P01" // deadlock detected
            || c == "55P03"
        // lock not available
        {
            StoreError::Unavailable(msg)
        } else {
            StoreError::Other(msg)
        };
    }
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    let kind = e.to_string();
    if e.is_closed()
        || io
        || kind.starts_with("error connecting")
        || kind.starts_with("timeout")
        || kind.starts_with("error communicating")
        || kind.starts_with("connection closed")
    {
        StoreError::Unavailable(msg)
    } else {
        StoreError::Other(msg)
    }
}

pub(super) fn map_pool(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => match map_pg(e) {
            StoreError::Other(m) => StoreError::Other(format!("cannot connect: {m}")),
            other => other,
        },
        PoolError::PostCreateHook(HookError::Backend(e)) => map_pg(e),
        PoolError::NoRuntimeSpecified => StoreError::Other(e.to_string()),
        other => StoreError::Unavailable(other.to_string()),
    }
}
