use super::*;

fn addr(country: &str, postal: &str, state: Option<&str>) -> PostalAddress {
    PostalAddress {
        name: "Jeanne Martin".into(),
        company: None,
        line1: "12 rue des Lilas".into(),
        line2: None,
        city: "Lyon".into(),
        state: state.map(str::to_string),
        postal_code: postal.into(),
        country: country.into(),
    }
}

fn fields(r: Result<(), Vec<AddressProblem>>) -> Vec<&'static str> {
    r.err().unwrap_or_default().iter().map(|p| p.field).collect()
}

#[test]
fn iso_list_is_complete_and_sorted() {
    let codes: Vec<&str> = ISO_COUNTRIES.split(' ').collect();
    assert_eq!(codes.len(), 249);
    assert!(codes.windows(2).all(|w| w[0] < w[1]));
    assert!(is_iso_country("FR") && !is_iso_country("fr") && !is_iso_country("XX") && !is_iso_country("FRA"));
}

#[test]
fn valid_postal_codes_pass() {
    for (country, postal, state) in [
        ("FR", "69003", None),
        ("DE", "10115", None),
        ("BE", "1000", None),
        ("NL", "1012 AB", None),
        ("NL", "1012AB", None),
        ("LU", "L-1611", None),
        ("LU", "1611", None),
        ("CH", "8001", None),
        ("AT", "1010", None),
        ("ES", "28013", None),
        ("PT", "1100-148", None),
        ("IT", "00184", None),
        ("GB", "SW1A 1AA", None),
        ("GB", "M1 1AE", None),
        ("GB", "ec1a1bb", None),
        ("IE", "D02 X285", None),
        ("IE", "D6W 1234", None),
        ("US", "94107", Some("CA")),
        ("US", "94107-1234", Some("CA")),
        ("CA", "K1A 0B1", Some("ON")),
        ("JP", "100-0001", None),
        ("HK", "", None),
    ] {
        assert_eq!(
            validate(&addr(country, postal, state)),
            Ok(()),
            "{country} {postal}"
        );
    }
}

#[test]
fn invalid_postal_codes_fail() {
    for (country, postal, state) in [
        ("FR", "6900", None),
        ("FR", "69OO3", None),
        ("DE", "1011", None),
        ("BE", "0999", None),
        ("NL", "0123 AB", None),
        ("NL", "1012 A", None),
        ("CH", "800", None),
        ("ES", "53001", None),
        ("PT", "1100148", None),
        ("GB", "SW1A1A", None),
        ("GB", "12345", None),
        ("IE", "Z99 1234", None),
        ("US", "9410", Some("CA")),
        ("US", "94107-12", Some("CA")),
        ("CA", "D1A 0B1", Some("ON")),
        ("CA", "K1A0B", Some("ON")),
        ("JP", "1", None),
        ("JP", "100_0001", None),
        ("FR", "", None),
    ] {
        assert_eq!(
            fields(validate(&addr(country, postal, state))),
            ["postal_code"],
            "{country} {postal}"
        );
    }
}

#[test]
fn states_and_provinces() {
    assert_eq!(fields(validate(&addr("US", "94107", None))), ["state"]);
    assert_eq!(fields(validate(&addr("US", "94107", Some("XX")))), ["state"]);
    assert_eq!(fields(validate(&addr("CA", "K1A 0B1", None))), ["state"]);
    assert_eq!(fields(validate(&addr("CA", "K1A 0B1", Some("CA")))), ["state"]);
}

#[test]
fn required_fields_and_country_format() {
    let empty = PostalAddress::default();
    assert_eq!(
        fields(validate(&empty)),
        ["name", "line1", "city", "country", "postal_code"]
    );
    assert_eq!(fields(validate(&addr("fr", "69003", None))), ["country"]);
    assert_eq!(fields(validate(&addr("FRA", "69003", None))), ["country"]);
    let mut a = addr("FR", "69003", None);
    a.line1 = "12 rue\ndes Lilas".into();
    assert_eq!(fields(validate(&a)), ["line1"]);
}

#[test]
fn length_limits() {
    let mut a = addr("DE", "10115", None);
    a.line1 = "x".repeat(65);
    a.name = "n".repeat(41);
    assert_eq!(fields(validate(&a)), ["name", "line1"]);

    let mut us = addr("US", "94107", Some("CA"));
    us.line1 = "x".repeat(30);
    us.line2 = Some("y".repeat(21));
    assert_eq!(fields(validate(&us)), ["line1"]);

    // 38 characters per printed line for France, whatever the field.
    let mut fr = addr("FR", "69003", None);
    fr.line1 = "123 boulevard du Général de Gaulle Nord".into(); // 39 chars
    let problems = validate(&fr).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "line1");
    assert!(problems[0].message.contains("38"), "{}", problems[0].message);
    fr.line1 = "123 bd du Général de Gaulle Nord".into();
    fr.city = "Saint-Rémy-de-Provence-la-Grande-Ville".into(); // "69003 " + 38
    assert_eq!(fields(validate(&fr)), ["city"]);
}

#[test]
fn printed_block_follows_local_conventions() {
    let text = |a: &PostalAddress, from: Option<&str>| {
        block_lines(a, from)
            .into_iter()
            .map(|(_, l)| l)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        text(&addr("FR", "69003", None), Some("FR")),
        ["Jeanne Martin", "12 rue des Lilas", "69003 LYON"]
    );
    let mut us = addr("US", "94107", Some("ca"));
    us.city = "San Francisco".into();
    us.company = Some("Acme".into());
    assert_eq!(
        text(&us, Some("FR")),
        [
            "Jeanne Martin",
            "Acme",
            "12 rue des Lilas",
            "SAN FRANCISCO CA 94107",
            "UNITED STATES"
        ]
    );
    let mut gb = addr("GB", "sw1a1aa", None);
    gb.city = "London".into();
    assert_eq!(
        text(&gb, None)[2..],
        ["LONDON".to_string(), "SW1A 1AA".to_string()]
    );
    let ca = addr("CA", "k1a0b1", Some("ON"));
    assert_eq!(text(&ca, None)[2], "LYON ON  K1A 0B1");
    let nl = addr("NL", "1012ab", None);
    assert_eq!(text(&nl, None)[2], "1012 AB  LYON");
}
