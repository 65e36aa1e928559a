//! Timestamps: milliseconds since the Unix epoch everywhere inside Relais,
//! RFC 3339 strings at the edges.

use jiff::Timestamp;

pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// Parses an ISO 8601 / RFC 3339 timestamp. A timestamp without an offset
/// (some SDKs and CSV exports send those) is read as UTC.
pub fn parse_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts.as_millisecond());
    }
    let civil: jiff::civil::DateTime = s.parse().ok().or_else(|| {
        s.parse::<jiff::civil::Date>()
            .ok()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
    })?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// Formats milliseconds as RFC 3339 UTC (`2026-11-22T10:00:00.123Z`).
pub fn format_ms(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| format!("{t:.3}"))
        .unwrap_or_else(|_| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_sdks_send() {
        let z = parse_ms("2026-11-22T10:00:00.123Z").unwrap();
        assert_eq!(parse_ms("2026-11-22T10:00:00.123+00:00"), Some(z));
        assert_eq!(parse_ms("2026-11-22T11:00:00.123+01:00"), Some(z));
        assert_eq!(parse_ms("2026-11-22T10:00:00.123456+00:00"), Some(z));
        assert_eq!(parse_ms("2026-11-22T10:00:00.123"), Some(z));
        assert_eq!(parse_ms("2026-11-22"), Some(z - 36_000_123));
        assert_eq!(parse_ms("yesterday"), None);
        assert_eq!(format_ms(z), "2026-11-22T10:00:00.123Z");
    }
}
