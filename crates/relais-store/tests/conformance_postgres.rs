//! The conformance suite against PostgreSQL: each case in a fresh schema of
//! the database named by `RELAIS_TEST_DATABASE_URL` (see `build.rs`;
//! `scripts/pg-setup.sh` brings one up). Without it the cases are ignored.

use relais_core::identity::Identity;
use relais_core::ProfileId;
use relais_store::postgres::PgStore;
use relais_store::sqlite::SqliteStore;
use relais_store::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SCHEMA_PREFIX: &str = "relais_test_";
/// Schemas left by earlier runs are dropped once they are this old.
const STALE_AFTER: Duration = Duration::from_secs(3600);

static COUNTER: AtomicU64 = AtomicU64::new(0);
static SWEPT: AtomicBool = AtomicBool::new(false);

fn url() -> String {
    std::env::var("RELAIS_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .expect("RELAIS_TEST_DATABASE_URL must name a PostgreSQL database (try scripts/pg-setup.sh)")
}

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// A schema name no other case uses: `relais_test_<pid>_<nanos>_<counter>`.
async fn new_schema(url: &str) -> String {
    if !SWEPT.swap(true, Ordering::SeqCst) {
        sweep_stale_schemas(url).await;
    }
    format!(
        "{SCHEMA_PREFIX}{}_{}_{}",
        std::process::id(),
        now().as_nanos(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

async fn connect(url: &str, schema: &str) -> PgStore {
    PgStore::connect(url, Some(schema))
        .await
        .unwrap_or_else(|e| panic!("connect to {url} (schema {schema}): {e:#}"))
}

async fn fresh() -> DynStore {
    let url = url();
    let schema = new_schema(&url).await;
    Arc::new(connect(&url, &schema).await)
}

/// Each case leaves its schema behind (the store lives until the test's
/// runtime ends); the first case of a run drops those of earlier runs.
async fn sweep_stale_schemas(url: &str) {
    let Ok((client, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await else {
        return;
    };
    let task = tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)",
            &[&SCHEMA_PREFIX],
        )
        .await
        .unwrap_or_default();
    drop(client);
    let _ = task.await;
    let cutoff = now().saturating_sub(STALE_AFTER).as_nanos();
    for row in rows {
        let name: String = row.get(0);
        // relais_test_<pid>_<nanos>_<counter>
        let nanos = name
            .strip_prefix(SCHEMA_PREFIX)
            .and_then(|rest| rest.split('_').nth(1))
            .and_then(|n| n.parse::<u128>().ok());
        if nanos.is_some_and(|n| n < cutoff) {
            let _ = relais_store::postgres::drop_schema(url, &name).await;
        }
    }
}

relais_store::conformance_suite!(
    #[cfg_attr(not(relais_pg), ignore = "RELAIS_TEST_DATABASE_URL not set: PostgreSQL suite skipped")]
    ; fresh()
);

// ---- PostgreSQL only: several nodes on one database ----------------------

/// Two nodes starting at once race on the migrations; then many writers on
/// both append while a reader follows the log the way the processor does
/// (`seq > last seen`). Every event must be seen: no sequence number may
/// become visible after a higher one has been read. The log stays dense
/// (duplicates draw no sequence number).
#[cfg_attr(
    not(relais_pg),
    ignore = "RELAIS_TEST_DATABASE_URL not set: PostgreSQL suite skipped"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_from_two_nodes_become_visible_in_order() {
    const WRITERS: usize = 8;
    const BATCHES: usize = 30;
    const PER_BATCH: usize = 10;
    let url = url();
    let schema = new_schema(&url).await;
    let (a, b) = tokio::join!(connect(&url, &schema), connect(&url, &schema));
    let nodes = [Arc::new(a), Arc::new(b)];
    let ws = nodes[0].create_workspace("w", 0).await.unwrap();
    let src = nodes[0].create_source(ws.id, "s", "web", 0).await.unwrap();

    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let node = nodes[w % 2].clone();
        writers.spawn(async move {
            for batch in 0..BATCHES {
                let mut events: Vec<NewEvent> = (0..PER_BATCH)
                    .map(|i| NewEvent {
                        workspace_id: ws.id,
                        source_id: src.id,
                        channel: "web".into(),
                        message_id: format!("w{w}-b{batch}-{i}"),
                        kind: "track".into(),
                        received_at: 0,
                        timestamp: 0,
                        payload: "{}".into(),
                    })
                    .collect();
                // A retry of the previous batch's first event, and a
                // duplicate inside this batch.
                let mut retry = events[0].clone();
                retry.message_id = format!("w{w}-b{}-0", batch.saturating_sub(1));
                events.push(retry);
                events.push(events[1].clone());
                let out = node.append_events(&events).await.unwrap();
                assert_eq!(
                    out,
                    AppendOutcome {
                        inserted: PER_BATCH,
                        duplicates: 2
                    }
                );
            }
        });
    }
    let total = (WRITERS * BATCHES * PER_BATCH) as i64;
    let reader = nodes[1].clone();
    let mut cursor = 0;
    let mut seen = 0i64;
    loop {
        let finished = writers.is_empty();
        let page = reader.read_log(cursor, 500).await.unwrap();
        for e in &page {
            assert_eq!(e.seq, cursor + 1, "the log is dense and read in order");
            cursor = e.seq;
            seen += 1;
        }
        while let Some(done) = writers.try_join_next() {
            done.unwrap();
        }
        if finished && page.is_empty() {
            break;
        }
    }
    assert_eq!(seen, total, "every appended event was read exactly once");
    assert_eq!(reader.log_head().await.unwrap(), total);
}

/// A segment deleted while the processor commits memberships for it (and a
/// merge whose loser is a member): the commit either finds it gone (and
/// drops them) or holds it until committed (and the delete then removes
/// them). No member outlives its segment, and neither side deadlocks.
#[cfg_attr(
    not(relais_pg),
    ignore = "RELAIS_TEST_DATABASE_URL not set: PostgreSQL suite skipped"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_never_outlive_a_segment_deleted_during_a_commit() {
    let store = fresh().await;
    let ws = store.create_workspace("w", 0).await.unwrap().id;
    for round in 0..30 {
        let seg = store
            .create_segment(ws, &format!("s{round}"), "", "{}", 0)
            .await
            .unwrap();
        let enter = |p: i64| MembershipChange {
            workspace_id: ws,
            segment_id: seg.id,
            profile_id: ProfileId(p),
            entered: true,
            at: 0,
            cause_seq: None,
            cause: "backfill".into(),
        };
        let loser = 1_000_000 + round;
        store
            .commit_processed(&ProcessedBatch {
                memberships: vec![enter(loser)],
                ..Default::default()
            })
            .await
            .unwrap();
        let batch = ProcessedBatch {
            merges: vec![MergeRecord {
                workspace_id: ws,
                kind: MergeKind::Merge,
                winner: ProfileId(2_000_000 + round),
                loser: ProfileId(loser),
                seq: 0,
                at: 0,
                reason: "test".into(),
            }],
            memberships: (1..=2_000).map(enter).collect(),
            ..Default::default()
        };
        let (committer, deleter) = (store.clone(), store.clone());
        let commit = tokio::spawn(async move { committer.commit_processed(&batch).await });
        let delete = tokio::spawn(async move { deleter.delete_segment(ws, seg.id).await });
        commit.await.unwrap().unwrap();
        assert!(delete.await.unwrap().unwrap());
        assert_eq!(store.segment_size(ws, seg.id).await.unwrap(), 0, "round {round}");
    }
}

/// Repeats inside one processed batch (the same timeline row, identifier or
/// profile twice) leave what SQLite's row-by-row statements leave.
#[cfg_attr(
    not(relais_pg),
    ignore = "RELAIS_TEST_DATABASE_URL not set: PostgreSQL suite skipped"
)]
#[tokio::test]
async fn repeated_rows_in_one_batch_match_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let lite: DynStore = Arc::new(SqliteStore::open(&dir.path().join("relais.db")).unwrap());
    let pg = fresh().await;
    let on_lite = repeated_rows_scenario(&*lite).await;
    let on_pg = repeated_rows_scenario(&*pg).await;
    assert_eq!(on_pg, on_lite);
}

async fn repeated_rows_scenario(store: &dyn Store) -> Vec<String> {
    let ws = store.create_workspace("w", 0).await.unwrap().id;
    let src = store.create_source(ws, "s", "web", 0).await.unwrap().id;
    let ev = |m: &str| NewEvent {
        workspace_id: ws,
        source_id: src,
        channel: "web".into(),
        message_id: m.into(),
        kind: "track".into(),
        received_at: 1,
        timestamp: 2,
        payload: format!("{{\"m\":\"{m}\"}}"),
    };
    let out = store
        .append_events(&[ev("a"), ev("b"), ev("a"), ev("c")])
        .await
        .unwrap();
    let log = store.read_log(0, 10).await.unwrap();
    let s: Vec<i64> = log.iter().map(|e| e.seq).collect();
    let trow = |p: i64, seq: i64, name: &str| TimelineRow {
        workspace_id: ws,
        profile_id: ProfileId(p),
        seq,
        timestamp: seq,
        kind: "track".into(),
        name: name.into(),
        channel: "web".into(),
    };
    let link = |kind: &str, value: &str, p: i64| IdentityLink {
        workspace_id: ws,
        identity: Identity::new(kind, value).unwrap(),
        profile_id: ProfileId(p),
    };
    let write = |p: i64, state: &str, at: i64, keys: Option<&[&str]>| ProfileWrite {
        workspace_id: ws,
        id: ProfileId(p),
        state: state.into(),
        created_at: at,
        updated_at: at,
        search_keys: keys.map(|k| k.iter().map(|k| k.to_string()).collect()),
        interests: None,
    };
    let (p1, p2) = (s[0], s[1]);
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: s[2],
            timeline: vec![
                trow(p1, s[0], "first"),
                trow(p2, s[1], "B"),
                trow(p1, s[0], "again"),
            ],
            identities: vec![
                link("email", "x@y.io", p1),
                link("anonymous_id", "anon", p1),
                link("email", "x@y.io", p2),
            ],
            merges: vec![],
            profiles: vec![
                write(p1, "p1 v1", 10, Some(&["ada", "lovelace"])),
                write(p2, "p2 v1", 11, Some(&["bob"])),
                write(p1, "p1 v2", 12, None),
                write(p2, "p2 v2", 13, Some(&["zed", "zed", "bobby"])),
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    let mut out_lines = vec![format!("{out:?}"), format!("{s:?}")];
    for p in [p1, p2] {
        out_lines.push(format!(
            "{:?}",
            store.get_profile(ws, ProfileId(p)).await.unwrap()
        ));
        out_lines.push(format!(
            "{:?}",
            store.profile_identities(ws, ProfileId(p)).await.unwrap()
        ));
        let q = TimelineQuery {
            limit: 10,
            ..Default::default()
        };
        out_lines.push(format!(
            "{:?}",
            store.timeline(ws, ProfileId(p), &q).await.unwrap()
        ));
    }
    for prefix in ["", "a", "b", "bo", "l", "z", "zed"] {
        let found = store.search_profiles(ws, &[], Some(prefix), 10).await.unwrap();
        out_lines.push(format!("{prefix:?} -> {found:?}"));
    }
    let by_id = store
        .search_profiles(
            ws,
            &[
                Identity::new("anonymous_id", "anon").unwrap(),
                Identity::new("email", "x@y.io").unwrap(),
            ],
            Some("b"),
            2,
        )
        .await
        .unwrap();
    out_lines.push(format!("{by_id:?}"));
    out_lines.push(format!("{:?}", store.checkpoint().await.unwrap()));

    // Bulk lookups, through a merge redirect and for unknown keys.
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: s[2],
            merges: vec![MergeRecord {
                workspace_id: ws,
                kind: MergeKind::Merge,
                winner: ProfileId(p1),
                loser: ProfileId(p2),
                seq: s[2],
                at: 5,
                reason: "test".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let ids = [
        (ws, Identity::new("email", "x@y.io").unwrap()),
        (ws, Identity::new("email", "nobody@y.io").unwrap()),
        (ws, Identity::new("anonymous_id", "anon").unwrap()),
    ];
    out_lines.push(format!("{:?}", store.find_profiles(&ids).await.unwrap()));
    let keys = [
        (ws, ProfileId(p2)),
        (ws, ProfileId(999)),
        (ws, ProfileId(p1)),
        (ws, ProfileId(p2)),
    ];
    out_lines.push(format!("{:?}", store.get_profiles(&keys).await.unwrap()));
    assert_eq!(store.find_profiles(&[]).await.unwrap(), vec![]);
    assert_eq!(store.get_profiles(&[]).await.unwrap(), vec![]);
    out_lines
}

/// The migration that creates the interest index fills it from the states
/// already stored.
#[cfg_attr(
    not(relais_pg),
    ignore = "RELAIS_TEST_DATABASE_URL not set: PostgreSQL suite skipped"
)]
#[tokio::test]
async fn interest_index_is_backfilled_by_its_migration() {
    let url = url();
    let schema = new_schema(&url).await;
    let store = connect(&url, &schema).await;
    let (ws, ids) = relais_store::conformance::interest_backfill_states(&store).await;
    drop(store);
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "SET search_path TO \"{schema}\";
             DROP TABLE product_interest;
             DELETE FROM schema_migrations WHERE version = 9;"
        ))
        .await
        .expect("undo the migration");
    drop(client);
    let _ = task.await;
    let store = connect(&url, &schema).await;
    relais_store::conformance::interest_backfill_found(&store, ws, &ids).await;
}
