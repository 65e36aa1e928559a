//! Weekly opening hours, in the shop's local time.
//!
//! Written as a subset of the OpenStreetMap `opening_hours` syntax, which
//! store locators and data teams already use: rules separated by `;`, each
//! days (`Mo`, `Mo-Fr`, `Mo,We`, wrapping `Sa-Mo`) then ranges (`09:00-12:00,
//! 14:00-19:00`) or `off`; a later rule replaces the hours of the days it
//! names (`Mo-Sa 09:00-19:00; Sa 10:00-18:00`); `24/7` is always open. A
//! range that ends at or before it starts runs past midnight (`22:00-02:00`);
//! `24:00` is the end of the day. Public holidays are not modelled.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

const DAYS: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
const DAY_END: u16 = 24 * 60;

/// One opening, in minutes since local midnight. `close <= open` means it
/// closes the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub open: u16,
    pub close: u16,
}

impl Span {
    fn overnight(&self) -> bool {
        self.close <= self.open
    }
}

/// Opening hours for each weekday, Monday first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningHours {
    days: [Vec<Span>; 7],
}

impl OpeningHours {
    pub fn always() -> OpeningHours {
        OpeningHours {
            days: std::array::from_fn(|_| {
                vec![Span {
                    open: 0,
                    close: DAY_END,
                }]
            }),
        }
    }

    pub fn parse(text: &str) -> Result<OpeningHours, String> {
        let text = text.trim();
        if text == "24/7" {
            return Ok(OpeningHours::always());
        }
        let mut days: [Vec<Span>; 7] = Default::default();
        let mut any = false;
        for rule in text.split(';').map(str::trim).filter(|r| !r.is_empty()) {
            any = true;
            let (which, ranges) = rule
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("'{rule}': expected days then hours, like 'Mo-Fr 09:00-19:00'"))?;
            let which = parse_days(which)?;
            let ranges = ranges.trim();
            let spans = if ranges.eq_ignore_ascii_case("off") || ranges.eq_ignore_ascii_case("closed") {
                Vec::new()
            } else {
                let mut spans = ranges
                    .split(',')
                    .map(parse_span)
                    .collect::<Result<Vec<Span>, String>>()?;
                spans.sort();
                spans
            };
            for (d, named) in which.iter().enumerate() {
                if *named {
                    days[d] = spans.clone();
                }
            }
        }
        if !any {
            return Err("is empty (leave it out when the hours are unknown)".into());
        }
        Ok(OpeningHours { days })
    }

    /// The openings of a weekday (0 = Monday).
    pub fn on(&self, weekday: usize) -> &[Span] {
        &self.days[weekday % 7]
    }

    /// Whether open at `minute` (since local midnight) of `weekday` (0 =
    /// Monday): a range of that day covers it, or one of the day before
    /// that runs past midnight. Opening minute included, closing excluded.
    pub fn is_open(&self, weekday: usize, minute: u16) -> bool {
        let today = self.on(weekday).iter().any(|s| {
            if s.overnight() {
                minute >= s.open
            } else {
                s.open <= minute && minute < s.close
            }
        });
        let from_yesterday = self
            .on(weekday + 6)
            .iter()
            .any(|s| s.overnight() && minute < s.close);
        today || from_yesterday
    }
}

fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let day = |name: &str| {
        DAYS.iter()
            .position(|d| d.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                if name.eq_ignore_ascii_case("PH") {
                    "'PH': public holidays are not supported".to_owned()
                } else {
                    format!("'{name}' is not a day (Mo, Tu, We, Th, Fr, Sa, Su)")
                }
            })
    };
    let mut which = [false; 7];
    for item in text.split(',') {
        match item.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (day(from)?, day(to)?);
                let len = (to + 7 - from) % 7;
                for i in 0..=len {
                    which[(from + i) % 7] = true;
                }
            }
            None => which[day(item)?] = true,
        }
    }
    Ok(which)
}

fn parse_span(text: &str) -> Result<Span, String> {
    let text = text.trim();
    let (open, close) = text
        .split_once('-')
        .ok_or_else(|| format!("'{text}' is not a range like 09:00-19:00"))?;
    let (open, close) = (parse_time(open)?, parse_time(close)?);
    if open == DAY_END {
        return Err(format!("'{text}' opens at 24:00 (write 00:00 on the next day)"));
    }
    if open == close {
        return Err(format!("'{text}' is empty (use 00:00-24:00 for all day)"));
    }
    Ok(Span { open, close })
}

fn parse_time(text: &str) -> Result<u16, String> {
    let bad = || format!("'{text}' is not a time like 09:30");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn write_spans(f: &mut fmt::Formatter<'_>, spans: &[Span]) -> fmt::Result {
    if spans.is_empty() {
        return f.write_str("off");
    }
    for (i, s) in spans.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        write!(
            f,
            "{sep}{:02}:{:02}-{:02}:{:02}",
            s.open / 60,
            s.open % 60,
            s.close / 60,
            s.close % 60
        )?;
    }
    Ok(())
}

/// The canonical form: consecutive days with the same hours grouped
/// (`Mo-Fr 09:00-19:00; Sa 10:00-18:00; Su off`); it parses back equal.
impl fmt::Display for OpeningHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == OpeningHours::always() {
            return f.write_str("24/7");
        }
        let mut d = 0;
        while d < 7 {
            let mut end = d;
            while end + 1 < 7 && self.days[end + 1] == self.days[d] {
                end += 1;
            }
            if d > 0 {
                f.write_str("; ")?;
            }
            match end - d {
                0 => write!(f, "{} ", DAYS[d])?,
                _ => write!(f, "{}-{} ", DAYS[d], DAYS[end])?,
            }
            write_spans(f, &self.days[d])?;
            d = end + 1;
        }
        Ok(())
    }
}

impl Serialize for OpeningHours {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OpeningHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        OpeningHours::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u16, m: u16) -> u16 {
        h * 60 + m
    }

    #[test]
    fn parses_rules_with_later_ones_winning() {
        let h = OpeningHours::parse("Mo-Sa 09:00-19:00; Sa 10:00-12:00, 14:00-18:00; Su off").unwrap();
        assert_eq!(
            h.on(0),
            [Span {
                open: 540,
                close: 1140
            }]
        );
        assert_eq!(
            h.on(5),
            [
                Span {
                    open: 600,
                    close: 720
                },
                Span {
                    open: 840,
                    close: 1080
                }
            ]
        );
        assert!(h.on(6).is_empty());
        assert_eq!(
            h.to_string(),
            "Mo-Fr 09:00-19:00; Sa 10:00-12:00,14:00-18:00; Su off"
        );
        assert_eq!(OpeningHours::parse(&h.to_string()).unwrap(), h);
        let wrap = OpeningHours::parse("Sa-Mo 10:00-16:00").unwrap();
        assert_eq!(wrap.to_string(), "Mo 10:00-16:00; Tu-Fr off; Sa-Su 10:00-16:00");
        assert_eq!(OpeningHours::parse("24/7").unwrap().to_string(), "24/7");
        assert_eq!(
            OpeningHours::parse("mo,we 08:00-24:00").unwrap().on(2),
            [Span {
                open: 480,
                close: 1440
            }]
        );
    }

    #[test]
    fn open_and_closing_minutes_and_past_midnight() {
        let h = OpeningHours::parse("Mo-Fr 09:00-19:00; Fr 09:00-12:00,22:00-02:00; Sa-Su off").unwrap();
        assert!(!h.is_open(0, at(8, 59)));
        assert!(h.is_open(0, at(9, 0)));
        assert!(h.is_open(0, at(18, 59)));
        assert!(!h.is_open(0, at(19, 0)));
        assert!(h.is_open(4, at(23, 30)), "Friday night");
        assert!(h.is_open(5, at(1, 59)), "still Friday's opening on Saturday");
        assert!(!h.is_open(5, at(2, 0)));
        assert!(!h.is_open(0, at(1, 0)), "Sunday had no overnight range");
        assert!(OpeningHours::always().is_open(6, at(23, 59)));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |s: &str| OpeningHours::parse(s).unwrap_err();
        assert_eq!(err(""), "is empty (leave it out when the hours are unknown)");
        assert_eq!(
            err("Mo-Fr"),
            "'Mo-Fr': expected days then hours, like 'Mo-Fr 09:00-19:00'"
        );
        assert_eq!(
            err("Lu 09:00-19:00"),
            "'Lu' is not a day (Mo, Tu, We, Th, Fr, Sa, Su)"
        );
        assert_eq!(err("PH off"), "'PH': public holidays are not supported");
        assert_eq!(err("Mo 9h-19h"), "'9h' is not a time like 09:30");
        assert_eq!(err("Mo 0900"), "'0900' is not a range like 09:00-19:00");
        assert_eq!(err("Mo 09:00-25:00"), "'25:00' is not a time like 09:30");
        assert_eq!(err("Mo 09:60-10:00"), "'09:60' is not a time like 09:30");
        assert_eq!(
            err("Mo 10:00-10:00"),
            "'10:00-10:00' is empty (use 00:00-24:00 for all day)"
        );
        assert_eq!(
            err("Mo 24:00-02:00"),
            "'24:00-02:00' opens at 24:00 (write 00:00 on the next day)"
        );
    }
}
