//! A small seeded generator (SplitMix64) for synthetic benchmark data and
//! property tests: the same seed gives the same data on every machine and
//! across dependency upgrades, so figures from two runs are comparable.

#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range_f64(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Uniform in [0, n) (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// In [0, n), skewed towards 0 like sales are towards bestsellers: the
    /// item at rank r is drawn with density ∝ r^(1/skew - 1).
    pub fn skewed(&mut self, n: u64, skew: f64) -> u64 {
        ((self.f64().powf(skew) * n as f64) as u64).min(n - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_numbers_and_ranges_hold() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let x = a.f64();
            assert!((0.0..1.0).contains(&x));
            assert!(a.below(10) < 10);
            assert!(a.skewed(100, 3.0) < 100);
            b.f64();
            b.below(10);
            b.skewed(100, 3.0);
        }
        let mut low = 0;
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            if r.skewed(100, 3.0) < 10 {
                low += 1;
            }
        }
        // P(u^3 < 0.1) = 0.1^(1/3) ≈ 0.46: the first tenth gets ~46 %.
        assert!((4_200..5_000).contains(&low), "{low}");
    }
}
