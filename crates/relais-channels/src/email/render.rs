//! Turning a template into the parts of an e-mail: Liquid personalisation, MJML
//! to HTML, and a readable plain-text part derived from the HTML.

use super::html::{decode_entities, Scanner, Token};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// What failed while rendering, with the renderer's own account of where
/// (Liquid's message carries the line and a caret; MRML's the byte span).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("liquid template does not parse: {0}")]
    LiquidParse(String),
    #[error("liquid template does not render: {0}")]
    LiquidRender(String),
    #[error("liquid context must be a JSON object: {0}")]
    Context(String),
    #[error("mjml does not parse: {0}")]
    MjmlParse(String),
    #[error("mjml does not render: {0}")]
    MjmlRender(String),
}

/// Parsed templates kept for reuse: the same subject and body are rendered once
/// per recipient, and parsing costs more than rendering. Bounded: cleared when full.
const CACHE_MAX: usize = 256;

fn parser() -> &'static liquid::Parser {
    static PARSER: OnceLock<liquid::Parser> = OnceLock::new();
    PARSER.get_or_init(|| {
        liquid::ParserBuilder::with_stdlib()
            .build()
            .expect("the Liquid standard library builds")
    })
}

fn template(src: &str) -> Result<Arc<liquid::Template>, RenderError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<liquid::Template>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(t) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(src) {
        return Ok(Arc::clone(t));
    }
    let parsed = Arc::new(
        parser()
            .parse(src)
            .map_err(|e| RenderError::LiquidParse(e.to_string()))?,
    );
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= CACHE_MAX {
        map.clear();
    }
    map.insert(src.to_owned(), Arc::clone(&parsed));
    Ok(parsed)
}

/// Renders a Liquid template (standard library tags and filters). The top-level
/// keys of `ctx` (a JSON object; `null` means none) are the template's globals.
/// An undefined variable is an error that names it, like any other Liquid error.
pub fn render_liquid(template_src: &str, ctx: &serde_json::Value) -> Result<String, RenderError> {
    let globals = match ctx {
        serde_json::Value::Null => liquid::Object::new(),
        serde_json::Value::Object(_) => {
            liquid::to_object(ctx).map_err(|e| RenderError::Context(e.to_string()))?
        }
        other => return Err(RenderError::Context(format!("got {}", json_kind(other)))),
    };
    template(template_src)?
        .render(&globals)
        .map_err(|e| RenderError::LiquidRender(e.to_string()))
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Renders MJML to e-mail HTML with MRML's default options. `mj-include` is not
/// resolved (no loader): templates are self-contained.
pub fn mjml_to_html(src: &str) -> Result<String, RenderError> {
    let parsed = mrml::parse(src).map_err(|e| RenderError::MjmlParse(e.to_string()))?;
    parsed
        .element
        .render(&mrml::prelude::render::RenderOptions::default())
        .map_err(|e| RenderError::MjmlRender(e.to_string()))
}

/// A plain-text rendering of an HTML e-mail, for the `text/plain` part: no
/// `<head>`, styles, scripts or hidden (`display:none`) blocks; block elements
/// start lines, paragraphs and headings are separated by a blank line; links read
/// `label (url)` (images, and so image-only links, give no text); list items
/// start with "- " (or "1. "); entities are decoded,
/// whitespace collapsed, and there is never more than one blank line in a row.
pub fn html_to_text(html: &str) -> String {
    let mut w = TextWriter::default();
    // Name and nesting depth of an element whose content is skipped entirely.
    let mut skipping: Option<(String, usize)> = None;
    let mut links: Vec<(Option<String>, usize)> = Vec::new();
    let mut lists: Vec<Option<u32>> = Vec::new();
    for token in Scanner::new(html) {
        let tag = match token {
            Token::Text(t) if skipping.is_none() => {
                w.text(&decode_entities(t));
                continue;
            }
            Token::Tag(tag) => tag,
            _ => continue,
        };
        if let Some((name, depth)) = &mut skipping {
            if tag.name == *name && !is_void(&tag.name) {
                if tag.closing {
                    *depth -= 1;
                    if *depth == 0 {
                        skipping = None;
                    }
                } else {
                    *depth += 1;
                }
            }
            continue;
        }
        let name = tag.name.as_str();
        if !tag.closing && (matches!(name, "head" | "style" | "script" | "title") || hidden(&tag)) {
            if !is_void(name) {
                skipping = Some((tag.name.clone(), 1));
            }
            continue;
        }
        match (name, tag.closing) {
            ("br", _) => w.hard_break(),
            ("p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "pre" | "table", _) => w.block(2),
            ("hr", _) => {
                w.block(1);
                w.text("-----");
                w.block(1);
            }
            // A list is a paragraph of its own; a nested one is not.
            ("ul" | "ol", false) => {
                w.block(if lists.is_empty() { 2 } else { 1 });
                lists.push((name == "ol").then_some(0));
            }
            ("ul" | "ol", true) => {
                lists.pop();
                w.block(if lists.is_empty() { 2 } else { 1 });
            }
            ("li", false) => {
                w.block(1);
                let depth = lists.len().saturating_sub(1);
                let marker = match lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{n}. ")
                    }
                    _ => "- ".to_owned(),
                };
                w.prefix(&format!("{}{marker}", "  ".repeat(depth)));
            }
            ("a", false) => {
                let href = tag
                    .attr("href")
                    .and_then(|a| a.value)
                    .map(|v| decode_entities(v).trim().to_owned());
                links.push((href, w.out.len()));
            }
            ("a", true) => {
                if let Some((Some(href), start)) = links.pop() {
                    w.link_end(&href, start);
                }
            }
            ("td" | "th", _) => w.text(" "),
            ("div" | "tr" | "li" | "dl" | "dt" | "dd" | "section" | "article" | "header" | "footer", _)
            | ("center" | "address" | "figure" | "figcaption" | "main" | "nav" | "body", _) => w.block(1),
            _ => {}
        }
    }
    w.finish()
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "source"
            | "wbr"
    )
}

fn hidden(tag: &super::html::Tag<'_>) -> bool {
    tag.attr("style").and_then(|a| a.value).is_some_and(|style| {
        let compact: String = style.chars().filter(|c| !c.is_whitespace()).collect();
        compact.to_ascii_lowercase().contains("display:none")
    }) || tag.attr("hidden").is_some()
}

/// Accumulates text with pending line breaks, so that runs of block boundaries
/// give one break (or one blank line), and whitespace collapses across tags.
#[derive(Default)]
struct TextWriter {
    out: String,
    /// Newlines owed before the next text (0, 1 or 2).
    pending: usize,
    /// A space is owed before the next text (whitespace was seen).
    space: bool,
}

impl TextWriter {
    fn block(&mut self, newlines: usize) {
        self.pending = self.pending.max(newlines);
        self.space = false;
    }

    fn hard_break(&mut self) {
        self.flush_breaks();
        self.out.push('\n');
        self.space = false;
    }

    fn flush_breaks(&mut self) {
        if self.pending > 0 {
            let trimmed = self.out.trim_end_matches([' ']).len();
            self.out.truncate(trimmed);
            if !self.out.is_empty() {
                for _ in 0..self.pending {
                    self.out.push('\n');
                }
            }
            self.pending = 0;
        }
    }

    fn prefix(&mut self, p: &str) {
        self.flush_breaks();
        self.out.push_str(p);
        self.space = false;
    }

    fn text(&mut self, t: &str) {
        for c in t.chars() {
            if matches!(c, '\u{200b}'..='\u{200d}' | '\u{34f}' | '\u{feff}' | '\u{ad}') {
                continue;
            }
            if c.is_whitespace() {
                self.space = true;
                continue;
            }
            self.flush_breaks();
            if self.space && !self.out.is_empty() && !self.out.ends_with(['\n', ' ']) {
                self.out.push(' ');
            }
            self.space = false;
            self.out.push(c);
        }
    }

    /// Closes a link whose label began at `start`: appends ` (href)` unless the
    /// label already says it, or the link goes nowhere a reader could type.
    fn link_end(&mut self, href: &str, start: usize) {
        if href.is_empty() || href.starts_with('#') || href.to_ascii_lowercase().starts_with("javascript:") {
            return;
        }
        let label = self.out.get(start..).unwrap_or("").trim().to_owned();
        // An image-only link (logo, product photo, social icon) repeats a text link
        // next to it, or says nothing a reader can use.
        if label.is_empty() {
            return;
        }
        let bare = href
            .strip_prefix("mailto:")
            .or_else(|| href.strip_prefix("tel:"))
            .unwrap_or(href);
        let same = |a: &str| {
            let a = a.trim_end_matches('/');
            let b = bare.trim_end_matches('/');
            a == b || b.split_once("://").is_some_and(|(_, rest)| rest == a)
        };
        if same(&label) {
            return;
        }
        self.space = false;
        self.text(&format!(" ({bare})"));
    }

    fn finish(self) -> String {
        let mut result = String::with_capacity(self.out.len());
        let mut blank = 0;
        for line in self.out.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                blank += 1;
                if blank > 1 || result.is_empty() {
                    continue;
                }
            } else {
                blank = 0;
            }
            result.push_str(line);
            result.push('\n');
        }
        let trimmed = result.trim_end().len();
        result.truncate(trimmed);
        result
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
