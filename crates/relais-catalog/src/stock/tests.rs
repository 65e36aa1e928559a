use super::*;

fn signals(c: Option<StockChange>) -> Vec<(Signal, Scope)> {
    c.map(|c| c.signals.iter().collect()).unwrap_or_default()
}

#[test]
fn first_levels_are_a_baseline_and_later_ones_move() {
    let mut b = StockBook::default();
    let c = b.apply("paris", "tee-s", 5, Mode::Set).unwrap().unwrap();
    assert_eq!((c.before, c.after, c.online), (None, 5, false));
    assert!(c.signals.is_empty(), "loading stock announces nothing");
    assert_eq!(
        b.apply("paris", "tee-s", 5, Mode::Set).unwrap(),
        None,
        "unchanged"
    );
    assert_eq!(b.apply("paris", "tee-s", 0, Mode::Delta).unwrap(), None);
    let c = b.apply("paris", "tee-s", -2, Mode::Delta).unwrap().unwrap();
    assert_eq!((c.before, c.after), (Some(5), 3));
    assert_eq!(
        signals(Some(c)),
        [(Signal::LowStock, Scope::Location)],
        "5 → 3 with threshold 3"
    );
    assert_eq!(
        signals(b.apply("paris", "tee-s", -1, Mode::Delta).unwrap()),
        [],
        "3 → 2 stays low"
    );
    assert_eq!(
        signals(b.apply("paris", "tee-s", -5, Mode::Delta).unwrap()),
        [
            (Signal::OutOfStock, Scope::Location),
            (Signal::OutOfStock, Scope::Anywhere)
        ]
    );
    assert_eq!(b.level("paris", "tee-s"), Some(-3), "oversold: negative is kept");
    assert_eq!(
        signals(b.apply("paris", "tee-s", 2, Mode::Delta).unwrap()),
        [],
        "-3 → -1 is still no stock"
    );
    assert_eq!(
        signals(b.apply("paris", "tee-s", 10, Mode::Set).unwrap()),
        [
            (Signal::BackInStock, Scope::Location),
            (Signal::BackInStock, Scope::Anywhere)
        ]
    );
    assert_eq!(
        b.summary("tee-s"),
        Some(SkuStock {
            online_units: 0,
            shops_in_stock: 1
        })
    );
}

#[test]
fn anywhere_and_online_follow_the_network() {
    let mut b = StockBook::default();
    b.apply("lyon", "mug", 0, Mode::Set).unwrap();
    // A new shop's first level is its baseline, but the SKU was known and
    // out of stock everywhere: it is back in stock somewhere.
    assert_eq!(
        signals(b.apply("lille", "mug", 4, Mode::Set).unwrap()),
        [(Signal::BackInStock, Scope::Anywhere)]
    );
    let first_online = b.apply("online", "mug", 0, Mode::Set).unwrap().unwrap();
    assert!(first_online.online && first_online.signals.is_empty());
    assert_eq!(
        signals(b.apply("online", "mug", 12, Mode::Delta).unwrap()),
        [
            (Signal::BackInStock, Scope::Location),
            (Signal::BackInStock, Scope::Online)
        ],
        "already in stock in Lille, so not back anywhere"
    );
    assert_eq!(
        b.summary("mug"),
        Some(SkuStock {
            online_units: 12,
            shops_in_stock: 1
        })
    );
    assert_eq!(
        signals(b.apply("lille", "mug", 0, Mode::Set).unwrap()),
        [(Signal::OutOfStock, Scope::Location)],
        "still online"
    );
    b.set_low_stock("mug", Some(10)).unwrap();
    assert_eq!(
        signals(b.apply("online", "mug", -2, Mode::Delta).unwrap()),
        [
            (Signal::LowStock, Scope::Location),
            (Signal::LowStock, Scope::Online)
        ]
    );
    assert_eq!(
        signals(b.apply("online", "mug", 0, Mode::Set).unwrap()),
        [
            (Signal::OutOfStock, Scope::Location),
            (Signal::OutOfStock, Scope::Online),
            (Signal::OutOfStock, Scope::Anywhere)
        ]
    );
    let mug = b.sku_key("mug").unwrap();
    assert_eq!(b.low_stock_threshold(mug), 10);
    assert!(b.known_online(mug));
    assert_eq!(b.shops_in_stock(mug).count(), 0);
}

#[test]
fn several_online_locations_add_up() {
    let mut b = StockBook::new(StockConfig {
        low_stock: 2,
        online_locations: vec!["wh-north".into(), "wh-south".into()],
    });
    b.apply("wh-north", "cap", 3, Mode::Set).unwrap();
    b.apply("wh-south", "cap", 0, Mode::Set).unwrap();
    b.apply("shop-1", "cap", 7, Mode::Set).unwrap();
    assert_eq!(
        b.summary("cap"),
        Some(SkuStock {
            online_units: 3,
            shops_in_stock: 1
        })
    );
    // North empties while south fills: online stays available throughout.
    let south = signals(b.apply("wh-south", "cap", 5, Mode::Set).unwrap());
    assert_eq!(south, [(Signal::BackInStock, Scope::Location)]);
    let north = signals(b.apply("wh-north", "cap", 0, Mode::Set).unwrap());
    assert_eq!(north, [(Signal::OutOfStock, Scope::Location)]);
    assert_eq!(b.summary("cap").unwrap().online_units, 5);
    let shop = b.sku_key("cap").map(|k| {
        b.shops_in_stock(k)
            .map(|(l, q)| (b.location_id(l).to_owned(), q))
            .collect::<Vec<_>>()
    });
    assert_eq!(shop, Some(vec![("shop-1".to_owned(), 7)]));
}

#[test]
fn quantities_and_ids_are_checked() {
    assert_eq!(StockUpdate::check_quantity(5, Mode::Set), Ok(5));
    assert_eq!(StockUpdate::check_quantity(-5, Mode::Delta), Ok(-5));
    assert_eq!(
        StockUpdate::check_quantity(-5, Mode::Set)
            .unwrap_err()
            .to_string(),
        "quantity: -5 is negative (a level to set; use mode=delta to remove units)"
    );
    assert_eq!(
        StockUpdate::check_quantity(1 << 40, Mode::Delta)
            .unwrap_err()
            .to_string(),
        "quantity: 1099511627776 is out of range"
    );
    let mut b = StockBook::default();
    assert_eq!(
        b.apply("", "x", 1, Mode::Set).unwrap_err().to_string(),
        "store_id: is empty"
    );
    assert_eq!(
        b.apply("s", "a|b", 1, Mode::Set).unwrap_err().to_string(),
        "sku: 'a|b' contains '|' (the list separator)"
    );
    b.apply("s", "x", i32::MAX, Mode::Set).unwrap();
    assert_eq!(
        b.apply("s", "x", 5, Mode::Delta).unwrap(),
        None,
        "saturates at the top"
    );
    assert_eq!(Mode::parse(" Delta "), Ok(Mode::Delta));
    assert_eq!(Mode::parse("add").unwrap_err(), "'add' is not one of set, delta");
}

#[test]
fn aggregates_match_a_recount_after_random_updates() {
    let mut rng = crate::rng::Rng::new(99);
    let mut b = StockBook::default();
    for _ in 0..20_000 {
        let loc = ["online", "a", "b", "c", "d"][rng.below(5) as usize];
        let sku = format!("s{}", rng.below(40));
        let mode = if rng.below(2) == 0 { Mode::Set } else { Mode::Delta };
        let q = rng.below(9) as i32 - if mode == Mode::Delta { 4 } else { 0 };
        b.apply(loc, &sku, q, mode).unwrap();
    }
    for i in 0..b.sku_count() as u32 {
        let k = SkuKey(i);
        let levels: Vec<(LocationKey, i32)> = b.levels(k).collect();
        let online: i64 = levels
            .iter()
            .filter(|(l, _)| b.is_online(*l))
            .map(|(_, q)| i64::from((*q).max(0)))
            .sum();
        let shops = levels.iter().filter(|(l, q)| !b.is_online(*l) && *q > 0).count() as u32;
        assert_eq!(
            b.summary_keys(k),
            SkuStock {
                online_units: online,
                shops_in_stock: shops
            }
        );
        assert!(levels.windows(2).all(|w| w[0].0 < w[1].0), "sorted by location");
    }
    assert!(b.level_count() <= 5 * 40);
}
