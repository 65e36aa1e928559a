//! Conformance cases for RFM cut points and for restarting a segment's
//! backfill.

use super::*;

fn thresholds(ws: WorkspaceId, base: f64, buyers: i64, computed_at: i64) -> RfmThresholds {
    RfmThresholds {
        workspace_id: ws,
        recency: [base, base + 0.5, base + 17.6, 1e9],
        frequency: [1.0, 1.0, 1.4, 2.0],
        monetary: [0.0, 28.000000000000004, 46.123456789, 82.5],
        buyers,
        computed_at,
    }
}

pub async fn rfm_thresholds_replace_newer_only_and_list(store: &dyn Store) {
    let (a, _) = setup(store, "a").await;
    let (b, _) = setup(store, "b").await;
    assert_eq!(store.rfm_thresholds(None).await.unwrap(), vec![]);
    assert_eq!(store.rfm_thresholds(Some(a)).await.unwrap(), vec![]);

    let first = thresholds(a, 8.2, 10, NOW);
    assert!(store.put_rfm_thresholds(a, &first).await.unwrap());
    assert_eq!(
        store.rfm_thresholds(Some(a)).await.unwrap(),
        vec![first.clone()],
        "floats come back bit for bit"
    );
    assert_eq!(store.rfm_thresholds(Some(b)).await.unwrap(), vec![]);

    // Stored under the workspace named, whatever the record says.
    let theirs = thresholds(b, 1.0, 0, NOW + 5);
    assert!(store
        .put_rfm_thresholds(
            b,
            &RfmThresholds {
                workspace_id: a,
                ..theirs.clone()
            }
        )
        .await
        .unwrap());

    let newer = thresholds(a, 3.0, 12, NOW + 10);
    assert!(
        store.put_rfm_thresholds(a, &newer).await.unwrap(),
        "a later refresh replaces"
    );
    let same_time = thresholds(a, 4.0, 13, NOW + 10);
    assert!(
        store.put_rfm_thresholds(a, &same_time).await.unwrap(),
        "so does one at the same time"
    );
    let older = thresholds(a, 5.0, 14, NOW + 9);
    assert!(
        !store.put_rfm_thresholds(a, &older).await.unwrap(),
        "an earlier refresh that finishes last does not"
    );
    assert_eq!(
        store.rfm_thresholds(Some(a)).await.unwrap(),
        vec![same_time.clone()]
    );
    assert_eq!(
        store.rfm_thresholds(None).await.unwrap(),
        vec![same_time, theirs],
        "by workspace"
    );
}

pub async fn restart_backfill_keeps_definition_and_ignores_old_progress(store: &dyn Store) {
    let (ws, _) = setup(store, "a").await;
    let (other, _) = setup(store, "b").await;
    let seg = store
        .create_segment(
            ws,
            "Best",
            "rfm",
            r#"{"computed":"rfm_m","op":"eq","value":5}"#,
            NOW,
        )
        .await
        .unwrap();
    let progress = |version: i64, cursor: i64, finished: bool| SegmentProgress {
        workspace_id: ws,
        segment_id: seg.id,
        version,
        cursor,
        done: cursor,
        total: 40,
        finished,
    };
    let commit = |p: SegmentProgress| async move {
        let at = store.checkpoint().await.unwrap();
        store
            .commit_processed(&ProcessedBatch {
                checkpoint: at,
                segment_progress: vec![p],
                ..Default::default()
            })
            .await
            .unwrap();
    };
    commit(progress(1, 40, true)).await;
    let active = store.get_segment(ws, seg.id).await.unwrap().unwrap();
    assert_eq!((active.status, active.backfill_done), (SegmentStatus::Active, 40));

    assert!(store.restart_backfill(ws, seg.id).await.unwrap());
    let restarted = store.get_segment(ws, seg.id).await.unwrap().unwrap();
    assert_eq!(
        restarted,
        SegmentRecord {
            version: 2,
            status: SegmentStatus::Backfilling,
            backfill_cursor: 0,
            backfill_done: 0,
            ..active.clone()
        },
        "same definition, name and times; the last total stays as an estimate"
    );
    // Progress of the run under way before the restart is stale.
    commit(progress(1, 40, true)).await;
    assert_eq!(store.get_segment(ws, seg.id).await.unwrap().unwrap(), restarted);

    // Restarting again while backfilling starts over again.
    commit(progress(2, 10, false)).await;
    assert!(store.restart_backfill(ws, seg.id).await.unwrap());
    let again = store.get_segment(ws, seg.id).await.unwrap().unwrap();
    assert_eq!(
        (
            again.version,
            again.status,
            again.backfill_cursor,
            again.backfill_done
        ),
        (3, SegmentStatus::Backfilling, 0, 0)
    );
    commit(progress(3, 40, true)).await;
    assert_eq!(
        store.get_segment(ws, seg.id).await.unwrap().unwrap().status,
        SegmentStatus::Active
    );

    assert!(
        !store.restart_backfill(other, seg.id).await.unwrap(),
        "another workspace's"
    );
    assert!(!store
        .restart_backfill(ws, SegmentId(seg.id.0 + 100))
        .await
        .unwrap());
    assert!(store.delete_segment(ws, seg.id).await.unwrap());
    assert!(!store.restart_backfill(ws, seg.id).await.unwrap(), "deleted");
}
