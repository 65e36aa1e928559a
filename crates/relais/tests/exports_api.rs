//! Exports through the real binary: letters sent through the printer provider
//! come back as the day's CSV + PDF batch; a segment comes back as a Meta or
//! Google audience file of hashed e-mails and phones, with consent applied;
//! `relais export` writes the same files from the store.

mod common;

use common::{wait_for, Backend, Server, ADMIN_KEY};
use serde_json::{json, Value};

both_backends_with_config!(letters_batch_csv_and_pdf, audience_files_api_and_cli);

const PRINTER: &str = "[engine.channels.printer]\ntimezone = \"UTC\"\n";

// SHA-256 computed outside Relais (`printf %s … | sha256sum`).
const ANNE_EMAIL: &str = "69d520c624f56ee07fed7a3397dc6289c05d42d075ecc305e487eed611ace256"; // anne.martin@example.com
const ANNE_PHONE_META: &str = "8a3e7886c9335e82e02299fa3e87b46e2de3b0c63d56003e30a5029394a47661"; // 33612345678
const ANNE_PHONE_GOOGLE: &str = "42d573cfc315801d4cd8eddd5416b416a0bf298b9b9e12d6b07442c91db42bd8"; // +33612345678
const BOB_EMAIL: &str = "5ff860bf1190596c7188ab851db691f0f3169c453936e9e1eba2f9a47f7a0018"; // bob@example.com

/// Anne (France, e-mail, phone with SMS consent), Bob (US, e-mail, phone
/// without SMS consent), Carol (no postal address, unsubscribed from e-mail).
async fn customers(s: &Server) {
    let people = [
        json!({"type":"identify","userId":"anne","traits":{"first_name":"Anne","last_name":"Martin","tier":"vip",
            "email":" Anne.Martin@Example.com","phone":"+33 6 12 34 56 78","consent":{"sms":"subscribed"},
            "address":{"line1":"12 rue de la Paix","city":"Paris","postal_code":"75002","country":"fr"}}}),
        json!({"type":"identify","userId":"bob","traits":{"name":"Bob Smith","tier":"vip","email":"bob@example.com",
            "phone":"+1 650 555 1212",
            "address":{"street":"1 Main St","city":"Springfield","state":"IL","zip":"62701","country":"US"}}}),
        json!({"type":"identify","userId":"carol","traits":{"name":"Carol","tier":"vip","email":"carol@example.com",
            "consent":{"email":"unsubscribed"}}}),
    ];
    let (status, body) = s.track("/v1/batch", json!({ "batch": people })).await;
    assert_eq!(status, 200, "{body}");
    s.settle().await;
}

async fn raw(s: &Server, path: &str) -> (u16, String, String, Vec<u8>) {
    let r = s
        .http
        .get(s.url(path))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let header = |h: &str| {
        r.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (ct, cd) = (header("content-type"), header("content-disposition"));
    (r.status().as_u16(), ct, cd, r.bytes().await.unwrap().to_vec())
}

async fn letter(s: &Server, profile: &str, who: &str) -> Value {
    let req = json!({"profile": profile, "channel": "direct_mail", "campaign": "winter",
        "content": {"html": "<p>Dear {{ data.who }},</p><p>Our winter catalogue is out.</p>",
                    "from": {"name":"Shop","line1":"1 place Bellecour","city":"Lyon","postal_code":"69002","country":"FR"},
                    "description": "Winter catalogue"}, "data": {"who": who}});
    let (code, m) = s.admin("POST", "/api/v1/messages", Some(req)).await;
    assert_eq!(code, 201, "{m}");
    m
}

async fn sent(s: &Server, id: &str) -> Value {
    let path = format!("/api/v1/messages/{id}");
    wait_for(
        || async { s.get(&path).await.1["status"] == "sent" },
        "the letter to be sent",
    )
    .await;
    s.get(&path).await.1
}

async fn letters_batch_csv_and_pdf(backend: Backend) {
    let s = Server::start_with_config(backend, Some(PRINTER));
    customers(&s).await;
    let (anne, bob) = (
        letter(&s, "user_id:anne", "Anne").await,
        letter(&s, "user_id:bob", "Bob Smith").await,
    );
    let carol = letter(&s, "user_id:carol", "Carol").await;
    assert_eq!(carol["status"], "skipped", "no postal address: {carol}");
    let mut batch = String::new();
    for m in [&anne, &bob] {
        assert_eq!(m["provider"], "printer", "{m}");
        let m = sent(&s, m["id"].as_str().unwrap()).await;
        batch = m["provider_message_id"].as_str().unwrap().to_owned();
    }
    let date = batch.strip_prefix("print-").expect("print-YYYY-MM-DD");
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    assert_eq!(date, today, "the UTC day of the printer");

    let (code, ct, cd, body) = raw(&s, &format!("/api/v1/exports/letters/{date}/letters.csv")).await;
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct, "text/csv; charset=utf-8");
    assert_eq!(cd, format!("attachment; filename=\"{batch}.csv\""));
    let csv = String::from_utf8(body).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "message_id",
            "name",
            "company",
            "line1",
            "line2",
            "postal_code",
            "city",
            "state",
            "country",
            "pages"
        ]
    );
    assert_eq!(rows.len(), 3, "two letters, Carol's was never sent: {csv}");
    let row = |id: &Value| {
        rows.iter()
            .find(|r| r[0] == id.as_str().unwrap())
            .expect("row")
            .clone()
    };
    let a = row(&anne["id"]);
    assert_eq!(
        a[1..],
        [
            "Anne Martin",
            "",
            "12 rue de la Paix",
            "",
            "75002",
            "Paris",
            "",
            "FR",
            "1"
        ]
    );
    let b = row(&bob["id"]);
    assert_eq!(
        (b[1], b[3], b[5], b[6], b[7], b[8]),
        ("Bob Smith", "1 Main St", "62701", "Springfield", "IL", "US")
    );

    let (code, ct, cd, pdf) = raw(&s, &format!("/api/v1/exports/letters/{date}/letters.pdf")).await;
    assert_eq!(code, 200);
    assert_eq!(ct, "application/pdf");
    assert_eq!(cd, format!("attachment; filename=\"{batch}.pdf\""));
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    let text = String::from_utf8_lossy(&pdf);
    // Two one-page letters; a blank page between them for duplex printing.
    assert!(text.contains("/Count 3"), "3 pages");
    for m in [&anne, &bob] {
        assert!(
            text.contains(&format!("{} page 1/1", m["id"].as_str().unwrap())),
            "footer of {m}"
        );
    }
    assert!(
        text.contains("Dear Anne,") && text.contains("Dear Bob Smith,"),
        "letter text"
    );

    let (code, err) = s.get("/api/v1/exports/letters/2001-01-01/letters.csv").await;
    assert_eq!(code, 404, "{err}");
    assert_eq!(err["error"]["code"], "not_found");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("print-2001-01-01"),
        "{err}"
    );
    let (code, err) = s.get("/api/v1/exports/letters/yesterday/letters.pdf").await;
    assert_eq!(
        (code, &err["error"]["code"]),
        (400, &json!("invalid_field")),
        "{err}"
    );
    let (code, _) = s
        .get_as(
            "wrong-key",
            &format!("/api/v1/exports/letters/{date}/letters.csv"),
        )
        .await;
    assert_eq!(code, 401);

    // The same batch from the command line, into files named after it.
    let out = s.dir.join("print");
    let (ok, stdout, stderr) = s.cli(&[
        "export",
        "letters",
        "--date",
        date,
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("2 letters, 3 pages"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(out.join(format!("{batch}.csv"))).unwrap(),
        csv
    );
    assert_eq!(
        std::fs::read(out.join(format!("{batch}.pdf"))).unwrap(),
        pdf,
        "the same bytes"
    );
    let (ok, _, stderr) = s.cli(&[
        "export",
        "letters",
        "--date",
        "2001-01-01",
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("print-2001-01-01"), "{stderr}");
}

fn csv_rows(body: &[u8]) -> Vec<Vec<String>> {
    String::from_utf8(body.to_vec())
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

async fn audience_files_api_and_cli(backend: Backend) {
    let s = Server::start_with_config(backend, Some(PRINTER));
    customers(&s).await;
    let (code, seg) = s
        .admin(
            "POST",
            "/api/v1/segments",
            Some(json!({"name":"VIP","condition":{"trait":"tier","op":"eq","value":"vip"}})),
        )
        .await;
    assert_eq!(code, 201, "{seg}");
    let id = seg["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/segments/{id}");
    wait_for(
        || async {
            let v = s.get(&path).await.1;
            v["status"] == "active" && v["size"] == 3
        },
        "the segment to be computed",
    )
    .await;

    let (code, ct, cd, body) = raw(&s, &format!("{path}/audience?platform=meta")).await;
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct, "text/csv; charset=utf-8");
    assert_eq!(cd, format!("attachment; filename=\"{id}-meta.csv\""));
    let rows = csv_rows(&body);
    assert_eq!(rows[0], ["email", "phone", "fn", "ln", "zip", "country"]);
    // Carol unsubscribed from e-mail and has no phone: left out. Bob's phone
    // has no SMS consent (an opt-in channel): his e-mail only.
    let mut got: Vec<(String, String)> = rows[1..].iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    got.sort();
    let mut want = vec![
        (ANNE_EMAIL.to_owned(), ANNE_PHONE_META.to_owned()),
        (BOB_EMAIL.to_owned(), String::new()),
    ];
    want.sort();
    assert_eq!(got, want);
    assert!(
        rows[1..].iter().all(|r| r[2..].iter().all(String::is_empty)),
        "e-mails and phones only"
    );

    let (code, _, _, body) = raw(&s, &format!("{path}/audience?platform=google")).await;
    assert_eq!(code, 200);
    let rows = csv_rows(&body);
    assert_eq!(
        rows[0],
        ["Email", "Phone", "First Name", "Last Name", "Country", "Zip"]
    );
    let anne = rows.iter().find(|r| r[0] == ANNE_EMAIL).expect("Anne's row");
    assert_eq!(anne[1], ANNE_PHONE_GOOGLE, "Google hashes E.164 with the +");
    assert_eq!(rows.len(), 3);

    let (code, err) = s.get(&format!("{path}/audience?platform=tiktok")).await;
    assert_eq!(
        (code, &err["error"]["code"]),
        (400, &json!("invalid_field")),
        "{err}"
    );
    let (code, err) = s.get(&format!("{path}/audience")).await;
    assert_eq!(code, 400, "{err}");
    let (code, err) = s.get("/api/v1/segments/seg_999/audience?platform=meta").await;
    assert_eq!((code, &err["error"]["code"]), (404, &json!("not_found")), "{err}");

    // The command line writes the same file.
    let file = s.dir.join("vip-google.csv");
    let (ok, stdout, stderr) = s.cli(&[
        "export",
        "audience",
        "--segment",
        &id,
        "--platform",
        "google",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), body);
    assert!(
        stdout.contains("3 members, 2 rows (2 e-mails, 1 phones)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 without an e-mail or phone usable for marketing"),
        "{stdout}"
    );
    let (ok, _, stderr) = s.cli(&[
        "export",
        "audience",
        "--segment",
        &id,
        "--platform",
        "x",
        "-o",
        "/dev/null",
    ]);
    assert!(!ok && stderr.contains("platform"), "{stderr}");
}
