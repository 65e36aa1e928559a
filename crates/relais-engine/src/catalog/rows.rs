//! Rows of catalog items, shops or stock updates from a JSON array, an
//! NDJSON file or a CSV file, each with where it came from (its index or
//! line), so that a row refused later is reported where the client wrote it.
//! Files stream: one row at a time is read (see `relais_catalog::import`).

use relais_catalog::import::{
    csv_rows, ndjson_rows, CatalogFormat, CsvRows, NdjsonRows, RowFormat, ShopFormat, StockFormat,
};
use relais_catalog::product::CatalogItem;
use relais_catalog::shop::Shop;
use relais_catalog::stock::{Mode, StockUpdate};
use relais_core::{Error, ErrorCode};
use serde::Serialize;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// What a file or request holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Products,
    Shops,
    Stock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON array of objects (the API's default).
    Json,
    Ndjson,
    Csv,
}

impl Format {
    /// From a request's `Content-Type` (parameters such as `charset` ignored).
    pub fn from_content_type(ct: &str) -> Option<Format> {
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match mime.as_str() {
            "application/json" => Some(Format::Json),
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonlines" => Some(Format::Ndjson),
            "text/csv" | "application/csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// From a file name: `.csv`, `.ndjson` / `.jsonl`, `.json`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Where a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// Position in a JSON array, from 0.
    Index(usize),
    /// Line of a file, from 1.
    Line(u64),
}

/// One row, read or refused.
#[derive(Debug, Clone)]
pub struct Row<T> {
    pub at: At,
    pub value: Result<T, String>,
}

/// The rows of one file or request, by kind.
pub enum RowStream<'r> {
    Items(Box<dyn Iterator<Item = Row<CatalogItem>> + Send + 'r>),
    Shops(Box<dyn Iterator<Item = Row<Shop>> + Send + 'r>),
    Stock(Box<dyn Iterator<Item = Row<StockUpdate>> + Send + 'r>),
}

/// Opens `input` as rows of `kind`; `mode` applies to stock rows that do
/// not name theirs. A CSV header that cannot be used, or a JSON body that
/// is not an array, is an error for the whole input.
pub fn open<'r, R: Read + Send + 'r>(
    kind: Kind,
    format: Format,
    mode: Mode,
    input: R,
) -> Result<RowStream<'r>, Error> {
    Ok(match kind {
        Kind::Products => RowStream::Items(stream(format, CatalogFormat, input)?),
        Kind::Shops => RowStream::Shops(stream(format, ShopFormat, input)?),
        Kind::Stock => RowStream::Stock(stream(format, StockFormat { default_mode: mode }, input)?),
    })
}

type Rows<'r, T> = Box<dyn Iterator<Item = Row<T>> + Send + 'r>;

fn stream<'r, F, R>(format: Format, f: F, input: R) -> Result<Rows<'r, F::Row>, Error>
where
    F: RowFormat + Send + 'r,
    F::Row: 'r,
    F::Columns: Send,
    R: Read + Send + 'r,
{
    Ok(match format {
        Format::Json => Box::new(json_array(f, input)?),
        Format::Ndjson => Box::new(Lined::Ndjson(ndjson_rows(BufReader::new(input), f))),
        Format::Csv => {
            let rows = csv_rows(input, f).map_err(|e| Error::new(ErrorCode::InvalidBody, e.to_string()))?;
            Box::new(Lined::Csv(rows))
        }
    })
}

/// A JSON array read whole (bodies are bounded), each element a row.
fn json_array<'r, F: RowFormat + Send + 'r, R: Read>(
    f: F,
    mut input: R,
) -> Result<impl Iterator<Item = Row<F::Row>> + Send + 'r, Error>
where
    F::Row: 'r,
{
    let mut text = Vec::new();
    input
        .read_to_end(&mut text)
        .map_err(|e| Error::new(ErrorCode::InvalidBody, format!("read error: {e}")))?;
    let values: Vec<Value> = match serde_json::from_slice(&text) {
        Ok(Value::Array(values)) => values,
        Ok(_) => {
            return Err(Error::new(
                ErrorCode::InvalidBody,
                "the body is not a JSON array (send [{…}, …], or NDJSON / CSV with their Content-Type)",
            ))
        }
        Err(e) => {
            return Err(Error::new(
                ErrorCode::InvalidJson,
                format!("the body is not JSON: {e}"),
            ))
        }
    };
    Ok(values.into_iter().enumerate().map(move |(i, v)| Row {
        at: At::Index(i),
        value: match v.is_object() {
            true => f.json_row(&v.to_string()),
            false => Err("is not a JSON object".to_owned()),
        },
    }))
}

/// File rows with their lines.
enum Lined<R: Read, F: RowFormat> {
    Csv(CsvRows<R, F>),
    Ndjson(NdjsonRows<BufReader<R>, F>),
}

impl<R: Read, F: RowFormat> Iterator for Lined<R, F>
where
    BufReader<R>: BufRead,
{
    type Item = Row<F::Row>;

    fn next(&mut self) -> Option<Row<F::Row>> {
        let (read, line) = match self {
            Lined::Csv(rows) => {
                let r = rows.next()?;
                (r, rows.line())
            }
            Lined::Ndjson(rows) => {
                let r = rows.next()?;
                (r, rows.line())
            }
        };
        Some(match read {
            Ok(v) => Row {
                at: At::Line(line),
                value: Ok(v),
            },
            Err(e) => Row {
                at: At::Line(e.line),
                value: Err(e.reason),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: RowStream<'_>) -> Vec<(At, Result<(), String>)> {
        match s {
            RowStream::Items(rows) => rows.map(|r| (r.at, r.value.map(drop))).collect(),
            RowStream::Shops(rows) => rows.map(|r| (r.at, r.value.map(drop))).collect(),
            RowStream::Stock(rows) => rows.map(|r| (r.at, r.value.map(drop))).collect(),
        }
    }

    #[test]
    fn rows_carry_their_index_or_line() {
        let csv = "store_id,sku,quantity\nparis,a,3\nparis,b,-1\n\"lyon\",a,\"x\ny\"\nlyon,b,1\n";
        let got = lines(open(Kind::Stock, Format::Csv, Mode::Set, csv.as_bytes()).unwrap());
        assert_eq!(got[0], (At::Line(2), Ok(())));
        assert_eq!(got[1].0, At::Line(3), "a negative level to set");
        assert!(got[1].1.as_ref().unwrap_err().contains("negative"));
        assert_eq!(
            got[2],
            (At::Line(4), Err("quantity: 'x\ny' is not a whole number".into()))
        );
        assert_eq!(got[3], (At::Line(6), Ok(())), "after a cell over two lines");
        let deltas = open(Kind::Stock, Format::Csv, Mode::Delta, csv.as_bytes()).unwrap();
        assert_eq!(lines(deltas)[1], (At::Line(3), Ok(())));

        let json = r#"[{"store_id":"s","sku":"a","quantity":1}, 3, {"store_id":"s","sku":"a"}]"#;
        let got = lines(open(Kind::Stock, Format::Json, Mode::Set, json.as_bytes()).unwrap());
        assert_eq!(got[0], (At::Index(0), Ok(())));
        assert_eq!(got[1], (At::Index(1), Err("is not a JSON object".into())));
        assert_eq!(got[2], (At::Index(2), Err("missing field `quantity`".into())));

        let err = open(Kind::Products, Format::Json, Mode::Set, &b"{}"[..])
            .err()
            .unwrap();
        assert_eq!(err.code, ErrorCode::InvalidBody);
        let err = open(Kind::Products, Format::Csv, Mode::Set, &b"id,prce\n"[..])
            .err()
            .unwrap();
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                ErrorCode::InvalidBody,
                "line 1: unknown column 'prce' (custom attributes are written attr.<name>)"
            )
        );
        assert_eq!(
            Format::from_content_type("text/csv; charset=utf-8"),
            Some(Format::Csv)
        );
        assert_eq!(
            Format::from_content_type("application/x-ndjson"),
            Some(Format::Ndjson)
        );
        assert_eq!(Format::from_content_type("text/plain"), None);
    }
}
