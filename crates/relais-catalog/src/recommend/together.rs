//! "Frequently bought together": co-purchase counts over orders, with
//! support, confidence and lift.
//!
//! For products a and b over N orders, with n(a) the orders that contain a
//! and n(ab) those that contain both:
//! support(a,b) = n(ab) / N, confidence(a→b) = n(ab) / n(a), and
//! lift(a,b) = n(ab)·N / (n(a)·n(b)), above 1 when they sell together more
//! often than chance would have it.
//!
//! Counting is built for millions of orders: product ids become `u32`, each
//! order adds its pairs as packed `u64` keys to a buffer, and a full buffer
//! is sorted and merged into a sorted run of (pair, count). Memory is one
//! 12-byte entry per distinct pair plus the buffer; no hash map of pairs.
//! An order contributes its first [`MAX_ITEMS_PER_ORDER`] distinct products
//! only: a 300-line wholesale order would add 45,000 pairs of noise.

use std::collections::HashMap;

/// Distinct products of one order that are counted (the rest are ignored).
pub const MAX_ITEMS_PER_ORDER: usize = 50;

/// Pairs buffered before a sort-and-merge (32 MB of keys).
const BUFFER_PAIRS: usize = 1 << 22;

/// Product ids as dense `u32`s, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interner {
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&k) = self.index.get(name) {
            return k;
        }
        let k = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), k);
        k
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    pub fn name(&self, k: u32) -> &str {
        &self.names[k as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }
}

/// Thresholds of the model. A pair is kept when it was bought together in
/// at least `min_orders` orders and `min_support` of all orders; a
/// direction a→b when its confidence and lift reach their minimums. Each
/// product keeps its `max_per_product` best companions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TogetherParams {
    pub min_orders: u32,
    pub min_support: f64,
    pub min_confidence: f64,
    pub min_lift: f64,
    pub max_per_product: usize,
}

impl Default for TogetherParams {
    /// Two orders at least (one order is an anecdote), any support, any
    /// confidence, and a lift above chance.
    fn default() -> TogetherParams {
        TogetherParams {
            min_orders: 2,
            min_support: 0.0,
            min_confidence: 0.0,
            min_lift: 1.0,
            max_per_product: 20,
        }
    }
}

/// Feeds orders in, one at a time.
#[derive(Debug)]
pub struct CoPurchaseBuilder {
    ids: Interner,
    item_orders: Vec<u32>,
    orders: u64,
    buffer: Vec<u64>,
    /// Sorted by pair key, each key once.
    counted: Vec<(u64, u32)>,
    order: Vec<u32>,
    /// [`BUFFER_PAIRS`], smaller in tests so that merges happen.
    buffer_limit: usize,
}

impl Default for CoPurchaseBuilder {
    fn default() -> CoPurchaseBuilder {
        CoPurchaseBuilder::new()
    }
}

fn key(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

impl CoPurchaseBuilder {
    pub fn new() -> CoPurchaseBuilder {
        CoPurchaseBuilder {
            ids: Interner::default(),
            item_orders: Vec::new(),
            orders: 0,
            buffer: Vec::new(),
            counted: Vec::new(),
            order: Vec::new(),
            buffer_limit: BUFFER_PAIRS,
        }
    }

    #[cfg(test)]
    pub(crate) fn with_buffer(pairs: usize) -> CoPurchaseBuilder {
        CoPurchaseBuilder {
            buffer_limit: pairs,
            ..CoPurchaseBuilder::new()
        }
    }

    /// One order's products (repeats count once; an order without products
    /// is not an order here).
    pub fn add_order<'a>(&mut self, items: impl IntoIterator<Item = &'a str>) {
        self.order.clear();
        for item in items {
            let k = self.ids.intern(item);
            if !self.order.contains(&k) {
                self.order.push(k);
                if self.order.len() == MAX_ITEMS_PER_ORDER {
                    break;
                }
            }
        }
        if self.order.is_empty() {
            return;
        }
        self.orders += 1;
        self.item_orders.resize(self.ids.len(), 0);
        self.order.sort_unstable();
        for (i, &a) in self.order.iter().enumerate() {
            self.item_orders[a as usize] += 1;
            for &b in &self.order[i + 1..] {
                self.buffer.push(key(a, b));
            }
        }
        if self.buffer.len() >= self.buffer_limit {
            self.flush();
        }
    }

    /// Sorts the buffer and merges its counts into `counted`.
    fn flush(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        self.buffer.sort_unstable();
        let mut runs: Vec<(u64, u32)> = Vec::with_capacity(self.buffer.len() / 2);
        for &k in &self.buffer {
            match runs.last_mut() {
                Some((last, n)) if *last == k => *n += 1,
                _ => runs.push((k, 1)),
            }
        }
        self.buffer.clear();
        if self.counted.is_empty() {
            self.counted = runs;
            return;
        }
        let old = std::mem::take(&mut self.counted);
        let mut merged = Vec::with_capacity(old.len() + runs.len());
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < runs.len() {
            match old[i].0.cmp(&runs[j].0) {
                std::cmp::Ordering::Less => {
                    merged.push(old[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    merged.push(runs[j]);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    merged.push((old[i].0, old[i].1 + runs[j].1));
                    i += 1;
                    j += 1;
                }
            }
        }
        merged.extend_from_slice(&old[i..]);
        merged.extend_from_slice(&runs[j..]);
        self.counted = merged;
    }

    /// The model: every kept pair, as each product's best companions.
    pub fn build(mut self, params: &TogetherParams) -> CoPurchase {
        self.flush();
        let n = self.ids.len();
        let orders = self.orders;
        let item_orders = std::mem::take(&mut self.item_orders);
        let min_support_orders = (params.min_support * orders as f64).ceil().max(0.0) as u64;
        let keep = |from: u32, to: u32, c: u32| {
            let (ca, cb) = (
                u64::from(item_orders[from as usize]),
                u64::from(item_orders[to as usize]),
            );
            let c = u64::from(c);
            c as f64 / ca as f64 >= params.min_confidence
                && (c * orders) as f64 / (ca * cb) as f64 >= params.min_lift
        };
        let pairs = self
            .counted
            .iter()
            .map(|&(k, c)| ((k >> 32) as u32, k as u32, c))
            .filter(|&(_, _, c)| c >= params.min_orders && u64::from(c) >= min_support_orders);
        // Two passes over the pairs: count each product's companions, then
        // place them (compressed rows: no per-product allocation).
        let mut offsets = vec![0usize; n + 1];
        for (a, b, c) in pairs.clone() {
            offsets[a as usize + 1] += usize::from(keep(a, b, c));
            offsets[b as usize + 1] += usize::from(keep(b, a, c));
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut companions = vec![(0u32, 0u32); offsets[n]];
        for (a, b, c) in pairs {
            for (from, to) in [(a, b), (b, a)] {
                if keep(from, to, c) {
                    companions[fill[from as usize]] = (to, c);
                    fill[from as usize] += 1;
                }
            }
        }
        drop(self.counted);
        // Best first: for a fixed product, confidence orders like the pair
        // count, then lift like the companion's rarity, then the name.
        let ids = &self.ids;
        let mut kept_offsets = vec![0usize; n + 1];
        let mut kept = Vec::new();
        for p in 0..n {
            let row = &mut companions[offsets[p]..offsets[p + 1]];
            row.sort_unstable_by(|x, y| {
                y.1.cmp(&x.1)
                    .then(item_orders[x.0 as usize].cmp(&item_orders[y.0 as usize]))
                    .then_with(|| ids.name(x.0).cmp(ids.name(y.0)))
            });
            kept.extend_from_slice(&row[..row.len().min(params.max_per_product)]);
            kept_offsets[p + 1] = kept.len();
        }
        CoPurchase {
            ids: self.ids,
            item_orders,
            orders,
            offsets: kept_offsets,
            companions: kept,
        }
    }
}

/// One kept association a → b.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Association<'a> {
    pub product: &'a str,
    pub with: &'a str,
    /// Orders that contain both.
    pub orders: u32,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

/// The co-purchase model: each product's best companions.
#[derive(Debug, Clone, Default)]
pub struct CoPurchase {
    ids: Interner,
    item_orders: Vec<u32>,
    orders: u64,
    offsets: Vec<usize>,
    companions: Vec<(u32, u32)>,
}

impl CoPurchase {
    /// Orders counted (those with at least one product).
    pub fn orders(&self) -> u64 {
        self.orders
    }

    pub fn orders_with(&self, product: &str) -> u32 {
        self.ids.get(product).map_or(0, |k| self.item_orders[k as usize])
    }

    /// Associations kept, over all products (each direction counts).
    pub fn len(&self) -> usize {
        self.companions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.companions.is_empty()
    }

    /// The product's companions, best first.
    pub fn together(&self, product: &str) -> impl Iterator<Item = Association<'_>> + '_ {
        let row = match self.ids.get(product) {
            Some(k) => &self.companions[self.offsets[k as usize]..self.offsets[k as usize + 1]],
            None => &[][..],
        };
        let a = self.ids.get(product).unwrap_or(0);
        row.iter().map(move |&(b, c)| self.association(a, b, c))
    }

    /// The kept association `product → with`, if any.
    pub fn between(&self, product: &str, with: &str) -> Option<Association<'_>> {
        self.together(product).find(|x| x.with == with)
    }

    fn association(&self, a: u32, b: u32, c: u32) -> Association<'_> {
        let (ca, cb, c) = (
            u64::from(self.item_orders[a as usize]),
            u64::from(self.item_orders[b as usize]),
            u64::from(c),
        );
        // Each ratio is one division of exact integers: the nearest double
        // to the true value, so hand-computed fractions compare equal.
        Association {
            product: self.ids.name(a),
            with: self.ids.name(b),
            orders: c as u32,
            support: c as f64 / self.orders as f64,
            confidence: c as f64 / ca as f64,
            lift: (c * self.orders) as f64 / (ca * cb) as f64,
        }
    }
}
