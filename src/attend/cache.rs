//! [`TipCache`]: Tip-Adapter's training-free cache (Zhang et al., ECCV 2022) over the
//! view-aggregated global features of a few labelled clouds (METHOD.md §9).

use super::attention::l2_normalize;
use candle_core::{DType, Result, Tensor};

/// Tip-Adapter's key-value cache: `logits += α · exp(−β (1 − f Fᵀ)) L`.
///
/// The keys `F` `[M, C]` are the L2-normalised cloud features of K shots per class, the values
/// `L` `[M, classes]` their one-hot labels.
///
/// ```
/// use calip3d::attend::TipCache;
/// use candle_core::{Device, Tensor};
/// let keys = Tensor::new(&[[1.0f32, 0.0], [0.0, 1.0]], &Device::Cpu)?;
/// let cache = TipCache::new(&keys, &[0, 1], 2, 1.0, 1.0)?;
/// let f = Tensor::new(&[[1.0f32, 0.0]], &Device::Cpu)?;
/// let extra = cache.logits(&f)?.to_vec2::<f32>()?;
/// assert!((extra[0][0] - 1.0).abs() < 1e-6 && (extra[0][1] - (-1.0f32).exp()).abs() < 1e-6);
/// # Ok::<(), candle_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TipCache {
    keys: Tensor,
    values: Tensor,
    labels: Vec<usize>,
    /// Weight of the cache's logits.
    pub alpha: f32,
    /// Sharpness of the affinity.
    pub beta: f32,
}

impl TipCache {
    /// A cache of `keys` `[M, C]` (normalised here) labelled `labels` (each `< classes`).
    pub fn new(
        keys: &Tensor,
        labels: &[usize],
        classes: usize,
        alpha: f32,
        beta: f32,
    ) -> Result<Self> {
        let (m, _c) = keys.dims2()?;
        if m != labels.len() || m == 0 {
            candle_core::bail!("{m} cache keys for {} labels", labels.len());
        }
        if let Some(bad) = labels.iter().find(|&&l| l >= classes) {
            candle_core::bail!("cache label {bad} is not below the {classes} classes");
        }
        let mut one_hot = vec![0f32; m * classes];
        for (i, &l) in labels.iter().enumerate() {
            one_hot[i * classes + l] = 1.0;
        }
        Ok(TipCache {
            keys: l2_normalize(&keys.to_dtype(DType::F32)?)?,
            values: Tensor::from_vec(one_hot, (m, classes), keys.device())?,
            labels: labels.to_vec(),
            alpha,
            beta,
        })
    }

    /// The keys `[M, C]`, rows L2-normalised.
    pub fn keys(&self) -> &Tensor {
        &self.keys
    }
    /// The label of each key.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }
    /// Number of classes of the values.
    pub fn classes(&self) -> usize {
        self.values.dims()[1]
    }

    /// The cloud feature of §9: `normalize(Σ_v w_v f̂_v / Σ_v w_v)` for view rows `[N·V, C]`
    /// grouped `views` at a time; `[N, C]`.
    pub fn cloud_features(global: &Tensor, views: usize, weights: &[f32]) -> Result<Tensor> {
        let f = l2_normalize(&global.to_dtype(DType::F32)?)?;
        // The weighted mean of rows is the same operation as the logit aggregation of §6.
        l2_normalize(&super::aggregate_views(&f, views, weights)?)
    }

    /// The cache's logits `α · exp(−β (1 − f Fᵀ)) L` for cloud features `f` `[N, C]`.
    pub fn logits(&self, f: &Tensor) -> Result<Tensor> {
        self.logits_with(f, self.alpha, self.beta)
    }

    /// [`Self::logits`] with other α and β (the search of §9 re-scores without rebuilding).
    pub fn logits_with(&self, f: &Tensor, alpha: f32, beta: f32) -> Result<Tensor> {
        let affinity = f.matmul(&self.keys.t()?)?; // [N, M]
        let a = ((affinity - 1.0)? * beta as f64)?.exp()?;
        a.matmul(&self.values)? * alpha as f64
    }
}
