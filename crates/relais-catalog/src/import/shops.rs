//! Shop rows: the same flat names in CSV and NDJSON.

use super::catalog::check_names;
use super::{json_reason, RowFormat};
use crate::shop::{Shop, ShopWire};
use serde_json::Value;

/// Reads [`Shop`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShopFormat;

const COLUMNS: [&str; 12] = [
    "id",
    "name",
    "street",
    "city",
    "postal_code",
    "region",
    "country",
    "latitude",
    "longitude",
    "time_zone",
    "hours",
    "services",
];

impl RowFormat for ShopFormat {
    type Row = Shop;
    /// Index of each column's name in the list of known columns.
    type Columns = Vec<usize>;

    fn columns(&self, header: &csv::StringRecord) -> Result<Vec<usize>, String> {
        let names = check_names(header, |n| COLUMNS.contains(&n), "")?;
        if !names.contains(&"id") {
            return Err("needs an id column".into());
        }
        Ok(names
            .iter()
            .filter_map(|n| COLUMNS.iter().position(|c| c == n))
            .collect())
    }

    fn csv_row(&self, columns: &Vec<usize>, record: &csv::StringRecord) -> Result<Shop, String> {
        let mut w = ShopWire::default();
        for (&col, cell) in columns.iter().zip(record.iter()) {
            if cell.is_empty() {
                continue;
            }
            let text = Some(cell.to_owned());
            match COLUMNS[col] {
                "id" => w.id = text,
                "name" => w.name = text,
                "street" => w.street = text,
                "city" => w.city = text,
                "postal_code" => w.postal_code = text,
                "region" => w.region = text,
                "country" => w.country = text,
                "latitude" => w.latitude = Some(Value::String(cell.to_owned())),
                "longitude" => w.longitude = Some(Value::String(cell.to_owned())),
                "time_zone" => w.time_zone = text,
                "hours" => w.hours = text,
                _ => w.services = cell.split('|').map(|s| s.trim().to_owned()).collect(),
            }
        }
        Shop::try_from(w).map_err(|e| e.to_string())
    }

    fn json_row(&self, line: &str) -> Result<Shop, String> {
        let w: ShopWire = serde_json::from_str(line).map_err(|e| json_reason(&e))?;
        Shop::try_from(w).map_err(|e| e.to_string())
    }
}
