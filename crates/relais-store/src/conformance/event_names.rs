//! Conformance case for the catalogue of event names: deltas widen the
//! span and add up, a name given twice in one write counts twice, names are
//! listed by byte order, each workspace has its own.

use super::*;

fn seen(ws: WorkspaceId, name: &str, first: i64, last: i64, count: i64) -> EventNameRecord {
    EventNameRecord {
        workspace_id: ws,
        name: name.into(),
        first_seen: first,
        last_seen: last,
        count,
    }
}

pub async fn event_names_widen_add_up_and_stay_per_workspace(store: &dyn Store) {
    let (a, _) = setup(store, "a").await;
    let (b, _) = setup(store, "b").await;
    assert_eq!(store.event_names(None).await.unwrap(), vec![]);
    store.record_event_names(&[]).await.unwrap();
    store
        .record_event_names(&[
            seen(a, "Order Completed", NOW + 10, NOW + 20, 2),
            seen(a, "Éclair Baked", NOW, NOW, 1),
            seen(b, "Order Completed", NOW + 30, NOW + 30, 1),
            seen(a, "Order Completed", NOW + 8, NOW + 9, 1),
            seen(a, "apple picked", NOW, NOW, 1),
            seen(a, "Zebra Seen", NOW, NOW, 1),
        ])
        .await
        .unwrap();
    // Later: an earlier first sighting does not move first_seen back past
    // the stored one unless it is earlier; last_seen only moves forward.
    store
        .record_event_names(&[
            seen(a, "Order Completed", NOW + 15, NOW + 40, 4),
            seen(a, "Zebra Seen", NOW - 5, NOW - 5, 1),
        ])
        .await
        .unwrap();
    let want_a = vec![
        seen(a, "Order Completed", NOW + 8, NOW + 40, 7),
        seen(a, "Zebra Seen", NOW - 5, NOW, 2),
        seen(a, "apple picked", NOW, NOW, 1),
        seen(a, "Éclair Baked", NOW, NOW, 1),
    ];
    assert_eq!(store.event_names(Some(a)).await.unwrap(), want_a, "byte order");
    let want_b = vec![seen(b, "Order Completed", NOW + 30, NOW + 30, 1)];
    assert_eq!(store.event_names(Some(b)).await.unwrap(), want_b);
    let all = store.event_names(None).await.unwrap();
    assert_eq!(all, [want_a, want_b].concat(), "by workspace, then name");
    assert_eq!(store.event_names(Some(WorkspaceId(9_999))).await.unwrap(), vec![]);
}
