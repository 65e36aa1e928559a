//! One customer reached on every channel through the real binary and real
//! protocol servers: e-mail over SMTP to aiosmtpd (DKIM verified by dkimpy,
//! RFC 8058 one-click unsubscribe followed), SMS through Twilio's API, push
//! through FCM v1 and APNs (HTTP/2), WhatsApp templates, a Standard Webhooks
//! signed webhook, a Lob letter, an in-app message and a task. The open and
//! the click come back as events, and the segment "opened an e-mail in the
//! last day" — what a journey branches on — now holds the customer.

mod common;
mod fakes;
#[path = "../../../tests/support/smtp_sink.rs"]
mod smtp_sink;

use common::{Backend, Server};
use fakes::{toml_string, Fakes, WEBHOOK_SECRET};
use mail_parser::MessageParser;
use serde_json::{json, Value};
use smtp_sink::{dkim_verifies, run, Sink};

both_backends_with_config!(one_customer_every_channel);

async fn send(s: &Server, body: Value) -> Value {
    let (code, m) = s.admin("POST", "/api/v1/messages", Some(body)).await;
    assert_eq!(code, 201, "{m}");
    m
}

/// The href of the first link in `html` whose URL contains `marker`.
fn link(html: &str, marker: &str) -> String {
    let i = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {html}"));
    let start = html[..i].rfind('"').unwrap() + 1;
    let end = i + html[i..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

async fn identify(s: &Server, token: &str) {
    let (code, body) = s
        .track(
            "/v1/identify",
            json!({"userId":"zoe","traits":{
                "email":"zoe@client.example","first_name":"Zoé","phone":"+33 6 12 34 56 78",
                "consent":{"email":"subscribed","sms":"subscribed","push":"subscribed","whatsapp":"subscribed"},
                "address":{"line1":"12 rue de la Paix","city":"Paris","postal_code":"75002","country":"FR"}},
                "context":{"device":{"token":token}}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    s.settle().await;
}

async fn one_customer_every_channel(backend: Backend) {
    let keys = tempfile::tempdir().unwrap();
    let genpkey = [
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "k.pem",
    ];
    run("openssl", &genpkey, keys.path());
    run(
        "openssl",
        &["pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem"],
        keys.path(),
    );
    let sink = Sink::start(&[]).await;
    let fakes = Fakes::start().await;
    let config = format!(
        r#"
[engine.channels]
email_from = {{ address = "news@shop.example", name = "Shop" }}

[engine.channels.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
hello_name = "relais.test"

[engine.channels.smtp.dkim]
domain = "shop.example"
selector = "s1"
private_key_file = {key}
{providers}"#,
        port = sink.port,
        key = toml_string(&keys.path().join("k.pem").to_string_lossy()),
        providers = fakes.config(),
    );
    let s = Server::start_with_config(backend, Some(&config));
    identify(&s, "fcm-registration-token-1").await;
    let (code, seg) = s
        .admin(
            "POST",
            "/api/v1/segments",
            Some(json!({"name":"Opened an e-mail today","condition":{"event":"Email Opened","within":{"hours":24}}})),
        )
        .await;
    assert_eq!(code, 201, "{seg}");
    let segment = seg["id"].as_str().unwrap().to_owned();

    // E-mail: MJML + Liquid, DKIM-signed, through SMTP.
    let m = send(&s, json!({"profile":"user_id:zoe","channel":"email","campaign":"winter",
        "content":{"subject":"Bonjour {{ traits.first_name }}",
                   "mjml":"<mjml><mj-body><mj-section><mj-column><mj-text>Hello {{ traits.first_name }}</mj-text>\
                           <mj-button href=\"https://shop.example/sale\">Shop</mj-button></mj-column></mj-section></mj-body></mjml>"}}))
    .await;
    let email_id = m["id"].as_str().unwrap().to_owned();
    s.message_when(&email_id, "sent").await;
    let log = sink.log();
    assert_eq!(log.len(), 1, "{log:?}");
    let eml = sink.eml(&log[0]);
    assert!(
        dkim_verifies(&eml, &keys.path().join("pub.pem")),
        "dkimpy verifies the signature"
    );
    let parsed = MessageParser::default().parse(&eml[..]).unwrap();
    assert_eq!(parsed.subject(), Some("Bonjour Zoé"));
    let header = |name: &str| parsed.header_raw(name).unwrap_or_default().trim().to_owned();
    assert_eq!(header("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
    let html = parsed.body_html(0).unwrap().into_owned();
    assert!(parsed.body_text(0).unwrap().contains("Hello Zoé"));

    // The open pixel and the tracked link, as a mail client would load them.
    let pixel = s.http.get(link(&html, "/t/o/")).send().await.unwrap();
    assert_eq!(pixel.status().as_u16(), 200);
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let click = no_redirect.get(link(&html, "/t/c/")).send().await.unwrap();
    assert_eq!(click.status().as_u16(), 303);
    let to = click.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with("https://shop.example/sale?") && to.contains("utm_campaign=winter"),
        "{to}"
    );
    let opened = s.message_when(&email_id, "delivered").await;
    assert!(
        opened["opened_at"].is_string() && opened["clicked_at"].is_string(),
        "{opened}"
    );
    let names = s.event_names("user_id:zoe").await;
    for e in ["Email Sent", "Email Opened", "Email Link Clicked"] {
        assert!(names.iter().any(|n| n == e), "{e} on the timeline: {names:?}");
    }
    // What a journey branches on: the open put Zoé in the segment.
    let mut member = false;
    for _ in 0..100 {
        let (_, segs) = s.get("/api/v1/profiles/user_id:zoe/segments").await;
        if segs.to_string().contains(&segment) {
            member = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(member, "the open made Zoé a member of {segment}");

    // SMS through Twilio.
    let sms = send(
        &s,
        json!({"profile":"user_id:zoe","channel":"sms","content":{"body":"Hi {{ traits.first_name }}"}}),
    )
    .await;
    s.message_when(sms["id"].as_str().unwrap(), "sent").await;
    let t = &fakes.seen("twilio")[0];
    assert_eq!(
        (t.form("To").as_deref(), t.form("Body").as_deref()),
        (Some("+33612345678"), Some("Hi Zoé"))
    );
    assert!(t.header("authorization").unwrap().starts_with("Basic "));

    // Push through FCM (an FCM registration token), then APNs over HTTP/2 (a 64-hex device token).
    let push = json!({"profile":"user_id:zoe","channel":"push","content":{"title":"Sale","body":"-20%","url":"https://shop.example/sale"}});
    let p = send(&s, push.clone()).await;
    s.message_when(p["id"].as_str().unwrap(), "sent").await;
    let fcm = &fakes.seen("fcm")[0];
    assert_eq!(fcm.header("authorization"), Some("Bearer ya29.fake"));
    assert_eq!(fcm.json()["message"]["token"], "fcm-registration-token-1");
    let device = "8a2f4c1e9b7d3a5f6e0c2b4d8f1a3c5e7b9d0f2a4c6e8b1d3f5a7c9e0b2d4f6a";
    identify(&s, device).await;
    let mut apns_push = push;
    apns_push["idempotency_key"] = json!("push-apns");
    let p = send(&s, apns_push).await;
    s.message_when(p["id"].as_str().unwrap(), "sent").await;
    let apns = &fakes.seen("apns")[0];
    assert_eq!(apns.path, format!("/3/device/{device}"));
    assert_eq!(apns.version, axum::http::Version::HTTP_2);
    assert_eq!(apns.json()["aps"]["alert"]["title"], "Sale");

    // WhatsApp template.
    let wa = send(
        &s,
        json!({"profile":"user_id:zoe","channel":"whatsapp",
        "content":{"template":"winter_sale","language":"fr","body_params":["{{ traits.first_name }}"]}}),
    )
    .await;
    s.message_when(wa["id"].as_str().unwrap(), "sent").await;
    let w = fakes.seen("whatsapp")[0].json();
    assert_eq!(
        (w["to"].as_str(), w["template"]["name"].as_str()),
        (Some("33612345678"), Some("winter_sale"))
    );
    assert_eq!(w["template"]["components"][0]["parameters"][0]["text"], "Zoé");

    // A webhook, signed per Standard Webhooks.
    let hook = send(&s, json!({"profile":"user_id:zoe","channel":"webhook",
        "content":{"url": format!("{}/hook", fakes.base),"event_type":"customer.vip","payload":{"tier":"gold"}}}))
    .await;
    s.message_when(hook["id"].as_str().unwrap(), "sent").await;
    let h = &fakes.seen("webhook")[0];
    let mut headers = axum::http::HeaderMap::new();
    for (k, v) in &h.headers {
        headers.insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let secret = relais_channels::webhook::WebhookSecret::parse(WEBHOOK_SECRET).unwrap();
    relais_channels::webhook::verify(
        &secret,
        &headers,
        h.body.as_bytes(),
        std::time::Duration::from_secs(300),
    )
    .expect("the webhook signature verifies");

    // A letter through Lob, to the validated postal address.
    let letter = send(&s, json!({"profile":"user_id:zoe","channel":"direct_mail",
        "content":{"html":"<p>Chère {{ traits.first_name }}</p>",
                   "from":{"name":"Shop","line1":"1 place du Marché","city":"Lyon","postal_code":"69001","country":"FR"}}}))
    .await;
    s.message_when(letter["id"].as_str().unwrap(), "sent").await;
    let l = &fakes.seen("lob")[0];
    assert_eq!(l.json()["to"]["address_city"], "Paris");
    assert!(l.header("idempotency-key").is_some());

    // In-app (delivered by Relais itself) and a task for the call centre.
    let inapp = send(&s, json!({"profile":"user_id:zoe","channel":"in_app","content":{"title":"Welcome back","body":"Your cart is waiting"}})).await;
    s.message_when(inapp["id"].as_str().unwrap(), "sent").await;
    let task = send(
        &s,
        json!({"profile":"user_id:zoe","channel":"task",
        "content":{"title":"Call Zoé about her order","queue":"call-centre","due_in_hours":4}}),
    )
    .await;
    s.message_when(task["id"].as_str().unwrap(), "sent").await;
    let (_, tasks) = s.get("/api/v1/tasks?queue=call-centre").await;
    assert!(tasks.to_string().contains("Call Zoé about her order"), "{tasks}");

    // Last: one-click unsubscribe from the e-mail's header, as a mailbox provider does it.
    let unsub = header("List-Unsubscribe");
    let unsub = unsub.trim_start_matches('<').trim_end_matches('>');
    let r = s
        .http
        .post(unsub)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    s.settle().await;
    let again = send(
        &s,
        json!({"profile":"user_id:zoe","channel":"email","idempotency_key":"after-unsub",
        "content":{"subject":"More news","html":"<p>News</p>"}}),
    )
    .await;
    assert_eq!(again["status"], "skipped", "{again}");
    assert_eq!(sink.log().len(), 1, "nothing more reached the SMTP server");
}
