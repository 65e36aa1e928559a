//! Lob against a local server implementing its letters API, and the printer
//! batch export (CSV + PDF) checked byte-wise.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use relais_channels::direct_mail::{export_batch, LobConfig, LobProvider, PrintLetter};
use relais_channels::{Address, Content, LetterContent, Outgoing, PostalAddress, Provider, SendError};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn postal(name: &str, line1: &str, city: &str, postal_code: &str, country: &str) -> PostalAddress {
    PostalAddress {
        name: name.into(),
        company: None,
        line1: line1.into(),
        line2: None,
        city: city.into(),
        state: None,
        postal_code: postal_code.into(),
        country: country.into(),
    }
}

fn sender() -> PostalAddress {
    PostalAddress {
        company: Some("Relais Shop".into()),
        ..postal("Service clients", "8 quai Saint-Vincent", "Lyon", "69001", "FR")
    }
}

// ---------------------------------------------------------------- Lob

#[derive(Default)]
struct FakeLob {
    requests: Mutex<Vec<(String, Value)>>,
}

async fn letters(State(lob): State<Arc<FakeLob>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    assert_eq!(uri.path(), "/v1/letters");
    let expected = base64::engine::general_purpose::STANDARD.encode("test_key:");
    assert_eq!(headers["authorization"], format!("Basic {expected}").as_str());
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let key = headers["idempotency-key"].to_str().unwrap().to_string();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["metadata"]["relais_message_id"], key.as_str());
    for field in [
        "name",
        "address_line1",
        "address_city",
        "address_zip",
        "address_country",
    ] {
        assert!(
            v["to"][field].is_string() && v["from"][field].is_string(),
            "{field}"
        );
    }
    assert!(v["file"].as_str().unwrap().starts_with("<html>"));
    assert_eq!(
        (&v["use_type"], &v["color"], &v["mail_type"]),
        (&json!("operational"), &json!(true), &json!("usps_first_class"))
    );
    lob.requests.lock().unwrap().push((key, v.clone()));
    let error = |status: StatusCode, code: &str, message: &str| {
        let body = json!({"error": {"message": message, "status_code": status.as_u16(), "code": code}});
        (status, axum::Json(body)).into_response()
    };
    match v["to"]["name"].as_str().unwrap() {
        "Nobody Home" => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "failed_deliverability_strictness",
            "The `to` address doesn't meet strictness requirements.",
        ),
        "Too Fast" => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded", "slow down");
            r.headers_mut().insert("retry-after", "30".parse().unwrap());
            r
        }
        _ => axum::Json(json!({"id": "ltr_4868c3b754655f90", "object": "letter",
                              "expected_delivery_date": "2025-03-14"}))
        .into_response(),
    }
}

async fn fake_lob() -> (Arc<FakeLob>, LobProvider) {
    let lob = Arc::new(FakeLob::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(letters).with_state(lob.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let p = LobProvider::new(LobConfig {
        base_url: base,
        api_key: "test_key".into(),
        use_type: "operational".into(),
        color: true,
        ..LobConfig::default()
    })
    .unwrap();
    (lob, p)
}

fn letter(id: &str, to: PostalAddress) -> Outgoing {
    Outgoing {
        id: id.into(),
        to: Address::Postal(to),
        content: Content::Letter(LetterContent {
            from: sender(),
            description: "Spring catalogue".into(),
            html: "<html><body><p>Bonjour {{name}}</p></body></html>".into(),
        }),
    }
}

#[tokio::test]
async fn lob_creates_a_letter_with_an_idempotency_key() {
    let (lob, p) = fake_lob().await;
    assert_eq!(p.name(), "lob");
    let to = PostalAddress {
        line2: Some("Bâtiment B".into()),
        ..postal("Jeanne Martin", "12 rue des Lilas", "Lyon", "69003", "FR")
    };
    let a = p.send(&letter("msg_lob_1", to)).await.unwrap();
    assert_eq!(a.provider_message_id.as_deref(), Some("ltr_4868c3b754655f90"));
    assert_eq!(a.detail, Some(json!({"expected_delivery_date": "2025-03-14"})));
    let (key, body) = lob.requests.lock().unwrap()[0].clone();
    assert_eq!(key, "msg_lob_1");
    assert_eq!(
        body["to"],
        json!({"name": "Jeanne Martin", "address_line1": "12 rue des Lilas", "address_line2": "Bâtiment B",
               "address_city": "Lyon", "address_zip": "69003", "address_country": "FR"})
    );
    assert_eq!(body["from"]["company"], "Relais Shop");
    assert_eq!(body["description"], "Spring catalogue");
}

#[tokio::test]
async fn lob_errors_are_mapped() {
    let (lob, p) = fake_lob().await;
    let nobody = postal("Nobody Home", "1 Nowhere Rd", "Springfield", "62701", "US");
    let nobody = PostalAddress {
        state: Some("IL".into()),
        ..nobody
    };
    let e = p.send(&letter("m1", nobody)).await.unwrap_err();
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

    let fast = postal("Too Fast", "1 Hauptstraße", "Berlin", "10115", "DE");
    match p.send(&letter("m2", fast)).await.unwrap_err() {
        SendError::Retryable { retry_after, .. } => assert_eq!(retry_after, Some(Duration::from_secs(30))),
        e => panic!("{e:?}"),
    }
    // Checked locally: never sent, never paid for.
    let bad = postal("No Zip", "1 rue", "Paris", "7500", "FR");
    let e = p.send(&letter("m3", bad)).await.unwrap_err();
    match &e {
        SendError::Permanent {
            invalid_address: true,
            reason,
        } => assert!(reason.contains("postal_code"), "{reason}"),
        e => panic!("{e:?}"),
    }
    assert_eq!(lob.requests.lock().unwrap().len(), 2);
}

// ---------------------------------------------------------------- export

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    count(hay, format!("({needle})").as_bytes()) > 0
}

#[test]
fn export_writes_csv_and_a_duplex_safe_pdf() {
    let dir = tempfile::tempdir().unwrap();
    // 25 one-line paragraphs and 24 gaps: 49 lines, more than the 33 of a first page.
    let long_text = (1..=25)
        .map(|i| format!("Paragraph {i}: thank you for being a loyal customer."))
        .collect::<Vec<_>>()
        .join("\n\n");
    let letters = vec![
        PrintLetter {
            message_id: "msg_short".into(),
            to: postal("Jeanne Martin", "12 rue des Lilas", "Lyon", "69003", "FR"),
            from: sender(),
            text: "Madame,\n\nVotre carte fidélité vous attend.\n\nCordialement,\nRelais Shop".into(),
        },
        PrintLetter {
            message_id: "msg_invalid".into(),
            to: postal("Nope", "1 rue", "Paris", "ABC", "FR"),
            from: sender(),
            text: "Never printed".into(),
        },
        PrintLetter {
            message_id: "msg_long".into(),
            to: postal("Hans Müller", "Hauptstraße 5", "Berlin", "10115", "DE"),
            from: sender(),
            text: long_text,
        },
    ];
    let batch = export_batch(&letters, dir.path(), "batch-2025-03-10").unwrap();
    assert_eq!(batch.letters, 2);
    assert_eq!(batch.rejected.len(), 1);
    assert_eq!(batch.rejected[0].0, "msg_invalid");
    assert_eq!(batch.rejected[0].1[0].field, "postal_code");
    // 1 page, a blank back so the next letter starts on page 3, then 2 pages.
    assert_eq!(batch.pages, 4);

    let pdf = std::fs::read(&batch.pdf_path).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
    assert_eq!(count(&pdf, b"/Count 4"), 1);
    assert_eq!(count(&pdf, b"/Type /Page") - count(&pdf, b"/Type /Pages"), 4);
    assert!(count(&pdf, b"/BaseFont /Helvetica") == 1 && count(&pdf, b"/WinAnsiEncoding") == 1);
    for text in [
        "Jeanne Martin",
        "12 rue des Lilas",
        "69003 LYON",
        "Relais Shop",
        "10115 BERLIN",
        "GERMANY",
        "msg_short page 1/1",
        "msg_long page 1/2",
        "msg_long page 2/2",
        "Paragraph 25: thank you for being a loyal customer.",
    ] {
        assert!(contains(&pdf, text), "{text} missing from the PDF");
    }
    // Non-ASCII WinAnsi text is written as a hex string.
    let hex: String = b"Hans M\xFCller".iter().map(|b| format!("{b:02X}")).collect();
    let upper = String::from_utf8_lossy(&pdf).to_uppercase();
    assert!(upper.contains(&format!("<{hex}>")), "Hans Müller missing");
    assert!(!contains(&pdf, "Nope") && !contains(&pdf, "Never printed"));

    let csv = std::fs::read_to_string(&batch.csv_path).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "message_id,name,company,line1,line2,postal_code,city,state,country,pages"
    );
    assert_eq!(
        rows[1],
        "msg_short,Jeanne Martin,,12 rue des Lilas,,69003,Lyon,,FR,1"
    );
    assert_eq!(rows[2], "msg_long,Hans Müller,,Hauptstraße 5,,10115,Berlin,,DE,2");
    assert_eq!(rows.len(), 3);
}

#[test]
fn export_refuses_unsafe_batch_names() {
    let dir = tempfile::tempdir().unwrap();
    assert!(export_batch(&[], dir.path(), "../x").is_err());
    assert!(export_batch(&[], dir.path(), ".hidden").is_err());
}
