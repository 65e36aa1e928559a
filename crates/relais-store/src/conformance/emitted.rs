//! Conformance case for the events the processor emits itself (`Segment
//! Entered` / `Segment Exited`): written to the log and the timeline with the
//! batch, once per message id however often the batch is committed.

use super::*;

fn emitted(ws: WorkspaceId, src: SourceId, profile: i64, message_id: &str) -> EmittedEvent {
    EmittedEvent {
        profile_id: ProfileId(profile),
        name: "Segment Entered".into(),
        event: NewEvent {
            channel: "internal".into(),
            ..ev(
                ws,
                src,
                message_id,
                &format!(r#"{{"event":"Segment Entered","n":"{message_id}"}}"#),
            )
        },
    }
}

pub async fn emitted_events_reach_log_and_timeline_once(store: &dyn Store) {
    let (ws, src) = setup(store, "w").await;
    store
        .append_events(&[ev(ws, src, "m1", r#"{"type":"track"}"#)])
        .await
        .unwrap();
    let batch = ProcessedBatch {
        checkpoint: 1,
        profiles: vec![profile(ws, 1, "{}", None)],
        emitted: vec![
            emitted(ws, src, 1, "relais-a"),
            emitted(ws, src, 1, "relais-b"),
            emitted(ws, src, 1, "relais-a"), // the same change twice: kept once
        ],
        ..Default::default()
    };
    store.commit_processed(&batch).await.unwrap();
    // A replay of the batch (crash before the caller saw the commit) adds nothing.
    store.commit_processed(&batch).await.unwrap();

    let log = store.read_log(0, 10).await.unwrap();
    let ids: Vec<&str> = log.iter().map(|e| e.event.message_id.as_str()).collect();
    assert_eq!(ids, ["m1", "relais-a", "relais-b"], "in order, once each");
    assert!(log[1].seq > log[0].seq && log[2].seq > log[1].seq);
    assert_eq!(log[1].event.channel, "internal");

    let tl = store
        .timeline(
            ws,
            ProfileId(1),
            &TimelineQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rows: Vec<(i64, &str, &str)> = tl
        .iter()
        .map(|t| (t.seq, t.name.as_str(), t.message_id.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (log[2].seq, "Segment Entered", "relais-b"),
            (log[1].seq, "Segment Entered", "relais-a")
        ],
        "newest first, with their log payloads"
    );
    assert!(tl[0].payload.as_deref().unwrap().contains("relais-b"));
    assert_eq!(store.checkpoint().await.unwrap(), 1);
}
