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
