//! The store conformance suite: what every engine must do, run unchanged
//! against SQLite and PostgreSQL (`tests/conformance_*.rs`).
//!
//! Each case takes a fresh, migrated, empty store. Add a case here (or in a
//! submodule: segments are in `conformance/segments.rs`, RFM in
//! `conformance/rfm.rs`, the commerce context in `conformance/catalog.rs`) and to the list in
//! [`conformance_suite!`] and both engines are held to it.

use crate::*;
use relais_core::identity::Identity;

mod catalog;
mod emitted;
mod event_names;
mod interest;
mod journeys;
mod messages;
mod pages;
mod rfm;
mod segments;

pub use catalog::*;
pub use emitted::*;
pub use event_names::*;
pub use interest::*;
pub use journeys::*;
pub use messages::*;
pub use pages::*;
pub use rfm::*;
pub use segments::*;

/// Expands to one `#[tokio::test]` per case. `$make` is an async expression
/// yielding a fresh store (`Arc<dyn Store>` or anything that derefs to one);
/// leading attributes (e.g. `#[ignore = "…"]`) are put on every test.
#[macro_export]
macro_rules! conformance_suite {
    ($(#[$m:meta])* ; $make:expr) => {
        $crate::conformance_suite!(@cases [$(#[$m])*] $make;
            migrate_is_idempotent,
            workspaces_sources_and_keys,
            append_dedups_per_workspace_and_message_id,
            read_log_pages_in_order,
            commit_processed_and_read_back,
            merges_repoint_identities_timeline_and_ids,
            search_by_identity_and_name_prefix,
            erase_removes_personal_data_and_keeps_audit,
            workspaces_are_isolated,
            segment_crud_and_name_conflicts,
            memberships_enter_exit_and_history,
            repeated_membership_changes_in_one_batch,
            segment_members_page_by_profile_id,
            segment_deletion_drops_members_and_late_changes,
            merges_move_segment_history_and_drop_loser_memberships,
            erase_removes_memberships_history_and_timer,
            timers_upsert_delete_and_come_due,
            backfill_progress_applies_to_its_version_only,
            profile_history_filters_names_in_profile_and_seq_order,
            profile_ids_page_over_existing_profiles,
            computed_traits_upsert_list_and_delete,
            restart_backfill_keeps_definition_and_ignores_old_progress,
            rfm_thresholds_replace_newer_only_and_list,
            emitted_events_reach_log_and_timeline_once,
            outbox_enqueue_is_idempotent_and_leases_claims,
            outbox_retries_settles_suppresses_and_emits,
            outbox_engagement_listing_and_caps,
            tasks_claim_complete_and_refuse,
            erase_and_merge_reach_messages_and_tasks,
            settings_are_set_once,
            catalog_items_upsert_page_and_get,
            shops_and_stock_levels_page_by_key,
            catalog_events_commit_with_their_change,
            catalog_is_isolated_per_workspace,
            journeys_keep_versions_and_refuse_duplicates,
            journey_instances_enter_once_and_save_with_trace,
            journey_timers_come_due_in_order,
            profile_instances_newest_first,
            journey_counts_instances_and_messages_by_prefix,
            journey_feed_commits_with_its_batch_and_acks,
            offers_one_per_group_until_expiry,
            racing_offer_grants_grant_one,
            coupons_add_assign_once_and_count,
            racing_coupon_assigns_hand_out_each_code_once,
            erase_removes_journey_rows_and_keeps_codes_used,
            journey_runs_enter_pages_once_with_their_progress,
            journey_run_pages_carry_their_messages,
            page_reads_answer_as_one_at_a_time,
            merges_take_journey_rows_to_the_winner,
            event_names_widen_add_up_and_stay_per_workspace,
            interest_index_follows_writes_erasure_and_merges
        );
    };
    (@cases $attrs:tt $make:expr; $($case:ident),* $(,)?) => {
        $( $crate::conformance_suite!(@one $attrs $make; $case); )*
    };
    (@one [$(#[$m:meta])*] $make:expr; $case:ident) => {
        $(#[$m])*
        #[tokio::test]
        async fn $case() {
            let store = $make.await;
            $crate::conformance::$case(&*store).await;
        }
    };
}

const NOW: i64 = 1_790_000_000_000;

fn ev(ws: WorkspaceId, src: SourceId, message_id: &str, payload: &str) -> NewEvent {
    NewEvent {
        workspace_id: ws,
        source_id: src,
        channel: "web".into(),
        message_id: message_id.into(),
        kind: "track".into(),
        received_at: NOW,
        timestamp: NOW - 5,
        payload: payload.into(),
    }
}

async fn setup(store: &dyn Store, name: &str) -> (WorkspaceId, SourceId) {
    let ws = store.create_workspace(name, NOW).await.unwrap();
    let src = store.create_source(ws.id, "site", "web", NOW).await.unwrap();
    (ws.id, src.id)
}

fn id(kind: &str, value: &str) -> Identity {
    Identity::new(kind, value).unwrap()
}

fn profile(ws: WorkspaceId, id: i64, state: &str, keys: Option<Vec<&str>>) -> ProfileWrite {
    ProfileWrite {
        workspace_id: ws,
        id: ProfileId(id),
        state: state.into(),
        created_at: NOW,
        updated_at: NOW,
        search_keys: keys.map(|k| k.into_iter().map(String::from).collect()),
        interests: None,
    }
}

fn trow(ws: WorkspaceId, p: i64, seq: i64, name: &str, channel: &str) -> TimelineRow {
    TimelineRow {
        workspace_id: ws,
        profile_id: ProfileId(p),
        seq,
        timestamp: NOW + seq,
        kind: "track".into(),
        name: name.into(),
        channel: channel.into(),
    }
}

fn link(ws: WorkspaceId, identity: Identity, p: i64) -> IdentityLink {
    IdentityLink {
        workspace_id: ws,
        identity,
        profile_id: ProfileId(p),
    }
}

/// Appends `n` events and returns their sequence numbers.
async fn append_n(store: &dyn Store, ws: WorkspaceId, src: SourceId, tag: &str, n: usize) -> Vec<i64> {
    let events: Vec<_> = (0..n)
        .map(|i| ev(ws, src, &format!("{tag}-{i}"), &format!(r#"{{"i":{i}}}"#)))
        .collect();
    store.append_events(&events).await.unwrap();
    let head = store.log_head().await.unwrap();
    ((head - n as i64 + 1)..=head).collect()
}

pub async fn migrate_is_idempotent(store: &dyn Store) {
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "a second migrate applies nothing"
    );
    assert_eq!(store.log_head().await.unwrap(), 0);
    assert_eq!(store.checkpoint().await.unwrap(), 0);
}

pub async fn workspaces_sources_and_keys(store: &dyn Store) {
    let ws = store.create_workspace("acme", NOW).await.unwrap();
    assert_eq!(ws.name, "acme");
    assert!(matches!(
        store.create_workspace("acme", NOW).await,
        Err(StoreError::Conflict(_))
    ));
    let other = store.create_workspace("globex", NOW).await.unwrap();
    assert_ne!(ws.id, other.id);
    assert_eq!(
        store.list_workspaces().await.unwrap(),
        vec![ws.clone(), other.clone()]
    );

    let till = store.create_source(ws.id, "till", "store", NOW).await.unwrap();
    assert_eq!(till.channel, "store");
    assert!(matches!(
        store.create_source(ws.id, "till", "web", NOW).await,
        Err(StoreError::Conflict(_))
    ));
    store.create_source(other.id, "till", "store", NOW).await.unwrap();
    assert_eq!(store.list_sources(ws.id).await.unwrap(), vec![till.clone()]);
    assert_eq!(store.get_source(till.id).await.unwrap(), Some(till.clone()));

    let key = KeyRecord {
        hash: "ab".repeat(32),
        prefix: "relais_wk_ab".into(),
        workspace_id: ws.id,
        kind: KeyKind::Write,
        source_id: Some(till.id),
        created_at: NOW,
    };
    store.insert_key(&key).await.unwrap();
    assert!(matches!(
        store.insert_key(&key).await,
        Err(StoreError::Conflict(_))
    ));
    let admin = KeyRecord {
        hash: "cd".repeat(32),
        prefix: "relais_ak_cd".into(),
        kind: KeyKind::Admin,
        source_id: None,
        ..key.clone()
    };
    store.insert_key(&admin).await.unwrap();
    assert_eq!(store.find_key(&key.hash).await.unwrap(), Some(key.clone()));
    assert_eq!(store.find_key(&"ef".repeat(32)).await.unwrap(), None);
    assert_eq!(store.list_keys(ws.id).await.unwrap().len(), 2);
    assert!(store.list_keys(other.id).await.unwrap().is_empty());
}

pub async fn append_dedups_per_workspace_and_message_id(store: &dyn Store) {
    let (ws, src) = setup(store, "a").await;
    let (ws2, src2) = setup(store, "b").await;
    let first = vec![
        ev(ws, src, "m1", "{}"),
        ev(ws, src, "m2", "{}"),
        ev(ws, src, "m1", "{}"),
    ];
    let out = store.append_events(&first).await.unwrap();
    assert_eq!(
        out,
        AppendOutcome {
            inserted: 2,
            duplicates: 1
        }
    );
    let again = vec![
        ev(ws, src, "m2", "{}"),
        ev(ws, src, "m3", "{}"),
        ev(ws2, src2, "m1", "{}"),
    ];
    let out = store.append_events(&again).await.unwrap();
    assert_eq!(
        out,
        AppendOutcome {
            inserted: 2,
            duplicates: 1
        }
    );
    assert_eq!(
        store.log_head().await.unwrap(),
        store.read_log(0, 100).await.unwrap().last().unwrap().seq
    );
    let log = store.read_log(0, 100).await.unwrap();
    let ids: Vec<_> = log
        .iter()
        .map(|e| (e.event.workspace_id, e.event.message_id.as_str()))
        .collect();
    assert_eq!(ids, vec![(ws, "m1"), (ws, "m2"), (ws, "m3"), (ws2, "m1")]);
    assert_eq!(store.append_events(&[]).await.unwrap(), AppendOutcome::default());
}

pub async fn read_log_pages_in_order(store: &dyn Store) {
    let (ws, src) = setup(store, "a").await;
    let mut e = ev(ws, src, "x", r#"{"type":"track","event":"é ✓"}"#);
    e.channel = "store".into();
    e.kind = "identify".into();
    e.timestamp = 42;
    store.append_events(&[e.clone()]).await.unwrap();
    let seqs = append_n(store, ws, src, "p", 25).await;
    let all = store.read_log(0, 1000).await.unwrap();
    assert_eq!(all.len(), 26);
    assert_eq!(all[0].event, e, "every field round-trips");
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    let page = store.read_log(seqs[9], 5).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        seqs[10..15].to_vec()
    );
    assert!(store
        .read_log(*seqs.last().unwrap(), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn commit_processed_and_read_back(store: &dyn Store) {
    let (ws, src) = setup(store, "a").await;
    let seqs = append_n(store, ws, src, "e", 4).await;
    let p = seqs[0];
    let batch = ProcessedBatch {
        checkpoint: seqs[3],
        timeline: vec![
            trow(ws, p, seqs[0], "Product Viewed", "web"),
            trow(ws, p, seqs[1], "Product Added", "app"),
            trow(ws, p, seqs[2], "Product Added", "web"),
            trow(ws, p, seqs[3], "Order Completed", "store"),
        ],
        identities: vec![
            link(ws, id("anonymous_id", "a1"), p),
            link(ws, id("email", "ada@x.io"), p),
        ],
        merges: vec![],
        profiles: vec![profile(ws, p, r#"{"v":1}"#, Some(vec!["ada"]))],
        ..Default::default()
    };
    store.commit_processed(&batch).await.unwrap();
    assert_eq!(store.checkpoint().await.unwrap(), seqs[3]);
    assert_eq!(
        store.find_profile(ws, &id("email", "ada@x.io")).await.unwrap(),
        Some(ProfileId(p))
    );
    assert_eq!(
        store.find_profile(ws, &id("email", "bob@x.io")).await.unwrap(),
        None
    );
    let got = store.get_profile(ws, ProfileId(p)).await.unwrap().unwrap();
    assert_eq!((got.id, got.state.as_str()), (ProfileId(p), r#"{"v":1}"#));
    assert_eq!(store.profile_identities(ws, ProfileId(p)).await.unwrap().len(), 2);

    let q = |before, channel: Option<&str>, name: Option<&str>| TimelineQuery {
        before,
        limit: 2,
        channel: channel.map(String::from),
        name: name.map(String::from),
    };
    let page1 = store
        .timeline(ws, ProfileId(p), &q(None, None, None))
        .await
        .unwrap();
    assert_eq!(
        page1.iter().map(|t| t.seq).collect::<Vec<_>>(),
        vec![seqs[3], seqs[2]]
    );
    assert_eq!(page1[0].payload.as_deref(), Some(r#"{"i":3}"#));
    assert_eq!(page1[0].message_id, "e-3");
    let page2 = store
        .timeline(ws, ProfileId(p), &q(Some(seqs[2]), None, None))
        .await
        .unwrap();
    assert_eq!(
        page2.iter().map(|t| t.seq).collect::<Vec<_>>(),
        vec![seqs[1], seqs[0]]
    );
    let web = store
        .timeline(ws, ProfileId(p), &q(None, Some("web"), None))
        .await
        .unwrap();
    assert_eq!(
        web.iter().map(|t| t.seq).collect::<Vec<_>>(),
        vec![seqs[2], seqs[0]]
    );
    let added = store
        .timeline(ws, ProfileId(p), &q(None, None, Some("Product Added")))
        .await
        .unwrap();
    assert_eq!(added.len(), 2);

    // A later write of the same profile replaces its state; search keys
    // stay when not given.
    let mut again = ProcessedBatch {
        checkpoint: seqs[3],
        ..Default::default()
    };
    again.profiles.push(profile(ws, p, r#"{"v":2}"#, None));
    store.commit_processed(&again).await.unwrap();
    assert_eq!(
        store.get_profile(ws, ProfileId(p)).await.unwrap().unwrap().state,
        r#"{"v":2}"#
    );
    assert_eq!(
        store.search_profiles(ws, &[], Some("ad"), 10).await.unwrap(),
        vec![ProfileId(p)]
    );
}

pub async fn merges_repoint_identities_timeline_and_ids(store: &dyn Store) {
    let (ws, src) = setup(store, "a").await;
    let s = append_n(store, ws, src, "e", 3).await;
    let (old, young, third) = (s[0], s[1], s[2]);
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: s[2],
            timeline: vec![
                trow(ws, old, s[0], "A", "app"),
                trow(ws, young, s[1], "B", "web"),
                trow(ws, third, s[2], "C", "web"),
            ],
            identities: vec![
                link(ws, id("anonymous_id", "phone"), old),
                link(ws, id("anonymous_id", "laptop"), young),
                link(ws, id("user_id", "u1"), third),
            ],
            merges: vec![],
            profiles: vec![
                profile(ws, old, "{}", Some(vec!["ada"])),
                profile(ws, young, "{}", Some(vec!["young"])),
                profile(ws, third, "{}", None),
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    let merge = |winner: i64, loser: i64, seq: i64| MergeRecord {
        workspace_id: ws,
        kind: MergeKind::Merge,
        winner: ProfileId(winner),
        loser: ProfileId(loser),
        seq,
        at: NOW,
        reason: "test".into(),
    };
    // young -> third first, then third -> old: a chain in one batch.
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: s[2],
            merges: vec![merge(young, third, s[2]), merge(old, young, s[2])],
            profiles: vec![profile(ws, old, r#"{"merged":true}"#, None)],
            ..Default::default()
        })
        .await
        .unwrap();
    for (kind, v) in [
        ("anonymous_id", "phone"),
        ("anonymous_id", "laptop"),
        ("user_id", "u1"),
    ] {
        assert_eq!(
            store.find_profile(ws, &id(kind, v)).await.unwrap(),
            Some(ProfileId(old)),
            "{kind}:{v}"
        );
    }
    for stale in [young, third] {
        let p = store
            .get_profile(ws, ProfileId(stale))
            .await
            .unwrap()
            .expect("merged ids still resolve");
        assert_eq!(p.id, ProfileId(old));
        assert_eq!(p.state, r#"{"merged":true}"#);
    }
    let tl = store
        .timeline(
            ws,
            ProfileId(old),
            &TimelineQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        tl.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        vec!["C", "B", "A"]
    );
    assert_eq!(
        store.profile_identities(ws, ProfileId(old)).await.unwrap().len(),
        3
    );
    assert!(store
        .search_profiles(ws, &[], Some("young"), 10)
        .await
        .unwrap()
        .is_empty());
    let merges = store.merges(ws, ProfileId(old)).await.unwrap();
    assert_eq!(merges.len(), 1);
    assert_eq!(store.merges(ws, ProfileId(young)).await.unwrap().len(), 2);

    let conflict = MergeRecord {
        kind: MergeKind::Conflict,
        ..merge(old, 999_999, s[2])
    };
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: s[2],
            merges: vec![conflict.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        store.merges(ws, ProfileId(old)).await.unwrap().last(),
        Some(&conflict)
    );
    assert!(
        store.get_profile(ws, ProfileId(old)).await.unwrap().is_some(),
        "a conflict merges nothing"
    );
}

pub async fn search_by_identity_and_name_prefix(store: &dyn Store) {
    let (ws, src) = setup(store, "a").await;
    let s = append_n(store, ws, src, "e", 3).await;
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: s[2],
            identities: vec![
                link(ws, id("email", "ada@x.io"), s[0]),
                link(ws, id("loyalty_id", "L-7"), s[1]),
            ],
            profiles: vec![
                profile(ws, s[0], "{}", Some(vec!["ada lovelace", "lovelace"])),
                profile(ws, s[1], "{}", Some(vec!["adam smith", "smith"])),
                profile(ws, s[2], "{}", Some(vec!["zoe"])),
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    let ids = |v: &[i64]| v.iter().map(|i| ProfileId(*i)).collect::<Vec<_>>();
    assert_eq!(
        store.search_profiles(ws, &[], Some("ada"), 10).await.unwrap(),
        ids(&[s[0], s[1]])
    );
    assert_eq!(
        store.search_profiles(ws, &[], Some("ada"), 1).await.unwrap(),
        ids(&[s[0]])
    );
    assert_eq!(
        store.search_profiles(ws, &[], Some("smi"), 10).await.unwrap(),
        ids(&[s[1]])
    );
    assert_eq!(
        store.search_profiles(ws, &[], Some("q"), 10).await.unwrap(),
        ids(&[])
    );
    let by_id = store
        .search_profiles(
            ws,
            &[id("loyalty_id", "L-7"), id("email", "nobody@x.io")],
            Some("zo"),
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        by_id,
        ids(&[s[1], s[2]]),
        "identity matches first, then prefix matches"
    );
}

pub async fn erase_removes_personal_data_and_keeps_audit(store: &dyn Store) {
    let (ws, src) = setup(store, "a").await;
    let s = append_n(store, ws, src, "e", 3).await;
    let (gone, kept) = (s[0], s[2]);
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: s[2],
            timeline: vec![
                trow(ws, gone, s[0], "A", "web"),
                trow(ws, gone, s[1], "B", "web"),
                trow(ws, kept, s[2], "C", "web"),
            ],
            identities: vec![
                link(ws, id("email", "gone@x.io"), gone),
                link(ws, id("email", "kept@x.io"), kept),
            ],
            profiles: vec![
                profile(ws, gone, "{}", Some(vec!["gone"])),
                profile(ws, kept, "{}", Some(vec!["kept"])),
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    let audit = AuditRecord {
        workspace_id: ws,
        at: NOW,
        action: "profile.erase".into(),
        subject: ProfileId(gone).to_string(),
        detail: "2 events".into(),
    };
    let erased = store
        .erase_profile(ws, ProfileId(gone), &audit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        erased,
        Erasure {
            events_erased: 2,
            identities_removed: 1
        }
    );
    assert_eq!(store.get_profile(ws, ProfileId(gone)).await.unwrap(), None);
    assert_eq!(
        store.find_profile(ws, &id("email", "gone@x.io")).await.unwrap(),
        None
    );
    assert!(store
        .search_profiles(ws, &[], Some("gone"), 10)
        .await
        .unwrap()
        .is_empty());
    let log = store.read_log(0, 10).await.unwrap();
    assert_eq!(log[0].event.payload, "", "erased payloads are gone from the log");
    assert_eq!(log[1].event.payload, "");
    assert_eq!(log[2].event.payload, r#"{"i":2}"#);
    assert_eq!(store.audit_log(ws, 10).await.unwrap(), vec![audit.clone()]);
    assert_eq!(
        store.erase_profile(ws, ProfileId(gone), &audit).await.unwrap(),
        None
    );
    assert!(store.get_profile(ws, ProfileId(kept)).await.unwrap().is_some());
    // A client retry of an erased event is still recognised as a duplicate.
    let dup = store.append_events(&[ev(ws, src, "e-0", "{}")]).await.unwrap();
    assert_eq!(dup.duplicates, 1);
}

pub async fn workspaces_are_isolated(store: &dyn Store) {
    let (a, src_a) = setup(store, "a").await;
    let (b, src_b) = setup(store, "b").await;
    let sa = append_n(store, a, src_a, "e", 1).await;
    let sb = append_n(store, b, src_b, "e", 1).await;
    let same = id("email", "same@x.io");
    for (ws, p) in [(a, sa[0]), (b, sb[0])] {
        store
            .commit_processed(&ProcessedBatch {
                checkpoint: sb[0],
                timeline: vec![trow(ws, p, p, "A", "web")],
                identities: vec![link(ws, same.clone(), p)],
                profiles: vec![profile(ws, p, "{}", Some(vec!["same"]))],
                ..Default::default()
            })
            .await
            .unwrap();
    }
    assert_eq!(
        store.find_profile(a, &same).await.unwrap(),
        Some(ProfileId(sa[0]))
    );
    assert_eq!(
        store.find_profile(b, &same).await.unwrap(),
        Some(ProfileId(sb[0]))
    );
    assert_eq!(store.get_profile(a, ProfileId(sb[0])).await.unwrap(), None);
    assert!(store
        .profile_identities(a, ProfileId(sb[0]))
        .await
        .unwrap()
        .is_empty());
    let q = TimelineQuery {
        limit: 10,
        ..Default::default()
    };
    assert!(store.timeline(a, ProfileId(sb[0]), &q).await.unwrap().is_empty());
    assert_eq!(
        store.search_profiles(a, &[same], Some("same"), 10).await.unwrap(),
        vec![ProfileId(sa[0])]
    );
    let audit = AuditRecord {
        workspace_id: a,
        at: NOW,
        action: "x".into(),
        subject: "y".into(),
        detail: String::new(),
    };
    assert_eq!(
        store.erase_profile(a, ProfileId(sb[0]), &audit).await.unwrap(),
        None
    );
    assert!(store.audit_log(b, 10).await.unwrap().is_empty());
}
