//! View aggregation (METHOD.md §6): the weighted mean of per-view logits.

use candle_core::{Result, Tensor};

/// PointCLIP V2's view weights for the realistic projection, published for ViT-B/16 on ModelNet40
/// and TUNED ON ITS TEST SET: offered for comparison with the paper, never used by default.
pub const V2_MODELNET40_WEIGHTS: [f32; 10] =
    [0.75, 0.75, 0.75, 0.25, 0.75, 1.0, 0.25, 1.0, 0.75, 0.25];

/// `Σ_v w_v · logits_v / Σ_v w_v` for rows grouped `views` at a time: `[N·V, K]` → `[N, K]`.
///
/// ```
/// use calip3d::attend::aggregate_views;
/// use candle_core::{Device, Tensor};
/// let per_view = Tensor::new(&[[1.0f32, 0.0], [3.0, 2.0]], &Device::Cpu)?; // one cloud, two views
/// let logits = aggregate_views(&per_view, 2, &[1.0, 3.0])?;
/// assert_eq!(logits.to_vec2::<f32>()?, vec![vec![2.5, 1.5]]);
/// # Ok::<(), candle_core::Error>(())
/// ```
pub fn aggregate_views(per_view: &Tensor, views: usize, weights: &[f32]) -> Result<Tensor> {
    let (rows, k) = per_view.dims2()?;
    if views == 0 || rows % views != 0 || weights.len() != views {
        candle_core::bail!(
            "cannot aggregate {rows} view rows in groups of {views} with {} weights",
            weights.len()
        );
    }
    let total: f32 = weights.iter().sum();
    let w: Vec<f32> = weights.iter().map(|w| w / total).collect();
    let w = Tensor::from_vec(w, (1, views, 1), per_view.device())?;
    per_view
        .reshape((rows / views, views, k))?
        .broadcast_mul(&w)?
        .sum(1)
}
