//! Another implementation's verdict on our signatures (dkimpy, with the
//! Python environment of the SMTP tests), and the cost of signing (ignored:
//! a benchmark, run in release).

use super::tests::signers;
use super::*;

/// Another implementation's verdict: messages as the provider builds them,
/// signed with keys `openssl` makes (RSA PKCS#8 and PKCS#1, Ed25519 PKCS#8),
/// checked by dkimpy (`tests/python/dkim_verify.py`); tampering with the
/// now-signed `Content-Type`, or adding an absent signed header, must fail.
/// The interpreter: `RELAIS_TEST_PYTHON`, else `scripts/py-setup.sh` makes one.
#[test]
fn dkimpy_verifies_rsa_and_ed25519() {
    use crate::email::smtp_config::{dkim_signer, DkimAlgorithm, DkimConfig};
    use crate::email::smtp_message::build;
    use crate::{Address, Content, EmailContent, Mailbox, Outgoing};
    use std::process::Command;
    let python = std::env::var("RELAIS_TEST_PYTHON").unwrap_or_else(|_| {
        let setup = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/py-setup.sh");
        let out = Command::new("bash")
            .arg(setup)
            .output()
            .expect("bash runs py-setup.sh");
        assert!(
            out.status.success(),
            "py-setup.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .to_owned()
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/python/dkim_verify.py");
    let dir = tempfile::tempdir().unwrap();
    let openssl = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(ok.success(), "openssl {args:?}");
    };
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "rsa8.pem",
    ]);
    openssl(&["rsa", "-in", "rsa8.pem", "-traditional", "-out", "rsa1.pem"]);
    openssl(&["pkey", "-in", "rsa8.pem", "-pubout", "-out", "rsa.pub"]);
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"]);
    openssl(&["pkey", "-in", "ed.pem", "-pubout", "-out", "ed.pub"]);
    let msg = Outgoing {
        id: "msg_01dkimpy".into(),
        to: Address::Email(Mailbox {
            address: "zoe@client.example".into(),
            name: Some("Zoé".into()),
        }),
        content: Content::Email(EmailContent {
            from: Mailbox {
                address: "news@shop.example".into(),
                name: Some("Shop".into()),
            },
            reply_to: None,
            subject: "Soldes d'été ☀ — 20 % sur tout le linge de maison, les chemises et les robes".into(),
            html: "<p>Bonjour  <a href=\"https://shop.example/p/1\">produit</a> \u{e9}</p>\n\n".into(),
            text: String::new(),
            headers: vec![(
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            )],
        }),
    };
    let verify = |eml: &[u8], public: &str| {
        let path = dir.path().join("m.eml");
        std::fs::write(&path, eml).unwrap();
        let out = Command::new(&python)
            .arg(script)
            .arg(&path)
            .arg(dir.path().join(public))
            .output()
            .unwrap();
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
        out.status.success()
    };
    for (key, algorithm, public) in [
        ("rsa8.pem", DkimAlgorithm::Rsa, "rsa.pub"),
        ("rsa1.pem", DkimAlgorithm::Rsa, "rsa.pub"),
        ("ed.pem", DkimAlgorithm::Ed25519, "ed.pub"),
    ] {
        let pem = std::fs::read_to_string(dir.path().join(key)).unwrap();
        let cfg = DkimConfig {
            domain: "shop.example".into(),
            selector: "relais1".into(),
            private_key_pem: Some(pem),
            private_key_file: None,
            algorithm,
        };
        let signer = dkim_signer(&cfg).unwrap();
        let eml = build(&msg, Some(&signer)).unwrap().bytes;
        assert!(verify(&eml, public), "dkimpy rejects the {key} signature");
        let text = String::from_utf8(eml).unwrap();
        assert!(text.contains("content-type"), "Content-Type is signed");
        for (from, to) in [
            (
                "Content-Type: multipart/alternative",
                "Content-Type: multipart/mixed",
            ),
            ("\r\nTo: ", "\r\nReply-To: x@evil.example\r\nTo: "),
            ("One-Click", "One-Clack"),
        ] {
            assert!(text.contains(from), "{from}");
            assert!(
                !verify(text.replacen(from, to, 1).as_bytes(), public),
                "{key}: {from:?} unnoticed"
            );
        }
    }
}

/// The cost of building the benchmark newsletter without and with a DKIM
/// signature, per algorithm, and of its parts:
/// `cargo test -p relais-channels --release --lib -- --ignored bench_dkim_sign --nocapture`
#[test]
#[ignore = "benchmark: run in release"]
fn bench_dkim_sign() {
    use crate::email::bench::{newsletter_context, NEWSLETTER_MJML};
    use crate::email::render::{html_to_text, mjml_to_html, render_liquid};
    use crate::email::smtp_message::build;
    use crate::{Address, Content, EmailContent, Mailbox, Outgoing};
    use std::time::Instant;
    let html = mjml_to_html(&render_liquid(NEWSLETTER_MJML, &newsletter_context(0)).unwrap()).unwrap();
    let msg = Outgoing {
        id: "msg_bench".into(),
        to: Address::Email(Mailbox {
            address: "r@client.example".into(),
            name: None,
        }),
        content: Content::Email(EmailContent {
            from: Mailbox {
                address: "news@shop.example".into(),
                name: Some("Shop".into()),
            },
            reply_to: None,
            subject: "Spring sale: 20% off linen".into(),
            text: html_to_text(&html),
            html,
            headers: vec![(
                "List-Unsubscribe".into(),
                "<https://shop.example/u/0000002a>".into(),
            )],
        }),
    };
    let mean_us = |n: usize, f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    };
    let unsigned = build(&msg, None).unwrap().bytes;
    let plain = mean_us(2000, &mut || {
        drop(std::hint::black_box(build(&msg, None).unwrap()))
    });
    let body = mean_us(2000, &mut || {
        std::hint::black_box(body_hash(&unsigned));
    });
    let sha = mean_us(2000, &mut || {
        std::hint::black_box(digest(&SHA256, &unsigned));
    });
    println!(
        "build without DKIM: {plain:.0} µs a message of {} B; relaxed body hash {body:.0} µs \
         (SHA-256 alone {sha:.0} µs)",
        unsigned.len()
    );
    for signer in signers() {
        let n = if signer.is_slow() { 500 } else { 2000 };
        let sign = mean_us(n, &mut || {
            drop(std::hint::black_box(signer.sign(&unsigned).unwrap()))
        });
        let built = mean_us(n, &mut || {
            drop(std::hint::black_box(build(&msg, Some(&signer)).unwrap()))
        });
        println!(
            "{}: sign {sign:.0} µs, build and sign {built:.0} µs",
            signer.algorithm()
        );
    }
}
