//! Click and open tracking helpers: rewriting the links of an HTML body (to a
//! redirect that records the click), campaign parameters (UTM) and the open pixel.
//! They edit the HTML in place: everything but the rewritten `href` values is kept
//! byte for byte.

use super::html::{decode_entities, escape_attr, Scanner, Token};

/// The attribute that keeps a link out of click tracking (`<a href=… data-relais-notrack>`).
pub const NOTRACK_ATTR: &str = "data-relais-notrack";

/// Rewrites the `href` of every `<a>` tag through `f`, which receives the URL
/// entity-decoded (`&amp;` → `&`) and returns the new one (escaped back here and
/// written double-quoted), or `None` to leave the link as it is. Links that are
/// never tracked are not passed to `f`: `mailto:`, `tel:`, `sms:`, in-page
/// `#anchors`, empty ones, and those carrying [`NOTRACK_ATTR`]. Comments (MSO
/// conditional blocks included), scripts and styles are left alone.
pub fn rewrite_links(html: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for token in Scanner::new(html) {
        let Token::Tag(tag) = token else { continue };
        if tag.name != "a" || tag.closing || tag.attr(NOTRACK_ATTR).is_some() {
            continue;
        }
        let Some(href) = tag.attr("href") else { continue };
        let (Some(raw), Some(range)) = (href.value, href.value_range.clone()) else {
            continue;
        };
        let url = decode_entities(raw);
        let url = url.trim();
        if !trackable(url) {
            continue;
        }
        let Some(new_url) = f(url) else { continue };
        // Replace the value with its quotes, so that the new one is always double-quoted.
        let whole = match href.quote {
            Some(_) => range.start - 1..(range.end + 1).min(html.len()),
            None => range,
        };
        edits.push((whole, format!("\"{}\"", escape_attr(&new_url))));
    }
    let mut out = String::with_capacity(html.len() + edits.len() * 64);
    let mut at = 0;
    for (range, value) in edits {
        out.push_str(&html[at..range.start]);
        out.push_str(&value);
        at = range.end;
    }
    out.push_str(&html[at..]);
    out
}

fn trackable(url: &str) -> bool {
    if url.is_empty() || url.starts_with('#') {
        return false;
    }
    let lower = url.get(..7).unwrap_or(url).to_ascii_lowercase();
    !["mailto:", "tel:", "sms:"].iter().any(|s| lower.starts_with(s))
}

/// Adds `utm_source`, `utm_medium` and `utm_campaign` to a URL's query, values
/// percent-encoded. Existing parameters are kept, and a `utm_*` already on the
/// URL wins over the one given here (a link may name its own campaign); an empty
/// value adds nothing. The `#fragment` stays last.
pub fn add_utm(url: &str, source: &str, medium: &str, campaign: &str) -> String {
    let (before_fragment, fragment) = match url.find('#') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let (base, query) = match before_fragment.find('?') {
        Some(i) => (&before_fragment[..i], &before_fragment[i + 1..]),
        None => (before_fragment, ""),
    };
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    for (key, value) in [
        ("utm_source", source),
        ("utm_medium", medium),
        ("utm_campaign", campaign),
    ] {
        let present = params.iter().any(|p| p.split('=').next() == Some(key));
        if !value.is_empty() && !present {
            params.push(format!("{key}={}", percent_encode(value)));
        }
    }
    let mut out = String::with_capacity(url.len() + 80);
    out.push_str(base);
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out.push_str(fragment);
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Inserts a 1×1 open-tracking image just before `</body>` (the last one, any
/// case), or at the end when the HTML has none.
pub fn insert_open_pixel(html: &str, pixel_url: &str) -> String {
    let img = format!(
        "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" \
         style=\"display:block;width:1px;height:1px;border:0;margin:0;padding:0\" />",
        escape_attr(pixel_url)
    );
    let at = html.to_ascii_lowercase().rfind("</body").unwrap_or(html.len());
    let mut out = String::with_capacity(html.len() + img.len());
    out.push_str(&html[..at]);
    out.push_str(&img);
    out.push_str(&html[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(url: &str) -> Option<String> {
        Some(format!("https://t.example/c?u={}", percent_encode(url)))
    }

    #[test]
    fn rewrites_quoted_unquoted_and_upper_case_links() {
        let html = r#"<p><a href="https://a.example/x?p=1&amp;q=2">A</a>
<A class='btn' HREF='https://b.example/'>B</A> <a href=https://c.example/y>C</a>
<a title="x > y" href = "https://d.example">D</a></p>"#;
        let mut seen = Vec::new();
        let out = rewrite_links(html, |u| {
            seen.push(u.to_owned());
            Some(format!("https://t.example/c?n={}&u=1", seen.len()))
        });
        assert_eq!(
            seen,
            [
                "https://a.example/x?p=1&q=2",
                "https://b.example/",
                "https://c.example/y",
                "https://d.example"
            ]
        );
        let want = r#"<p><a href="https://t.example/c?n=1&amp;u=1">A</a>
<A class='btn' HREF="https://t.example/c?n=2&amp;u=1">B</A> <a href="https://t.example/c?n=3&amp;u=1">C</a>
<a title="x > y" href = "https://t.example/c?n=4&amp;u=1">D</a></p>"#;
        assert_eq!(out, want);
    }

    #[test]
    fn leaves_untrackable_links_and_markup_alone() {
        let html = r##"<!-- <a href="https://in.comment"> --><script>x='<a href="https://in.script">'</script>
<a href="mailto:a@b.example">m</a><a href="TEL:+331">t</a><a href="sms:+331">s</a><a href="#top">#</a>
<a href="">e</a><a>no href</a><a href="https://keep.example" data-relais-notrack>k</a>
<abbr href="https://not.a.link">x</abbr><area href="https://area.example">
<a href="https://skip.example">skip</a>"##;
        let mut seen = Vec::new();
        let out = rewrite_links(html, |u| {
            seen.push(u.to_owned());
            None
        });
        assert_eq!(seen, ["https://skip.example"]);
        assert_eq!(out, html);
    }

    #[test]
    fn rewritten_values_are_escaped() {
        let out = rewrite_links(r#"<a href="https://x.example/?a=&quot;b&quot;">x</a>"#, |u| {
            assert_eq!(u, "https://x.example/?a=\"b\"");
            Some(format!("{u}&<>"))
        });
        assert_eq!(
            out,
            r#"<a href="https://x.example/?a=&quot;b&quot;&amp;&lt;&gt;">x</a>"#
        );
        let out = rewrite_links("<a href='https://x.example/it's'>x</a><b>", track);
        assert!(
            out.starts_with("<a href=\"https://t.example/c?u=https%3A%2F%2Fx.example%2Fit\""),
            "{out}"
        );
        // An unterminated quote does not panic.
        let _ = rewrite_links("<a href=\"https://x.example", track);
    }

    #[test]
    fn utm_parameters() {
        assert_eq!(
            add_utm("https://s.example/p", "relais", "email", "Spring sale"),
            "https://s.example/p?utm_source=relais&utm_medium=email&utm_campaign=Spring%20sale"
        );
        assert_eq!(
            add_utm("https://s.example/p?id=3&utm_source=own#reviews", "relais", "email", "été/2025"),
            "https://s.example/p?id=3&utm_source=own&utm_medium=email&utm_campaign=%C3%A9t%C3%A9%2F2025#reviews"
        );
        assert_eq!(
            add_utm("https://s.example/?", "a", "", ""),
            "https://s.example/?utm_source=a"
        );
        assert_eq!(add_utm("/p#x", "", "", ""), "/p#x");
    }

    #[test]
    fn open_pixel_goes_before_body_end() {
        let out = insert_open_pixel(
            "<html><body><p>x</p></BODY></html>",
            "https://t.example/o?a=1&b=2",
        );
        assert!(out.starts_with("<html><body><p>x</p><img src=\"https://t.example/o?a=1&amp;b=2\""));
        assert!(out.ends_with(" /></BODY></html>"));
        let out = insert_open_pixel("<p>fragment</p>", "https://t.example/o");
        assert!(out.starts_with("<p>fragment</p><img ") && out.ends_with("/>"));
    }
}
