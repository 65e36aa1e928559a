//! "200 means durable": kill -9 the server while clients send batches,
//! restart it, and check that every acknowledged event is in the log
//! exactly once and processed exactly once.

mod common;

use common::{Server, WRITE_KEY};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

both_backends!(kill_9_loses_no_acknowledged_event);

const CLIENTS: usize = 4;
const BATCH: usize = 50;

async fn kill_9_loses_no_acknowledged_event(mut s: Server) {
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let url = s.url("/v1/batch");
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (acked, url) = (acked.clone(), url.clone());
        let http = reqwest::Client::new();
        clients.push(tokio::spawn(async move {
            for n in 0.. {
                let ids: Vec<String> = (0..BATCH).map(|i| format!("c{c}-{n}-{i}")).collect();
                let batch: Vec<_> = ids
                    .iter()
                    .map(|id| json!({"type":"track","userId": format!("client-{c}"),"event":"Tick","messageId": id}))
                    .collect();
                let sent = http
                    .post(&url)
                    .header("authorization", Server::basic(WRITE_KEY))
                    .json(&json!({ "batch": batch }))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 200 => acked.lock().unwrap().extend(ids),
                    _ => break, // the server is gone: this batch was not acknowledged
                }
            }
        }));
    }
    // Let them run until a good amount is acknowledged, then pull the plug.
    common::wait_for(
        || async { acked.lock().unwrap().len() >= 2_000 },
        "2,000 acknowledged events",
    )
    .await;
    s.kill9();
    for c in clients {
        c.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    s.restart();
    s.settle().await;
    let store = s.store().await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut after = 0;
    loop {
        let page = store.read_log(after, 10_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in page {
            *seen.entry(e.event.message_id).or_default() += 1;
        }
    }
    for id in &acked {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "acknowledged event {id} must be in the log exactly once"
        );
    }
    assert!(seen.values().all(|n| *n == 1), "no event is in the log twice");
    // Every logged event was processed once: the profiles' counts add up.
    let mut total = 0;
    for c in 0..CLIENTS {
        let (status, p) = s.get(&format!("/api/v1/profiles/user_id:client-{c}")).await;
        if status == 200 {
            total += p["event_count"].as_u64().unwrap() as usize;
        }
    }
    assert_eq!(total, seen.len(), "each logged event is applied exactly once");
    assert!(acked.len() >= 2_000);
}
