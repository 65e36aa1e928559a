//! Synthetic shops, customers, catalog and orders for the benchmarks:
//! shops and customers clustered around French cities like a real chain's,
//! sales skewed towards bestsellers, and products that sell with their
//! neighbours so that co-purchase finds real associations.

use crate::catalog::Catalog;
use crate::currency::Currency;
use crate::geo::GeoPoint;
use crate::ids::{ProductId, ShopId};
use crate::price::DropRule;
use crate::product::{Availability, Product};
use crate::rng::Rng;
use crate::shop::{Address, Shop, Zone};
use std::collections::{BTreeMap, BTreeSet};

pub(super) const YEAR_MS: i64 = 365 * 86_400_000;

/// The twenty largest French cities.
const CITIES: [(f64, f64); 20] = [
    (48.8566, 2.3522),
    (43.2965, 5.3698),
    (45.7640, 4.8357),
    (43.6047, 1.4442),
    (43.7102, 7.2620),
    (47.2184, -1.5536),
    (48.5734, 7.7521),
    (43.6108, 3.8767),
    (44.8378, -0.5792),
    (50.6292, 3.0573),
    (48.1173, -1.6778),
    (49.2583, 4.0317),
    (49.4944, 0.1079),
    (45.4397, 4.3872),
    (43.1242, 5.9280),
    (45.1885, 5.7245),
    (47.3220, 5.0415),
    (47.4784, -0.5632),
    (43.8367, 4.3601),
    (45.7772, 3.0870),
];

fn point(lat: f64, lon: f64) -> GeoPoint {
    GeoPoint::new(lat.clamp(-90.0, 90.0), lon.clamp(-180.0, 180.0)).expect("clamped")
}

/// Around a city (a triangular spread of ±`deg`), or anywhere in mainland
/// France one time in `1 / uniform`.
fn place(rng: &mut Rng, deg: f64, uniform: f64) -> GeoPoint {
    if rng.f64() < uniform {
        return point(rng.range_f64(43.0, 50.5), rng.range_f64(-1.5, 7.0));
    }
    let (lat, lon) = CITIES[rng.below(CITIES.len() as u64) as usize];
    let spread = |rng: &mut Rng| (rng.f64() - rng.f64()) * deg;
    point(lat + spread(rng), lon + spread(rng))
}

pub(super) fn shop_id(i: usize) -> String {
    format!("shop-{i:04}")
}

pub(super) fn sku_id(i: usize) -> String {
    format!("sku-{i:06}")
}

/// For each SKU, the shops that carry it and their level (0..=5, so some
/// are out of stock): each SKU is carried by 0.5 %–50 % of the shops, most
/// by few (share = 0.005 + 0.5·u³, 13 % on average).
pub(super) fn stock(rng: &mut Rng, shops: usize, skus: usize) -> Vec<Vec<(u32, i32)>> {
    let mut all = Vec::with_capacity(skus);
    for _ in 0..skus {
        let share = 0.005 + 0.5 * rng.f64().powi(3);
        let mut carried = Vec::new();
        for shop in 0..shops as u32 {
            if rng.f64() < share {
                carried.push((shop, rng.below(6) as i32));
            }
        }
        all.push(carried);
    }
    all
}

pub(super) fn shops(rng: &mut Rng, n: usize) -> Vec<Shop> {
    let zone = Zone::new("Europe/Paris").expect("in every tz database");
    (0..n)
        .map(|i| Shop {
            id: ShopId::new(shop_id(i)).expect("valid"),
            name: format!("Shop {i}"),
            address: Address::default(),
            location: place(rng, 0.25, 0.3),
            time_zone: zone.clone(),
            hours: None,
            services: BTreeSet::new(),
        })
        .collect()
}

pub(super) fn customer(rng: &mut Rng) -> GeoPoint {
    place(rng, 0.3, 0.2)
}

pub(super) fn product_id(i: usize) -> String {
    format!("p{i:06}")
}

/// Products in 20 departments × 10 categories, each with its two next
/// products as complements.
pub(super) fn catalog(rng: &mut Rng, n: usize) -> Catalog {
    let mut c = Catalog::new(DropRule::default());
    for i in 0..n {
        let id = |j: usize| ProductId::new(product_id(j % n)).expect("valid");
        let p = Product {
            id: id(i),
            sku: None,
            name: format!("Product {i}"),
            description: None,
            category: vec![
                format!("Department {}", i % 20),
                format!("Category {}", (i / 20) % 10),
            ],
            brand: None,
            currency: Currency::EUR,
            price: 500 + rng.below(20_000) as i64,
            sale_price: None,
            image_url: None,
            url: None,
            availability: if rng.below(50) == 0 {
                Availability::OutOfStock
            } else {
                Availability::InStock
            },
            complements: if n > 2 {
                vec![id(i + 1), id(i + 2)]
            } else {
                Vec::new()
            },
            attributes: BTreeMap::new(),
        };
        c.upsert_product(p).expect("generated products are valid");
    }
    c
}

/// Orders as product indices in one flat vector.
pub(super) struct Orders {
    pub items: Vec<u32>,
    pub offsets: Vec<u32>,
    pub at: Vec<i64>,
}

/// `n` orders of 2–5 products: the first skewed towards bestsellers, each
/// other one half the time among the 20 products after it (what sells
/// together), else another bestseller.
pub(super) fn orders(rng: &mut Rng, n: usize, products: usize) -> Orders {
    let mut o = Orders {
        items: Vec::with_capacity(n * 4),
        offsets: Vec::with_capacity(n + 1),
        at: Vec::with_capacity(n),
    };
    o.offsets.push(0);
    let p = products as u64;
    for _ in 0..n {
        let first = rng.skewed(p, 2.0);
        o.items.push(first as u32);
        for _ in 1..2 + rng.below(4) {
            let next = if rng.below(2) == 0 {
                (first + 1 + rng.below(20)) % p
            } else {
                rng.skewed(p, 2.0)
            };
            o.items.push(next as u32);
        }
        o.offsets.push(o.items.len() as u32);
        o.at.push(rng.below(YEAR_MS as u64) as i64);
    }
    o
}
