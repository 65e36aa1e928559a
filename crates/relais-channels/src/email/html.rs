//! Just enough HTML lexing for the plain-text part and link tracking: a scanner
//! that yields tags (with attribute positions, so links can be rewritten in place
//! without touching anything else), text, comments and raw-text element bodies
//! (`<script>`, `<style>`), plus entity decoding and attribute escaping. It is
//! not a tree builder: e-mail HTML is written by tools (MJML) or people, and a
//! forgiving linear scan is what both callers need.

use std::borrow::Cow;
use std::ops::Range;

/// One attribute of a start tag. `value` is the raw (still entity-encoded) text;
/// `value_range` its byte range in the document (without quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr<'a> {
    pub name: &'a str,
    pub value: Option<&'a str>,
    pub value_range: Option<Range<usize>>,
    /// The quote around the value (`b'"'`, `b'\''`), `None` when unquoted.
    pub quote: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag<'a> {
    /// Lower-cased tag name.
    pub name: String,
    pub closing: bool,
    pub attrs: Vec<Attr<'a>>,
    /// Byte range of the whole tag, `<` to `>` included.
    pub range: Range<usize>,
}

impl Tag<'_> {
    /// The first attribute of that name (ASCII case-insensitive).
    pub fn attr(&self, name: &str) -> Option<&Attr<'_>> {
        self.attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    Text(&'a str),
    Tag(Tag<'a>),
    /// A comment, doctype or processing instruction: never content.
    Markup,
    /// The body of a raw-text element (`script`, `style`): never content.
    RawText,
}

/// Scans `html` into tokens.
pub(crate) struct Scanner<'a> {
    src: &'a str,
    pos: usize,
    /// Set after a `<script>`/`<style>` start tag: its body comes next, as raw text.
    raw_until: Option<&'static str>,
}

impl<'a> Scanner<'a> {
    pub fn new(src: &'a str) -> Scanner<'a> {
        Scanner {
            src,
            pos: 0,
            raw_until: None,
        }
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let src = self.src;
        let bytes = src.as_bytes();
        if self.pos >= src.len() {
            return None;
        }
        if let Some(end_tag) = self.raw_until.take() {
            let end = find_ci(src, self.pos, end_tag).unwrap_or(src.len());
            self.pos = end;
            return Some(Token::RawText);
        }
        let start = self.pos;
        if bytes[start] == b'<' {
            let rest = &src[start..];
            if rest.starts_with("<!--") {
                self.pos = src[start + 4..]
                    .find("-->")
                    .map_or(src.len(), |i| start + 4 + i + 3);
                return Some(Token::Markup);
            }
            if rest.starts_with("<!") || rest.starts_with("<?") {
                self.pos = src[start..].find('>').map_or(src.len(), |i| start + i + 1);
                return Some(Token::Markup);
            }
            let closing = rest.starts_with("</");
            let name_at = start + if closing { 2 } else { 1 };
            if bytes.get(name_at).is_some_and(u8::is_ascii_alphabetic) {
                let tag = parse_tag(src, start, name_at, closing);
                self.pos = tag.range.end;
                if !closing {
                    self.raw_until = match tag.name.as_str() {
                        "script" => Some("</script"),
                        "style" => Some("</style"),
                        _ => None,
                    };
                }
                return Some(Token::Tag(tag));
            }
        }
        // Text up to the next '<' that is not the one we stand on.
        let from = if bytes[start] == b'<' { start + 1 } else { start };
        let end = src[from..].find('<').map_or(src.len(), |i| from + i);
        self.pos = end;
        Some(Token::Text(&src[start..end]))
    }
}

/// Finds `needle` (ASCII, lower-case) in `src` from `from`, ignoring ASCII case.
fn find_ci(src: &str, from: usize, needle: &str) -> Option<usize> {
    let hay = &src.as_bytes()[from..];
    let n = needle.as_bytes();
    hay.windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
        .map(|i| from + i)
}

fn parse_tag(src: &str, start: usize, name_at: usize, closing: bool) -> Tag<'_> {
    let bytes = src.as_bytes();
    let mut i = name_at;
    while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'>' && bytes[i] != b'/' {
        i += 1;
    }
    let name = src[name_at..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    loop {
        while i < bytes.len() && (is_space(bytes[i]) || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        if bytes[i] == b'>' {
            i += 1;
            break;
        }
        let name_start = i;
        while i < bytes.len() && !is_space(bytes[i]) && !matches!(bytes[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        // A stray quote or '=' with no name: step over it.
        if i == name_start {
            i += 1;
            continue;
        }
        let attr_name = &src[name_start..i];
        let mut j = i;
        while j < bytes.len() && is_space(bytes[j]) {
            j += 1;
        }
        if j >= bytes.len() || bytes[j] != b'=' {
            attrs.push(Attr {
                name: attr_name,
                value: None,
                value_range: None,
                quote: None,
            });
            continue;
        }
        j += 1;
        while j < bytes.len() && is_space(bytes[j]) {
            j += 1;
        }
        let (range, quote) = match bytes.get(j) {
            Some(&q @ (b'"' | b'\'')) => {
                let v0 = j + 1;
                let v1 = src[v0..].find(q as char).map_or(src.len(), |k| v0 + k);
                i = (v1 + 1).min(src.len());
                (v0..v1, Some(q))
            }
            _ => {
                let v0 = j;
                let mut v1 = j;
                while v1 < bytes.len() && !is_space(bytes[v1]) && bytes[v1] != b'>' {
                    v1 += 1;
                }
                i = v1;
                (v0..v1, None)
            }
        };
        attrs.push(Attr {
            name: attr_name,
            value: Some(&src[range.clone()]),
            value_range: Some(range),
            quote,
        });
    }
    Tag {
        name,
        closing,
        attrs: if closing { Vec::new() } else { attrs },
        range: start..i,
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Decodes character references: the named ones e-mail HTML uses, and numeric
/// ones (`&#39;`, `&#x27;`). Unknown or malformed references stay as they are.
pub(crate) fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest[1..].find(';').map(|i| i + 1).filter(|&i| i <= 32);
        let decoded = semi.and_then(|i| decode_one(&rest[1..i]).map(|c| (c, i)));
        match decoded {
            Some((c, i)) => {
                out.push(c);
                rest = &rest[i + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn decode_one(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|&c| c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "euro" => '€',
        "pound" => '£',
        "bull" => '•',
        "middot" => '·',
        "zwnj" => '\u{200c}',
        "zwj" => '\u{200d}',
        _ => return None,
    })
}

/// Escapes a value for a double-quoted attribute.
pub(crate) fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(html: &str) -> Vec<String> {
        Scanner::new(html)
            .filter_map(|t| match t {
                Token::Tag(t) => Some(format!("{}{}", if t.closing { "/" } else { "" }, t.name)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn scans_tags_attributes_and_skips_markup() {
        let html = r#"<!DOCTYPE html><!-- <a href="x"> --><A HREF=/u title='a>b' data-x>t</A><br/>"#;
        assert_eq!(tags(html), ["a", "/a", "br"]);
        let a = Scanner::new(html)
            .find_map(|t| match t {
                Token::Tag(t) if t.name == "a" => Some(t),
                _ => None,
            })
            .unwrap();
        assert_eq!(a.attr("href").unwrap().value, Some("/u"));
        assert_eq!(a.attr("title").unwrap().value, Some("a>b"));
        assert_eq!(a.attr("title").unwrap().quote, Some(b'\''));
        assert_eq!(a.attr("data-x").unwrap().value, None);
    }

    #[test]
    fn script_and_style_bodies_are_raw() {
        let html = "<script>if (a<b) x='<a href=\"y\">'</script><style>a>b{}</style><p>x";
        assert_eq!(tags(html), ["script", "/script", "style", "/style", "p"]);
    }

    #[test]
    fn text_with_a_lone_angle_bracket() {
        let toks: Vec<_> = Scanner::new("1 < 2 <b>x</b>").collect();
        assert_eq!(toks[0], Token::Text("1 "));
        assert_eq!(toks[1], Token::Text("< 2 "));
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a&amp;b &lt;&gt; &quot;&#39;&#x41;&nbsp;"),
            "a&b <> \"'A\u{a0}"
        );
        assert_eq!(decode_entities("AT&T &bogus; &#xZZ; &"), "AT&T &bogus; &#xZZ; &");
        assert_eq!(escape_attr("a&b\"<"), "a&amp;b&quot;&lt;");
    }
}
