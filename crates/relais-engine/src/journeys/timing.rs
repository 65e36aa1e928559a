//! When a delay ends: a duration, the next local time of day (on given
//! weekdays) in the profile's time zone, or a date read from a trait or the
//! trigger, plus an offset.

use relais_core::journey::{DateSource, Delay};
use relais_core::profile::ProfileState;
use serde_json::Value;

/// The profile's time zone, else the workspace default, else UTC.
pub fn zone(state: &ProfileState, default: &str) -> jiff::tz::TimeZone {
    state
        .timezone
        .as_ref()
        .and_then(|t| jiff::tz::TimeZone::get(&t.value).ok())
        .or_else(|| jiff::tz::TimeZone::get(default).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC)
}

/// Unix ms at which the delay ends, or `Err` with why it cannot be computed
/// (a missing or unreadable date: the step is skipped, and the trace says so).
pub fn delay_end(
    d: &Delay,
    now: i64,
    tz: &jiff::tz::TimeZone,
    state: &ProfileState,
    trigger: &Value,
) -> Result<i64, String> {
    match d {
        Delay::For(ms) => Ok(now.saturating_add(*ms)),
        Delay::Until { time, weekdays } => next_local_time(now, tz, time, weekdays),
        Delay::UntilDate { source, offset_ms } => {
            let (raw, what) = match source {
                DateSource::Trait(t) => (state.traits.get(t), format!("trait {t}")),
                DateSource::Trigger(p) => (trigger.get(p), format!("trigger property {p}")),
            };
            let s = raw
                .and_then(Value::as_str)
                .ok_or_else(|| format!("no date in {what}"))?;
            let at = parse_local_date(s, tz).ok_or_else(|| format!("{what}: {s:?} is not a date"))?;
            Ok(at.saturating_add(*offset_ms))
        }
    }
}

/// A date (`2026-03-01`, midnight in `tz`) or an RFC 3339 time.
pub fn parse_local_date(s: &str, tz: &jiff::tz::TimeZone) -> Option<i64> {
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return d
            .to_zoned(tz.clone())
            .ok()
            .map(|z| z.timestamp().as_millisecond());
    }
    relais_core::time::parse_ms(s)
}

/// The first instant after `now` that is `hh:mm` local on one of `weekdays`
/// (1 = Monday; empty = any day).
pub fn next_local_time(now: i64, tz: &jiff::tz::TimeZone, hm: &str, weekdays: &[i8]) -> Result<i64, String> {
    let (h, m) = relais_core::journey::parse::check_hm(hm, "time").map_err(|e| e.message)?;
    let local = jiff::Timestamp::from_millisecond(now)
        .map_err(|e| e.to_string())?
        .to_zoned(tz.clone());
    let time = jiff::civil::Time::new(h, m, 0, 0).map_err(|e| e.to_string())?;
    let mut day = local.date();
    for _ in 0..15 {
        let ok_day = weekdays.is_empty() || weekdays.contains(&day.weekday().to_monday_one_offset());
        if ok_day {
            let z = day
                .to_datetime(time)
                .to_zoned(tz.clone())
                .map_err(|e| e.to_string())?;
            let ms = z.timestamp().as_millisecond();
            if ms > now {
                return Ok(ms);
            }
        }
        day = day.tomorrow().map_err(|e| e.to_string())?;
    }
    Err("no such day within two weeks".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn next_local_time_in_the_profile_zone() {
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        // Saturday 10 January 2026, 10:00 UTC = 11:00 Paris: 09:00 is tomorrow.
        let now = ms("2026-01-10T10:00:00Z");
        assert_eq!(
            next_local_time(now, &paris, "09:00", &[]).unwrap(),
            ms("2026-01-11T08:00:00Z")
        );
        // 18:00 today still to come.
        assert_eq!(
            next_local_time(now, &paris, "18:00", &[]).unwrap(),
            ms("2026-01-10T17:00:00Z")
        );
        // Next Monday (12th) at 09:00.
        assert_eq!(
            next_local_time(now, &paris, "09:00", &[1]).unwrap(),
            ms("2026-01-12T08:00:00Z")
        );
    }

    #[test]
    fn dates_from_traits_with_an_offset() {
        let mut st = ProfileState::default();
        st.traits.insert("contract_end".into(), Value::from("2026-06-30"));
        let d = Delay::UntilDate {
            source: DateSource::Trait("contract_end".into()),
            offset_ms: -30 * 86_400_000,
        };
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(
            delay_end(&d, 0, &utc, &st, &Value::Null).unwrap(),
            ms("2026-05-31T00:00:00Z")
        );
        let missing = Delay::UntilDate {
            source: DateSource::Trigger("due".into()),
            offset_ms: 0,
        };
        assert!(delay_end(&missing, 0, &utc, &st, &serde_json::json!({}))
            .unwrap_err()
            .contains("trigger property due"));
    }
}
