//! Conformance case for [`PageStore`]: each bulk read answers what the
//! one-at-a-time method answers, item for item.

use super::journeys::instance;
use super::messages::message;
use super::*;

fn suppression(ws: WorkspaceId, channel: &str, address: &str) -> Suppression {
    Suppression {
        workspace_id: ws,
        channel: channel.into(),
        address: address.into(),
        reason: "hard_bounce".into(),
        message_id: None,
        created_at: NOW,
    }
}

pub async fn page_reads_answer_as_one_at_a_time(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let (other, _) = setup(store, "other").await;
    // Instances: profile 1 twice in j1, profile 2 in j2, profile 3 in j1 of
    // another workspace.
    for (w, id, j, p) in [
        (ws, "jin_a", "j1", 1),
        (ws, "jin_b", "j1", 1),
        (ws, "jin_c", "j2", 2),
        (other, "jin_d", "j1", 3),
    ] {
        assert!(store
            .enter_instance(&instance(w, id, j, p, NOW), &[])
            .await
            .unwrap());
    }
    let profiles = [ProfileId(1), ProfileId(2), ProfileId(3), ProfileId(4)];
    let mut bulk = store.journey_instances_of(ws, "j1", &profiles).await.unwrap();
    bulk.sort_by(|a, b| a.id.cmp(&b.id));
    let mut single = Vec::new();
    for p in profiles {
        single.extend(store.profile_instances(ws, p, Some("j1")).await.unwrap());
    }
    single.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(bulk, single);
    assert_eq!(bulk.len(), 2);
    assert!(store
        .journey_instances_of(ws, "j1", &[])
        .await
        .unwrap()
        .is_empty());

    // Suppressions: only the listed pairs of this workspace.
    store
        .put_suppression(&suppression(ws, "email", "ann@example.com"))
        .await
        .unwrap();
    store
        .put_suppression(&suppression(ws, "sms", "+33600000001"))
        .await
        .unwrap();
    store
        .put_suppression(&suppression(other, "email", "bob@example.com"))
        .await
        .unwrap();
    let keys: Vec<(String, String)> = [
        ("email", "ann@example.com"),
        ("email", "bob@example.com"),
        ("sms", "ann@example.com"),
        ("sms", "+33600000001"),
    ]
    .iter()
    .map(|(c, a)| (c.to_string(), a.to_string()))
    .collect();
    let mut found = store.find_suppressions(ws, &keys).await.unwrap();
    found.sort_by(|a, b| a.channel.cmp(&b.channel));
    let mut expected = Vec::new();
    for (c, a) in &keys {
        expected.extend(store.find_suppression(ws, c, a).await.unwrap());
    }
    expected.sort_by(|a, b| a.channel.cmp(&b.channel));
    assert_eq!(found, expected);
    assert_eq!(found.len(), 2);

    // Counts: per profile, each with its own window, in the asked order.
    for (p, key, at, channel) in [
        (1, "k1", NOW - 10, "email"),
        (1, "k2", NOW - 1_000, "email"),
        (1, "k3", NOW - 10, "sms"),
        (2, "k4", NOW - 10, "email"),
    ] {
        let mut m = message(ws, p, key, Some(NOW));
        m.created_at = at;
        m.channel = channel.into();
        store.enqueue_message(&m).await.unwrap();
    }
    let asks = [
        (ProfileId(2), NOW - 100),
        (ProfileId(1), NOW - 100),
        (ProfileId(1), NOW - 5_000),
        (ProfileId(9), NOW - 5_000),
    ];
    for channel in [None, Some("email")] {
        let bulk = store
            .count_recent_messages_many(ws, &asks, channel, "marketing")
            .await
            .unwrap();
        let mut single = Vec::new();
        for (p, since) in asks {
            single.push(
                store
                    .count_recent_messages(ws, p, channel, "marketing", since)
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(bulk, single, "channel {channel:?}");
    }
    assert_eq!(
        store
            .count_recent_messages_many(ws, &asks, None, "marketing")
            .await
            .unwrap(),
        [1, 2, 3, 0]
    );
    assert_eq!(
        store
            .count_recent_messages_many(ws, &asks, None, "transactional")
            .await
            .unwrap(),
        [0, 0, 0, 0]
    );
}
