use super::*;
use std::collections::BTreeMap;

fn classify(code: u16, reason: &str) -> (SendError, bool) {
    let body = json!({ "reason": reason }).to_string();
    classify_error(StatusCode::from_u16(code).unwrap(), &HeaderMap::new(), &body)
}

#[test]
fn apns_id_is_a_stable_canonical_uuid() {
    let a = apns_id("msg_01");
    assert_eq!(a, apns_id("msg_01"));
    assert_ne!(a, apns_id("msg_02"));
    assert_eq!(a.len(), 36);
    let parts: Vec<&str> = a.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(parts[2].starts_with('4'));
    assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    assert!(a
        .bytes()
        .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
}

#[test]
fn reasons_are_mapped() {
    for (code, reason) in [
        (400, "BadDeviceToken"),
        (410, "Unregistered"),
        (400, "DeviceTokenNotForTopic"),
        (410, "ExpiredToken"),
    ] {
        let (e, t) = classify(code, reason);
        assert!(
            matches!(
                e,
                SendError::Permanent {
                    invalid_address: true,
                    ..
                }
            ),
            "{reason}"
        );
        assert!(!t);
    }
    for reason in ["ExpiredProviderToken", "InvalidProviderToken"] {
        let (e, t) = classify(403, reason);
        assert!(e.is_retryable() && t, "{reason}");
    }
    for (code, reason) in [
        (429, "TooManyRequests"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
        (503, "Shutdown"),
    ] {
        let (e, t) = classify(code, reason);
        assert!(e.is_retryable() && !t, "{reason}");
    }
    for (code, reason) in [
        (413, "PayloadTooLarge"),
        (400, "BadTopic"),
        (400, "TopicDisallowed"),
    ] {
        let (e, _) = classify(code, reason);
        assert!(
            matches!(
                e,
                SendError::Permanent {
                    invalid_address: false,
                    ..
                }
            ),
            "{reason}"
        );
    }
}

#[test]
fn payload_has_alert_link_and_custom_keys() {
    let p = PushContent {
        title: "T".into(),
        body: "B".into(),
        image: None,
        url: Some("myapp://orders/1".into()),
        data: BTreeMap::from([
            ("order".into(), "1".into()),
            ("aps".into(), "ignored".into()),
            (COLLAPSE_ID_KEY.into(), "c".into()),
        ]),
    };
    assert_eq!(
        payload(&p),
        json!({
            "aps": {"alert": {"title": "T", "body": "B"}, "mutable-content": 1, "sound": "default"},
            "url": "myapp://orders/1",
            "order": "1",
        })
    );
}
