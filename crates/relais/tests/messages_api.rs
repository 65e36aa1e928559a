//! Messages through the real binary with the built-in sandbox providers:
//! one send per channel, governance (consent, suppression-free transactional),
//! idempotency, rendered content, signed open/click links coming back as
//! events, one-click unsubscribe changing consent, tasks for people.

mod common;

use common::{wait_for, Server};
use serde_json::json;

both_backends!(sends_track_and_unsubscribe, tasks_and_errors);

async fn customer(s: &Server) {
    let (status, body) = s
        .track(
            "/v1/identify",
            json!({"userId":"ann","traits":{"email":"Ann@Example.com","first_name":"Ann","phone":"+33 6 12 34 56 78"},
                   "context":{"device":{"token":"fcm-token-1"}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    s.settle().await;
}

fn href_of(html: &str, marker: &str) -> String {
    let i = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {html}"));
    let start = html[..i].rfind('"').unwrap() + 1;
    let end = i + html[i..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

async fn sends_track_and_unsubscribe(s: Server) {
    customer(&s).await;
    let email = json!({
        "profile": "user_id:ann", "channel": "email", "campaign": "winter-sale", "idempotency_key": "welcome-ann",
        "content": {
            "subject": "Hello {{ traits.first_name }}",
            "mjml": "<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ profile.traits.first_name }}</mj-text>\
                     <mj-button href=\"https://shop.example.com/sale?x=1\">Shop</mj-button></mj-column></mj-section></mj-body></mjml>"
        }
    });
    let (code, m) = s.admin("POST", "/api/v1/messages", Some(email.clone())).await;
    assert_eq!(code, 201, "{m}");
    let id = m["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (m["channel"].as_str(), m["provider"].as_str()),
        (Some("email"), Some("sandbox"))
    );
    let (code, again) = s.admin("POST", "/api/v1/messages", Some(email)).await;
    assert_eq!(
        (code, again["id"].as_str()),
        (200, Some(id.as_str())),
        "same key, same message"
    );

    let m = s.message_when(&id, "sent").await;
    let c = &m["content"];
    assert_eq!(c["subject"], "Hello Ann");
    assert_eq!(m["to"]["address"], "Ann@Example.com");
    let html = c["html"].as_str().unwrap();
    assert!(html.contains("Hi Ann"), "{html}");
    assert!(c["text"].as_str().unwrap().contains("Hi Ann"));
    let headers: Vec<(String, String)> = serde_json::from_value(c["headers"].clone()).unwrap();
    let unsub = headers
        .iter()
        .find(|(k, _)| k == "List-Unsubscribe")
        .expect("List-Unsubscribe")
        .1
        .clone();
    assert!(headers.contains(&(
        "List-Unsubscribe-Post".into(),
        "List-Unsubscribe=One-Click".into()
    )));
    assert_eq!(m["attempt_log"][0]["outcome"], "accepted");

    // The open pixel and the tracked link.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let pixel = html[html.find("/t/o/").unwrap()..]
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = http.get(s.url(&pixel)).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/gif");
    let click = href_of(html, "/t/c/");
    let r = http.get(&click).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(
            "https://shop.example.com/sale?x=1&utm_source=relais&utm_medium=email&utm_campaign=winter-sale"
        ),
        "{location}"
    );
    // A tampered link is refused (no open redirect).
    let forged = click.replace("/t/c/", "/t/c/x");
    assert_eq!(http.get(&forged).send().await.unwrap().status().as_u16(), 404);
    let m = s.message_when(&id, "delivered").await;
    assert!(m["opened_at"].is_string() && m["clicked_at"].is_string(), "{m}");
    s.settle().await;
    let names = s.event_names("user_id:ann").await;
    for n in ["Email Sent", "Email Opened", "Email Link Clicked"] {
        assert!(names.iter().any(|x| x == n), "{n} not in {names:?}");
    }

    // SMS marketing needs an explicit subscription; transactional goes.
    let sms = |transactional: bool| {
        json!({"profile":"email:ann@example.com","channel":"sms","transactional":transactional,
        "content":{"body":"Your code is {{ data.code }}"},"data":{"code":"1234"}})
    };
    let (code, m) = s.admin("POST", "/api/v1/messages", Some(sms(false))).await;
    assert_eq!((code, m["status"].as_str()), (201, Some("skipped")), "{m}");
    assert!(m["reason"].as_str().unwrap().starts_with("no_consent"), "{m}");
    let (_, m) = s.admin("POST", "/api/v1/messages", Some(sms(true))).await;
    let m = s.message_when(m["id"].as_str().unwrap(), "sent").await;
    assert_eq!(
        (m["content"]["body"].as_str(), m["to"]["number"].as_str()),
        (Some("Your code is 1234"), Some("+33612345678"))
    );

    // Push goes to the device token from context.device.token.
    let push = json!({"profile":"user_id:ann","channel":"push","content":{"title":"Hi {{ traits.first_name }}","body":"New in"}});
    let (_, m) = s.admin("POST", "/api/v1/messages", Some(push)).await;
    let m = s.message_when(m["id"].as_str().unwrap(), "sent").await;
    assert_eq!(
        (m["to"]["token"].as_str(), m["content"]["title"].as_str()),
        (Some("fcm-token-1"), Some("Hi Ann"))
    );

    // RFC 8058 one-click unsubscribe: then marketing e-mail is skipped.
    let unsub = unsub.trim_matches(|c| c == '<' || c == '>').to_owned();
    let r = http
        .post(&unsub)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    s.settle().await;
    let (_, p) = s.get("/api/v1/profiles/user_id:ann").await;
    assert_eq!(p["consent"]["email"]["status"], "unsubscribed", "{p}");
    let again =
        json!({"profile":"user_id:ann","channel":"email","content":{"subject":"More","html":"<p>Sale</p>"}});
    let (_, m) = s.admin("POST", "/api/v1/messages", Some(again)).await;
    assert_eq!(m["status"], "skipped", "{m}");
    let (_, list) = s.get("/api/v1/messages?profile=user_id:ann&status=skipped").await;
    assert_eq!(list["messages"].as_array().unwrap().len(), 2, "{list}");
    let names = s.event_names("user_id:ann").await;
    assert!(
        names.iter().any(|n| n == "Unsubscribed") && names.iter().any(|n| n == "Email Skipped"),
        "{names:?}"
    );
}

async fn tasks_and_errors(s: Server) {
    customer(&s).await;
    let task = json!({"profile":"user_id:ann","channel":"task","transactional":true,
        "content":{"title":"Call {{ traits.first_name }} about her cart","queue":"call_centre","due_in_hours":2}});
    let (code, m) = s.admin("POST", "/api/v1/messages", Some(task)).await;
    assert_eq!(code, 201, "{m}");
    let id = m["id"].as_str().unwrap().to_owned();
    s.message_when(&id, "sent").await;
    let (_, tasks) = s.get("/api/v1/tasks?status=open&queue=call_centre").await;
    assert_eq!(tasks[0]["title"], "Call Ann about her cart", "{tasks}");
    let (code, t) = s
        .admin(
            "POST",
            &format!("/api/v1/tasks/{id}/claim"),
            Some(json!({"by":"agent-7"})),
        )
        .await;
    assert_eq!((code, t["status"].as_str()), (200, Some("claimed")), "{t}");
    let (code, e) = s
        .admin(
            "POST",
            &format!("/api/v1/tasks/{id}/complete"),
            Some(json!({"by":"agent-9"})),
        )
        .await;
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{e}"
    );
    let done = json!({"by":"agent-7","outcome":"reached"});
    let (code, t) = s
        .admin("POST", &format!("/api/v1/tasks/{id}/complete"), Some(done))
        .await;
    assert_eq!((code, t["status"].as_str()), (200, Some("done")), "{t}");
    s.settle().await;
    wait_for(
        || async {
            s.event_names("user_id:ann")
                .await
                .iter()
                .any(|n| n == "Task Completed")
        },
        "Task Completed",
    )
    .await;

    // Errors say what and where.
    let bad_channel = json!({"profile":"user_id:ann","channel":"fax","content":{}});
    let (code, e) = s.admin("POST", "/api/v1/messages", Some(bad_channel)).await;
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("invalid_field")),
        "{e}"
    );
    let bad_liquid =
        json!({"profile":"user_id:ann","channel":"email","content":{"subject":"{{ oops","html":"x"}});
    let (code, e) = s.admin("POST", "/api/v1/messages", Some(bad_liquid)).await;
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("invalid_template")),
        "{e}"
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("content.subject"),
        "{e}"
    );
    let nobody = json!({"profile":"user_id:nobody","channel":"sms","content":{"body":"x"}});
    assert_eq!(s.admin("POST", "/api/v1/messages", Some(nobody)).await.0, 404);
    // A profile without an address on the channel: recorded as skipped, with why.
    let letter = json!({"profile":"user_id:ann","channel":"direct_mail","transactional":true,
        "content":{"html":"<p>Hi</p>","from":{"name":"Shop","line1":"1 rue de Rivoli","city":"Paris","postal_code":"75001","country":"FR"}}});
    let (_, m) = s.admin("POST", "/api/v1/messages", Some(letter)).await;
    assert_eq!(m["status"], "skipped", "{m}");
    assert!(m["reason"].as_str().unwrap().starts_with("unreachable"), "{m}");
}
