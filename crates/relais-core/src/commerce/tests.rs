use super::*;
use serde_json::json;

mod orders;

fn ev(s: &mut CommerceState, name: &str, props: Value, at: i64, channel: &str, device: Option<&str>) -> bool {
    s.apply(name, &props, at, channel, device)
}

fn web(s: &mut CommerceState, name: &str, props: Value, at: i64) -> bool {
    ev(s, name, props, at, "web", Some("laptop"))
}

fn qty(s: &CommerceState, product_id: &str) -> Option<u32> {
    s.cart
        .items
        .iter()
        .find(|i| i.product.product_id.as_deref() == Some(product_id))
        .map(|i| i.quantity)
}

fn order<'a>(s: &'a CommerceState, id: &str) -> &'a Order {
    s.all_orders().find(|o| o.order_id == id).expect("order known")
}

#[test]
fn one_cart_across_devices_after_a_merge() {
    let mut phone = CommerceState::default();
    ev(
        &mut phone,
        PRODUCT_ADDED,
        json!({"product_id":"shoe","name":"Shoe","price":60,"currency":"EUR","cart_id":"c-phone"}),
        1_000,
        "app",
        Some("iphone-1"),
    );
    ev(
        &mut phone,
        PRODUCT_ADDED,
        json!({"product_id":"sock","price":5,"quantity":2}),
        1_500,
        "app",
        Some("iphone-1"),
    );
    let mut laptop = CommerceState::default();
    web(
        &mut laptop,
        PRODUCT_ADDED,
        json!({"product_id":"hat","price":"20.50","quantity":"2","cart_id":"c-web"}),
        2_000,
    );
    // The same product on both sides: the laptop changed it later, its line wins.
    web(
        &mut laptop,
        PRODUCT_ADDED,
        json!({"product_id":"sock","price":5}),
        3_000,
    );
    phone.absorb(laptop);

    let cart = &phone.cart;
    assert_eq!(cart.items.len(), 3);
    assert_eq!(qty(&phone, "shoe"), Some(1));
    assert_eq!(qty(&phone, "hat"), Some(2));
    assert_eq!(qty(&phone, "sock"), Some(1));
    assert_eq!(cart.value, 60.0 + 41.0 + 5.0);
    assert_eq!(cart.item_count(), 4);
    // The last change was on the laptop.
    assert_eq!(cart.updated_at, Some(3_000));
    assert_eq!(cart.channel.as_deref(), Some("web"));
    assert_eq!(cart.device.as_deref(), Some("laptop"));
    assert_eq!(cart.cart_id.as_deref(), Some("c-web"));
    let shoe = &cart.items[0];
    assert_eq!(
        (shoe.channel.as_str(), shoe.device.as_deref()),
        ("app", Some("iphone-1"))
    );
    assert_eq!(shoe.currency.as_deref(), Some("EUR"));
}

#[test]
fn product_removed_takes_a_quantity_or_the_whole_line() {
    let mut s = CommerceState::default();
    web(
        &mut s,
        PRODUCT_ADDED,
        json!({"sku":"SKU-1","price":10,"quantity":3}),
        100,
    );
    web(&mut s, PRODUCT_ADDED, json!({"name":"Gift card","price":25}), 110);
    assert!(web(
        &mut s,
        PRODUCT_REMOVED,
        json!({"sku":"SKU-1","quantity":2}),
        200
    ));
    assert_eq!(s.cart.items[0].quantity, 1);
    assert_eq!(s.cart.value, 35.0);
    // No quantity: the whole line.
    assert!(web(&mut s, PRODUCT_REMOVED, json!({"name":"Gift card"}), 300));
    assert_eq!(s.cart.items.len(), 1);
    // More than there is: the line goes, never a negative quantity.
    assert!(web(
        &mut s,
        PRODUCT_REMOVED,
        json!({"sku":"SKU-1","quantity":9}),
        400
    ));
    assert!(s.cart.items.is_empty());
    assert_eq!(serde_json::to_string(&s.cart.value).unwrap(), "0.0", "not -0.0");
    assert_eq!(s.cart.updated_at, Some(400));
    // Removing what is not there changes nothing visible.
    web(&mut s, PRODUCT_REMOVED, json!({"sku":"nope","quantity":1}), 500);
    assert!(s.cart.items.is_empty());
}

#[test]
fn numeric_strings_for_prices_and_quantities() {
    let mut s = CommerceState::default();
    web(
        &mut s,
        PRODUCT_ADDED,
        json!({"product_id":17,"price":"19.99","quantity":"3"}),
        1,
    );
    assert_eq!(qty(&s, "17"), Some(3));
    assert_eq!(s.cart.value, 59.97);
    web(
        &mut s,
        ORDER_COMPLETED,
        json!({"order_id":"o","revenue":" 59.97 "}),
        2,
    );
    assert_eq!(s.order_stats().lifetime_value, 59.97);
    // An unreadable price counts 0 but keeps the line.
    web(
        &mut s,
        PRODUCT_ADDED,
        json!({"product_id":"x","price":"cheap"}),
        3,
    );
    assert_eq!(qty(&s, "x"), Some(1));
}

#[test]
fn malformed_properties_never_panic() {
    let odd = [
        json!("a string"),
        json!(null),
        json!([1, 2]),
        json!(42),
        json!({}),
        json!({"products":"abc","order_id":{"x":1},"quantity":-3,"price":-5}),
        json!({"products":[1,"a",null,{"product_id":[1]},{"quantity":"many"}],"order_id":"o"}),
        json!({"product_id":"p","quantity":-3,"price":{"amount":1}}),
        json!({"product_id":"p","quantity":1e308,"price":1e308}),
        json!({"product_id":"","sku":"  ","name":null}),
        json!({"coupon_id":{"a":1},"coupon":7,"discount":"NaN"}),
    ];
    let mut s = CommerceState::default();
    for (i, props) in odd.iter().enumerate() {
        for name in COMMERCE_EVENTS.iter().chain(&["Unknown Event"]) {
            s.apply(name, props, i as i64, "web", None);
        }
    }
    let mut other = s.clone();
    other.absorb(s.clone());
    s.absorb(other);
    let text = serde_json::to_string(&s).unwrap();
    assert_eq!(
        serde_json::from_str::<CommerceState>(&text).unwrap(),
        s,
        "still loads"
    );
    // A negative quantity is absent: an add adds one, a removal takes the line.
    let mut s = CommerceState::default();
    web(&mut s, PRODUCT_ADDED, json!({"product_id":"p","quantity":-3}), 1);
    assert_eq!(qty(&s, "p"), Some(1));
    web(
        &mut s,
        PRODUCT_REMOVED,
        json!({"product_id":"p","quantity":-3}),
        2,
    );
    assert_eq!(qty(&s, "p"), None);
    assert!(
        !web(&mut s, PRODUCT_ADDED, json!({"price":3}), 3),
        "no product identity"
    );
    assert!(!web(&mut s, ORDER_COMPLETED, json!("o1"), 4));
}

#[test]
fn wishlist_adds_and_removes_by_product_identity() {
    let mut s = CommerceState::default();
    ev(
        &mut s,
        WISHLIST_ADDED,
        json!({"product_id":"a","name":"A"}),
        10,
        "app",
        None,
    );
    web(&mut s, WISHLIST_ADDED, json!({"sku":"b"}), 20);
    web(&mut s, WISHLIST_ADDED, json!({"product_id":"a"}), 30);
    assert_eq!(s.wishlist.len(), 2);
    assert_eq!(
        s.wishlist[0].product.sku.as_deref(),
        Some("b"),
        "most recent add first"
    );
    assert_eq!(
        (s.wishlist[1].added_at, s.wishlist[1].channel.as_str()),
        (10, "app")
    );
    assert!(web(&mut s, WISHLIST_REMOVED, json!({"product_id":"a"}), 40));
    assert!(
        !web(&mut s, WISHLIST_ADDED, json!({"product_id":"a"}), 35),
        "stale add"
    );
    assert!(
        !web(&mut s, WISHLIST_REMOVED, json!({"sku":"b"}), 5),
        "stale removal"
    );
    assert_eq!(s.wishlist.len(), 1);
    let mut other = CommerceState::default();
    web(&mut other, WISHLIST_ADDED, json!({"product_id":"c"}), 50);
    web(&mut other, WISHLIST_ADDED, json!({"sku":"b"}), 15);
    s.absorb(other);
    let keys: Vec<_> = s.wishlist.iter().map(|w| w.product.key().unwrap()).collect();
    assert_eq!(keys, ["id:c", "sku:b"]);
    assert_eq!(s.wishlist[1].added_at, 15);
}

#[test]
fn recently_viewed_keeps_the_latest_distinct_products() {
    let mut s = CommerceState::default();
    for i in 0..25 {
        web(
            &mut s,
            PRODUCT_VIEWED,
            json!({"product_id": i % 22, "price": i}),
            i64::from(i),
        );
    }
    assert_eq!(s.recently_viewed.len(), MAX_VIEWED);
    assert_eq!(s.recently_viewed[0].product.product_id.as_deref(), Some("2"));
    assert_eq!(s.recently_viewed[0].product.price, Some(24.0));
    assert!(
        !web(&mut s, PRODUCT_VIEWED, json!({"product_id":"old"}), -1),
        "older than all kept"
    );
    let mut other = CommerceState::default();
    web(&mut other, PRODUCT_VIEWED, json!({"product_id":"new"}), 100);
    web(&mut other, PRODUCT_VIEWED, json!({"product_id":10}), 1);
    s.absorb(other);
    assert_eq!(s.recently_viewed.len(), MAX_VIEWED);
    assert_eq!(s.recently_viewed[0].product.product_id.as_deref(), Some("new"));
    let tens: Vec<i64> = s
        .recently_viewed
        .iter()
        .filter(|v| v.product.product_id.as_deref() == Some("10"))
        .map(|v| v.at)
        .collect();
    assert_eq!(tens, [10], "one entry per product, the latest view");
}

#[test]
fn coupons_checkout_and_cart_id() {
    let mut s = CommerceState::default();
    web(
        &mut s,
        COUPON_APPLIED,
        json!({"coupon_id":"SUMMER","coupon_name":"Summer","discount":"5","cart_id":"c1"}),
        10,
    );
    web(
        &mut s,
        COUPON_APPLIED,
        json!({"coupon_id":"SUMMER","discount":5,"cart_id":"c1"}),
        10,
    );
    web(
        &mut s,
        COUPON_APPLIED,
        json!({"coupon":"VIP","order_id":"o1"}),
        20,
    );
    assert_eq!(s.coupons.len(), 2);
    assert_eq!(s.coupons[0].coupon, "VIP");
    assert_eq!(s.coupons[1].discount, Some(5.0));
    assert!(web(&mut s, CART_VIEWED, json!({"cart_id":"c1"}), 30));
    assert!(!web(&mut s, CART_VIEWED, json!({"cart_id":"c1"}), 31));
    assert!(web(
        &mut s,
        CHECKOUT_STARTED,
        json!({"order_id":"o1","products":[]}),
        40
    ));
    assert_eq!(s.cart.checkout_started_at, Some(40));
    assert_eq!(s.cart.cart_id.as_deref(), Some("c1"));
}

#[test]
fn serialises_compactly_and_reads_old_and_partial_states() {
    assert_eq!(serde_json::to_value(CommerceState::default()).unwrap(), json!({}));
    let mut s = CommerceState::default();
    ev(
        &mut s,
        PRODUCT_ADDED,
        json!({"product_id":"p","price":2,"url":"https://x/p"}),
        5,
        "app",
        Some("d"),
    );
    web(
        &mut s,
        ORDER_COMPLETED,
        json!({"order_id":"o","total":2,"products":[{"sku":"q","quantity":2}]}),
        6,
    );
    web(&mut s, ORDER_REFUNDED, json!({"order_id":"o"}), 7);
    let text = serde_json::to_string(&s).unwrap();
    let back: CommerceState = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
    let item = serde_json::to_value(&s.cart.items[0]).unwrap();
    assert_eq!(item["product_id"], "p");
    assert_eq!(item["url"], "https://x/p");
    let partial: CommerceState = serde_json::from_value(
        json!({"cart":{"items":[{"product_id":"p","quantity":2,"price":3}]},
            "orders":[{"order_id":"o"}]}),
    )
    .unwrap();
    assert_eq!(partial.cart.items[0].quantity, 2);
    assert_eq!(partial.orders[0].status, OrderStatus::Completed);
}
