//! The catalog in memory: products with their variants, every SKU's owner,
//! bulk upserts that report price drops, and the link from what an
//! e-commerce event names (`product_id`, `sku`) to a catalog entry.

use crate::error::FieldError;
use crate::ids::ProductId;
use crate::price::{detect_drop, DropRule, Price, PriceDrop};
use crate::product::{Availability, CatalogItem, Product, Variant};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
struct Entry {
    product: Product,
    variants: BTreeMap<String, Variant>,
}

/// Who a SKU belongs to: a product's own unit, or one of its variants.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    product: ProductId,
    variant: bool,
}

/// What an upsert did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Upserted {
    pub created: bool,
    /// The effective price fell (per the catalog's [`DropRule`]).
    pub price_drop: Option<PriceDrop>,
    /// The catalog availability changed: `(before, after)`.
    pub availability: Option<(Availability, Availability)>,
}

/// The result of a bulk upsert: what was applied, and each refused item
/// with its position in the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkReport {
    pub applied: usize,
    pub created: usize,
    pub price_drops: Vec<PriceDrop>,
    pub errors: Vec<(usize, FieldError)>,
}

/// An event's product resolved to the catalog.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link<'a> {
    pub product: &'a Product,
    pub variant: Option<&'a Variant>,
}

impl Link<'_> {
    /// The SKU the event was about: the variant's, else the product's own.
    pub fn sku(&self) -> &str {
        self.variant.map_or(self.product.own_sku(), |v| v.sku.as_str())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    products: HashMap<ProductId, Entry>,
    skus: HashMap<String, Owner>,
    rule: DropRule,
}

impl Catalog {
    /// A catalog that reports a price drop when `rule` accepts it.
    pub fn new(rule: DropRule) -> Catalog {
        Catalog {
            rule,
            ..Catalog::default()
        }
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.get(id).map(|e| &e.product)
    }

    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.products.values().map(|e| &e.product)
    }

    pub fn variants(&self, id: &str) -> impl Iterator<Item = &Variant> {
        self.products
            .get(id)
            .into_iter()
            .flat_map(|e| e.variants.values())
    }

    pub fn variant(&self, sku: &str) -> Option<&Variant> {
        let owner = self.skus.get(sku).filter(|o| o.variant)?;
        self.products.get(&owner.product)?.variants.get(sku)
    }

    /// The product a SKU (a variant's, or a product's own) belongs to.
    pub fn owner_of(&self, sku: &str) -> Option<&ProductId> {
        self.skus.get(sku).map(|o| &o.product)
    }

    /// The units a shop stocks for a product: its variants' SKUs, or its own
    /// if it has none.
    pub fn skus_of(&self, id: &str) -> Vec<&str> {
        match self.products.get(id) {
            None => Vec::new(),
            Some(e) if e.variants.is_empty() => vec![e.product.own_sku()],
            Some(e) => e.variants.keys().map(String::as_str).collect(),
        }
    }

    /// The price of a product, or of one of its variants.
    pub fn price(&self, id: &str, sku: Option<&str>) -> Option<Price> {
        let e = self.products.get(id)?;
        let p = &e.product;
        match sku.and_then(|s| e.variants.get(s)) {
            Some(v) => Some(variant_price(p, v)),
            None => Some(Price {
                currency: p.currency,
                list: p.price,
                sale: p.sale_price,
            }),
        }
    }

    /// The catalog availability of a SKU: its variant's, else its product's.
    pub fn availability_of_sku(&self, sku: &str) -> Option<Availability> {
        let owner = self.skus.get(sku)?;
        let e = self.products.get(&owner.product)?;
        let variant = e.variants.get(sku).filter(|_| owner.variant);
        Some(
            variant
                .and_then(|v| v.availability)
                .unwrap_or(e.product.availability),
        )
    }

    /// Resolves what an event names. The SKU decides when it is known (it
    /// is the more specific); else `product_id` as a product id; else
    /// `product_id` as a SKU, since many sites send the variant's id there.
    pub fn link(&self, product_id: Option<&str>, sku: Option<&str>) -> Option<Link<'_>> {
        let by_sku = |s: &str| {
            let owner = self.skus.get(s)?;
            let e = self.products.get(&owner.product)?;
            Some(Link {
                product: &e.product,
                variant: e.variants.get(s).filter(|_| owner.variant),
            })
        };
        sku.and_then(by_sku)
            .or_else(|| {
                let e = self.products.get(product_id?)?;
                Some(Link {
                    product: &e.product,
                    variant: None,
                })
            })
            .or_else(|| product_id.and_then(by_sku))
    }

    /// [`Catalog::link`] for a product as folded from e-commerce events.
    pub fn link_event(&self, p: &relais_core::commerce::Product) -> Option<Link<'_>> {
        self.link(p.product_id.as_deref(), p.sku.as_deref())
    }

    /// Adds or replaces a product (its variants stay).
    pub fn upsert_product(&mut self, p: Product) -> Result<Upserted, FieldError> {
        let unit = p.own_sku().to_owned();
        if let Some(owner) = self.skus.get(&unit) {
            if owner.product != p.id || owner.variant {
                let what = if owner.variant {
                    "a variant of product"
                } else {
                    "the SKU of product"
                };
                let field = if p.sku.is_some() { "sku" } else { "id" };
                return Err(FieldError::new(
                    field,
                    format!("'{unit}' is already {what} '{}'", owner.product),
                ));
            }
        }
        let Some(entry) = self.products.get_mut(&p.id) else {
            self.skus.insert(
                unit,
                Owner {
                    product: p.id.clone(),
                    variant: false,
                },
            );
            self.products.insert(
                p.id.clone(),
                Entry {
                    product: p,
                    variants: BTreeMap::new(),
                },
            );
            return Ok(Upserted {
                created: true,
                ..Upserted::default()
            });
        };
        if let Some(v) = entry
            .variants
            .values()
            .find(|v| v.currency.is_some_and(|c| c != p.currency))
        {
            return Err(FieldError::new(
                "currency",
                format!(
                    "{} differs from variant {}'s {}",
                    p.currency,
                    v.sku,
                    v.currency.map_or(String::new(), |c| c.to_string())
                ),
            ));
        }
        if let Some(e) = entry
            .variants
            .values()
            .find_map(|v| sale_above_product_price(&p, v))
        {
            return Err(FieldError::new(
                "price",
                format!("is below a variant's sale price ({})", e.reason),
            ));
        }
        let old = std::mem::replace(&mut entry.product, p);
        let new = &entry.product;
        let old_unit = old.own_sku();
        if old_unit != unit {
            self.skus.remove(old_unit);
            self.skus.insert(
                unit,
                Owner {
                    product: new.id.clone(),
                    variant: false,
                },
            );
        }
        let price = |p: &Product| Price {
            currency: p.currency,
            list: p.price,
            sale: p.sale_price,
        };
        Ok(Upserted {
            created: false,
            price_drop: detect_drop(&price(&old), &price(new), &self.rule).map(|(before, after)| PriceDrop {
                product: new.id.clone(),
                sku: None,
                currency: new.currency,
                before,
                after,
            }),
            availability: (old.availability != new.availability)
                .then_some((old.availability, new.availability)),
        })
    }

    /// Adds or replaces a variant of a product already in the catalog (a
    /// file lists products before their variants).
    pub fn upsert_variant(&mut self, v: Variant) -> Result<Upserted, FieldError> {
        let Some(entry) = self.products.get_mut(&v.product_id) else {
            return Err(FieldError::new(
                "parent_id",
                format!(
                    "product '{}' is not in the catalog (import products before their variants)",
                    v.product_id
                ),
            ));
        };
        let p = &entry.product;
        if let Some(owner) = self.skus.get(&v.sku) {
            if !owner.variant || owner.product != v.product_id {
                let what = if owner.variant {
                    "a variant of product"
                } else {
                    "the SKU of product"
                };
                return Err(FieldError::new(
                    "sku",
                    format!("'{}' is already {what} '{}'", v.sku, owner.product),
                ));
            }
        }
        if let Some(c) = v.currency.filter(|c| *c != p.currency) {
            return Err(FieldError::new(
                "currency",
                format!("{c} differs from product {}'s {}", p.id, p.currency),
            ));
        }
        if let Some(e) = sale_above_product_price(p, &v) {
            return Err(e);
        }
        let drop = |old: &Variant| {
            let (before, after) = detect_drop(&variant_price(p, old), &variant_price(p, &v), &self.rule)?;
            Some(PriceDrop {
                product: p.id.clone(),
                sku: Some(v.sku.clone()),
                currency: p.currency,
                before,
                after,
            })
        };
        let avail = |x: &Variant| x.availability.unwrap_or(p.availability);
        let upserted = match entry.variants.get(&v.sku) {
            None => Upserted {
                created: true,
                ..Upserted::default()
            },
            Some(old) => Upserted {
                created: false,
                price_drop: drop(old),
                availability: (avail(old) != avail(&v)).then_some((avail(old), avail(&v))),
            },
        };
        self.skus.insert(
            v.sku.clone(),
            Owner {
                product: v.product_id.clone(),
                variant: true,
            },
        );
        entry.variants.insert(v.sku.clone(), v);
        Ok(upserted)
    }

    pub fn upsert(&mut self, item: CatalogItem) -> Result<Upserted, FieldError> {
        match item {
            CatalogItem::Product(p) => self.upsert_product(p),
            CatalogItem::Variant(v) => self.upsert_variant(v),
        }
    }

    /// Applies items in order (so products before their variants); a
    /// refused item does not stop the others.
    pub fn upsert_all(&mut self, items: impl IntoIterator<Item = CatalogItem>) -> BulkReport {
        let mut report = BulkReport::default();
        for (i, item) in items.into_iter().enumerate() {
            match self.upsert(item) {
                Ok(u) => {
                    report.applied += 1;
                    report.created += usize::from(u.created);
                    report.price_drops.extend(u.price_drop);
                }
                Err(e) => report.errors.push((i, e)),
            }
        }
        report
    }
}

/// A variant with a sale price and no price of its own is on sale from the
/// product's price: the sale must not be above it.
fn sale_above_product_price(p: &Product, v: &Variant) -> Option<FieldError> {
    let sale = v.sale_price.filter(|s| v.price.is_none() && *s > p.price)?;
    let c = p.currency;
    Some(FieldError::new(
        "sale_price",
        format!(
            "{} of {} is above product {}'s price {}",
            c.format_amount(sale),
            v.sku,
            p.id,
            c.format_amount(p.price)
        ),
    ))
}

/// A variant's own price replaces the product's (sale included); a sale
/// price alone applies to the product's price.
fn variant_price(p: &Product, v: &Variant) -> Price {
    match v.price {
        Some(list) => Price {
            currency: p.currency,
            list,
            sale: v.sale_price,
        },
        None => Price {
            currency: p.currency,
            list: p.price,
            sale: v.sale_price.or(p.sale_price),
        },
    }
}

#[cfg(test)]
mod tests;
