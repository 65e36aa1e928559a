//! The customer's one cart, whatever channel or device filled it.

use super::read;
use super::{OrderItem, Product};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MAX_CART_ITEMS: usize = 100;
/// Removal times remembered per list (to recognise stale adds).
const MAX_REMOVALS: usize = 200;

/// Who changed something, and when: the event time, its touchpoint channel
/// and device.
#[derive(Debug, Clone, Copy)]
pub(super) struct Change<'a> {
    pub at: i64,
    pub channel: &'a str,
    pub device: Option<&'a str>,
}

/// One line of the cart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CartItem {
    #[serde(flatten)]
    pub product: Product,
    pub quantity: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub added_at: i64,
    pub updated_at: i64,
    /// Channel and device of the last change to this line.
    pub channel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// The customer's one cart.
///
/// Quantities are deltas applied in arrival order; what keeps late events
/// from resurrecting lines is time: an add older than the last time its
/// product left the cart (`removed`) is stale, and a removal or a purchase
/// older than the line's first add belongs to an earlier line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cart {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<CartItem>,
    /// Sum of price × quantity (lines without a price count 0).
    pub value: f64,
    /// Time, channel and device of the last change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_started_at: Option<i64>,
    /// Product key → last time it left the cart (removed or bought).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub removed: BTreeMap<String, i64>,
}

impl Cart {
    pub fn is_empty(&self) -> bool {
        *self == Cart::default()
    }

    /// Sum of the quantities of all lines.
    pub fn item_count(&self) -> u64 {
        self.items.iter().map(|i| u64::from(i.quantity)).sum()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.items
            .iter()
            .position(|i| i.product.key().as_deref() == Some(key))
    }

    pub(super) fn add(
        &mut self,
        product: Product,
        quantity: u32,
        currency: Option<String>,
        c: Change<'_>,
    ) -> bool {
        let Some(key) = product.key() else {
            return false;
        };
        if self.removed.get(&key).is_some_and(|&t| c.at < t) {
            return false; // it left the cart after this add
        }
        match self.position(&key) {
            Some(i) => {
                let item = &mut self.items[i];
                item.quantity = item.quantity.saturating_add(quantity).min(read::MAX_QUANTITY);
                let newer = c.at >= item.updated_at;
                item.product.combine(product, newer);
                if currency.is_some() && (newer || item.currency.is_none()) {
                    item.currency = currency;
                }
                if newer {
                    item.updated_at = c.at;
                    item.channel = c.channel.to_owned();
                    item.device = c.device.map(str::to_owned);
                }
                item.added_at = item.added_at.min(c.at);
            }
            None => self.items.push(CartItem {
                product,
                quantity,
                currency,
                added_at: c.at,
                updated_at: c.at,
                channel: c.channel.to_owned(),
                device: c.device.map(str::to_owned),
            }),
        }
        true
    }

    /// Takes `quantity` (all if `None`) of a product out of the cart.
    pub(super) fn remove(&mut self, key: &str, quantity: Option<u32>, c: Change<'_>) -> bool {
        let Some(i) = self.position(key) else {
            // Nothing to take out; a later-arriving older add must not bring it back.
            return quantity.is_none() && left_at(&mut self.removed, key, c.at);
        };
        let item = &mut self.items[i];
        if c.at < item.added_at {
            return false; // about an earlier line
        }
        match quantity {
            Some(q) if q < item.quantity => {
                item.quantity -= q;
                if c.at >= item.updated_at {
                    item.updated_at = c.at;
                    item.channel = c.channel.to_owned();
                    item.device = c.device.map(str::to_owned);
                }
            }
            _ => {
                self.items.remove(i);
                left_at(&mut self.removed, key, c.at);
            }
        }
        true
    }

    /// Removes what an order placed at `c.at` bought from lines added before it.
    pub(super) fn purchase(&mut self, items: &[OrderItem], c: Change<'_>) -> bool {
        let mut changed = false;
        for line in items {
            let Some(key) = line.product.key() else { continue };
            match self.position(&key) {
                // `remove` leaves alone a line added after the order.
                Some(_) => changed |= self.remove(&key, line.quantity, c),
                None => changed |= left_at(&mut self.removed, &key, c.at),
            }
        }
        changed
    }

    /// Records a change of the cart as a whole.
    pub(super) fn touch(&mut self, c: Change<'_>, cart_id: Option<String>, currency: Option<String>) {
        let newer = self.updated_at.is_none_or(|u| c.at >= u);
        if newer {
            self.updated_at = Some(c.at);
            self.channel = Some(c.channel.to_owned());
            self.device = c.device.map(str::to_owned);
        }
        if cart_id.is_some() && (newer || self.cart_id.is_none()) {
            self.cart_id = cart_id;
        }
        if currency.is_some() && (newer || self.currency.is_none()) {
            self.currency = currency;
        }
        self.refresh();
    }

    fn refresh(&mut self) {
        while self.items.len() > MAX_CART_ITEMS {
            let stalest = (0..self.items.len())
                .min_by_key(|&i| self.items[i].updated_at)
                .unwrap_or(0);
            self.items.remove(stalest);
        }
        self.items.sort_by_key(|a| (a.added_at, a.product.key()));
        let value: f64 = self
            .items
            .iter()
            .map(|i| i.product.price.unwrap_or(0.0) * f64::from(i.quantity))
            .sum();
        self.value = read::money(value);
    }

    /// Union of lines; a line both carts hold is taken from the one changed later.
    pub(super) fn absorb(&mut self, other: Cart) {
        for item in other.items {
            let key = item.product.key().unwrap_or_default();
            match self.position(&key) {
                Some(i) if item.updated_at > self.items[i].updated_at => self.items[i] = item,
                Some(_) => {}
                None => self.items.push(item),
            }
        }
        let newer = other.updated_at > self.updated_at;
        if newer {
            self.updated_at = other.updated_at;
            self.channel = other.channel;
            self.device = other.device;
        }
        if other.cart_id.is_some() && (newer || self.cart_id.is_none()) {
            self.cart_id = other.cart_id;
        }
        if other.currency.is_some() && (newer || self.currency.is_none()) {
            self.currency = other.currency;
        }
        self.checkout_started_at = self.checkout_started_at.max(other.checkout_started_at);
        for (key, at) in other.removed {
            left_at(&mut self.removed, &key, at);
        }
        self.refresh();
    }
}

/// Remembers that `key` left a list at `at` (keeping the latest time, and
/// forgetting the oldest entries past the bound). True if anything changed.
pub(super) fn left_at(removed: &mut BTreeMap<String, i64>, key: &str, at: i64) -> bool {
    match removed.get_mut(key) {
        Some(t) if *t >= at => return false,
        Some(t) => *t = at,
        None => {
            removed.insert(key.to_owned(), at);
        }
    }
    while removed.len() > MAX_REMOVALS {
        let oldest = removed.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone());
        match oldest {
            Some(k) => removed.remove(&k),
            None => break,
        };
    }
    true
}
