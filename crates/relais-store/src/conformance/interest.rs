//! Conformance case for the interest index: a profile write replaces its
//! keys (`None` leaves them), erasure and a merge's loser drop theirs,
//! reads page by id over several keys, each workspace has its own.

use super::*;

fn with_interests(ws: WorkspaceId, id: i64, keys: Option<&[&str]>) -> ProfileWrite {
    ProfileWrite {
        interests: keys.map(|k| k.iter().map(|k| k.to_string()).collect()),
        ..profile(ws, id, "{}", None)
    }
}

async fn write(store: &dyn Store, checkpoint: i64, profiles: Vec<ProfileWrite>, merges: Vec<MergeRecord>) {
    store
        .commit_processed(&ProcessedBatch {
            checkpoint,
            merges,
            profiles,
            ..Default::default()
        })
        .await
        .unwrap();
}

async fn interested(store: &dyn Store, ws: WorkspaceId, keys: &[&str]) -> Vec<i64> {
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    let got = store
        .interested_profiles(ws, &keys, ProfileId(0), 1_000)
        .await
        .unwrap();
    got.into_iter().map(|p| p.0).collect()
}

pub async fn interest_index_follows_writes_erasure_and_merges(store: &dyn Store) {
    let (a, src) = setup(store, "a").await;
    let (b, _) = setup(store, "b").await;
    let s = append_n(store, a, src, "i", 6).await;
    let (p1, p2, p3, p4, p5) = (s[0], s[1], s[2], s[3], s[4]);
    let long = "x".repeat(MAX_PRODUCT_KEY_LEN + 1);
    write(
        store,
        s[5],
        vec![
            with_interests(a, p1, Some(&["runner", "runner-42"])),
            with_interests(a, p2, Some(&["runner", "laces"])),
            with_interests(a, p3, Some(&["laces", long.as_str()])),
            with_interests(a, p4, None),
            with_interests(a, p5, Some(&["runner-42"])),
            with_interests(b, p1, Some(&["runner"])),
        ],
        vec![],
    )
    .await;
    assert_eq!(interested(store, a, &["runner"]).await, vec![p1, p2]);
    assert_eq!(
        interested(store, a, &["runner", "runner-42"]).await,
        vec![p1, p2, p5],
        "distinct, by id"
    );
    assert_eq!(interested(store, a, &["laces"]).await, vec![p2, p3]);
    assert_eq!(
        interested(store, a, &[long.as_str()]).await,
        Vec::<i64>::new(),
        "too long: not indexed"
    );
    assert_eq!(interested(store, a, &["nothing"]).await, Vec::<i64>::new());
    assert_eq!(interested(store, a, &[]).await, Vec::<i64>::new());
    assert_eq!(
        interested(store, b, &["runner", "laces"]).await,
        vec![p1],
        "per workspace"
    );
    assert_eq!(
        interested(store, WorkspaceId(9_999), &["runner"]).await,
        Vec::<i64>::new()
    );

    // Paging: after is exclusive, limit bounds each page.
    let keys: Vec<String> = ["runner", "runner-42", "laces"].map(String::from).to_vec();
    let page = |after: i64, limit: usize| {
        let keys = keys.clone();
        async move {
            let got = store
                .interested_profiles(a, &keys, ProfileId(after), limit)
                .await
                .unwrap();
            got.into_iter().map(|p| p.0).collect::<Vec<_>>()
        }
    };
    assert_eq!(page(0, 2).await, vec![p1, p2]);
    assert_eq!(page(p2, 2).await, vec![p3, p5]);
    assert_eq!(page(p5, 2).await, Vec::<i64>::new());
    assert_eq!(page(0, 0).await, Vec::<i64>::new());

    // Replace: p1 no longer has runner-42; `None` leaves p2's keys; in one
    // batch the last write that gives keys wins.
    write(
        store,
        s[5],
        vec![
            with_interests(a, p1, Some(&["runner", "socks"])),
            with_interests(a, p2, None),
            with_interests(a, p3, Some(&["socks"])),
            with_interests(a, p3, Some(&["laces"])),
            with_interests(a, p3, None),
        ],
        vec![],
    )
    .await;
    assert_eq!(
        interested(store, a, &["runner-42"]).await,
        vec![p5],
        "dropped out"
    );
    assert_eq!(interested(store, a, &["runner"]).await, vec![p1, p2]);
    assert_eq!(interested(store, a, &["socks"]).await, vec![p1]);
    assert_eq!(interested(store, a, &["laces"]).await, vec![p2, p3]);
    // An empty list empties it.
    write(store, s[5], vec![with_interests(a, p5, Some(&[]))], vec![]).await;
    assert_eq!(interested(store, a, &["runner-42"]).await, Vec::<i64>::new());

    // Merge p2 into p1: the loser's rows go, the winner's are rewritten.
    let merge = MergeRecord {
        workspace_id: a,
        kind: MergeKind::Merge,
        winner: ProfileId(p1),
        loser: ProfileId(p2),
        seq: s[5],
        at: NOW,
        reason: "test".into(),
    };
    write(
        store,
        s[5],
        vec![with_interests(a, p1, Some(&["runner", "socks", "laces"]))],
        vec![merge],
    )
    .await;
    assert_eq!(interested(store, a, &["runner"]).await, vec![p1]);
    assert_eq!(interested(store, a, &["laces"]).await, vec![p1, p3]);

    // Erasure drops the profile's rows, in its workspace only.
    let audit = AuditRecord {
        workspace_id: a,
        at: NOW,
        action: "profile.erase".into(),
        subject: ProfileId(p1).to_string(),
        detail: String::new(),
    };
    assert!(store
        .erase_profile(a, ProfileId(p1), &audit)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        interested(store, a, &["runner", "socks", "laces"]).await,
        vec![p3]
    );
    assert_eq!(
        interested(store, b, &["runner"]).await,
        vec![p1],
        "other workspace kept"
    );
}

/// The states [`interest_backfill_found`] expects the migration that
/// creates the index to read: written here without index rows, then the
/// engine's test undoes that migration and runs it again.
pub async fn interest_backfill_states(store: &dyn Store) -> (WorkspaceId, Vec<i64>) {
    let (ws, src) = setup(store, "a").await;
    let s = append_n(store, ws, src, "b", 5).await;
    let long = "x".repeat(MAX_PRODUCT_KEY_LEN + 1);
    let states = [
        r#"{"commerce":{"recently_viewed":[{"product_id":"runner","sku":"runner-42","at":1,"channel":"web"},
            {"sku":"laces","at":1,"channel":"web"}]}}"#
            .to_string(),
        r#"{"commerce":{"wishlist":[{"product_id":"runner","added_at":1,"channel":"web"}],"cart":{}}}"#
            .to_string(),
        format!(
            r#"{{"commerce":{{"recently_viewed":[{{"product_id":"{long}","at":1}},{{"name":"no key"}},3],"wishlist":{{}}}}}}"#
        ),
        r#"{"traits":{"name":"no commerce"}}"#.to_string(),
    ];
    let profiles = states
        .iter()
        .zip(&s)
        .map(|(state, id)| profile(ws, *id, state, None))
        .collect();
    write(store, s[4], profiles, vec![]).await;
    (ws, s)
}

pub async fn interest_backfill_found(store: &dyn Store, ws: WorkspaceId, s: &[i64]) {
    assert_eq!(interested(store, ws, &["runner"]).await, vec![s[0], s[1]]);
    assert_eq!(interested(store, ws, &["runner-42"]).await, vec![s[0]]);
    assert_eq!(interested(store, ws, &["laces"]).await, vec![s[0]]);
    let long = "x".repeat(MAX_PRODUCT_KEY_LEN + 1);
    assert_eq!(
        interested(store, ws, &[long.as_str(), "no key"]).await,
        Vec::<i64>::new()
    );
}
