//! [`Precision`]: the arithmetic of the vision tower's matrix products.
//!
//! `F32` is the reference the parity tests pin. `Bf16` rounds activations and weights to bf16 and
//! accumulates in f32 on AVX512-BF16 (`vdpbf16ps`). `Int8` quantises weights per output row to
//! 8 bits once at load and activations per row to 7 bits at run time, and sums the products
//! exactly in integers (`kernels::int8`: AVX2 `vpmaddubsw`, AVX-512, VNNI `vpdpbusd`).
//! Layer norms, softmax, the activation and all other work stay in f32 in every mode; the text
//! tower is always f32. Measured fidelity and speed are in BENCHMARKS.md.
//!
//! Never slower than f32: where a precision has no fast kernel at the CPU's kernel level
//! ([`level::current`], which `CALIP3D_CPU` caps), the tower runs in f32 and `-v` says why
//! ([`Precision::at`], [`describe`]): bf16 below AVX512-BF16, int8 at the scalar level (its
//! plain-Rust integer sums are slower than candle's f32 products).

use super::error::ModelError;
use super::kernels::level::{self, Level};
use super::kernels::{bf16, int8};
use candle_core::Tensor;

/// Arithmetic of the vision tower's matrix products (default [`Precision::F32`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum Precision {
    /// f32 throughout (the reference).
    #[default]
    F32,
    /// bf16 products with f32 accumulation (AVX512-BF16), else f32.
    Bf16,
    /// 8-bit weights and 7-bit activations with exact integer sums (AVX2 or AVX-512), else f32.
    Int8,
    /// f16 weights and activations with f32 accumulation on a GPU with `SHADER_F16`; f32 on
    /// the CPU.
    F16,
}

impl Precision {
    /// Every precision, in the order the CLI lists them.
    pub const ALL: [Precision; 4] = [
        Precision::F32,
        Precision::Bf16,
        Precision::Int8,
        Precision::F16,
    ];

    /// The precision that runs on this CPU when `self` is asked for, at the current kernel level
    /// ([`level::current`]): see [`Self::at`].
    pub fn effective(self) -> Precision {
        self.at(level::current())
    }

    /// The precision that runs at kernel level `level` when `self` is asked for: the fastest
    /// path that keeps `self`'s fidelity and is never slower than f32. `Bf16` without
    /// AVX512-BF16, `Int8` at [`Level::Scalar`] and `F16` (a GPU format) become `F32`.
    pub fn at(self, level: Level) -> Precision {
        match self {
            Precision::Bf16 if !bf16::available_at(level) => Precision::F32,
            Precision::Int8 if level < Level::Avx2 => Precision::F32,
            // f16 is a GPU format: the CPU has no f16 kernel, and f32 is never slower.
            Precision::F16 => Precision::F32,
            p => p,
        }
    }

    /// The kernel that runs `self`'s matrix products at `level`, in words (for `-v` and the
    /// benchmarks), after [`Self::at`]'s fallback.
    pub fn kernel(self, level: Level) -> &'static str {
        match self.at(level) {
            Precision::F32 | Precision::F16 => "candle f32 (gemm crate, its own SIMD choice)",
            Precision::Bf16 => "own bf16 kernel, AVX512-BF16 (vdpbf16ps)",
            Precision::Int8 => int8::kernel_name(level),
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
            Precision::F16 => "f16",
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
            .ok_or_else(|| format!("unknown precision {s:?} (expected f32, bf16, int8 or f16)"))
    }
}

/// One line for `-v` on what the vision tower runs when `asked` is requested at the current
/// level: the level (and its cap), the precision that runs, its kernel, and why, where it falls
/// back to f32.
pub fn describe(asked: Precision) -> String {
    let l = level::current();
    let ran = asked.at(l);
    let cap = if l < level::detected() {
        format!(" (capped from {}; CALIP3D_CPU)", level::detected())
    } else {
        String::new()
    };
    let why = match (asked, ran) {
        (Precision::Bf16, Precision::F32) => {
            "; bf16 needs AVX512-BF16 at kernel level avx512: running f32"
        }
        (Precision::Int8, Precision::F32) => {
            "; int8 has no SIMD kernel at the scalar level (slower than f32 there): running f32"
        }
        (Precision::F16, Precision::F32) => {
            "; f16 is a GPU format (no CPU kernel): running f32 on the CPU"
        }
        _ => "",
    };
    format!(
        "{ran} matrix products, kernel level {l}{cap}: {}{why}; CPU features: {}",
        asked.kernel(l),
        super::kernels::cpu_features()
    )
}

/// The cosine of each pair of matching rows of `a` and `b` over their last dimension (features of
/// one input in two precisions, say), `a` and `b` of the same shape. Zero rows give NaN.
///
/// ```
/// use calip3d::encode::precision::row_cosines;
/// use candle_core::{Device, Tensor};
/// let a = Tensor::new(&[[1f32, 0.0], [0.0, 2.0]], &Device::Cpu)?;
/// let b = Tensor::new(&[[3f32, 0.0], [1.0, 1.0]], &Device::Cpu)?;
/// let c = row_cosines(&a, &b)?;
/// assert!((c[0] - 1.0).abs() < 1e-6 && (c[1] - 0.5f32.sqrt()).abs() < 1e-6);
/// # Ok::<(), calip3d::encode::ModelError>(())
/// ```
pub fn row_cosines(a: &Tensor, b: &Tensor) -> Result<Vec<f32>, ModelError> {
    if a.dims() != b.dims() {
        return Err(ModelError::Input(format!(
            "cosines of rows of shapes {:?} and {:?}",
            a.dims(),
            b.dims()
        )));
    }
    let c = a.dim(candle_core::D::Minus1)?;
    let (a, b) = (
        a.reshape(((), c))?.to_vec2::<f32>()?,
        b.reshape(((), c))?.to_vec2::<f32>()?,
    );
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    Ok(a.iter()
        .zip(&b)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (norm(a) * norm(b)))
        .collect())
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
    }

    #[test]
    fn fallbacks_follow_the_level() {
        for l in Level::ALL {
            assert_eq!(Precision::F32.at(l), Precision::F32);
        }
        assert_eq!(Precision::Int8.at(Level::Scalar), Precision::F32);
        assert_eq!(Precision::Int8.at(Level::Avx2), Precision::Int8);
        assert_eq!(Precision::Bf16.at(Level::Avx2), Precision::F32);
        assert_eq!(
            Precision::Bf16.at(Level::Avx512),
            if level::has_bf16() && level::detected() == Level::Avx512 {
                Precision::Bf16
            } else {
                Precision::F32
            }
        );
        let line = level::with_cap(Level::Scalar, || describe(Precision::Int8));
        assert!(
            line.starts_with("f32 matrix products, kernel level scalar"),
            "{line}"
        );
        assert!(line.contains("int8 has no SIMD kernel"), "{line}");
    }

    #[test]
    fn row_cosines_pair_rows_and_refuse_other_shapes() {
        let dev = candle_core::Device::Cpu;
        let a = Tensor::new(&[[[1f32, 2.0, 3.0], [1.0, 0.0, 0.0]]], &dev).unwrap();
        let b = Tensor::new(&[[[-2f32, -4.0, -6.0], [0.0, 5.0, 0.0]]], &dev).unwrap();
        let c = row_cosines(&a, &b).unwrap();
        assert_eq!(c.len(), 2);
        assert!((c[0] + 1.0).abs() < 1e-6, "{c:?}");
        assert_eq!(c[1], 0.0);
        let wrong = Tensor::new(&[[1f32, 2.0]], &dev).unwrap();
        assert!(row_cosines(&a, &wrong).is_err());
    }
}
