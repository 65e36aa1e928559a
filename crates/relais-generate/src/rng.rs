//! The crate's own pseudo-random number generator.
//!
//! The generator is implemented here (xoshiro256** seeded through SplitMix64)
//! rather than taken from `rand` on purpose: the output of `relais-generate`
//! must stay byte-identical for the same seed across dependency upgrades, and
//! `rand` does not promise stable streams between versions. Every draw below
//! uses integer arithmetic or exact IEEE operations (no `ln`, `exp`, `powf`
//! from the platform's libm), so the same seed gives the same data on every
//! platform too.

/// SplitMix64: used to expand a 64-bit key into xoshiro's 256-bit state.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
}

/// The SplitMix64 finaliser: a good 64-bit bijective hash.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** (Blackman & Vigna, 2018).
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for one 64-bit key.
    pub fn new(key: u64) -> Self {
        let mut sm = SplitMix64::new(key);
        let s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        Rng { s }
    }

    /// An independent stream for `(seed, stream, index)`: customers are
    /// generated from `(seed, CUSTOMER_STREAM, customer_index)`, so any one can
    /// be generated alone, in any order, on any thread.
    pub fn for_stream(seed: u64, stream: u64, index: u64) -> Self {
        let key = mix(mix(seed ^ 0xA076_1D64_78BD_642F) ^ mix(stream.wrapping_add(1)) ^ index);
        Rng::new(mix(key.wrapping_add(index)))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (`n > 0`), by the multiply-high method.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// Triangular on `lo..=hi` peaking in the middle (sum of two uniforms).
    pub fn tri(&mut self, lo: i64, hi: i64) -> i64 {
        let half = (hi - lo) / 2;
        lo + self.range(0, half) + self.range(0, hi - lo - half)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a slice, uniformly.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// One value of a table of `(value, integer weight)`.
    pub fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let total: u64 = table.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (v, w) in table {
            if x < u64::from(*w) {
                return *v;
            }
            x -= u64::from(*w);
        }
        table[table.len() - 1].0
    }

    /// An index drawn from cumulative weights (last element = total).
    pub fn by_cumulative(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative[cumulative.len() - 1];
        let x = self.unit() * total;
        cumulative.partition_point(|c| *c <= x).min(cumulative.len() - 1)
    }

    /// A random UUID (version 4 layout), as browser and mobile SDKs make
    /// anonymous ids.
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        )
    }
}

/// Expected value of a weighted table (checks the means the docs quote).
#[cfg(test)]
pub fn mean(table: &[(u32, u32)]) -> f64 {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let sum: u32 = table.iter().map(|(v, w)| v * w).sum();
    f64::from(sum) / f64::from(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_matches_the_reference_stream() {
        // Reference: xoshiro256** with state {1, 2, 3, 4}.
        let mut r = Rng { s: [1, 2, 3, 4] };
        let got: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(got, [11520, 0, 1509978240]);
    }

    #[test]
    fn splitmix_matches_the_reference_stream() {
        let mut s = SplitMix64::new(1234567);
        assert_eq!(s.next_u64(), 6457827717110365317);
        assert_eq!(s.next_u64(), 3203168211198807973);
    }

    #[test]
    fn draws_stay_in_range() {
        let mut r = Rng::new(7);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
            let x = r.range(-3, 3);
            assert!((-3..=3).contains(&x));
            let t = r.tri(10, 20);
            assert!((10..=20).contains(&t));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert_eq!(r.weighted(&[("only", 1)]), "only");
        use crate::params::*;
        let means = [
            SESSIONS_PER_30_DAYS,
            PRODUCTS_VIEWED_PER_SESSION,
            QUANTITY,
            STORE_VISITS_PER_30_DAYS,
        ]
        .map(mean);
        assert_eq!(means, [4.35, 2.37, 1.18, 1.96]);
        assert_eq!(mean(STORE_BASKET_ITEMS), 2.68);
        assert_eq!(r.uuid().len(), 36);
    }
}
