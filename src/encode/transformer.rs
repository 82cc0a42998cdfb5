//! The pre-norm transformer blocks shared by CLIP's vision and text towers.
//!
//! Each block is `x + attn(ln1(x))` then `x + mlp(ln2(x))`. Weights come from a [`Weights`]
//! checkpoint under a prefix such as `vision_model.encoder`. The vision tower's dense layers run in
//! the [`Precision`] asked for; everything else is f32.

use super::config::{Activation, TowerConfig};
use super::error::ModelError;
use super::kernels::level::{self, Level};
use super::kernels::{bf16, bias_act, int8};
use super::precision::Precision;
use super::weights::Weights;
use candle_core::{Module, Tensor, D};
use candle_nn::LayerNorm;
use std::sync::Arc;

/// How a [`Dense`] layer stores its weight.
#[derive(Clone)]
enum DenseWeight {
    /// PyTorch layout `[out, in]`, multiplied transposed (a view: no copy).
    F32(Tensor),
    /// 8-bit rows for the int8 kernel, run at the level chosen at load.
    Int8(Arc<int8::PackedInt8>, Level),
    /// bf16 panels for the AVX512-BF16 kernel, run at the level chosen at load.
    Bf16(Arc<bf16::PackedBf16>, Level),
}

/// A fully connected layer `x·Wᵀ + b` applied to the last dimension, in f32 or a lower
/// [`Precision`]; bias and activation are applied in one pass after the product.
#[derive(Clone)]
pub struct Dense {
    w: DenseWeight,
    b: Option<Tensor>,
    out: usize,
}

impl Dense {
    /// From a PyTorch-layout weight `[out, in]` and optional bias `[out]`, in f32.
    pub fn new(w: &Tensor, b: Option<Tensor>) -> Result<Self, ModelError> {
        Self::with_precision(w, b, Precision::F32)
    }

    /// Like [`Self::new`], with the product in `precision` as [`Precision::at`] resolves it for
    /// the kernel level of this thread now ([`level::current`]); the level is kept for every
    /// later product, whichever thread runs it.
    pub fn with_precision(
        w: &Tensor,
        b: Option<Tensor>,
        precision: Precision,
    ) -> Result<Self, ModelError> {
        let (out, inner) = w.dims2()?;
        let level = level::current();
        let w = match precision.at(level) {
            Precision::Int8 => {
                let data = w.flatten_all()?.to_vec1::<f32>()?;
                DenseWeight::Int8(
                    Arc::new(int8::PackedInt8::quantize(&data, out, inner)),
                    level,
                )
            }
            Precision::Bf16 => {
                let data = w.flatten_all()?.to_vec1::<f32>()?;
                DenseWeight::Bf16(Arc::new(bf16::PackedBf16::pack(&data, out, inner)), level)
            }
            _ => DenseWeight::F32(w.contiguous()?),
        };
        Ok(Self { w, b, out })
    }

    /// Loads `{prefix}.weight` and `{prefix}.bias` in f32.
    pub fn load(w: &Weights, prefix: &str) -> Result<Self, ModelError> {
        Self::load_with(w, prefix, Precision::F32)
    }

    /// Loads `{prefix}.weight` and `{prefix}.bias` in `precision`.
    pub fn load_with(w: &Weights, prefix: &str, precision: Precision) -> Result<Self, ModelError> {
        Self::with_precision(
            &w.get(&format!("{prefix}.weight"))?,
            Some(w.get(&format!("{prefix}.bias"))?),
            precision,
        )
    }

    /// Applies the layer to `[.., in]`, returning `[.., out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        self.forward_act(x, None)
    }

    /// `act(x·Wᵀ + b)`, the bias and activation fused into one pass.
    pub fn forward_act(&self, x: &Tensor, act: Option<Activation>) -> Result<Tensor, ModelError> {
        self.forward_fused(x, act, None)
    }

    /// `residual + x·Wᵀ + b` (a transformer block's skip connection), fused into one pass.
    pub fn forward_residual(&self, x: &Tensor, residual: &Tensor) -> Result<Tensor, ModelError> {
        self.forward_fused(x, None, Some(residual))
    }

    fn forward_fused(
        &self,
        x: &Tensor,
        act: Option<Activation>,
        residual: Option<&Tensor>,
    ) -> Result<Tensor, ModelError> {
        let dims = x.dims().to_vec();
        let inner = *dims.last().unwrap_or(&0);
        let rows = x.elem_count() / inner.max(1);
        let x2 = x.reshape((rows, inner))?;
        let mut out_dims = dims;
        if let Some(last) = out_dims.last_mut() {
            *last = self.out;
        }
        let residual = match residual {
            Some(r) => Some(r.reshape((rows, self.out))?),
            None => None,
        };
        let r = residual.as_ref();
        let y = match &self.w {
            DenseWeight::F32(w) => bias_act(&x2.matmul(&w.t()?)?, self.b.as_ref(), act, r)?,
            DenseWeight::Int8(q, level) => self.packed(&x2, rows, act, r, |xs, bias| {
                int8::matmul(*level, xs, rows, q, bias)
            })?,
            DenseWeight::Bf16(p, level) => self.packed(&x2, rows, act, r, |xs, bias| {
                bf16::matmul(*level, xs, rows, p, bias)
            })?,
        };
        Ok(y.reshape(out_dims)?)
    }

    /// A product by one of our own kernels, which take f32 rows and add the bias themselves:
    /// `x2` is `[rows, in]`; the activation and residual follow in one pass where asked.
    fn packed(
        &self,
        x2: &Tensor,
        rows: usize,
        act: Option<Activation>,
        residual: Option<&Tensor>,
        product: impl FnOnce(&[f32], Option<&[f32]>) -> Vec<f32>,
    ) -> Result<Tensor, ModelError> {
        let xs = x2.flatten_all()?.to_vec1::<f32>()?;
        let bias = match &self.b {
            Some(b) => Some(b.to_vec1::<f32>()?),
            None => None,
        };
        let y = Tensor::from_vec(product(&xs, bias.as_deref()), (rows, self.out), x2.device())?;
        Ok(match (act, residual) {
            (None, None) => y,
            _ => bias_act(&y, None, act, residual)?,
        })
    }
}

/// Loads `{prefix}.weight` / `{prefix}.bias` as a layer norm.
pub fn layer_norm(w: &Weights, prefix: &str, eps: f64) -> Result<LayerNorm, ModelError> {
    Ok(LayerNorm::new(
        w.get(&format!("{prefix}.weight"))?,
        w.get(&format!("{prefix}.bias"))?,
        eps,
    ))
}

/// Multi-head self-attention with the q, k, v projections fused into one matrix product.
struct Attention {
    qkv: Dense,
    out: Dense,
    heads: usize,
}

impl Attention {
    fn load(
        w: &Weights,
        prefix: &str,
        tower: &TowerConfig,
        precision: Precision,
    ) -> Result<Self, ModelError> {
        let d = tower.hidden_size;
        let heads = tower.num_attention_heads;
        // The 1/sqrt(head_dim) scale of the scores is folded into the query projection.
        let scale = ((d / heads) as f64).powf(-0.5) as f32;
        let name = |p: &str, s: &str| format!("{prefix}.{p}.{s}");
        let stacked = |s: &str| {
            w.get_scaled_rows(&[
                (&name("q_proj", s), scale),
                (&name("k_proj", s), 1.0),
                (&name("v_proj", s), 1.0),
            ])
        };
        Ok(Self {
            qkv: Dense::with_precision(&stacked("weight")?, Some(stacked("bias")?), precision)?,
            out: Dense::load_with(w, &format!("{prefix}.out_proj"), precision)?,
            heads,
        })
    }

    /// `residual + attn(x)` for `x`: `[B, T, D]`; `mask`: optional additive `[T, T]` mask.
    fn forward(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        residual: &Tensor,
    ) -> Result<Tensor, ModelError> {
        let (b, t, d) = x.dims3()?;
        let qkv = self.qkv.forward(x)?; // [B, T, 3D]
        let ctx = super::kernels::attention::attention(&qkv, b, t, d, self.heads, mask)?;
        self.out.forward_residual(&ctx, residual)
    }
}

/// `x · sigmoid(1.702 x)` in one multi-threaded pass (the composite of candle ops takes three
/// single-threaded passes and was ~15% of a ViT-B/32 forward on 2 threads).
pub fn quick_gelu(x: &Tensor) -> Result<Tensor, ModelError> {
    bias_act(x, None, Some(Activation::QuickGelu), None)
}

struct Mlp {
    fc1: Dense,
    fc2: Dense,
    act: Activation,
}

impl Mlp {
    /// `residual + mlp(x)`.
    fn forward(&self, x: &Tensor, residual: &Tensor) -> Result<Tensor, ModelError> {
        let h = self.fc1.forward_act(x, Some(self.act))?;
        self.fc2.forward_residual(&h, residual)
    }
}

struct Block {
    ln1: LayerNorm,
    attn: Attention,
    ln2: LayerNorm,
    mlp: Mlp,
}

/// A stack of pre-norm transformer blocks.
pub struct Encoder {
    blocks: Vec<Block>,
}

impl Encoder {
    /// Loads `{prefix}.layers.{i}.*` for every layer of `tower`, dense layers in f32.
    pub fn load(w: &Weights, prefix: &str, tower: &TowerConfig) -> Result<Self, ModelError> {
        Self::load_with(w, prefix, tower, Precision::F32)
    }

    /// Loads `{prefix}.layers.{i}.*` with the dense layers in `precision`.
    pub fn load_with(
        w: &Weights,
        prefix: &str,
        tower: &TowerConfig,
        precision: Precision,
    ) -> Result<Self, ModelError> {
        let eps = tower.layer_norm_eps;
        let blocks = (0..tower.num_hidden_layers)
            .map(|l| {
                let p = format!("{prefix}.layers.{l}");
                Ok(Block {
                    ln1: layer_norm(w, &format!("{p}.layer_norm1"), eps)?,
                    attn: Attention::load(w, &format!("{p}.self_attn"), tower, precision)?,
                    ln2: layer_norm(w, &format!("{p}.layer_norm2"), eps)?,
                    mlp: Mlp {
                        fc1: Dense::load_with(w, &format!("{p}.mlp.fc1"), precision)?,
                        fc2: Dense::load_with(w, &format!("{p}.mlp.fc2"), precision)?,
                        act: tower.hidden_act,
                    },
                })
            })
            .collect::<Result<_, ModelError>>()?;
        Ok(Self { blocks })
    }

    /// Runs every block over `x` (`[B, T, D]`).
    pub fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor, ModelError> {
        let mut x = x.clone();
        for blk in &self.blocks {
            x = blk.attn.forward(&blk.ln1.forward(&x)?, mask, &x)?;
            x = blk.mlp.forward(&blk.ln2.forward(&x)?, &x)?;
        }
        Ok(x)
    }
}

/// The last-dimension L2 normalisation `x / max(‖x‖, 1e-12)`: a zero row stays zero instead of
/// becoming NaN, as torch's `normalize` does. The one implementation of the crate.
pub fn l2_normalize(x: &Tensor) -> candle_core::Result<Tensor> {
    x.broadcast_div(
        &x.sqr()?
            .sum_keepdim(D::Minus1)?
            .sqrt()?
            .clamp(1e-12, f64::MAX)?,
    )
}
