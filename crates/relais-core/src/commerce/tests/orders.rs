//! Orders, their statistics, and what they do to the cart.

use super::*;

const DAY: i64 = 86_400_000;

#[test]
fn an_order_in_store_empties_the_lines_bought_from_the_online_cart() {
    let mut s = CommerceState::default();
    ev(
        &mut s,
        PRODUCT_ADDED,
        json!({"product_id":"tv","price":500,"quantity":2}),
        100,
        "app",
        Some("phone"),
    );
    web(
        &mut s,
        PRODUCT_ADDED,
        json!({"product_id":"cable","price":10}),
        200,
    );
    web(
        &mut s,
        PRODUCT_ADDED,
        json!({"product_id":"lamp","price":40}),
        300,
    );
    let bought = json!({"order_id":"S-1","revenue":"510.00","currency":"EUR","products":[
        {"product_id":"tv","price":500,"quantity":1},
        {"product_id":"cable","price":10}]});
    assert!(ev(&mut s, ORDER_COMPLETED, bought, 1_000, "store", None));
    assert_eq!(qty(&s, "tv"), Some(1));
    assert_eq!(qty(&s, "cable"), None, "a line bought without quantity goes");
    assert_eq!(qty(&s, "lamp"), Some(1));
    assert_eq!(s.cart.value, 540.0);
    assert_eq!(s.cart.channel.as_deref(), Some("store"));
    let o = order(&s, "S-1");
    assert_eq!(
        (o.kind, o.status, o.total),
        (OrderKind::Store, OrderStatus::Completed, Some(510.0))
    );
    assert_eq!(o.channel, "store");

    // A line added after the order was placed is not what it bought.
    let mut s = CommerceState::default();
    web(
        &mut s,
        PRODUCT_ADDED,
        json!({"product_id":"tv","price":500}),
        2_000,
    );
    let late = json!({"order_id":"S-0","total":500,"products":[{"product_id":"tv","quantity":1}]});
    ev(&mut s, ORDER_COMPLETED, late, 1_500, "call_centre", None);
    assert_eq!(qty(&s, "tv"), Some(1));
    assert_eq!(order(&s, "S-0").kind, OrderKind::CallCentre);
}

#[test]
fn a_store_order_on_another_profile_empties_the_online_cart_on_merge() {
    let mut online = CommerceState::default();
    web(
        &mut online,
        PRODUCT_ADDED,
        json!({"product_id":"tv","price":500,"quantity":2}),
        100,
    );
    web(
        &mut online,
        PRODUCT_ADDED,
        json!({"product_id":"lamp","price":40}),
        150,
    );
    let mut store = CommerceState::default();
    let bought = json!({"order_id":"S-1","total":540,"products":[
        {"product_id":"tv","quantity":1},{"product_id":"lamp","quantity":1}]});
    ev(&mut store, ORDER_COMPLETED, bought, 1_000, "store", None);
    // Whichever profile survives, the cart is what is left after the purchase.
    let mut a = online.clone();
    a.absorb(store.clone());
    let mut b = store;
    b.absorb(online);
    for s in [&a, &b] {
        assert_eq!(qty(s, "tv"), Some(1));
        assert_eq!(qty(s, "lamp"), None);
        assert_eq!(s.cart.value, 500.0);
        assert_eq!(s.order_stats().order_count, 1);
    }
    assert_eq!(a.cart, b.cart);
}

#[test]
fn refunds_and_cancellations_in_lifetime_value_and_order_count() {
    let mut s = CommerceState::default();
    web(
        &mut s,
        ORDER_COMPLETED,
        json!({"order_id":"o1","revenue":100}),
        10,
    );
    web(
        &mut s,
        ORDER_COMPLETED,
        json!({"order_id":"o2","total":"50.5"}),
        20,
    );
    web(
        &mut s,
        ORDER_COMPLETED,
        json!({"order_id":"o3","subtotal":30}),
        30,
    );
    let st = s.order_stats();
    assert_eq!((st.order_count, st.lifetime_value), (3, 180.5));

    web(&mut s, ORDER_REFUNDED, json!({"order_id":"o1","total":20}), 40);
    assert_eq!(s.order_stats().lifetime_value, 160.5);
    assert_eq!(order(&s, "o1").refunded, 20.0);
    assert_eq!(order(&s, "o1").status, OrderStatus::Refunded);
    // A refund of lines without a total: their sum.
    web(
        &mut s,
        ORDER_REFUNDED,
        json!({"order_id":"o1","products":[{"product_id":"a","price":5,"quantity":2}]}),
        45,
    );
    assert_eq!(s.order_stats().lifetime_value, 150.5);

    web(&mut s, ORDER_CANCELLED, json!({"order_id":"o2"}), 50);
    let st = s.order_stats();
    assert_eq!((st.order_count, st.lifetime_value), (2, 100.0));
    assert_eq!(order(&s, "o2").status, OrderStatus::Cancelled);
    // Cancellation is final: a later update does not revive the order.
    web(&mut s, ORDER_UPDATED, json!({"order_id":"o2","total":70}), 60);
    assert_eq!(order(&s, "o2").status, OrderStatus::Cancelled);
    assert_eq!(s.order_stats().order_count, 2);

    // A refund without an amount refunds the whole order; the order still counts.
    web(&mut s, ORDER_REFUNDED, json!({"order_id":"o3"}), 70);
    let st = s.order_stats();
    assert_eq!((st.order_count, st.lifetime_value), (2, 70.0));
    // Refunds never exceed the total.
    web(&mut s, ORDER_REFUNDED, json!({"order_id":"o1","total":500}), 80);
    assert_eq!(order(&s, "o1").refunded, 100.0);
    assert_eq!(s.order_stats().lifetime_value, 0.0);
}

#[test]
fn a_retried_order_completed_counts_once_and_empties_the_cart_once() {
    let mut s = CommerceState::default();
    web(
        &mut s,
        PRODUCT_ADDED,
        json!({"product_id":"p","price":10,"quantity":3}),
        10,
    );
    let done = json!({"order_id":1001,"total":10,"products":[{"product_id":"p","quantity":1}]});
    assert!(web(&mut s, ORDER_COMPLETED, done.clone(), 100));
    assert!(!web(&mut s, ORDER_COMPLETED, done.clone(), 100), "nothing new");
    // The same order sent by the server source with another time: still one.
    ev(&mut s, ORDER_COMPLETED, done, 105, "server", None);
    assert_eq!(s.all_orders().count(), 1);
    assert_eq!(qty(&s, "p"), Some(2));
    let st = s.order_stats();
    assert_eq!((st.order_count, st.lifetime_value), (1, 10.0));
    let o = order(&s, "1001");
    assert_eq!((o.placed_at, o.channel.as_str()), (100, "web"));

    // Without an order id, a retry is recognised by its time.
    let anon = json!({"total":5});
    web(&mut s, ORDER_COMPLETED, anon.clone(), 200);
    web(&mut s, ORDER_COMPLETED, anon, 200);
    assert_eq!(s.order_stats().order_count, 2);
    // Updates, refunds and cancellations without an order id are ignored.
    assert!(!web(&mut s, ORDER_REFUNDED, json!({"total":5}), 300));
}

#[test]
fn a_merge_does_not_double_count_an_order_both_profiles_saw() {
    let mut a = CommerceState::default();
    let mut b = CommerceState::default();
    let done = json!({"order_id":"o1","total":100,"products":[{"product_id":"p","quantity":1}]});
    web(
        &mut a,
        PRODUCT_ADDED,
        json!({"product_id":"p","price":100,"quantity":2}),
        10,
    );
    web(&mut a, ORDER_COMPLETED, done.clone(), 100);
    ev(&mut b, ORDER_COMPLETED, done, 101, "server", None);
    ev(
        &mut b,
        ORDER_REFUNDED,
        json!({"order_id":"o1","total":30}),
        200,
        "server",
        None,
    );
    web(&mut b, ORDER_COMPLETED, json!({"order_id":"o2","total":50}), 300);
    a.absorb(b);
    let st = a.order_stats();
    assert_eq!((st.order_count, st.lifetime_value), (2, 120.0));
    assert_eq!(a.orders.len(), 2);
    assert_eq!(a.orders[0].order_id, "o2", "most recent first");
    // The cart already had the purchase of o1 taken out: not twice.
    assert_eq!(qty(&a, "p"), Some(1));
    let o1 = order(&a, "o1");
    assert_eq!(
        (o1.placed_at, o1.refunded, o1.status),
        (100, 30.0, OrderStatus::Refunded)
    );
}

#[test]
fn late_events_with_older_timestamps() {
    // The update arrives first; the completion it follows arrives late.
    let mut s = CommerceState::default();
    ev(
        &mut s,
        ORDER_UPDATED,
        json!({"order_id":"o1","total":80,"coupon":"TEN"}),
        2_000,
        "web",
        None,
    );
    assert_eq!(s.order_stats().order_count, 0, "never seen completed");
    ev(
        &mut s,
        ORDER_COMPLETED,
        json!({"order_id":"o1","total":90,"currency":"EUR"}),
        1_000,
        "store",
        None,
    );
    let o = order(&s, "o1");
    assert_eq!(o.status, OrderStatus::Updated);
    assert_eq!(o.total, Some(80.0), "the later update's total stands");
    assert_eq!(
        o.currency.as_deref(),
        Some("EUR"),
        "gaps are filled from the older event"
    );
    assert_eq!((o.placed_at, o.updated_at), (1_000, 2_000));
    assert_eq!((o.channel.as_str(), o.kind), ("store", OrderKind::Store));
    assert_eq!(s.order_stats().lifetime_value, 80.0);

    // A line removed (or bought) is not brought back by an older add arriving late.
    let mut s = CommerceState::default();
    web(&mut s, PRODUCT_ADDED, json!({"product_id":"p","price":1}), 100);
    web(&mut s, PRODUCT_REMOVED, json!({"product_id":"p"}), 200);
    assert!(!web(
        &mut s,
        PRODUCT_ADDED,
        json!({"product_id":"p","price":1}),
        150
    ));
    assert!(s.cart.items.is_empty());
    web(
        &mut s,
        ORDER_COMPLETED,
        json!({"order_id":"x","products":[{"product_id":"q"}]}),
        300,
    );
    assert!(!web(&mut s, PRODUCT_ADDED, json!({"product_id":"q"}), 250));
    assert!(web(&mut s, PRODUCT_ADDED, json!({"product_id":"q"}), 350));
    // An old removal does not touch a line added after it.
    assert!(!web(&mut s, PRODUCT_REMOVED, json!({"product_id":"q"}), 320));
    assert_eq!(qty(&s, "q"), Some(1));
    // A late add keeps the time of the last change and the first add.
    web(&mut s, PRODUCT_ADDED, json!({"product_id":"q"}), 340);
    assert_eq!(s.cart.items[0].added_at, 340);
    assert_eq!(s.cart.items[0].updated_at, 350);
    assert_eq!(s.cart.updated_at, Some(350));
}

#[test]
fn order_events_fold_to_the_same_order_in_any_arrival_order() {
    let events = [
        (
            ORDER_COMPLETED,
            json!({"order_id":"o","total":100,"products":[{"sku":"a"}]}),
            10,
            "store",
        ),
        (ORDER_UPDATED, json!({"order_id":"o","total":90}), 20, "web"),
        (
            ORDER_REFUNDED,
            json!({"order_id":"o","total":15}),
            30,
            "call_centre",
        ),
        (ORDER_REFUNDED, json!({"order_id":"o","total":5}), 40, "web"),
    ];
    let fold = |idx: &[usize]| {
        let mut s = CommerceState::default();
        for &i in idx {
            let (name, props, at, ch) = &events[i];
            ev(&mut s, name, props.clone(), *at, ch, None);
        }
        s
    };
    let reference = fold(&[0, 1, 2, 3]);
    let o = order(&reference, "o");
    assert_eq!(
        (o.total, o.refunded, o.status),
        (Some(90.0), 20.0, OrderStatus::Refunded)
    );
    assert_eq!(o.channel, "store");
    for idx in [[3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]] {
        assert_eq!(fold(&idx).orders, reference.orders, "arrival order {idx:?}");
    }
    // Split between two profiles, merged either way: the same order again.
    let (mut a, mut b) = (fold(&[0, 2]), fold(&[1, 3]));
    let b2 = b.clone();
    b.absorb(a.clone());
    a.absorb(b2);
    assert_eq!(a.orders, reference.orders);
    assert_eq!(b.orders, reference.orders);
}

#[test]
fn purchase_cycle_is_the_mean_gap_between_orders() {
    let mut s = CommerceState::default();
    web(&mut s, ORDER_COMPLETED, json!({"order_id":"a","total":1}), 0);
    assert_eq!(s.order_stats().purchase_cycle_days, None);
    web(
        &mut s,
        ORDER_COMPLETED,
        json!({"order_id":"c","total":1}),
        30 * DAY,
    );
    // Arrives late, between the two.
    web(
        &mut s,
        ORDER_COMPLETED,
        json!({"order_id":"b","total":1}),
        10 * DAY,
    );
    web(
        &mut s,
        ORDER_COMPLETED,
        json!({"order_id":"x","total":1}),
        90 * DAY,
    );
    web(&mut s, ORDER_CANCELLED, json!({"order_id":"x"}), 91 * DAY);
    let st = s.order_stats();
    assert_eq!(st.purchase_cycle_days, Some(15.0));
    assert_eq!((st.first_order_at, st.last_order_at), (Some(0), Some(30 * DAY)));
}

#[test]
fn only_the_latest_orders_keep_their_lines_but_statistics_count_them_all() {
    let mut s = CommerceState::default();
    for i in 0..30 {
        let props = json!({"order_id": format!("o{i:02}"), "total": 10, "products":[{"sku":"a"}]});
        web(&mut s, ORDER_COMPLETED, props, i * 1_000);
    }
    assert_eq!(s.orders.len(), MAX_ORDERS);
    assert_eq!(s.order_history.len(), 10);
    assert_eq!(s.orders[0].order_id, "o29");
    assert!(s.order_history.values().all(|o| o.items.is_empty()));
    assert_eq!(s.order_stats().order_count, 30);
    // A retry or a refund of an old order is still recognised.
    web(&mut s, ORDER_COMPLETED, json!({"order_id":"o00","total":10}), 0);
    web(&mut s, ORDER_REFUNDED, json!({"order_id":"o01"}), 99_000);
    let st = s.order_stats();
    assert_eq!((st.order_count, st.lifetime_value), (30, 290.0));
    assert_eq!(s.orders.len() + s.order_history.len(), 30);
    // A merge keeps the bound and the exact counts.
    let mut other = CommerceState::default();
    web(
        &mut other,
        ORDER_COMPLETED,
        json!({"order_id":"o05","total":10}),
        5_000,
    );
    web(
        &mut other,
        ORDER_COMPLETED,
        json!({"order_id":"new","total":10}),
        500_000,
    );
    s.absorb(other);
    assert_eq!(s.orders.len(), MAX_ORDERS);
    assert_eq!(s.orders[0].order_id, "new");
    assert_eq!(s.order_stats().order_count, 31);
}
