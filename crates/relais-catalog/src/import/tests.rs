use super::*;
use crate::product::{Availability, CatalogItem};
use crate::stock::StockUpdate;

fn errors<T>(rows: impl Iterator<Item = Result<T, RowError>>) -> (usize, Vec<String>) {
    let mut ok = 0;
    let mut errs = Vec::new();
    for r in rows {
        match r {
            Ok(_) => ok += 1,
            Err(e) => errs.push(e.to_string()),
        }
    }
    (ok, errs)
}

const CATALOG_CSV: &str = "\
id,parent_id,sku,name,description,category,brand,price,sale_price,currency,availability,complements,attr.material
p1,,,Runner,\"Light,
breathable\",Women > Shoes > Sneakers,Relais,89.99,69.90,EUR,in stock,p2|p3,mesh
,p1,p1-38,,,,,,,,,,
p2,,,Socks,,Women > Socks,,\"7,50\",,EUR,,,
p3,,,Laces,,,,3,,EUR,back order,,
,p1,p1-39,,,Women,,,,,,,
p4,,,Cap,,,,12,15,EUR,,,
p5,,,Bag,,,,30,,EUR,,p5,
p6,,,Belt,,,,30,,EUR,,a||b,
p7,,,Scarf,,,,30,,
p8,,,Hat,,,,30,,DOL,,,
";

#[test]
fn catalog_csv_reports_bad_rows_with_line_and_reason() {
    let rows: Vec<Result<CatalogItem, RowError>> = catalog_csv(CATALOG_CSV.as_bytes()).unwrap().collect();
    let CatalogItem::Product(p1) = rows[0].as_ref().unwrap() else {
        panic!("{:?}", rows[0])
    };
    assert_eq!(p1.description.as_deref(), Some("Light,\nbreathable"));
    assert_eq!(p1.category, ["Women", "Shoes", "Sneakers"]);
    assert_eq!((p1.price, p1.sale_price), (8999, Some(6990)));
    assert_eq!(p1.complements.len(), 2);
    assert_eq!(p1.attributes["material"], "mesh");
    assert_eq!(p1.availability, Availability::InStock);
    let CatalogItem::Variant(v) = rows[1].as_ref().unwrap() else {
        panic!("{:?}", rows[1])
    };
    assert_eq!((v.sku.as_str(), v.product_id.as_str()), ("p1-38", "p1"));
    let (ok, errs) = errors(rows.into_iter());
    assert_eq!(ok, 2);
    // The quoted description spans lines 2-3, so the variant is on line 4.
    assert_eq!(
        errs,
        [
            "line 5: price: '7,50' is not a decimal number (write '.' as the decimal separator)",
            "line 6: availability: 'back order' is not one of in_stock, out_of_stock, preorder, discontinued",
            "line 7: category: is a product field: set it on product 'p1', not on its variant",
            "line 8: sale_price: 15.00 is above price 12.00",
            "line 9: complements[0]: is the product itself",
            "line 10: complements: 'a||b' has an empty item",
            "line 11: has 10 fields, the header has 13",
            "line 12: currency: 'DOL' is not an ISO 4217 currency",
        ]
    );
}

#[test]
fn catalog_csv_headers_are_checked_first() {
    let header = |h: &str| {
        catalog_csv(format!("{h}\n").as_bytes())
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(
        header("id,name,colour"),
        Some("line 1: unknown column 'colour' (custom attributes are written attr.<name>)".into())
    );
    assert_eq!(
        header("id,name,name"),
        Some("line 1: column 'name' appears twice".into())
    );
    assert_eq!(header("id,,name"), Some("line 1: column 2 has no name".into()));
    assert_eq!(
        header("name,price"),
        Some("line 1: needs an id column (or sku, for a file of variants)".into())
    );
    assert_eq!(
        header("id,attr."),
        Some("line 1: unknown column 'attr.' (custom attributes are written attr.<name>)".into())
    );
    assert_eq!(
        header("\u{feff}id,name"),
        None,
        "a byte-order mark is not part of the first name"
    );
    assert_eq!(header("id,name,attr.colour"), None);
}

#[test]
fn catalog_ndjson_reports_bad_lines() {
    let input = "\u{feff}{\"id\":\"p1\",\"name\":\"Runner\",\"price\":89.99,\"currency\":\"EUR\"}\n\
        \n\
        {\"id\":\"p2\",\"name\":\"Socks\",\"price\":7.5,\"currency\":\"EUR\",\"colour\":\"red\"}\n\
        {\"id\":\"p3\",\"name\":\"Laces\" \"price\":3}\n\
        {\"parent_id\":\"p1\",\"sku\":\"p1-38\",\"attributes\":{\"size\":\"38\"}}\r\n\
        [1,2]\n\
        {\"id\":\"p4\",\"name\":\"Cap\",\"price\":-1,\"currency\":\"EUR\"}\n\
        {\"id\":\"p5\",\"name\":\"Bag\",\"price\":30,\"currency\":\"EUR\"";
    let (ok, errs) = errors(catalog_ndjson(input.as_bytes()));
    assert_eq!(ok, 2);
    assert_eq!(errs.len(), 5, "{errs:?}");
    assert!(
        errs[0].starts_with("line 3: unknown field `colour`, expected one of"),
        "{}",
        errs[0]
    );
    assert_eq!(errs[1], "line 4: invalid JSON at column 27: expected `,` or `}`");
    assert_eq!(errs[2], "line 6: is not a JSON object");
    assert_eq!(errs[3], "line 7: price: '-1' is negative");
    assert_eq!(
        errs[4],
        "line 8: invalid JSON at column 51: EOF while parsing an object"
    );
}

#[test]
fn overlong_and_non_utf8_lines_are_skipped_not_fatal() {
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"id\":\"p1\",\"name\":\"");
    input.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
    input.extend_from_slice(b"\",\"price\":1,\"currency\":\"EUR\"}\n");
    input.extend_from_slice(b"{\"id\":\"p\xff\"}\n");
    input.extend_from_slice(b"{\"id\":\"p2\",\"name\":\"ok\",\"price\":1,\"currency\":\"EUR\"}\n");
    let (ok, errs) = errors(catalog_ndjson(input.as_slice()));
    assert_eq!(ok, 1);
    assert_eq!(
        errs,
        [
            format!("line 1: is longer than {MAX_LINE_BYTES} bytes"),
            "line 2: is not valid UTF-8".into()
        ]
    );
}

#[test]
fn shops_in_csv_and_ndjson() {
    let csv = "\
id,name,city,country,latitude,longitude,time_zone,hours,services
paris-chatelet,Châtelet,Paris,FR,48.8584,2.3470,Europe/Paris,Mo-Sa 10:00-20:00,click_and_collect|returns
lyon-part-dieu,Part-Dieu,Lyon,FR,45.7606,4.8593,Europe/Paris,,returns
lille,Grand Place,Lille,FR,150.6369,3.0635,Europe/Paris,,
nantes,Nantes,Nantes,FR,47.21,-1.55,Europe/Nantes,,
";
    let rows: Vec<_> = shops_csv(csv.as_bytes()).unwrap().collect();
    let paris = rows[0].as_ref().unwrap();
    assert_eq!(paris.services.len(), 2);
    assert!(paris.hours.is_some());
    assert!(rows[1].as_ref().unwrap().hours.is_none());
    let (ok, errs) = errors(rows.into_iter());
    assert_eq!(ok, 2);
    assert_eq!(
        errs,
        [
            "line 4: latitude: 150.6369 is not within -90..90",
            "line 5: time_zone: 'Europe/Nantes' is not a known IANA time zone"
        ]
    );
    assert_eq!(
        shops_csv("id,name,lat\n".as_bytes()).err().map(|e| e.to_string()),
        Some("line 1: unknown column 'lat'".into())
    );
    let nd = "{\"id\":\"s1\",\"name\":\"S\",\"latitude\":1,\"longitude\":2,\"time_zone\":\"UTC\"}\n{\"id\":\"s2\",\"name\":\"S\",\"latitude\":1,\"time_zone\":\"UTC\"}\n";
    let (ok, errs) = errors(shops_ndjson(nd.as_bytes()));
    assert_eq!((ok, errs), (1, vec!["line 2: longitude: is required".to_owned()]));
}

#[test]
fn stock_rows_take_the_file_mode_unless_they_name_one() {
    let csv = "store_id,sku,quantity,mode\nparis,tee-s,5,\nparis,tee-s,-2,delta\nlyon,tee-s,-1,\nlyon,tee-s,1.5,\nlyon,,1,\nlyon,x,1,add\n";
    let rows: Vec<_> = stock_csv(csv.as_bytes(), Mode::Set).unwrap().collect();
    let upd = |i: usize| rows[i].as_ref().ok().cloned();
    let u = |loc: &str, q: i32, mode: Mode| {
        Some(StockUpdate {
            location: loc.into(),
            sku: "tee-s".into(),
            quantity: q,
            mode,
        })
    };
    assert_eq!(upd(0), u("paris", 5, Mode::Set));
    assert_eq!(upd(1), u("paris", -2, Mode::Delta));
    let (ok, errs) = errors(rows.into_iter());
    assert_eq!(ok, 2);
    assert_eq!(
        errs,
        [
            "line 4: quantity: -1 is negative (a level to set; use mode=delta to remove units)",
            "line 5: quantity: '1.5' is not a whole number",
            "line 6: sku: is empty",
            "line 7: mode: 'add' is not one of set, delta",
        ]
    );
    let deltas: Vec<_> = stock_csv("sku,store_id,quantity\na,s,-3\n".as_bytes(), Mode::Delta)
        .unwrap()
        .collect();
    assert_eq!(deltas[0].as_ref().unwrap().quantity, -3);
    assert_eq!(
        stock_csv("store_id,sku\n".as_bytes(), Mode::Set)
            .err()
            .map(|e| e.to_string()),
        Some("line 1: missing column 'quantity'".into())
    );
    let nd = "{\"store_id\":\"s\",\"sku\":\"a\",\"quantity\":-1}\n{\"store_id\":\"s\",\"sku\":\"a\",\"quantity\":2,\"mode\":\"set\"}\n{\"store_id\":\"s\",\"sku\":\"a\",\"quantity\":\"2\"}\n";
    let (ok, errs) = errors(stock_ndjson(nd.as_bytes(), Mode::Delta));
    assert_eq!(
        (ok, errs),
        (
            2,
            vec!["line 3: invalid type: string \"2\", expected i64".to_owned()]
        )
    );
}

/// A source that writes a CSV as it is read, never whole in memory.
struct Generated {
    rows: u64,
    next: u64,
    pending: Vec<u8>,
}

impl std::io::Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pending.is_empty() {
            if self.next > self.rows {
                return Ok(0);
            }
            self.pending = if self.next == 0 {
                b"store_id,sku,quantity\n".to_vec()
            } else {
                format!("shop-{},sku-{},{}\n", self.next % 1000, self.next, self.next % 7).into_bytes()
            };
            self.next += 1;
        }
        let n = out.len().min(self.pending.len());
        out[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

#[test]
fn a_large_file_streams_row_by_row() {
    let source = Generated {
        rows: 200_000,
        next: 0,
        pending: Vec::new(),
    };
    let mut report = ImportReport::default();
    for row in stock_csv(source, Mode::Set).unwrap() {
        match row {
            Ok(_) => report.ok(),
            Err(e) => report.error(e),
        }
    }
    assert_eq!((report.imported, report.failed), (200_000, 0));
}

#[test]
fn the_report_keeps_the_first_errors_and_counts_all() {
    let mut r = ImportReport::default();
    for i in 0..(MAX_REPORTED_ERRORS as u64 + 5) {
        r.error(RowError::new(i + 2, "bad"));
    }
    assert_eq!(
        (r.failed, r.errors.len()),
        (MAX_REPORTED_ERRORS as u64 + 5, MAX_REPORTED_ERRORS)
    );
}

#[test]
fn good_rows_tell_their_line() {
    let mut csv = catalog_csv(CATALOG_CSV.as_bytes()).unwrap();
    let mut lines = Vec::new();
    while let Some(r) = csv.next() {
        lines.push((r.is_ok(), csv.line()));
    }
    // p1 spans lines 2-3 (a quoted newline); its variant is on line 4.
    assert_eq!(&lines[..3], [(true, 2), (true, 4), (false, 5)]);
    let text = "\n{\"store_id\":\"s\",\"sku\":\"a\",\"quantity\":1}\n\n\n{\"store_id\":\"s\",\"sku\":\"b\",\"quantity\":2}";
    let mut nd = stock_ndjson(text.as_bytes(), crate::stock::Mode::Set);
    let mut lines = Vec::new();
    while let Some(r) = nd.next() {
        lines.push((r.unwrap().sku, nd.line()));
    }
    assert_eq!(lines, [("a".to_owned(), 2), ("b".to_owned(), 5)]);
}
