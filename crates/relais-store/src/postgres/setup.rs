//! Connecting to PostgreSQL: the pool (in its own schema when one is
//! named) and the versioned migrations, embedded and applied in order under
//! an advisory lock, each recorded in `schema_migrations`.

use super::*;

const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_segments.sql")),
    (3, include_str!("../../migrations/postgres/0003_rfm.sql")),
    (4, include_str!("../../migrations/postgres/0004_messages.sql")),
    (5, include_str!("../../migrations/postgres/0005_catalog.sql")),
    (6, include_str!("../../migrations/postgres/0006_journeys.sql")),
    (7, include_str!("../../migrations/postgres/0007_journey_runs.sql")),
    (8, include_str!("../../migrations/postgres/0008_event_names.sql")),
    (
        9,
        include_str!("../../migrations/postgres/0009_product_interest.sql"),
    ),
];

/// Advisory lock held while migrating (one key for the whole database:
/// migrations are rare and short, and the schema may not exist yet).
const MIGRATION_LOCK: i64 = 0x5245_4c41_4953_0001; // "RELAIS" 0001

/// Connections per node.
const POOL_SIZE: usize = 16;
/// How long a request waits for a free connection before `Unavailable`.
const POOL_WAIT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// High half of the advisory lock key that orders appends; the low half is
/// the OID of the `events` table, so deployments in different schemas of
/// one database do not serialise each other's appends.
const APPEND_LOCK_CLASS: i64 = 0x5245_4c41; // "RELA"

impl PgStore {
    /// Builds the pool, runs migrations and returns the store. With `schema`,
    /// every connection works in that schema (created if missing) instead of
    /// the server's default `search_path`.
    pub async fn connect(url: &str, schema: Option<&str>) -> anyhow::Result<PgStore> {
        let mut pg: tokio_postgres::Config = url
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid PostgreSQL URL: {e}"))?;
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(CONNECT_TIMEOUT);
        }
        if pg.get_application_name().is_none() {
            pg.application_name("relais");
        }
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let mut builder = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT + Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)));
        if let Some(schema) = schema {
            anyhow::ensure!(
                !schema.is_empty() && !schema.contains('\0'),
                "invalid schema name {schema:?}"
            );
            let set = format!("SET search_path TO {}", quote_ident(schema));
            builder = builder.post_create(Hook::async_fn(move |client, _| {
                let set = set.clone();
                Box::pin(async move { client.batch_execute(&set).await.map_err(HookError::Backend) })
            }));
        }
        let pool = builder
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the PostgreSQL pool: {e}"))?;
        let mut store = PgStore {
            pool,
            schema: schema.map(str::to_owned),
            append_lock: 0,
        };
        let applied = store.run_migrations().await?;
        if !applied.is_empty() {
            tracing::info!(?applied, schema = ?store.schema, "postgres migrations applied");
        }
        let client = store.client().await?;
        let oid: i64 = client
            .query_one("SELECT 'events'::regclass::oid::bigint", &[])
            .await
            .map_err(map_pg)?
            .get(0);
        store.append_lock = (APPEND_LOCK_CLASS << 32) | oid;
        Ok(store)
    }

    pub(super) async fn run_migrations(&self) -> StoreResult<Vec<u32>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        // Two nodes starting at once: the second waits here, then finds the
        // work done.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(map_pg)?;
        if let Some(schema) = &self.schema {
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(schema)))
                .await
                .map_err(map_pg)?;
        }
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(map_pg)?;
        let mut applied = Vec::new();
        for (version, sql) in MIGRATIONS {
            let v = *version as i32;
            let done: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)",
                    &[&v],
                )
                .await
                .map_err(map_pg)?
                .get(0);
            if !done {
                tx.batch_execute(sql).await.map_err(map_pg)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[&v, &relais_core::time::now_ms()],
                )
                .await
                .map_err(map_pg)?;
                applied.push(*version);
            }
        }
        tx.commit().await.map_err(map_pg)?;
        Ok(applied)
    }
}

/// Drops a schema and everything in it (test clean-up).
pub async fn drop_schema(url: &str, schema: &str) -> anyhow::Result<()> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_ident(schema)))
        .await?;
    drop(client);
    let _ = task.await;
    Ok(())
}

/// `"name"`, with embedded quotes doubled.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
