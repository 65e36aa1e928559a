//! RFM scores: how recently, how often and for how much a customer bought,
//! each as a quintile score 1..=5 against the buyers of the same workspace.
//!
//! The engine refreshes a workspace's cut points on a schedule (every
//! profile's order statistics → [`cuts`] per measure → [`RfmCuts`]); a
//! profile is scored against the latest cut points whenever it is read
//! ([`score`]). A profile without an order is not a buyer and has no score.
//!
//! **Recency is measured at the refresh.** R compares a customer's days since
//! the last order with the other buyers' *at the instant the cut points were
//! computed* ([`RfmCuts::at`]), so that the customer and the population are
//! measured at the same moment. R therefore does not drift with time alone:
//! it changes when the customer orders (an order after the refresh counts 0
//! days, the most recent there is) and at the next refresh. This also keeps
//! segment membership exact without scheduled re-checks.
//!
//! **Cut points** are the 20/40/60/80 % quantiles by linear interpolation
//! between closest ranks (Hyndman & Fan type 7, numpy's default, Excel's
//! `PERCENTILE.INC`): over the sorted values `x[0..n]`, the p-quantile is
//! `x[i] + f (x[i+1] - x[i])` where `i + f = p (n - 1)`.
//!
//! **Scores.** A value's score is 1 + the number of cut points it is better
//! than (F and M: greater; R: fewer days), + half (rounded down) of the cut
//! points it equals. Without ties that is the classic quintile (a value at a
//! cut point belongs to the lower fifth). Buyers tied on a value that spans
//! several quintiles get the middle of the scores they span, rounded down:
//! if 60 % of buyers ordered once, they span F 1..3 and all get 2; if every
//! buyer is alike (or there is only one), every one gets 3. Fewer than 5
//! buyers still spread over the whole range (3 buyers with 1, 2 and 3 orders
//! get F 1, 3 and 5).

use crate::commerce::OrderStats;
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;

/// A workspace's cut points: for each measure, its 20/40/60/80 % quantiles
/// over the workspace's buyers, ascending.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RfmCuts {
    /// Whole days since the last order, at `at`.
    pub recency: [f64; 4],
    /// Order count.
    pub frequency: [f64; 4],
    /// Lifetime value.
    pub monetary: [f64; 4],
    /// When they were computed (ms): the instant recency is measured at.
    pub at: i64,
}

/// A buyer's scores, each 1..=5 (5 = most recent, most frequent, highest value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmScore {
    pub r: u8,
    pub f: u8,
    pub m: u8,
}

impl RfmScore {
    /// The three digits, R then F then M: `"545"`.
    pub fn code(&self) -> String {
        format!("{}{}{}", self.r, self.f, self.m)
    }
}

/// What a buyer is scored on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfmMeasures {
    /// Whole days from the last order to the reference instant (0 when the
    /// order is later).
    pub days: f64,
    pub orders: f64,
    pub value: f64,
}

/// A profile's measures at `at`; `None` without an order (not a buyer).
pub fn measures(stats: &OrderStats, at: i64) -> Option<RfmMeasures> {
    let last = stats.last_order_at.filter(|_| stats.order_count > 0)?;
    Some(RfmMeasures {
        days: (at.saturating_sub(last).max(0) / DAY_MS) as f64,
        orders: stats.order_count as f64,
        value: stats.lifetime_value,
    })
}

/// The 20/40/60/80 % quantiles of `values` (sorted in place), by linear
/// interpolation between closest ranks (see the module documentation).
/// All four are the value itself for a single value; `[0.0; 4]` for none
/// (there is nobody to score then).
pub fn cuts(values: &mut [f64]) -> [f64; 4] {
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return [0.0; 4];
    }
    // p (n - 1) with p = k / 5, split into whole and fractional part exactly.
    std::array::from_fn(|j| {
        let k = j + 1;
        let (i, rest) = ((n - 1) * k / 5, (n - 1) * k % 5);
        let low = values[i];
        if rest == 0 {
            low
        } else {
            low + (rest as f64 / 5.0) * (values[i + 1] - low)
        }
    })
}

/// Cut points over a workspace's buyers, with recency measured at `at`.
pub fn cuts_of(buyers: &[RfmMeasures], at: i64) -> RfmCuts {
    let column = |f: fn(&RfmMeasures) -> f64| cuts(&mut buyers.iter().map(f).collect::<Vec<_>>());
    RfmCuts {
        recency: column(|b| b.days),
        frequency: column(|b| b.orders),
        monetary: column(|b| b.value),
        at,
    }
}

/// A buyer's scores against a workspace's cut points.
pub fn score(cuts: &RfmCuts, m: &RfmMeasures) -> RfmScore {
    RfmScore {
        r: quintile(&cuts.recency, m.days, false),
        f: quintile(&cuts.frequency, m.orders, true),
        m: quintile(&cuts.monetary, m.value, true),
    }
}

/// A profile's scores; `None` when it has no order.
pub fn score_profile(cuts: &RfmCuts, stats: &OrderStats) -> Option<RfmScore> {
    measures(stats, cuts.at).map(|m| score(cuts, &m))
}

/// 1 + cut points `value` is better than + half (rounded down) of those it
/// equals.
fn quintile(cuts: &[f64; 4], value: f64, higher_is_better: bool) -> u8 {
    let better = cuts
        .iter()
        .filter(|&&c| if higher_is_better { value > c } else { value < c })
        .count();
    let equal = cuts.iter().filter(|&&c| value == c).count();
    (1 + better + equal / 2) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000_000;

    fn stats(days_ago: i64, orders: u64, value: f64) -> OrderStats {
        OrderStats {
            order_count: orders,
            lifetime_value: value,
            first_order_at: Some(NOW - 400 * DAY_MS),
            // An hour more than whole days: recency counts whole days.
            last_order_at: Some(NOW - days_ago * DAY_MS - 3_600_000),
            purchase_cycle_days: None,
        }
    }

    fn close(got: [f64; 4], want: [f64; 4]) {
        assert!(
            got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-9),
            "{got:?} ≠ {want:?}"
        );
    }

    /// Ten buyers: (days since the last order, orders, lifetime value, expected code).
    const BUYERS: [(i64, u64, f64, &str); 10] = [
        (2, 6, 90.0, "555"),
        (5, 1, 20.0, "511"),
        (9, 4, 80.0, "454"),
        (14, 3, 60.0, "443"),
        (20, 1, 10.0, "311"),
        (30, 2, 50.0, "333"),
        (45, 3, 70.0, "244"),
        (60, 2, 40.0, "232"),
        (90, 1, 100.0, "115"),
        (120, 1, 30.0, "112"),
    ];

    #[test]
    fn hand_computed_workspace() {
        let buyers: Vec<RfmMeasures> = BUYERS
            .iter()
            .map(|(d, o, v, _)| measures(&stats(*d, *o, *v), NOW).unwrap())
            .collect();
        let c = cuts_of(&buyers, NOW);
        // n = 10: p (n - 1) = 1.8, 3.6, 5.4, 7.2.
        // days 2 5 9 14 20 30 45 60 90 120: 5 + .8×4, 14 + .6×6, 30 + .4×15, 60 + .2×30
        close(c.recency, [8.2, 17.6, 36.0, 66.0]);
        // orders 1 1 1 1 2 2 3 3 4 6: 1, 1 + .6×1, 2 + .4×1, 3 + .2×1
        close(c.frequency, [1.0, 1.6, 2.4, 3.2]);
        // values 10 … 100: 20 + .8×10, 40 + .6×10, 60 + .4×10, 80 + .2×10
        close(c.monetary, [28.0, 46.0, 64.0, 82.0]);
        assert_eq!(c.at, NOW);
        for (d, o, v, code) in BUYERS {
            let s = score_profile(&c, &stats(d, o, v)).unwrap();
            assert_eq!(s.code(), code, "{d} days, {o} orders, {v}");
        }
        // The one-time buyers (40 %) span F 1..2 and get 1; an order after
        // the refresh is the most recent there is.
        let late = OrderStats {
            last_order_at: Some(NOW + DAY_MS),
            ..stats(0, 1, 95.0)
        };
        assert_eq!(score_profile(&c, &late).map(|s| s.code()), Some("515".into()));
    }

    #[test]
    fn no_order_no_score() {
        let c = cuts_of(&[measures(&stats(1, 1, 5.0), NOW).unwrap()], NOW);
        assert_eq!(score_profile(&c, &OrderStats::default()), None);
        let cancelled_only = OrderStats {
            order_count: 0,
            ..stats(1, 0, 0.0)
        };
        assert_eq!(measures(&cancelled_only, NOW), None);
    }

    #[test]
    fn quantiles_by_linear_interpolation() {
        assert_eq!(cuts(&mut []), [0.0; 4]);
        assert_eq!(cuts(&mut [7.0]), [7.0; 4]);
        assert_eq!(cuts(&mut [10.0, 0.0]), [2.0, 4.0, 6.0, 8.0]);
        // Six values: p (n - 1) = 1, 2, 3, 4 exactly: the values themselves.
        assert_eq!(cuts(&mut [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]), [2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn ties_get_the_middle_of_the_scores_they_span() {
        let alike = RfmMeasures {
            days: 3.0,
            orders: 2.0,
            value: 50.0,
        };
        // One buyer, or buyers all alike: nothing tells them apart.
        for n in [1, 2, 7] {
            let c = cuts_of(&vec![alike; n], NOW);
            assert_eq!(score(&c, &alike).code(), "333", "{n} alike buyers");
        }
        // 60 % one-time buyers span F 1..3: they get 2.
        let mut orders = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 5.0];
        let f = cuts(&mut orders);
        assert_eq!(f, [1.0, 1.0, 1.4, 2.0]);
        let scores: Vec<u8> = [1.0, 2.0, 5.0].iter().map(|o| quintile(&f, *o, true)).collect();
        assert_eq!(scores, [2, 4, 5]);
        // The same shape in days: 60 % bought today and span R 3..5 (→ 4);
        // 30 % a day ago span R 1..2 (→ 1, rounded down).
        let r = cuts(&mut [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 4.0]);
        let scores: Vec<u8> = [0.0, 1.0, 4.0].iter().map(|d| quintile(&r, *d, false)).collect();
        assert_eq!(scores, [4, 1, 1]);
    }

    #[test]
    fn fewer_than_five_buyers_spread_over_the_range() {
        for (orders, expected) in [
            (vec![1.0, 2.0], vec![1, 5]),
            (vec![1.0, 2.0, 3.0], vec![1, 3, 5]),
            (vec![1.0, 2.0, 3.0, 4.0], vec![1, 2, 4, 5]),
            (vec![1.0, 1.0, 3.0], vec![2, 2, 5]),
        ] {
            let c = cuts(&mut orders.clone());
            let got: Vec<u8> = orders.iter().map(|o| quintile(&c, *o, true)).collect();
            assert_eq!(got, expected, "{orders:?} → cuts {c:?}");
        }
    }
}
