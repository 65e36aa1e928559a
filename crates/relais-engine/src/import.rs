//! `relais import`: NDJSON exports and CSV files into the event log.
//!
//! Good lines are kept, bad lines reported with their number and reason.
//! Every line gets a deterministic message id when it has none (derived
//! from the file's fingerprint and the line number), and progress is saved
//! beside the file after each committed batch: an interrupted import
//! resumes where it stopped, and re-running a finished one adds nothing.

use relais_core::message::{parse_event, Limits};
use relais_core::{time::now_ms, WorkspaceId};
use relais_store::{DynStore, Source};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// How CSV columns become a Segment event.
#[derive(Debug, Clone, Default)]
pub struct CsvMapping {
    /// Message type of every row (default `track`).
    pub kind: Option<String>,
    /// Event name of every row (track), unless a column maps to `event`.
    pub event: Option<String>,
    /// Column → JSON path (`userId`, `properties.revenue`, `context.traits.email`) and type.
    pub columns: Vec<ColumnMap>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMap {
    pub column: String,
    pub path: Vec<String>,
    pub ty: ValueType,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueType {
    String,
    Number,
    Bool,
}

impl ColumnMap {
    /// Parses `column=path[:type]`, e.g. `total=properties.revenue:number`.
    pub fn parse(spec: &str) -> Result<ColumnMap, String> {
        let (column, rest) = spec
            .split_once('=')
            .ok_or_else(|| format!("mapping {spec:?} must look like column=path[:type]"))?;
        let (path, ty) = match rest.rsplit_once(':') {
            Some((p, "number")) => (p, ValueType::Number),
            Some((p, "bool")) => (p, ValueType::Bool),
            Some((p, "string")) => (p, ValueType::String),
            Some((_, t)) => {
                return Err(format!(
                    "mapping {spec:?}: unknown type {t:?} (string, number, bool)"
                ))
            }
            None => (rest, ValueType::String),
        };
        let path: Vec<String> = path.split('.').map(str::to_owned).collect();
        if column.is_empty() || path.iter().any(String::is_empty) {
            return Err(format!("mapping {spec:?} has an empty column or path segment"));
        }
        Ok(ColumnMap {
            column: column.to_owned(),
            path,
            ty,
        })
    }
}

#[derive(Debug, Clone)]
pub enum Format {
    Ndjson,
    Csv(CsvMapping),
}

impl Format {
    /// NDJSON unless the file name says CSV.
    pub fn guess(path: &Path, mapping: CsvMapping) -> Format {
        let name = path.to_string_lossy().to_lowercase();
        if name.ends_with(".csv") {
            Format::Csv(mapping)
        } else {
            Format::Ndjson
        }
    }
}

pub struct ImportOptions {
    pub path: PathBuf,
    pub format: Format,
    pub workspace: WorkspaceId,
    pub source: Source,
    pub batch_size: usize,
    pub limits: Limits,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub lines: u64,
    pub imported: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// The first rejected lines: (line number, reason).
    pub errors: Vec<(u64, String)>,
    /// Line the import resumed after (0 for a fresh start).
    pub resumed_after_line: u64,
}

const MAX_REPORTED_ERRORS: usize = 100;

/// Saved beside the file: `<file>.relais-import`.
#[derive(Debug, Serialize, Deserialize)]
struct Progress {
    fingerprint: String,
    offset: u64,
    line: u64,
}

fn progress_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".relais-import");
    PathBuf::from(p)
}

/// The file's identity: its size and the hash of its first 64 KiB.
fn fingerprint(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut head = vec![0; 64 * 1024];
    let n = f.read(&mut head)?;
    let digest = Sha256::digest(&head[..n]);
    Ok(format!("{len:x}-{}", hex::encode(&digest[..8])))
}

/// Runs an import; `progress(bytes_done, total_bytes)` is called per batch.
pub async fn run(
    store: &DynStore,
    opts: &ImportOptions,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<ImportReport> {
    let fp = fingerprint(&opts.path)?;
    let total = std::fs::metadata(&opts.path)?.len();
    let saved = progress_path(&opts.path);
    let resume = std::fs::read(&saved)
        .ok()
        .and_then(|b| serde_json::from_slice::<Progress>(&b).ok())
        .filter(|p| p.fingerprint == fp);
    let mut file = File::open(&opts.path)?;
    let mut report = ImportReport::default();
    let (mut offset, mut line_no) = (0, 0);
    if let Some(p) = &resume {
        file.seek(SeekFrom::Start(p.offset))?;
        (offset, line_no) = (p.offset, p.line);
        report.resumed_after_line = p.line;
    }
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut csv_header: Option<Vec<String>> = None;
    if let (Format::Csv(_), Some(_)) = (&opts.format, &resume) {
        // The header is line 1; re-read it from the start of the file.
        let mut first = String::new();
        BufReader::new(File::open(&opts.path)?).read_line(&mut first)?;
        csv_header = Some(split_csv_record(&first)?);
    }
    let mut batch = Vec::with_capacity(opts.batch_size);
    let mut buf = String::new();
    loop {
        buf.clear();
        let n = reader.read_line(&mut buf)?;
        let eof = n == 0;
        if !eof {
            offset += n as u64;
            line_no += 1;
            let line = buf.trim_end_matches(['\n', '\r']);
            if !line.trim().is_empty() {
                report.lines += 1;
                let event = match &opts.format {
                    Format::Ndjson => Ok(line.to_owned()),
                    Format::Csv(mapping) => match &csv_header {
                        None => {
                            csv_header = Some(split_csv_record(line)?);
                            report.lines -= 1;
                            continue;
                        }
                        Some(header) => csv_row_to_event(header, line, mapping),
                    },
                };
                let parsed = event.and_then(|json| {
                    parse_event(&json, Some(line_no as usize), now_ms(), &opts.limits)
                        .map_err(|e| e.message)
                        .map(|mut ev| {
                            ev.message_id
                                .get_or_insert_with(|| format!("import-{fp}-{line_no}"));
                            ev
                        })
                });
                match parsed {
                    Ok(ev) => batch.push(ev),
                    Err(reason) => {
                        report.rejected += 1;
                        if report.errors.len() < MAX_REPORTED_ERRORS {
                            report.errors.push((line_no, reason));
                        }
                    }
                }
            }
        }
        if batch.len() >= opts.batch_size || (eof && !batch.is_empty()) {
            let events =
                crate::ingest::to_log_events(opts.workspace, &opts.source, std::mem::take(&mut batch));
            let outcome = crate::ingest::append_with_retry(store, &events).await?;
            report.imported += outcome.inserted as u64;
            report.duplicates += outcome.duplicates as u64;
            let p = Progress {
                fingerprint: fp.clone(),
                offset,
                line: line_no,
            };
            std::fs::write(&saved, serde_json::to_vec(&p)?)?;
            progress(offset, total);
        }
        if eof {
            break;
        }
    }
    progress(total, total);
    let _ = std::fs::remove_file(&saved);
    Ok(report)
}

/// One CSV record (RFC 4180 quoting) on one line.
fn split_csv_record(line: &str) -> anyhow::Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    let rec = rdr
        .records()
        .next()
        .transpose()?
        .ok_or_else(|| anyhow::anyhow!("empty CSV header"))?;
    Ok(rec.iter().map(|s| s.trim().to_owned()).collect())
}

fn csv_row_to_event(header: &[String], line: &str, m: &CsvMapping) -> Result<String, String> {
    let fields = split_csv_record(line).map_err(|e| format!("not a CSV record: {e}"))?;
    if fields.len() != header.len() {
        return Err(format!(
            "{} fields, the header has {}",
            fields.len(),
            header.len()
        ));
    }
    let mut obj = Value::Object(Map::new());
    set(
        &mut obj,
        &["type".into()],
        Value::String(m.kind.clone().unwrap_or_else(|| "track".into())),
    );
    if let Some(e) = &m.event {
        set(&mut obj, &["event".into()], Value::String(e.clone()));
    }
    for c in &m.columns {
        let i = header
            .iter()
            .position(|h| *h == c.column)
            .ok_or_else(|| format!("the mapped column {:?} is not in the header", c.column))?;
        let raw = fields[i].trim();
        if raw.is_empty() {
            continue;
        }
        let v = match c.ty {
            ValueType::String => Value::String(raw.to_owned()),
            ValueType::Number => raw
                .parse::<f64>()
                .ok()
                .and_then(|f| {
                    if f.fract() == 0.0 && f.abs() < 9e15 {
                        Some(Value::from(f as i64))
                    } else {
                        serde_json::Number::from_f64(f).map(Value::Number)
                    }
                })
                .ok_or_else(|| format!("column {:?}: {raw:?} is not a number", c.column))?,
            ValueType::Bool => match raw.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "y" => Value::Bool(true),
                "false" | "0" | "no" | "n" => Value::Bool(false),
                _ => return Err(format!("column {:?}: {raw:?} is not a boolean", c.column)),
            },
        };
        set(&mut obj, &c.path, v);
    }
    Ok(obj.to_string())
}

fn set(obj: &mut Value, path: &[String], v: Value) {
    let mut cur = obj;
    for (i, seg) in path.iter().enumerate() {
        let map = match cur {
            Value::Object(m) => m,
            _ => return,
        };
        if i == path.len() - 1 {
            map.insert(seg.clone(), v);
            return;
        }
        cur = map
            .entry(seg.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_map_to_events() {
        let header: Vec<String> = ["date", "card", "total", "store"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = CsvMapping {
            kind: None,
            event: Some("Order Completed".into()),
            columns: [
                "date=timestamp",
                "card=context.traits.loyalty_id",
                "total=properties.revenue:number",
                "store=properties.store_id",
            ]
            .iter()
            .map(|s| ColumnMap::parse(s).unwrap())
            .collect(),
        };
        let ev = csv_row_to_event(&header, r#"2026-01-02T10:00:00Z,L-42,"12.5",Lyon 1"#, &m).unwrap();
        let v: Value = serde_json::from_str(&ev).unwrap();
        assert_eq!(v["type"], "track");
        assert_eq!(v["context"]["traits"]["loyalty_id"], "L-42");
        assert_eq!(v["properties"]["revenue"], 12.5);
        assert_eq!(v["properties"]["store_id"], "Lyon 1");
        let err = csv_row_to_event(&header, "2026-01-02,L-1,abc,x", &m).unwrap_err();
        assert!(err.contains("not a number"), "{err}");
        assert!(csv_row_to_event(&header, "a,b", &m)
            .unwrap_err()
            .contains("2 fields"));
    }

    #[tokio::test]
    async fn an_interrupted_import_resumes_after_the_last_committed_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store: DynStore =
            std::sync::Arc::new(relais_store::sqlite::SqliteStore::open(&dir.path().join("r.db")).unwrap());
        let creds = crate::admin::create_workspace(&store, "w", None, None)
            .await
            .unwrap();
        let path = dir.path().join("events.ndjson");
        let lines: Vec<String> = (0..5)
            .map(|i| format!(r#"{{"type":"track","userId":"u","event":"E{i}"}}"#))
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        // As if a first run had committed the first two lines and then died.
        let offset = lines[0].len() + lines[1].len() + 2;
        let saved = Progress {
            fingerprint: fingerprint(&path).unwrap(),
            offset: offset as u64,
            line: 2,
        };
        std::fs::write(progress_path(&path), serde_json::to_vec(&saved).unwrap()).unwrap();
        let opts = ImportOptions {
            path: path.clone(),
            format: Format::Ndjson,
            workspace: creds.workspace.id,
            source: creds.source.clone(),
            batch_size: 2,
            limits: Limits::default(),
        };
        let report = run(&store, &opts, |_, _| {}).await.unwrap();
        assert_eq!(
            (report.resumed_after_line, report.lines, report.imported),
            (2, 3, 3)
        );
        let log = store.read_log(0, 10).await.unwrap();
        let ids: Vec<_> = log
            .iter()
            .map(|e| e.event.message_id.rsplit('-').next().unwrap().to_owned())
            .collect();
        assert_eq!(ids, ["3", "4", "5"], "message ids carry the line numbers");
        assert!(
            !progress_path(&path).exists(),
            "a finished import leaves no progress file"
        );
        // A full re-run from scratch adds only the two lines that were skipped.
        let report = run(&store, &opts, |_, _| {}).await.unwrap();
        assert_eq!((report.imported, report.duplicates), (2, 3));
    }

    #[test]
    fn mapping_specs() {
        assert_eq!(
            ColumnMap::parse("a=properties.x:bool").unwrap().ty,
            ValueType::Bool
        );
        assert!(ColumnMap::parse("a").is_err());
        assert!(ColumnMap::parse("a=b:date").is_err());
        assert!(ColumnMap::parse("a=b..c").is_err());
    }
}
