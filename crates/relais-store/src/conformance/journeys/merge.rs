//! A merge takes the loser's journey rows to the winner: its passages go on
//! (a cart abandoned on an anonymous device, then signed in), its pending
//! feed rows are heard as the winner's, and of two offers in one group the
//! winner's is kept.

use super::*;

pub async fn merges_take_journey_rows_to_the_winner(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let (winner, loser) = (1, 2);
    let batch = ProcessedBatch {
        checkpoint: 5,
        profiles: [winner, loser].map(|p| profile(ws, p, "{}", None)).into(),
        journey_feed: vec![FeedRow {
            seq: 5,
            workspace_id: ws,
            profile_id: ProfileId(loser),
            name: "Order Completed".into(),
            channel: "store".into(),
            timestamp: NOW,
            properties: "{}".into(),
        }],
        ..Default::default()
    };
    store.commit_processed(&batch).await.unwrap();
    let t = [trace("jin_l", NOW, "start", "entered")];
    assert!(store
        .enter_instance(&instance(ws, "jin_l", "jny", loser, NOW), &t)
        .await
        .unwrap());
    for (p, group, id) in [
        (winner, "promo", "five"),
        (loser, "promo", "ten"),
        (loser, "vip", "gold"),
    ] {
        let o = offer(ws, p, group, id, NOW + 1_000);
        assert_eq!(store.grant_offer(&o, NOW).await.unwrap(), OfferGrant::Granted);
    }

    let merge = MergeRecord {
        workspace_id: ws,
        kind: MergeKind::Merge,
        winner: ProfileId(winner),
        loser: ProfileId(loser),
        seq: 6,
        at: NOW,
        reason: "test".into(),
    };
    let batch = ProcessedBatch {
        checkpoint: 6,
        merges: vec![merge],
        ..Default::default()
    };
    store.commit_processed(&batch).await.unwrap();

    let moved = store
        .profile_instances(ws, ProfileId(winner), None)
        .await
        .unwrap();
    assert_eq!(ids(&moved), ["jin_l"]);
    assert_eq!(
        store.get_instance(ws, "jin_l").await.unwrap().unwrap().profile_id,
        ProfileId(winner)
    );
    assert_eq!(store.instance_trace(ws, "jin_l").await.unwrap().len(), 1);
    let feed = store.journey_feed(0, 10).await.unwrap();
    assert_eq!(
        feed.iter().map(|f| (f.seq, f.profile_id)).collect::<Vec<_>>(),
        [(5, ProfileId(winner))]
    );
    let mut held: Vec<(String, String)> = store
        .active_offers(ws, ProfileId(winner), NOW)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.group, o.offer))
        .collect();
    held.sort();
    assert_eq!(
        held,
        [("promo".into(), "five".into()), ("vip".into(), "gold".into())]
    );
    assert_eq!(
        store.active_offers(ws, ProfileId(loser), NOW).await.unwrap(),
        vec![]
    );
}
