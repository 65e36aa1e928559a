use super::*;
use crate::geo::distance_km;
use crate::import::shops_csv;
use crate::price::DropRule;
use crate::rng::Rng;
use crate::stock::Mode;
use serde_json::json;

const SHOPS: &str = "\
id,name,city,country,latitude,longitude,time_zone,services
paris,Châtelet,Paris,FR,48.8584,2.3470,Europe/Paris,click_and_collect|returns
lyon,Part-Dieu,Lyon,FR,45.7606,4.8593,Europe/Paris,returns
lille,Grand Place,Lille,FR,50.6369,3.0635,Europe/Paris,click_and_collect
";

fn directory() -> ShopDirectory {
    ShopDirectory::new(shops_csv(SHOPS.as_bytes()).unwrap().map(Result::unwrap))
}

fn catalog() -> Catalog {
    let mut c = Catalog::new(DropRule::default());
    let sneaker = json!({"id": "sneaker", "name": "Runner", "price": 90, "currency": "EUR"});
    c.upsert_product(serde_json::from_value(sneaker).unwrap())
        .unwrap();
    for sku in ["sneaker-38", "sneaker-39"] {
        let v = json!({"parent_id": "sneaker", "sku": sku});
        c.upsert_variant(serde_json::from_value(v).unwrap()).unwrap();
    }
    let mug = json!({"id": "mug", "name": "Mug", "price": 8, "currency": "EUR", "availability": "preorder"});
    c.upsert_product(serde_json::from_value(mug).unwrap()).unwrap();
    c
}

fn versailles() -> GeoPoint {
    GeoPoint::new(48.8049, 2.1204).unwrap()
}

fn found(hits: &[NearbyShop<'_>]) -> Vec<(String, f64, i64)> {
    hits.iter()
        .map(|h| {
            (
                h.shop.id.to_string(),
                (h.distance_km * 100.0).round() / 100.0,
                h.units,
            )
        })
        .collect()
}

#[test]
fn from_versailles_to_the_nearest_shop_with_stock() {
    let shops = directory();
    let mut book = StockBook::default();
    for (shop, q) in [("paris", 2), ("lyon", 5), ("lille", 1)] {
        book.apply(shop, "sneaker-38", q, Mode::Set).unwrap();
    }
    let near = |book: &StockBook, km: f64| {
        found(&shops.nearest_with_stock(book, &["sneaker-38"], versailles(), 1, km))
    };
    // Distances hand-checked in geo/tests.rs: Paris 17.62 km, Lille 214.69 km, Lyon 396.52 km.
    assert_eq!(near(&book, 50.0), [("paris".into(), 17.62, 2)]);
    book.apply("paris", "sneaker-38", -2, Mode::Delta).unwrap();
    assert_eq!(
        near(&book, 1000.0),
        [("lille".into(), 214.69, 1)],
        "Paris is out of stock"
    );
    assert_eq!(near(&book, 100.0), [], "nothing within 100 km");
    book.apply("lille", "sneaker-38", 0, Mode::Set).unwrap();
    assert_eq!(near(&book, 1000.0), [("lyon".into(), 396.52, 5)]);
    assert_eq!(near(&book, 396.0), []);
    // Any variant of the product counts, and the units add up per shop.
    let c = catalog();
    book.apply("lille", "sneaker-39", 3, Mode::Set).unwrap();
    book.apply("lyon", "sneaker-39", 1, Mode::Set).unwrap();
    let all = shops.nearest_with_product(&c, &book, "sneaker", versailles(), 5, f64::INFINITY);
    assert_eq!(
        found(&all),
        [("lille".into(), 214.69, 3), ("lyon".into(), 396.52, 6)]
    );
    assert!(shops
        .nearest_with_product(&c, &book, "mug", versailles(), 5, f64::INFINITY)
        .is_empty());
    assert!(shops
        .nearest_with_stock(&book, &["unknown"], versailles(), 5, f64::INFINITY)
        .is_empty());
    // Online stock is not a shop.
    book.apply("online", "sneaker-38", 50, Mode::Set).unwrap();
    assert_eq!(near(&book, 100.0), []);
}

#[test]
fn nearest_shop_with_a_service() {
    let shops = directory();
    let hits = shops.nearest(versailles(), 1, 1000.0, |s| {
        s.offers(crate::shop::Service::Returns) && s.id.as_str() != "paris"
    });
    assert_eq!(found(&hits), [("lyon".into(), 396.52, 0)]);
}

#[test]
fn nearest_with_stock_is_exact_on_both_paths() {
    let mut rng = Rng::new(5);
    let shops: Vec<Shop> = (0..400)
        .map(|i| {
            let s = json!({
                "id": format!("s{i}"), "name": "S", "time_zone": "Europe/Paris",
                "latitude": rng.range_f64(42.5, 51.0), "longitude": rng.range_f64(-4.5, 8.0)
            });
            serde_json::from_value(s).unwrap()
        })
        .collect();
    let dir = ShopDirectory::new(shops);
    let mut book = StockBook::default();
    // SKU i is stocked in about i % 10 tenths of the shops: some in a handful
    // (measured directly), most in more than 64 (the band walk).
    for sku in 0..20u64 {
        let share = (sku % 10) as f64 / 10.0 + 0.01;
        for shop in dir.shops() {
            if rng.f64() < share {
                let q = rng.below(4) as i32 - 1;
                book.apply(shop.id.as_str(), &format!("k{sku}"), q, Mode::Set)
                    .unwrap();
            }
        }
    }
    for _ in 0..300 {
        let from = GeoPoint::new(rng.range_f64(42.0, 51.5), rng.range_f64(-5.0, 8.5)).unwrap();
        let skus = [format!("k{}", rng.below(20)), format!("k{}", rng.below(20))];
        let asked: Vec<&str> = skus[..1 + rng.below(2) as usize]
            .iter()
            .map(String::as_str)
            .collect();
        let k = 1 + rng.below(3) as usize;
        let km = [30.0, 150.0, 2000.0][rng.below(3) as usize];
        let got = dir.nearest_with_stock(&book, &asked, from, k, km);
        let units = |s: &Shop| -> i64 {
            asked
                .iter()
                .filter_map(|x| book.level(s.id.as_str(), x))
                .map(|q| i64::from(q.max(0)))
                .sum()
        };
        let mut want: Vec<(usize, f64)> = dir
            .shops()
            .iter()
            .enumerate()
            .filter(|(_, s)| units(s) > 0)
            .map(|(i, s)| (i, distance_km(from, s.location)))
            .filter(|&(_, d)| d <= km)
            .collect();
        want.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        want.truncate(k);
        let got_ids: Vec<&str> = got.iter().map(|h| h.shop.id.as_str()).collect();
        let want_ids: Vec<&str> = want.iter().map(|&(i, _)| dir.shops()[i].id.as_str()).collect();
        assert_eq!(got_ids, want_ids, "{asked:?} k={k} km={km}");
        assert!(got.iter().all(|h| h.units == units(h.shop) && h.units > 0));
    }
}

#[test]
fn where_to_search_from() {
    let shops = directory();
    let fix = Fix {
        point: versailles(),
        at: 1_000,
    };
    let w = Whereabouts {
        home_shop: Some(ShopId::new("lille").unwrap()),
        last_location: Some(fix),
    };
    let hour = 3_600_000;
    assert_eq!(
        shops.origin(&w, 1_000 + hour, hour),
        Some((versailles(), OriginKind::LastLocation))
    );
    let lille = shops.get("lille").unwrap().location;
    assert_eq!(
        shops.origin(&w, 2_000 + hour, hour),
        Some((lille, OriginKind::HomeShop))
    );
    let nowhere = Whereabouts {
        home_shop: Some(ShopId::new("gone").unwrap()),
        last_location: Some(fix),
    };
    assert_eq!(
        shops.origin(&nowhere, 10 * hour, hour),
        Some((versailles(), OriginKind::StaleLocation))
    );
    assert_eq!(shops.origin(&Whereabouts::default(), 0, hour), None);
}

#[test]
fn availability_online_and_in_shops() {
    let c = catalog();
    let mut book = StockBook::default();
    let a = availability(&c, &book, "sneaker").unwrap();
    assert!(
        a.online && a.online_units.is_none() && a.shops.is_empty(),
        "untracked: the catalog decides"
    );
    book.apply("online", "sneaker-38", 0, Mode::Set).unwrap();
    book.apply("lyon", "sneaker-38", 2, Mode::Set).unwrap();
    book.apply("lyon", "sneaker-39", 1, Mode::Set).unwrap();
    book.apply("paris", "sneaker-39", 4, Mode::Set).unwrap();
    book.apply("lille", "sneaker-39", 0, Mode::Set).unwrap();
    let a = availability(&c, &book, "sneaker").unwrap();
    assert_eq!((a.online, a.online_units), (false, Some(0)));
    assert_eq!(a.shops, [("lyon", 3), ("paris", 4)]);
    book.apply("online", "sneaker-39", 7, Mode::Set).unwrap();
    let a = availability(&c, &book, "sneaker").unwrap();
    assert_eq!((a.online, a.online_units), (true, Some(7)));
    let mug = availability(&c, &book, "mug").unwrap();
    assert_eq!((mug.catalog, mug.online), (Availability::Preorder, true));
    assert!(availability(&c, &book, "hat").is_none());
}
