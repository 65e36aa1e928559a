//! The conformance suite against the embedded SQLite engine (a real file).

use relais_store::sqlite::SqliteStore;
use relais_store::DynStore;
use std::sync::Arc;

async fn fresh() -> DynStore {
    // The directory lives as long as the test process; SQLite needs the file.
    let dir = tempfile::tempdir().expect("tempdir").keep();
    Arc::new(SqliteStore::open(&dir.join("relais.db")).expect("open sqlite"))
}

relais_store::conformance_suite!(; fresh());

/// The migration that creates the interest index fills it from the states
/// already stored.
#[tokio::test]
async fn interest_index_is_backfilled_by_its_migration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("relais.db");
    let store = SqliteStore::open(&path).expect("open sqlite");
    let (ws, ids) = relais_store::conformance::interest_backfill_states(&store).await;
    drop(store);
    let c = rusqlite::Connection::open(&path).expect("open");
    c.execute_batch(
        "DROP TABLE product_interest;
         DELETE FROM schema_migrations WHERE version = 10;",
    )
    .expect("undo the migration");
    drop(c);
    let store = SqliteStore::open(&path).expect("reopen sqlite");
    relais_store::conformance::interest_backfill_found(&store, ws, &ids).await;
}
