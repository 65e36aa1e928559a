//! The in-app and web inbox through the real binary: identity verification
//! (write key + user id + HMAC), listing with read/clicked/dismissed state,
//! read/click/dismiss as timeline events, ownership (404 for someone else's
//! message), CORS, and live delivery over server-sent events with resume.

mod common;

use common::{wait_for, Server, WRITE_KEY};
use relais_engine::messaging::inbox::user_hash;
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(reads_acts_and_verifies_identity, streams_new_messages_live);

async fn customers(s: &Server) {
    for (id, name) in [("ann", "Ann"), ("bob", "Bob")] {
        let (status, body) = s
            .track(
                "/v1/identify",
                json!({"userId": id, "traits": {"first_name": name}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    s.settle().await;
}

async fn secret(s: &Server) -> String {
    let (code, body) = s.get("/api/v1/inbox/identity-secret").await;
    assert_eq!(code, 200, "{body}");
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64, "32 random bytes in hex: {secret}");
    secret
}

/// Sends an in-app message and waits until Relais delivered it to the inbox.
async fn send(s: &Server, user: &str, title: &str) -> String {
    let body = json!({"profile": format!("user_id:{user}"), "channel": "in_app", "campaign": "spring",
        "content": {"title": title, "body": "Hello {{ traits.first_name }}", "url": "https://shop.example.com/new",
                    "image": "https://cdn.example.com/a.png", "data": {"screen": "offers"}}});
    let (code, m) = s.admin("POST", "/api/v1/messages", Some(body)).await;
    assert_eq!(code, 201, "{m}");
    let id = m["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/messages/{id}");
    wait_for(
        || async { s.get(&path).await.1["status"] == "sent" },
        "in-app delivery",
    )
    .await;
    id
}

/// A request to the inbox as `user` with `hash`; the write key as Basic.
async fn call(
    s: &Server,
    method: &str,
    path: &str,
    user: &str,
    hash: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s
        .http
        .request(method, s.url(path))
        .header("authorization", Server::basic(WRITE_KEY))
        .header("x-relais-user-id", user)
        .header("x-relais-user-hash", hash);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn reads_acts_and_verifies_identity(s: Server) {
    customers(&s).await;
    let secret = secret(&s).await;
    assert_eq!(secret, self::secret(&s).await, "generated once, then kept");
    let (ann, bob) = (user_hash(&secret, "ann"), user_hash(&secret, "bob"));
    let first = send(&s, "ann", "Spring offers").await;
    let second = send(&s, "ann", "Last call").await;
    let bobs = send(&s, "bob", "For Bob").await;

    let (code, page) = call(&s, "GET", "/v1/inbox", "ann", &ann, None).await;
    assert_eq!(code, 200, "{page}");
    let msgs = page["messages"].as_array().unwrap();
    let ids: Vec<&str> = msgs.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.as_str(), first.as_str()], "only ann's, newest first");
    let m = &msgs[1];
    assert_eq!(
        (
            &m["title"],
            &m["body"],
            &m["url"],
            &m["image"],
            &m["data"]["screen"],
            &m["campaign"]
        ),
        (
            &json!("Spring offers"),
            &json!("Hello Ann"),
            &json!("https://shop.example.com/new"),
            &json!("https://cdn.example.com/a.png"),
            &json!("offers"),
            &json!("spring")
        )
    );
    assert_eq!(
        (&m["read"], &m["clicked"], &m["dismissed"]),
        (&json!(false), &json!(false), &json!(false))
    );
    assert!(m["created_at"].is_string());
    assert_eq!(page["unread"], 2);
    // Paging: one per page, the cursor carries on.
    let (_, p1) = call(&s, "GET", "/v1/inbox?limit=1", "ann", &ann, None).await;
    let next = p1["next"].as_str().expect("a next cursor");
    let (_, p2) = call(
        &s,
        "GET",
        &format!("/v1/inbox?limit=1&cursor={next}"),
        "ann",
        &ann,
        None,
    )
    .await;
    assert_eq!(
        (p1["messages"][0]["id"].as_str(), p2["messages"][0]["id"].as_str()),
        (Some(second.as_str()), Some(first.as_str()))
    );

    // Everything in the query string (what EventSource and sendBeacon can do).
    let q = format!("/v1/inbox?write_key={WRITE_KEY}&user_id=ann&user_hash={ann}");
    let r = s.http.get(s.url(&q)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // Identity verification: a wrong, missing or someone else's hash is 403.
    for (user, hash) in [
        ("ann", "00".repeat(32)),
        ("ann", String::new()),
        ("ann", bob.clone()),
        ("bob", ann.clone()),
    ] {
        let (code, body) = call(&s, "GET", "/v1/inbox", user, &hash, None).await;
        assert_eq!(
            (code, body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{user} {hash}: {body}"
        );
    }
    let (code, body) = call(&s, "GET", "/v1/inbox", "", &ann, None).await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (400, Some("missing_field")),
        "{body}"
    );
    for auth in [Server::basic("relais_wk_wrong"), "Bearer nope".to_owned()] {
        let r = s
            .http
            .get(s.url("/v1/inbox?user_id=ann"))
            .header("authorization", auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    let r = s
        .http
        .get(s.url(&format!("/v1/inbox?user_id=ann&user_hash={ann}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "no write key");
    // The secret is for admins only: a write key is refused, no key too.
    let (code, _) = s.get_as(WRITE_KEY, "/api/v1/inbox/identity-secret").await;
    assert_eq!(code, 403);
    let r = s
        .http
        .get(s.url("/api/v1/inbox/identity-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // Another profile's message, or an unknown one, does not exist here.
    for (user, hash, id) in [
        ("ann", &ann, bobs.as_str()),
        ("bob", &bob, first.as_str()),
        ("ann", &ann, "msg_0"),
    ] {
        let (code, body) = call(&s, "POST", &format!("/v1/inbox/{id}/read"), user, hash, None).await;
        assert_eq!(code, 404, "{user} {id}: {body}");
    }

    // Read (twice: logged once), click with the URL, dismiss.
    for _ in 0..2 {
        let (code, m) = call(&s, "POST", &format!("/v1/inbox/{first}/read"), "ann", &ann, None).await;
        assert_eq!(
            (code, &m["read"], &m["clicked"]),
            (200, &json!(true), &json!(false)),
            "{m}"
        );
    }
    let click = Some(json!({"url": "https://shop.example.com/new"}));
    let (code, m) = call(
        &s,
        "POST",
        &format!("/v1/inbox/{second}/click"),
        "ann",
        &ann,
        click,
    )
    .await;
    assert_eq!(
        (code, &m["clicked"], &m["read"]),
        (200, &json!(true), &json!(true)),
        "{m}"
    );
    let (_, page) = call(&s, "GET", "/v1/inbox", "ann", &ann, None).await;
    assert_eq!(page["unread"], 0, "{page}");
    let (code, m) = call(
        &s,
        "POST",
        &format!("/v1/inbox/{first}/dismiss"),
        "ann",
        &ann,
        None,
    )
    .await;
    assert_eq!((code, &m["dismissed"]), (200, &json!(true)), "{m}");
    let (_, page) = call(&s, "GET", "/v1/inbox", "ann", &ann, None).await;
    let ids: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str()], "dismissed ones are not listed");
    let (_, page) = call(&s, "GET", "/v1/inbox?include_dismissed=true", "ann", &ann, None).await;
    assert_eq!(page["messages"][1]["dismissed"], true, "{page}");
    let (_, admin_view) = s.get(&format!("/api/v1/messages/{first}")).await;
    assert!(
        admin_view["opened_at"].is_string() && admin_view["dismissed_at"].is_string(),
        "{admin_view}"
    );

    let names = s.event_names("user_id:ann").await;
    let count = |n: &str| names.iter().filter(|x| *x == n).count();
    assert_eq!(count("In-App Message Viewed"), 1, "{names:?}");
    assert_eq!(count("In-App Message Clicked"), 1, "{names:?}");
    assert_eq!(count("In-App Message Dismissed"), 1, "{names:?}");

    // Browsers: the preflight is answered for the calling site.
    let r = s
        .http
        .request(reqwest::Method::OPTIONS, s.url("/v1/inbox"))
        .header("origin", "https://shop.example.com")
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "authorization,x-relais-user-id,x-relais-user-hash",
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );
}

/// Reads server-sent events until `until` holds for one, within `timeout`;
/// returns every event seen as (field → value) maps.
async fn events_until(
    resp: &mut reqwest::Response,
    buf: &mut String,
    until: impl Fn(&[(String, String)]) -> bool,
) -> Vec<Vec<(String, String)>> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let fields: Vec<(String, String)> = block
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.to_owned(), v.strip_prefix(' ').unwrap_or(v).to_owned()))
                .collect();
            let done = until(&fields);
            seen.push(fields);
            if done {
                return seen;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("no matching event in time; seen {seen:?}"))
            .expect("stream")
            .unwrap_or_else(|| panic!("stream ended; seen {seen:?}"));
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

fn field<'a>(e: &'a [(String, String)], name: &str) -> Option<&'a str> {
    e.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn message_titled(title: &'static str) -> impl Fn(&[(String, String)]) -> bool {
    move |e| {
        field(e, "event") == Some("message")
            && field(e, "data")
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
                .is_some_and(|d| d["title"] == title)
    }
}

async fn streams_new_messages_live(mut s: Server) {
    customers(&s).await;
    let secret = secret(&s).await;
    let ann = user_hash(&secret, "ann");
    let url = format!("/v1/inbox/stream?write_key={WRITE_KEY}&user_id=ann&user_hash={ann}");
    let bad = s
        .http
        .get(s.url(&url.replace(&ann, &user_hash(&secret, "bob"))))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 403);

    let mut resp = s.http.get(s.url(&url)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut buf = String::new();
    // The first event sets the retry delay and a resume point.
    let hello = events_until(&mut resp, &mut buf, |e| field(e, "retry").is_some()).await;
    let resume = field(hello.last().unwrap(), "id")
        .expect("a resume point")
        .to_owned();

    // Sent after connecting: bob's does not come, ann's does.
    send(&s, "bob", "For Bob").await;
    let id = send(&s, "ann", "Flash sale").await;
    let seen = events_until(&mut resp, &mut buf, message_titled("Flash sale")).await;
    let data: Value = serde_json::from_str(field(seen.last().unwrap(), "data").unwrap()).unwrap();
    assert_eq!(
        (data["id"].as_str(), &data["read"]),
        (Some(id.as_str()), &json!(false))
    );
    assert!(
        seen.iter()
            .all(|e| !field(e, "data").unwrap_or_default().contains("For Bob")),
        "{seen:?}"
    );
    drop(resp);

    // A reconnecting EventSource sends the last id it saw: what it missed comes first.
    let mut again = s
        .http
        .get(s.url(&url))
        .header("last-event-id", &resume)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 200);
    let mut buf = String::new();
    events_until(&mut again, &mut buf, message_titled("Flash sale")).await;

    // SIGTERM with the stream still open: the stream ends and the server stops
    // at once, instead of waiting for the stream's 30 s lifetime.
    let t0 = std::time::Instant::now();
    assert!(s.stop().success());
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(10),
        "stopped in {:?}",
        t0.elapsed()
    );
    drop(again);
}
