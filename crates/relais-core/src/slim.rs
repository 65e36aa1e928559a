//! The part of a stored event that identity resolution and profile folding
//! read, extracted without building a tree of the whole event.
//!
//! Events carry large `properties` and `context` objects (products, user
//! agent, library, page…) that the processor never looks at. Parsing them
//! into a `serde_json::Value` was the processor's largest cost; here they
//! are skipped, and only the fields below are materialised, as a small
//! `Value` with the same shape, so every reader of events works on either.
//! The exceptions are the events whose `properties` are read (e-commerce
//! events, and those segment conditions look into): those keep them whole.

use crate::commerce::COMMERCE_EVENTS;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(rename = "userId", borrow, default)]
    user_id: Option<&'a RawValue>,
    #[serde(rename = "anonymousId", borrow, default)]
    anonymous_id: Option<&'a RawValue>,
    #[serde(rename = "previousId", borrow, default)]
    previous_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    traits: Option<&'a RawValue>,
    #[serde(borrow, default)]
    context: Option<&'a RawValue>,
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Context<'a> {
    #[serde(borrow, default)]
    traits: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timezone: Option<&'a RawValue>,
    #[serde(borrow, default)]
    locale: Option<&'a RawValue>,
    #[serde(borrow, default)]
    device: Option<&'a RawValue>,
    #[serde(borrow, default)]
    location: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Device<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    token: Option<&'a RawValue>,
}

/// `context.location`: what the profile keeps of it (`profile::location`).
#[derive(Deserialize)]
struct Location<'a> {
    #[serde(borrow, default)]
    latitude: Option<&'a RawValue>,
    #[serde(borrow, default)]
    longitude: Option<&'a RawValue>,
    #[serde(borrow, default)]
    city: Option<&'a RawValue>,
    #[serde(borrow, default)]
    country: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Properties<'a> {
    #[serde(borrow, default)]
    channel: Option<&'a RawValue>,
    #[serde(borrow, default)]
    profile_id: Option<&'a RawValue>,
    /// A push token Relais reports invalid (`Push Notification Bounced`).
    #[serde(borrow, default)]
    token: Option<&'a RawValue>,
    /// The shop an event of the `store` touchpoint happened at (`profile::visits`).
    #[serde(borrow, default)]
    store_id: Option<&'a RawValue>,
}

/// Track events whose `properties.channel` the processor reads.
const CONSENT_EVENTS: [&str; 2] = [
    crate::profile::SUBSCRIBED_EVENT,
    crate::profile::UNSUBSCRIBED_EVENT,
];

fn put(obj: &mut Map<String, Value>, key: &str, raw: Option<&RawValue>) -> serde_json::Result<()> {
    if let Some(raw) = raw {
        let v: Value = serde_json::from_str(raw.get())?;
        if !v.is_null() {
            obj.insert(key.to_owned(), v);
        }
    }
    Ok(())
}

/// Parses `payload` into the slim event. Fields of an unexpected shape
/// inside `context` or `properties` are ignored rather than failing the event.
///
/// `properties` are kept in full (when an object) for the e-commerce events
/// ([`crate::commerce::COMMERCE_EVENTS`]); of consent events only
/// `properties.channel` is kept.
pub fn parse(payload: &str) -> serde_json::Result<Value> {
    parse_with(payload, &|_| false)
}

/// [`parse`], keeping `properties` in full also for every event name
/// `keep_properties` accepts (the segment engine passes the names its
/// conditions read properties of).
pub fn parse_with(payload: &str, keep_properties: &dyn Fn(&str) -> bool) -> serde_json::Result<Value> {
    let top: Top = serde_json::from_str(payload)?;
    let mut obj = Map::new();
    put(&mut obj, "type", top.kind)?;
    put(&mut obj, "userId", top.user_id)?;
    put(&mut obj, "anonymousId", top.anonymous_id)?;
    put(&mut obj, "previousId", top.previous_id)?;
    put(&mut obj, "event", top.event)?;
    put(&mut obj, "name", top.name)?;
    put(&mut obj, "traits", top.traits)?;
    if let Some(ctx) = top
        .context
        .and_then(|c| serde_json::from_str::<Context>(c.get()).ok())
    {
        let mut c = Map::new();
        put(&mut c, "traits", ctx.traits)?;
        put(&mut c, "timezone", ctx.timezone)?;
        put(&mut c, "locale", ctx.locale)?;
        if let Some(d) = ctx
            .device
            .and_then(|d| serde_json::from_str::<Device>(d.get()).ok())
        {
            let mut device = Map::new();
            put(&mut device, "id", d.id)?;
            put(&mut device, "type", d.kind)?;
            put(&mut device, "token", d.token)?;
            if !device.is_empty() {
                c.insert("device".into(), Value::Object(device));
            }
        }
        if let Some(l) = ctx
            .location
            .and_then(|l| serde_json::from_str::<Location>(l.get()).ok())
        {
            let mut location = Map::new();
            put(&mut location, "latitude", l.latitude)?;
            put(&mut location, "longitude", l.longitude)?;
            put(&mut location, "city", l.city)?;
            put(&mut location, "country", l.country)?;
            if !location.is_empty() {
                c.insert("location".into(), Value::Object(location));
            }
        }
        obj.insert("context".into(), Value::Object(c));
    }
    let name = obj.get("event").and_then(Value::as_str);
    let keep_all = name.is_some_and(|e| COMMERCE_EVENTS.contains(&e) || keep_properties(e));
    let consent_event = name.is_some_and(|e| CONSENT_EVENTS.contains(&e));
    if keep_all {
        if let Some(p) = top.properties {
            let props: Value = serde_json::from_str(p.get())?;
            if props.is_object() {
                obj.insert("properties".into(), props);
            }
        }
    } else if let Some(p) = top
        .properties
        // A substring check first: most events have neither, and their properties stay unparsed.
        .filter(|p| consent_event || p.get().contains("\"profile_id\"") || p.get().contains("\"store_id\""))
        .and_then(|p| serde_json::from_str::<Properties>(p.get()).ok())
    {
        // Consent events keep their channel; Relais' own events the profile they
        // name; shop events their shop (`profile::visits`).
        let mut props = Map::new();
        if consent_event {
            put(&mut props, "channel", p.channel)?;
        }
        put(&mut props, "profile_id", p.profile_id)?;
        put(&mut props, "store_id", p.store_id)?;
        if p.profile_id.is_some() {
            put(&mut props, "token", p.token)?;
        }
        if !props.is_empty() {
            obj.insert("properties".into(), Value::Object(props));
        }
    }
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relais_events_keep_the_profile_they_name_and_a_refused_token() {
        let ev = json!({"type":"track","event":"Push Notification Bounced",
            "properties":{"profile_id":"prof_3","token":"t-1","message_id":"msg_x","reason":"UNREGISTERED"}});
        let slim = parse(&ev.to_string()).unwrap();
        assert_eq!(slim["properties"], json!({"profile_id":"prof_3","token":"t-1"}));
        let customer = json!({"type":"track","event":"Viewed","properties":{"token":"secret","n":1}});
        assert!(
            parse(&customer.to_string()).unwrap().get("properties").is_none(),
            "only Relais' own events"
        );
    }

    #[test]
    fn keeps_what_the_processor_reads_and_nothing_else() {
        let full = json!({"type":"track","userId":42,"anonymousId":null,"event":"Unsubscribed",
            "properties":{"channel":"email","products":[{"id":1}]},
            "context":{"traits":{"email":"a@x.io"},"timezone":"Europe/Paris","library":{"name":"x"},"page":{"url":"u"}},
            "integrations":{"All":true},"_metadata":{}});
        let slim = parse(&full.to_string()).unwrap();
        assert_eq!(
            slim,
            json!({"type":"track","userId":42,"event":"Unsubscribed","properties":{"channel":"email"},
                "context":{"traits":{"email":"a@x.io"},"timezone":"Europe/Paris"}})
        );
    }

    #[test]
    fn odd_shapes_inside_context_and_properties_do_not_fail_the_event() {
        let slim = parse(r#"{"type":"track","event":"X","context":"web","properties":[1]}"#).unwrap();
        assert_eq!(slim, json!({"type":"track","event":"X"}));
        let slim =
            parse(r#"{"type":"identify","traits":{"name":"N"},"properties":{"channel":"sms"}}"#).unwrap();
        assert!(
            slim.get("properties").is_none(),
            "only consent events keep properties.channel"
        );
        assert!(parse("\"x\"").is_err());
    }

    #[test]
    fn commerce_events_keep_their_properties_and_every_event_its_device() {
        let full = json!({"type":"track","event":"Order Completed","userId":"u",
            "properties":{"order_id":"o1","total":"12.5","products":[{"product_id":"p","quantity":2}]},
            "context":{"device":{"id":"d1","type":"ios","token":"tok","model":"x","advertisingId":"ad"},
                "os":{"name":"iOS"}}});
        let slim = parse(&full.to_string()).unwrap();
        assert_eq!(slim["properties"], full["properties"]);
        assert_eq!(
            slim["context"],
            json!({"device":{"id":"d1","type":"ios","token":"tok"}})
        );
        for name in crate::commerce::COMMERCE_EVENTS {
            let ev = json!({"type":"track","event":name,"properties":{"a":{"b":1}}});
            assert_eq!(
                parse(&ev.to_string()).unwrap()["properties"],
                json!({"a":{"b":1}})
            );
        }
        // A device of an odd shape, or one with none of the three fields, is left out.
        let slim = parse(r#"{"type":"page","context":{"device":"phone","locale":"fr"}}"#).unwrap();
        assert_eq!(slim["context"], json!({"locale":"fr"}));
        let slim = parse(r#"{"type":"page","context":{"device":{"model":"x","id":null}}}"#).unwrap();
        assert_eq!(slim["context"], json!({}));
        // Properties that are not an object are not kept, even for commerce events.
        let slim = parse(r#"{"type":"track","event":"Product Added","properties":"p"}"#).unwrap();
        assert!(slim.get("properties").is_none());
    }

    #[test]
    fn keeps_the_location_fields_the_profile_reads() {
        let full = json!({"type":"track","event":"Product Viewed",
            "context":{"location":{"latitude":45.7578,"longitude":4.832,"city":"Lyon","country":"FR",
                "region":"ARA","speed":0},"ip":"192.0.2.1"}});
        let slim = parse(&full.to_string()).unwrap();
        assert_eq!(
            slim["context"],
            json!({"location":{"latitude":45.7578,"longitude":4.832,"city":"Lyon","country":"FR"}})
        );
        // Wrong shapes reach the profile as they are (it ignores them) or not at all.
        let slim = parse(r#"{"type":"page","context":{"location":{"latitude":"45.7","speed":1}}}"#).unwrap();
        assert_eq!(slim["context"], json!({"location":{"latitude":"45.7"}}));
        let slim = parse(r#"{"type":"page","context":{"location":"Lyon"}}"#).unwrap();
        assert_eq!(slim["context"], json!({}));
    }

    #[test]
    fn parse_with_keeps_properties_of_the_events_a_predicate_accepts() {
        let keep = |name: &str| name == "Signed Up" || name == "Unsubscribed";
        let ev = json!({"type":"track","event":"Signed Up","properties":{"plan":"gold","n":[1]}});
        let slim = parse_with(&ev.to_string(), &keep).unwrap();
        assert_eq!(slim["properties"], ev["properties"]);
        assert!(parse(&ev.to_string()).unwrap().get("properties").is_none());
        let other = json!({"type":"track","event":"Logged In","properties":{"plan":"gold"}});
        assert!(parse_with(&other.to_string(), &keep)
            .unwrap()
            .get("properties")
            .is_none());
        // A consent event a condition reads keeps all its properties (channel included).
        let consent = json!({"type":"track","event":"Unsubscribed","properties":{"channel":"sms","why":"x"}});
        let slim = parse_with(&consent.to_string(), &keep).unwrap();
        assert_eq!(slim["properties"], consent["properties"]);
        assert_eq!(
            parse(&consent.to_string()).unwrap()["properties"],
            json!({"channel":"sms"})
        );
    }
}
