//! Segment tracking-spec messages: parsing and validation of request bodies.
//!
//! The raw JSON of each event is kept byte for byte (it is what the log
//! stores); only the few fields Relais needs to route, deduplicate and order
//! the event are parsed here. Bad events are reported with their index and
//! field, never half-accepted silently.

use crate::error::ErrorCode;
use crate::time::parse_ms;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The Segment message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    Track,
    Identify,
    Page,
    Screen,
    Group,
    Alias,
}

impl MessageType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "track" => MessageType::Track,
            "identify" => MessageType::Identify,
            "page" => MessageType::Page,
            "screen" => MessageType::Screen,
            "group" => MessageType::Group,
            "alias" => MessageType::Alias,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Track => "track",
            MessageType::Identify => "identify",
            MessageType::Page => "page",
            MessageType::Screen => "screen",
            MessageType::Group => "group",
            MessageType::Alias => "alias",
        }
    }
}

/// Size limits of the tracking API (configurable per server).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Limits {
    pub max_event_bytes: usize,
    pub max_request_bytes: usize,
    pub max_batch_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_bytes: 32 * 1024,
            max_request_bytes: 500 * 1024,
            max_batch_events: 2500,
        }
    }
}

/// One validated event, ready for the log.
#[derive(Debug, Clone)]
pub struct ParsedEvent {
    /// `None` when the client sent none; the engine then assigns one.
    pub message_id: Option<String>,
    pub kind: MessageType,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// Event time after clock-skew correction, ms since epoch.
    pub timestamp_ms: i64,
    /// `context.touchpoint`: overrides the source's default channel (a
    /// server source reporting a store purchase, say).
    pub touchpoint: Option<String>,
    /// The event exactly as the client sent it.
    pub payload: String,
}

/// Why one event (or the whole body) was refused.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventError {
    /// Index in the batch; `None` for a single-event endpoint or the body itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl EventError {
    fn new(index: Option<usize>, code: ErrorCode, field: Option<&str>, message: String) -> Self {
        EventError {
            index,
            code,
            field: field.map(str::to_owned),
            message,
        }
    }
}

/// The outcome of parsing one request body.
#[derive(Debug, Default)]
pub struct ParsedBody {
    pub events: Vec<ParsedEvent>,
    pub rejected: Vec<EventError>,
    /// `writeKey` found in the body (browser SDKs send it there).
    pub write_key: Option<String>,
}

/// Parses a request body for `endpoint` (`None` = `/v1/batch`).
///
/// Body-level problems (not JSON, too many events) are an `Err`: nothing of
/// the body is accepted. Event-level problems are collected in `rejected`
/// and the valid events of the batch are kept; the caller reports both.
pub fn parse_body(
    body: &[u8],
    endpoint: Option<MessageType>,
    received_at_ms: i64,
    limits: &Limits,
) -> Result<ParsedBody, EventError> {
    let mut out = ParsedBody::default();
    match endpoint {
        Some(kind) => {
            let raw: &RawValue = serde_json::from_slice(body).map_err(|e| json_error(None, &e))?;
            let head = parse_head(raw, None)?;
            out.write_key = head.write_key.as_deref().map(str::to_owned);
            let event = validate(raw, head, Some(kind), None, received_at_ms, limits, None)?;
            out.events.push(event);
        }
        None => {
            let batch: BatchBody = serde_json::from_slice(body).map_err(|e| json_error(None, &e))?;
            out.write_key = batch.write_key.map(Cow::into_owned);
            let items = batch.batch.ok_or_else(|| {
                EventError::new(
                    None,
                    ErrorCode::MissingField,
                    Some("batch"),
                    "the body has no `batch` array".into(),
                )
            })?;
            if items.len() > limits.max_batch_events {
                return Err(EventError::new(
                    None,
                    ErrorCode::BatchTooLarge,
                    Some("batch"),
                    format!(
                        "the batch has {} events; the limit is {}",
                        items.len(),
                        limits.max_batch_events
                    ),
                ));
            }
            let batch_sent_at = batch.sent_at.as_deref();
            for (i, raw) in items.into_iter().enumerate() {
                let parsed = parse_head(raw, Some(i)).and_then(|head| {
                    if out.write_key.is_none() {
                        out.write_key = head.write_key.as_deref().map(str::to_owned);
                    }
                    validate(raw, head, None, Some(i), received_at_ms, limits, batch_sent_at)
                });
                match parsed {
                    Ok(ev) => out.events.push(ev),
                    Err(e) => out.rejected.push(e),
                }
            }
        }
    }
    Ok(out)
}

/// Parses one self-describing event (with its `type`), as found on a line
/// of an NDJSON export. `index` is reported back in errors (a line number).
pub fn parse_event(
    raw: &str,
    index: Option<usize>,
    received_at_ms: i64,
    limits: &Limits,
) -> Result<ParsedEvent, EventError> {
    let raw: &RawValue = serde_json::from_str(raw).map_err(|e| json_error(index, &e))?;
    let head = parse_head(raw, index)?;
    validate(raw, head, None, index, received_at_ms, limits, None)
}

#[derive(Deserialize)]
struct BatchBody<'a> {
    #[serde(borrow, default)]
    batch: Option<Vec<&'a RawValue>>,
    #[serde(rename = "sentAt", borrow, default)]
    sent_at: Option<Cow<'a, str>>,
    #[serde(rename = "writeKey", borrow, default)]
    write_key: Option<Cow<'a, str>>,
}

/// The fields of an event Relais reads at ingest; everything else stays raw.
#[derive(Deserialize, Default)]
struct Head<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "messageId", default, deserialize_with = "de_id")]
    message_id: Option<String>,
    #[serde(rename = "userId", default, deserialize_with = "de_id")]
    user_id: Option<String>,
    #[serde(rename = "anonymousId", default, deserialize_with = "de_id")]
    anonymous_id: Option<String>,
    #[serde(rename = "previousId", default, deserialize_with = "de_id")]
    previous_id: Option<String>,
    #[serde(rename = "groupId", default, deserialize_with = "de_id")]
    group_id: Option<String>,
    #[serde(borrow, default)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "originalTimestamp", borrow, default)]
    original_timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "sentAt", borrow, default)]
    sent_at: Option<Cow<'a, str>>,
    #[serde(rename = "writeKey", borrow, default)]
    write_key: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    context: Option<ContextHead<'a>>,
}

#[derive(Deserialize, Default)]
struct ContextHead<'a> {
    #[serde(borrow, default)]
    touchpoint: Option<Cow<'a, str>>,
}

fn parse_head<'a>(raw: &'a RawValue, index: Option<usize>) -> Result<Head<'a>, EventError> {
    serde_json::from_str::<Head<'a>>(raw.get()).map_err(|e| diagnose(raw.get(), index, &e))
}

const MAX_ID_LEN: usize = 512;

fn validate(
    raw: &RawValue,
    head: Head<'_>,
    endpoint: Option<MessageType>,
    index: Option<usize>,
    received_at_ms: i64,
    limits: &Limits,
    batch_sent_at: Option<&str>,
) -> Result<ParsedEvent, EventError> {
    let err = |code, field: &str, msg: String| Err(EventError::new(index, code, Some(field), msg));
    let payload = raw.get();
    if payload.len() > limits.max_event_bytes {
        return Err(EventError::new(
            index,
            ErrorCode::EventTooLarge,
            None,
            format!(
                "the event is {} bytes; the limit is {}",
                payload.len(),
                limits.max_event_bytes
            ),
        ));
    }
    let kind = match (endpoint, head.kind.as_deref()) {
        (Some(k), _) => k,
        (None, Some(t)) => match MessageType::parse(t) {
            Some(k) => k,
            None => {
                return err(
                    ErrorCode::InvalidType,
                    "type",
                    format!("`{t}` is not a message type (track, identify, page, screen, group, alias)"),
                )
            }
        },
        (None, None) => {
            return err(
                ErrorCode::MissingField,
                "type",
                "every batch item needs a `type`".into(),
            )
        }
    };
    for (field, v) in [
        ("messageId", &head.message_id),
        ("userId", &head.user_id),
        ("anonymousId", &head.anonymous_id),
        ("previousId", &head.previous_id),
    ] {
        if v.as_ref()
            .is_some_and(|s| s.len() > MAX_ID_LEN || s.contains('\0'))
        {
            return err(
                ErrorCode::InvalidField,
                field,
                format!("`{field}` must be at most {MAX_ID_LEN} characters, without NUL"),
            );
        }
    }
    if head
        .event
        .as_deref()
        .is_some_and(|e| e.len() > MAX_ID_LEN || e.contains('\0'))
    {
        return err(
            ErrorCode::InvalidField,
            "event",
            format!("`event` must be at most {MAX_ID_LEN} characters, without NUL"),
        );
    }
    let user_id = head.user_id.filter(|s| !s.is_empty());
    let anonymous_id = head.anonymous_id.filter(|s| !s.is_empty());
    match kind {
        MessageType::Alias => {
            if head.previous_id.as_deref().unwrap_or("").is_empty() {
                return err(
                    ErrorCode::MissingField,
                    "previousId",
                    "an alias needs a `previousId`".into(),
                );
            }
            if user_id.is_none() {
                return err(
                    ErrorCode::MissingField,
                    "userId",
                    "an alias needs a `userId`".into(),
                );
            }
        }
        _ if user_id.is_none() && anonymous_id.is_none() => {
            return err(
                ErrorCode::MissingIdentity,
                "userId",
                "the event has neither `userId` nor `anonymousId`".into(),
            )
        }
        MessageType::Track if head.event.as_deref().unwrap_or("").trim().is_empty() => {
            return err(
                ErrorCode::MissingField,
                "event",
                "a track call needs an `event` name".into(),
            )
        }
        MessageType::Group if head.group_id.as_deref().unwrap_or("").is_empty() => {
            return err(
                ErrorCode::MissingField,
                "groupId",
                "a group call needs a `groupId`".into(),
            )
        }
        _ => {}
    }
    let ts = |field: &str, v: &Option<Cow<'_, str>>| -> Result<Option<i64>, EventError> {
        match v.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => parse_ms(s).map(Some).ok_or_else(|| {
                EventError::new(
                    index,
                    ErrorCode::InvalidField,
                    Some(field),
                    format!("`{field}` is not an ISO 8601 timestamp: {s:?}"),
                )
            }),
        }
    };
    let original = match ts("originalTimestamp", &head.original_timestamp)? {
        Some(t) => Some(t),
        None => ts("timestamp", &head.timestamp)?,
    };
    let sent_at = match ts("sentAt", &head.sent_at)? {
        Some(t) => Some(t),
        None => ts("sentAt", &batch_sent_at.map(Cow::Borrowed))?,
    };
    Ok(ParsedEvent {
        message_id: head.message_id.filter(|s| !s.is_empty()),
        kind,
        user_id,
        anonymous_id,
        timestamp_ms: derive_timestamp(original, sent_at, received_at_ms),
        touchpoint: head
            .context
            .and_then(|c| c.touchpoint)
            .map(|t| t.to_ascii_lowercase())
            .filter(|t| crate::identity::is_valid_kind(t)),
        payload: payload.to_owned(),
    })
}

/// The Segment rule: the client's clock is trusted for durations, not for
/// absolute time. `timestamp = receivedAt - (sentAt - originalTimestamp)`
/// when the client says when it sent the event; the client's time as is when
/// it does not (historical imports); the receive time when it gives none.
pub fn derive_timestamp(original: Option<i64>, sent_at: Option<i64>, received_at: i64) -> i64 {
    match (original, sent_at) {
        (Some(o), Some(s)) => received_at - (s - o),
        (Some(o), None) => o,
        (None, _) => received_at,
    }
}

/// Ids may be strings or numbers in the wild (`userId: 42`); both become strings.
fn de_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct IdVisitor;
    impl<'de> Visitor<'de> for IdVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(IdVisitor)
}

fn json_error(index: Option<usize>, e: &serde_json::Error) -> EventError {
    EventError::new(
        index,
        ErrorCode::InvalidJson,
        None,
        format!("the body is not valid JSON: {e}"),
    )
}

/// The fast typed parse failed: find which field is of the wrong shape so the
/// message names it (the slow path runs only for bad input).
fn diagnose(raw: &str, index: Option<usize>, e: &serde_json::Error) -> EventError {
    let value: serde_json::Value = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => return json_error(index, &e),
    };
    let Some(obj) = value.as_object() else {
        return EventError::new(
            index,
            ErrorCode::InvalidBody,
            None,
            "an event must be a JSON object".into(),
        );
    };
    let strings = [
        "type",
        "event",
        "timestamp",
        "originalTimestamp",
        "sentAt",
        "writeKey",
    ];
    for f in strings {
        if let Some(v) = obj.get(f) {
            if !(v.is_string() || v.is_null()) {
                return EventError::new(
                    index,
                    ErrorCode::InvalidField,
                    Some(f),
                    format!("`{f}` must be a string"),
                );
            }
        }
    }
    if let Some(v) = obj.get("context") {
        if !(v.is_object() || v.is_null()) {
            return EventError::new(
                index,
                ErrorCode::InvalidField,
                Some("context"),
                "`context` must be an object".into(),
            );
        }
    }
    for f in ["messageId", "userId", "anonymousId", "previousId", "groupId"] {
        if let Some(v) = obj.get(f) {
            if !(v.is_string() || v.is_number() || v.is_null()) {
                return EventError::new(
                    index,
                    ErrorCode::InvalidField,
                    Some(f),
                    format!("`{f}` must be a string or a number"),
                );
            }
        }
    }
    EventError::new(
        index,
        ErrorCode::InvalidBody,
        None,
        format!("the event could not be read: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn batch(body: &str) -> ParsedBody {
        parse_body(body.as_bytes(), None, NOW, &Limits::default()).unwrap()
    }

    #[test]
    fn single_track_keeps_the_payload_verbatim() {
        let body =
            r#"{"userId":"u1","event":"Order Completed","properties":{"revenue":10},"messageId":"m1"}"#;
        let p = parse_body(body.as_bytes(), Some(MessageType::Track), NOW, &Limits::default()).unwrap();
        assert_eq!(p.events.len(), 1);
        let e = &p.events[0];
        assert_eq!(e.payload, body);
        assert_eq!(e.message_id.as_deref(), Some("m1"));
        assert_eq!(e.kind, MessageType::Track);
        assert_eq!(e.timestamp_ms, NOW);
        assert_eq!(e.touchpoint, None);
    }

    #[test]
    fn touchpoint_overrides_are_read_from_context() {
        let p = batch(
            r#"{"batch":[{"type":"track","event":"Order Completed","userId":"u",
            "context":{"ip":"1.2.3.4","touchpoint":"Store"}}]}"#,
        );
        assert_eq!(p.events[0].touchpoint.as_deref(), Some("store"));
    }

    #[test]
    fn accepts_nulls_numbers_and_extra_fields() {
        let p = batch(
            r#"{"batch":[{"type":"identify","userId":42,"anonymousId":null,"traits":null,
            "_metadata":{"x":1},"integrations":{},"channel":"server","messageId":"a b c"}],
            "sentAt":null,"writeKey":"wk"}"#,
        );
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(p.events[0].user_id.as_deref(), Some("42"));
        assert_eq!(p.write_key.as_deref(), Some("wk"));
    }

    #[test]
    fn corrects_client_clock_skew_with_sent_at() {
        // The client's clock is 1 hour fast; the event happened 2 s before sending.
        let p = batch(
            r#"{"batch":[{"type":"track","event":"X","userId":"u",
            "timestamp":"2027-01-15T09:00:00Z"}],"sentAt":"2027-01-15T09:00:02Z"}"#,
        );
        assert_eq!(p.events[0].timestamp_ms, NOW - 2000);
        // Per-event sentAt wins over the batch one; originalTimestamp over timestamp.
        let p = batch(
            r#"{"batch":[{"type":"track","event":"X","userId":"u","originalTimestamp":"2027-01-15T09:00:00Z",
            "timestamp":"2000-01-01T00:00:00Z","sentAt":"2027-01-15T09:00:05Z"}],"sentAt":"2027-01-15T09:00:02Z"}"#,
        );
        assert_eq!(p.events[0].timestamp_ms, NOW - 5000);
        // Historical import: no sentAt, the timestamp is used as is.
        let p = batch(
            r#"{"batch":[{"type":"track","event":"X","userId":"u","timestamp":"2020-01-01T00:00:00Z"}]}"#,
        );
        assert_eq!(p.events[0].timestamp_ms, 1_577_836_800_000);
    }

    #[test]
    fn bad_events_are_reported_with_index_and_field_and_good_ones_kept() {
        let p = batch(
            r#"{"batch":[
            {"type":"track","userId":"u","event":"Ok"},
            {"type":"track","userId":"u"},
            {"type":"track","event":"X"},
            {"type":"teleport","userId":"u"},
            {"type":"track","userId":"u","event":"X","timestamp":"soon"},
            {"type":"track","userId":{"a":1},"event":"X"},
            {"type":"alias","userId":"u"},
            {"userId":"u"},
            {"type":"track","userId":"a\u0000b","event":"X"}
            ]}"#,
        );
        assert_eq!(p.events.len(), 1);
        let got: Vec<_> = p
            .rejected
            .iter()
            .map(|e| (e.index.unwrap(), e.code, e.field.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, ErrorCode::MissingField, "event".into()),
                (2, ErrorCode::MissingIdentity, "userId".into()),
                (3, ErrorCode::InvalidType, "type".into()),
                (4, ErrorCode::InvalidField, "timestamp".into()),
                (5, ErrorCode::InvalidField, "userId".into()),
                (6, ErrorCode::MissingField, "previousId".into()),
                (7, ErrorCode::MissingField, "type".into()),
                (8, ErrorCode::InvalidField, "userId".into()),
            ]
        );
    }

    #[test]
    fn body_level_errors() {
        let l = Limits {
            max_batch_events: 2,
            max_event_bytes: 60,
            ..Limits::default()
        };
        let e = parse_body(b"{nope", None, NOW, &l).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidJson);
        let e = parse_body(b"{}", None, NOW, &l).unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingField);
        let e = parse_body(br#"{"batch":[{},{},{}]}"#, None, NOW, &l).unwrap_err();
        assert_eq!(e.code, ErrorCode::BatchTooLarge);
        let big = format!(r#"{{"userId":"u","event":"{}"}}"#, "x".repeat(100));
        let e = parse_body(big.as_bytes(), Some(MessageType::Track), NOW, &l).unwrap_err();
        assert_eq!(e.code, ErrorCode::EventTooLarge);
    }
}
