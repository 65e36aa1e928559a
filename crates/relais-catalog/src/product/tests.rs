use super::*;
use crate::error::FieldError;
use serde_json::json;

fn sneaker() -> Value {
    json!({
        "id": "p1", "sku": "SNK-1", "name": " Runner ", "description": "Light.",
        "category": "Women > Shoes > Sneakers", "brand": "Relais",
        "price": 89.99, "sale_price": "69.90", "currency": "eur",
        "image_url": "https://cdn.example.com/p1.jpg", "url": "https://shop.example.com/p1",
        "availability": "in stock", "complements": ["p2", "p3", "p2"],
        "attributes": {"material": "mesh", "weight_g": 240}
    })
}

fn item(v: Value) -> Result<CatalogItem, FieldError> {
    read_item(serde_json::from_value(v).unwrap())
}

fn product_err(mut v: Value, key: &str, value: Value) -> String {
    v[key] = value;
    match item(v) {
        Err(e) => e.to_string(),
        Ok(x) => panic!("accepted: {x:?}"),
    }
}

#[test]
fn reads_a_product_exactly() {
    let CatalogItem::Product(p) = item(sneaker()).unwrap() else {
        panic!("not a product")
    };
    assert_eq!(p.id.as_str(), "p1");
    assert_eq!(p.name, "Runner");
    assert_eq!(p.category, ["Women", "Shoes", "Sneakers"]);
    assert_eq!(p.category_path(), "Women > Shoes > Sneakers");
    assert_eq!(
        (p.currency.code(), p.price, p.sale_price),
        ("EUR", 8999, Some(6990))
    );
    assert_eq!(p.effective_price(), 6990);
    assert_eq!(p.availability, Availability::InStock);
    assert_eq!(
        p.complements,
        [ProductId::new("p2").unwrap(), ProductId::new("p3").unwrap()]
    );
    assert_eq!(p.attributes["weight_g"], json!(240));
    assert_eq!(p.own_sku(), "SNK-1");
    // JSON out, and back in equal; amounts print as written.
    let out = serde_json::to_value(&p).unwrap();
    assert_eq!(out["price"], json!(89.99));
    assert_eq!(out["sale_price"], json!(69.9));
    assert_eq!(out["category"], json!(["Women", "Shoes", "Sneakers"]));
    assert_eq!(serde_json::from_value::<Product>(out).unwrap(), p);
}

#[test]
fn product_errors_name_the_field_and_the_reason() {
    let p = sneaker;
    assert_eq!(product_err(p(), "id", Value::Null), "id: is required");
    assert_eq!(product_err(p(), "name", json!("  ")), "name: is required");
    assert_eq!(product_err(p(), "price", Value::Null), "price: is required");
    assert_eq!(
        product_err(p(), "price", json!("89,99")),
        "price: '89,99' is not a decimal number (write '.' as the decimal separator)"
    );
    assert_eq!(
        product_err(p(), "price", json!(true)),
        "price: must be a number or a decimal string"
    );
    assert_eq!(
        product_err(p(), "sale_price", json!(99)),
        "sale_price: 99.00 is above price 89.99"
    );
    assert_eq!(
        product_err(p(), "sale_price", json!(1.005)),
        "sale_price: '1.005' has more decimals than EUR allows (2)"
    );
    assert_eq!(
        product_err(p(), "currency", json!("EURO")),
        "currency: 'EURO' is not a three-letter ISO 4217 code"
    );
    assert_eq!(
        product_err(p(), "currency", Value::Null),
        "currency: is required with price"
    );
    assert_eq!(
        product_err(p(), "category", json!("Women >> Shoes")),
        "category: 'Women >> Shoes' has an empty level"
    );
    assert_eq!(
        product_err(p(), "category", json!(["Women", "A>B"])),
        "category[1]: 'A>B' contains '>' (the level separator)"
    );
    assert_eq!(
        product_err(p(), "category", json!(["Women", 3])),
        "category[1]: must be a string"
    );
    assert_eq!(
        product_err(p(), "url", json!("shop.example.com/p1")),
        "url: 'shop.example.com/p1' is not an http(s) URL"
    );
    assert_eq!(
        product_err(p(), "image_url", json!("https:///x.jpg")),
        "image_url: 'https:///x.jpg' has no host"
    );
    assert_eq!(
        product_err(p(), "availability", json!("backorder")),
        "availability: 'backorder' is not one of in_stock, out_of_stock, preorder, discontinued"
    );
    assert_eq!(
        product_err(p(), "complements", json!(["p2", "p1"])),
        "complements[1]: is the product itself"
    );
    assert_eq!(
        product_err(p(), "complements", json!(["p 2 "])),
        "complements[0]: 'p 2 ' has surrounding spaces"
    );
    assert_eq!(
        product_err(p(), "attributes", json!({"": 1})),
        "attributes: '' is an empty name"
    );
    assert_eq!(product_err(p(), "sku", json!("")), "sku: is empty");
    let unknown = serde_json::from_value::<Product>(json!({"id": "p1", "prise": 3}));
    assert!(unknown
        .unwrap_err()
        .to_string()
        .starts_with("unknown field `prise`"));
}

#[test]
fn reads_variants_and_refuses_product_fields_on_them() {
    let v = json!({"parent_id": "p1", "id": "SNK-1-42", "attributes": {"size": "42"}, "sale_price": "59", "currency": "EUR"});
    let CatalogItem::Variant(v) = item(v).unwrap() else {
        panic!("not a variant")
    };
    assert_eq!((v.sku.as_str(), v.product_id.as_str()), ("SNK-1-42", "p1"));
    assert_eq!((v.price, v.sale_price), (None, Some(5900)));
    assert_eq!(v.availability, None);
    let out = serde_json::to_value(&v).unwrap();
    assert_eq!(out["parent_id"], "p1");
    assert_eq!(out["sku"], "SNK-1-42");
    assert_eq!(serde_json::from_value::<Variant>(out).unwrap(), v);

    let err = |v: Value| item(v).unwrap_err().to_string();
    assert_eq!(
        err(json!({"parent_id": "p1", "sku": "s", "category": "Women"})),
        "category: is a product field: set it on product 'p1', not on its variant"
    );
    assert_eq!(
        err(json!({"parent_id": "p1"})),
        "sku: is required for a variant (or its id)"
    );
    assert_eq!(
        err(json!({"parent_id": "p1", "sku": "s", "price": 10})),
        "currency: is required with price"
    );
    assert_eq!(
        err(json!({"parent_id": "p1", "sku": "s", "price": 10, "sale_price": 11, "currency": "EUR"})),
        "sale_price: 11.00 is above price 10.00"
    );
    assert_eq!(err(json!({"parent_id": "", "sku": "s"})), "parent_id: is empty");
    let not_variant = serde_json::from_value::<Variant>(json!({"sku": "s"}));
    assert!(not_variant
        .unwrap_err()
        .to_string()
        .starts_with("parent_id: is required for a variant"));
}

#[test]
fn zero_decimal_currencies_print_integers() {
    let mut v = sneaker();
    v["currency"] = json!("JPY");
    v["price"] = json!(12000);
    v["sale_price"] = json!("9800");
    let CatalogItem::Product(p) = item(v).unwrap() else {
        panic!()
    };
    assert_eq!((p.price, p.sale_price), (12000, Some(9800)));
    let out = serde_json::to_string(&p).unwrap();
    assert!(
        out.contains("\"price\":12000,") && out.contains("\"sale_price\":9800,"),
        "{out}"
    );
}
