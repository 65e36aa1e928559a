use super::*;
use crate::email::dkim_key::{ed25519_key, rsa_key};
use ring::signature::{UnparsedPublicKey, ED25519, RSA_PKCS1_2048_8192_SHA256};

const RSA_PKCS1: &str = include_str!("bench_dkim_rsa.pem");
/// The provider's list: long enough for `h=` to fold.
const SIGNED: [&str; 14] = crate::email::smtp_message::SIGNED_HEADERS;
const HEADERS: &[&str] = &["From", "Reply-To", "To", "Subject", "Content-Type", "List-Id"];

fn canon(field: &str) -> String {
    let mut out = Vec::new();
    relaxed_header(field.as_bytes(), &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn rfc6376_relaxed_header_example() {
    // §3.4.5: "A: X" and "B : Y<HTAB><CRLF><HTAB>Z<SP><SP>" become "a:X" and "b:Y Z".
    let msg = b"A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
    let (fields, body) = split_message(msg);
    assert_eq!(fields, [&b"A: X"[..], &b"B : Y\t\r\n\tZ  "[..]]);
    let mut out = Vec::new();
    for f in &fields {
        relaxed_header(f, &mut out);
        out.extend_from_slice(b"\r\n");
    }
    assert_eq!(out, b"a:X\r\nb:Y Z\r\n");
    assert_eq!(canon("Subject:\t  Re:   hello \t"), "subject:Re: hello");
    assert_eq!(canon("X-Empty:"), "x-empty:");
    // §3.4.5: " C <CRLF>D <HTAB> E<CRLF><CRLF><CRLF>" becomes " C<CRLF>D E<CRLF>".
    assert_eq!(relaxed_body(body), b" C\r\nD E\r\n");
}

#[test]
fn relaxed_body_edges() {
    assert_eq!(relaxed_body(b""), b"");
    assert_eq!(relaxed_body(b"\r\n\r\n \r\n"), b"", "only empty lines: empty");
    assert_eq!(relaxed_body(b"x"), b"x\r\n", "a CRLF ends the last line");
    assert_eq!(relaxed_body(b"a\r\n\r\nb \r\n\t\r\n"), b"a\r\n\r\nb\r\n");
    assert_eq!(relaxed_body(b"\ta  b\r\n"), b" a b\r\n");
    // A bare LF is not a line end.
    assert_eq!(relaxed_body(b"a \nb\r\n"), b"a \nb\r\n");
    // The empty body's hash, as RFC 6376 errata 3192 gives it.
    assert_eq!(
        B64.encode(digest(&SHA256, &relaxed_body(b""))),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
}

/// The canonical body, computed plainly (lines split, rules applied one by
/// one), against the streaming version on every short mix of the bytes that
/// matter.
#[test]
fn relaxed_body_matches_a_plain_reading_of_the_rules() {
    fn plain(body: &[u8]) -> Vec<u8> {
        let text = String::from_utf8(body.to_vec()).unwrap();
        let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
        if text.ends_with("\r\n") {
            lines.pop();
        }
        let mut lines: Vec<String> = lines
            .iter()
            .map(|l| {
                let l = l.replace('\t', " ");
                let mut out = String::new();
                for c in l.chars() {
                    if !(c == ' ' && out.ends_with(' ')) {
                        out.push(c);
                    }
                }
                out.trim_end_matches(' ').to_owned()
            })
            .collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
            .iter()
            .flat_map(|l| format!("{l}\r\n").into_bytes())
            .collect()
    }
    let alphabet = [b'a', b' ', b'\t', b'\r', b'\n'];
    let mut body = Vec::new();
    for n in 0..=7u32 {
        for mut k in 0..alphabet.len().pow(n) {
            body.clear();
            for _ in 0..n {
                body.push(alphabet[k % alphabet.len()]);
                k /= alphabet.len();
            }
            assert_eq!(
                relaxed_body(&body),
                plain(&body),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    let hashed = B64.encode(body_hash(b"a  b\t\r\n c\r\n\r\n"));
    assert_eq!(hashed, B64.encode(digest(&SHA256, b"a b\r\n c\r\n")));
}

#[test]
fn split_message_edges() {
    let (f, b) = split_message(b"A: 1\r\n  more\r\nB: 2\r\n\r\nbody\r\n\r\nX: no\r\n");
    assert_eq!(f, [&b"A: 1\r\n  more"[..], &b"B: 2"[..]]);
    assert_eq!(b, b"body\r\n\r\nX: no\r\n");
    let (f, b) = split_message(b"A: 1\r\nB: 2");
    assert_eq!((f, b), (vec![&b"A: 1"[..], &b"B: 2"[..]], &b""[..]));
    let (f, b) = split_message(b"A: 1\r\n");
    assert_eq!((f, b), (vec![&b"A: 1"[..]], &b""[..]));
    assert_eq!(split_message(b""), (vec![], &b""[..]));
}

/// RFC 8463 Appendix A: the message, the Ed25519 key of A.2 (the RFC 8032
/// test 1 seed) and the published signature. Ed25519 is deterministic, so the
/// same canonical data must give the same `b=`, byte for byte. `h=` names
/// `from`, `subject` and `date` twice: the second instances do not exist.
#[test]
fn rfc8463_ed25519_vector() {
    let message = concat!(
        "From: Joe SixPack <joe@football.example.com>\r\n",
        "To: Suzie Q <suzie@shopping.example.net>\r\n",
        "Subject: Is dinner ready?\r\n",
        "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n",
        "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n",
        "\r\n",
        "Hi.\r\n",
        "\r\n",
        "We lost the game.  Are you hungry yet?\r\n",
        "\r\n",
        "Joe.\r\n",
        "\r\n",
    );
    let signature_field = concat!(
        "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n",
        " d=football.example.com; i=@football.example.com;\r\n",
        " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n",
        " subject : date : message-id : from : subject : date;\r\n",
        " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n",
        " b=",
    );
    let (fields, body) = split_message(message.as_bytes());
    let bh = B64.encode(digest(&SHA256, &relaxed_body(body)));
    assert_eq!(bh, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
    let h = [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "from",
        "subject",
        "date",
    ];
    let data = signed_data(&fields, &h, signature_field.as_bytes());
    let key = ed25519_key("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=").unwrap();
    let signer = DkimSigner::new("football.example.com", "brisbane", key, HEADERS).unwrap();
    assert_eq!(
        B64.encode(signer.signature(&data).unwrap()),
        "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="
    );
}

/// Verifies `signed` the way a receiver does, from its bytes alone: the
/// DKIM-Signature field's tags, `b=` removed with its folding, the body hash
/// and the signature with the signer's public key.
fn verifies(signer: &DkimSigner, signed: &[u8]) -> bool {
    let (fields, body) = split_message(signed);
    let field = std::str::from_utf8(fields[0]).unwrap();
    assert!(field.starts_with("DKIM-Signature: "));
    let unfolded = field.replace("\r\n", "");
    let tags: Vec<(&str, String)> = unfolded["DKIM-Signature:".len()..]
        .split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.trim(), v.split_whitespace().collect()))
        .collect();
    let tag = |name: &str| {
        tags.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    if tag("bh") != B64.encode(digest(&SHA256, &relaxed_body(body))) {
        return false;
    }
    let h_tag = tag("h");
    let h: Vec<&str> = h_tag.split(':').collect();
    let unsigned = &field[..field.rfind(" b=").unwrap() + 3];
    let data = signed_data(&fields[1..], &h, unsigned.as_bytes());
    let sig = B64.decode(tag("b")).unwrap();
    match &signer.key {
        SigningKey::Rsa(k) => UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, k.public().as_ref())
            .verify(&data, &sig)
            .is_ok(),
        SigningKey::Ed25519(k) => {
            use ring::signature::KeyPair;
            UnparsedPublicKey::new(&ED25519, k.public_key().as_ref())
                .verify(digest(&SHA256, &data).as_ref(), &sig)
                .is_ok()
        }
    }
}

const MESSAGE: &str = concat!(
    "From: Shop <news@shop.example>\r\n",
    "To: zoe@client.example\r\n",
    "Subject: =?utf-8?b?U29sZGVzIGQnw6l0w6k=?=\r\n",
    "List-Id: <news.shop.example>\r\n",
    "List-Id: <second.shop.example>\r\n",
    "Content-Type: multipart/alternative;\r\n boundary=\"b1\"\r\n",
    "\r\n",
    "--b1\r\nContent-Type: text/plain\r\n\r\nHello  there \r\n--b1--\r\n\r\n",
);

pub(super) fn signers() -> Vec<DkimSigner> {
    let rsa = rsa_key(RSA_PKCS1).unwrap();
    let ed = ed25519_key("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=").unwrap();
    vec![
        DkimSigner::new("Shop.Example", "s1", rsa, HEADERS).unwrap(),
        DkimSigner::new("shop.example", "s2", ed, HEADERS).unwrap(),
    ]
}

#[test]
fn signed_messages_verify_and_tampering_breaks_them() {
    for signer in signers() {
        let signed = signer.sign_at(MESSAGE.as_bytes(), 1_700_000_000).unwrap();
        let text = std::str::from_utf8(&signed).unwrap();
        assert!(
            text.ends_with(MESSAGE),
            "the header is put in front, nothing else changes"
        );
        let header = &text[..text.len() - MESSAGE.len()];
        for line in header.split("\r\n") {
            assert!(line.len() <= LINE, "{line:?}");
        }
        let unfolded = header.replace("\r\n", "");
        let alg = if signer.is_slow() {
            "rsa-sha256"
        } else {
            "ed25519-sha256"
        };
        assert!(
            unfolded.contains(&format!("a={alg}; c=relaxed/relaxed; d=shop.example;")),
            "{header}"
        );
        assert!(
            unfolded.contains(" s=s") && unfolded.contains(" t=1700000000;"),
            "{header}"
        );
        // Present once, present twice (both covered), absent (listed once).
        assert!(
            unfolded.contains("h=from:reply-to:to:subject:content-type:list-id:list-id;"),
            "{header}"
        );
        assert!(verifies(&signer, &signed), "{text}");
        for (from, to) in [
            ("Subject: =?utf-8?b?U29", "Subject: =?utf-8?b?U28"),
            ("multipart/alternative", "multipart/mixed"),
            ("<second.shop", "<third.shop"),
            ("Hello  there", "Hello there!"),
            ("\r\n\r\n--b1\r\n", "\r\nReply-To: x@evil.example\r\n\r\n--b1\r\n"),
        ] {
            assert!(text.contains(from), "{from}");
            let tampered = text.replacen(from, to, 1);
            assert!(
                !verifies(&signer, tampered.as_bytes()),
                "{from:?} → {to:?} went unnoticed"
            );
        }
        // What relaxed canonicalisation forgives: refolding and respacing.
        let respaced = text
            .replacen("Hello  there \r\n", "Hello \t there\r\n", 1)
            .replacen("To: zoe", "To:    zoe", 1)
            .replacen(
                "multipart/alternative;\r\n boundary",
                "multipart/alternative;\r\n\t  boundary",
                1,
            );
        assert!(verifies(&signer, respaced.as_bytes()));
    }
}

#[test]
fn long_names_fold_within_78_columns() {
    let key = ed25519_key("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=").unwrap();
    let domain = "newsletters.marketing-department.a-rather-long-shop-name.example.com";
    let signer = DkimSigner::new(domain, "relais-2025-spring-rotation", key, &SIGNED).unwrap();
    let signed = signer.sign_at(MESSAGE.as_bytes(), 1_700_000_000).unwrap();
    let text = std::str::from_utf8(&signed).unwrap();
    let header = &text[..text.len() - MESSAGE.len()];
    for line in header.split("\r\n") {
        assert!(line.len() <= LINE, "{line:?}");
    }
    assert!(
        header.replace("\r\n", "").contains(&format!(" d={domain}; ")),
        "{header}"
    );
    assert!(verifies(&signer, &signed));
}

#[test]
fn domain_and_selector_must_be_dns_names() {
    for (d, s) in [
        ("", "s"),
        ("shop.example", ""),
        ("shop.example; x=1", "s"),
        ("a..b", "s"),
        ("d", "s 1"),
    ] {
        let key = ed25519_key("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=").unwrap();
        assert!(DkimSigner::new(d, s, key, HEADERS).is_err(), "{d:?} {s:?}");
    }
}
