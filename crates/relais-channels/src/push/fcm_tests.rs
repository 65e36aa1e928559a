use super::*;
use std::collections::BTreeMap;

fn status_body(code: u16, status: &str, message: &str, fcm: Option<&str>) -> String {
    let mut details = vec![];
    if let Some(c) = fcm {
        details.push(json!({"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": c}));
    }
    json!({"error": {"code": code, "message": message, "status": status, "details": details}}).to_string()
}

fn classify(code: u16, status: &str, message: &str, fcm: Option<&str>) -> Attempt {
    let body = status_body(code, status, message, fcm);
    classify_error(StatusCode::from_u16(code).unwrap(), &HeaderMap::new(), &body)
}

fn failed(a: Attempt) -> SendError {
    match a {
        Attempt::Failed(e) => e,
        Attempt::Sent(_) => panic!("sent"),
        Attempt::Unauthenticated(e) => panic!("unauthenticated: {e}"),
    }
}

fn is_invalid_address(e: &SendError) -> bool {
    matches!(
        e,
        SendError::Permanent {
            invalid_address: true,
            ..
        }
    )
}

#[test]
fn token_errors_mark_the_address_invalid() {
    let e = failed(classify(
        404,
        "NOT_FOUND",
        "Requested entity was not found.",
        Some("UNREGISTERED"),
    ));
    assert!(is_invalid_address(&e), "{e:?}");
    let e = failed(classify(
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
        Some("INVALID_ARGUMENT"),
    ));
    assert!(is_invalid_address(&e), "{e:?}");
    let e = failed(classify(
        403,
        "PERMISSION_DENIED",
        "SenderId mismatch",
        Some("SENDER_ID_MISMATCH"),
    ));
    assert!(is_invalid_address(&e), "{e:?}");
}

#[test]
fn other_invalid_arguments_are_permanent_only() {
    let e = failed(classify(
        400,
        "INVALID_ARGUMENT",
        "Invalid value at 'message.data[0].value'",
        None,
    ));
    assert!(
        matches!(
            e,
            SendError::Permanent {
                invalid_address: false,
                ..
            }
        ),
        "{e:?}"
    );
    let body = json!({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT", "details": [
        {"@type": "type.googleapis.com/google.rpc.BadRequest",
         "fieldViolations": [{"field": "message.token", "description": "Invalid registration"}]}]}});
    let a = classify_error(StatusCode::BAD_REQUEST, &HeaderMap::new(), &body.to_string());
    assert!(is_invalid_address(&failed(a)));
}

#[test]
fn transient_errors_are_retryable() {
    let e = failed(classify(
        429,
        "RESOURCE_EXHAUSTED",
        "quota",
        Some("QUOTA_EXCEEDED"),
    ));
    assert_eq!(
        e,
        SendError::Retryable {
            reason: "fcm: HTTP 429: QUOTA_EXCEEDED: quota".into(),
            retry_after: Some(QUOTA_BACKOFF)
        }
    );
    for (code, status, fcm) in [
        (503, "UNAVAILABLE", Some("UNAVAILABLE")),
        (500, "INTERNAL", Some("INTERNAL")),
        (401, "UNAUTHENTICATED", Some("THIRD_PARTY_AUTH_ERROR")),
        (502, "", None),
    ] {
        assert!(failed(classify(code, status, "x", fcm)).is_retryable(), "{code}");
    }
}

#[test]
fn unauthenticated_asks_for_a_new_token() {
    let a = classify(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials.",
        None,
    );
    assert!(matches!(a, Attempt::Unauthenticated(_)));
}

#[test]
fn message_carries_link_image_and_data() {
    let p = PushContent {
        title: "Hi".into(),
        body: "There".into(),
        image: Some("https://cdn.example/i.png".into()),
        url: Some("https://shop.example/x".into()),
        data: BTreeMap::from([("k".into(), "v".into()), (COLLAPSE_ID_KEY.into(), "promo".into())]),
    };
    let m = &message_body("tok", &p)["message"];
    assert_eq!(m["token"], "tok");
    assert_eq!(
        m["notification"],
        json!({"title": "Hi", "body": "There", "image": "https://cdn.example/i.png"})
    );
    assert_eq!(m["data"], json!({"k": "v", "url": "https://shop.example/x"}));
    assert_eq!(m["android"]["collapse_key"], "promo");
    assert_eq!(m["apns"]["headers"]["apns-collapse-id"], "promo");
    assert_eq!(m["apns"]["payload"]["aps"]["mutable-content"], 1);
    assert_eq!(m["webpush"]["fcm_options"]["link"], "https://shop.example/x");

    let plain = PushContent {
        url: Some("myapp://x".into()),
        image: None,
        data: BTreeMap::new(),
        ..p
    };
    let m = &message_body("tok", &plain)["message"];
    assert!(m.get("webpush").is_none() && m.get("apns").is_none() && m.get("android").is_none());
}

#[test]
fn debug_hides_the_key() {
    let cfg = FcmConfig {
        service_account_json: Some("{\"private_key\":\"SECRET\"}".into()),
        ..FcmConfig::default()
    };
    let s = format!("{cfg:?}");
    assert!(!s.contains("SECRET") && s.contains("<redacted>"), "{s}");
}
