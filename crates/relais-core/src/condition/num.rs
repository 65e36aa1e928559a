//! Numbers for aggregates, exact enough that the two evaluators agree bit
//! for bit: sums are kept as Shewchuk partials (the exact sum as a few
//! non-overlapping doubles; Python's `math.fsum`), so the rounded total does
//! not depend on the order events arrived in, on merges or on removals. Stored
//! numbers serialise without loss (`serde_json` parses floats best-effort).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::cmp::Ordering;

/// Aggregates ignore numbers beyond this magnitude, so no sum can overflow.
pub(crate) const MAX_MAGNITUDE: f64 = 1e18;
const EXACT_INT: f64 = 9_007_199_254_740_992.0; // 2^53

/// A finite double, totally ordered, stored losslessly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Num(pub f64);

impl PartialEq for Num {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Num {}
impl PartialOrd for Num {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Num {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if x.fract() == 0.0 && x.abs() < EXACT_INT && !(x == 0.0 && x.is_sign_negative()) {
            s.serialize_i64(x as i64)
        } else {
            // `{:e}` is the shortest representation that parses back exactly.
            s.serialize_str(&format!("{x:e}"))
        }
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            I(i64),
            F(f64),
            S(String),
        }
        match Repr::deserialize(d)? {
            Repr::I(i) => Ok(Num(i as f64)),
            Repr::F(f) => Ok(Num(f)),
            Repr::S(s) => s.parse().map(Num).map_err(serde::de::Error::custom),
        }
    }
}

/// min/max in [`Num`] order (so -0 < 0 the same everywhere).
pub(crate) trait TotalMinMax {
    fn min_by_total(self, o: f64) -> f64;
    fn max_by_total(self, o: f64) -> f64;
}

impl TotalMinMax for f64 {
    fn min_by_total(self, o: f64) -> f64 {
        Num(self).min(Num(o)).0
    }
    fn max_by_total(self, o: f64) -> f64 {
        Num(self).max(Num(o)).0
    }
}

/// A number, or a string holding one (`"42"`), as comparisons read it.
pub(crate) fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    }
    .filter(|x| x.is_finite())
}

/// A value an aggregate counts (numeric, within [`MAX_MAGNITUDE`]).
pub(crate) fn aggregate_number(v: &Value) -> Option<f64> {
    numeric(v).filter(|x| x.abs() <= MAX_MAGNITUDE)
}

/// A JSON number for `f`: an integer when it is one (`7`, not `7.0`).
pub(crate) fn num_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < EXACT_INT {
        Value::from(f as i64)
    } else {
        Value::from(f)
    }
}

/// Adds `x` to the partials exactly.
pub(crate) fn fsum_add(partials: &mut Vec<Num>, mut x: f64) {
    let mut i = 0;
    for j in 0..partials.len() {
        let mut y = partials[j].0;
        if x.abs() < y.abs() {
            std::mem::swap(&mut x, &mut y);
        }
        let hi = x + y;
        let lo = y - (hi - x);
        if lo != 0.0 {
            partials[i] = Num(lo);
            i += 1;
        }
        x = hi;
    }
    partials.truncate(i);
    partials.push(Num(x));
}

/// The exact sum of the partials, correctly rounded.
pub(crate) fn fsum_total(partials: &[Num]) -> f64 {
    let mut n = partials.len();
    if n == 0 {
        return 0.0;
    }
    n -= 1;
    let mut hi = partials[n].0;
    let mut lo = 0.0;
    while n > 0 {
        let x = hi;
        let y = partials[n - 1].0;
        n -= 1;
        hi = x + y;
        let yr = hi - x;
        lo = y - yr;
        if lo != 0.0 {
            break;
        }
    }
    // Round half-way cases the way the exact sum says.
    if n > 0 && ((lo < 0.0 && partials[n - 1].0 < 0.0) || (lo > 0.0 && partials[n - 1].0 > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        if y == x - hi {
            hi = x;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fsum(xs: &[f64]) -> f64 {
        let mut p = Vec::new();
        xs.iter().for_each(|x| fsum_add(&mut p, *x));
        fsum_total(&p)
    }

    #[test]
    fn sums_exactly_in_any_order() {
        assert_eq!(fsum(&[0.1, 0.2, 0.3]), 0.6);
        assert_eq!(fsum(&[0.3, 0.2, 0.1]), 0.6);
        assert_eq!(fsum(&[1e16, 1.0, -1e16]), 1.0);
        assert_eq!(fsum(&[19.99, 5.01, -19.99]), 5.01);
        assert_eq!(fsum(&[]), 0.0);
    }

    #[test]
    fn stores_without_loss() {
        for x in [0.30000000000000004, 1e-300, -2.5, 42.0, 1.7976931348623157e308] {
            let s = serde_json::to_string(&Num(x)).unwrap();
            assert_eq!(serde_json::from_str::<Num>(&s).unwrap().0, x, "{s}");
        }
        assert_eq!(serde_json::to_string(&Num(42.0)).unwrap(), "42");
        assert_eq!(numeric(&Value::from("42")), Some(42.0));
        assert_eq!(numeric(&Value::from("NaN")), None);
        assert_eq!(num_value(7.0), Value::from(7));
    }
}
