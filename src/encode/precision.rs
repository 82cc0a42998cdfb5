//! [`Precision`]: the arithmetic of the vision tower's matrix products.
//!
//! `F32` is the reference the parity tests pin. `Bf16` rounds activations and weights to bf16 and
//! accumulates in f32 on AVX512-BF16 (`vdpbf16ps`); on CPUs without it the tower runs in f32 and
//! says so at `-v`. `Int8` stores weights as Q8_0 (8-bit, one f16 scale per 32 values) and
//! quantises activations the same way per row (candle's `QMatMul`, AVX512-VNNI where present).
//! Layer norms, softmax, the activation and all other work stay in f32 in every mode; the text
//! tower is always f32. Measured fidelity is in BENCHMARKS.md.

use super::kernels::bf16;

/// Arithmetic of the vision tower's matrix products (default [`Precision::F32`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum Precision {
    /// f32 throughout (the reference).
    #[default]
    F32,
    /// bf16 products with f32 accumulation (AVX512-BF16), else f32.
    Bf16,
    /// Q8_0 weights and activations with integer dot products.
    Int8,
}

impl Precision {
    /// Every precision, in the order the CLI lists them.
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::Bf16, Precision::Int8];

    /// The precision that runs on this CPU when `self` is asked for: `Bf16` without AVX512-BF16
    /// becomes `F32` (detected at run time).
    pub fn effective(self) -> Precision {
        match self {
            Precision::Bf16 if !bf16::available() => Precision::F32,
            p => p,
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Precision::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown precision {s:?} (expected f32, bf16 or int8)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_rejected() {
        for p in Precision::ALL {
            assert_eq!(p.name().parse::<Precision>(), Ok(p));
        }
        assert_eq!("BF16".parse::<Precision>(), Ok(Precision::Bf16));
        assert!("fp8".parse::<Precision>().unwrap_err().contains("fp8"));
        assert_eq!(Precision::F32.effective(), Precision::F32);
        assert_eq!(Precision::Int8.effective(), Precision::Int8);
    }
}
