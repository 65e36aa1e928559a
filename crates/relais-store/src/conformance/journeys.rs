//! Conformance cases for journeys: definitions and their versions,
//! instances (entry once, saves with their trace, timers that come due from
//! an index range), statistics, the feed written with processed batches,
//! offers one per group, and coupon codes handed out once each, under races.

use super::*;
use std::future::Future;

mod merge;
mod runs;
pub use merge::*;
pub use runs::*;
use std::pin::Pin;
use std::task::Poll;

pub(super) type Racer<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs the futures concurrently on this task (they borrow the store, so
/// they cannot be spawned) and returns their outputs in order.
pub(super) async fn race<T>(mut futures: Vec<Racer<'_, T>>) -> Vec<T> {
    let mut out: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futures.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *slot = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|v| v.expect("every racer finished"))
        .collect()
}

/// Opens as many connections as a race needs before it starts (a pooled
/// engine opens them lazily, and a racer still connecting would not race).
pub(super) async fn warm_up(store: &dyn Store, ws: WorkspaceId, n: usize) {
    let readers: Vec<Racer<'_, StoreResult<Vec<OfferRecord>>>> = (0..n)
        .map(|_| Box::pin(store.active_offers(ws, ProfileId(0), NOW)) as Racer<'_, _>)
        .collect();
    for r in race(readers).await {
        r.unwrap();
    }
}

fn journey(ws: WorkspaceId, id: &str, name: &str) -> JourneyRecord {
    JourneyRecord {
        workspace_id: ws,
        id: id.into(),
        name: name.into(),
        status: "draft".into(),
        version: 1,
        definition: format!(r#"{{"name":"{name}","v":1}}"#),
        created_at: NOW,
        updated_at: NOW,
    }
}

pub(super) fn instance(
    ws: WorkspaceId,
    id: &str,
    journey: &str,
    profile: i64,
    entered_at: i64,
) -> InstanceRecord {
    InstanceRecord {
        id: id.into(),
        workspace_id: ws,
        journey_id: journey.into(),
        version: 1,
        profile_id: ProfileId(profile),
        status: "active".into(),
        node: "start".into(),
        wake_at: None,
        wait_event: None,
        context: "{}".into(),
        entered_at,
        updated_at: entered_at,
        exited_at: None,
        exit_reason: None,
        converted_at: None,
    }
}

fn trace(instance: &str, at: i64, node: &str, kind: &str) -> TraceRecord {
    TraceRecord {
        instance_id: instance.into(),
        at,
        node: node.into(),
        kind: kind.into(),
        detail: format!("{kind} at {node}"),
    }
}

fn offer(ws: WorkspaceId, profile: i64, group: &str, offer: &str, expires_at: i64) -> OfferRecord {
    OfferRecord {
        workspace_id: ws,
        profile_id: ProfileId(profile),
        group: group.into(),
        offer: offer.into(),
        granted_by: "jny_test".into(),
        granted_at: NOW,
        expires_at,
    }
}

fn ids(instances: &[InstanceRecord]) -> Vec<&str> {
    instances.iter().map(|i| i.id.as_str()).collect()
}

pub async fn journeys_keep_versions_and_refuse_duplicates(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let (other, _) = setup(store, "other").await;
    store
        .create_journey(&journey(ws, "jny_b", "welcome"))
        .await
        .unwrap();
    store
        .create_journey(&journey(ws, "jny_a", "winback"))
        .await
        .unwrap();
    match store.create_journey(&journey(ws, "jny_c", "welcome")).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("welcome"), "names the name: {m}"),
        other => panic!("a duplicate name is a conflict, got {other:?}"),
    }
    assert!(matches!(
        store.create_journey(&journey(ws, "jny_a", "another")).await,
        Err(StoreError::Conflict(_))
    ));
    // Names and ids are per workspace.
    store
        .create_journey(&journey(other, "jny_a", "welcome"))
        .await
        .unwrap();

    let got = store.get_journey(ws, "jny_b").await.unwrap().unwrap();
    assert_eq!(got, journey(ws, "jny_b", "welcome"));
    assert_eq!(
        store
            .find_journey_by_name(ws, "winback")
            .await
            .unwrap()
            .unwrap()
            .id,
        "jny_a"
    );
    assert_eq!(store.find_journey_by_name(ws, "nope").await.unwrap(), None);
    assert_eq!(store.get_journey(ws, "jny_c").await.unwrap(), None);
    let listed = store.list_journeys(Some(ws)).await.unwrap();
    assert_eq!(
        listed.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        ["jny_a", "jny_b"]
    );
    let all = store.list_journeys(None).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|j| (j.workspace_id, j.id.as_str()))
            .collect::<Vec<_>>(),
        [(ws, "jny_a"), (other, "jny_a"), (ws, "jny_b")]
    );

    let v2 = r#"{"name":"welcome","v":2}"#;
    let updated = store
        .update_journey_definition(ws, "jny_b", v2, NOW + 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((updated.version, updated.definition.as_str()), (2, v2));
    assert_eq!((updated.created_at, updated.updated_at), (NOW, NOW + 10));
    assert_eq!(store.get_journey(ws, "jny_b").await.unwrap().unwrap(), updated);
    let v3 = store
        .update_journey_definition(ws, "jny_b", r#"{"v":3}"#, NOW + 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v3.version, 3);
    assert_eq!(
        store.journey_version(ws, "jny_b", 1).await.unwrap().as_deref(),
        Some(r#"{"name":"welcome","v":1}"#),
        "old versions are kept"
    );
    assert_eq!(
        store.journey_version(ws, "jny_b", 2).await.unwrap().as_deref(),
        Some(v2)
    );
    assert_eq!(
        store.journey_version(ws, "jny_b", 3).await.unwrap().as_deref(),
        Some(r#"{"v":3}"#)
    );
    assert_eq!(store.journey_version(ws, "jny_b", 4).await.unwrap(), None);
    assert_eq!(store.journey_version(other, "jny_b", 1).await.unwrap(), None);
    assert_eq!(
        store
            .update_journey_definition(ws, "jny_z", "{}", NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_journey(other, "jny_a").await.unwrap().unwrap().version,
        1,
        "the other workspace's journey is untouched"
    );

    let active = store
        .set_journey_status(ws, "jny_b", "active", NOW + 30)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (active.status.as_str(), active.version, active.updated_at),
        ("active", 3, NOW + 30)
    );
    assert_eq!(
        store
            .set_journey_status(ws, "jny_z", "active", NOW)
            .await
            .unwrap(),
        None
    );
}

pub async fn journey_instances_enter_once_and_save_with_trace(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let (other, _) = setup(store, "other").await;
    let first = instance(ws, "jin_1", "jny_a", 7, NOW);
    let entered = [
        trace("jin_1", NOW, "start", "entered"),
        trace("jin_1", NOW, "delay", "waiting"),
    ];
    assert!(store.enter_instance(&first, &entered).await.unwrap());
    let again = InstanceRecord {
        node: "elsewhere".into(),
        ..first.clone()
    };
    assert!(
        !store
            .enter_instance(&again, &[trace("jin_1", NOW + 1, "x", "entered")])
            .await
            .unwrap(),
        "the same entry twice is one instance"
    );
    assert_eq!(store.get_instance(ws, "jin_1").await.unwrap().unwrap(), first);
    assert_eq!(
        store.instance_trace(ws, "jin_1").await.unwrap(),
        entered,
        "nothing written"
    );
    assert_eq!(store.get_instance(other, "jin_1").await.unwrap(), None);
    assert_eq!(store.instance_trace(other, "jin_1").await.unwrap(), vec![]);

    let saved = InstanceRecord {
        status: "done".into(),
        node: "end".into(),
        wait_event: Some("Order Completed".into()),
        context: r#"{"n":1}"#.into(),
        updated_at: NOW + 5,
        exited_at: Some(NOW + 5),
        exit_reason: Some("completed".into()),
        converted_at: Some(NOW + 4),
        // Entry fields are not rewritten.
        version: 9,
        entered_at: NOW + 99,
        ..first.clone()
    };
    let more = [
        trace("jin_1", NOW + 5, "end", "exited"),
        trace("jin_1", NOW + 5, "end", "converted"),
    ];
    store.save_instance(&saved, &more).await.unwrap();
    let got = store.get_instance(ws, "jin_1").await.unwrap().unwrap();
    assert_eq!(
        got,
        InstanceRecord {
            version: 1,
            entered_at: NOW,
            ..saved.clone()
        }
    );
    let all: Vec<TraceRecord> = entered.iter().chain(&more).cloned().collect();
    assert_eq!(
        store.instance_trace(ws, "jin_1").await.unwrap(),
        all,
        "oldest first"
    );

    // Saving an instance that does not exist writes nothing.
    let ghost = instance(ws, "jin_ghost", "jny_a", 7, NOW);
    store
        .save_instance(&ghost, &[trace("jin_ghost", NOW, "start", "updated")])
        .await
        .unwrap();
    assert_eq!(store.get_instance(ws, "jin_ghost").await.unwrap(), None);
    let moved = InstanceRecord {
        workspace_id: other,
        node: "hijack".into(),
        ..got.clone()
    };
    store.save_instance(&moved, &[]).await.unwrap();
    assert_eq!(
        store.get_instance(ws, "jin_1").await.unwrap().unwrap().node,
        "end",
        "another workspace cannot save it"
    );
}

pub async fn journey_timers_come_due_in_order(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    assert_eq!(store.next_instance_wake().await.unwrap(), None);
    assert_eq!(store.due_instances(i64::MAX, 10).await.unwrap(), vec![]);
    let timed = |id: &str, wake: Option<i64>, status: &str| InstanceRecord {
        wake_at: wake,
        status: status.into(),
        ..instance(ws, id, "jny_a", 1, NOW)
    };
    for i in [
        timed("jin_late", Some(NOW + 300), "active"),
        timed("jin_first", Some(NOW + 100), "active"),
        timed("jin_done", Some(NOW + 50), "done"),
        timed("jin_idle", None, "active"),
        timed("jin_second", Some(NOW + 200), "active"),
        timed("jin_future", Some(NOW + 10_000), "active"),
    ] {
        assert!(store.enter_instance(&i, &[]).await.unwrap());
    }
    assert_eq!(
        store.next_instance_wake().await.unwrap(),
        Some(NOW + 100),
        "done ones never wake"
    );
    assert_eq!(store.due_instances(NOW + 99, 10).await.unwrap(), vec![]);
    let due = store.due_instances(NOW + 300, 10).await.unwrap();
    assert_eq!(
        ids(&due),
        ["jin_first", "jin_second", "jin_late"],
        "soonest first"
    );
    assert_eq!(due[0], timed("jin_first", Some(NOW + 100), "active"));
    assert_eq!(
        ids(&store.due_instances(NOW + 300, 2).await.unwrap()),
        ["jin_first", "jin_second"]
    );

    // Handling it clears (or moves) the timer; finishing takes it out.
    let mut first = due[0].clone();
    first.wake_at = Some(NOW + 5_000);
    store.save_instance(&first, &[]).await.unwrap();
    let mut second = due[1].clone();
    second.status = "done".into();
    store.save_instance(&second, &[]).await.unwrap();
    assert_eq!(
        ids(&store.due_instances(NOW + 300, 10).await.unwrap()),
        ["jin_late"]
    );
    assert_eq!(store.next_instance_wake().await.unwrap(), Some(NOW + 300));
    let mut late = due[2].clone();
    late.wake_at = None;
    store.save_instance(&late, &[]).await.unwrap();
    assert_eq!(store.next_instance_wake().await.unwrap(), Some(NOW + 5_000));
    assert_eq!(
        ids(&store.due_instances(i64::MAX, 10).await.unwrap()),
        ["jin_first", "jin_future"]
    );
}

pub async fn profile_instances_newest_first(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let (other, _) = setup(store, "other").await;
    for i in [
        instance(ws, "jin_a1", "jny_a", 1, NOW),
        instance(ws, "jin_b1", "jny_b", 1, NOW + 10),
        instance(ws, "jin_a2", "jny_a", 1, NOW + 20),
        instance(ws, "jin_x", "jny_a", 2, NOW + 30),
        instance(other, "jin_o", "jny_a", 1, NOW + 40),
    ] {
        assert!(store.enter_instance(&i, &[]).await.unwrap());
    }
    let all = store.profile_instances(ws, ProfileId(1), None).await.unwrap();
    assert_eq!(ids(&all), ["jin_a2", "jin_b1", "jin_a1"]);
    let a = store
        .profile_instances(ws, ProfileId(1), Some("jny_a"))
        .await
        .unwrap();
    assert_eq!(ids(&a), ["jin_a2", "jin_a1"]);
    assert_eq!(
        store
            .profile_instances(ws, ProfileId(1), Some("jny_z"))
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        ids(&store.profile_instances(other, ProfileId(1), None).await.unwrap()),
        ["jin_o"]
    );
}

pub async fn journey_counts_instances_and_messages_by_prefix(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let (other, _) = setup(store, "other").await;
    let at = |id: &str, node: &str, exit: Option<&str>, converted: bool| InstanceRecord {
        node: node.into(),
        status: if exit.is_some() { "done" } else { "active" }.into(),
        exit_reason: exit.map(str::to_owned),
        exited_at: exit.map(|_| NOW + 1),
        converted_at: converted.then_some(NOW + 1),
        ..instance(ws, id, "jny_a", 1, NOW)
    };
    for i in [
        at("jin_1", "wait", None, false),
        at("jin_2", "wait", None, true),
        at("jin_3", "email", None, false),
        at("jin_4", "end", Some("completed"), true),
        at("jin_5", "end", Some("completed"), false),
        at("jin_6", "wait", Some("exit_event"), false),
        instance(ws, "jin_other_journey", "jny_b", 1, NOW),
        instance(other, "jin_other_ws", "jny_a", 1, NOW),
    ] {
        assert!(store.enter_instance(&i, &[]).await.unwrap());
    }
    let send = |ws: WorkspaceId, key: &str, channel: &str, status: MessageStatus| NewMessage {
        id: format!("msg_{}_{key}", ws.0),
        workspace_id: ws,
        profile_id: ProfileId(1),
        channel: channel.into(),
        provider: "sandbox".into(),
        category: "marketing".into(),
        idempotency_key: key.into(),
        campaign: None,
        status,
        reason: None,
        address: "{}".into(),
        content: "{}".into(),
        next_attempt_at: None,
        created_at: NOW,
        emitted: vec![],
        relaxed: false,
    };
    for m in [
        send(ws, "jny_a:jin_1:email", "email", MessageStatus::Queued),
        send(ws, "jny_a:jin_2:email", "email", MessageStatus::Queued),
        send(ws, "jny_a:jin_3:sms", "sms", MessageStatus::Queued),
        send(ws, "jny_a:jin_4:email", "email", MessageStatus::Skipped),
        send(ws, "jny_b:jin_9:email", "email", MessageStatus::Queued),
        send(ws, "jny_a", "email", MessageStatus::Queued),
        send(ws, "jny_a;", "email", MessageStatus::Queued),
        send(other, "jny_a:jin_1:email", "email", MessageStatus::Queued),
    ] {
        store.enqueue_message(&m).await.unwrap();
    }
    let counts = store.journey_counts(ws, "jny_a", "jny_a:").await.unwrap();
    let s = |v: &str| v.to_owned();
    assert_eq!(
        counts,
        JourneyCounts {
            entered: 6,
            active: 3,
            converted: 2,
            at_node: vec![(s("email"), 1), (s("wait"), 2)],
            exited: vec![(s("completed"), 2), (s("exit_event"), 1)],
            messages: vec![
                (s("email"), s("queued"), 2),
                (s("email"), s("skipped"), 1),
                (s("sms"), s("queued"), 1)
            ],
        }
    );
    assert_eq!(
        store.journey_counts(ws, "jny_none", "jny_none:").await.unwrap(),
        JourneyCounts::default()
    );
    let b = store.journey_counts(ws, "jny_b", "jny_b:").await.unwrap();
    assert_eq!((b.entered, b.active), (1, 1));
    assert_eq!(b.messages, vec![(s("email"), s("queued"), 1)]);
}

pub async fn journey_feed_commits_with_its_batch_and_acks(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let row = |seq: i64, name: &str| FeedRow {
        seq,
        workspace_id: ws,
        profile_id: ProfileId(seq * 10),
        name: name.into(),
        channel: "web".into(),
        timestamp: NOW + seq,
        properties: format!(r#"{{"seq":{seq}}}"#),
    };
    assert_eq!(store.journey_feed(0, 10).await.unwrap(), vec![]);
    let batch = ProcessedBatch {
        checkpoint: 9,
        journey_feed: vec![
            row(5, "Viewed"),
            row(3, "Added"),
            row(9, "Bought"),
            row(3, "Again"),
        ],
        ..Default::default()
    };
    store.commit_processed(&batch).await.unwrap();
    assert_eq!(
        store.checkpoint().await.unwrap(),
        9,
        "with its batch's checkpoint"
    );
    let want = vec![row(3, "Added"), row(5, "Viewed"), row(9, "Bought")];
    assert_eq!(
        store.journey_feed(0, 10).await.unwrap(),
        want,
        "by seq, a repeated seq once"
    );
    assert_eq!(store.journey_feed(0, 2).await.unwrap(), want[..2]);
    assert_eq!(store.journey_feed(5, 10).await.unwrap(), want[2..]);
    // A replayed batch adds nothing.
    store.commit_processed(&batch).await.unwrap();
    assert_eq!(store.journey_feed(0, 10).await.unwrap(), want);

    store.ack_journey_feed(5).await.unwrap();
    assert_eq!(store.journey_feed(0, 10).await.unwrap(), want[2..]);
    store
        .commit_processed(&ProcessedBatch {
            checkpoint: 12,
            journey_feed: vec![row(12, "Later")],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(store.journey_feed(9, 10).await.unwrap(), vec![row(12, "Later")]);
    store.ack_journey_feed(100).await.unwrap();
    assert_eq!(store.journey_feed(0, 10).await.unwrap(), vec![]);
}

pub async fn offers_one_per_group_until_expiry(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let (other, _) = setup(store, "other").await;
    let ten = offer(ws, 1, "discount", "ten_off", NOW + 100);
    assert_eq!(store.grant_offer(&ten, NOW).await.unwrap(), OfferGrant::Granted);
    assert_eq!(
        store
            .grant_offer(&offer(ws, 1, "discount", "free_ship", NOW + 500), NOW)
            .await
            .unwrap(),
        OfferGrant::Held(ten.clone())
    );
    // Another group, profile or workspace is not held.
    for o in [
        offer(ws, 1, "gift", "tote", NOW + 100),
        offer(ws, 2, "discount", "free_ship", NOW + 100),
        offer(other, 1, "discount", "free_ship", NOW + 100),
    ] {
        assert_eq!(store.grant_offer(&o, NOW).await.unwrap(), OfferGrant::Granted);
    }
    // The same offer again extends it, never shortens it.
    let longer = offer(ws, 1, "discount", "ten_off", NOW + 300);
    assert_eq!(
        store.grant_offer(&longer, NOW + 10).await.unwrap(),
        OfferGrant::Granted
    );
    let shorter = offer(ws, 1, "discount", "ten_off", NOW + 200);
    assert_eq!(
        store.grant_offer(&shorter, NOW + 10).await.unwrap(),
        OfferGrant::Granted
    );
    let active = store.active_offers(ws, ProfileId(1), NOW + 10).await.unwrap();
    assert_eq!(
        active
            .iter()
            .map(|o| (o.group.as_str(), o.offer.as_str(), o.expires_at))
            .collect::<Vec<_>>(),
        [("discount", "ten_off", NOW + 300), ("gift", "tote", NOW + 100)],
        "by group"
    );
    // Expired (expires_at <= now): no longer held, no longer active.
    assert_eq!(
        store
            .active_offers(ws, ProfileId(1), NOW + 100)
            .await
            .unwrap()
            .len(),
        1
    );
    let ship = offer(ws, 1, "discount", "free_ship", NOW + 900);
    assert!(matches!(
        store.grant_offer(&ship, NOW + 299).await.unwrap(),
        OfferGrant::Held(h) if h.offer == "ten_off"
    ));
    assert_eq!(
        store.grant_offer(&ship, NOW + 300).await.unwrap(),
        OfferGrant::Granted
    );
    assert_eq!(
        store.active_offers(ws, ProfileId(1), NOW + 300).await.unwrap(),
        vec![ship]
    );
}

pub async fn racing_offer_grants_grant_one(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let offers: Vec<OfferRecord> = (0..20)
        .map(|i| offer(ws, 1, "discount", &format!("offer_{i:02}"), NOW + 1_000))
        .collect();
    warm_up(store, ws, offers.len()).await;
    let racers: Vec<Racer<'_, StoreResult<OfferGrant>>> = offers
        .iter()
        .map(|o| Box::pin(store.grant_offer(o, NOW)) as Racer<'_, _>)
        .collect();
    let results: Vec<OfferGrant> = race(racers).await.into_iter().map(Result::unwrap).collect();
    let granted: Vec<&OfferRecord> = (offers.iter().zip(&results))
        .filter(|(_, r)| **r == OfferGrant::Granted)
        .map(|(o, _)| o)
        .collect();
    assert_eq!(granted.len(), 1, "exactly one grant wins: {results:?}");
    for r in &results {
        if let OfferGrant::Held(h) = r {
            assert_eq!(h, granted[0], "the others see the winner");
        }
    }
    assert_eq!(
        store.active_offers(ws, ProfileId(1), NOW).await.unwrap(),
        vec![granted[0].clone()]
    );
}

pub async fn coupons_add_assign_once_and_count(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let (other, _) = setup(store, "other").await;
    let codes = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        store
            .add_coupons(ws, "spring", &codes(&["B", "A", "C", "A"]), NOW)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .add_coupons(ws, "spring", &codes(&["C", "D"]), NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .add_coupons(ws, "summer", &codes(&["A"]), NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .add_coupons(other, "spring", &codes(&["Z"]), NOW)
            .await
            .unwrap(),
        1
    );

    let first = store
        .assign_coupon(ws, "spring", ProfileId(1), "jin_1", NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .assign_coupon(ws, "spring", ProfileId(1), "jin_1", NOW + 1)
            .await
            .unwrap(),
        Some(first.clone()),
        "the same key gets the same code"
    );
    let mut handed = vec![first];
    for key in ["jin_2", "jin_3", "jin_4"] {
        handed.push(
            store
                .assign_coupon(ws, "spring", ProfileId(2), key, NOW)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    handed.sort();
    assert_eq!(handed, ["A", "B", "C", "D"], "each code once");
    assert_eq!(
        store
            .assign_coupon(ws, "spring", ProfileId(3), "jin_5", NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .assign_coupon(ws, "winter", ProfileId(3), "jin_5", NOW)
            .await
            .unwrap(),
        None
    );
    // A key is per pool: the same key in another pool takes that pool's code.
    assert_eq!(
        store
            .assign_coupon(ws, "summer", ProfileId(1), "jin_1", NOW)
            .await
            .unwrap()
            .as_deref(),
        Some("A")
    );
    let stats = |pool: &str, total, assigned| CouponPoolStats {
        pool: pool.into(),
        total,
        assigned,
    };
    assert_eq!(
        store.coupon_pools(ws).await.unwrap(),
        vec![stats("spring", 4, 4), stats("summer", 1, 1)]
    );
    assert_eq!(
        store.coupon_pools(other).await.unwrap(),
        vec![stats("spring", 1, 0)]
    );
}

pub async fn racing_coupon_assigns_hand_out_each_code_once(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let pool: Vec<String> = (0..10).map(|i| format!("CODE{i:02}")).collect();
    assert_eq!(store.add_coupons(ws, "p", &pool, NOW).await.unwrap(), 10);
    let keys: Vec<String> = (0..20).map(|i| format!("jin_{i:02}")).collect();
    warm_up(store, ws, keys.len()).await;
    let racers: Vec<Racer<'_, StoreResult<Option<String>>>> = (keys.iter().enumerate())
        .map(|(i, k)| Box::pin(store.assign_coupon(ws, "p", ProfileId(i as i64), k, NOW)) as Racer<'_, _>)
        .collect();
    let results: Vec<Option<String>> = race(racers).await.into_iter().map(Result::unwrap).collect();
    let mut got: Vec<String> = results.iter().flatten().cloned().collect();
    got.sort();
    assert_eq!(got, pool, "ten distinct codes: {results:?}");
    assert_eq!(results.iter().filter(|r| r.is_none()).count(), 10);
    assert_eq!(
        store.coupon_pools(ws).await.unwrap(),
        vec![CouponPoolStats {
            pool: "p".into(),
            total: 10,
            assigned: 10
        }]
    );
    for (k, r) in keys.iter().zip(&results) {
        if r.is_some() {
            assert_eq!(
                &store.assign_coupon(ws, "p", ProfileId(0), k, NOW).await.unwrap(),
                r
            );
        }
    }

    // Racers with one key share one code.
    store.add_coupons(ws, "q", &pool, NOW).await.unwrap();
    let racers: Vec<Racer<'_, StoreResult<Option<String>>>> = (0..8)
        .map(|_| Box::pin(store.assign_coupon(ws, "q", ProfileId(1), "jin_same", NOW)) as Racer<'_, _>)
        .collect();
    let results: Vec<Option<String>> = race(racers).await.into_iter().map(Result::unwrap).collect();
    assert!(results[0].is_some());
    assert!(
        results.iter().all(|r| r == &results[0]),
        "one key, one code: {results:?}"
    );
    let q = store.coupon_pools(ws).await.unwrap().pop().unwrap();
    assert_eq!((q.pool.as_str(), q.assigned), ("q", 1));
}

pub async fn erase_removes_journey_rows_and_keeps_codes_used(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    // `loser` is merged into `gone`: merges leave journey rows on the
    // loser's id, and erasing `gone` reaches them too.
    let (gone, loser, kept) = (1, 2, 3);
    let feed = |seq: i64, p: i64| FeedRow {
        seq,
        workspace_id: ws,
        profile_id: ProfileId(p),
        name: "Viewed".into(),
        channel: "web".into(),
        timestamp: NOW,
        properties: "{}".into(),
    };
    let batch = ProcessedBatch {
        checkpoint: 3,
        profiles: [gone, loser, kept].map(|p| profile(ws, p, "{}", None)).into(),
        journey_feed: vec![feed(1, gone), feed(2, loser), feed(3, kept)],
        ..Default::default()
    };
    store.commit_processed(&batch).await.unwrap();
    let merge = MergeRecord {
        workspace_id: ws,
        kind: MergeKind::Merge,
        winner: ProfileId(gone),
        loser: ProfileId(loser),
        seq: 3,
        at: NOW,
        reason: "test".into(),
    };
    let batch = ProcessedBatch {
        checkpoint: 3,
        merges: vec![merge],
        ..Default::default()
    };
    store.commit_processed(&batch).await.unwrap();
    store
        .add_coupons(ws, "p", &["A", "B", "C", "D"].map(String::from), NOW)
        .await
        .unwrap();
    for (p, i) in [(gone, "jin_g"), (loser, "jin_l"), (kept, "jin_k")] {
        let t = [trace(i, NOW, "start", "entered")];
        assert!(store
            .enter_instance(&instance(ws, i, "jny", p, NOW), &t)
            .await
            .unwrap());
        let o = offer(ws, p, "promo", "ten", NOW + 1_000);
        assert_eq!(store.grant_offer(&o, NOW).await.unwrap(), OfferGrant::Granted);
    }
    for (p, key, code) in [(gone, "k_g", "A"), (loser, "k_l", "B")] {
        let got = store
            .assign_coupon(ws, "p", ProfileId(p), key, NOW)
            .await
            .unwrap();
        assert_eq!(got.as_deref(), Some(code));
    }

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
    for (p, i) in [(gone, "jin_g"), (loser, "jin_l")] {
        assert_eq!(
            store.profile_instances(ws, ProfileId(p), None).await.unwrap(),
            vec![]
        );
        assert_eq!(store.instance_trace(ws, i).await.unwrap(), vec![]);
        assert_eq!(store.active_offers(ws, ProfileId(p), NOW).await.unwrap(), vec![]);
    }
    // No trace row is left behind: an instance with the erased id starts
    // with its own trace only.
    let again = [trace("jin_g", NOW + 1, "start", "again")];
    store
        .enter_instance(&instance(ws, "jin_g", "jny", 9, NOW), &again)
        .await
        .unwrap();
    assert_eq!(store.instance_trace(ws, "jin_g").await.unwrap(), again);
    assert_eq!(store.journey_feed(0, 10).await.unwrap(), vec![feed(3, kept)]);
    let k = store.profile_instances(ws, ProfileId(kept), None).await.unwrap();
    assert_eq!(ids(&k), ["jin_k"], "other profiles keep theirs");
    assert_eq!(store.instance_trace(ws, "jin_k").await.unwrap().len(), 1);
    assert_eq!(
        store.active_offers(ws, ProfileId(kept), NOW).await.unwrap().len(),
        1
    );

    // The erased profile's codes stay used, and their keys are gone: the
    // same key no longer finds its code, and no code is handed out twice.
    let pools = store.coupon_pools(ws).await.unwrap();
    assert_eq!((pools[0].total, pools[0].assigned), (4, 2));
    let mut handed = Vec::new();
    for key in ["k_g", "k_l", "k_k"] {
        handed.push(
            store
                .assign_coupon(ws, "p", ProfileId(kept), key, NOW)
                .await
                .unwrap(),
        );
    }
    assert_eq!(handed, [Some("C".to_string()), Some("D".to_string()), None]);
    assert_eq!(store.coupon_pools(ws).await.unwrap()[0].assigned, 4);
}
