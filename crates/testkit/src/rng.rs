//! A small deterministic random number generator.
//!
//! SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast, and its output for a seed never changes,
//! unlike generators whose algorithm a dependency may change between versions. Test data must be
//! identical on every machine and every version, so it is written here.

/// A SplitMix64 generator with the helpers the generator needs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with this seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in `[0, n)` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift: unbiased enough for test data and branch-free.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A geometric count with mean `mean` (0 when `mean` is not positive).
    pub fn geometric(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        let p = 1.0 / (1.0 + mean);
        let mut n = 0;
        while !self.chance(p) && n < 64 {
            n += 1;
        }
        n
    }

    /// An item of `items`, the first ones far more often: rank `floor(n * u^1.5)`, so the
    /// first of `n` items has probability `n^(-2/3)` (about 3.5% of 150 names, like the
    /// commonest given names) and the tail stays long.
    pub fn skewed<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let rank = (items.len() as f64 * self.unit().powf(1.5)).floor() as usize;
        items[rank.min(items.len() - 1)]
    }

    /// Shuffles `items` (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // First outputs for seed 0, as published with the algorithm.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn skewed_prefers_the_head() {
        let items = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let mut r = Rng::new(3);
        let heads = (0..10_000).filter(|_| r.skewed(&items) == "a").count();
        assert!(heads > 2000, "{heads}");
    }
}
