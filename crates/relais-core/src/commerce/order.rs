//! One order and how its events (`Order Completed`, `Updated`, `Refunded`,
//! `Cancelled`) fold into it, in any order of arrival.
//!
//! Every field is decided by event time, never by arrival: the placing
//! channel is the one of the earliest `Order Completed`, the details (total,
//! items, coupon) are those of the latest `Completed`/`Updated`, refunds are
//! a set, and a cancellation is final. So applying the same events in any
//! order, or folding two profiles that each saw some of them, gives the same
//! order.

use super::read::{self, amount, text};
use super::Product;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    #[default]
    Completed,
    Updated,
    Refunded,
    /// Final: no later event changes it.
    Cancelled,
}

/// Where the order was placed, from the touchpoint channel of the event
/// that placed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    #[default]
    Online,
    Store,
    CallCentre,
}

impl OrderKind {
    pub fn of_channel(channel: &str) -> OrderKind {
        match channel {
            "store" => OrderKind::Store,
            "call_centre" => OrderKind::CallCentre,
            _ => OrderKind::Online,
        }
    }
}

/// One line of an order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderItem {
    #[serde(flatten)]
    pub product: Product,
    /// As sent; absent means the whole cart line was bought.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
}

/// One `Order Refunded` event: its time and amount (`None`: the whole order).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub at: i64,
    pub amount: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Order {
    pub order_id: String,
    pub status: OrderStatus,
    /// `revenue`, else `total`, else `subtotal` of the latest event that gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// Amount refunded, at most `total`.
    pub refunded: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
    /// Touchpoint channel of the event that placed the order.
    pub channel: String,
    pub kind: OrderKind,
    /// Time of the `Order Completed` event; of the first event seen until one arrives.
    pub placed_at: i64,
    /// Time of the latest event about this order.
    pub updated_at: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<OrderItem>,

    // Bookkeeping that makes folding independent of arrival order.
    /// Earliest `Order Completed`; `None` while only updates/refunds/cancellations were seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<i64>,
    pub first_at: i64,
    pub status_at: i64,
    /// Time of the event the details (total, currency, coupon, items) come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details_at: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<Refund>,
}

/// What one order event says.
pub(super) struct OrderEvent {
    pub status: OrderStatus,
    pub total: Option<f64>,
    pub currency: Option<String>,
    pub coupon: Option<String>,
    pub items: Vec<OrderItem>,
}

impl OrderEvent {
    pub fn read(status: OrderStatus, props: &Map<String, Value>) -> OrderEvent {
        let items: Vec<OrderItem> = read::products(props)
            .into_iter()
            .map(|(product, quantity)| OrderItem { product, quantity })
            .collect();
        let total = amount(props.get("revenue"))
            .or_else(|| amount(props.get("total")))
            .or_else(|| amount(props.get("subtotal")));
        OrderEvent {
            status,
            total,
            currency: text(props.get("currency")),
            coupon: text(props.get("coupon")),
            items,
        }
    }

    /// The amount an `Order Refunded` event refunds: its total, else the sum
    /// of its lines, else `None` (the whole order).
    fn refund_amount(&self) -> Option<f64> {
        self.total.or_else(|| {
            let lines: Vec<f64> = self
                .items
                .iter()
                .filter_map(|i| Some(i.product.price? * f64::from(i.quantity.unwrap_or(1))))
                .collect();
            (!lines.is_empty()).then(|| read::money(lines.iter().sum()))
        })
    }
}

impl Order {
    pub(super) fn new(order_id: String, at: i64, channel: &str) -> Order {
        Order {
            order_id,
            channel: channel.to_owned(),
            kind: OrderKind::of_channel(channel),
            placed_at: at,
            updated_at: at,
            first_at: at,
            status_at: i64::MIN,
            ..Default::default()
        }
    }

    /// Whether the order counts in statistics: completed and not cancelled.
    pub fn counts(&self) -> bool {
        self.completed_at.is_some() && self.cancelled_at.is_none()
    }

    /// What the order is worth: total minus refunds (0 when the total is unknown).
    pub fn net_value(&self) -> f64 {
        self.total.map_or(0.0, |t| (t - self.refunded).max(0.0))
    }

    /// Orders sort by this key: the placing event (a completion first), then its time.
    fn placing_key(&self) -> (bool, i64) {
        (
            self.completed_at.is_none(),
            self.completed_at.unwrap_or(self.first_at),
        )
    }

    pub(super) fn apply(&mut self, ev: OrderEvent, at: i64, channel: &str) {
        let placing = (ev.status != OrderStatus::Completed, at);
        if placing < self.placing_key() {
            self.channel = channel.to_owned();
            self.kind = OrderKind::of_channel(channel);
        }
        self.first_at = self.first_at.min(at);
        self.updated_at = self.updated_at.max(at);
        match ev.status {
            OrderStatus::Completed => self.completed_at = min_opt(self.completed_at, Some(at)),
            OrderStatus::Cancelled => self.cancelled_at = min_opt(self.cancelled_at, Some(at)),
            OrderStatus::Refunded => {
                let refund = Refund {
                    at,
                    amount: ev.refund_amount(),
                };
                if !self.refunds.contains(&refund) {
                    self.refunds.push(refund);
                }
            }
            OrderStatus::Updated => {}
        }
        if ev.status != OrderStatus::Cancelled && (at, ev.status) >= (self.status_at, self.status) {
            self.status = ev.status;
            self.status_at = at;
        }
        let Order {
            total,
            currency,
            coupon,
            items,
            details_at,
            ..
        } = self;
        let mut details = Details {
            total,
            currency,
            coupon,
            items,
        };
        match ev.status {
            // Their totals are what the order is worth.
            OrderStatus::Completed | OrderStatus::Updated => {
                if details_at.is_none_or(|d| at >= d) {
                    details.replace_with(ev);
                    *details_at = Some(at);
                } else {
                    details.fill_from(ev);
                }
            }
            // A refund's total is the refund; a cancellation's details only fill gaps.
            OrderStatus::Refunded => details.fill_from(OrderEvent { total: None, ..ev }),
            OrderStatus::Cancelled => details.fill_from(ev),
        }
        self.refresh();
    }

    /// Folds the same order as seen by another profile.
    pub(super) fn merge(&mut self, other: Order) {
        if other.placing_key() < self.placing_key() {
            self.channel.clone_from(&other.channel);
            self.kind = other.kind;
        }
        self.first_at = self.first_at.min(other.first_at);
        self.updated_at = self.updated_at.max(other.updated_at);
        self.completed_at = min_opt(self.completed_at, other.completed_at);
        self.cancelled_at = min_opt(self.cancelled_at, other.cancelled_at);
        if (other.status_at, other.status) > (self.status_at, self.status) {
            self.status = other.status;
            self.status_at = other.status_at;
        }
        for r in other.refunds {
            if !self.refunds.contains(&r) {
                self.refunds.push(r);
            }
        }
        let theirs = OrderEvent {
            status: OrderStatus::Updated,
            total: other.total,
            currency: other.currency,
            coupon: other.coupon,
            items: other.items,
        };
        let ours_newer = match (self.details_at, other.details_at) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a >= b,
        };
        let Order {
            total,
            currency,
            coupon,
            items,
            details_at,
            ..
        } = self;
        let mut details = Details {
            total,
            currency,
            coupon,
            items,
        };
        if ours_newer {
            details.fill_from(theirs);
        } else {
            let mine = details.take();
            details.replace_with(theirs);
            details.fill_from(mine);
            *details_at = other.details_at;
        }
        self.refresh();
    }

    /// Derives the displayed fields from the bookkeeping.
    fn refresh(&mut self) {
        // Sorted, so that the same refunds folded in any order give the same state.
        self.refunds.sort_by(|a, b| {
            (a.at, a.amount)
                .partial_cmp(&(b.at, b.amount))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        self.placed_at = self.completed_at.unwrap_or(self.first_at);
        if let Some(at) = self.cancelled_at {
            self.status = OrderStatus::Cancelled;
            self.status_at = at;
        }
        let whole = self.refunds.iter().any(|r| r.amount.is_none());
        let sum = read::money(self.refunds.iter().filter_map(|r| r.amount).sum());
        self.refunded = match self.total {
            Some(t) if whole => t,
            Some(t) => sum.min(t),
            None => sum,
        };
    }
}

/// The details of an order, borrowed so that one event can replace or fill them.
struct Details<'a> {
    total: &'a mut Option<f64>,
    currency: &'a mut Option<String>,
    coupon: &'a mut Option<String>,
    items: &'a mut Vec<OrderItem>,
}

impl Details<'_> {
    /// A newer event: what it says replaces what was known.
    fn replace_with(&mut self, ev: OrderEvent) {
        if ev.total.is_some() {
            *self.total = ev.total;
        }
        if ev.currency.is_some() {
            *self.currency = ev.currency;
        }
        if ev.coupon.is_some() {
            *self.coupon = ev.coupon;
        }
        if !ev.items.is_empty() {
            *self.items = ev.items;
        }
    }

    /// An older event: it only fills what is still unknown.
    fn fill_from(&mut self, ev: OrderEvent) {
        if self.total.is_none() {
            *self.total = ev.total;
        }
        if self.currency.is_none() {
            *self.currency = ev.currency;
        }
        if self.coupon.is_none() {
            *self.coupon = ev.coupon;
        }
        if self.items.is_empty() {
            *self.items = ev.items;
        }
    }

    fn take(&mut self) -> OrderEvent {
        OrderEvent {
            status: OrderStatus::Updated,
            total: self.total.take(),
            currency: self.currency.take(),
            coupon: self.coupon.take(),
            items: std::mem::take(self.items),
        }
    }
}

pub(super) fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
