//! [`CalipAttention`]: text-aware visual features and visually guided text features, with no
//! learned parameters, turned into zero-shot logits.

use candle_core::{DType, Result, Tensor};
use candle_nn::ops::softmax_last_dim;

/// CALIP's temperatures and term weights.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CalipParams {
    /// Temperature of the softmax over spatial positions (visually guided text features).
    pub alpha_s: f32,
    /// Temperature of the softmax over classes (text-aware visual features).
    pub alpha_t: f32,
    /// Weight of plain CLIP's term `f_v F_tᵀ`; 1 in CALIP.
    pub beta1: f32,
    /// Weight of `f_v (F_t^a)ᵀ`.
    pub beta2: f32,
    /// Weight of `f_v^a F_tᵀ`.
    pub beta3: f32,
}

impl Default for CalipParams {
    /// α_s = α_t = 0.5 as CALIP's official code; β2 = 1.12 and β3 = 0.02, the values CALIP
    /// published for ImageNet. They were searched on ImageNet, a different data set and modality
    /// than any 3D benchmark, so they are not tuned on the clouds calip3d is evaluated on.
    fn default() -> Self {
        CalipParams {
            alpha_s: 0.5,
            alpha_t: 0.5,
            beta1: 1.0,
            beta2: 1.12,
            beta3: 0.02,
        }
    }
}

impl CalipParams {
    /// Plain CLIP: β2 = β3 = 0 (PointCLIP's zero-shot).
    pub fn baseline() -> Self {
        CalipParams {
            beta2: 0.0,
            beta3: 0.0,
            ..Self::default()
        }
    }
}

/// The three logit terms of §5 before weighting and the ×100 scale, each `[B, K]`.
#[derive(Debug, Clone)]
pub struct CalipTerms {
    /// `f_v F_tᵀ`: cosine similarity of the global feature and the class features.
    pub clip: Tensor,
    /// `f_v (F_t^a)ᵀ`: the global feature against the visually guided text features.
    pub text_guided: Tensor,
    /// `f_v^a F_tᵀ`: the pooled text-aware visual feature against the class features.
    pub visual_guided: Tensor,
}

// One implementation, in the encoder (an earlier stage), zero-safe as torch's `normalize`.
pub use crate::encode::l2_normalize;

/// CALIP's parameter-free attention over a batch of views.
///
/// ```
/// use calip3d::attend::{CalipAttention, CalipParams};
/// use candle_core::{Device, Tensor};
/// let dev = Device::Cpu;
/// let global = Tensor::new(&[[1.0f32, 0.0]], &dev)?; // [B=1, C=2]
/// let spatial = Tensor::new(&[[[1.0f32, 0.0], [0.0, 1.0]]], &dev)?; // [B=1, P=2, C=2]
/// let text = Tensor::new(&[[1.0f32, 0.0], [0.0, 1.0]], &dev)?; // [K=2, C=2]
/// let logits = CalipAttention::new(CalipParams::baseline()).logits(&global, &spatial, &text)?;
/// assert_eq!(logits.to_vec2::<f32>()?, vec![vec![100.0, 0.0]]);
/// # Ok::<(), candle_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CalipAttention {
    params: CalipParams,
}

impl CalipAttention {
    /// Attention with these parameters.
    pub fn new(params: CalipParams) -> Self {
        CalipAttention { params }
    }

    /// The parameters.
    pub fn params(&self) -> &CalipParams {
        &self.params
    }

    /// The three unweighted terms for `global` `[B, C]`, `spatial` `[B, P, C]` and `text`
    /// `[K, C]`. Inputs may be unnormalised: every row is L2-normalised first (§4), so normalised
    /// inputs give the same result.
    pub fn terms(&self, global: &Tensor, spatial: &Tensor, text: &Tensor) -> Result<CalipTerms> {
        let f_v = l2_normalize(&global.to_dtype(DType::F32)?)?; // [B, C]
        let f_s = l2_normalize(&spatial.to_dtype(DType::F32)?)?; // [B, P, C]
        let f_t = l2_normalize(&text.to_dtype(DType::F32)?)?; // [K, C]
        let (b, _p, c) = f_s.dims3()?;
        let k = f_t.dim(0)?;
        let f_t_b = f_t.unsqueeze(0)?.broadcast_as((b, k, c))?.contiguous()?; // [B, K, C]

        // A = F_s F_tᵀ: affinity of every position with every class.
        let a = f_s.matmul(&f_t_b.transpose(1, 2)?)?; // [B, P, K]
                                                      // F_s^a = softmax_K(A / α_t) F_t: each position re-expressed in class features.
        let f_s_a = softmax_last_dim(&(&a / self.params.alpha_t as f64)?)?.matmul(&f_t_b)?; // [B, P, C]
                                                                                            // F_t^a = softmax_P(Aᵀ / α_s) F_s: each class re-expressed in the view's positions.
        let a_t = a.transpose(1, 2)?.contiguous()?; // [B, K, P]
        let f_t_a = softmax_last_dim(&(&a_t / self.params.alpha_s as f64)?)?.matmul(&f_s)?; // [B, K, C]
                                                                                            // f_v^a = mean_P + max_P of F_s^a.
        let f_v_a = (f_s_a.mean(1)? + f_s_a.max(1)?)?; // [B, C]

        let clip = f_v.matmul(&f_t.t()?)?; // [B, K]
        let text_guided = f_t_a.matmul(&f_v.unsqueeze(2)?)?.squeeze(2)?; // [B, K]
        let visual_guided = f_v_a.matmul(&f_t.t()?)?; // [B, K]
        Ok(CalipTerms {
            clip,
            text_guided,
            visual_guided,
        })
    }

    /// Per-view logits `[B, K]`: `100 · (β1 clip + β2 text_guided + β3 visual_guided)`.
    pub fn logits(&self, global: &Tensor, spatial: &Tensor, text: &Tensor) -> Result<Tensor> {
        let t = self.terms(global, spatial, text)?;
        self.combine(&t)
    }

    /// Weights and scales precomputed terms (so several β settings can share one attention pass).
    pub fn combine(&self, t: &CalipTerms) -> Result<Tensor> {
        let p = &self.params;
        let sum = ((&t.clip * p.beta1 as f64)? + (&t.text_guided * p.beta2 as f64)?)?;
        (sum + (&t.visual_guided * p.beta3 as f64)?)? * 100.0
    }
}
