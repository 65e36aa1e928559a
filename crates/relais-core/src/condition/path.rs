//! Dotted paths into traits and event properties: `address.city`,
//! `products.0.category`, `products.*.category` (`*`: every element).

use serde_json::{Map, Value};

const MAX_SEGMENTS: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    raw: String,
    segs: Vec<String>,
}

impl Path {
    /// Validates a path; `wildcard`: whether `*` segments are allowed.
    pub(crate) fn parse(raw: &str, wildcard: bool) -> Result<Path, String> {
        if raw.is_empty() {
            return Err("must be a non-empty dotted path such as \"address.city\"".into());
        }
        let segs: Vec<String> = raw.split('.').map(str::to_owned).collect();
        if segs.len() > MAX_SEGMENTS {
            return Err(format!("has more than {MAX_SEGMENTS} segments"));
        }
        if segs.iter().any(String::is_empty) {
            return Err(format!(
                "\"{raw}\" has an empty segment (\"a.b\", not \"a..b\" or \".a\")"
            ));
        }
        if !wildcard && segs.iter().any(|s| s == "*") {
            return Err(format!(
                "\"{raw}\": `*` is not allowed here (one value per event is needed)"
            ));
        }
        Ok(Path {
            raw: raw.to_owned(),
            segs,
        })
    }

    pub(crate) fn raw(&self) -> &str {
        &self.raw
    }

    pub(crate) fn first(&self) -> &str {
        &self.segs[0]
    }

    /// Every non-null value at this path under `root`.
    pub(crate) fn resolve<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        walk(root, &self.segs, &mut out);
        out
    }

    /// Every non-null value at this path in a map (the profile's traits).
    pub(crate) fn resolve_in<'a>(&self, map: &'a Map<String, Value>) -> Vec<&'a Value> {
        let mut out = Vec::new();
        if let Some(v) = map.get(&self.segs[0]) {
            walk(v, &self.segs[1..], &mut out);
        }
        out
    }

    /// The value at a path without `*` (absent when null).
    pub(crate) fn single<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut v = root;
        for s in &self.segs {
            v = step(v, s)?;
        }
        (!v.is_null()).then_some(v)
    }
}

fn step<'a>(v: &'a Value, seg: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

fn walk<'a>(v: &'a Value, segs: &[String], out: &mut Vec<&'a Value>) {
    match segs.split_first() {
        None if !v.is_null() => out.push(v),
        None => {}
        Some((s, rest)) if s == "*" => {
            if let Some(items) = v.as_array() {
                items.iter().for_each(|e| walk(e, rest, out));
            }
        }
        Some((s, rest)) => {
            if let Some(c) = step(v, s) {
                walk(c, rest, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_nested_indexed_and_wildcard_paths() {
        let v = json!({"a": {"b": 1, "n": null}, "p": [{"c": "x"}, {"c": "y"}, {"d": 2}]});
        let p = |s| Path::parse(s, true).unwrap();
        assert_eq!(p("a.b").resolve(&v), vec![&json!(1)]);
        assert!(p("a.n").resolve(&v).is_empty());
        assert_eq!(p("p.1.c").single(&v), Some(&json!("y")));
        assert_eq!(p("p.*.c").resolve(&v), vec![&json!("x"), &json!("y")]);
        assert!(p("a.b.c").resolve(&v).is_empty());
        assert!(Path::parse("a..b", true).is_err());
        assert!(Path::parse("p.*", false).is_err());
        assert!(Path::parse("", true).is_err());
    }
}
