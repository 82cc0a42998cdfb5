//! CPU kernels of the encoder outside candle: the bf16 and int8 matrix products ([`bf16`],
//! [`int8`]) and the fused element-wise epilogue of a dense layer ([`bias_act`]), plus the run-time
//! CPU feature report and the kernel level every dispatch asks ([`level`]).

pub mod attention;
pub mod bf16;
pub mod int8;
pub mod level;

use super::config::Activation;
use super::error::ModelError;
use candle_core::{CpuStorage, Layout, Shape, Tensor};
use rayon::prelude::*;

/// The SIMD features of this CPU that the encoder's kernels can use, detected at run time, as a
/// space-separated list (for benchmark output and `-v`).
pub fn cpu_features() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let mut f = Vec::new();
        macro_rules! probe {
            ($($name:tt),*) => {$(
                if is_x86_feature_detected!($name) {
                    f.push($name);
                }
            )*};
        }
        probe!(
            "avx2",
            "fma",
            "avx512f",
            "avx512bw",
            "avx512vnni",
            "avx512bf16",
            "avxvnni"
        );
        if f.is_empty() {
            "none".into()
        } else {
            f.join(" ")
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.to_string()
    }
}

/// `act(x + b) + r` over the last dimension in one multi-threaded pass (candle's broadcast add,
/// the activation and the residual add would take three or more single-threaded passes). `b` is
/// `[D]` for `x` `[.., D]`; the residual `r` has `x`'s shape.
pub fn bias_act(
    x: &Tensor,
    b: Option<&Tensor>,
    act: Option<Activation>,
    residual: Option<&Tensor>,
) -> Result<Tensor, ModelError> {
    let cpu_f32 = x.device().is_cpu() && x.dtype() == candle_core::DType::F32;
    if !cpu_f32 {
        let y = match b {
            Some(b) => x.broadcast_add(b)?,
            None => x.clone(),
        };
        let y = match act {
            Some(Activation::QuickGelu) => (&y * candle_nn::ops::sigmoid(&(&y * 1.702)?)?)?,
            Some(Activation::Gelu) => y.gelu_erf()?,
            None => y,
        };
        return Ok(match residual {
            Some(r) => (y + r)?,
            None => y,
        });
    }
    let x = x.contiguous()?;
    let d = x.dim(candle_core::D::Minus1)?;
    let bias = match b {
        Some(b) => Some(b.flatten_all()?.to_vec1::<f32>()?),
        None => None,
    };
    if bias.as_ref().is_some_and(|b| b.len() != d) {
        return Err(ModelError::Input(format!(
            "bias of length {} for rows of {d}",
            bias.map_or(0, |b| b.len())
        )));
    }
    let op = Epilogue { bias, act };
    Ok(match residual {
        Some(r) => {
            if r.dims() != x.dims() {
                return Err(ModelError::Input(format!(
                    "residual {:?} for an output {:?}",
                    r.dims(),
                    x.dims()
                )));
            }
            x.apply_op2_no_bwd(&r.contiguous()?, &op)?
        }
        None => x.apply_op1_no_bwd(&op)?,
    })
}

/// The element-wise tail of a dense layer: bias, activation, residual.
struct Epilogue {
    bias: Option<Vec<f32>>,
    act: Option<Activation>,
}

/// Exact GELU, computed as candle's `gelu_erf` computes it (so results do not depend on the path).
fn gelu_erf(x: f32) -> f32 {
    (candle_core::cpu::erf::erf_f32(x * std::f32::consts::FRAC_1_SQRT_2) + 1.0) * 0.5 * x
}

fn f32_slice<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => candle_core::bail!("dense epilogue: contiguous f32 input expected"),
    }
}

impl Epilogue {
    fn run(&self, src: &[f32], residual: Option<&[f32]>, d: usize) -> Vec<f32> {
        let d = d.max(1);
        let mut out = vec![0f32; src.len()];
        // Whole rows per task, so that the bias lines up with each row.
        let step = ((1 << 14) / d + 1) * d;
        out.par_chunks_mut(step).enumerate().for_each(|(task, o)| {
            let start = task * step;
            let i = &src[start..start + o.len()];
            for (row, (o, i)) in o.chunks_mut(d).zip(i.chunks(d)).enumerate() {
                match &self.bias {
                    Some(b) => {
                        for ((o, &x), &b) in o.iter_mut().zip(i).zip(b) {
                            *o = x + b;
                        }
                    }
                    None => o.copy_from_slice(i),
                }
                match self.act {
                    Some(Activation::QuickGelu) => {
                        for v in o.iter_mut() {
                            *v /= 1.0 + (-1.702 * *v).exp();
                        }
                    }
                    Some(Activation::Gelu) => {
                        for v in o.iter_mut() {
                            *v = gelu_erf(*v);
                        }
                    }
                    None => {}
                }
                if let Some(r) = residual {
                    let at = start + row * d;
                    for (o, &r) in o.iter_mut().zip(&r[at..at + d]) {
                        *o += r;
                    }
                }
            }
        });
        out
    }
}

impl candle_core::CustomOp1 for Epilogue {
    fn name(&self) -> &'static str {
        "dense-epilogue"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let src = f32_slice(storage, layout)?;
        let d = layout.dims().last().copied().unwrap_or(1);
        Ok((
            CpuStorage::F32(self.run(src, None, d)),
            layout.shape().clone(),
        ))
    }
}

impl candle_core::CustomOp2 for Epilogue {
    fn name(&self) -> &'static str {
        "dense-epilogue-residual"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (src, r) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        if src.len() != r.len() {
            candle_core::bail!("dense epilogue: residual of another size");
        }
        let d = l1.dims().last().copied().unwrap_or(1);
        Ok((
            CpuStorage::F32(self.run(src, Some(r), d)),
            l1.shape().clone(),
        ))
    }
}
