//! FCM and APNs providers against local servers that implement the documented
//! formats: a Google token endpoint that verifies the RS256 assertion, the FCM
//! v1 send endpoint, and an h2c APNs endpoint that verifies the ES256 token.

use axum::body::Bytes;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use relais_channels::push::{ApnsConfig, ApnsProvider, FcmConfig, FcmProvider};
use relais_channels::{Address, Content, Outgoing, Provider, PushContent, PushPlatform, SendError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// Throw-away keys generated with `openssl genpkey` for these tests only.
const RSA_PRIVATE: &str = include_str!("fixtures/google_sa_rsa.pem");
const RSA_PUBLIC: &str = include_str!("fixtures/google_sa_rsa.pub.pem");
const EC_PRIVATE: &str = include_str!("fixtures/apns_key.p8");
const EC_PUBLIC: &str = include_str!("fixtures/apns_key.pub.pem");

const CLIENT_EMAIL: &str = "relais@demo-project.iam.gserviceaccount.com";
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn push(id: &str, platform: PushPlatform, token: &str) -> Outgoing {
    Outgoing {
        id: id.into(),
        to: Address::PushToken {
            platform,
            token: token.into(),
        },
        content: Content::Push(PushContent {
            title: "Your order shipped".into(),
            body: "It arrives tomorrow".into(),
            image: None,
            url: Some("https://shop.example/orders/42".into()),
            data: BTreeMap::from([("order_id".to_string(), "42".to_string())]),
        }),
    }
}

// ---------------------------------------------------------------- FCM

#[derive(Default)]
struct Google {
    token_uri: Mutex<String>,
    issued: AtomicU64,
    /// What FCM answers: "ok", "unregistered", "quota", "unavailable", "revoke-first".
    mode: Mutex<&'static str>,
    bodies: Mutex<Vec<Value>>,
}

async fn token_endpoint(State(g): State<Arc<Google>>, Form(form): Form<HashMap<String, String>>) -> Response {
    assert_eq!(form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    let aud = g.token_uri.lock().unwrap().clone();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[&aud]);
    v.set_issuer(&[CLIENT_EMAIL]);
    v.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    let key = DecodingKey::from_rsa_pem(RSA_PUBLIC.as_bytes()).unwrap();
    let claims = match decode::<Value>(&form["assertion"], &key, &v) {
        Ok(t) => t.claims,
        Err(e) => {
            let body = json!({"error": "invalid_grant", "error_description": e.to_string()});
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
    };
    assert_eq!(claims["scope"], SCOPE);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
    let n = g.issued.fetch_add(1, Ordering::SeqCst) + 1;
    axum::Json(json!({"access_token": format!("ya29.test-{n}"), "expires_in": 3599, "token_type": "Bearer"}))
        .into_response()
}

fn fcm_error(status: StatusCode, rpc: &str, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "message": message, "status": rpc, "details": [
        {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]}});
    (status, axum::Json(body)).into_response()
}

async fn fcm_endpoint(State(g): State<Arc<Google>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    assert_eq!(uri.path(), "/v1/projects/demo-project/messages:send");
    let bearer = headers["authorization"].to_str().unwrap().to_string();
    let latest = format!("Bearer ya29.test-{}", g.issued.load(Ordering::SeqCst));
    let mode = *g.mode.lock().unwrap();
    if mode == "revoke-first" && bearer == "Bearer ya29.test-1" {
        return fcm_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "",
            "Request had invalid credentials.",
        );
    }
    assert_eq!(bearer, latest, "the newest access token is used");
    g.bodies
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap());
    match mode {
        "unregistered" => fcm_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "UNREGISTERED",
            "Requested entity was not found.",
        ),
        "quota" => {
            let mut r = fcm_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "QUOTA_EXCEEDED",
                "quota",
            );
            r.headers_mut().insert("retry-after", "17".parse().unwrap());
            r
        }
        "unavailable" => fcm_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "UNAVAILABLE",
            "try later",
        ),
        _ => axum::Json(json!({"name": "projects/demo-project/messages/0:1500415314455276%31bd1c96"}))
            .into_response(),
    }
}

async fn fake_google(mode: &'static str) -> (Arc<Google>, String) {
    let g = Arc::new(Google::default());
    *g.mode.lock().unwrap() = mode;
    let app = Router::new()
        .route("/token", post(token_endpoint))
        .fallback(fcm_endpoint)
        .with_state(g.clone());
    let base = serve(app).await;
    *g.token_uri.lock().unwrap() = format!("{base}/token");
    (g, base)
}

fn key_json(token_uri: &str) -> String {
    json!({"type": "service_account", "project_id": "demo-project", "private_key_id": "k1",
           "private_key": RSA_PRIVATE, "client_email": CLIENT_EMAIL, "token_uri": token_uri})
    .to_string()
}

fn fcm(base: &str, key: String) -> FcmProvider {
    FcmProvider::new(FcmConfig {
        service_account_json: Some(key),
        base_url: base.into(),
        ..FcmConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn fcm_sends_with_a_cached_access_token() {
    let (g, base) = fake_google("ok").await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("sa.json");
    std::fs::write(&key_file, key_json(&format!("{base}/token"))).unwrap();
    let p = FcmProvider::new(FcmConfig {
        service_account_file: Some(key_file),
        base_url: base.clone(),
        ..FcmConfig::default()
    })
    .unwrap();
    assert_eq!((p.name(), p.project_id()), ("fcm", "demo-project"));
    let a = p
        .send(&push("msg_1", PushPlatform::Fcm, "reg-token-1"))
        .await
        .unwrap();
    assert_eq!(
        a.provider_message_id.as_deref(),
        Some("projects/demo-project/messages/0:1500415314455276%31bd1c96")
    );
    p.send(&push("msg_2", PushPlatform::Fcm, "reg-token-2"))
        .await
        .unwrap();
    assert_eq!(g.issued.load(Ordering::SeqCst), 1, "the access token is reused");
    let body = g.bodies.lock().unwrap()[0].clone();
    let m = &body["message"];
    assert_eq!(m["token"], "reg-token-1");
    assert_eq!(
        m["notification"],
        json!({"title": "Your order shipped", "body": "It arrives tomorrow"})
    );
    assert_eq!(
        m["data"],
        json!({"order_id": "42", "url": "https://shop.example/orders/42"})
    );
    assert_eq!(
        m["webpush"]["fcm_options"]["link"],
        "https://shop.example/orders/42"
    );
}

#[tokio::test]
async fn fcm_token_uri_override_is_the_audience() {
    let (g, base) = fake_google("ok").await;
    let p = FcmProvider::new(FcmConfig {
        service_account_json: Some(key_json("https://oauth2.googleapis.com/token")),
        token_uri: Some(format!("{base}/token")),
        base_url: base.clone(),
        ..FcmConfig::default()
    })
    .unwrap();
    p.send(&push("msg_1", PushPlatform::Fcm, "t")).await.unwrap();
    assert_eq!(g.issued.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fcm_errors_are_mapped() {
    let (g, base) = fake_google("unregistered").await;
    let p = fcm(&base, key_json(&format!("{base}/token")));
    let e = p.send(&push("m", PushPlatform::Fcm, "gone")).await.unwrap_err();
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

    *g.mode.lock().unwrap() = "quota";
    match p.send(&push("m", PushPlatform::Fcm, "t")).await.unwrap_err() {
        SendError::Retryable { retry_after, .. } => assert_eq!(retry_after, Some(Duration::from_secs(17))),
        e => panic!("{e:?}"),
    }
    *g.mode.lock().unwrap() = "unavailable";
    assert!(p
        .send(&push("m", PushPlatform::Fcm, "t"))
        .await
        .unwrap_err()
        .is_retryable());
    assert_eq!(g.issued.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fcm_refreshes_the_token_once_after_401() {
    let (g, base) = fake_google("revoke-first").await;
    let p = fcm(&base, key_json(&format!("{base}/token")));
    let a = p.send(&push("msg_1", PushPlatform::Fcm, "t")).await.unwrap();
    assert!(a.provider_message_id.is_some());
    assert_eq!(g.issued.load(Ordering::SeqCst), 2, "exactly one refresh");
    assert_eq!(p.token_fetches(), 2);
    p.send(&push("msg_2", PushPlatform::Fcm, "t")).await.unwrap();
    assert_eq!(g.issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn fcm_rejects_a_bad_key_at_start() {
    let e = FcmProvider::new(FcmConfig {
        service_account_json: Some(json!({"client_email": CLIENT_EMAIL, "private_key": "nope"}).to_string()),
        project_id: "p".into(),
        ..FcmConfig::default()
    });
    assert!(e.is_err());
}

// ---------------------------------------------------------------- APNs

const TEAM: &str = "TEAM123456";
const KEY_ID: &str = "KEY1234567";
const TOPIC: &str = "com.example.shop";

#[derive(Default)]
struct Apple {
    /// (version, jwt, apns-id) of every request.
    seen: Mutex<Vec<(Version, String, String)>>,
    /// A provider token this server now calls expired.
    expired: Mutex<Option<String>>,
}

async fn apns_endpoint(
    State(a): State<Arc<Apple>>,
    method: Method,
    version: Version,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    assert_eq!(method, Method::POST);
    let device = uri
        .path()
        .strip_prefix("/3/device/")
        .expect("/3/device/{token}")
        .to_string();
    let h = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let jwt = h("authorization")
        .strip_prefix("bearer ")
        .expect("bearer token")
        .to_string();
    let header = decode_header(&jwt).unwrap();
    assert_eq!(
        (header.alg, header.kid.as_deref()),
        (Algorithm::ES256, Some(KEY_ID))
    );
    let mut v = Validation::new(Algorithm::ES256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    let claims = decode::<Value>(&jwt, &DecodingKey::from_ec_pem(EC_PUBLIC.as_bytes()).unwrap(), &v)
        .expect("ES256 signature verifies")
        .claims;
    assert_eq!(claims["iss"], TEAM);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(claims["iat"].as_u64().unwrap().abs_diff(now) < 60);
    assert_eq!(
        (h("apns-topic"), h("apns-push-type"), h("apns-priority")),
        (TOPIC.into(), "alert".into(), "10".into())
    );
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["aps"]["alert"]["title"], "Your order shipped");
    assert_eq!(payload["url"], "https://shop.example/orders/42");
    let id = h("apns-id");
    a.seen.lock().unwrap().push((version, jwt.clone(), id.clone()));
    let reason =
        |status: StatusCode, reason: &str| (status, axum::Json(json!({"reason": reason}))).into_response();
    if a.expired.lock().unwrap().as_deref() == Some(jwt.as_str()) {
        return reason(StatusCode::FORBIDDEN, "ExpiredProviderToken");
    }
    match device.as_str() {
        "dead" => (
            StatusCode::GONE,
            axum::Json(json!({"reason": "Unregistered", "timestamp": 1_700_000_000_000u64})),
        )
            .into_response(),
        "bad0" => reason(StatusCode::BAD_REQUEST, "BadDeviceToken"),
        "f429" => reason(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests"),
        _ => ([("apns-id", id)], "").into_response(),
    }
}

async fn fake_apns() -> (Arc<Apple>, ApnsProvider) {
    let a = Arc::new(Apple::default());
    let base = serve(Router::new().fallback(apns_endpoint).with_state(a.clone())).await;
    let p = ApnsProvider::new(ApnsConfig {
        team_id: TEAM.into(),
        key_id: KEY_ID.into(),
        private_key_file: None,
        private_key_pem: Some(EC_PRIVATE.into()),
        topic: TOPIC.into(),
        base_url: base,
        prior_knowledge_h2: true,
        timeout_secs: 5,
    })
    .unwrap();
    (a, p)
}

const DEVICE: &str = "8a2f4c1e9b7d3a5f6e0c2b4d8f1a3c5e7b9d0f2a4c6e8b1d3f5a7c9e0b2d4f6a";

#[tokio::test]
async fn apns_sends_over_http2_with_a_stable_apns_id() {
    let (a, p) = fake_apns().await;
    assert_eq!(p.name(), "apns");
    let first = p.send(&push("msg_1", PushPlatform::Apns, DEVICE)).await.unwrap();
    let again = p.send(&push("msg_1", PushPlatform::Apns, DEVICE)).await.unwrap();
    let other = p.send(&push("msg_2", PushPlatform::Apns, DEVICE)).await.unwrap();
    let seen = a.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|(v, _, _)| *v == Version::HTTP_2), "{seen:?}");
    assert_eq!(seen[0].2, seen[1].2, "same message, same apns-id");
    assert_ne!(seen[0].2, seen[2].2);
    assert_eq!(first.provider_message_id.as_deref(), Some(seen[0].2.as_str()));
    assert_eq!(first.provider_message_id, again.provider_message_id);
    assert_ne!(first.provider_message_id, other.provider_message_id);
    assert!(
        seen.iter().all(|(_, jwt, _)| *jwt == seen[0].1),
        "one provider token reused"
    );
    assert_eq!(p.tokens_made(), 1);
}

#[tokio::test]
async fn apns_errors_are_mapped() {
    let (_a, p) = fake_apns().await;
    for device in ["dead", "bad0"] {
        let e = p.send(&push("m", PushPlatform::Apns, device)).await.unwrap_err();
        assert!(
            matches!(
                e,
                SendError::Permanent {
                    invalid_address: true,
                    ..
                }
            ),
            "{device}: {e:?}"
        );
    }
    assert!(p
        .send(&push("m", PushPlatform::Apns, "f429"))
        .await
        .unwrap_err()
        .is_retryable());
    let e = p
        .send(&push("m", PushPlatform::Apns, "not-hex"))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        SendError::Permanent {
            invalid_address: true,
            ..
        }
    ));
    let e = p.send(&push("m", PushPlatform::Fcm, DEVICE)).await.unwrap_err();
    assert!(matches!(
        e,
        SendError::Permanent {
            invalid_address: false,
            ..
        }
    ));
}

#[tokio::test]
async fn apns_renews_the_provider_token_after_expired_provider_token() {
    let (a, p) = fake_apns().await;
    p.send(&push("msg_1", PushPlatform::Apns, DEVICE)).await.unwrap();
    let first_jwt = a.seen.lock().unwrap()[0].1.clone();
    *a.expired.lock().unwrap() = Some(first_jwt.clone());
    let e = p
        .send(&push("msg_2", PushPlatform::Apns, DEVICE))
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    // A new token needs a later `iat` (ES256 signing here is deterministic).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    p.send(&push("msg_2", PushPlatform::Apns, DEVICE)).await.unwrap();
    p.send(&push("msg_3", PushPlatform::Apns, DEVICE)).await.unwrap();
    let seen = a.seen.lock().unwrap().clone();
    assert_ne!(
        seen[2].1, first_jwt,
        "a new provider token after ExpiredProviderToken"
    );
    assert_eq!(seen[3].1, seen[2].1, "and it is reused");
    assert_eq!(p.tokens_made(), 2);
}
