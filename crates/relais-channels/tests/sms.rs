//! The Twilio provider against a local server that speaks the Messages API as
//! documented (<https://www.twilio.com/docs/messaging/api/message-resource>):
//! Basic auth with the account SID and auth token, form fields, `201` with the
//! message resource, errors as `{code, message, more_info, status}`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Router};
use base64::Engine;
use relais_channels::sms::twilio::{self, Keyword, TwilioConfig, TwilioProvider};
use relais_channels::{Address, Content, Outgoing, Provider, SendError, SmsContent};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SID: &str = "AC00000000000000000000000000000001";
const TOKEN: &str = "auth-token-1";

/// One request the fake Twilio received.
#[derive(Debug, Clone)]
struct Seen {
    account: String,
    form: Vec<(String, String)>,
}

#[derive(Default)]
struct Fake {
    seen: Mutex<Vec<Seen>>,
    /// Forced answer (status, Retry-After, body) instead of the normal behaviour.
    force: Mutex<Option<(u16, Option<&'static str>, serde_json::Value)>>,
}

fn twilio_error(status: u16, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    });
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

async fn messages(
    State(fake): State<Arc<Fake>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    fake.seen.lock().unwrap().push(Seen {
        account: account.clone(),
        form: form.clone(),
    });
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    );
    if account != SID || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&expected) {
        return twilio_error(401, 20003, "Authenticate");
    }
    if let Some((status, retry_after, body)) = fake.force.lock().unwrap().clone() {
        let mut resp = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
        if let Some(ra) = retry_after {
            resp.headers_mut().insert("retry-after", ra.parse().unwrap());
        }
        return resp;
    }
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(to), Some(body)) = (get("To"), get("Body")) else {
        return twilio_error(400, 21604, "A 'To' phone number is required.");
    };
    if get("From").is_none() && get("MessagingServiceSid").is_none() {
        return twilio_error(
            400,
            21603,
            "A 'From' or 'MessagingServiceSid' parameter is required",
        );
    }
    // Twilio's magic test numbers.
    match to {
        "+15005550001" => {
            return twilio_error(
                400,
                21211,
                "The 'To' number +15005550001 is not a valid phone number.",
            )
        }
        "+15005550009" => return twilio_error(400, 21614, "'To' number is not a valid mobile number"),
        "+15005550004" => return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"),
        _ => {}
    }
    let resp = json!({
        "sid": "SM0123456789abcdef0123456789abcdef",
        "account_sid": SID,
        "to": to,
        "from": get("From"),
        "messaging_service_sid": get("MessagingServiceSid"),
        "body": body,
        "status": if get("MessagingServiceSid").is_some() { "accepted" } else { "queued" },
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "error_code": null,
        "error_message": null,
        "uri": format!("/2010-04-01/Accounts/{SID}/Messages/SM0123456789abcdef0123456789abcdef.json"),
    });
    (StatusCode::CREATED, axum::Json(resp)).into_response()
}

async fn start() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/2010-04-01/Accounts/{account}/Messages.json", post(messages))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}"))
}

fn config(base: &str) -> TwilioConfig {
    let mut c = TwilioConfig::new(SID, TOKEN);
    c.base_url = base.to_string();
    c.default_from = Some("+15550000000".into());
    c.from_by_country.insert("33".into(), "RELAIS".into());
    c.from_by_country.insert("331".into(), "+33100000000".into());
    c.status_callback_url = Some("https://relais.example/hooks/twilio/status".into());
    c.timeout_secs = 5;
    c
}

fn sms(to: &str, body: &str) -> Outgoing {
    Outgoing {
        id: "msg_1".into(),
        to: Address::Phone { number: to.into() },
        content: Content::Sms(SmsContent {
            body: body.into(),
            from: None,
        }),
    }
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn sends_and_reads_the_sid() {
    let (fake, base) = start().await;
    let p = TwilioProvider::new(config(&base));
    assert_eq!((p.name(), p.channel()), ("twilio", relais_channels::Channel::Sms));
    let ok = p.send(&sms("+14155552671", "Hello 5€")).await.unwrap();
    assert_eq!(
        ok.provider_message_id.as_deref(),
        Some("SM0123456789abcdef0123456789abcdef")
    );
    assert_eq!(
        ok.detail,
        Some(json!({"segments": 1, "encoding": "gsm7", "status": "queued"}))
    );
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].account, SID);
    assert_eq!(
        seen[0].form,
        pairs(&[
            ("To", "+14155552671"),
            ("From", "+15550000000"),
            ("Body", "Hello 5€"),
            ("StatusCallback", "https://relais.example/hooks/twilio/status"),
        ])
    );
}

#[tokio::test]
async fn sender_by_country_and_messaging_service() {
    let (fake, base) = start().await;
    let mut cfg = config(&base);
    cfg.status_callback_url = None;
    let p = TwilioProvider::new(cfg.clone());
    p.send(&sms("+33612345678", "Bonjour")).await.unwrap();
    p.send(&sms("+33123456789", "Bonjour")).await.unwrap();
    let mut explicit = sms("+14155552671", "Hi");
    if let Content::Sms(s) = &mut explicit.content {
        s.from = Some("+15551112222".into());
    }
    p.send(&explicit).await.unwrap();
    cfg.messaging_service_sid = Some("MG00000000000000000000000000000001".into());
    let p = TwilioProvider::new(cfg);
    let ok = p.send(&sms("+14155552671", "Hi")).await.unwrap();
    assert_eq!(ok.detail.unwrap()["status"], "accepted");
    let seen: Vec<_> = fake.seen.lock().unwrap().iter().map(|s| s.form.clone()).collect();
    assert_eq!(
        seen[0],
        pairs(&[("To", "+33612345678"), ("From", "RELAIS"), ("Body", "Bonjour")])
    );
    // The longest calling-code prefix wins.
    assert_eq!(
        seen[1],
        pairs(&[
            ("To", "+33123456789"),
            ("From", "+33100000000"),
            ("Body", "Bonjour")
        ])
    );
    assert_eq!(
        seen[2],
        pairs(&[("To", "+14155552671"), ("From", "+15551112222"), ("Body", "Hi")])
    );
    // A Messaging Service picks the sender itself when none is asked for.
    assert_eq!(
        seen[3],
        pairs(&[
            ("To", "+14155552671"),
            ("MessagingServiceSid", "MG00000000000000000000000000000001"),
            ("Body", "Hi")
        ])
    );
}

#[tokio::test]
async fn refused_credentials_are_retried() {
    let (_fake, base) = start().await;
    let mut cfg = config(&base);
    cfg.auth_token = "wrong".into();
    let e = TwilioProvider::new(cfg)
        .send(&sms("+14155552671", "x"))
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(e.to_string().contains("20003"), "{e}");
}

#[tokio::test]
async fn rate_limit_is_retried_after_the_given_delay() {
    let (fake, base) = start().await;
    *fake.force.lock().unwrap() = Some((
        429,
        Some("7"),
        json!({"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}),
    ));
    let e = TwilioProvider::new(config(&base))
        .send(&sms("+14155552671", "x"))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SendError::Retryable {
            reason:
                "twilio: rate limited: 20429 Too Many Requests (https://www.twilio.com/docs/errors/20429)"
                    .into(),
            retry_after: Some(Duration::from_secs(7)),
        }
    );
}

#[tokio::test]
async fn server_errors_are_retried() {
    let (fake, base) = start().await;
    *fake.force.lock().unwrap() = Some((
        500,
        None,
        json!({"code": 20500, "message": "Internal Server Error", "status": 500}),
    ));
    let e = TwilioProvider::new(config(&base))
        .send(&sms("+14155552671", "x"))
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
}

#[tokio::test]
async fn invalid_numbers_and_opt_outs() {
    let (_fake, base) = start().await;
    let p = TwilioProvider::new(config(&base));
    for to in ["+15005550001", "+15005550009"] {
        let e = p.send(&sms(to, "x")).await.unwrap_err();
        assert!(
            matches!(
                e,
                SendError::Permanent {
                    invalid_address: true,
                    ..
                }
            ),
            "{to}: {e:?}"
        );
    }
    let e = p.send(&sms("+15005550004", "x")).await.unwrap_err();
    let SendError::Permanent {
        reason,
        invalid_address,
    } = e
    else {
        panic!("{e:?}");
    };
    assert!(!invalid_address);
    assert!(
        reason.contains("unsubscribed at the carrier") && reason.contains("21610"),
        "{reason}"
    );
}

#[tokio::test]
async fn checks_before_sending() {
    let (fake, base) = start().await;
    let p = TwilioProvider::new(config(&base));
    let e = p.send(&sms("0612345678", "x")).await.unwrap_err();
    assert!(
        matches!(
            e,
            SendError::Permanent {
                invalid_address: true,
                ..
            }
        ),
        "{e:?}"
    );
    // 6 segments allowed: 6 × 153 septets pass, one more does not.
    assert!(p.send(&sms("+14155552671", &"a".repeat(918))).await.is_ok());
    let e = p.send(&sms("+14155552671", &"a".repeat(919))).await.unwrap_err();
    assert!(
        matches!(&e, SendError::Permanent { reason, invalid_address: false } if reason.contains("7 segments")),
        "{e:?}"
    );
    let e = p.send(&sms("+14155552671", &"😀".repeat(202))).await.unwrap_err();
    assert!(e.to_string().contains("ucs2"), "{e}");
    let mut cfg = config(&base);
    cfg.default_from = None;
    cfg.from_by_country.clear();
    let e = TwilioProvider::new(cfg)
        .send(&sms("+14155552671", "x"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no sender"), "{e}");
    assert_eq!(fake.seen.lock().unwrap().len(), 1);
}

/// Twilio posting an inbound STOP to our endpoint: the signature is checked on
/// the URL and the form as received, then the keyword is read.
#[tokio::test]
async fn inbound_webhook_round_trip() {
    async fn inbound(headers: HeaderMap, Form(form): Form<Vec<(String, String)>>) -> Response {
        let sig = headers
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let url = "https://relais.example/hooks/twilio/inbound?tenant=1";
        if !twilio::verify_signature(TOKEN, url, &form, sig) {
            return StatusCode::FORBIDDEN.into_response();
        }
        let m = twilio::parse_inbound(&form).unwrap();
        axum::Json(json!({"from": m.from, "keyword": m.keyword})).into_response()
    }
    let app = Router::new().route("/hooks/twilio/inbound", post(inbound));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let form = pairs(&[
        ("MessageSid", "SM1"),
        ("AccountSid", SID),
        ("From", "+33612345678"),
        ("To", "+33700000000"),
        ("Body", "Arrêt"),
    ]);
    let good = twilio::signature(
        TOKEN,
        "https://relais.example/hooks/twilio/inbound?tenant=1",
        &form,
    );
    let client = relais_channels::http::client(std::time::Duration::from_secs(10));
    let post = |sig: String| {
        client
            .post(format!("http://{addr}/hooks/twilio/inbound?tenant=1"))
            .header("x-twilio-signature", sig)
            .form(&form)
            .send()
    };
    let resp = post(good).await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v, json!({"from": "+33612345678", "keyword": "stop"}));
    assert_eq!(Keyword::detect("START"), Some(Keyword::Start));
    let bad = twilio::signature(
        "other-token",
        "https://relais.example/hooks/twilio/inbound?tenant=1",
        &form,
    );
    assert_eq!(post(bad).await.unwrap().status(), 403);
}
