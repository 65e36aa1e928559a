//! A JSON writer with a fixed key order, so the bytes do not depend on
//! whether some other crate of the build turns on `serde_json`'s
//! `preserve_order` feature.
//!
//! Top-level keys come in the order a reader expects (`type`, `event`,
//! `messageId`, `timestamp`, ids, payload, `context`); every other object has
//! its keys sorted.

use serde_json::Value;

const TOP_ORDER: [&str; 13] = [
    "type",
    "event",
    "name",
    "messageId",
    "timestamp",
    "userId",
    "anonymousId",
    "previousId",
    "groupId",
    "traits",
    "properties",
    "context",
    "integrations",
];

/// Writes one event (a JSON object) on `out`, without a newline.
pub fn write_event(event: &Value, out: &mut String) {
    let Value::Object(map) = event else {
        write_value(event, out);
        return;
    };
    out.push('{');
    let mut first = true;
    let known = TOP_ORDER.iter().filter_map(|k| map.get_key_value(*k));
    let mut rest: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(k, _)| !TOP_ORDER.contains(&k.as_str()))
        .collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in known.chain(rest) {
        if !first {
            out.push(',');
        }
        first = false;
        write_str(k, out);
        out.push(':');
        write_value(v, out);
    }
    out.push('}');
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            // Without `preserve_order` the map is sorted already: no copy.
            let sorted = map.keys().zip(map.keys().skip(1)).all(|(a, b)| a <= b);
            let mut entries: Vec<(&String, &Value)> = Vec::new();
            if !sorted {
                entries = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            let iter: Box<dyn Iterator<Item = (&String, &Value)>> = if sorted {
                Box::new(map.iter())
            } else {
                Box::new(entries.into_iter())
            };
            out.push('{');
            for (i, (k, v)) in iter.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write_value(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(v, out);
            }
            out.push(']');
        }
        Value::String(s) => write_str(s, out),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
    }
}

/// JSON string escaping (RFC 8259): quotes, backslash and control
/// characters; runs of plain characters are copied at once.
fn write_str(s: &str, out: &mut String) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1F => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn orders_keys_and_round_trips() {
        let v =
            json!({"context":{"b":1,"a":[true,null,"x\"\n\u{1}é\\"]},"type":"track","event":"E","zeta":1.5});
        let mut s = String::new();
        write_event(&v, &mut s);
        assert_eq!(
            s,
            r#"{"type":"track","event":"E","context":{"a":[true,null,"x\"\n\u0001é\\"],"b":1},"zeta":1.5}"#
        );
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
