//! [`Precision`]: the arithmetic of the vision tower's matrix products.
//!
//! `F32` is the reference the parity tests pin. `Bf16` rounds activations and weights to bf16 and
//! accumulates in f32 on AVX512-BF16 (`vdpbf16ps`); on CPUs without it the tower runs in f32 and
//! says so at `-v`. `Int8` stores weights as Q8_0 (8-bit, one f16 scale per 32 values) and
//! quantises activations the same way per row (candle's `QMatMul`, AVX512-VNNI where present).
//! Layer norms, softmax, the activation and all other work stay in f32 in every mode; the text
//! tower is always f32. Measured fidelity is in BENCHMARKS.md.

use super::error::ModelError;
use super::kernels::bf16;
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
    /// Q8_0 weights and activations with integer dot products.
    Int8,
    /// f16 weights and activations with f32 accumulation.
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
            .ok_or_else(|| format!("unknown precision {s:?} (expected f32, bf16 or int8)"))
    }
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
        assert_eq!(Precision::Int8.effective(), Precision::Int8);
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
