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

fn page(ws: WorkspaceId, key: &str, profiles: std::ops::Range<i64>) -> Vec<RunEntry> {
    profiles
        .map(|p| {
            let id = format!("jin_{key}_{p}");
            let mut i = instance(ws, &id, "jny_sched", p, NOW);
            i.wake_at = Some(NOW + p);
            RunEntry {
                instance: i,
                trace: vec![trace(&id, NOW, "start", "entered")],
                messages: vec![],
            }
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

/// A broadcast's page carries the messages its first step made: written
/// with their instance and events, once, and never for an entry whose
/// instance was already there.
pub async fn journey_run_pages_carry_their_messages(store: &dyn Store) {
    use super::super::messages::{feedback, message};
    let (ws, src) = setup(store, "w").await;
    let mut first = page(ws, "r1", 1..3);
    first[0].messages.push(message(ws, 1, "r1-1-email", Some(NOW)));
    let mut skipped = message(ws, 1, "r1-1-sms", None);
    skipped.status = MessageStatus::Skipped;
    skipped.reason = Some("no_consent: sms".into());
    skipped.emitted = vec![feedback(ws, src, 1, "msg_r1-1-sms:skipped", "SMS Skipped")];
    first[0].messages.push(skipped);
    first[0].trace.push(trace("jin_r1_1", NOW, "send", "sent"));
    first[1].messages.push(message(ws, 2, "r1-2-email", Some(NOW)));
    assert_eq!(
        store
            .enter_run_page(&first, &run(ws, "r1", 2, false))
            .await
            .unwrap(),
        2
    );
    let m = store.get_message(ws, "msg_r1-1-email").await.unwrap().unwrap();
    assert_eq!((m.status, m.profile_id), (MessageStatus::Queued, ProfileId(1)));
    let s = store.get_message(ws, "msg_r1-1-sms").await.unwrap().unwrap();
    assert_eq!(s.status, MessageStatus::Skipped);
    assert_eq!(store.instance_trace(ws, "jin_r1_1").await.unwrap().len(), 2);
    let log = store.read_log(0, 100).await.unwrap();
    assert_eq!(
        log.iter()
            .filter(|e| e.event.message_id == "msg_r1-1-sms:skipped")
            .count(),
        1
    );
    assert_eq!(store.next_message_due().await.unwrap(), Some(NOW));

    // The page again, its entries now making other messages (a replay after
    // a change): the instances exist, so nothing of theirs is written.
    let mut again = page(ws, "r1", 1..3);
    again[0].messages.push(message(ws, 1, "r1-1-push", Some(NOW)));
    again[0].messages.push(message(ws, 1, "r1-1-sms", None));
    assert_eq!(
        store
            .enter_run_page(&again, &run(ws, "r1", 2, true))
            .await
            .unwrap(),
        0
    );
    assert!(store.get_message(ws, "msg_r1-1-push").await.unwrap().is_none());
    assert_eq!(store.instance_trace(ws, "jin_r1_1").await.unwrap().len(), 2);
    let log = store.read_log(0, 100).await.unwrap();
    assert_eq!(
        log.iter()
            .filter(|e| e.event.message_id == "msg_r1-1-sms:skipped")
            .count(),
        1
    );

    // A message whose key is already taken (sent by another path) is left as it is.
    let mut third = page(ws, "r2", 3..4);
    let mut taken = message(ws, 3, "r1-2-email", Some(NOW + 50));
    taken.id = "msg_other".into();
    third[0].messages.push(taken);
    assert_eq!(
        store
            .enter_run_page(&third, &run(ws, "r2", 3, true))
            .await
            .unwrap(),
        1
    );
    assert!(store.get_message(ws, "msg_other").await.unwrap().is_none());
    let kept = store.get_message(ws, "msg_r1-2-email").await.unwrap().unwrap();
    assert_eq!(kept.profile_id, ProfileId(2));
}
