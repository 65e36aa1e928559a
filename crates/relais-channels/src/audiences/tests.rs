use super::*;

/// Examples published with Meta's customer information parameters (input,
/// normalised form, expected SHA-256).
#[test]
fn meta_documented_hashes() {
    let email = normalise_email(" John_Smith@gmail.com ", Platform::Meta).unwrap();
    assert_eq!(email, "john_smith@gmail.com");
    assert_eq!(
        sha256_hex(&email),
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
    );
    let phone = normalise_phone("(650)555-1212", Some("1")).unwrap();
    assert_eq!(phone, "+16505551212");
    assert_eq!(
        sha256_hex(phone.trim_start_matches('+')),
        "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"
    );
    for (name, hash) in [
        (
            "Mary",
            "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec",
        ),
        (
            "정",
            "8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14",
        ),
        (
            "Valéry",
            "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c",
        ),
    ] {
        assert_eq!(sha256_hex(&normalise_name(name).unwrap()), hash, "{name}");
    }
}

#[test]
fn emails_are_validated_and_google_drops_gmail_dots() {
    assert_eq!(
        normalise_email("A.B@Example.COM", Platform::Google).as_deref(),
        Some("a.b@example.com")
    );
    assert_eq!(
        normalise_email("Jane.Doe@GMail.com", Platform::Google).as_deref(),
        Some("janedoe@gmail.com")
    );
    assert_eq!(
        normalise_email("j.a.n.e@googlemail.com", Platform::Google).as_deref(),
        Some("jane@googlemail.com")
    );
    // Meta keeps the dots; plus-addressing is kept by both (neither documents otherwise).
    assert_eq!(
        normalise_email("Jane.Doe+x@gmail.com", Platform::Meta).as_deref(),
        Some("jane.doe+x@gmail.com")
    );
    assert_eq!(
        normalise_email("jane.doe+x@gmail.com", Platform::Google).as_deref(),
        Some("janedoe+x@gmail.com")
    );
    for bad in [
        "",
        "plain",
        "@example.com",
        "a@b",
        "a@.com",
        "a@b.",
        "a b@c.com",
        "a@b..com",
        "a,b@c.com",
        "a@b@c.com",
    ] {
        assert_eq!(normalise_email(bad, Platform::Meta), None, "{bad}");
    }
}

#[test]
fn phones_become_e164() {
    let cases = [
        ("+33 6 12 34 56 78", None, Some("+33612345678")),
        ("0033612345678", None, Some("+33612345678")),
        ("06 12 34 56 78", Some("33"), Some("+33612345678")),
        ("06.12.34.56.78", Some("+33"), Some("+33612345678")),
        ("(415) 555-2671", Some("1"), Some("+14155552671")),
        ("1-415-555-2671", Some("1"), Some("+14155552671")),
        ("+44 (0)20 7031 3000", None, Some("+442070313000")),
        ("020 7031 3000", Some("44"), Some("+442070313000")),
        ("06 12 34 56 78", None, None),
        ("+33 6 12 34 56 78 ext 2", None, None),
        ("", Some("33"), None),
        ("+0612345678", None, None),
        ("12", Some("33"), None),
        ("061234567890123456", Some("33"), None),
        ("0612345678", Some("x"), None),
    ];
    for (input, cc, want) in cases {
        assert_eq!(normalise_phone(input, cc).as_deref(), want, "{input} {cc:?}");
    }
}

fn row(email: &str, phone: &str, first: &str, last: &str, country: &str, zip: &str) -> AudienceRow {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    AudienceRow {
        email: opt(email),
        phone: opt(phone),
        first_name: opt(first),
        last_name: opt(last),
        country: opt(country),
        zip: opt(zip),
    }
}

fn rows() -> Vec<AudienceRow> {
    vec![
        row(
            "Jane.Doe@Gmail.com",
            "+1 (415) 555-2671",
            "Jane",
            "Doe",
            "US",
            "94016-1234",
        ),
        row("", "06 12 34 56 78", "Zoë", "Pérez", "FR", "75002"),
        row("", "", "Ann", "Lee", "GB", "WC2H 8LG"),
        row("not-an-email", "12", "Bob", "", "", ""),
        row("", "", "", "", "", ""),
    ]
}

#[test]
fn meta_csv_hashes_every_column() {
    let mut out = Vec::new();
    let counts = write_meta_csv(&mut out, rows(), Some("33")).unwrap();
    assert_eq!(
        counts,
        ExportCounts {
            rows: 3,
            with_email: 1,
            with_phone: 2,
            skipped: 2
        }
    );
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "email,phone,fn,ln,zip,country");
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(first[0], sha256_hex("jane.doe@gmail.com"));
    assert_eq!(first[1], sha256_hex("14155552671"));
    assert_eq!(first[2], sha256_hex("jane"));
    assert_eq!(first[3], sha256_hex("doe"));
    assert_eq!(first[4], sha256_hex("94016"));
    assert_eq!(first[5], sha256_hex("us"));
    let second: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(second[0], "");
    assert_eq!(second[1], sha256_hex("33612345678"));
    assert_eq!(second[2], sha256_hex("zoë"));
    assert_eq!(second[4], sha256_hex("75002"));
    let third: Vec<&str> = lines[3].split(',').collect();
    assert_eq!(third[4], sha256_hex("wc2h8lg"));
    assert_eq!(lines.len(), 4);
    assert!(text
        .lines()
        .skip(1)
        .all(|l| l.split(',').all(|c| c.is_empty() || c.len() == 64)));
}

#[test]
fn google_csv_hashes_contacts_and_keeps_country_and_zip_clear() {
    let mut out = Vec::new();
    let counts = write_google_csv(&mut out, rows(), Some("33")).unwrap();
    assert_eq!(counts.rows, 3);
    assert_eq!(counts.skipped, 2);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Email,Phone,First Name,Last Name,Country,Zip");
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(first[0], sha256_hex("janedoe@gmail.com"));
    assert_eq!(first[1], sha256_hex("+14155552671"));
    assert_eq!(first[2], sha256_hex("jane"));
    assert_eq!(first[3], sha256_hex("doe"));
    assert_eq!(&first[4..], ["US", "94016-1234"]);
    assert_eq!(
        lines[3].split(',').skip(4).collect::<Vec<_>>(),
        ["GB", "WC2H 8LG"]
    );
}
