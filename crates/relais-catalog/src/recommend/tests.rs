use super::*;
use crate::price::DropRule;
use crate::stock::Mode;
use serde_json::json;
use std::collections::HashMap;

/// Eight orders, by hand (N = 8):
///
/// | # | products               | at (day) |
/// |---|------------------------|----------|
/// | 1 | phone, case, screen    | 1 |
/// | 2 | phone, case            | 2 |
/// | 3 | phone, case, charger   | 3 |
/// | 4 | phone, charger         | 4 |
/// | 5 | case, screen           | 5 |
/// | 6 | earbuds                | 6 |
/// | 7 | phone, case, screen    | 7 |
/// | 8 | charger, earbuds       | 40 (outside the popularity window) |
///
/// n(phone) = 5 (1,2,3,4,7), n(case) = 5 (1,2,3,5,7), n(screen) = 3 (1,5,7),
/// n(charger) = 3 (3,4,8), n(earbuds) = 2 (6,8).
/// Pairs: phone+case 4 (1,2,3,7), case+screen 3 (1,5,7), phone+screen 2
/// (1,7), phone+charger 2 (3,4), case+charger 1 (3), charger+earbuds 1 (8).
///
/// - phone+case: support 4/8 = 0.5, confidence 4/5 = 0.8 both ways,
///   lift 4·8/(5·5) = 32/25 = 1.28.
/// - case+screen: support 3/8 = 0.375, case→screen 3/5 = 0.6,
///   screen→case 3/3 = 1, lift 3·8/(5·3) = 1.6.
/// - phone+screen and phone+charger: support 2/8 = 0.25, phone→x 2/5 = 0.4,
///   x→phone 2/3, lift 2·8/(5·3) = 16/15 ≈ 1.067.
/// - case+charger and charger+earbuds: one order each, below min_orders 2.
const ORDERS: [(&[&str], i64); 8] = [
    (&["phone", "case", "screen"], 1),
    (&["phone", "case"], 2),
    (&["phone", "case", "charger"], 3),
    (&["phone", "charger"], 4),
    (&["case", "screen"], 5),
    (&["earbuds"], 6),
    (&["phone", "case", "screen"], 7),
    (&["charger", "earbuds"], 40),
];

const DAY: i64 = 86_400_000;

fn model(params: &TogetherParams) -> CoPurchase {
    let mut b = CoPurchaseBuilder::new();
    for (items, _) in ORDERS {
        b.add_order(items.iter().copied());
    }
    b.build(params)
}

fn companions(m: &CoPurchase, p: &str) -> Vec<String> {
    m.together(p).map(|a| a.with.to_owned()).collect()
}

#[test]
fn support_confidence_and_lift_by_hand() {
    let m = model(&TogetherParams::default());
    assert_eq!(m.orders(), 8);
    assert_eq!(
        (
            m.orders_with("phone"),
            m.orders_with("earbuds"),
            m.orders_with("hat")
        ),
        (5, 2, 0)
    );
    let pc = m.between("phone", "case").unwrap();
    assert_eq!(
        (pc.orders, pc.support, pc.confidence, pc.lift),
        (4, 0.5, 0.8, 1.28)
    );
    let cs = m.between("case", "screen").unwrap();
    assert_eq!(
        (cs.orders, cs.support, cs.confidence, cs.lift),
        (3, 0.375, 0.6, 1.6)
    );
    let sc = m.between("screen", "case").unwrap();
    assert_eq!((sc.confidence, sc.lift), (1.0, 1.6));
    let ps = m.between("phone", "screen").unwrap();
    assert_eq!(
        (ps.orders, ps.support, ps.confidence, ps.lift),
        (2, 0.25, 0.4, 16.0 / 15.0)
    );
    assert_eq!(m.between("screen", "phone").unwrap().confidence, 2.0 / 3.0);
    assert_eq!(
        m.between("case", "charger"),
        None,
        "one order is below min_orders"
    );
    // Best first: by confidence (the pair count, for one product), then lift,
    // then name (charger and screen tie on both).
    assert_eq!(companions(&m, "phone"), ["case", "charger", "screen"]);
    assert_eq!(companions(&m, "case"), ["phone", "screen"]);
    assert_eq!(companions(&m, "screen"), ["case", "phone"]);
    assert_eq!(companions(&m, "charger"), ["phone"]);
    assert!(companions(&m, "earbuds").is_empty());
    assert_eq!(m.len(), 8, "four pairs, both directions");
}

#[test]
fn thresholds_cut_where_the_hand_figures_say() {
    let lift = model(&TogetherParams {
        min_lift: 1.1,
        ..TogetherParams::default()
    });
    assert_eq!(companions(&lift, "phone"), ["case"], "16/15 < 1.1 < 1.28");
    assert_eq!(companions(&lift, "screen"), ["case"]);
    let conf = model(&TogetherParams {
        min_confidence: 0.5,
        ..TogetherParams::default()
    });
    assert_eq!(companions(&conf, "phone"), ["case"], "phone→screen is 0.4");
    assert_eq!(
        companions(&conf, "screen"),
        ["case", "phone"],
        "screen→phone is 2/3"
    );
    // 0.3 of 8 orders is 2.4: three orders at least.
    let support = model(&TogetherParams {
        min_support: 0.3,
        ..TogetherParams::default()
    });
    assert_eq!(companions(&support, "phone"), ["case"]);
    assert_eq!(companions(&support, "case"), ["phone", "screen"]);
    let one = model(&TogetherParams {
        min_orders: 1,
        min_lift: 0.0,
        ..TogetherParams::default()
    });
    // charger+phone in 2 orders; then one order each with earbuds (lift
    // 1·8/(3·2) = 4/3) before case (lift 1·8/(3·5) = 8/15).
    assert_eq!(companions(&one, "charger"), ["phone", "earbuds", "case"]);
    assert_eq!(one.between("charger", "earbuds").unwrap().lift, 4.0 / 3.0);
    let top1 = model(&TogetherParams {
        max_per_product: 1,
        ..TogetherParams::default()
    });
    assert_eq!(companions(&top1, "phone"), ["case"]);
}

#[test]
fn large_orders_count_their_first_fifty_products_once() {
    let mut b = CoPurchaseBuilder::new();
    let items: Vec<String> = (0..60).map(|i| format!("i{i}")).collect();
    let mut order: Vec<&str> = items.iter().map(String::as_str).collect();
    order.insert(1, "i0"); // a repeated line counts once
    b.add_order(order);
    b.add_order(std::iter::empty());
    let m = b.build(&TogetherParams {
        min_orders: 1,
        min_lift: 0.0,
        max_per_product: 100,
        ..TogetherParams::default()
    });
    assert_eq!(m.orders(), 1, "an empty order is not an order");
    assert_eq!((m.orders_with("i49"), m.orders_with("i50")), (1, 0));
    assert_eq!(m.len(), 50 * 49, "C(50,2) pairs, both directions");
}

#[test]
fn merged_buffers_count_like_a_hash_map() {
    let mut rng = crate::rng::Rng::new(11);
    let mut b = CoPurchaseBuilder::with_buffer(7);
    let mut pairs: HashMap<(String, String), u32> = HashMap::new();
    for _ in 0..2_000 {
        let n = 1 + rng.below(5);
        let mut order: Vec<String> = (0..n).map(|_| format!("p{}", rng.skewed(60, 2.0))).collect();
        b.add_order(order.iter().map(String::as_str));
        order.sort();
        order.dedup();
        for i in 0..order.len() {
            for j in i + 1..order.len() {
                *pairs.entry((order[i].clone(), order[j].clone())).or_default() += 1;
            }
        }
    }
    let m = b.build(&TogetherParams {
        min_orders: 1,
        min_lift: 0.0,
        max_per_product: 1000,
        ..TogetherParams::default()
    });
    assert_eq!(m.len(), pairs.len() * 2);
    for ((a, x), c) in pairs {
        assert_eq!(m.between(&a, &x).map(|s| s.orders), Some(c), "{a}+{x}");
        assert_eq!(m.between(&x, &a).map(|s| s.orders), Some(c));
    }
}

fn product(id: &str, category: &str, extra: serde_json::Value) -> crate::product::Product {
    let mut v = json!({"id": id, "name": id, "price": 10, "currency": "EUR", "category": category});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    serde_json::from_value(v).unwrap()
}

fn shop_catalog() -> Catalog {
    let mut c = Catalog::new(DropRule::default());
    let items = [
        product(
            "phone",
            "Electronics > Phones",
            json!({"complements": ["screen", "case", "earbuds"]}),
        ),
        product("case", "Electronics > Phones > Accessories", json!({})),
        product("screen", "Electronics > Phones > Accessories", json!({})),
        product("charger", "Electronics > Chargers", json!({})),
        product("earbuds", "Electronics > Audio", json!({})),
    ];
    for p in items {
        c.upsert_product(p).unwrap();
    }
    c
}

fn popularity(c: &Catalog) -> Popularity {
    let mut b = PopularityBuilder::new(0, 30 * DAY);
    for (items, day) in ORDERS {
        b.add_order(day * DAY, items.iter().copied());
    }
    b.build(c, 10)
}

/// Holding a phone, having bought a case before.
fn customer() -> ProfileContext {
    let id = |s: &str| ProductId::new(s).unwrap();
    ProfileContext {
        anchors: vec![id("phone")],
        recently_viewed: vec![id("earbuds"), id("case"), id("charger")],
        bought: [id("case")].into(),
    }
}

fn ids(recs: &[Recommendation]) -> Vec<&str> {
    recs.iter().map(|r| r.product.as_str()).collect()
}

#[test]
fn each_strategy_by_hand() {
    let c = shop_catalog();
    let together = model(&TogetherParams::default());
    let popular = popularity(&c);
    let r = Recommender::new(&c)
        .with_together(&together)
        .with_popularity(&popular);
    let ctx = customer();
    // Phone's companions are case (bought), charger and screen (0.4 each).
    let fbt = r.recommend(&ctx, &Strategy::FrequentlyBoughtTogether, 5);
    assert_eq!(ids(&fbt), ["charger", "screen"]);
    assert_eq!(
        fbt[0].reason,
        Reason::BoughtWith {
            anchor: ProductId::new("phone").unwrap(),
            orders: 2,
            confidence: 0.4,
            lift: 16.0 / 15.0
        }
    );
    assert_eq!(
        ids(&r.recommend(&ctx, &Strategy::Complementary, 5)),
        ["screen", "earbuds"]
    );
    // In the window (day 0-30), orders 1-7: phone 5, case 5, screen 3,
    // charger 2, earbuds 1. Phones first (screen), then all Electronics.
    let pop = r.recommend(&ctx, &Strategy::PopularInCategory(None), 5);
    assert_eq!(ids(&pop), ["screen", "charger", "earbuds"]);
    assert_eq!(
        pop[0].reason,
        Reason::PopularIn {
            category: "Electronics > Phones".into(),
            orders: 3
        }
    );
    assert_eq!(
        pop[2].reason,
        Reason::PopularIn {
            category: "Electronics".into(),
            orders: 1
        }
    );
    let audio = Strategy::PopularInCategory(Some(vec!["Electronics".into(), "Audio".into()]));
    assert_eq!(
        ids(&r.recommend(&ctx, &audio, 2)),
        ["earbuds", "screen"],
        "then widening to Electronics"
    );
    assert_eq!(
        ids(&r.recommend(&ctx, &Strategy::RecentlyViewed, 5)),
        ["earbuds", "charger"]
    );
    let mixed = Strategy::Fallback(vec![Strategy::FrequentlyBoughtTogether, Strategy::Complementary]);
    assert_eq!(
        ids(&r.recommend(&ctx, &mixed, 3)),
        ["charger", "screen", "earbuds"]
    );
    assert_eq!(ids(&r.recommend(&ctx, &mixed, 1)), ["charger"]);
    assert!(Recommender::new(&c)
        .recommend(&ctx, &Strategy::FrequentlyBoughtTogether, 5)
        .is_empty());
}

#[test]
fn out_of_stock_products_are_left_out() {
    let mut c = shop_catalog();
    c.upsert_product(product(
        "earbuds",
        "Electronics > Audio",
        json!({"availability": "out_of_stock"}),
    ))
    .unwrap();
    let together = model(&TogetherParams::default());
    let ctx = customer();
    let plain = Recommender::new(&c).with_together(&together);
    assert_eq!(
        ids(&plain.recommend(&ctx, &Strategy::Complementary, 5)),
        ["screen"],
        "the catalog says out of stock"
    );
    let mut book = StockBook::default();
    book.apply("online", "charger", 0, Mode::Set).unwrap();
    book.apply("paris", "charger", 2, Mode::Set).unwrap();
    book.apply("paris", "screen", 0, Mode::Set).unwrap();
    let online = StockScope::Online;
    let r = plain.with_stock(&book, &online);
    assert_eq!(
        ids(&r.recommend(&ctx, &Strategy::FrequentlyBoughtTogether, 5)),
        ["screen"],
        "charger: 0 online"
    );
    let anywhere = StockScope::Anywhere;
    let r = plain.with_stock(&book, &anywhere);
    assert_eq!(
        ids(&r.recommend(&ctx, &Strategy::FrequentlyBoughtTogether, 5)),
        ["charger"],
        "screen: none anywhere"
    );
    let paris = StockScope::Shop("paris".into());
    let r = plain.with_stock(&book, &paris);
    assert_eq!(
        ids(&r.recommend(&ctx, &Strategy::FrequentlyBoughtTogether, 5)),
        ["charger"]
    );
    let lyon = StockScope::Shop("lyon".into());
    assert!(plain
        .with_stock(&book, &lyon)
        .recommend(&ctx, &Strategy::FrequentlyBoughtTogether, 5)
        .is_empty());
}

#[test]
fn context_from_the_folded_commerce_state() {
    let c = shop_catalog();
    let mut state = CommerceState::default();
    let event = |state: &mut CommerceState, name: &str, props: serde_json::Value, at: i64| {
        state.apply(name, &props, at, "web", None);
    };
    event(
        &mut state,
        "Order Completed",
        json!({"order_id": "o1", "products": [{"product_id": "case"}]}),
        1,
    );
    event(&mut state, "Order Cancelled", json!({"order_id": "o2"}), 2);
    event(
        &mut state,
        "Order Completed",
        json!({"order_id": "o2", "products": [{"sku": "charger"}]}),
        1,
    );
    event(&mut state, "Product Viewed", json!({"product_id": "earbuds"}), 3);
    event(&mut state, "Product Viewed", json!({"product_id": "unknown"}), 4);
    event(&mut state, "Product Added", json!({"product_id": "phone"}), 5);
    let ctx = ProfileContext::from_commerce(&c, &state);
    assert_eq!(ctx.anchors, [ProductId::new("phone").unwrap()]);
    assert_eq!(ctx.recently_viewed, [ProductId::new("earbuds").unwrap()]);
    assert_eq!(
        ctx.bought,
        [ProductId::new("case").unwrap()].into(),
        "the cancelled order does not count"
    );
}
