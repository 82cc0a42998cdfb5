//! [`InterViewAdapter`]: PointCLIP's few-shot inter-view adapter (METHOD.md §9), forward pass.
//!
//! The view features `f_v` of a cloud are concatenated into `[V·C]`;
//! global branch: BatchNorm → Dropout → Linear(V·C→C) → BatchNorm → ReLU → Dropout;
//! view branch: Linear(C→C) → ReLU → Linear(C→V·C) → ReLU, split into `a_v`;
//! the adapted view features are `r·a_v + (1 − r)·f_v` with the residual ratio `r` (0.6).
//! (PointCLIP's released code also scales each view by a learned "fusion ratio" before the global
//! branch; METHOD.md §9 does not, and neither does this.) Training lives in `tune::fit`.

use super::attention::l2_normalize;
use candle_core::{DType, Result, Tensor};

/// BatchNorm's ε, as torch's `BatchNorm1d`.
pub const BATCH_NORM_EPS: f64 = 1e-5;
/// The residual ratio of PointCLIP's adapter: adapted = 0.6·a_v + 0.4·f_v.
pub const ADAPTER_RESIDUAL: f32 = 0.6;

/// A 1-D batch norm's parameters and running statistics, each `[features]`.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    /// Scale γ.
    pub weight: Tensor,
    /// Shift β.
    pub bias: Tensor,
    /// Running mean (used at inference).
    pub running_mean: Tensor,
    /// Running (unbiased) variance (used at inference).
    pub running_var: Tensor,
}

impl BatchNorm {
    /// γ = 1, β = 0, mean 0, variance 1 (torch's initial state).
    pub fn identity(features: usize, device: &candle_core::Device) -> Result<Self> {
        Ok(BatchNorm {
            weight: Tensor::ones(features, DType::F32, device)?,
            bias: Tensor::zeros(features, DType::F32, device)?,
            running_mean: Tensor::zeros(features, DType::F32, device)?,
            running_var: Tensor::ones(features, DType::F32, device)?,
        })
    }

    /// Normalises `x` `[N, F]` with `mean` and `var` `[F]`, then scales and shifts.
    pub fn apply(&self, x: &Tensor, mean: &Tensor, var: &Tensor) -> Result<Tensor> {
        let centred = x.broadcast_sub(mean)?;
        let scaled = centred.broadcast_div(&(var + BATCH_NORM_EPS)?.sqrt()?)?;
        scaled
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}

/// A linear layer `y = x Wᵀ + b`, `W` `[out, in]`, `b` `[out]` (torch's layout).
#[derive(Debug, Clone)]
pub struct Linear {
    /// `[out, in]`.
    pub weight: Tensor,
    /// `[out]`.
    pub bias: Tensor,
}

impl Linear {
    /// `x Wᵀ + b` for `x` `[N, in]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)
    }
}

/// How the batch norms and dropouts behave in [`InterViewAdapter::forward_mode`].
#[derive(Debug, Clone, Copy)]
pub enum AdapterMode<'a> {
    /// Inference: running statistics, no dropout.
    Eval,
    /// Training: batch statistics; the dropout masks (already scaled by 1/(1 − p)) of the input
    /// `[N, V·C]` and of the global feature `[N, C]`, if any.
    Train {
        /// Masks `(input, global)`, or `None` for no dropout.
        dropout: Option<(&'a Tensor, &'a Tensor)>,
    },
}

/// Batch statistics of one training forward pass: `(mean, biased var, unbiased var)` of each of
/// the two batch norms, for updating the running statistics.
pub type BatchStats = [NormStats; 2];

/// `(mean, biased var, unbiased var)` of one batch norm's input over a training batch.
pub type NormStats = (Tensor, Tensor, Tensor);

/// PointCLIP's inter-view adapter; see the module documentation for the layers.
#[derive(Debug, Clone)]
pub struct InterViewAdapter {
    /// Views per cloud `V`.
    pub views: usize,
    /// Feature width `C`.
    pub dim: usize,
    /// BatchNorm over the concatenated `[V·C]` input.
    pub bn_in: BatchNorm,
    /// Linear(V·C → C) of the global branch.
    pub global: Linear,
    /// BatchNorm over the global feature `[C]`.
    pub bn_global: BatchNorm,
    /// Linear(C → C) of the view branch.
    pub view_in: Linear,
    /// Linear(C → V·C) of the view branch.
    pub view_out: Linear,
    /// Weight of the adapted features against the input (0.6).
    pub residual: f32,
}

impl InterViewAdapter {
    /// Checks that every tensor has the shape that `views` and `dim` call for.
    pub fn validate(&self) -> Result<()> {
        let (v, c) = (self.views, self.dim);
        let want: [(&str, &Tensor, Vec<usize>); 14] = [
            ("bn_in.weight", &self.bn_in.weight, vec![v * c]),
            ("bn_in.bias", &self.bn_in.bias, vec![v * c]),
            ("bn_in.running_mean", &self.bn_in.running_mean, vec![v * c]),
            ("bn_in.running_var", &self.bn_in.running_var, vec![v * c]),
            ("global.weight", &self.global.weight, vec![c, v * c]),
            ("global.bias", &self.global.bias, vec![c]),
            ("bn_global.weight", &self.bn_global.weight, vec![c]),
            ("bn_global.bias", &self.bn_global.bias, vec![c]),
            (
                "bn_global.running_mean",
                &self.bn_global.running_mean,
                vec![c],
            ),
            (
                "bn_global.running_var",
                &self.bn_global.running_var,
                vec![c],
            ),
            ("view_in.weight", &self.view_in.weight, vec![c, c]),
            ("view_in.bias", &self.view_in.bias, vec![c]),
            ("view_out.weight", &self.view_out.weight, vec![v * c, c]),
            ("view_out.bias", &self.view_out.bias, vec![v * c]),
        ];
        for (name, t, shape) in want {
            if t.dims() != shape.as_slice() {
                candle_core::bail!(
                    "adapter tensor {name} has shape {:?}, expected {shape:?} for {v} views of width {c}",
                    t.dims()
                );
            }
        }
        Ok(())
    }

    /// Adapted view features `[N·V, C]` for view features `[N·V, C]` (inference). The input rows
    /// are L2-normalised first (§4).
    pub fn forward(&self, global: &Tensor) -> Result<Tensor> {
        Ok(self.forward_mode(global, AdapterMode::Eval)?.0)
    }

    /// The forward pass in either mode; in training mode also the batch statistics.
    pub fn forward_mode(
        &self,
        global: &Tensor,
        mode: AdapterMode<'_>,
    ) -> Result<(Tensor, Option<BatchStats>)> {
        let (rows, c) = global.dims2()?;
        let v = self.views;
        if c != self.dim || v == 0 || rows % v != 0 {
            candle_core::bail!(
                "the adapter takes {v} views of width {}, given {rows} rows of width {c}",
                self.dim
            );
        }
        let n = rows / v;
        let f = l2_normalize(&global.to_dtype(DType::F32)?)?.reshape((n, v * c))?;
        let (x, stats_in) = batch_norm(&self.bn_in, &f, mode)?;
        let x = match mode {
            AdapterMode::Train {
                dropout: Some((m, _)),
            } => (x * m)?,
            _ => x,
        };
        let g = self.global.forward(&x)?;
        let (g, stats_global) = batch_norm(&self.bn_global, &g, mode)?;
        let g = g.relu()?;
        let g = match mode {
            AdapterMode::Train {
                dropout: Some((_, m)),
            } => (g * m)?,
            _ => g,
        };
        let a = self.view_in.forward(&g)?.relu()?;
        let a = self.view_out.forward(&a)?.relu()?;
        let r = self.residual as f64;
        let adapted = ((a * r)? + (f * (1.0 - r))?)?.reshape((rows, c))?;
        let stats = match (stats_in, stats_global) {
            (Some(s1), Some(s2)) => Some([s1, s2]),
            _ => None,
        };
        Ok((adapted, stats))
    }
}

/// A batch norm in either mode; in training mode it returns the batch statistics too.
fn batch_norm(
    bn: &BatchNorm,
    x: &Tensor,
    mode: AdapterMode<'_>,
) -> Result<(Tensor, Option<NormStats>)> {
    match mode {
        AdapterMode::Eval => Ok((bn.apply(x, &bn.running_mean, &bn.running_var)?, None)),
        AdapterMode::Train { .. } => {
            let n = x.dim(0)?;
            if n < 2 {
                candle_core::bail!("batch norm needs at least 2 samples in a training batch");
            }
            let mean = x.mean(0)?;
            let sq = x.broadcast_sub(&mean)?.sqr()?.sum(0)?;
            let var = (&sq / n as f64)?;
            let unbiased = (&sq / (n - 1) as f64)?;
            let y = bn.apply(x, &mean, &var)?;
            Ok((y, Some((mean, var, unbiased))))
        }
    }
}
