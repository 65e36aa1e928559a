//! Price signals: "Price Dropped" when a product's price falls, and "below
//! what the customer saw" when it is now under the price of their view.
//!
//! Only the effective price counts (the sale price when set, else the list
//! price): that is what the customer pays. Prices in different currencies
//! are never compared: a currency change is a repricing, not a drop.

use crate::currency::Currency;
use crate::ids::ProductId;
use serde::Serialize;

/// A price as the customer sees it, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Price {
    pub currency: Currency,
    pub list: i64,
    pub sale: Option<i64>,
}

impl Price {
    /// What the customer pays.
    pub fn effective(&self) -> i64 {
        self.sale.unwrap_or(self.list)
    }
}

/// How large a fall must be to be worth telling: at least `min_amount`
/// minor units and at least `min_basis_points` of the old price (100 = 1 %).
/// The default announces any fall. Compared in integers, so a rule of 10 %
/// on 20.00 → 18.00 holds exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropRule {
    pub min_amount: i64,
    pub min_basis_points: u32,
}

impl DropRule {
    /// Whether `before → after` is a fall this rule announces.
    pub fn accepts(&self, before: i64, after: i64) -> bool {
        let fall = before - after;
        fall > 0
            && fall >= self.min_amount
            && i128::from(fall) * 10_000 >= i128::from(self.min_basis_points) * i128::from(before)
    }
}

/// A product's (or one variant's) effective price fell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceDrop {
    pub product: ProductId,
    /// The variant whose own price fell; `None` for the product's price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    pub currency: Currency,
    pub before: i64,
    pub after: i64,
}

impl PriceDrop {
    pub fn amount(&self) -> i64 {
        self.before - self.after
    }

    /// The fall in percent of the old price, to two decimals.
    pub fn percent(&self) -> f64 {
        percent(self.before, self.after)
    }
}

fn percent(before: i64, after: i64) -> f64 {
    if before <= 0 {
        return 0.0;
    }
    // Basis points rounded half up in integers, then one exact division.
    let bp = ((i128::from(before - after) * 20_000 + i128::from(before)) / (2 * i128::from(before))) as f64;
    bp / 100.0
}

/// The drop from `before` to `after`, if the effective price fell in the
/// same currency by as much as `rule` asks.
pub fn detect_drop(before: &Price, after: &Price, rule: &DropRule) -> Option<(i64, i64)> {
    let (b, a) = (before.effective(), after.effective());
    (before.currency == after.currency && rule.accepts(b, a)).then_some((b, a))
}

/// The current price is below what a customer saw (`Product Viewed` with
/// `price: 89.99`, a float as events carry it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BelowSeen {
    pub currency: Currency,
    pub seen: i64,
    pub now: i64,
}

impl BelowSeen {
    pub fn amount(&self) -> i64 {
        self.seen - self.now
    }

    pub fn percent(&self) -> f64 {
        percent(self.seen, self.now)
    }
}

/// Compares a seen price with the current one. The seen amount is read in
/// the current currency, rounded to its minor unit (events carry floats);
/// if the event named another currency, nothing is compared.
pub fn below_seen(
    seen: f64,
    seen_currency: Option<Currency>,
    now: &Price,
    rule: &DropRule,
) -> Option<BelowSeen> {
    if seen_currency.is_some_and(|c| c != now.currency) {
        return None;
    }
    let seen = now.currency.from_f64(seen)?;
    rule.accepts(seen, now.effective()).then_some(BelowSeen {
        currency: now.currency,
        seen,
        now: now.effective(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(list: i64, sale: Option<i64>) -> Price {
        Price {
            currency: Currency::EUR,
            list,
            sale,
        }
    }

    #[test]
    fn a_drop_is_a_fall_of_the_effective_price_in_the_same_currency() {
        let any = DropRule::default();
        assert_eq!(
            detect_drop(&eur(2000, None), &eur(2000, Some(1800)), &any),
            Some((2000, 1800))
        );
        assert_eq!(
            detect_drop(&eur(2000, Some(1500)), &eur(1800, None), &any),
            None,
            "1500 → 1800 is a rise"
        );
        assert_eq!(detect_drop(&eur(2000, None), &eur(2000, None), &any), None);
        let usd = Price {
            currency: Currency::parse("USD").unwrap(),
            list: 1000,
            sale: None,
        };
        assert_eq!(detect_drop(&eur(2000, None), &usd, &any), None);
    }

    #[test]
    fn rules_compare_exactly() {
        let ten_percent = DropRule {
            min_amount: 0,
            min_basis_points: 1000,
        };
        assert!(ten_percent.accepts(2000, 1800), "exactly 10 %");
        assert!(!ten_percent.accepts(2000, 1801));
        let one_euro = DropRule {
            min_amount: 100,
            min_basis_points: 0,
        };
        assert!(one_euro.accepts(2000, 1900));
        assert!(!one_euro.accepts(2000, 1901));
        let drop = PriceDrop {
            product: ProductId::new("p").unwrap(),
            sku: None,
            currency: Currency::EUR,
            before: 3000,
            after: 1999,
        };
        assert_eq!((drop.amount(), drop.percent()), (1001, 33.37));
    }

    #[test]
    fn below_what_the_customer_saw() {
        let any = DropRule::default();
        let now = eur(8999, Some(6990));
        assert_eq!(
            below_seen(89.99, None, &now, &any),
            Some(BelowSeen {
                currency: Currency::EUR,
                seen: 8999,
                now: 6990
            })
        );
        assert_eq!(below_seen(69.90, None, &now, &any), None, "the same price");
        assert_eq!(
            below_seen(69.899, None, &now, &any),
            None,
            "69.899 rounds to 69.90"
        );
        assert_eq!(below_seen(89.99, Currency::parse("GBP").ok(), &now, &any), None);
        assert_eq!(below_seen(f64::NAN, None, &now, &any), None);
        let b = below_seen(100.0, Some(Currency::EUR), &now, &any).unwrap();
        assert_eq!((b.amount(), b.percent()), (3010, 30.1));
    }
}
