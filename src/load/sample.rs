//! Deterministic subsampling: a seeded reservoir, so a stream of any length keeps `k` points in
//! memory and the same file always gives the same points.

/// SplitMix64: small, fast, and the same draw on every platform and version. The one seeded
/// generator of calip3d (subsampling, surface sampling, validation splits, adapter weights).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The generator the loaders use for `seed` (the seed is mixed first, so seed 0 is fine).
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// The generator whose state is `state` as given.
    pub fn from_state(state: u64) -> Self {
        SplitMix64(state)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [0, 1), with f32's 24 bits.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Shuffles in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Keeps a uniform sample of at most `capacity` items of a stream (algorithm R); 0 keeps all.
#[derive(Debug, Clone)]
pub struct Reservoir<T> {
    capacity: usize,
    seen: u64,
    rng: SplitMix64,
    items: Vec<(u64, T)>,
}

impl<T> Reservoir<T> {
    /// An empty reservoir keeping at most `capacity` items (0 keeps all), seeded.
    pub fn new(capacity: usize, seed: u64) -> Self {
        Reservoir {
            capacity,
            seen: 0,
            rng: SplitMix64::new(seed),
            items: Vec::with_capacity(capacity.min(1 << 20)),
        }
    }

    /// Offers the next item of the stream.
    pub fn offer(&mut self, item: T) {
        let i = self.seen;
        self.seen += 1;
        if self.capacity == 0 || self.items.len() < self.capacity {
            self.items.push((i, item));
        } else {
            let j = self.rng.below(i + 1);
            if (j as usize) < self.capacity {
                self.items[j as usize] = (i, item);
            }
        }
    }

    /// Items offered so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The kept items with their stream positions, in stream order.
    pub fn into_sorted(mut self) -> Vec<(u64, T)> {
        self.items.sort_by_key(|(i, _)| *i);
        self.items
    }
}

/// `k` of `n` indices, sorted, chosen as the reservoir would (all of them when `k == 0` or `k >= n`).
pub fn subsample_indices(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut r = Reservoir::new(k, seed);
    for i in 0..n {
        r.offer(i);
    }
    r.into_sorted().into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservoir_is_deterministic_bounded_and_roughly_uniform() {
        let a = subsample_indices(100_000, 1000, 7);
        assert_eq!(a, subsample_indices(100_000, 1000, 7));
        assert_ne!(a, subsample_indices(100_000, 1000, 8));
        assert_eq!(a.len(), 1000);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        // Each tenth of the stream gets about a tenth of the sample.
        for d in 0..10 {
            let c = a.iter().filter(|&&i| i / 10_000 == d).count();
            assert!((60..=140).contains(&c), "decile {d}: {c}");
        }
        assert_eq!(subsample_indices(5, 0, 1), vec![0, 1, 2, 3, 4]);
        assert_eq!(subsample_indices(5, 10, 1), vec![0, 1, 2, 3, 4]);
    }
}
