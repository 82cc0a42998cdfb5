//! The instruction-set level that our own kernels run at: the one this CPU supports (detected at
//! run time), lowered by a cap so that every level's code can be run and tested on one machine, in
//! the spirit of PyTorch's `ATEN_CPU_CAPABILITY`.
//!
//! The cap comes from the environment variable `CALIP3D_CPU` (`scalar`, `avx2` or `avx512`; read
//! once) and, for one thread's calls, from [`with_cap`] (the tests use it to run every level in one
//! process). [`current`] is the one answer every kernel dispatch asks. The cap applies to our
//! kernels (int8, bf16); candle's f32 matrix products (the `gemm` crate) choose their own SIMD.

use std::cell::Cell;
use std::sync::OnceLock;

/// A kernel level, ordered from least to most capable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Plain Rust, no SIMD intrinsics (any CPU, and the reference of the others).
    Scalar,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// x86-64 with AVX512F and AVX512BW (VNNI and BF16 are used where [`has_vnni`] and
    /// [`has_bf16`] say so).
    Avx512,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 3] = [Level::Scalar, Level::Avx2, Level::Avx512];

    /// The name `CALIP3D_CPU` takes.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// Parses a `CALIP3D_CPU` value (case-insensitive).
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The highest level this CPU supports (detected once).
pub fn detected() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw") {
                return Level::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Level::Avx2;
            }
        }
        Level::Scalar
    })
}

/// Whether AVX512-VNNI (`vpdpbusd`) is present; used only at [`Level::Avx512`].
pub fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether AVX512-BF16 (`vdpbf16ps`) is present; used only at [`Level::Avx512`].
pub fn has_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The cap set by `CALIP3D_CPU`, read once. An unknown value is reported (once, as a warning) and
/// ignored rather than failing: the variable is a testing and tuning aid.
pub fn env_cap() -> Option<Level> {
    static CAP: OnceLock<Option<Level>> = OnceLock::new();
    *CAP.get_or_init(|| {
        let v = std::env::var("CALIP3D_CPU").ok()?;
        let level = Level::parse(&v);
        if level.is_none() {
            log::warn!("CALIP3D_CPU={v:?} ignored: expected scalar, avx2 or avx512");
        }
        level
    })
}

thread_local! {
    static THREAD_CAP: Cell<Option<Level>> = const { Cell::new(None) };
}

/// Runs `f` with the level of this thread's kernel choices capped at `cap` (on top of
/// `CALIP3D_CPU`), restoring the previous cap afterwards, even if `f` panics. Kernels are chosen
/// when a model is loaded and its layers built, so load and first use belong inside `f`.
pub fn with_cap<T>(cap: Level, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Level>);
    impl Drop for Restore {
        fn drop(&mut self) {
            THREAD_CAP.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(THREAD_CAP.with(|c| c.replace(Some(cap))));
    f()
}

/// The level our kernels run at here and now: the lowest of [`detected`], [`env_cap`] and the
/// cap of [`with_cap`]. Every kernel dispatch asks this.
pub fn current() -> Level {
    let mut level = detected();
    if let Some(cap) = env_cap() {
        level = level.min(cap);
    }
    if let Some(cap) = THREAD_CAP.with(Cell::get) {
        level = level.min(cap);
    }
    level
}

/// Every level this CPU can run, lowest first (what the tests loop over).
pub fn supported() -> Vec<Level> {
    Level::ALL
        .into_iter()
        .filter(|&l| l <= detected())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_caps_lower_the_level_only_inside_the_closure() {
        for l in Level::ALL {
            assert_eq!(Level::parse(&l.name().to_uppercase()), Some(l));
        }
        assert_eq!(Level::parse("sse2"), None);
        let outside = current();
        assert_eq!(with_cap(Level::Scalar, current), Level::Scalar);
        // A cap above the CPU's level does not raise it.
        assert!(with_cap(Level::Avx512, current) <= detected());
        let nested = with_cap(Level::Avx512, || with_cap(Level::Scalar, current));
        assert_eq!(nested, Level::Scalar);
        assert_eq!(current(), outside);
        assert_eq!(supported()[0], Level::Scalar);
        assert_eq!(*supported().last().unwrap(), detected());
    }
}
