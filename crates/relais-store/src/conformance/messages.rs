//! Conformance cases for the outbox, suppressions and tasks.

use super::*;

pub(super) fn message(ws: WorkspaceId, profile: i64, key: &str, due: Option<i64>) -> NewMessage {
    NewMessage {
        id: format!("msg_{key}"),
        workspace_id: ws,
        profile_id: ProfileId(profile),
        channel: "email".into(),
        provider: "sandbox".into(),
        category: "marketing".into(),
        idempotency_key: key.into(),
        campaign: Some("winter".into()),
        status: MessageStatus::Queued,
        reason: None,
        address: r#"{"kind":"email","address":"a@example.com"}"#.into(),
        content: r#"{"channel":"email"}"#.into(),
        next_attempt_at: due,
        created_at: NOW,
        emitted: vec![],
        relaxed: false,
    }
}

pub(super) fn feedback(ws: WorkspaceId, src: SourceId, profile: i64, id: &str, name: &str) -> EmittedEvent {
    EmittedEvent {
        profile_id: ProfileId(profile),
        name: name.into(),
        event: NewEvent {
            channel: "email".into(),
            ..ev(ws, src, id, &format!(r#"{{"event":"{name}"}}"#))
        },
    }
}

fn attempt(ws: WorkspaceId, m: &MessageRecord, outcome: AttemptOutcome) -> AttemptResult {
    AttemptResult {
        workspace_id: ws,
        message_id: m.id.clone(),
        attempt: m.attempts,
        started_at: NOW + 1,
        finished_at: NOW + 2,
        outcome,
        suppress: None,
        emitted: vec![],
    }
}

pub async fn outbox_enqueue_is_idempotent_and_leases_claims(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    let first = store
        .enqueue_message(&message(ws, 1, "k1", Some(NOW)))
        .await
        .unwrap();
    assert!(first.created);
    assert_eq!(first.message.status, MessageStatus::Queued);
    assert_eq!(first.message.attempts, 0);
    let again = store
        .enqueue_message(&NewMessage {
            content: "changed".into(),
            ..message(ws, 1, "k1", Some(NOW))
        })
        .await
        .unwrap();
    assert!(
        !again.created,
        "same idempotency key: the first message is returned"
    );
    assert_eq!(again.message, first.message);
    // A journey's send (committed without its own fsync) is a message like any other.
    store
        .enqueue_message(&NewMessage {
            relaxed: true,
            ..message(ws, 1, "k2", Some(NOW + 60_000))
        })
        .await
        .unwrap();
    assert_eq!(store.next_message_due().await.unwrap(), Some(NOW));

    let claimed = store.claim_messages(NOW, 30_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "only what is due");
    let c = &claimed[0];
    assert_eq!(
        (c.id.as_str(), c.status, c.attempts),
        ("msg_k1", MessageStatus::Sending, 1)
    );
    assert_eq!(c.lease_until, Some(NOW + 30_000));
    assert!(
        store
            .claim_messages(NOW + 1_000, 30_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );

    // The dispatcher died: the lease runs out and the message is claimed again.
    let again = store.claim_messages(NOW + 30_000, 30_000, 1).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id.as_str(), again[0].attempts), ("msg_k1", 2));
    // The first dispatcher's late answer changes nothing.
    let stale = attempt(
        ws,
        c,
        AttemptOutcome::Accepted {
            provider_message_id: Some("late".into()),
        },
    );
    assert!(!store.record_attempt(&stale).await.unwrap());
    let ok = attempt(
        ws,
        &again[0],
        AttemptOutcome::Accepted {
            provider_message_id: Some("p-1".into()),
        },
    );
    assert!(store.record_attempt(&ok).await.unwrap());
    assert!(!store.record_attempt(&ok).await.unwrap(), "settled once");
    let m = store.get_message(ws, "msg_k1").await.unwrap().unwrap();
    assert_eq!(m.status, MessageStatus::Sent);
    assert_eq!(m.provider_message_id.as_deref(), Some("p-1"));
    assert_eq!(m.sent_at, Some(NOW + 2));
    assert_eq!((m.next_attempt_at, m.lease_until), (None, None));
    let attempts = store.message_attempts(ws, "msg_k1").await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        (attempts[0].attempt, attempts[0].outcome.as_str()),
        (2, "accepted")
    );
    let found = store.find_message_by_provider_id("sandbox", "p-1").await.unwrap();
    assert_eq!(found.map(|m| m.id), Some("msg_k1".into()));
    assert_eq!(store.next_message_due().await.unwrap(), Some(NOW + 60_000));
}

pub async fn outbox_retries_settles_suppresses_and_emits(store: &dyn Store) {
    let (ws, src) = setup(store, "w").await;
    store
        .enqueue_message(&message(ws, 7, "k", Some(NOW)))
        .await
        .unwrap();
    let m = store.claim_messages(NOW, 1_000, 10).await.unwrap().remove(0);
    let retry = attempt(
        ws,
        &m,
        AttemptOutcome::Retry {
            at: NOW + 5_000,
            error: "451 try later".into(),
        },
    );
    assert!(store.record_attempt(&retry).await.unwrap());
    let q = store.get_message(ws, &m.id).await.unwrap().unwrap();
    assert_eq!(
        (q.status, q.next_attempt_at, q.reason.as_deref()),
        (MessageStatus::Queued, Some(NOW + 5_000), Some("451 try later"))
    );
    assert!(store
        .claim_messages(NOW + 4_999, 1_000, 10)
        .await
        .unwrap()
        .is_empty());
    let m = store
        .claim_messages(NOW + 5_000, 1_000, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(m.attempts, 2);
    let sup = Suppression {
        workspace_id: ws,
        channel: "email".into(),
        address: "a@example.com".into(),
        reason: "hard bounce 5.1.1".into(),
        message_id: Some(m.id.clone()),
        created_at: NOW,
    };
    let bounced = AttemptResult {
        suppress: Some(sup.clone()),
        emitted: vec![feedback(ws, src, 7, "fb-1", "Email Bounced")],
        ..attempt(
            ws,
            &m,
            AttemptOutcome::Settled {
                status: MessageStatus::Bounced,
                error: "550 5.1.1".into(),
            },
        )
    };
    assert!(store.record_attempt(&bounced).await.unwrap());
    let b = store.get_message(ws, &m.id).await.unwrap().unwrap();
    assert_eq!((b.status, b.next_attempt_at), (MessageStatus::Bounced, None));
    let outcomes: Vec<String> = store
        .message_attempts(ws, &m.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(outcomes, ["retry", "failed"]);
    assert_eq!(
        store
            .find_suppression(ws, "email", "a@example.com")
            .await
            .unwrap(),
        Some(sup.clone())
    );
    // The first reason stays.
    store
        .put_suppression(&Suppression {
            reason: "complaint".into(),
            ..sup.clone()
        })
        .await
        .unwrap();
    assert_eq!(store.list_suppressions(ws, 10).await.unwrap(), vec![sup]);
    let log = store.read_log(0, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].event.message_id.as_str(), log[0].event.channel.as_str()),
        ("fb-1", "email")
    );
    let tl = store
        .timeline(
            ws,
            ProfileId(7),
            &TimelineQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(tl.len(), 1);
    assert_eq!(tl[0].name, "Email Bounced");
    assert!(store
        .delete_suppression(ws, "email", "a@example.com")
        .await
        .unwrap());
    assert!(!store
        .delete_suppression(ws, "email", "a@example.com")
        .await
        .unwrap());
    assert_eq!(
        store
            .find_suppression(ws, "email", "a@example.com")
            .await
            .unwrap(),
        None
    );
    // A skipped message is stored settled, with its reason, and never claimed.
    let skipped = NewMessage {
        status: MessageStatus::Skipped,
        reason: Some("capped".into()),
        next_attempt_at: None,
        ..message(ws, 7, "k-skip", None)
    };
    assert!(store.enqueue_message(&skipped).await.unwrap().created);
    assert!(store
        .claim_messages(NOW + 1_000_000, 1_000, 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn outbox_engagement_listing_and_caps(store: &dyn Store) {
    let (ws, src) = setup(store, "w").await;
    let (other, _) = setup(store, "other").await;
    for (i, key) in ["a", "b", "c"].iter().enumerate() {
        let m = NewMessage {
            created_at: NOW + i as i64,
            channel: if i == 2 { "sms".into() } else { "email".into() },
            ..message(ws, 1, key, Some(NOW))
        };
        store.enqueue_message(&m).await.unwrap();
    }
    store
        .enqueue_message(&message(other, 1, "a2", None))
        .await
        .unwrap();
    let claimed = store.claim_messages(NOW, 1_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    for m in &claimed {
        let r = attempt(
            ws,
            m,
            AttemptOutcome::Accepted {
                provider_message_id: None,
            },
        );
        store.record_attempt(&r).await.unwrap();
    }
    let click = EngagementUpdate {
        workspace_id: ws,
        message_id: "msg_a".into(),
        kind: Engagement::Clicked,
        at: NOW + 100,
        reason: None,
        suppress: None,
        emitted: vec![feedback(ws, src, 1, "msg_a:clicked", "Email Link Clicked")],
    };
    let m = store.record_engagement(&click).await.unwrap().unwrap();
    assert_eq!(m.status, MessageStatus::Delivered, "a click proves delivery");
    assert_eq!(
        (m.clicked_at, m.opened_at, m.delivered_at),
        (Some(NOW + 100), Some(NOW + 100), Some(NOW + 100))
    );
    // A later open keeps the first times; the same event id is logged once.
    let open = EngagementUpdate {
        kind: Engagement::Opened,
        at: NOW + 500,
        ..click.clone()
    };
    let m = store.record_engagement(&open).await.unwrap().unwrap();
    assert_eq!(m.opened_at, Some(NOW + 100));
    assert_eq!(store.read_log(0, 10).await.unwrap().len(), 1);
    let unknown = EngagementUpdate {
        message_id: "msg_nope".into(),
        ..click.clone()
    };
    assert_eq!(store.record_engagement(&unknown).await.unwrap(), None);
    let wrong_ws = EngagementUpdate {
        workspace_id: other,
        ..click.clone()
    };
    assert_eq!(
        store.record_engagement(&wrong_ws).await.unwrap(),
        None,
        "workspaces are isolated"
    );
    let failed = EngagementUpdate {
        message_id: "msg_c".into(),
        kind: Engagement::Failed,
        reason: Some("30003 unreachable".into()),
        emitted: vec![],
        ..click.clone()
    };
    let m = store.record_engagement(&failed).await.unwrap().unwrap();
    assert_eq!(
        (m.status, m.reason.as_deref()),
        (MessageStatus::Failed, Some("30003 unreachable"))
    );

    let all = store
        .list_messages(
            ws,
            &MessageFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["msg_c", "msg_b", "msg_a"],
        "newest first, this workspace only"
    );
    let page = store
        .list_messages(
            ws,
            &MessageFilter {
                limit: 1,
                before: Some((all[0].created_at, all[0].id.clone())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, "msg_b");
    let sms = MessageFilter {
        channel: Some("sms".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.list_messages(ws, &sms).await.unwrap().len(), 1);
    let delivered = MessageFilter {
        status: Some(MessageStatus::Delivered),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.list_messages(ws, &delivered).await.unwrap()[0].id, "msg_a");
    let none = MessageFilter {
        profile_id: Some(ProfileId(2)),
        limit: 10,
        ..Default::default()
    };
    assert!(store.list_messages(ws, &none).await.unwrap().is_empty());

    let count = |ch: Option<&'static str>, since: i64| {
        store.count_recent_messages(ws, ProfileId(1), ch, "marketing", since)
    };
    assert_eq!(
        count(None, NOW).await.unwrap(),
        2,
        "the failed one does not count"
    );
    assert_eq!(count(Some("email"), NOW).await.unwrap(), 2);
    assert_eq!(count(Some("sms"), NOW).await.unwrap(), 0);
    assert_eq!(count(None, NOW + 2).await.unwrap(), 0);
    assert_eq!(
        store
            .count_recent_messages(ws, ProfileId(1), None, "transactional", 0)
            .await
            .unwrap(),
        0
    );
}

fn task(ws: WorkspaceId, id: &str, due: Option<i64>) -> TaskRecord {
    TaskRecord {
        id: id.into(),
        workspace_id: ws,
        profile_id: ProfileId(1),
        title: "Call back about the sofa".into(),
        instructions: "Offer delivery".into(),
        queue: "call_centre".into(),
        assignee: None,
        due_at: due,
        context: "{}".into(),
        status: TaskStatus::Open,
        claimed_by: None,
        claimed_at: None,
        completed_at: None,
        outcome: None,
        created_at: NOW,
    }
}

pub async fn tasks_claim_complete_and_refuse(store: &dyn Store) {
    let (ws, src) = setup(store, "w").await;
    assert!(store
        .create_task(&task(ws, "msg_t1", Some(NOW + 10)))
        .await
        .unwrap());
    assert!(
        !store.create_task(&task(ws, "msg_t1", None)).await.unwrap(),
        "idempotent"
    );
    store.create_task(&task(ws, "msg_t2", None)).await.unwrap();
    store.create_task(&task(ws, "msg_t0", Some(NOW))).await.unwrap();
    let open = TaskFilter {
        status: Some(TaskStatus::Open),
        limit: 10,
        ..Default::default()
    };
    let ids: Vec<String> = store
        .list_tasks(ws, &open)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["msg_t0", "msg_t1", "msg_t2"], "by due date, undated last");

    let claim = |by: &str| TaskChange::Claim { by: by.into() };
    let r = store
        .change_task(ws, "msg_t1", &claim("ann"), NOW + 1, &[])
        .await
        .unwrap();
    let TaskChangeResult::Changed(t) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (t.status, t.claimed_by.as_deref(), t.claimed_at),
        (TaskStatus::Claimed, Some("ann"), Some(NOW + 1))
    );
    let r = store
        .change_task(ws, "msg_t1", &claim("bob"), NOW + 2, &[])
        .await
        .unwrap();
    assert!(
        matches!(&r, TaskChangeResult::Refused { why, .. } if why.contains("claimed by ann")),
        "{r:?}"
    );
    let done = TaskChange::Complete {
        by: "ann".into(),
        outcome: Some("reached".into()),
    };
    let ev = [feedback(ws, src, 1, "msg_t1:completed", "Task Completed")];
    let r = store
        .change_task(ws, "msg_t1", &done, NOW + 3, &ev)
        .await
        .unwrap();
    let TaskChangeResult::Changed(t) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (t.status, t.completed_at, t.outcome.as_deref()),
        (TaskStatus::Done, Some(NOW + 3), Some("reached"))
    );
    assert_eq!(
        store.read_log(0, 10).await.unwrap().len(),
        1,
        "the completion event is logged"
    );
    let r = store
        .change_task(ws, "msg_t1", &TaskChange::Cancel, NOW + 4, &[])
        .await
        .unwrap();
    assert!(
        matches!(&r, TaskChangeResult::Refused { why, .. } if why.contains("already done")),
        "{r:?}"
    );
    assert_eq!(
        store
            .change_task(ws, "nope", &TaskChange::Cancel, NOW, &[])
            .await
            .unwrap(),
        TaskChangeResult::NotFound
    );
    let mine = TaskFilter {
        assignee: None,
        queue: Some("call_centre".into()),
        status: Some(TaskStatus::Done),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.list_tasks(ws, &mine).await.unwrap().len(), 1);
    assert_eq!(
        store.get_task(ws, "msg_t2").await.unwrap().map(|t| t.status),
        Some(TaskStatus::Open)
    );
}

pub async fn erase_and_merge_reach_messages_and_tasks(store: &dyn Store) {
    let (ws, src) = setup(store, "w").await;
    store
        .append_events(&[ev(ws, src, "m1", "{}"), ev(ws, src, "m2", "{}")])
        .await
        .unwrap();
    let batch = ProcessedBatch {
        checkpoint: 2,
        profiles: vec![profile(ws, 1, "{}", None), profile(ws, 2, "{}", None)],
        ..Default::default()
    };
    store.commit_processed(&batch).await.unwrap();
    store
        .enqueue_message(&message(ws, 2, "to-loser", None))
        .await
        .unwrap();
    store
        .create_task(&TaskRecord {
            profile_id: ProfileId(2),
            ..task(ws, "msg_t", None)
        })
        .await
        .unwrap();
    let merge = ProcessedBatch {
        checkpoint: 2,
        merges: vec![MergeRecord {
            workspace_id: ws,
            kind: MergeKind::Merge,
            winner: ProfileId(1),
            loser: ProfileId(2),
            seq: 2,
            at: NOW,
            reason: "same email".into(),
        }],
        ..Default::default()
    };
    store.commit_processed(&merge).await.unwrap();
    let mine = MessageFilter {
        profile_id: Some(ProfileId(1)),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        store.list_messages(ws, &mine).await.unwrap().len(),
        1,
        "the loser's messages follow it"
    );
    assert_eq!(
        store.get_task(ws, "msg_t").await.unwrap().unwrap().profile_id,
        ProfileId(1)
    );

    let audit = AuditRecord {
        workspace_id: ws,
        at: NOW,
        action: "erase".into(),
        subject: "prof_1".into(),
        detail: String::new(),
    };
    store
        .erase_profile(ws, ProfileId(1), &audit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.get_message(ws, "msg_to-loser").await.unwrap(), None);
    assert_eq!(store.message_attempts(ws, "msg_to-loser").await.unwrap(), vec![]);
    assert_eq!(store.get_task(ws, "msg_t").await.unwrap(), None);
}

pub async fn settings_are_set_once(store: &dyn Store) {
    let (ws, _) = setup(store, "w").await;
    assert_eq!(store.get_setting(None, "signing_key").await.unwrap(), None);
    assert_eq!(
        store.init_setting(None, "signing_key", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.init_setting(None, "signing_key", "second").await.unwrap(),
        "first",
        "kept"
    );
    assert_eq!(
        store.get_setting(None, "signing_key").await.unwrap().as_deref(),
        Some("first")
    );
    assert_eq!(
        store.get_setting(Some(ws), "signing_key").await.unwrap(),
        None,
        "per workspace"
    );
    assert_eq!(
        store.init_setting(Some(ws), "signing_key", "ws").await.unwrap(),
        "ws"
    );
    // First sends racing to create a workspace's salt all get the one stored
    // (PostgreSQL: a statement may start before the winner commits).
    super::journeys::warm_up(store, ws, 16).await;
    let values: Vec<String> = (0..16).map(|i| format!("v{i}")).collect();
    let racers: Vec<super::journeys::Racer<'_, StoreResult<String>>> = values
        .iter()
        .map(|v| Box::pin(store.init_setting(Some(ws), "salt", v)) as super::journeys::Racer<'_, _>)
        .collect();
    let got: Vec<String> = super::journeys::race(racers)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let stored = store.get_setting(Some(ws), "salt").await.unwrap().unwrap();
    assert!(got.iter().all(|g| *g == stored), "{got:?} vs {stored}");
}
