//! Time arithmetic and formatting done by the crate itself (not by a
//! dependency), so timestamps stay byte-identical across upgrades.

pub const SECOND: i64 = 1000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// Formats ms since the epoch as RFC 3339 UTC with milliseconds
/// (`2026-01-01T09:30:00.000Z`).
pub fn rfc3339_ms(ms: i64) -> String {
    let days = ms.div_euclid(DAY);
    let rem = ms.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / HOUR,
        rem % HOUR / MINUTE,
        rem % MINUTE / SECOND,
        rem % SECOND
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The UTC instant of local time-of-day `tod_ms` on the `day`-th local day of
/// the period, for a zone `offset_min` minutes ahead of UTC. Day 0 is the
/// local date that contains `start`.
pub fn local_instant(start: i64, offset_min: i32, day: i64, tod_ms: i64) -> i64 {
    let offset = i64::from(offset_min) * MINUTE;
    let local_midnight = (start + offset).div_euclid(DAY) * DAY;
    local_midnight + day * DAY + tod_ms - offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_jiff() {
        for ms in [
            0,
            1_767_225_600_000,
            1_767_225_600_123,
            951_782_400_000 + 3_599_999,
            -1,
        ] {
            let ours = rfc3339_ms(ms);
            let theirs = format!("{:.3}", jiff::Timestamp::from_millisecond(ms).unwrap());
            assert_eq!(ours, theirs);
        }
        assert_eq!(rfc3339_ms(1_767_225_600_000), "2026-01-01T00:00:00.000Z");
    }

    #[test]
    fn local_days_follow_the_offset() {
        let start = 1_767_225_600_000; // 2026-01-01T00:00Z
                                       // 10:00 in Paris (UTC+1) on the first local day is 09:00Z.
        assert_eq!(local_instant(start, 60, 0, 10 * HOUR), start + 9 * HOUR);
        // New York (UTC-5): day 0 is 2025-12-31 locally.
        assert_eq!(local_instant(start, -300, 1, 10 * HOUR), start + 15 * HOUR);
    }
}
