//! Stock rows: `store_id,sku,quantity[,mode]`.

use super::catalog::check_names;
use super::{json_reason, RowFormat};
use crate::error::FieldError;
use crate::ids::check_id;
use crate::stock::{Mode, StockUpdate};
use serde::Deserialize;

/// Reads [`StockUpdate`]s; rows without a `mode` take `default_mode`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StockFormat {
    pub default_mode: Mode,
}

/// Where each column is.
#[derive(Debug, Clone, Copy)]
pub struct StockColumns {
    store: usize,
    sku: usize,
    quantity: usize,
    mode: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StockWire {
    store_id: String,
    sku: String,
    quantity: i64,
    #[serde(default)]
    mode: Option<String>,
}

impl StockFormat {
    fn update(
        &self,
        store: &str,
        sku: &str,
        quantity: i64,
        mode: Option<&str>,
    ) -> Result<StockUpdate, String> {
        check_id(store).map_err(|r| FieldError::new("store_id", r).to_string())?;
        check_id(sku).map_err(|r| FieldError::new("sku", r).to_string())?;
        let mode = match mode {
            None | Some("") => self.default_mode,
            Some(m) => Mode::parse(m).map_err(|r| FieldError::new("mode", r).to_string())?,
        };
        Ok(StockUpdate {
            location: store.to_owned(),
            sku: sku.to_owned(),
            quantity: StockUpdate::check_quantity(quantity, mode).map_err(|e| e.to_string())?,
            mode,
        })
    }
}

impl RowFormat for StockFormat {
    type Row = StockUpdate;
    type Columns = StockColumns;

    fn columns(&self, header: &csv::StringRecord) -> Result<StockColumns, String> {
        let names = check_names(
            header,
            |n| ["store_id", "sku", "quantity", "mode"].contains(&n),
            "",
        )?;
        let at = |name: &str| names.iter().position(|n| *n == name);
        let need = |name: &str| at(name).ok_or_else(|| format!("missing column '{name}'"));
        Ok(StockColumns {
            store: need("store_id")?,
            sku: need("sku")?,
            quantity: need("quantity")?,
            mode: at("mode"),
        })
    }

    fn csv_row(&self, c: &StockColumns, record: &csv::StringRecord) -> Result<StockUpdate, String> {
        let cell = |i: usize| record.get(i).unwrap_or("");
        let q = cell(c.quantity);
        let quantity: i64 = match q.parse() {
            Ok(n) => n,
            Err(_) if q.is_empty() => return Err("quantity: is required".into()),
            Err(_) => return Err(format!("quantity: '{q}' is not a whole number")),
        };
        self.update(cell(c.store), cell(c.sku), quantity, c.mode.map(cell))
    }

    fn json_row(&self, line: &str) -> Result<StockUpdate, String> {
        let w: StockWire = serde_json::from_str(line).map_err(|e| json_reason(&e))?;
        self.update(&w.store_id, &w.sku, w.quantity, w.mode.as_deref())
    }
}
