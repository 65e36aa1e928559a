//! Catalog rows: the columns of the product/variant CSV and the NDJSON
//! object, both read into the one wire shape that validation knows.

use super::{json_reason, RowFormat};
use crate::product::{read_item, CatalogItem, ItemWire};
use serde_json::Value;

/// Reads [`CatalogItem`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogFormat;

#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Id,
    ParentId,
    Sku,
    Name,
    Description,
    Category,
    Brand,
    Price,
    SalePrice,
    Currency,
    ImageUrl,
    Url,
    Availability,
    Complements,
    /// `attr.<name>`: a custom attribute, read as a string.
    Attribute(String),
}

const NAMED: [(&str, Column); 14] = [
    ("id", Column::Id),
    ("parent_id", Column::ParentId),
    ("sku", Column::Sku),
    ("name", Column::Name),
    ("description", Column::Description),
    ("category", Column::Category),
    ("brand", Column::Brand),
    ("price", Column::Price),
    ("sale_price", Column::SalePrice),
    ("currency", Column::Currency),
    ("image_url", Column::ImageUrl),
    ("url", Column::Url),
    ("availability", Column::Availability),
    ("complements", Column::Complements),
];

/// Checks a header's names: known, unique, not empty. Shared by the
/// other formats through `known`.
pub(super) fn check_names<'h>(
    header: &'h csv::StringRecord,
    mut known: impl FnMut(&str) -> bool,
    hint: &str,
) -> Result<Vec<&'h str>, String> {
    let names: Vec<&str> = header.iter().collect();
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(format!("column {} has no name", i + 1));
        }
        if names[..i].contains(name) {
            return Err(format!("column '{name}' appears twice"));
        }
        if !known(name) {
            return Err(format!("unknown column '{name}'{hint}"));
        }
    }
    Ok(names)
}

impl RowFormat for CatalogFormat {
    type Row = CatalogItem;
    type Columns = Vec<Column>;

    fn columns(&self, header: &csv::StringRecord) -> Result<Vec<Column>, String> {
        let column = |n: &str| match n.strip_prefix("attr.") {
            Some(a) => (!a.is_empty()).then(|| Column::Attribute(a.to_owned())),
            None => NAMED.iter().find(|(k, _)| *k == n).map(|(_, c)| c.clone()),
        };
        let names = check_names(
            header,
            |n| column(n).is_some(),
            " (custom attributes are written attr.<name>)",
        )?;
        if !names.iter().any(|n| *n == "id" || *n == "sku") {
            return Err("needs an id column (or sku, for a file of variants)".into());
        }
        // Every name was just recognised.
        Ok(names.into_iter().filter_map(column).collect())
    }

    fn csv_row(&self, columns: &Vec<Column>, record: &csv::StringRecord) -> Result<CatalogItem, String> {
        let mut w = ItemWire::default();
        for (col, cell) in columns.iter().zip(record.iter()) {
            if cell.is_empty() {
                continue;
            }
            let text = || Some(cell.to_owned());
            match col {
                Column::Id => w.id = text(),
                Column::ParentId => w.parent_id = text(),
                Column::Sku => w.sku = text(),
                Column::Name => w.name = text(),
                Column::Description => w.description = text(),
                Column::Category => w.category = Some(Value::String(cell.to_owned())),
                Column::Brand => w.brand = text(),
                Column::Price => w.price = Some(Value::String(cell.to_owned())),
                Column::SalePrice => w.sale_price = Some(Value::String(cell.to_owned())),
                Column::Currency => w.currency = text(),
                Column::ImageUrl => w.image_url = text(),
                Column::Url => w.url = text(),
                Column::Availability => w.availability = text(),
                Column::Complements => {
                    let items: Vec<String> = cell.split('|').map(|c| c.trim().to_owned()).collect();
                    if items.iter().any(String::is_empty) {
                        return Err(format!("complements: '{cell}' has an empty item"));
                    }
                    w.complements = items;
                }
                Column::Attribute(name) => {
                    w.attributes.insert(name.clone(), Value::String(cell.to_owned()));
                }
            }
        }
        read_item(w).map_err(|e| e.to_string())
    }

    fn json_row(&self, line: &str) -> Result<CatalogItem, String> {
        let w: ItemWire = serde_json::from_str(line).map_err(|e| json_reason(&e))?;
        read_item(w).map_err(|e| e.to_string())
    }
}
