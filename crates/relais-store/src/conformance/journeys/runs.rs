//! Runs of scheduled journeys: a page of entries and the run's progress
//! are written together; a page entered again adds nobody twice.

use super::*;

fn run(ws: WorkspaceId, key: &str, cursor: i64, done: bool) -> JourneyRun {
    JourneyRun {
        workspace_id: ws,
        journey_id: "jny_sched".into(),
        run_key: key.into(),
        cursor,
        entered: 0,
        started_at: NOW,
        done_at: done.then_some(NOW + 5),
    }
}

fn page(ws: WorkspaceId, key: &str, profiles: std::ops::Range<i64>) -> Vec<(InstanceRecord, TraceRecord)> {
    profiles
        .map(|p| {
            let id = format!("jin_{key}_{p}");
            let mut i = instance(ws, &id, "jny_sched", p, NOW);
            i.wake_at = Some(NOW + p);
            (i, trace(&id, NOW, "start", "entered"))
        })
        .collect()
}

pub async fn journey_runs_enter_pages_once_with_their_progress(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    assert_eq!(store.journey_run(ws, "jny_sched", "r1").await.unwrap(), None);

    let first = page(ws, "r1", 1..4);
    assert_eq!(
        store
            .enter_run_page(&first, &run(ws, "r1", 3, false))
            .await
            .unwrap(),
        3
    );
    let got = store.journey_run(ws, "jny_sched", "r1").await.unwrap().unwrap();
    assert_eq!((got.cursor, got.entered, got.done_at), (3, 3, None));
    let i = store.get_instance(ws, "jin_r1_2").await.unwrap().unwrap();
    assert_eq!((i.profile_id, i.wake_at), (ProfileId(2), Some(NOW + 2)));
    assert_eq!(store.instance_trace(ws, "jin_r1_2").await.unwrap().len(), 1);

    // The same page again (a restart before the cursor was read) and the
    // next one overlapping it: only profiles 4 and 5 are new, no trace twice.
    let again = page(ws, "r1", 2..6);
    assert_eq!(
        store
            .enter_run_page(&again, &run(ws, "r1", 5, true))
            .await
            .unwrap(),
        2
    );
    let got = store.journey_run(ws, "jny_sched", "r1").await.unwrap().unwrap();
    assert_eq!((got.cursor, got.entered, got.done_at), (5, 5, Some(NOW + 5)));
    assert_eq!(store.instance_trace(ws, "jin_r1_2").await.unwrap().len(), 1);
    assert_eq!(store.instance_trace(ws, "jin_r1_5").await.unwrap().len(), 1);
    // Entered instances are timers like any other.
    let due = store.due_instances(NOW + 3, 100).await.unwrap();
    assert_eq!(ids(&due), ["jin_r1_1", "jin_r1_2", "jin_r1_3"]);

    // An empty page only records progress; runs list newest start first.
    let mut later = run(ws, "r2", 0, true);
    later.started_at = NOW + 10;
    assert_eq!(store.enter_run_page(&[], &later).await.unwrap(), 0);
    let all = store.journey_runs(ws, "jny_sched", 10).await.unwrap();
    let keys: Vec<&str> = all.iter().map(|r| r.run_key.as_str()).collect();
    assert_eq!(keys, ["r2", "r1"]);
    assert_eq!(store.journey_runs(ws, "jny_sched", 1).await.unwrap().len(), 1);
    let (other, _) = setup(store, "other").await;
    assert!(store
        .journey_runs(other, "jny_sched", 10)
        .await
        .unwrap()
        .is_empty());
}
