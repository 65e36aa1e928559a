//! The product catalog: 200 products in 10 categories, the same for every
//! seed (it is drawn from the fixed [`CATALOG_SEED`]), so product ids and
//! prices are stable across data sets.
//!
//! Popularity is Zipf-like: the products are ranked by a fixed shuffle and the
//! product of rank `r` (from 1) is drawn with weight `1 / r` (Zipf, exponent 1:
//! the top product twice as often as the second, ten times as the tenth).

use crate::rng::Rng;
use std::sync::OnceLock;

pub const CATALOG_SEED: u64 = 0x5EED_CA7A_1060;
pub const PRODUCTS_PER_CATEGORY: usize = 20;

/// (slug, display name, min price cents, max price cents, 5 adjectives, 4 nouns).
type CategorySpec = (
    &'static str,
    &'static str,
    i64,
    i64,
    [&'static str; 5],
    [&'static str; 4],
);

const CATEGORIES: [CategorySpec; 10] = [
    (
        "shoes",
        "Shoes",
        4_900,
        18_900,
        ["Classic", "Urban", "Trail", "Leather", "Canvas"],
        ["Sneakers", "Boots", "Loafers", "Sandals"],
    ),
    (
        "dresses",
        "Dresses",
        3_900,
        14_900,
        ["Linen", "Floral", "Wrap", "Midi", "Silk"],
        ["Dress", "Shirt Dress", "Maxi Dress", "Slip Dress"],
    ),
    (
        "tops",
        "Tops",
        1_500,
        5_900,
        ["Organic", "Striped", "Oversized", "Fitted", "Ribbed"],
        ["T-Shirt", "Shirt", "Blouse", "Polo"],
    ),
    (
        "knitwear",
        "Knitwear",
        3_900,
        12_900,
        ["Merino", "Cashmere", "Cable", "Chunky", "Fine"],
        ["Sweater", "Cardigan", "Turtleneck", "Vest"],
    ),
    (
        "jeans",
        "Jeans & Trousers",
        3_900,
        9_900,
        ["Slim", "Straight", "Wide", "Tapered", "Cropped"],
        ["Jeans", "Chinos", "Trousers", "Joggers"],
    ),
    (
        "outerwear",
        "Coats & Jackets",
        7_900,
        29_900,
        ["Wool", "Quilted", "Waterproof", "Denim", "Tailored"],
        ["Coat", "Parka", "Jacket", "Trench"],
    ),
    (
        "accessories",
        "Accessories",
        900,
        6_900,
        ["Leather", "Woven", "Printed", "Recycled", "Suede"],
        ["Belt", "Scarf", "Cap", "Wallet"],
    ),
    (
        "bags",
        "Bags",
        2_900,
        24_900,
        ["Tote", "Crossbody", "Weekend", "Mini", "Work"],
        ["Bag", "Backpack", "Pouch", "Satchel"],
    ),
    (
        "home",
        "Home",
        1_200,
        14_900,
        ["Linen", "Stoneware", "Woven", "Scented", "Oak"],
        ["Cushion", "Vase", "Throw", "Candle"],
    ),
    (
        "beauty",
        "Beauty",
        900,
        7_900,
        ["Hydrating", "Gentle", "Daily", "Repair", "Botanical"],
        ["Cream", "Serum", "Cleanser", "Lip Balm"],
    ),
];

#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub category: &'static str,
    pub price_cents: i64,
}

pub struct Catalog {
    pub products: Vec<Product>,
    /// Cumulative popularity weights over all products.
    all: Vec<f64>,
    /// Per category: product indices and their cumulative weights.
    by_category: Vec<(Vec<usize>, Vec<f64>)>,
}

impl Catalog {
    /// The shared catalog, built once.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(Catalog::build)
    }

    fn build() -> Catalog {
        let mut rng = Rng::new(CATALOG_SEED);
        let mut products = Vec::with_capacity(CATEGORIES.len() * PRODUCTS_PER_CATEGORY);
        for (c, (slug, cat_name, lo, hi, adjs, nouns)) in CATEGORIES.iter().enumerate() {
            for i in 0..PRODUCTS_PER_CATEGORY {
                let n = c * PRODUCTS_PER_CATEGORY + i + 1;
                // Shop prices end in .99 or .49 (or .00 for some).
                let euros = rng.range(*lo / 100, *hi / 100 - 1);
                let cents = rng.pick(&[99, 99, 49, 0]);
                products.push(Product {
                    id: format!("prod-{n:04}"),
                    sku: format!("{}-{n:04}", slug[..3].to_ascii_uppercase()),
                    name: format!("{} {}", adjs[i % 5], nouns[i / 5]),
                    category: cat_name,
                    price_cents: euros * 100 + cents,
                });
            }
        }
        // Popularity rank: a fixed Fisher-Yates shuffle of the products.
        let mut order: Vec<usize> = (0..products.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut weight = vec![0.0; products.len()];
        for (rank, &p) in order.iter().enumerate() {
            weight[p] = zipf_weight(rank + 1);
        }
        let all = cumulative(weight.iter().copied());
        let by_category = (0..CATEGORIES.len())
            .map(|c| {
                let idx: Vec<usize> = (c * PRODUCTS_PER_CATEGORY..(c + 1) * PRODUCTS_PER_CATEGORY).collect();
                let cum = cumulative(idx.iter().map(|&i| weight[i]));
                (idx, cum)
            })
            .collect();
        Catalog {
            products,
            all,
            by_category,
        }
    }

    pub fn categories() -> usize {
        CATEGORIES.len()
    }

    /// Slug and display name of category `c`.
    pub fn category(c: usize) -> (&'static str, &'static str) {
        (CATEGORIES[c].0, CATEGORIES[c].1)
    }

    /// A product by popularity over the whole catalog.
    pub fn pick(&self, rng: &mut Rng) -> usize {
        rng.by_cumulative(&self.all)
    }

    /// A product by popularity within one category.
    pub fn pick_in(&self, rng: &mut Rng, category: usize) -> usize {
        let (idx, cum) = &self.by_category[category];
        idx[rng.by_cumulative(cum)]
    }
}

/// `1 / rank`: a Zipf exponent of exactly 1 keeps to exact
/// IEEE arithmetic (no libm `powf`, whose last bit may vary by platform).
fn zipf_weight(rank: usize) -> f64 {
    1.0 / rank as f64
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    weights
        .map(|w| {
            total += w;
            total
        })
        .collect()
}

/// Euros as a JSON number from integer cents (`1999` → `19.99`).
pub fn money(cents: i64) -> f64 {
    cents as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_fixed_and_skewed() {
        let c = Catalog::get();
        assert_eq!(c.products.len(), 200);
        let mut ids: Vec<&str> = c.products.iter().map(|p| p.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 200);
        assert!(c.products.iter().all(|p| p.price_cents >= 900));
        let mut rng = Rng::new(1);
        let mut counts = vec![0u32; 200];
        for _ in 0..20_000 {
            counts[c.pick(&mut rng)] += 1;
        }
        counts.sort_unstable_by(|a, b| b.cmp(a));
        // The top product gets several times the median product's draws.
        assert!(counts[0] > 10 * counts[100], "{counts:?}");
        assert_eq!(money(1999).to_string(), "19.99");
    }
}
