//! Provider callbacks through the real binary: Twilio status callbacks and
//! inbound STOP (signed with X-Twilio-Signature), WhatsApp's subscription
//! check and signed status webhooks, and e-mail bounces/complaints as a raw
//! DSN and as JSON — each changing the message, the timeline, the
//! suppression list or consent, and a forged signature changing nothing.

mod common;
mod fakes;

use common::{Backend, Server};
use fakes::{Fakes, TWILIO_TOKEN, WA_SECRET, WA_VERIFY};
use relais_channels::{sms::twilio, whatsapp};
use serde_json::{json, Value};

both_backends_with_config!(sms_and_whatsapp_callbacks, email_bounces_and_complaints);

async fn customer(s: &Server) {
    let (status, body) = s
        .track(
            "/v1/identify",
            json!({"userId":"ann","traits":{"email":"ann@example.com","phone":"+33 6 12 34 56 78",
                   "consent":{"sms":"subscribed","whatsapp":"subscribed","email":"subscribed"}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    s.settle().await;
}

async fn send(s: &Server, body: Value) -> Value {
    let (code, m) = s.admin("POST", "/api/v1/messages", Some(body)).await;
    assert_eq!(code, 201, "{m}");
    m
}

async fn consent(s: &Server, channel: &str) -> Value {
    s.settle().await;
    let (code, p) = s.get("/api/v1/profiles/user_id:ann").await;
    assert_eq!(code, 200, "{p}");
    p["consent"][channel]["status"].clone()
}

/// Posts a form as Twilio does: signed over our public URL and the parameters.
async fn twilio_post(s: &Server, path: &str, params: &[(&str, &str)], sign: bool) -> (u16, String) {
    let form: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut sig = twilio::signature(TWILIO_TOKEN, &s.url(path), &form);
    if !sign {
        sig = twilio::signature("another-token", &s.url(path), &form);
    }
    let r = s
        .http
        .post(s.url(path))
        .header("X-Twilio-Signature", sig)
        .form(&form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn sms_and_whatsapp_callbacks(backend: Backend) {
    let fakes = Fakes::start().await;
    let s = Server::start_with_config(backend, Some(&fakes.config()));
    customer(&s).await;

    // A marketing SMS goes to the fake Twilio; its SID comes back as the provider id.
    let sms = json!({"profile":"user_id:ann","channel":"sms","content":{"body":"Winter sale: -20%"}});
    let m = send(&s, sms.clone()).await;
    let m = s.message_when(m["id"].as_str().unwrap(), "sent").await;
    let sid = m["provider_message_id"].as_str().unwrap().to_owned();
    assert_eq!(
        fakes.seen("twilio")[0].form("To").as_deref(),
        Some("+33612345678")
    );

    // A forged status callback changes nothing; the genuine one delivers.
    let status = [("MessageSid", sid.as_str()), ("MessageStatus", "delivered")];
    let (code, body) = twilio_post(&s, "/callbacks/twilio/status", &status, false).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("X-Twilio-Signature"), "{body}");
    let (code, body) = twilio_post(&s, "/callbacks/twilio/status", &status, true).await;
    assert_eq!(code, 200, "{body}");
    s.message_when(&sid_message(&s, &sid).await, "delivered").await;
    assert!(s
        .event_names("user_id:ann")
        .await
        .iter()
        .any(|n| n == "SMS Delivered"));

    // STOP from the customer's phone: unsubscribed, the next marketing SMS is skipped.
    let stop = [
        ("From", "+33612345678"),
        ("To", "+15550001111"),
        ("Body", "Stop"),
        ("MessageSid", "SMinbound1"),
    ];
    let (code, body) = twilio_post(&s, "/callbacks/twilio/inbound", &stop, true).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("<Response>"), "TwiML answer: {body}");
    assert_eq!(consent(&s, "sms").await, "unsubscribed");
    let skipped = send(
        &s,
        json!({"profile":"user_id:ann","channel":"sms","idempotency_key":"after-stop",
                                  "content":{"body":"Last chance"}}),
    )
    .await;
    assert_eq!(skipped["status"], "skipped", "{skipped}");

    // A transactional SMS still goes; Twilio says the number is a landline (30006): suppressed.
    let t = send(
        &s,
        json!({"profile":"user_id:ann","channel":"sms","transactional":true,
                            "content":{"body":"Your code is 1234"}}),
    )
    .await;
    let t = s.message_when(t["id"].as_str().unwrap(), "sent").await;
    let sid2 = t["provider_message_id"].as_str().unwrap().to_owned();
    let undelivered = [
        ("MessageSid", sid2.as_str()),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30006"),
    ];
    let (code, body) = twilio_post(&s, "/callbacks/twilio/status", &undelivered, true).await;
    assert_eq!(code, 200, "{body}");
    let bounced = s.message_when(t["id"].as_str().unwrap(), "bounced").await;
    assert!(bounced["reason"].as_str().unwrap().contains("30006"), "{bounced}");
    let (_, list) = s.get("/api/v1/suppressions").await;
    assert!(list.to_string().contains("+33612345678"), "{list}");

    // WhatsApp: Meta's subscription check, then a signed status webhook.
    let verify = |token: &str| {
        s.url(&format!(
            "/callbacks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
        ))
    };
    let r = s.http.get(verify(WA_VERIFY)).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (200, "1158201444".into())
    );
    let r = s.http.get(verify("guess")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);

    let wa = send(
        &s,
        json!({"profile":"user_id:ann","channel":"whatsapp","transactional":true,
                             "content":{"template":"order_shipped","language":"fr","body_params":["42"]}}),
    )
    .await;
    let wa = s.message_when(wa["id"].as_str().unwrap(), "sent").await;
    let wamid = wa["provider_message_id"].as_str().unwrap();
    let hook = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",
        "value":{"messaging_product":"whatsapp","statuses":[
            {"id":wamid,"status":"delivered","timestamp":"1763900000","recipient_id":"33612345678"},
            {"id":wamid,"status":"read","timestamp":"1763900060","recipient_id":"33612345678"}]}}]}]});
    let body = hook.to_string();
    let post = |sig: String| {
        s.http
            .post(s.url("/callbacks/whatsapp"))
            .header("X-Hub-Signature-256", sig)
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
    };
    let r = post(whatsapp::signature_header("not-the-secret", body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = post(whatsapp::signature_header(WA_SECRET, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let read = s.message_when(wa["id"].as_str().unwrap(), "delivered").await;
    assert!(read["opened_at"].is_string(), "read → opened: {read}");
    assert!(s
        .event_names("user_id:ann")
        .await
        .iter()
        .any(|n| n == "WhatsApp Message Read"));
}

/// The message a provider id belongs to (through the list API).
async fn sid_message(s: &Server, sid: &str) -> String {
    let (_, page) = s.get("/api/v1/messages?channel=sms&limit=50").await;
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["provider_message_id"] == sid)
        .unwrap_or_else(|| panic!("no message with {sid}: {page}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn dsn(message_id: &str, rcpt: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.shop.example\r\nTo: bounces@shop.example\r\nSubject: Undelivered Mail\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n\r\n\
--B1\r\nContent-Type: text/plain\r\n\r\nThe message could not be delivered.\r\n\r\n\
--B1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.shop.example\r\n\r\n\
Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: User unknown\r\n\r\n\
--B1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: Shop <news@shop.example>\r\nTo: {rcpt}\r\n\
Message-ID: <{message_id}@shop.example>\r\nX-Relais-Message-Id: {message_id}\r\nSubject: Hello\r\n\r\n--B1--\r\n"
    )
}

async fn email_bounces_and_complaints(backend: Backend) {
    let s = Server::start_with_config(backend, None);
    customer(&s).await;
    let email = |key: &str| {
        json!({"profile":"user_id:ann","channel":"email","idempotency_key":key,
               "content":{"subject":"News","html":"<p>Hello</p>"}})
    };
    let first = send(&s, email("n1")).await;
    let id = first["id"].as_str().unwrap().to_owned();
    s.message_when(&id, "sent").await;

    // Not a report: 400, nothing applied.
    let (code, body) = s
        .admin_post(
            "/api/v1/feedback/email",
            "message/rfc822",
            "Subject: hi\r\n\r\nhello\r\n",
        )
        .await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (400, Some("invalid_body")),
        "{body}"
    );

    // A hard bounce for the message: bounced, the address suppressed, the next e-mail skipped.
    let (code, applied) = s
        .admin_post(
            "/api/v1/feedback/email",
            "message/rfc822",
            dsn(&id, "ann@example.com"),
        )
        .await;
    assert_eq!(code, 200, "{applied}");
    assert_eq!(
        (applied["messages"].as_u64(), applied["suppressed"].as_u64()),
        (Some(1), Some(1))
    );
    let m = s.message_when(&id, "bounced").await;
    assert!(m["reason"].as_str().unwrap().contains("5.1.1"), "{m}");
    assert!(s
        .event_names("user_id:ann")
        .await
        .iter()
        .any(|n| n == "Email Bounced"));
    let next = send(&s, email("n2")).await;
    assert_eq!(next["status"], "skipped", "{next}");
    assert!(next["reason"].as_str().unwrap().contains("suppress"), "{next}");

    // The address comes off the list; a complaint (JSON, as a relay posts it) unsubscribes.
    let (code, _) = s
        .admin("DELETE", "/api/v1/suppressions/email/ann@example.com", None)
        .await;
    assert_eq!(code, 204);
    let third = send(&s, email("n3")).await;
    let third_id = third["id"].as_str().unwrap().to_owned();
    s.message_when(&third_id, "sent").await;
    let (code, body) = s
        .admin_post(
            "/api/v1/feedback/email",
            "application/json",
            json!({"type":"spam","email":"x@y.z"}).to_string(),
        )
        .await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (400, Some("invalid_field")),
        "{body}"
    );
    let complaint =
        json!([{"type":"complaint","message_id":third_id,"reason":"abuse report from the mailbox provider"}]);
    let (code, applied) = s
        .admin_post(
            "/api/v1/feedback/email",
            "application/json",
            complaint.to_string(),
        )
        .await;
    assert_eq!(code, 200, "{applied}");
    assert_eq!(applied["consent_changes"].as_u64(), Some(1), "{applied}");
    s.message_when(&third_id, "bounced").await;
    assert!(s
        .event_names("user_id:ann")
        .await
        .iter()
        .any(|n| n == "Email Marked as Spam"));
    assert_eq!(consent(&s, "email").await, "unsubscribed");

    // Without the admin key: 401.
    let r = s
        .http
        .post(s.url("/api/v1/feedback/email"))
        .body(dsn(&id, "ann@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}
