//! The last known location of a customer, from the Segment spec's
//! `context.location` (`latitude`, `longitude`, `city`, `country`).
//!
//! What an event says is read leniently: coordinates that are not numbers,
//! out of range, or the `0, 0` that SDKs send when they have no fix are left
//! out, and so are texts of the wrong shape; none of it fails the event.
//! Relais ships no GeoIP database: the country of the client's IP address
//! comes from the CDN or load balancer in front of it, which looks it up and
//! passes it in a header (`CF-IPCountry`, `CloudFront-Viewer-Country`…);
//! [`stamp_country`] writes it into events that report none.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest city or country name kept, in characters.
pub const MAX_PLACE_CHARS: usize = 100;

/// A position an event reported (WGS 84 degrees), with the city and country
/// it gave along with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoFix {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// What one event's `context.location` tells: a position, a country (with
/// or without a position), both or neither.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reported {
    pub fix: Option<GeoFix>,
    pub country: Option<String>,
}

/// Reads a `context.location` object; anything unusable is left out.
pub fn read(location: &Value) -> Reported {
    let Some(obj) = location.as_object() else {
        return Reported::default();
    };
    let country = obj.get("country").and_then(place).map(country_form);
    let city = obj.get("city").and_then(place);
    let fix = coordinates(obj.get("latitude"), obj.get("longitude")).map(|(latitude, longitude)| GeoFix {
        latitude,
        longitude,
        city,
        country: country.clone(),
    });
    Reported { fix, country }
}

/// Both coordinates, as JSON numbers within range; `0, 0` ("null island")
/// is what SDKs report without a fix, so it is no position.
fn coordinates(lat: Option<&Value>, lon: Option<&Value>) -> Option<(f64, f64)> {
    let lat = lat?
        .as_f64()
        .filter(|v| v.is_finite() && (-90.0..=90.0).contains(v))?;
    let lon = lon?
        .as_f64()
        .filter(|v| v.is_finite() && (-180.0..=180.0).contains(v))?;
    (lat != 0.0 || lon != 0.0).then_some((lat, lon))
}

/// A city or country name: a non-empty string of at most
/// [`MAX_PLACE_CHARS`] characters without control characters, trimmed.
fn place(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    let ok = !s.is_empty() && s.chars().count() <= MAX_PLACE_CHARS && !s.chars().any(char::is_control);
    ok.then(|| s.to_owned())
}

/// Two letters are an ISO 3166 code: upper case, as shops write theirs;
/// anything else (`France`) is kept as sent.
fn country_form(s: String) -> String {
    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
        s.to_ascii_uppercase()
    } else {
        s
    }
}

/// An ISO 3166 code from a proxy's country header: two letters, upper-cased;
/// `XX` and `ZZ` (unknown) and anything else (`T1`, Tor) are no country.
pub fn header_country(value: &str) -> Option<String> {
    let v = value.trim().to_ascii_uppercase();
    let ok = v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase()) && v != "XX" && v != "ZZ";
    ok.then_some(v)
}

/// `payload` (one event's JSON) with `context.location.country` set to
/// `country`, when it reports none; `None` when it does (or is not an object:
/// validation refused it already), so the event is kept exactly as sent.
pub fn stamp_country(payload: &str, country: &str) -> Option<String> {
    let mut v: Value = serde_json::from_str(payload).ok()?;
    let obj = v.as_object_mut()?;
    let ctx = obj
        .entry("context")
        .or_insert_with(|| Value::Object(Default::default()));
    let loc = ctx
        .as_object_mut()?
        .entry("location")
        .or_insert_with(|| Value::Object(Default::default()));
    let loc = loc.as_object_mut()?;
    if loc.get("country").is_some_and(|c| !c.is_null()) {
        return None;
    }
    loc.insert("country".into(), Value::from(country));
    serde_json::to_string(&v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_country_fills_only_events_that_report_none() {
        assert_eq!(header_country(" fr "), Some("FR".into()));
        for no in ["XX", "zz", "T1", "FRA", "", "F1"] {
            assert_eq!(header_country(no), None, "{no}");
        }
        let stamped = |p: &str| stamp_country(p, "FR").map(|s| serde_json::from_str::<Value>(&s).unwrap());
        assert_eq!(
            stamped(r#"{"event":"A"}"#),
            Some(serde_json::json!({"event": "A", "context": {"location": {"country": "FR"}}}))
        );
        assert_eq!(
            stamped(r#"{"context":{"ip":"1.2.3.4","location":{"city":"Lyon","country":null}}}"#),
            Some(
                serde_json::json!({"context": {"ip": "1.2.3.4", "location": {"city": "Lyon", "country": "FR"}}})
            )
        );
        assert_eq!(
            stamped(r#"{"context":{"location":{"country":"BE"}}}"#),
            None,
            "the event's own wins"
        );
        assert_eq!(stamped(r#"{"context":"odd"}"#), None);
        assert_eq!(stamped("[1]"), None);
    }
    use crate::profile::tests::apply;
    use crate::profile::{ProfileState, Stamped};
    use serde_json::json;

    fn located(lat: Value, lon: Value, extra: Value) -> Value {
        let mut place = json!({"latitude": lat, "longitude": lon});
        if let (Some(p), Some(e)) = (place.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        json!({"type":"track","event":"Product Viewed","context":{"location": place}})
    }

    fn fix_of(p: &ProfileState) -> Option<(f64, f64, i64)> {
        p.location
            .as_ref()
            .map(|s| (s.value.latitude, s.value.longitude, s.at))
    }

    #[test]
    fn the_newest_fix_wins_whatever_the_arrival_order() {
        let mut p = ProfileState::default();
        apply(
            &mut p,
            200,
            "app",
            located(
                json!(45.7578),
                json!(4.832),
                json!({"city":"Lyon","country":"FR"}),
            ),
        );
        assert_eq!(fix_of(&p), Some((45.7578, 4.832, 200)));
        assert_eq!(p.location.as_ref().unwrap().value.city.as_deref(), Some("Lyon"));
        assert_eq!(
            p.country,
            Some(Stamped {
                value: "FR".into(),
                at: 200
            })
        );
        // Older (Lille, sent late): neither the fix nor the country moves back.
        apply(
            &mut p,
            100,
            "app",
            located(json!(50.6369), json!(3.0635), json!({"country":"BE"})),
        );
        assert_eq!(fix_of(&p), Some((45.7578, 4.832, 200)));
        assert_eq!(p.country.as_ref().unwrap().value, "FR");
        // Newer (Paris): replaces it, and its city goes with the old fix.
        apply(
            &mut p,
            300,
            "web",
            located(json!(48.8584), json!(2.347), json!({})),
        );
        assert_eq!(fix_of(&p), Some((48.8584, 2.347, 300)));
        assert_eq!(p.location.as_ref().unwrap().value.city, None);
        assert_eq!(p.country.as_ref().unwrap().at, 200, "no country with this fix");
        // A newer country alone (no position) is the last known country.
        apply(
            &mut p,
            400,
            "web",
            json!({"type":"identify","context":{"location":{"country":"Belgium"}}}),
        );
        assert_eq!(
            p.country,
            Some(Stamped {
                value: "Belgium".into(),
                at: 400
            })
        );
        assert_eq!(fix_of(&p), Some((48.8584, 2.347, 300)));
    }

    #[test]
    fn bad_coordinates_are_ignored_never_an_error() {
        let mut p = ProfileState::default();
        apply(
            &mut p,
            100,
            "app",
            located(json!(45.7578), json!(4.832), json!({})),
        );
        for (at, bad) in [
            (200, located(json!(123.0), json!(4.8), json!({}))),
            (201, located(json!(45.0), json!(-200), json!({}))),
            (202, located(json!("45.7"), json!("4.8"), json!({}))),
            (203, located(json!(0), json!(0), json!({}))),
            (204, located(json!(null), json!(4.8), json!({}))),
            (
                205,
                json!({"type":"track","event":"X","context":{"location":"Lyon"}}),
            ),
        ] {
            apply(&mut p, at, "app", bad);
        }
        assert_eq!(fix_of(&p), Some((45.7578, 4.832, 100)));
        assert_eq!(p.event_count, 7, "every event still counts");
        assert_eq!(p.last_seen, Some(205));
    }

    #[test]
    fn a_merge_keeps_the_newer_fix_and_country() {
        let mut old = ProfileState::default();
        apply(
            &mut old,
            100,
            "app",
            located(json!(50.6369), json!(3.0635), json!({"country":"FR"})),
        );
        apply(
            &mut old,
            500,
            "web",
            json!({"type":"page","context":{"location":{"country":"BE"}}}),
        );
        let mut new = ProfileState::default();
        apply(
            &mut new,
            300,
            "app",
            located(json!(45.7578), json!(4.832), json!({"country":"FR"})),
        );
        let mut a = old.clone();
        a.absorb(new.clone());
        assert_eq!(fix_of(&a), Some((45.7578, 4.832, 300)));
        assert_eq!(
            a.country.as_ref().map(|c| (c.value.as_str(), c.at)),
            Some(("BE", 500))
        );
        // The other way round gives the same.
        let mut b = new;
        b.absorb(old);
        assert_eq!((b.location, b.country), (a.location, a.country));
        // Nothing known on either side: nothing.
        let mut none = ProfileState::default();
        none.absorb(ProfileState::default());
        assert_eq!((none.location, none.country), (None, None));
    }

    #[test]
    fn reads_a_segment_location() {
        let r = read(&json!({"latitude": 45.7578, "longitude": 4.832, "city": " Lyon ",
                             "country": "fr", "region": "ARA", "speed": 0}));
        assert_eq!(
            r.fix,
            Some(GeoFix {
                latitude: 45.7578,
                longitude: 4.832,
                city: Some("Lyon".into()),
                country: Some("FR".into()),
            })
        );
        assert_eq!(r.country.as_deref(), Some("FR"));
        // Whole degrees are numbers too.
        let r = read(&json!({"latitude": -34, "longitude": 151}));
        assert_eq!(r.fix.map(|f| (f.latitude, f.longitude)), Some((-34.0, 151.0)));
    }

    #[test]
    fn bad_coordinates_are_no_position_but_the_country_stays() {
        for bad in [
            json!({"latitude": 91.0, "longitude": 4.8, "country": "France"}),
            json!({"latitude": 45.7, "longitude": -180.5, "country": "France"}),
            json!({"latitude": "45.7", "longitude": "4.8", "country": "France"}),
            json!({"latitude": null, "longitude": 4.8, "country": "France"}),
            json!({"longitude": 4.8, "country": "France"}),
            json!({"latitude": 0, "longitude": 0.0, "country": "France"}),
            json!({"latitude": [45.7], "longitude": {"v": 4.8}, "country": "France"}),
        ] {
            let r = read(&bad);
            assert_eq!(r.fix, None, "{bad}");
            assert_eq!(r.country.as_deref(), Some("France"), "{bad}");
        }
        // The edges of the ranges are positions; 0 on one axis is too.
        assert!(read(&json!({"latitude": -90, "longitude": 180})).fix.is_some());
        assert!(read(&json!({"latitude": 0, "longitude": -0.1276})).fix.is_some());
    }

    #[test]
    fn odd_places_and_shapes_are_left_out() {
        let long = "x".repeat(MAX_PLACE_CHARS + 1);
        let r = read(&json!({"latitude": 48.85, "longitude": 2.35, "city": long, "country": "  "}));
        let fix = r.fix.expect("the position is good");
        assert_eq!((fix.city, fix.country), (None, None));
        assert_eq!(r.country, None);
        let r = read(&json!({"country": 33, "city": "Pa\u{0}ris"}));
        assert_eq!(r, Reported::default());
        assert_eq!(read(&json!("Lyon")), Reported::default());
        assert_eq!(read(&json!(["Lyon"])), Reported::default());
        // Three letters or a name: as sent.
        assert_eq!(read(&json!({"country": "fra"})).country.as_deref(), Some("fra"));
        assert_eq!(
            read(&json!({"country": "Deutschland"})).country.as_deref(),
            Some("Deutschland")
        );
    }
}
