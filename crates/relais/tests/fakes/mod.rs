//! Local stand-ins for the HTTP providers, for the binary's end-to-end tests:
//! one server (HTTP/1.1 and h2c, APNs needs HTTP/2) answering in each
//! provider's documented format — Twilio Messages, Google's OAuth token and
//! FCM v1, APNs, WhatsApp Cloud API, Lob letters — and a webhook receiver.
//! Every request is recorded. The providers' own tests (relais-channels)
//! check the finer points (JWT signatures, error mapping); these check that
//! the binary, configured by `relais.toml`, reaches each of them.

#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, Version};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

pub const TWILIO_SID: &str = "AC00000000000000000000000000000001";
pub const TWILIO_TOKEN: &str = "twilio-auth-token";
pub const WA_SECRET: &str = "meta-app-secret";
pub const WA_VERIFY: &str = "meta-verify-token";
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const RSA_PRIVATE: &str = include_str!("../../../relais-channels/tests/fixtures/google_sa_rsa.pem");
const EC_PRIVATE: &str = include_str!("../../../relais-channels/tests/fixtures/apns_key.p8");

/// One request a provider received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// twilio, google_token, fcm, apns, whatsapp, lob, webhook.
    pub provider: &'static str,
    pub path: String,
    pub version: Version,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    /// A form body's parameter.
    pub fn form(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.body.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

#[derive(Default)]
struct World {
    seen: Mutex<Vec<Seen>>,
}

pub struct Fakes {
    pub base: String,
    world: Arc<World>,
}

fn which(method: &Method, path: &str) -> Option<&'static str> {
    if method != Method::POST {
        return None;
    }
    Some(match path {
        "/token" => "google_token",
        "/v1/letters" => "lob",
        p if p.starts_with("/hook") => "webhook",
        p if p.starts_with("/3/device/") => "apns",
        p if p.ends_with("/Messages.json") => "twilio",
        p if p.ends_with("/messages:send") => "fcm",
        p if p.ends_with("/messages") => "whatsapp",
        _ => return None,
    })
}

async fn answer(
    State(w): State<Arc<World>>,
    method: Method,
    version: Version,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let Some(provider) = which(&method, &path) else {
        return (StatusCode::NOT_FOUND, format!("no fake for {method} {path}")).into_response();
    };
    let n = {
        let mut seen = w.seen.lock().unwrap();
        seen.push(Seen {
            provider,
            path: path.clone(),
            version,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        seen.len()
    };
    match provider {
        "twilio" => (
            StatusCode::CREATED,
            Json(json!({"sid": format!("SM{n:032}"), "status": "queued"})),
        )
            .into_response(),
        "google_token" => {
            Json(json!({"access_token": "ya29.fake", "expires_in": 3600, "token_type": "Bearer"}))
                .into_response()
        }
        "fcm" => Json(json!({"name": format!("projects/demo-project/messages/0:{n}")})).into_response(),
        "apns" => {
            let id = headers
                .get("apns-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            ([("apns-id", id)], "").into_response()
        }
        "whatsapp" => Json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "x", "wa_id": "x"}],
            "messages": [{"id": format!("wamid.FAKE{n}")}]
        }))
        .into_response(),
        "lob" => Json(json!({"id": format!("ltr_{n:016x}"), "expected_delivery_date": "2026-11-30"}))
            .into_response(),
        _ => (StatusCode::OK, "ok").into_response(),
    }
}

impl Fakes {
    pub async fn start() -> Fakes {
        let world = Arc::new(World::default());
        let app = Router::new().fallback(answer).with_state(world.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fakes {
            base: format!("http://{addr}"),
            world,
        }
    }

    pub fn seen(&self, provider: &str) -> Vec<Seen> {
        self.world
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.provider == provider)
            .cloned()
            .collect()
    }

    /// `[engine.channels.*]` for every HTTP provider, pointing here.
    pub fn config(&self) -> String {
        let b = &self.base;
        let sa = json!({"type": "service_account", "project_id": "demo-project", "private_key_id": "k1",
                        "private_key": RSA_PRIVATE, "client_email": "relais@demo-project.iam.gserviceaccount.com",
                        "token_uri": format!("{b}/token")})
        .to_string();
        format!(
            r#"
[engine.channels.twilio]
base_url = "{b}"
account_sid = "{TWILIO_SID}"
auth_token = "{TWILIO_TOKEN}"
default_from = "+15550001111"

[engine.channels.fcm]
project_id = "demo-project"
base_url = "{b}"
service_account_json = {sa}

[engine.channels.apns]
team_id = "TEAM123456"
key_id = "KEY1234567"
topic = "com.example.shop"
base_url = "{b}"
prior_knowledge_h2 = true
private_key_pem = """
{EC_PRIVATE}"""

[engine.channels.whatsapp]
base_url = "{b}"
phone_number_id = "1098765"
access_token = "wa-access-token"
app_secret = "{WA_SECRET}"
verify_token = "{WA_VERIFY}"

[engine.channels.webhook]
secret = "{WEBHOOK_SECRET}"
allow_private = true

[engine.channels.lob]
base_url = "{b}"
api_key = "test_lob_key"
"#,
            sa = toml_string(&sa),
        )
    }
}

/// A TOML basic string.
pub fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}
