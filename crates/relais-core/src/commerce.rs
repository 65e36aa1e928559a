//! A customer's commerce state, folded from the Segment e-commerce spec (v2)
//! track events: the cart, the wishlist, orders, recently viewed products and
//! coupons.
//!
//! One cart per customer, whatever channel or device built it: a purchase in
//! a store empties the lines of the cart that was filled online. Times are
//! event times, and events may arrive in any order: adds and removals older
//! than what they would undo are recognised as stale (see [`Cart`]), orders
//! fold order-independently (see [`Order`]), and order statistics are kept
//! for every order ever seen so that they stay exact across late events and
//! profile merges.

mod cart;
mod order;
mod product;
mod read;
#[cfg(test)]
mod tests;

pub use cart::{Cart, CartItem};
pub use order::{Order, OrderItem, OrderKind, OrderStatus, Refund};
pub use product::Product;

use cart::{left_at, Change};
use read::{amount, text};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The track events this module reads (their `properties` are kept in full
/// by [`crate::slim::parse`]).
pub const COMMERCE_EVENTS: [&str; 12] = [
    PRODUCT_VIEWED,
    PRODUCT_ADDED,
    PRODUCT_REMOVED,
    CART_VIEWED,
    CHECKOUT_STARTED,
    ORDER_COMPLETED,
    ORDER_UPDATED,
    ORDER_REFUNDED,
    ORDER_CANCELLED,
    WISHLIST_ADDED,
    WISHLIST_REMOVED,
    COUPON_APPLIED,
];

pub const PRODUCT_VIEWED: &str = "Product Viewed";
pub const PRODUCT_ADDED: &str = "Product Added";
pub const PRODUCT_REMOVED: &str = "Product Removed";
pub const CART_VIEWED: &str = "Cart Viewed";
pub const CHECKOUT_STARTED: &str = "Checkout Started";
pub const ORDER_COMPLETED: &str = "Order Completed";
pub const ORDER_UPDATED: &str = "Order Updated";
pub const ORDER_REFUNDED: &str = "Order Refunded";
pub const ORDER_CANCELLED: &str = "Order Cancelled";
pub const WISHLIST_ADDED: &str = "Product Added to Wishlist";
pub const WISHLIST_REMOVED: &str = "Product Removed from Wishlist";
pub const COUPON_APPLIED: &str = "Coupon Applied";

/// Orders kept with their details; older ones keep only what statistics need.
pub const MAX_ORDERS: usize = 20;
pub const MAX_VIEWED: usize = 20;
pub const MAX_COUPONS: usize = 20;
const MAX_WISHLIST: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WishItem {
    #[serde(flatten)]
    pub product: Product,
    pub added_at: i64,
    /// Channel of the add.
    pub channel: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Viewed {
    #[serde(flatten)]
    pub product: Product,
    /// Last time the product was viewed, and on which channel.
    pub at: i64,
    pub channel: String,
}

/// One `Coupon Applied` event (the latest per coupon and order).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CouponUse {
    /// `coupon_id`, else `coupon`, else `coupon_name`.
    pub coupon: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<f64>,
    pub at: i64,
    pub channel: String,
}

/// Order statistics over every order ever seen (not only the latest ones).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderStats {
    /// Orders completed and not cancelled (refunded ones included).
    pub order_count: u64,
    /// Sum of their totals minus refunds.
    pub lifetime_value: f64,
    pub first_order_at: Option<i64>,
    pub last_order_at: Option<i64>,
    /// Mean days between consecutive orders (from two orders on).
    pub purchase_cycle_days: Option<f64>,
}

/// Everything commerce Relais keeps about one customer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommerceState {
    #[serde(skip_serializing_if = "Cart::is_empty")]
    pub cart: Cart,
    /// Most recent add first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wishlist: Vec<WishItem>,
    /// The [`MAX_ORDERS`] latest orders, most recent first, with their lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<Order>,
    /// Latest [`MAX_VIEWED`] distinct products viewed, most recent first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recently_viewed: Vec<Viewed>,
    /// Latest [`MAX_COUPONS`] coupons applied, most recent first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coupons: Vec<CouponUse>,
    /// Every older order, by id, without its lines: statistics stay exact
    /// and a late or duplicate event about an old order is still recognised.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub order_history: BTreeMap<String, Order>,
    /// Product key → last time it left the wishlist.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub wishlist_removed: BTreeMap<String, i64>,
}

impl CommerceState {
    /// Folds one track event in. `properties` as sent (anything that is not
    /// an object is ignored), `at` its time, `channel` its touchpoint channel,
    /// `device` the device id (or type). Returns whether the state changed.
    pub fn apply(
        &mut self,
        name: &str,
        properties: &Value,
        at: i64,
        channel: &str,
        device: Option<&str>,
    ) -> bool {
        let Some(props) = properties.as_object() else {
            return false;
        };
        let c = Change { at, channel, device };
        let cart_id = || text(props.get("cart_id"));
        let currency = || text(props.get("currency"));
        match name {
            PRODUCT_VIEWED => self.view(read::product(props), c),
            PRODUCT_ADDED => {
                let quantity = read::quantity(props.get("quantity")).unwrap_or(1);
                let added = self.cart.add(read::product(props), quantity, currency(), c);
                if added {
                    self.cart.touch(c, cart_id(), currency());
                }
                added
            }
            PRODUCT_REMOVED => {
                let Some(key) = read::product(props).key() else {
                    return false;
                };
                let removed = self.cart.remove(&key, read::quantity(props.get("quantity")), c);
                if removed {
                    self.cart.touch(c, cart_id(), currency());
                }
                removed
            }
            CART_VIEWED | CHECKOUT_STARTED => {
                let before = (self.cart.cart_id.clone(), self.cart.checkout_started_at);
                let id = cart_id();
                let newer = self.cart.updated_at.is_none_or(|u| at >= u);
                if id.is_some() && (newer || self.cart.cart_id.is_none()) {
                    self.cart.cart_id = id;
                }
                if name == CHECKOUT_STARTED {
                    self.cart.checkout_started_at = self.cart.checkout_started_at.max(Some(at));
                }
                (self.cart.cart_id.clone(), self.cart.checkout_started_at) != before
            }
            ORDER_COMPLETED => self.order(OrderStatus::Completed, props, c),
            ORDER_UPDATED => self.order(OrderStatus::Updated, props, c),
            ORDER_REFUNDED => self.order(OrderStatus::Refunded, props, c),
            ORDER_CANCELLED => self.order(OrderStatus::Cancelled, props, c),
            WISHLIST_ADDED => self.wish(read::product(props), c),
            WISHLIST_REMOVED => read::product(props)
                .key()
                .is_some_and(|key| self.unwish(&key, at)),
            COUPON_APPLIED => self.coupon(props, c),
            _ => false,
        }
    }

    fn order(&mut self, status: OrderStatus, props: &Map<String, Value>, c: Change<'_>) -> bool {
        let id = match text(props.get("order_id")) {
            Some(id) => id,
            // Without an id, a retry of the same completion is recognised by its time.
            None if status == OrderStatus::Completed => format!("at:{}", c.at),
            None => return false,
        };
        let mut order = self
            .take_order(&id)
            .unwrap_or_else(|| Order::new(id, c.at, c.channel));
        let before = order.clone();
        let newly_completed = status == OrderStatus::Completed && order.completed_at.is_none();
        order.apply(order::OrderEvent::read(status, props), c.at, c.channel);
        let mut changed = order != before;
        // Only the first completion empties the cart: a retried event must not do it twice.
        if newly_completed && self.cart.purchase(&order.items, c) {
            self.cart.touch(c, None, None);
            changed = true;
        }
        self.put_order(order);
        changed
    }

    fn take_order(&mut self, id: &str) -> Option<Order> {
        match self.orders.iter().position(|o| o.order_id == id) {
            Some(i) => Some(self.orders.remove(i)),
            None => self.order_history.remove(id),
        }
    }

    fn put_order(&mut self, order: Order) {
        let i = self
            .orders
            .partition_point(|o| order_rank(o) < order_rank(&order));
        self.orders.insert(i, order);
        while self.orders.len() > MAX_ORDERS {
            if let Some(mut old) = self.orders.pop() {
                old.items.clear();
                self.order_history.insert(old.order_id.clone(), old);
            }
        }
    }

    /// Every order ever seen: the latest with their lines, then the older ones.
    pub fn all_orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.iter().chain(self.order_history.values())
    }

    pub fn order_stats(&self) -> OrderStats {
        let mut placed: Vec<i64> = Vec::new();
        let mut value = 0.0;
        for o in self.all_orders().filter(|o| o.counts()) {
            placed.push(o.placed_at);
            value += o.net_value();
        }
        placed.sort_unstable();
        let (first, last) = (placed.first().copied(), placed.last().copied());
        let cycle = match (first, last) {
            (Some(f), Some(l)) if placed.len() >= 2 => {
                let days = (l - f) as f64 / 86_400_000.0 / (placed.len() - 1) as f64;
                Some((days * 100.0).round() / 100.0)
            }
            _ => None,
        };
        OrderStats {
            order_count: placed.len() as u64,
            lifetime_value: read::money(value),
            first_order_at: first,
            last_order_at: last,
            purchase_cycle_days: cycle,
        }
    }

    fn wish(&mut self, product: Product, c: Change<'_>) -> bool {
        let Some(key) = product.key() else {
            return false;
        };
        if self.wishlist_removed.get(&key).is_some_and(|&t| c.at < t) {
            return false;
        }
        match self
            .wishlist
            .iter_mut()
            .find(|w| w.product.key().as_deref() == Some(key.as_str()))
        {
            Some(w) => {
                let earlier = c.at < w.added_at;
                w.product.combine(product, !earlier);
                if earlier {
                    w.added_at = c.at;
                    w.channel = c.channel.to_owned();
                }
            }
            None => self.wishlist.push(WishItem {
                product,
                added_at: c.at,
                channel: c.channel.to_owned(),
            }),
        }
        sort_wishlist(&mut self.wishlist);
        true
    }

    fn unwish(&mut self, key: &str, at: i64) -> bool {
        match self
            .wishlist
            .iter()
            .position(|w| w.product.key().as_deref() == Some(key))
        {
            Some(i) if at < self.wishlist[i].added_at => false, // about an earlier add
            Some(i) => {
                self.wishlist.remove(i);
                left_at(&mut self.wishlist_removed, key, at);
                true
            }
            None => left_at(&mut self.wishlist_removed, key, at),
        }
    }

    fn view(&mut self, product: Product, c: Change<'_>) -> bool {
        let Some(key) = product.key() else {
            return false;
        };
        match self
            .recently_viewed
            .iter_mut()
            .find(|v| v.product.key().as_deref() == Some(key.as_str()))
        {
            Some(v) if c.at > v.at => {
                v.product.combine(product, true);
                v.at = c.at;
                v.channel = c.channel.to_owned();
            }
            Some(_) => return false,
            None => {
                let full = self.recently_viewed.len() >= MAX_VIEWED;
                if full && self.recently_viewed.last().is_some_and(|v| c.at <= v.at) {
                    return false; // older than all kept
                }
                self.recently_viewed.push(Viewed {
                    product,
                    at: c.at,
                    channel: c.channel.to_owned(),
                });
            }
        }
        sort_recent(&mut self.recently_viewed, |v| (v.at, v.product.key()), MAX_VIEWED);
        true
    }

    fn coupon(&mut self, props: &Map<String, Value>, c: Change<'_>) -> bool {
        let Some(coupon) = text(props.get("coupon_id"))
            .or_else(|| text(props.get("coupon")))
            .or_else(|| text(props.get("coupon_name")))
        else {
            return false;
        };
        let used = CouponUse {
            coupon,
            name: text(props.get("coupon_name")),
            order_id: text(props.get("order_id")),
            cart_id: text(props.get("cart_id")),
            discount: amount(props.get("discount")),
            at: c.at,
            channel: c.channel.to_owned(),
        };
        let before = self.coupons.clone();
        add_coupon(&mut self.coupons, used);
        self.coupons != before
    }

    /// Folds the state of a profile merged into this one (two devices'
    /// profiles becoming one customer).
    pub fn absorb(&mut self, mut other: CommerceState) {
        // Each cart has not seen the purchases only the other profile knows of.
        let for_mine = unseen_purchases(&other, self);
        let for_theirs = unseen_purchases(self, &other);
        for (cart, orders) in [(&mut self.cart, for_mine), (&mut other.cart, for_theirs)] {
            for o in orders {
                let c = Change {
                    at: o.placed_at,
                    channel: &o.channel,
                    device: None,
                };
                if cart.purchase(&o.items, c) {
                    cart.touch(c, None, None);
                }
            }
        }
        self.cart.absorb(other.cart);

        let mut orders: BTreeMap<String, Order> = BTreeMap::new();
        let my_orders = std::mem::take(&mut self.orders)
            .into_iter()
            .chain(std::mem::take(&mut self.order_history).into_values());
        for o in my_orders
            .chain(other.orders)
            .chain(other.order_history.into_values())
        {
            match orders.entry(o.order_id.clone()) {
                std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().merge(o),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(o);
                }
            }
        }
        let mut orders: Vec<Order> = orders.into_values().collect();
        orders.sort_by(|a, b| order_rank(a).cmp(&order_rank(b)));
        for mut old in orders.split_off(MAX_ORDERS.min(orders.len())) {
            old.items.clear();
            self.order_history.insert(old.order_id.clone(), old);
        }
        self.orders = orders;

        for w in other.wishlist {
            let key = w.product.key();
            match self.wishlist.iter_mut().find(|m| m.product.key() == key) {
                // The earlier add is when the product went on the list.
                Some(m) if w.added_at < m.added_at => *m = w,
                Some(_) => {}
                None => self.wishlist.push(w),
            }
        }
        sort_wishlist(&mut self.wishlist);
        for (key, at) in other.wishlist_removed {
            left_at(&mut self.wishlist_removed, &key, at);
        }

        for v in other.recently_viewed {
            let key = v.product.key();
            match self.recently_viewed.iter_mut().find(|m| m.product.key() == key) {
                Some(m) if v.at > m.at => *m = v,
                Some(_) => {}
                None => self.recently_viewed.push(v),
            }
        }
        sort_recent(&mut self.recently_viewed, |v| (v.at, v.product.key()), MAX_VIEWED);

        for used in other.coupons {
            add_coupon(&mut self.coupons, used);
        }
    }
}

/// Orders `from` saw completed that `to` did not (their purchases are not in `to`'s cart).
fn unseen_purchases(from: &CommerceState, to: &CommerceState) -> Vec<Order> {
    let known: BTreeSet<&str> = to
        .all_orders()
        .filter(|o| o.completed_at.is_some())
        .map(|o| o.order_id.as_str())
        .collect();
    from.all_orders()
        .filter(|o| o.completed_at.is_some() && !known.contains(o.order_id.as_str()) && !o.items.is_empty())
        .cloned()
        .collect()
}

/// Most recent order first; ties by id so the order is stable.
fn order_rank(o: &Order) -> (std::cmp::Reverse<i64>, &str) {
    (std::cmp::Reverse(o.placed_at), o.order_id.as_str())
}

fn sort_wishlist(list: &mut Vec<WishItem>) {
    sort_recent(list, |w| (w.added_at, w.product.key()), MAX_WISHLIST);
}

/// Sorts most recent first (by `rank`, descending) and keeps the first `max`.
fn sort_recent<T, K: Ord>(list: &mut Vec<T>, rank: impl Fn(&T) -> K, max: usize) {
    list.sort_by_key(|x| std::cmp::Reverse(rank(x)));
    list.truncate(max);
}

/// Keeps one use per coupon and order: the latest.
fn add_coupon(list: &mut Vec<CouponUse>, used: CouponUse) {
    match list
        .iter_mut()
        .find(|u| u.coupon == used.coupon && u.order_id == used.order_id)
    {
        Some(u) if used.at > u.at => *u = used,
        Some(_) => {}
        None => list.push(used),
    }
    sort_recent(
        list,
        |u| (u.at, u.coupon.clone(), u.order_id.clone()),
        MAX_COUPONS,
    );
}
