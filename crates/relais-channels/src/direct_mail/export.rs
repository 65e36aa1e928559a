//! The daily batch for a print shop: one CSV listing the letters and one
//! print-ready PDF holding all of them.
//!
//! PDF layout (A4 portrait, 210 × 297 mm, for a DL 110 × 220 mm window envelope,
//! letter folded in three at 99 and 198 mm):
//! - recipient block: 110–190 mm from the left edge (so 20 mm from the right
//!   edge), 50–85 mm from the top: inside the window of right-window DL
//!   envelopes as La Poste / NF Z10-011 lay them out. Helvetica 10 pt (postal
//!   guidance: 9–12 pt), shrunk down to 8 pt when a line is wider than 80 mm;
//!   the locality line in capitals, the country line for foreign destinations;
//! - sender block: top-left, 20 mm from the left, 15 mm from the top, 9 pt;
//! - text: 20 mm side margins, from 105 mm (below the window and the first fold)
//!   on the first page and 20 mm on the next ones, down to 25 mm above the
//!   bottom; Helvetica 11 pt on 14 pt lines, wrapped at word boundaries,
//!   paragraphs (separated by blank lines) separated by one empty line, single
//!   line breaks kept; pages break automatically;
//! - footer: `{message_id} page k/n`, 8 pt, 12 mm above the bottom edge;
//! - every letter starts on an odd page: after a letter with an odd page count
//!   a blank page is inserted, so duplex printing never puts two letters on one
//!   sheet.
//!
//! Helvetica is a standard font, not embedded, in WinAnsiEncoding: characters
//! outside Windows-1252 print as `?` (see [`helvetica`](super::helvetica)).
//! Content streams are written uncompressed.

use super::address::{block_lines, validate, AddressProblem};
use super::helvetica::{encode, width};
use crate::PostalAddress;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::fs;
use std::path::{Path, PathBuf};

const MM: f32 = 72.0 / 25.4;
const PAGE_W: f32 = 210.0 * MM;
const PAGE_H: f32 = 297.0 * MM;
const MARGIN_X: f32 = 20.0 * MM;
const SENDER_TOP: f32 = 15.0 * MM;
const SENDER_SIZE: f32 = 9.0;
const WINDOW_LEFT: f32 = 110.0 * MM;
const WINDOW_WIDTH: f32 = 80.0 * MM;
const WINDOW_TOP: f32 = 50.0 * MM;
const ADDRESS_SIZE: f32 = 10.0;
const ADDRESS_MIN_SIZE: f32 = 8.0;
const BODY_TOP_FIRST: f32 = 105.0 * MM;
const BODY_TOP_NEXT: f32 = 20.0 * MM;
const BODY_BOTTOM: f32 = 25.0 * MM;
const BODY_SIZE: f32 = 11.0;
const BODY_LEADING: f32 = 14.0;
const FOOTER_Y: f32 = 12.0 * MM;
const FOOTER_SIZE: f32 = 8.0;
/// Helvetica's ascender (718/1000 em): from a block's top to its first baseline.
const ASCENT: f32 = 0.718;
const FONT: Name<'static> = Name(b"F1");

/// One letter of the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintLetter {
    pub message_id: String,
    pub to: PostalAddress,
    pub from: PostalAddress,
    /// Plain text: paragraphs separated by blank lines.
    pub text: String,
}

/// What [`export_batch`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedBatch {
    pub csv_path: PathBuf,
    pub pdf_path: PathBuf,
    /// Letters in the PDF.
    pub letters: usize,
    /// Pages in the PDF, blank duplex pages included.
    pub pages: usize,
    /// Letters left out because their recipient address is invalid.
    pub rejected: Vec<(String, Vec<AddressProblem>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("export: batch name {0:?} must be letters, digits, '.', '-' or '_' (not starting with '.')")]
    BatchName(String),
    #[error("export: {0}")]
    Io(#[from] std::io::Error),
    #[error("export: csv: {0}")]
    Csv(#[from] csv::Error),
}

/// Writes `{dir}/{batch_name}.csv` and `{dir}/{batch_name}.pdf` (each written
/// to a temporary name first, then renamed, so a pickup job never sees half a file).
pub fn export_batch(
    letters: &[PrintLetter],
    dir: &Path,
    batch_name: &str,
) -> Result<ExportedBatch, ExportError> {
    let name_ok = !batch_name.is_empty()
        && !batch_name.starts_with('.')
        && batch_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !name_ok {
        return Err(ExportError::BatchName(batch_name.into()));
    }
    let mut rejected = Vec::new();
    let mut laid_out = Vec::new();
    for letter in letters {
        match validate(&letter.to) {
            Ok(()) => laid_out.push((letter, paginate(&wrap_text(&letter.text)))),
            Err(problems) => rejected.push((letter.message_id.clone(), problems)),
        }
    }
    let csv_path = dir.join(format!("{batch_name}.csv"));
    let pdf_path = dir.join(format!("{batch_name}.pdf"));
    write_csv(&csv_path, &laid_out)?;
    let (pdf, pages) = render_pdf(&laid_out, batch_name);
    let tmp = dir.join(format!("{batch_name}.pdf.tmp"));
    fs::write(&tmp, pdf)?;
    fs::rename(&tmp, &pdf_path)?;
    Ok(ExportedBatch {
        csv_path,
        pdf_path,
        letters: laid_out.len(),
        pages,
        rejected,
    })
}

type Page = Vec<Vec<u8>>;

fn write_csv(path: &Path, letters: &[(&PrintLetter, Vec<Page>)]) -> Result<(), ExportError> {
    let tmp = path.with_extension("csv.tmp");
    let mut w = csv::Writer::from_path(&tmp)?;
    w.write_record([
        "message_id",
        "name",
        "company",
        "line1",
        "line2",
        "postal_code",
        "city",
        "state",
        "country",
        "pages",
    ])?;
    for (l, pages) in letters {
        let a = &l.to;
        let count = pages.len().to_string();
        w.write_record([
            l.message_id.as_str(),
            &a.name,
            a.company.as_deref().unwrap_or(""),
            &a.line1,
            a.line2.as_deref().unwrap_or(""),
            &a.postal_code,
            &a.city,
            a.state.as_deref().unwrap_or(""),
            &a.country,
            &count,
        ])?;
    }
    w.flush()?;
    drop(w);
    fs::rename(&tmp, path)?;
    Ok(())
}

enum Item {
    Line(Vec<u8>),
    /// Between paragraphs: an empty line, dropped at the top of a page.
    Gap,
}

fn wrap_text(text: &str) -> Vec<Item> {
    let max = PAGE_W - 2.0 * MARGIN_X;
    let mut items = Vec::new();
    let mut in_paragraph = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            in_paragraph = false;
            continue;
        }
        if !in_paragraph && !items.is_empty() {
            items.push(Item::Gap);
        }
        in_paragraph = true;
        wrap_line(line, max, &mut items);
    }
    items
}

/// Greedy word wrap; a word wider than the line is cut where it overflows.
fn wrap_line(line: &str, max: f32, out: &mut Vec<Item>) {
    let fits = |s: &[u8]| width(s, BODY_SIZE) <= max;
    let mut current: Vec<u8> = Vec::new();
    for word in line.split_whitespace() {
        let word = encode(word);
        let mut candidate = current.clone();
        if !candidate.is_empty() {
            candidate.push(b' ');
        }
        candidate.extend_from_slice(&word);
        if fits(&candidate) {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            out.push(Item::Line(std::mem::take(&mut current)));
        }
        current = word;
        while !fits(&current) {
            let mut cut = current.len() - 1;
            while cut > 1 && !fits(&current[..cut]) {
                cut -= 1;
            }
            let rest = current.split_off(cut);
            out.push(Item::Line(std::mem::replace(&mut current, rest)));
        }
    }
    if !current.is_empty() {
        out.push(Item::Line(current));
    }
}

fn lines_between(top: f32) -> usize {
    ((PAGE_H - top - BODY_BOTTOM) / BODY_LEADING).floor() as usize
}

/// Splits the text into pages; a letter always has at least one page.
fn paginate(items: &[Item]) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut page: Page = Vec::new();
    let mut capacity = lines_between(BODY_TOP_FIRST);
    for item in items {
        match item {
            Item::Gap if page.is_empty() || page.len() >= capacity => {}
            Item::Gap => page.push(Vec::new()),
            Item::Line(l) => {
                if page.len() >= capacity {
                    pages.push(std::mem::take(&mut page));
                    capacity = lines_between(BODY_TOP_NEXT);
                }
                page.push(l.clone());
            }
        }
    }
    pages.push(page);
    pages
}

/// Writes a block of lines whose top edge is `top` (from the page top).
fn block(content: &mut Content, x: f32, top: f32, size: f32, leading: f32, lines: &[Vec<u8>]) {
    if lines.is_empty() {
        return;
    }
    content.begin_text();
    content.set_font(FONT, size);
    content.set_leading(leading);
    content.next_line(x, PAGE_H - top - size * ASCENT);
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            content.show(Str(line));
        } else {
            content.next_line_show(Str(line));
        }
    }
    content.end_text();
}

fn address_block(content: &mut Content, lines: &[Vec<u8>]) {
    let widest = lines.iter().map(|l| width(l, ADDRESS_SIZE)).fold(0.0, f32::max);
    let size = if widest > WINDOW_WIDTH {
        (ADDRESS_SIZE * WINDOW_WIDTH / widest).max(ADDRESS_MIN_SIZE)
    } else {
        ADDRESS_SIZE
    };
    block(content, WINDOW_LEFT, WINDOW_TOP, size, size * 1.2, lines);
}

fn encoded_block(addr: &PostalAddress, other_country: &str) -> Vec<Vec<u8>> {
    block_lines(addr, Some(other_country))
        .iter()
        .map(|(_, l)| encode(l))
        .collect()
}

/// The PDF bytes and its page count.
fn render_pdf(letters: &[(&PrintLetter, Vec<Page>)], batch_name: &str) -> (Vec<u8>, usize) {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let info = Ref::new(4);
    let mut next = 5;
    let mut alloc = || {
        next += 1;
        Ref::new(next - 1)
    };
    let mut kids = Vec::new();
    for (i, (letter, pages)) in letters.iter().enumerate() {
        let n = pages.len();
        for (k, lines) in pages.iter().enumerate() {
            let (page_id, content_id) = (alloc(), alloc());
            let mut content = Content::new();
            if k == 0 {
                block(
                    &mut content,
                    MARGIN_X,
                    SENDER_TOP,
                    SENDER_SIZE,
                    SENDER_SIZE * 1.2,
                    &encoded_block(&letter.from, &letter.to.country),
                );
                address_block(&mut content, &encoded_block(&letter.to, &letter.from.country));
            }
            let top = if k == 0 { BODY_TOP_FIRST } else { BODY_TOP_NEXT };
            block(&mut content, MARGIN_X, top, BODY_SIZE, BODY_LEADING, lines);
            let footer = encode(&format!("{} page {}/{}", letter.message_id, k + 1, n));
            content.begin_text();
            content.set_font(FONT, FOOTER_SIZE);
            content.next_line(MARGIN_X, FOOTER_Y);
            content.show(Str(&footer));
            content.end_text();
            pdf.stream(content_id, &content.finish());
            pdf.page(page_id).parent(tree).contents(content_id);
            kids.push(page_id);
        }
        if n % 2 == 1 && i + 1 < letters.len() {
            let blank = alloc();
            pdf.page(blank).parent(tree);
            kids.push(blank);
        }
    }
    let count = kids.len();
    pdf.catalog(catalog).pages(tree);
    let mut tree_writer = pdf.pages(tree);
    tree_writer.kids(kids).count(count as i32);
    tree_writer.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
    tree_writer.resources().fonts().pair(FONT, font);
    tree_writer.finish();
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(batch_name))
        .creator(TextStr("Relais"));
    (pdf.finish(), count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Line(l) => String::from_utf8_lossy(l).into_owned(),
                Item::Gap => String::new(),
            })
            .collect()
    }

    #[test]
    fn paragraphs_wrap_and_keep_line_breaks() {
        let long = "word ".repeat(60);
        let items = wrap_text(&format!("Madame,\n\n{long}\n\n\nBien à vous,\nJeanne"));
        let text = lines(&items);
        assert_eq!(text[0], "Madame,");
        assert_eq!(text[1], "");
        let wrapped: Vec<&String> = text.iter().skip(2).take_while(|l| !l.is_empty()).collect();
        assert!(wrapped.len() >= 2, "{text:?}");
        for l in &wrapped {
            assert!(width(l.as_bytes(), BODY_SIZE) <= PAGE_W - 2.0 * MARGIN_X);
        }
        assert_eq!(
            text[text.len() - 2..],
            ["Bien \u{FFFD} vous,".to_string(), "Jeanne".to_string()]
        );
    }

    #[test]
    fn overlong_words_are_cut() {
        let mut out = Vec::new();
        wrap_line(&"x".repeat(400), PAGE_W - 2.0 * MARGIN_X, &mut out);
        assert!(out.len() >= 3);
    }

    #[test]
    fn pages_break_and_gaps_vanish_at_the_top() {
        let first = lines_between(BODY_TOP_FIRST);
        let mut items: Vec<Item> = (0..first).map(|_| Item::Line(b"a".to_vec())).collect();
        items.push(Item::Gap);
        items.push(Item::Line(b"b".to_vec()));
        let pages = paginate(&items);
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].len(), first);
        assert_eq!(pages[1], vec![b"b".to_vec()]);
        assert_eq!(paginate(&[]).len(), 1);
    }
}
