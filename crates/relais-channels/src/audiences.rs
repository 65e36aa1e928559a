//! Ads audience exports: customer files for Meta Custom Audiences and Google
//! Customer Match, normalised and SHA-256 hashed as each platform documents, so
//! that no plain contact detail leaves Relais and the hashes match theirs.
//!
//! Sources (rules quoted in `docs/channels/audiences.md`):
//! - Meta customer list columns: <https://www.facebook.com/business/help/2082575038703844>
//!   (`email`, `phone`, `fn`, `ln`, `zip`, `country`).
//! - Meta normalisation and hashing (same rules for Custom Audiences and the
//!   Conversions API): <https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences>,
//!   <https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/customer-information-parameters>:
//!   email trimmed and lower-cased; phone digits only with the country code, no
//!   `+`, no leading zeros; names lower-cased without punctuation (UTF-8 letters
//!   kept); zip lower-cased without spaces or dashes (US: first 5 digits);
//!   country lower-case ISO 3166-1 alpha-2. All hashed.
//! - Google Customer Match file: <https://support.google.com/google-ads/answer/7659867>
//!   and hashed-data guidelines <https://support.google.com/google-ads/answer/7476159>:
//!   headers `Email`, `Phone`, `First Name`, `Last Name`, `Country`, `Zip`; email,
//!   phone and names hashed, country (ISO alpha-2) and zip left in clear; phone in
//!   E.164 *with* `+` before hashing; names lower-cased, spaces removed.
//! - Google gmail rule: "Google Ads requires removal of any '.' characters
//!   preceding gmail.com or googlemail.com" (Google Ads API, enhanced conversions
//!   normalisation: <https://developers.google.com/google-ads/api/docs/conversions/enhanced-conversions/web>).

use sha2::{Digest, Sha256};
use std::io::Write;

/// The ads platform a file is for: their normalisation rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Meta,
    Google,
}

/// SHA-256 of `s`, lower-case hex (both platforms want lower-case hex).
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A normalised e-mail address, or `None` when it is not a plausible one.
/// Trimmed and lower-cased; for Google, dots are removed from the local part of
/// gmail.com / googlemail.com addresses.
pub fn normalise_email(s: &str, platform: Platform) -> Option<String> {
    let email = s.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@')?;
    let plausible = !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',');
    if !plausible {
        return None;
    }
    if platform == Platform::Google && matches!(domain, "gmail.com" | "googlemail.com") {
        let local = local.replace('.', "");
        if local.is_empty() {
            return None;
        }
        return Some(format!("{local}@{domain}"));
    }
    Some(email)
}

/// A phone number in E.164 (`+33612345678`), or `None` when it cannot be made one.
///
/// Spaces, dots, dashes and parentheses are dropped. A number starting with `+`
/// or the international prefix `00` carries its country code (a "(0)" trunk
/// prefix written after it is dropped). Otherwise
/// `default_country_code` ("33", "1") is prefixed after dropping the national
/// trunk prefix `0` (`06 12 34 56 78` → `+33612345678`); a NANP number written
/// with its leading 1 keeps it. Without a default, such a number is refused:
/// guessing its country would hash a different person's number.
pub fn normalise_phone(s: &str, default_country_code: Option<&str>) -> Option<String> {
    let trimmed = s.trim();
    // "+44 (0)20…": the bracketed trunk prefix is not dialled from abroad.
    let s = if trimmed.starts_with('+') || trimmed.starts_with("00") {
        trimmed.replace("(0)", "")
    } else {
        trimmed.to_string()
    };
    let mut digits = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '.' | '-' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return None,
        }
    }
    let international = if s.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else {
        let cc = default_country_code?.trim().trim_start_matches('+');
        if cc.is_empty() || !cc.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if cc == "1" && digits.len() == 11 && digits.starts_with('1') {
            digits
        } else {
            format!("{cc}{}", digits.strip_prefix('0').unwrap_or(&digits))
        }
    };
    let e164 = format!("+{international}");
    crate::sms::is_e164(&e164).then_some(e164)
}

/// A first or last name as hashed: lower-cased, without punctuation or spaces;
/// letters outside a-z (accents, other scripts) kept in UTF-8, as both platforms ask.
fn normalise_name(s: &str) -> Option<String> {
    let n: String = s.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    (!n.is_empty()).then_some(n)
}

/// Two-letter ISO 3166-1 alpha-2 country code, lower case.
fn normalise_country(s: &str) -> Option<String> {
    let c = s.trim().to_ascii_lowercase();
    (c.len() == 2 && c.bytes().all(|b| b.is_ascii_lowercase())).then_some(c)
}

/// Meta's zip: lower case, no spaces or dashes; US codes cut to 5 digits.
fn normalise_zip_meta(zip: &str, country: Option<&str>) -> Option<String> {
    let z: String = zip
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if z.is_empty() {
        return None;
    }
    if country == Some("us") && z.len() > 5 && z.bytes().all(|b| b.is_ascii_digit()) {
        return Some(z[..5].to_string());
    }
    Some(z)
}

/// One customer to export; every field optional, raw as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudienceRow {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// ISO 3166-1 alpha-2 ("FR").
    pub country: Option<String>,
    pub zip: Option<String>,
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportCounts {
    /// Rows written (header excluded).
    pub rows: usize,
    pub with_email: usize,
    pub with_phone: usize,
    /// Rows without any usable identifier: no valid e-mail, no valid phone, and
    /// not the full first name + last name + country + zip set.
    pub skipped: usize,
}

/// The normalised (not yet hashed) identifiers of one row.
struct Normalised {
    email: Option<String>,
    phone: Option<String>,
    first: Option<String>,
    last: Option<String>,
    country: Option<String>,
    zip: Option<String>,
}

impl Normalised {
    fn of(row: &AudienceRow, platform: Platform, default_cc: Option<&str>) -> Normalised {
        let country = row.country.as_deref().and_then(normalise_country);
        let zip = row.zip.as_deref().and_then(|z| match platform {
            Platform::Meta => normalise_zip_meta(z, country.as_deref()),
            Platform::Google => Some(z.trim().to_string()).filter(|z| !z.is_empty()),
        });
        Normalised {
            email: row.email.as_deref().and_then(|e| normalise_email(e, platform)),
            phone: row.phone.as_deref().and_then(|p| normalise_phone(p, default_cc)),
            first: row.first_name.as_deref().and_then(normalise_name),
            last: row.last_name.as_deref().and_then(normalise_name),
            country,
            zip,
        }
    }

    fn usable(&self) -> bool {
        self.email.is_some()
            || self.phone.is_some()
            || (self.first.is_some() && self.last.is_some() && self.country.is_some() && self.zip.is_some())
    }
}

fn hashed(v: &Option<String>) -> String {
    v.as_deref().map(sha256_hex).unwrap_or_default()
}

fn write_rows<W: Write>(
    w: W,
    header: [&str; 6],
    rows: impl IntoIterator<Item = AudienceRow>,
    platform: Platform,
    default_cc: Option<&str>,
    cells: impl Fn(&Normalised) -> [String; 6],
) -> std::io::Result<ExportCounts> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(header)?;
    let mut counts = ExportCounts::default();
    for row in rows {
        let n = Normalised::of(&row, platform, default_cc);
        if !n.usable() {
            counts.skipped += 1;
            continue;
        }
        counts.rows += 1;
        counts.with_email += usize::from(n.email.is_some());
        counts.with_phone += usize::from(n.phone.is_some());
        out.write_record(cells(&n))?;
    }
    out.flush()?;
    Ok(counts)
}

/// Writes a Meta customer-list CSV (`email,phone,fn,ln,zip,country`), every
/// value normalised and SHA-256 hashed. Phones are hashed as digits without `+`.
/// `default_country_code` completes phone numbers written without one.
pub fn write_meta_csv<W: Write>(
    w: W,
    rows: impl IntoIterator<Item = AudienceRow>,
    default_country_code: Option<&str>,
) -> std::io::Result<ExportCounts> {
    let header = ["email", "phone", "fn", "ln", "zip", "country"];
    write_rows(w, header, rows, Platform::Meta, default_country_code, |n| {
        let phone = n.phone.as_deref().map(|p| p.trim_start_matches('+').to_string());
        [
            hashed(&n.email),
            hashed(&phone),
            hashed(&n.first),
            hashed(&n.last),
            hashed(&n.zip),
            hashed(&n.country),
        ]
    })
}

/// Writes a Google Customer Match CSV (`Email,Phone,First Name,Last Name,Country,Zip`):
/// e-mail, phone (E.164 with `+`) and names hashed; country (upper-case ISO
/// alpha-2) and zip in clear, as Google requires for address matching.
pub fn write_google_csv<W: Write>(
    w: W,
    rows: impl IntoIterator<Item = AudienceRow>,
    default_country_code: Option<&str>,
) -> std::io::Result<ExportCounts> {
    let header = ["Email", "Phone", "First Name", "Last Name", "Country", "Zip"];
    write_rows(w, header, rows, Platform::Google, default_country_code, |n| {
        [
            hashed(&n.email),
            hashed(&n.phone),
            hashed(&n.first),
            hashed(&n.last),
            n.country
                .as_deref()
                .map(str::to_ascii_uppercase)
                .unwrap_or_default(),
            n.zip.clone().unwrap_or_default(),
        ]
    })
}

#[cfg(test)]
mod tests;
