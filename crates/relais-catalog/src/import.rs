//! Streaming readers for catalog, shop and stock files, in CSV or NDJSON.
//!
//! Each reader is an iterator of `Result<Row, RowError>`: one row at a time
//! is held in memory (a reused record buffer for CSV, one line for NDJSON),
//! so a file of millions of rows never has to fit in memory, and a bad row
//! is reported with its line and reason without stopping the others. Only a
//! bad CSV header (line 1) or a read error ends a file. The column lists
//! are in the crate documentation.

mod catalog;
mod shops;
mod stock;
#[cfg(test)]
mod tests;

pub use catalog::CatalogFormat;
pub use shops::ShopFormat;
pub use stock::StockFormat;

use crate::error::RowError;
use crate::stock::Mode;
use std::io::{BufRead, Read};

/// Longest NDJSON line accepted (a product with a long description is a
/// few KB; anything this size is a broken file, not a row).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Most row errors an [`ImportReport`] keeps (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// How rows of one kind are read from either format.
pub trait RowFormat {
    type Row;
    /// What the CSV header says about the columns.
    type Columns;
    fn columns(&self, header: &csv::StringRecord) -> Result<Self::Columns, String>;
    fn csv_row(&self, columns: &Self::Columns, record: &csv::StringRecord) -> Result<Self::Row, String>;
    fn json_row(&self, line: &str) -> Result<Self::Row, String>;
}

/// Rows of a CSV file (comma separated, double quotes, a header line;
/// cells are trimmed, an empty cell is an absent value).
pub struct CsvRows<R: Read, F: RowFormat> {
    reader: csv::Reader<R>,
    record: csv::StringRecord,
    columns: F::Columns,
    format: F,
    done: bool,
}

/// Reads the header at once: a bad header is an error at line 1.
pub fn csv_rows<R: Read, F: RowFormat>(input: R, format: F) -> Result<CsvRows<R, F>, RowError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let header = reader.headers().map_err(|e| RowError::new(1, csv_reason(&e)))?;
    let columns = format.columns(header).map_err(|r| RowError::new(1, r))?;
    Ok(CsvRows {
        reader,
        record: csv::StringRecord::new(),
        columns,
        format,
        done: false,
    })
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("has {len} fields, the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
        csv::ErrorKind::Io(io) => format!("read error: {io}"),
        _ => e.to_string(),
    }
}

impl<R: Read, F: RowFormat> CsvRows<R, F> {
    /// The line where the last row returned starts (a good row's line, for
    /// callers that refuse it later, e.g. a variant of an unknown product).
    pub fn line(&self) -> u64 {
        self.record.position().map_or(0, |p| p.line())
    }
}

impl<R: Read, F: RowFormat> Iterator for CsvRows<R, F> {
    type Item = Result<F::Row, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.reader.read_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line());
                Some(
                    self.format
                        .csv_row(&self.columns, &self.record)
                        .map_err(|r| RowError::new(line, r)),
                )
            }
            Err(e) => {
                // A malformed row is skipped; a failing reader ends the file.
                self.done = matches!(e.kind(), csv::ErrorKind::Io(_));
                let line = e
                    .position()
                    .map_or_else(|| self.reader.position().line(), |p| p.line());
                Some(Err(RowError::new(line, csv_reason(&e))))
            }
        }
    }
}

/// Rows of an NDJSON file: one JSON object a line; blank lines are skipped.
pub struct NdjsonRows<R: BufRead, F: RowFormat> {
    input: R,
    format: F,
    line: u64,
    buf: Vec<u8>,
    done: bool,
}

pub fn ndjson_rows<R: BufRead, F: RowFormat>(input: R, format: F) -> NdjsonRows<R, F> {
    NdjsonRows {
        input,
        format,
        line: 0,
        buf: Vec::new(),
        done: false,
    }
}

impl<R: BufRead, F: RowFormat> NdjsonRows<R, F> {
    /// The line of the last row returned.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Reads the next line into `buf`, at most [`MAX_LINE_BYTES`] of it:
    /// `Ok(false)` at the end, `Ok(true)` with `too_long` set if cut.
    fn read_line(&mut self) -> std::io::Result<Option<bool>> {
        self.buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        if (&mut self.input).take(limit).read_until(b'\n', &mut self.buf)? == 0 {
            return Ok(None);
        }
        let too_long = self.buf.len() > MAX_LINE_BYTES && !self.buf.ends_with(b"\n");
        if too_long {
            // Skip the rest of the line without holding it.
            let mut rest = Vec::new();
            loop {
                rest.clear();
                let n = (&mut self.input).take(limit).read_until(b'\n', &mut rest)?;
                if n == 0 || rest.ends_with(b"\n") {
                    break;
                }
            }
        }
        Ok(Some(too_long))
    }
}

impl<R: BufRead, F: RowFormat> Iterator for NdjsonRows<R, F> {
    type Item = Result<F::Row, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let too_long = match self.read_line() {
                Ok(None) => break,
                Ok(Some(too_long)) => too_long,
                Err(e) => {
                    self.done = true;
                    return Some(Err(RowError::new(self.line + 1, format!("read error: {e}"))));
                }
            };
            self.line += 1;
            if too_long {
                return Some(Err(RowError::new(
                    self.line,
                    format!("is longer than {MAX_LINE_BYTES} bytes"),
                )));
            }
            let mut bytes = self.buf.as_slice();
            if self.line == 1 {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            let Ok(text) = std::str::from_utf8(bytes) else {
                return Some(Err(RowError::new(self.line, "is not valid UTF-8")));
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            // serde would also read a struct from an array: say what is expected.
            if !text.starts_with('{') {
                return Some(Err(RowError::new(self.line, "is not a JSON object")));
            }
            return Some(
                self.format
                    .json_row(text)
                    .map_err(|r| RowError::new(self.line, r)),
            );
        }
        self.done = true;
        None
    }
}

/// A serde_json error in words, without "at line 1 column N" (every line is
/// line 1 to it); syntax errors keep their column, where it helps.
pub(crate) fn json_reason(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let msg = full.strip_suffix(&suffix).unwrap_or(&full);
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("invalid JSON at column {}: {msg}", e.column())
        }
        _ => msg.to_owned(),
    }
}

/// The outcome of an import, with the first [`MAX_REPORTED_ERRORS`] errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: u64,
    pub failed: u64,
    pub errors: Vec<RowError>,
}

impl ImportReport {
    pub fn ok(&mut self) {
        self.imported += 1;
    }

    pub fn error(&mut self, e: RowError) {
        self.failed += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(e);
        }
    }
}

/// Catalog items (products, and variants: rows with a `parent_id`).
pub fn catalog_csv<R: Read>(input: R) -> Result<CsvRows<R, CatalogFormat>, RowError> {
    csv_rows(input, CatalogFormat)
}

pub fn catalog_ndjson<R: BufRead>(input: R) -> NdjsonRows<R, CatalogFormat> {
    ndjson_rows(input, CatalogFormat)
}

pub fn shops_csv<R: Read>(input: R) -> Result<CsvRows<R, ShopFormat>, RowError> {
    csv_rows(input, ShopFormat)
}

pub fn shops_ndjson<R: BufRead>(input: R) -> NdjsonRows<R, ShopFormat> {
    ndjson_rows(input, ShopFormat)
}

/// Stock levels; `mode` applies to rows that do not name their own.
pub fn stock_csv<R: Read>(input: R, mode: Mode) -> Result<CsvRows<R, StockFormat>, RowError> {
    csv_rows(input, StockFormat { default_mode: mode })
}

pub fn stock_ndjson<R: BufRead>(input: R, mode: Mode) -> NdjsonRows<R, StockFormat> {
    ndjson_rows(input, StockFormat { default_mode: mode })
}
