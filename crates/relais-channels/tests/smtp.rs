//! The SMTP provider against a real SMTP server (Python's aiosmtpd, started per
//! test from `tests/python/smtp_sink.py`) and DKIM checked by another
//! implementation (dkimpy, `tests/python/dkim_verify.py`). The interpreter comes
//! from `RELAIS_TEST_PYTHON`, else from `scripts/py-setup.sh` (a virtual
//! environment under target/); without one these tests fail, saying why.

use mail_parser::{MessageParser, MimeHeaders};
#[path = "../../../tests/support/smtp_sink.rs"]
mod smtp_sink;

use relais_channels::email::{DkimAlgorithm, DkimConfig, SmtpConfig, SmtpProvider, SmtpTls};
use relais_channels::{Address, Content, EmailContent, Mailbox, Outgoing, Provider, SendError};
use serde_json::Value;
use smtp_sink::{dkim_verifies, run, Sink};
use std::path::Path;
use std::sync::Arc;

fn message(id: &str, to: &str) -> Outgoing {
    Outgoing {
        id: id.into(),
        to: Address::Email(Mailbox {
            address: to.into(),
            name: Some("Zoé Client".into()),
        }),
        content: Content::Email(EmailContent {
            from: Mailbox {
                address: "news@shop.example".into(),
                name: Some("Shop".into()),
            },
            reply_to: None,
            // Long enough to be folded over several encoded lines, which DKIM must survive.
            subject: "Soldes d'été ☀ — 20 % sur tout le linge de maison, les chemises et les robes".into(),
            html: "<html><body><p>Bonjour <a href=\"https://shop.example/p/1\">produit</a></p></body></html>"
                .into(),
            text: "Bonjour produit (https://shop.example/p/1)".into(),
            headers: vec![
                (
                    "List-Unsubscribe".into(),
                    "<mailto:unsubscribe@shop.example?subject=abc123>, <https://shop.example/u/abc123>"
                        .into(),
                ),
                (
                    "List-Unsubscribe-Post".into(),
                    "List-Unsubscribe=One-Click".into(),
                ),
            ],
        }),
    }
}

#[tokio::test]
async fn delivers_mime_headers_and_a_dkim_signature_dkimpy_accepts() {
    let keys = tempfile::tempdir().unwrap();
    // PKCS#8 as `openssl genpkey` writes it: ring reads it as it is.
    run(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "k.pem",
        ],
        keys.path(),
    );
    run(
        "openssl",
        &["pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem"],
        keys.path(),
    );
    let sink = Sink::start(&[]).await;
    let mut cfg = sink.config();
    cfg.dkim = Some(DkimConfig {
        domain: "shop.example".into(),
        selector: "relais1".into(),
        private_key_pem: None,
        private_key_file: Some(keys.path().join("k.pem")),
        algorithm: DkimAlgorithm::Rsa,
    });
    let provider = SmtpProvider::new(cfg).unwrap();
    let accepted = provider
        .send(&message("msg_01dkim", "zoe@client.example"))
        .await
        .unwrap();
    assert_eq!(
        accepted.provider_message_id.as_deref(),
        Some("Q000001"),
        "queue id from the 250 reply"
    );

    let log = sink.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["mail_from"], "news@shop.example");
    assert_eq!(log[0]["rcpt_tos"], serde_json::json!(["zoe@client.example"]));
    let raw = sink.eml(&log[0]);
    let parsed = MessageParser::default().parse(&raw).unwrap();
    let ct = parsed.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("alternative")));
    let kinds: Vec<String> = parsed.parts[1..]
        .iter()
        .map(|p| {
            p.content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
                .unwrap()
        })
        .collect();
    assert_eq!(kinds, ["text/plain", "text/html"]);
    assert_eq!(
        parsed.subject(),
        Some("Soldes d'été ☀ — 20 % sur tout le linge de maison, les chemises et les robes")
    );
    assert_eq!(
        parsed.body_text(0).unwrap().trim(),
        "Bonjour produit (https://shop.example/p/1)"
    );
    assert_eq!(parsed.message_id(), Some("msg_01dkim@shop.example"));
    assert_eq!(
        parsed.header_raw("X-Relais-Message-Id").map(str::trim),
        Some("msg_01dkim")
    );
    let unsubscribe = parsed.header_raw("List-Unsubscribe").unwrap().replace("\r\n", "");
    assert_eq!(
        unsubscribe.split_whitespace().collect::<Vec<_>>().join(" "),
        "<mailto:unsubscribe@shop.example?subject=abc123>, <https://shop.example/u/abc123>"
    );
    assert_eq!(
        parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    // Unfolded: where the `h=` list is folded is not the point.
    let sig: String = parsed
        .header_raw("DKIM-Signature")
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(sig.contains("list-unsubscribe:list-unsubscribe-post"), "{sig}");

    let pubkey = keys.path().join("pub.pem");
    assert!(dkim_verifies(&raw, &pubkey), "dkimpy rejects the signature");
    let text = String::from_utf8(raw).unwrap();
    for (from, to) in [
        (
            "<https://shop.example/u/abc123>",
            "<https://evil.example/u/abc123>",
        ),
        ("List-Unsubscribe=One-Click", "List-Unsubscribe=One-Clack"),
        ("Bonjour produit", "Bonjour produiT"),
    ] {
        assert!(text.contains(from));
        let tampered = text.replacen(from, to, 1);
        assert!(
            !dkim_verifies(tampered.as_bytes(), &pubkey),
            "tampering {from:?} went unnoticed"
        );
    }
}

#[tokio::test]
async fn authentication() {
    let sink = Sink::start(&["--auth-user", "relais", "--auth-password", "s3cret"]).await;
    let mut cfg = sink.config();
    cfg.username = Some("relais".into());
    cfg.password = Some("s3cret".into());
    let provider = SmtpProvider::new(cfg.clone()).unwrap();
    provider
        .send(&message("msg_auth1", "a@client.example"))
        .await
        .unwrap();
    assert_eq!(sink.log()[0]["authenticated"], true);

    cfg.password = Some("wrong".into());
    let err = SmtpProvider::new(cfg.clone())
        .unwrap()
        .send(&message("msg_auth2", "a@client.example"))
        .await;
    let err = err.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(
        err.to_string().contains("AUTH") && err.to_string().contains("535"),
        "{err}"
    );

    cfg.username = None;
    cfg.password = None;
    let err = SmtpProvider::new(cfg)
        .unwrap()
        .send(&message("msg_auth3", "a@client.example"))
        .await;
    assert!(
        err.unwrap_err().is_retryable(),
        "530 authentication required is retryable"
    );
    assert_eq!(sink.log().len(), 1);
}

#[tokio::test]
async fn recipient_refusals_are_classified_and_the_connection_reused() {
    let sink = Sink::start(&[
        "--reject-550",
        "gone@client.example",
        "--reject-451",
        "busy@client.example",
    ])
    .await;
    let provider = SmtpProvider::new(sink.config()).unwrap();
    let err = provider
        .send(&message("msg_r1", "gone@client.example"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SendError::Permanent {
                invalid_address: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("550 5.1.1"), "{err}");
    let err = provider
        .send(&message("msg_r2", "busy@client.example"))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("451"), "{err}");
    provider
        .send(&message("msg_r3", "fine@client.example"))
        .await
        .unwrap();
    let log = sink.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["connection"], 1, "the connection survives refusals (RSET)");
    assert_eq!(sink.connections(), 1);
}

#[tokio::test]
async fn server_down_is_retryable_then_delivery_works() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = SmtpConfig::new("127.0.0.1", port);
    cfg.tls = SmtpTls::None;
    cfg.timeout_secs = 5;
    let provider = SmtpProvider::new(cfg).unwrap();
    let err = provider
        .send(&message("msg_d1", "a@client.example"))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let sink = Sink::start_on(port, &[]).await;
    assert_eq!(sink.port, port);
    provider
        .send(&message("msg_d1", "a@client.example"))
        .await
        .unwrap();
    assert_eq!(sink.log().len(), 1);
}

#[tokio::test]
async fn two_hundred_concurrent_sends_share_the_pool() {
    let sink = Sink::start(&[]).await;
    let mut cfg = sink.config();
    cfg.pool_max_size = 5;
    let provider = Arc::new(SmtpProvider::new(cfg).unwrap());
    let sends = (0..200).map(|i| {
        let provider = Arc::clone(&provider);
        tokio::spawn(async move {
            provider
                .send(&message(&format!("msg_p{i:03}"), &format!("r{i}@c.example")))
                .await
        })
    });
    for s in futures_join(sends).await {
        s.unwrap();
    }
    let log = sink.log();
    assert_eq!(log.len(), 200);
    let conns = sink.connections();
    assert!((1..=5).contains(&conns), "{conns} connections for a pool of 5");
    provider.close().await;
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

/// A private CA, and a certificate for `localhost` it signed.
fn make_ca(dir: &Path) {
    let subj_ca = ["-subj", "/CN=Relais Test CA"];
    run(
        "openssl",
        &[
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                "-days", "2",
            ][..],
            &subj_ca,
            &[
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
        dir,
    );
    let csr = [
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ];
    run("openssl", &[&csr[..], &["-subj", "/CN=localhost"]].concat(), dir);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let sign = [
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
    ];
    run(
        "openssl",
        &[
            &sign[..],
            &["-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"],
        ]
        .concat(),
        dir,
    );
}

#[tokio::test]
async fn starttls_and_implicit_tls_with_a_private_ca() {
    let pki = tempfile::tempdir().unwrap();
    make_ca(pki.path());
    let (cert, key) = (pki.path().join("server.pem"), pki.path().join("server.key"));
    let tls_args = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    let auth = ["--auth-user", "relais", "--auth-password", "s3cret"];
    let sink = Sink::start(&[&tls_args[..], &auth[..]].concat()).await;
    let mut cfg = SmtpConfig::new("localhost", sink.port);
    cfg.ca_file = Some(pki.path().join("ca.pem"));
    cfg.username = Some("relais".into());
    cfg.password = Some("s3cret".into());
    cfg.timeout_secs = 10;
    SmtpProvider::new(cfg.clone())
        .unwrap()
        .send(&message("msg_tls1", "a@client.example"))
        .await
        .unwrap();
    let log = sink.log();
    assert_eq!(
        (&log[0]["tls"], &log[0]["authenticated"]),
        (&Value::Bool(true), &Value::Bool(true))
    );

    // Without the private CA the certificate is not trusted.
    let mut untrusted = cfg.clone();
    untrusted.ca_file = None;
    let err = SmtpProvider::new(untrusted)
        .unwrap()
        .send(&message("msg_tls2", "a@client.example"))
        .await;
    assert!(err.unwrap_err().is_retryable());
    // In clear, the server refuses to go on without STARTTLS.
    let mut clear = cfg.clone();
    clear.tls = SmtpTls::None;
    clear.username = None;
    clear.password = None;
    let err = SmtpProvider::new(clear)
        .unwrap()
        .send(&message("msg_tls3", "a@client.example"))
        .await;
    assert!(err.unwrap_err().is_retryable());
    assert_eq!(sink.log().len(), 1);

    let implicit = Sink::start(&[&tls_args[..], &["--implicit-tls"]].concat()).await;
    let mut cfg = SmtpConfig::new("localhost", implicit.port);
    cfg.tls = SmtpTls::Tls;
    cfg.ca_file = Some(pki.path().join("ca.pem"));
    SmtpProvider::new(cfg)
        .unwrap()
        .send(&message("msg_tls4", "a@client.example"))
        .await
        .unwrap();
    assert_eq!(implicit.log()[0]["tls"], true);
}
