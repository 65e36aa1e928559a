//! Conformance cases for segments, memberships, timers, backfill progress
//! and computed traits.

use super::*;
use relais_core::SegmentId;

fn change(
    ws: WorkspaceId,
    seg: SegmentId,
    p: i64,
    entered: bool,
    at: i64,
    cause_seq: Option<i64>,
    cause: &str,
) -> MembershipChange {
    MembershipChange {
        workspace_id: ws,
        segment_id: seg,
        profile_id: ProfileId(p),
        entered,
        at,
        cause_seq,
        cause: cause.into(),
    }
}

fn enter(ws: WorkspaceId, seg: SegmentId, p: i64, at: i64) -> MembershipChange {
    change(ws, seg, p, true, at, None, "event")
}

fn exit(ws: WorkspaceId, seg: SegmentId, p: i64, at: i64) -> MembershipChange {
    change(ws, seg, p, false, at, None, "event")
}

fn timer(ws: WorkspaceId, p: i64, due: Option<i64>) -> TimerWrite {
    TimerWrite {
        workspace_id: ws,
        profile_id: ProfileId(p),
        due,
    }
}

fn due(ws: WorkspaceId, p: i64, due: i64) -> DueTimer {
    DueTimer {
        workspace_id: ws,
        profile_id: ProfileId(p),
        due,
    }
}

fn progress(seg: &SegmentRecord, version: i64, cursor: i64, total: i64, finished: bool) -> SegmentProgress {
    SegmentProgress {
        workspace_id: seg.workspace_id,
        segment_id: seg.id,
        version,
        cursor,
        done: cursor,
        total,
        finished,
    }
}

/// Commits a batch of segment effects only, at the current checkpoint (as
/// timer and backfill batches do), and checks that it stays there.
async fn commit_effects(store: &dyn Store, batch: ProcessedBatch) {
    let at = store.checkpoint().await.unwrap();
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: at,
            ..batch
        })
        .await
        .unwrap();
    assert_eq!(store.checkpoint().await.unwrap(), at);
}

async fn memberships(store: &dyn Store, changes: Vec<MembershipChange>) {
    let batch = ProcessedBatch {
        memberships: changes,
        ..Default::default()
    };
    commit_effects(store, batch).await;
}

async fn segment(store: &dyn Store, ws: WorkspaceId, name: &str) -> SegmentRecord {
    store.create_segment(ws, name, "", "{}", NOW).await.unwrap()
}

/// Profiles with the sequence numbers of `n` new events as ids, committed
/// with one timeline row each.
async fn profiles(store: &dyn Store, ws: WorkspaceId, src: SourceId, n: usize) -> Vec<i64> {
    let s = append_n(store, ws, src, &format!("p{n}"), n).await;
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: *s.last().unwrap(),
            timeline: s.iter().map(|p| trow(ws, *p, *p, "Signed Up", "web")).collect(),
            profiles: s.iter().map(|p| profile(ws, *p, "{}", None)).collect(),
            ..Default::default()
        })
        .await
        .unwrap();
    s
}

fn pids(v: &[i64]) -> Vec<ProfileId> {
    v.iter().map(|p| ProfileId(*p)).collect()
}

pub async fn segment_crud_and_name_conflicts(store: &dyn Store) {
    let (ws, _) = setup(store, "a").await;
    let (other, _) = setup(store, "b").await;
    let vip = store
        .create_segment(ws, "VIP", "big spenders", r#"{"a":1}"#, NOW)
        .await
        .unwrap();
    assert_eq!(
        vip,
        SegmentRecord {
            workspace_id: ws,
            id: vip.id,
            name: "VIP".into(),
            description: "big spenders".into(),
            definition: r#"{"a":1}"#.into(),
            version: 1,
            status: SegmentStatus::Backfilling,
            backfill_cursor: 0,
            backfill_done: 0,
            backfill_total: 0,
            created_at: NOW,
            updated_at: NOW,
        }
    );
    assert!(matches!(
        store.create_segment(ws, "VIP", "", "{}", NOW).await,
        Err(StoreError::Conflict(_))
    ));
    let theirs = segment(store, other, "VIP").await;
    let lapsed = segment(store, ws, "Lapsed").await;
    assert!(
        vip.id < theirs.id && theirs.id < lapsed.id,
        "one sequence for all workspaces"
    );
    assert_eq!(store.get_segment(ws, vip.id).await.unwrap(), Some(vip.clone()));
    assert_eq!(store.get_segment(other, vip.id).await.unwrap(), None);
    assert_eq!(
        store.list_segments(Some(ws)).await.unwrap(),
        vec![vip.clone(), lapsed.clone()]
    );
    assert_eq!(
        store.list_segments(None).await.unwrap(),
        vec![vip.clone(), theirs.clone(), lapsed.clone()]
    );

    let batch = ProcessedBatch {
        segment_progress: vec![progress(&vip, 1, 40, 40, true)],
        ..Default::default()
    };
    commit_effects(store, batch).await;
    let active = store.get_segment(ws, vip.id).await.unwrap().unwrap();
    assert_eq!(active.status, SegmentStatus::Active);

    // Name and description alone: same version, still active.
    let renamed = store
        .update_segment(ws, vip.id, "VIPs", "the best", r#"{"a":1}"#, NOW + 1)
        .await
        .unwrap();
    let renamed_expected = SegmentRecord {
        name: "VIPs".into(),
        description: "the best".into(),
        updated_at: NOW + 1,
        ..active.clone()
    };
    assert_eq!(renamed, Some(renamed_expected.clone()));
    // A new definition: next version, backfilled again from the start.
    let redefined = store
        .update_segment(ws, vip.id, "VIPs", "the best", r#"{"a":2}"#, NOW + 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        redefined,
        SegmentRecord {
            definition: r#"{"a":2}"#.into(),
            version: 2,
            status: SegmentStatus::Backfilling,
            backfill_cursor: 0,
            backfill_done: 0,
            updated_at: NOW + 2,
            ..renamed_expected
        }
    );
    assert_eq!(
        store.get_segment(ws, vip.id).await.unwrap(),
        Some(redefined.clone())
    );

    assert!(matches!(
        store.update_segment(ws, lapsed.id, "VIPs", "", "{}", NOW).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_segment(ws, lapsed.id).await.unwrap(),
        Some(lapsed.clone())
    );
    for (w, id) in [(ws, theirs.id), (ws, SegmentId(999_999))] {
        assert_eq!(
            store.update_segment(w, id, "x", "", "{}", NOW).await.unwrap(),
            None
        );
    }
    assert_eq!(
        store.get_segment(other, theirs.id).await.unwrap(),
        Some(theirs.clone())
    );

    assert!(
        !store.delete_segment(ws, theirs.id).await.unwrap(),
        "not this workspace's"
    );
    assert!(store.delete_segment(ws, lapsed.id).await.unwrap());
    assert!(!store.delete_segment(ws, lapsed.id).await.unwrap());
    assert_eq!(store.get_segment(ws, lapsed.id).await.unwrap(), None);
    assert_eq!(store.list_segments(Some(ws)).await.unwrap(), vec![redefined]);
    let again = segment(store, ws, "Lapsed").await;
    assert!(again.id > lapsed.id, "a deleted segment's id is not reused");
}

pub async fn memberships_enter_exit_and_history(store: &dyn Store) {
    let (ws, _) = setup(store, "a").await;
    let seg = segment(store, ws, "S").await;
    let other = segment(store, ws, "T").await;
    let p = 7;
    let first = change(ws, seg.id, p, true, NOW, Some(11), "event");
    memberships(store, vec![first.clone()]).await;
    assert_eq!(store.segment_size(ws, seg.id).await.unwrap(), 1);
    assert_eq!(
        store.segment_members(ws, seg.id, None, 10).await.unwrap(),
        vec![Member {
            profile_id: ProfileId(p),
            entered_at: NOW
        }]
    );
    assert_eq!(
        store.profile_segments(ws, ProfileId(p)).await.unwrap(),
        vec![(seg.id, NOW)]
    );
    assert_eq!(
        store.segment_history(ws, ProfileId(p), 10).await.unwrap(),
        vec![first.clone()]
    );

    // Entering again keeps the first entry time (and is recorded).
    let again = change(ws, seg.id, p, true, NOW + 5, None, "backfill");
    let into_other = change(ws, other.id, p, true, NOW + 5, Some(12), "event");
    memberships(store, vec![again.clone(), into_other.clone()]).await;
    assert_eq!(
        store.profile_segments(ws, ProfileId(p)).await.unwrap(),
        vec![(seg.id, NOW), (other.id, NOW + 5)]
    );
    assert_eq!(store.segment_size(ws, other.id).await.unwrap(), 1);

    let out = change(ws, seg.id, p, false, NOW + 9, None, "timer");
    memberships(store, vec![out.clone()]).await;
    assert_eq!(store.segment_size(ws, seg.id).await.unwrap(), 0);
    assert!(store
        .segment_members(ws, seg.id, None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.profile_segments(ws, ProfileId(p)).await.unwrap(),
        vec![(other.id, NOW + 5)]
    );
    assert_eq!(
        store.segment_history(ws, ProfileId(p), 10).await.unwrap(),
        vec![out.clone(), into_other.clone(), again, first],
        "newest first"
    );
    assert_eq!(
        store.segment_history(ws, ProfileId(p), 2).await.unwrap(),
        vec![out, into_other]
    );
    assert!(store
        .segment_history(ws, ProfileId(p + 1), 10)
        .await
        .unwrap()
        .is_empty());
}

/// Several changes of one member in one batch leave what applying them one
/// by one would.
pub async fn repeated_membership_changes_in_one_batch(store: &dyn Store) {
    let (ws, _) = setup(store, "a").await;
    let [a, b, c, d] = [
        segment(store, ws, "A").await.id,
        segment(store, ws, "B").await.id,
        segment(store, ws, "C").await.id,
        segment(store, ws, "D").await.id,
    ];
    let p = 3;
    memberships(store, vec![enter(ws, a, p, NOW), enter(ws, d, p, NOW)]).await;
    let batch = vec![
        enter(ws, a, p, NOW + 1), // already in: keeps NOW …
        exit(ws, a, p, NOW + 2),  // … until it leaves
        enter(ws, a, p, NOW + 3),
        enter(ws, a, p, NOW + 4),
        enter(ws, b, p, NOW + 1),
        exit(ws, b, p, NOW + 2),
        exit(ws, c, p, NOW + 1),
        enter(ws, c, p, NOW + 2),
        enter(ws, c, p, NOW + 3),
        enter(ws, d, p, NOW + 5),
    ];
    memberships(store, batch.clone()).await;
    assert_eq!(
        store.profile_segments(ws, ProfileId(p)).await.unwrap(),
        vec![(a, NOW + 3), (c, NOW + 2), (d, NOW)]
    );
    let history = store.segment_history(ws, ProfileId(p), 100).await.unwrap();
    assert_eq!(history.len(), 12);
    assert_eq!(
        history[..batch.len()],
        batch.into_iter().rev().collect::<Vec<_>>(),
        "in list order"
    );
}

pub async fn segment_members_page_by_profile_id(store: &dyn Store) {
    let (ws, _) = setup(store, "a").await;
    let (ws2, _) = setup(store, "b").await;
    let seg = segment(store, ws, "S").await.id;
    let other = segment(store, ws, "T").await.id;
    let theirs = segment(store, ws2, "S").await.id;
    let mut changes: Vec<_> = [5, 3, 9, 1, 7]
        .iter()
        .map(|p| enter(ws, seg, *p, NOW + p))
        .collect();
    changes.push(enter(ws, other, 4, NOW));
    changes.push(enter(ws2, theirs, 2, NOW));
    memberships(store, changes).await;

    let page = |after: Option<i64>| async move {
        let got = store
            .segment_members(ws, seg, after.map(ProfileId), 2)
            .await
            .unwrap();
        for m in &got {
            assert_eq!(m.entered_at, NOW + m.profile_id.0);
        }
        got.iter().map(|m| m.profile_id.0).collect::<Vec<_>>()
    };
    assert_eq!(page(None).await, vec![1, 3]);
    assert_eq!(page(Some(3)).await, vec![5, 7]);
    assert_eq!(page(Some(7)).await, vec![9]);
    assert_eq!(page(Some(9)).await, Vec::<i64>::new());
    assert_eq!(page(Some(4)).await, vec![5, 7], "any id is a cursor");
    assert_eq!(store.segment_size(ws, seg).await.unwrap(), 5);
    assert_eq!(store.segment_size(ws, theirs).await.unwrap(), 0);
    assert!(store
        .segment_members(ws, theirs, None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.segment_size(ws2, theirs).await.unwrap(), 1);
}

pub async fn segment_deletion_drops_members_and_late_changes(store: &dyn Store) {
    let (ws, _) = setup(store, "a").await;
    let (ws2, _) = setup(store, "b").await;
    let live = segment(store, ws, "live").await;
    let gone = segment(store, ws, "gone").await;
    let theirs = segment(store, ws2, "theirs").await;
    memberships(
        store,
        vec![enter(ws, gone.id, 1, NOW), enter(ws, live.id, 1, NOW)],
    )
    .await;
    assert!(store.delete_segment(ws, gone.id).await.unwrap());
    assert_eq!(store.segment_size(ws, gone.id).await.unwrap(), 0);
    assert_eq!(
        store.profile_segments(ws, ProfileId(1)).await.unwrap(),
        vec![(live.id, NOW)]
    );
    assert_eq!(
        store.segment_history(ws, ProfileId(1), 10).await.unwrap().len(),
        2,
        "history outlives the segment"
    );

    // The processor evaluated `gone` before it was deleted; `theirs` is not
    // a segment of `ws`.
    let kept = enter(ws, live.id, 2, NOW + 1);
    let batch = ProcessedBatch {
        memberships: vec![
            enter(ws, gone.id, 2, NOW + 1),
            kept.clone(),
            exit(ws, gone.id, 1, NOW + 1),
            enter(ws, theirs.id, 2, NOW + 1),
        ],
        segment_progress: vec![progress(&gone, 1, 10, 10, true)],
        ..Default::default()
    };
    commit_effects(store, batch).await;
    assert_eq!(
        store.profile_segments(ws, ProfileId(2)).await.unwrap(),
        vec![(live.id, NOW + 1)]
    );
    assert_eq!(
        store.segment_history(ws, ProfileId(2), 10).await.unwrap(),
        vec![kept]
    );
    assert_eq!(
        store.segment_history(ws, ProfileId(1), 10).await.unwrap().len(),
        2
    );
    assert_eq!(store.get_segment(ws, gone.id).await.unwrap(), None);
    assert_eq!(store.segment_size(ws2, theirs.id).await.unwrap(), 0);
    assert!(store
        .segment_history(ws2, ProfileId(2), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn merges_move_segment_history_and_drop_loser_memberships(store: &dyn Store) {
    let (ws, src) = setup(store, "a").await;
    let s = profiles(store, ws, src, 2).await;
    let (winner, loser) = (s[0], s[1]);
    let seg = segment(store, ws, "S").await.id;
    let only_loser = segment(store, ws, "T").await.id;
    let batch = ProcessedBatch {
        memberships: vec![
            enter(ws, seg, winner, NOW),
            enter(ws, seg, loser, NOW + 1),
            enter(ws, only_loser, loser, NOW + 2),
        ],
        timers: vec![
            timer(ws, winner, Some(NOW + 100)),
            timer(ws, loser, Some(NOW + 50)),
        ],
        ..Default::default()
    };
    commit_effects(store, batch).await;
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: s[1],
            merges: vec![MergeRecord {
                workspace_id: ws,
                kind: MergeKind::Merge,
                winner: ProfileId(winner),
                loser: ProfileId(loser),
                seq: s[1],
                at: NOW,
                reason: "test".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        store.segment_members(ws, seg, None, 10).await.unwrap(),
        vec![Member {
            profile_id: ProfileId(winner),
            entered_at: NOW
        }]
    );
    assert_eq!(store.segment_size(ws, only_loser).await.unwrap(), 0);
    assert!(store
        .profile_segments(ws, ProfileId(loser))
        .await
        .unwrap()
        .is_empty());
    let history = store.segment_history(ws, ProfileId(winner), 10).await.unwrap();
    assert_eq!(
        history.iter().map(|h| (h.segment_id, h.at)).collect::<Vec<_>>(),
        vec![(only_loser, NOW + 2), (seg, NOW + 1), (seg, NOW)],
        "the loser's history is the winner's now"
    );
    assert!(history.iter().all(|h| h.profile_id == ProfileId(winner)));
    assert!(store
        .segment_history(ws, ProfileId(loser), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.due_timers(i64::MAX, 10).await.unwrap(),
        vec![due(ws, winner, NOW + 100)]
    );
}

pub async fn erase_removes_memberships_history_and_timer(store: &dyn Store) {
    let (ws, src) = setup(store, "a").await;
    let s = profiles(store, ws, src, 2).await;
    let (gone, kept) = (s[0], s[1]);
    let seg = segment(store, ws, "S").await.id;
    let batch = ProcessedBatch {
        memberships: vec![enter(ws, seg, gone, NOW), enter(ws, seg, kept, NOW)],
        timers: vec![timer(ws, gone, Some(NOW)), timer(ws, kept, Some(NOW + 1))],
        ..Default::default()
    };
    commit_effects(store, batch).await;
    let audit = AuditRecord {
        workspace_id: ws,
        at: NOW,
        action: "profile.erase".into(),
        subject: ProfileId(gone).to_string(),
        detail: String::new(),
    };
    assert!(store
        .erase_profile(ws, ProfileId(gone), &audit)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .profile_segments(ws, ProfileId(gone))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .segment_history(ws, ProfileId(gone), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.segment_members(ws, seg, None, 10).await.unwrap(),
        vec![Member {
            profile_id: ProfileId(kept),
            entered_at: NOW
        }]
    );
    assert_eq!(
        store
            .segment_history(ws, ProfileId(kept), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.due_timers(i64::MAX, 10).await.unwrap(),
        vec![due(ws, kept, NOW + 1)]
    );
}

pub async fn timers_upsert_delete_and_come_due(store: &dyn Store) {
    let (a, _) = setup(store, "a").await;
    let (b, _) = setup(store, "b").await;
    assert_eq!(store.next_timer().await.unwrap(), None);
    assert!(store.due_timers(i64::MAX, 10).await.unwrap().is_empty());
    let batch = ProcessedBatch {
        timers: vec![
            timer(a, 1, Some(300)),
            timer(a, 2, Some(100)),
            timer(a, 3, Some(200)),
            timer(b, 1, Some(150)),
            timer(b, 9, Some(150)),
            timer(a, 9, Some(150)),
        ],
        ..Default::default()
    };
    commit_effects(store, batch).await;
    assert_eq!(store.next_timer().await.unwrap(), Some(100));
    assert_eq!(
        store.due_timers(150, 10).await.unwrap(),
        vec![due(a, 2, 100), due(a, 9, 150), due(b, 1, 150), due(b, 9, 150)],
        "by due time, ties by workspace and profile"
    );
    assert_eq!(store.due_timers(99, 10).await.unwrap(), vec![]);

    let batch = ProcessedBatch {
        timers: vec![
            timer(a, 1, Some(50)), // moved earlier
            timer(a, 3, None),     // cleared
            timer(a, 2, Some(120)),
            timer(a, 2, None), // the last write of a profile wins
            timer(a, 4, None),
            timer(a, 4, Some(400)),
            timer(a, 5, None), // clearing no timer is fine
        ],
        ..Default::default()
    };
    commit_effects(store, batch).await;
    assert_eq!(store.next_timer().await.unwrap(), Some(50));
    assert_eq!(
        store.due_timers(i64::MAX, 10).await.unwrap(),
        vec![
            due(a, 1, 50),
            due(a, 9, 150),
            due(b, 1, 150),
            due(b, 9, 150),
            due(a, 4, 400)
        ]
    );
    assert_eq!(
        store.due_timers(i64::MAX, 2).await.unwrap(),
        vec![due(a, 1, 50), due(a, 9, 150)]
    );

    let batch = ProcessedBatch {
        timers: [(a, 1), (a, 9), (b, 1), (b, 9), (a, 4)]
            .iter()
            .map(|(ws, p)| timer(*ws, *p, None))
            .collect(),
        ..Default::default()
    };
    commit_effects(store, batch).await;
    assert_eq!(store.next_timer().await.unwrap(), None);
}

pub async fn backfill_progress_applies_to_its_version_only(store: &dyn Store) {
    let (ws, _) = setup(store, "a").await;
    let seg = segment(store, ws, "S").await;
    let get = || async { store.get_segment(ws, seg.id).await.unwrap().unwrap() };
    let apply = |p: Vec<SegmentProgress>| async move {
        let batch = ProcessedBatch {
            segment_progress: p,
            ..Default::default()
        };
        commit_effects(store, batch).await;
    };

    apply(vec![progress(&seg, 1, 10, 30, false)]).await;
    let v1 = SegmentRecord {
        backfill_cursor: 10,
        backfill_done: 10,
        backfill_total: 30,
        ..seg.clone()
    };
    assert_eq!(get().await, v1);
    apply(vec![
        progress(&seg, 1, 20, 30, false),
        progress(&seg, 1, 30, 30, true),
    ])
    .await;
    assert_eq!(
        get().await,
        SegmentRecord {
            backfill_cursor: 30,
            backfill_done: 30,
            status: SegmentStatus::Active,
            ..v1.clone()
        }
    );

    let v2 = store
        .update_segment(ws, seg.id, "S", "", r#"{"new":1}"#, NOW + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (v2.version, v2.status, v2.backfill_cursor),
        (2, SegmentStatus::Backfilling, 0)
    );
    // Progress of the old version, committed after the edit, is stale.
    apply(vec![progress(&seg, 1, 30, 30, true)]).await;
    assert_eq!(get().await, v2);
    apply(vec![
        progress(&seg, 2, 5, 31, false),
        progress(&seg, 1, 99, 99, true),
    ])
    .await;
    let v2_started = SegmentRecord {
        backfill_cursor: 5,
        backfill_done: 5,
        backfill_total: 31,
        ..v2.clone()
    };
    assert_eq!(get().await, v2_started);
    apply(vec![progress(&seg, 2, 31, 31, true)]).await;
    assert_eq!(
        get().await,
        SegmentRecord {
            backfill_cursor: 31,
            backfill_done: 31,
            status: SegmentStatus::Active,
            ..v2_started
        }
    );

    assert!(store.delete_segment(ws, seg.id).await.unwrap());
    apply(vec![progress(&seg, 2, 31, 31, true)]).await;
    assert_eq!(store.get_segment(ws, seg.id).await.unwrap(), None);
}

pub async fn profile_history_filters_names_in_profile_and_seq_order(store: &dyn Store) {
    let (ws, src) = setup(store, "a").await;
    let (ws2, src2) = setup(store, "b").await;
    let s = append_n(store, ws, src, "e", 6).await;
    let elsewhere = append_n(store, ws2, src2, "e", 1).await;
    let (p1, p2, p3) = (s[0], s[1], s[2]);
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: elsewhere[0],
            timeline: vec![
                trow(ws, p2, s[1], "Viewed", "web"),
                trow(ws, p1, s[5], "Viewed", "app"),
                trow(ws, p1, s[0], "Viewed", "web"),
                trow(ws, p3, s[2], "Viewed", "web"),
                trow(ws, p1, s[3], "Bought", "store"),
                trow(ws, p2, s[4], "Bought", "web"),
                // The same event on another timeline, erased with p3 below.
                trow(ws, p3, s[5], "Viewed", "app"),
                // Another workspace's row under the same profile number.
                trow(ws2, p1, elsewhere[0], "Viewed", "web"),
            ],
            profiles: vec![
                profile(ws, p1, "{}", None),
                profile(ws, p2, "{}", None),
                profile(ws, p3, "{}", None),
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    let audit = AuditRecord {
        workspace_id: ws,
        at: NOW,
        action: "profile.erase".into(),
        subject: ProfileId(p3).to_string(),
        detail: String::new(),
    };
    store
        .erase_profile(ws, ProfileId(p3), &audit)
        .await
        .unwrap()
        .unwrap();

    let row = |p: i64, i: usize, name: &str, channel: &str, payload: bool| HistoryRow {
        profile_id: ProfileId(p),
        seq: s[i],
        timestamp: NOW + s[i],
        kind: "track".into(),
        name: name.into(),
        channel: channel.into(),
        payload: payload.then(|| format!(r#"{{"i":{i}}}"#)),
    };
    let all = vec![
        row(p1, 0, "Viewed", "web", true),
        row(p1, 3, "Bought", "store", true),
        row(p1, 5, "Viewed", "app", false),
        row(p2, 1, "Viewed", "web", true),
        row(p2, 4, "Bought", "web", true),
    ];
    let history = |profiles: Vec<ProfileId>, names: Option<&'static [&'static str]>| async move {
        let names: Option<Vec<String>> = names.map(|n| n.iter().map(|s| s.to_string()).collect());
        store
            .profile_history(ws, &profiles, names.as_deref())
            .await
            .unwrap()
    };
    assert_eq!(history(pids(&[p3, p2, p1]), None).await, all);
    assert_eq!(
        history(pids(&[p2, p1]), Some(&["Bought"])).await,
        vec![all[1].clone(), all[4].clone()]
    );
    assert_eq!(history(pids(&[p1, p2]), Some(&["Bought", "Viewed"])).await, all);
    assert_eq!(history(pids(&[p2]), None).await, all[3..].to_vec());
    assert_eq!(history(pids(&[p1, p2]), Some(&[])).await, vec![]);
    assert_eq!(history(vec![], None).await, vec![]);
    // A backfill chunk: many ids, most without rows, some repeated.
    let mut chunk: Vec<ProfileId> = (0..2_000).map(|i| ProfileId(1_000_000 + i)).collect();
    chunk.extend(pids(&[p2, p1, p1]));
    assert_eq!(history(chunk, None).await, all);
}

pub async fn profile_ids_page_over_existing_profiles(store: &dyn Store) {
    let (ws, src) = setup(store, "a").await;
    let (ws2, src2) = setup(store, "b").await;
    let s = profiles(store, ws, src, 5).await;
    let theirs = profiles(store, ws2, src2, 1).await;
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: theirs[0],
            merges: vec![MergeRecord {
                workspace_id: ws,
                kind: MergeKind::Merge,
                winner: ProfileId(s[0]),
                loser: ProfileId(s[2]),
                seq: s[4],
                at: NOW,
                reason: "test".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let ids = |after: i64, limit: usize| async move {
        store.profile_ids(ws, ProfileId(after), limit).await.unwrap()
    };
    assert_eq!(ids(0, 2).await, pids(&[s[0], s[1]]));
    assert_eq!(ids(s[1], 2).await, pids(&[s[3], s[4]]), "merged away: skipped");
    assert_eq!(ids(s[4], 2).await, vec![]);
    assert_eq!(ids(0, 10).await, pids(&[s[0], s[1], s[3], s[4]]));
    assert_eq!(store.count_profiles(ws).await.unwrap(), 4);
    assert_eq!(store.count_profiles(ws2).await.unwrap(), 1);
    assert_eq!(
        store.profile_ids(ws2, ProfileId(0), 10).await.unwrap(),
        pids(&theirs)
    );
}

pub async fn computed_traits_upsert_list_and_delete(store: &dyn Store) {
    let (a, _) = setup(store, "a").await;
    let (b, _) = setup(store, "b").await;
    let ltv = store.put_computed_trait(a, "ltv", "{1}", NOW).await.unwrap();
    assert_eq!(
        ltv,
        ComputedTraitRecord {
            workspace_id: a,
            name: "ltv".into(),
            definition: "{1}".into(),
            created_at: NOW,
            updated_at: NOW,
        }
    );
    let aov = store.put_computed_trait(a, "aov", "{}", NOW).await.unwrap();
    let zeta = store.put_computed_trait(a, "Zeta", "{}", NOW).await.unwrap();
    let theirs = store.put_computed_trait(b, "ltv", "{}", NOW).await.unwrap();
    let theirs_too = store.put_computed_trait(b, "Alpha", "{}", NOW).await.unwrap();
    let ltv2 = store.put_computed_trait(a, "ltv", "{2}", NOW + 5).await.unwrap();
    assert_eq!(
        ltv2,
        ComputedTraitRecord {
            definition: "{2}".into(),
            updated_at: NOW + 5,
            ..ltv
        },
        "a replaced definition keeps its created_at"
    );
    assert_eq!(
        store.list_computed_traits(Some(a)).await.unwrap(),
        vec![zeta.clone(), aov.clone(), ltv2.clone()],
        "by name, in byte order"
    );
    assert_eq!(
        store.list_computed_traits(None).await.unwrap(),
        vec![
            zeta.clone(),
            aov.clone(),
            ltv2,
            theirs_too.clone(),
            theirs.clone()
        ],
        "by workspace, then name"
    );
    assert!(store.delete_computed_trait(a, "ltv").await.unwrap());
    assert!(!store.delete_computed_trait(a, "ltv").await.unwrap());
    assert!(!store.delete_computed_trait(a, "nope").await.unwrap());
    assert_eq!(
        store.list_computed_traits(Some(a)).await.unwrap(),
        vec![zeta, aov]
    );
    assert_eq!(
        store.list_computed_traits(Some(b)).await.unwrap(),
        vec![theirs_too, theirs]
    );
}
