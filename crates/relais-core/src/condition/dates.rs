//! Date arithmetic for the time-relative tests, and when each one flips.
//!
//! Days are 86,400,000 ms in UTC (no calendars, no DST); anniversaries use
//! the proleptic Gregorian calendar (Howard Hinnant's day algorithms), with a
//! 29 February anniversary falling on 28 February in common years.

use super::ops::Test;

pub(crate) const DAY: i64 = 86_400_000;
/// Dates beyond ±year 10000 are not dates (keeps the arithmetic in range).
pub(crate) const MAX_ABS_MS: i64 = 253_402_300_800_000;

pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// (day of the next anniversary of `s` on or after today, today), in days since the epoch.
fn next_anniversary(s: i64, now: i64) -> (i64, i64) {
    let today = now.div_euclid(DAY);
    let (_, m, d) = civil_from_days(s.div_euclid(DAY));
    let on = |y: i64| days_from_civil(y, m, if m == 2 && d == 29 && !is_leap(y) { 28 } else { d });
    let (y, _, _) = civil_from_days(today);
    let o = on(y);
    (if o < today { on(y + 1) } else { o }, today)
}

fn ago(now: i64, n: i64) -> i64 {
    now.saturating_sub(n.saturating_mul(DAY))
}

/// Whether the date test holds for the instant `s` at `now`.
pub(crate) fn date_holds(t: &Test, s: i64, now: i64) -> bool {
    match *t {
        Test::Before(d) => s < d,
        Test::After(d) => s > d,
        Test::WithinLastDays(n) => s >= ago(now, n) && s <= now,
        Test::WithinNextDays(n) => s >= now && s <= ago(now, -n),
        Test::MoreThanDaysAgo(n) => s < ago(now, n),
        Test::Anniversary(n) => {
            let (o, today) = next_anniversary(s, now);
            o - today <= n
        }
        _ => false,
    }
}

/// The first instant after `now` at which [`date_holds`] may change for `s`.
pub(crate) fn date_next(t: &Test, s: i64, now: i64) -> Option<i64> {
    let holds = date_holds(t, s, now);
    match *t {
        // s in [now - N d, now]: true from s until s + N d.
        Test::WithinLastDays(n) => {
            let end = ago(s, -n);
            if s > now {
                Some(s)
            } else if holds {
                Some(end.saturating_add(1))
            } else {
                None
            }
        }
        // s in [now, now + N d]: true from s - N d until s.
        Test::WithinNextDays(n) => {
            let start = ago(s, n);
            if now < start {
                Some(start)
            } else if holds {
                Some(s.saturating_add(1))
            } else {
                None
            }
        }
        Test::MoreThanDaysAgo(n) => (!holds).then(|| ago(s, -n).saturating_add(1)),
        Test::Anniversary(n) => {
            let (o, _) = next_anniversary(s, now);
            // Matched: until the day after the anniversary (re-checked then,
            // a long enough N may cover the next one too). Not matched: from
            // N days before it.
            Some(if holds { o + 1 } else { o - n }.saturating_mul(DAY))
        }
        _ => None,
    }
}

/// The value of `Computed::DaysSince(t0)` at `now`.
pub(crate) fn days_since(t0: i64, now: i64) -> i64 {
    now.saturating_sub(t0).div_euclid(DAY)
}

/// When a numeric test on `DaysSince(t0)` next flips: the value steps by one
/// at `t0 + k d`, and a test can only change at an integer next to one of
/// its thresholds.
pub(crate) fn days_next(t: &Test, t0: i64, now: i64) -> Option<i64> {
    let v = days_since(t0, now);
    let at = |k: i64| t.holds_number(k as f64);
    let mut ks: Vec<i64> = t
        .thresholds()
        .into_iter()
        .flat_map(|x| {
            [
                x.floor() as i64,
                (x.floor() as i64).saturating_add(1),
                x.ceil() as i64,
            ]
        })
        .filter(|k| *k > v)
        .collect();
    ks.sort_unstable();
    ks.dedup();
    let now_holds = at(v);
    let k = ks.into_iter().find(|k| at(*k) != now_holds)?;
    t0.checked_add(k.checked_mul(DAY)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_ms;

    fn ms(s: &str) -> i64 {
        parse_ms(s).unwrap()
    }

    #[test]
    fn civil_days_round_trip_and_agree_with_jiff() {
        for z in [-100_000, -1, 0, 1, 11_016, 19_782, 20_000, 2_932_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
            let date = jiff::civil::date(y as i16, m as i8, d as i8);
            assert_eq!(ms(&date.to_string()), z * DAY);
        }
    }

    #[test]
    fn anniversaries_wrap_the_year_and_handle_29_february() {
        let now = ms("2025-12-30T15:00:00Z");
        let birthday = ms("1990-01-02");
        assert!(date_holds(&Test::Anniversary(3), birthday, now));
        assert!(!date_holds(&Test::Anniversary(2), birthday, now));
        assert_eq!(
            date_next(&Test::Anniversary(2), birthday, now),
            Some(ms("2025-12-31"))
        );
        assert_eq!(
            date_next(&Test::Anniversary(3), birthday, now),
            Some(ms("2026-01-03"))
        );
        let leap = ms("2000-02-29T08:00:00Z");
        assert!(date_holds(
            &Test::Anniversary(0),
            leap,
            ms("2025-02-28T23:00:00Z")
        ));
        assert!(date_holds(
            &Test::Anniversary(0),
            leap,
            ms("2028-02-29T01:00:00Z")
        ));
        assert!(!date_holds(
            &Test::Anniversary(0),
            leap,
            ms("2028-02-28T01:00:00Z")
        ));
    }

    #[test]
    fn relative_tests_flip_exactly_when_predicted() {
        let s = ms("2025-06-10T12:00:00Z");
        let tests = [
            Test::WithinLastDays(3),
            Test::WithinNextDays(3),
            Test::MoreThanDaysAgo(2),
            Test::Anniversary(5),
        ];
        for t in &tests {
            let mut now = ms("2025-06-01T00:00:00Z");
            while now < ms("2025-06-20T00:00:00Z") {
                let Some(next) = date_next(t, s, now) else { break };
                assert!(next > now);
                assert_eq!(
                    date_holds(t, s, next - 1),
                    date_holds(t, s, now),
                    "{t:?} at {now}"
                );
                now = next;
            }
        }
    }

    #[test]
    fn days_since_flips_at_thresholds() {
        let t0 = ms("2025-01-01T06:00:00Z");
        let now = t0 + 3 * DAY + 5;
        assert_eq!(days_since(t0, now), 3);
        assert_eq!(days_next(&Test::Gt(4.5), t0, now), Some(t0 + 5 * DAY));
        assert_eq!(days_next(&Test::Lte(3.0), t0, now), Some(t0 + 4 * DAY));
        assert_eq!(
            days_next(&Test::Eq(serde_json::json!(7)), t0, now),
            Some(t0 + 7 * DAY)
        );
        assert_eq!(days_next(&Test::Gte(1.0), t0, now), None);
        assert_eq!(days_next(&Test::Between(1.0, 5.0), t0, now), Some(t0 + 6 * DAY));
        assert_eq!(days_next(&Test::Gt(1e300), t0, now), None, "no overflow");
        assert_eq!(days_next(&Test::Lt(-1e300), t0, now), None);
    }
}
