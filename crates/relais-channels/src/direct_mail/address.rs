//! Postal address checks before anything is printed or paid for, and the
//! address block as it is printed.
//!
//! Rules applied (see `docs/channels/direct-mail.md`):
//! - name, line1, city, postal code (except in countries without postal codes)
//!   and country are required; no control characters (a newline would break
//!   the printed block);
//! - country: an assigned ISO 3166-1 alpha-2 code, upper case;
//! - postal code formats for FR, DE, BE, NL, LU, CH, AT, ES, PT, IT, GB, IE, US
//!   (ZIP or ZIP+4, and a valid state), CA (A1A 1A1, and a province); elsewhere
//!   a permissive 2–10 letters/digits/spaces/hyphens check;
//! - Lob's limits: name and company 40 characters, each street line 64, and
//!   for US addresses line1 + line2 together 50 (`address_length_exceeds_limit`);
//! - France: La Poste / AFNOR NF Z10-011 asks for at most 6 lines of at most 38
//!   characters each; every printed line is checked against that.

use crate::PostalAddress;
use serde::Serialize;

pub const MAX_NAME_CHARS: usize = 40;
pub const MAX_STREET_LINE_CHARS: usize = 64;
pub const US_MAX_STREET_CHARS: usize = 50;
pub const FR_MAX_LINE_CHARS: usize = 38;
pub const FR_MAX_LINES: usize = 6;

/// One thing wrong with an address, by field (`name`, `line1`, `postal_code`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressProblem {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for AddressProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Joins problems for an error reason: "postal_code: …; state: …".
pub fn describe(problems: &[AddressProblem]) -> String {
    problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every problem found, not just the first.
pub fn validate(addr: &PostalAddress) -> Result<(), Vec<AddressProblem>> {
    let mut out = Vec::new();
    let mut problem = |field: &'static str, message: String| out.push(AddressProblem { field, message });
    let country = addr.country.trim();
    let fields: [(&'static str, Option<&str>); 8] = [
        ("name", Some(&addr.name)),
        ("company", addr.company.as_deref()),
        ("line1", Some(&addr.line1)),
        ("line2", addr.line2.as_deref()),
        ("city", Some(&addr.city)),
        ("state", addr.state.as_deref()),
        ("postal_code", Some(&addr.postal_code)),
        ("country", Some(&addr.country)),
    ];
    for (field, value) in fields {
        if value.is_some_and(|v| v.chars().any(char::is_control)) {
            problem(field, "contains a control character (newline, tab…)".into());
        }
    }
    for (field, value) in [("name", &addr.name), ("line1", &addr.line1), ("city", &addr.city)] {
        if value.trim().is_empty() {
            problem(field, "is required".into());
        }
    }
    if country.is_empty() {
        problem("country", "is required".into());
    } else if !is_iso_country(country) {
        problem(
            "country",
            format!("'{country}' is not an ISO 3166-1 alpha-2 code in upper case (\"FR\")"),
        );
    }
    let postal = addr.postal_code.trim();
    let state = addr.state.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if postal.is_empty() {
        if !NO_POSTAL_CODE.contains(&country) {
            problem("postal_code", "is required".into());
        }
    } else if let Some(expected) = postal_code_problem(country, postal) {
        problem(
            "postal_code",
            format!("'{postal}' is not a valid postal code here: expected {expected}"),
        );
    }
    match (country, state) {
        ("US", None) => problem("state", "is required for US addresses".into()),
        ("US", Some(s)) if !US_STATES.contains(&s) => {
            problem("state", format!("'{s}' is not a 2-letter US state code"))
        }
        ("CA", None) => problem("state", "the province is required for Canadian addresses".into()),
        ("CA", Some(s)) if !CA_PROVINCES.contains(&s) => {
            problem("state", format!("'{s}' is not a 2-letter Canadian province code"))
        }
        _ => {}
    }
    for (field, value) in [("name", Some(&addr.name)), ("company", addr.company.as_ref())] {
        if let Some(n) = value.map(|v| v.chars().count()).filter(|n| *n > MAX_NAME_CHARS) {
            problem(field, format!("is {n} characters; at most {MAX_NAME_CHARS}"));
        }
    }
    for (field, value) in [("line1", Some(&addr.line1)), ("line2", addr.line2.as_ref())] {
        if let Some(n) = value
            .map(|v| v.chars().count())
            .filter(|n| *n > MAX_STREET_LINE_CHARS)
        {
            problem(
                field,
                format!("is {n} characters; at most {MAX_STREET_LINE_CHARS}"),
            );
        }
    }
    if country == "US" {
        let n = addr.line1.chars().count() + addr.line2.as_deref().map_or(0, |l| l.chars().count());
        if n > US_MAX_STREET_CHARS {
            problem(
                "line1",
                format!("line1 and line2 are {n} characters together; at most {US_MAX_STREET_CHARS}"),
            );
        }
    }
    if country == "FR" {
        let lines = block_lines(addr, None);
        if lines.len() > FR_MAX_LINES {
            problem(
                "line2",
                format!(
                    "the address takes {} lines; La Poste allows {FR_MAX_LINES}",
                    lines.len()
                ),
            );
        }
        for (field, line) in lines {
            let n = line.chars().count();
            if n > FR_MAX_LINE_CHARS {
                problem(
                    field,
                    format!("'{line}' is {n} characters; La Poste allows {FR_MAX_LINE_CHARS} per line"),
                );
            }
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

/// The address block as printed, line by line, each with the field it comes
/// from. The locality line is upper case (La Poste, USPS and Canada Post all
/// ask for it); the country line is added when `sender_country` is given and
/// differs from the destination.
pub fn block_lines(addr: &PostalAddress, sender_country: Option<&str>) -> Vec<(&'static str, String)> {
    let mut lines: Vec<(&'static str, String)> = vec![("name", addr.name.trim().to_string())];
    let optional = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if let Some(c) = optional(&addr.company) {
        lines.push(("company", c));
    }
    lines.push(("line1", addr.line1.trim().to_string()));
    if let Some(l) = optional(&addr.line2) {
        lines.push(("line2", l));
    }
    let country = addr.country.trim();
    let city = addr.city.trim().to_uppercase();
    let postal = normalized_postal_code(country, addr.postal_code.trim());
    let state = optional(&addr.state).map(|s| s.to_uppercase());
    let join = |parts: &[&str]| {
        parts
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    match country {
        "US" => lines.push(("city", join(&[&city, state.as_deref().unwrap_or(""), &postal]))),
        "CA" => lines.push((
            "city",
            format!("{}  {postal}", join(&[&city, state.as_deref().unwrap_or("")])),
        )),
        "GB" | "IE" => {
            lines.push(("city", city));
            if !postal.is_empty() {
                lines.push(("postal_code", postal));
            }
        }
        "NL" => lines.push(("city", format!("{postal}  {city}"))),
        _ => lines.push(("city", join(&[&postal, &city, state.as_deref().unwrap_or("")]))),
    }
    if sender_country
        .map(str::trim)
        .is_some_and(|c| !c.is_empty() && c != country)
    {
        lines.push(("country", country_name(country).unwrap_or(country).to_string()));
    }
    lines
}

/// English names (upper case, as printed on the last line) of the countries
/// with specific rules; others print their ISO code.
pub fn country_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "FR" => "FRANCE",
        "DE" => "GERMANY",
        "BE" => "BELGIUM",
        "NL" => "NETHERLANDS",
        "LU" => "LUXEMBOURG",
        "CH" => "SWITZERLAND",
        "AT" => "AUSTRIA",
        "ES" => "SPAIN",
        "PT" => "PORTUGAL",
        "IT" => "ITALY",
        "GB" => "UNITED KINGDOM",
        "IE" => "IRELAND",
        "US" => "UNITED STATES",
        "CA" => "CANADA",
        _ => return None,
    })
}

fn normalized_postal_code(country: &str, postal: &str) -> String {
    let compact: String = postal
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if !compact.is_ascii() {
        return postal.to_uppercase();
    }
    match country {
        "GB" if compact.len() > 3 => format!(
            "{} {}",
            &compact[..compact.len() - 3],
            &compact[compact.len() - 3..]
        ),
        "IE" | "CA" if compact.len() == 7 || compact.len() == 6 => {
            format!("{} {}", &compact[..3], &compact[3..])
        }
        "NL" if compact.len() == 6 => format!("{} {}", &compact[..4], &compact[4..]),
        _ => postal.to_uppercase(),
    }
}

/// `None` when `postal` fits the country's format, else a description of it.
fn postal_code_problem(country: &str, postal: &str) -> Option<&'static str> {
    let up = postal.to_uppercase();
    let compact: String = up.chars().filter(|c| *c != ' ').collect();
    let spaces = up.matches(' ').count();
    // Every format below is ASCII; checking first keeps the slicing on char boundaries.
    let ok = postal.is_ascii()
        && match country {
            "FR" | "DE" | "IT" => digits(postal, 5),
            "BE" | "CH" | "AT" => digits(postal, 4) && !postal.starts_with('0'),
            "LU" => digits(postal.strip_prefix("L-").unwrap_or(postal), 4),
            "ES" => digits(postal, 5) && (1..=52).contains(&postal[..2].parse::<u8>().unwrap_or(0)),
            "PT" => {
                postal.len() == 8
                    && digits(&postal[..4], 4)
                    && &postal[4..5] == "-"
                    && digits(&postal[5..], 3)
            }
            "NL" => {
                spaces <= 1
                    && compact.len() == 6
                    && digits(&compact[..4], 4)
                    && !compact.starts_with('0')
                    && compact[4..].bytes().all(|b| b.is_ascii_uppercase())
            }
            "GB" => spaces <= 1 && uk_postcode(&compact),
            "IE" => spaces <= 1 && eircode(&compact),
            "US" => {
                (postal.len() == 5 && digits(postal, 5))
                    || (postal.len() == 10
                        && digits(&postal[..5], 5)
                        && &postal[5..6] == "-"
                        && digits(&postal[6..], 4))
            }
            "CA" => spaces <= 1 && canadian_postal_code(&compact),
            _ => {
                (2..=10).contains(&postal.chars().count())
                    && postal
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
                    && postal.chars().any(|c| c.is_ascii_alphanumeric())
            }
        };
    if ok {
        return None;
    }
    Some(match country {
        "FR" | "DE" | "IT" => "5 digits",
        "BE" | "CH" | "AT" => "4 digits (1000-9999)",
        "LU" => "4 digits, optionally prefixed L-",
        "ES" => "5 digits starting 01-52",
        "PT" => "NNNN-NNN",
        "NL" => "1234 AB",
        "GB" => "a UK postcode (SW1A 1AA)",
        "IE" => "an Eircode (D02 X285)",
        "US" => "a ZIP code (12345 or 12345-6789)",
        "CA" => "A1A 1A1",
        _ => "2 to 10 letters, digits, spaces or hyphens",
    })
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// Outward code A9, A99, AA9, AA99, A9A or AA9A, then inward code 9AA.
fn uk_postcode(c: &str) -> bool {
    if c == "GIR0AA" {
        return true;
    }
    if !(5..=7).contains(&c.len()) || !c.is_ascii() {
        return false;
    }
    let (out, inward) = c.split_at(c.len() - 3);
    let i = inward.as_bytes();
    let inward_ok = i[0].is_ascii_digit() && i[1].is_ascii_uppercase() && i[2].is_ascii_uppercase();
    let shape: String = out
        .bytes()
        .map(|b| {
            if b.is_ascii_digit() {
                '9'
            } else if b.is_ascii_uppercase() {
                'A'
            } else {
                '?'
            }
        })
        .collect();
    inward_ok && ["A9", "A99", "AA9", "AA99", "A9A", "AA9A"].contains(&shape.as_str())
}

/// Routing key (a letter and two digits, or D6W) then four characters.
fn eircode(c: &str) -> bool {
    const UNIQUE: &[u8] = b"0123456789ACDEFHKNPRTVWXY";
    if c.len() != 7 || !c.is_ascii() {
        return false;
    }
    let b = c.as_bytes();
    let routing = c.starts_with("D6W") || (b"ACDEFHKNPRTVWXY".contains(&b[0]) && digits(&c[1..3], 2));
    routing && b[3..].iter().all(|x| UNIQUE.contains(x))
}

fn canadian_postal_code(c: &str) -> bool {
    const FIRST: &[u8] = b"ABCEGHJKLMNPRSTVXY";
    const OTHER: &[u8] = b"ABCEGHJKLMNPRSTVWXYZ";
    let b = c.as_bytes();
    c.len() == 6
        && FIRST.contains(&b[0])
        && b[1].is_ascii_digit()
        && OTHER.contains(&b[2])
        && b[3].is_ascii_digit()
        && OTHER.contains(&b[4])
        && b[5].is_ascii_digit()
}

fn is_iso_country(c: &str) -> bool {
    c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) && ISO_COUNTRIES.split(' ').any(|x| x == c)
}

/// The 249 officially assigned ISO 3166-1 alpha-2 codes.
const ISO_COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL \
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ \
EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR \
HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU \
LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU \
NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO \
SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU \
WF WS YE YT ZA ZM ZW";

/// Countries without a postal code system (not exhaustive): no code required.
const NO_POSTAL_CODE: &[&str] = &[
    "AE", "AG", "AO", "AW", "BS", "BW", "BZ", "CW", "DJ", "FJ", "GD", "HK", "KN", "LC", "MO", "QA", "SC",
    "TG", "TV", "UG", "YE", "ZW",
];

/// USPS codes: states, DC, territories, freely associated states, military.
const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    "AS", "GU", "MP", "PR", "VI", "UM", "FM", "MH", "PW", "AA", "AE", "AP",
];

const CA_PROVINCES: &[&str] = &[
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];

#[cfg(test)]
#[path = "address_tests.rs"]
mod tests;
