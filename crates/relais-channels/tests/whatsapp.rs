//! The WhatsApp provider against a local server that speaks the Cloud API as
//! documented: `POST /{version}/{phone_number_id}/messages` with a Bearer token,
//! `{"messaging_product":"whatsapp","contacts":[…],"messages":[{"id":…}]}` on
//! success, `{"error":{"message","type","code","error_data","fbtrace_id"}}` on error.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use relais_channels::whatsapp::{self, WhatsappConfig, WhatsappEvent, WhatsappProvider};
use relais_channels::{Address, Content, Outgoing, Provider, SendError, WhatsappContent};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PHONE_ID: &str = "106540352242922";
const TOKEN: &str = "EAAG-test-token";

#[derive(Default)]
struct Fake {
    seen: Mutex<Vec<(String, String, Value)>>,
    force: Mutex<Option<(u16, Option<&'static str>, Value)>>,
}

fn graph_error(status: u16, code: i64, message: &str, details: &str) -> Response {
    let body = json!({"error": {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": "AbCdEf123"
    }});
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

async fn messages(
    State(fake): State<Arc<Fake>>,
    Path((version, phone_id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    fake.seen
        .lock()
        .unwrap()
        .push((version.clone(), phone_id.clone(), body.clone()));
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {TOKEN}")) {
        return graph_error(
            401,
            190,
            "Invalid OAuth access token - Cannot parse access token",
            "",
        );
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return graph_error(400, 100, "Invalid parameter", "content type");
    }
    if let Some((status, retry_after, body)) = fake.force.lock().unwrap().clone() {
        let mut resp = (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
        if let Some(ra) = retry_after {
            resp.headers_mut().insert("retry-after", ra.parse().unwrap());
        }
        return resp;
    }
    if phone_id != PHONE_ID || body["messaging_product"] != "whatsapp" || body["type"] != "template" {
        return graph_error(400, 100, "Invalid parameter", "messaging_product / type");
    }
    let to = body["to"].as_str().unwrap_or_default();
    if to == "15550009999" {
        return graph_error(400, 131026, "Message undeliverable", "Message Undeliverable.");
    }
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3", "message_status": "accepted"}]
    }))
    .into_response()
}

async fn start() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/{version}/{phone_id}/messages", post(messages))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}"))
}

fn provider(base: &str, token: &str) -> WhatsappProvider {
    let mut c = WhatsappConfig::new(PHONE_ID, token);
    c.base_url = base.into();
    c.timeout_secs = 5;
    WhatsappProvider::new(c)
}

fn template(to: &str) -> Outgoing {
    Outgoing {
        id: "msg_wa_1".into(),
        to: Address::Phone { number: to.into() },
        content: Content::Whatsapp(WhatsappContent {
            template: "order_shipped".into(),
            language: "en_US".into(),
            body_params: vec!["Anna".into(), "#4711".into()],
            header_params: vec!["Your order".into()],
        }),
    }
}

#[tokio::test]
async fn sends_a_template_and_reads_the_wamid() {
    let (fake, base) = start().await;
    let p = provider(&base, TOKEN);
    assert_eq!(p.name(), "whatsapp");
    let ok = p.send(&template("+16505551234")).await.unwrap();
    assert_eq!(
        ok.provider_message_id.as_deref(),
        Some("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3")
    );
    assert_eq!(
        ok.detail,
        Some(json!({"wa_id": "16505551234", "message_status": "accepted"}))
    );
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen[0].0, whatsapp::DEFAULT_API_VERSION);
    assert_eq!(seen[0].1, PHONE_ID);
    assert_eq!(
        seen[0].2,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "16505551234",
            "type": "template",
            "template": {
                "name": "order_shipped",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [{"type": "text", "text": "Your order"}]},
                    {"type": "body", "parameters": [
                        {"type": "text", "text": "Anna"},
                        {"type": "text", "text": "#4711"}
                    ]}
                ]
            }
        })
    );
}

#[tokio::test]
async fn expired_token_is_retried() {
    let (_fake, base) = start().await;
    let e = provider(&base, "expired")
        .send(&template("+16505551234"))
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(
        e.to_string().contains("credentials") && e.to_string().contains("#190"),
        "{e}"
    );
}

#[tokio::test]
async fn rate_limits_are_retried_with_retry_after() {
    let (fake, base) = start().await;
    for code in [130429, 131056, 80007, 4] {
        *fake.force.lock().unwrap() = Some((
            if code == 130429 { 429 } else { 400 },
            Some("30"),
            json!({"error": {"message": "Rate limit hit", "type": "OAuthException", "code": code,
                   "error_data": {"messaging_product": "whatsapp", "details": "slow down"}, "fbtrace_id": "X"}}),
        ));
        let e = provider(&base, TOKEN)
            .send(&template("+16505551234"))
            .await
            .unwrap_err();
        let SendError::Retryable { retry_after, reason } = e else {
            panic!("{code}: {e:?}");
        };
        assert_eq!(retry_after, Some(Duration::from_secs(30)), "{code}");
        assert!(reason.contains("rate limited"), "{reason}");
    }
}

#[tokio::test]
async fn server_errors_are_retried_and_template_errors_are_not() {
    let (fake, base) = start().await;
    *fake.force.lock().unwrap() = Some((
        500,
        None,
        json!({"error": {"message": "Service unavailable", "code": 2}}),
    ));
    assert!(provider(&base, TOKEN)
        .send(&template("+16505551234"))
        .await
        .unwrap_err()
        .is_retryable());
    *fake.force.lock().unwrap() = Some((
        400,
        None,
        json!({"error": {"message": "(#132001) Template name does not exist in the translation",
               "type": "OAuthException", "code": 132001,
               "error_data": {"messaging_product": "whatsapp", "details": "template name (order_shipped) does not exist in en_US"},
               "fbtrace_id": "Y"}}),
    ));
    let e = provider(&base, TOKEN)
        .send(&template("+16505551234"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SendError::Permanent { invalid_address: false, reason } if reason.contains("132001")),
        "{e:?}"
    );
}

#[tokio::test]
async fn undeliverable_number_is_an_invalid_address() {
    let (_fake, base) = start().await;
    let e = provider(&base, TOKEN)
        .send(&template("+15550009999"))
        .await
        .unwrap_err();
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
    let e = provider(&base, TOKEN)
        .send(&template("15550009999"))
        .await
        .unwrap_err();
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
}

/// Meta posting a status webhook to our endpoint: the signature is checked on the
/// raw body, then the events are read.
#[tokio::test]
async fn webhook_round_trip() {
    const APP_SECRET: &str = "app-secret-1";
    async fn hook(headers: HeaderMap, body: Bytes) -> Response {
        let sig = headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !whatsapp::verify_signature(APP_SECRET, &body, sig) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let v: Value = serde_json::from_slice(&body).unwrap();
        Json(serde_json::to_value(whatsapp::parse_webhook(&v)).unwrap()).into_response()
    }
    let app = Router::new().route("/hooks/whatsapp", post(hook));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let body = serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
            "statuses": [{"id": "wamid.A", "status": "read", "timestamp": "1750857399", "recipient_id": "16505551234"}]
        }}]}]
    }))
    .unwrap();
    let client = relais_channels::http::client(std::time::Duration::from_secs(10));
    let post = |sig: String| {
        client
            .post(format!("http://{addr}/hooks/whatsapp"))
            .header("x-hub-signature-256", sig)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    let resp = post(whatsapp::signature_header(APP_SECRET, &body)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let events: Value = resp.json().await.unwrap();
    assert_eq!(
        events,
        json!([{"event": "status", "id": "wamid.A", "status": "read", "recipient_id": "16505551234",
                "timestamp": 1750857399, "errors": []}])
    );
    let expected = WhatsappEvent::Status {
        id: "wamid.A".into(),
        status: "read".into(),
        recipient_id: Some("16505551234".into()),
        timestamp: Some(1750857399),
        errors: vec![],
    };
    assert_eq!(
        whatsapp::parse_webhook(&serde_json::from_slice(&body).unwrap()),
        vec![expected]
    );
    let resp = post(whatsapp::signature_header("wrong-secret", &body))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}
