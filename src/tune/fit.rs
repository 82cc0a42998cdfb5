//! Fitting the few-shot additions of METHOD.md §9 on cached features: Tip-Adapter's cache (α, β
//! searched on the validation subset) and PointCLIP's inter-view adapter (trained with candle-nn).

use super::split::SeededRng;
use crate::attend::{
    aggregate_views, l2_normalize, AdapterMode, BatchNorm, InterViewAdapter, Linear, TipCache,
    ADAPTER_RESIDUAL,
};
use crate::error::Result;
use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::optim::{Optimizer, SGD};

/// The training recipe of PointCLIP's adapter (its `trainers/fewshot.py` configs).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Epochs (250).
    pub epochs: usize,
    /// Clouds per step (32). A last batch of one cloud is dropped (batch norm needs two).
    pub batch: usize,
    /// Base learning rate of plain SGD (0.01).
    pub lr: f64,
    /// Learning rate of the one warm-up epoch (1e-5).
    pub warmup_lr: f64,
    /// Label smoothing ε of the cross-entropy (0.2).
    pub smoothing: f64,
    /// Dropout probability of both dropouts (0.075).
    pub dropout: f32,
    /// Residual ratio r of `r·a_v + (1 − r)·f_v` (0.6).
    pub residual: f32,
    /// Seed of the initial weights, the batch order and the dropout masks.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 250,
            batch: 32,
            lr: 0.01,
            warmup_lr: 1e-5,
            smoothing: 0.2,
            dropout: 0.075,
            residual: ADAPTER_RESIDUAL,
            seed: super::split::DEFAULT_SEED,
        }
    }
}

impl TrainConfig {
    /// The learning rate of epoch `e` (from 0): `warmup_lr` for the first epoch, then the cosine
    /// schedule `lr · (1 + cos(π (e − 1) / epochs)) / 2` (Dassl's constant warm-up followed by
    /// `CosineAnnealingLR(T_max = epochs)`).
    pub fn lr_at(&self, epoch: usize) -> f64 {
        if epoch == 0 {
            self.warmup_lr
        } else {
            let t = (epoch - 1) as f64 / self.epochs.max(1) as f64;
            self.lr * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0
        }
    }
}

/// A cache of the K shots' cloud features with α = β = 1 (Tip-Adapter's starting point).
pub fn build_cache(
    global: &Tensor,
    views: usize,
    weights: &[f32],
    labels: &[usize],
    classes: usize,
) -> Result<TipCache> {
    let keys = TipCache::cloud_features(global, views, weights)?;
    Ok(TipCache::new(&keys, labels, classes, 1.0, 1.0)?)
}

/// Tip-Adapter's α grid (searched from 1).
pub const CACHE_ALPHA_GRID: [f32; 8] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
/// Tip-Adapter's β grid (searched from 1).
pub const CACHE_BETA_GRID: [f32; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

/// Searches the cache's α and β on validation features: `base` are the zero-shot logits
/// `[N, K]`, `f` the cloud features `[N, C]`. Starts from α = β = 1; a pair replaces it only
/// when strictly more accurate. Returns `(α, β, accuracy at 1/1, accuracy at the best)`.
pub fn search_cache(
    cache: &TipCache,
    base: &Tensor,
    f: &Tensor,
    labels: &[usize],
) -> Result<(
    f32,
    f32,
    crate::classify::profile::Accuracy,
    crate::classify::profile::Accuracy,
)> {
    let k = cache.classes();
    let score = |alpha: f32, beta: f32| -> Result<crate::classify::profile::Accuracy> {
        let logits = (base + cache.logits_with(f, alpha, beta)?)?;
        let flat: Vec<f32> = logits.flatten_all()?.to_vec1()?;
        Ok(super::search::accuracy(labels, &flat, k))
    };
    let start = score(1.0, 1.0)?;
    let mut best = (1.0, 1.0, start);
    for &alpha in &CACHE_ALPHA_GRID {
        for &beta in &CACHE_BETA_GRID {
            let a = score(alpha, beta)?;
            if (a.top1, a.mean_class) > (best.2.top1, best.2.mean_class) {
                best = (alpha, beta, a);
            }
        }
    }
    Ok((best.0, best.1, start, best.2))
}

/// torch's default initialisation of a Linear layer: weight and bias uniform in ±1/√in.
fn init_linear(rng: &mut SeededRng, out: usize, inp: usize) -> Result<Linear> {
    let bound = 1.0 / (inp as f32).sqrt();
    let mut draw = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| (rng.next_f32() * 2.0 - 1.0) * bound)
            .collect()
    };
    Ok(Linear {
        weight: Tensor::from_vec(draw(out * inp), (out, inp), &Device::Cpu)?,
        bias: Tensor::from_vec(draw(out), out, &Device::Cpu)?,
    })
}

/// A freshly initialised adapter (seeded).
pub fn init_adapter(
    views: usize,
    dim: usize,
    residual: f32,
    seed: u64,
) -> Result<InterViewAdapter> {
    let mut rng = SeededRng::from_state(seed);
    let dev = Device::Cpu;
    Ok(InterViewAdapter {
        views,
        dim,
        bn_in: BatchNorm::identity(views * dim, &dev)?,
        global: init_linear(&mut rng, dim, views * dim)?,
        bn_global: BatchNorm::identity(dim, &dev)?,
        view_in: init_linear(&mut rng, dim, dim)?,
        view_out: init_linear(&mut rng, views * dim, dim)?,
        residual,
    })
}

/// Per-view plain-CLIP logits of adapted features, aggregated over views: `[N, K]`.
fn adapted_logits(
    adapted: &Tensor,
    text: &Tensor,
    views: usize,
    weights: &[f32],
) -> Result<Tensor> {
    let per_view = (l2_normalize(adapted)?.matmul(&text.t()?)? * 100.0)?;
    Ok(aggregate_views(&per_view, views, weights)?)
}

/// Label-smoothed cross-entropy, as torch's `cross_entropy(label_smoothing = ε)`.
fn smoothed_cross_entropy(logits: &Tensor, labels: &Tensor, eps: f64) -> Result<Tensor> {
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let nll = logp.gather(&labels.unsqueeze(1)?, 1)?.squeeze(1)?.neg()?;
    let uniform = logp.mean(D::Minus1)?.neg()?;
    Ok(((nll * (1.0 - eps))? + (uniform * eps)?)?.mean_all()?)
}

fn dropout_mask(rng: &mut SeededRng, shape: (usize, usize), p: f32) -> Result<Tensor> {
    let keep = 1.0 - p;
    let v: Vec<f32> = (0..shape.0 * shape.1)
        .map(|_| {
            if rng.next_f32() < keep {
                1.0 / keep
            } else {
                0.0
            }
        })
        .collect();
    Ok(Tensor::from_vec(v, shape, &Device::Cpu)?)
}

/// Trains PointCLIP's inter-view adapter on cached view features `global` `[N·V, C]` with
/// `labels`, against the class features `text` `[K, C]`, on plain-CLIP logits of the adapted
/// views (as PointCLIP's code trains it), aggregated with `weights`. `init` replaces the seeded
/// initialisation. `progress(epoch, mean loss)` is called after each epoch.
pub fn train_adapter(
    global: &Tensor,
    labels: &[usize],
    text: &Tensor,
    weights: &[f32],
    config: &TrainConfig,
    init: Option<InterViewAdapter>,
    mut progress: impl FnMut(usize, f32),
) -> Result<InterViewAdapter> {
    let views = weights.len();
    let (rows, dim) = global.dims2()?;
    let n = labels.len();
    if views == 0 || rows != n * views {
        return Err(crate::Error::InvalidSetting(format!(
            "{rows} view features for {n} clouds of {views} views"
        )));
    }
    if n < 2 {
        return Err(crate::Error::InvalidSetting(
            "training the adapter needs at least 2 clouds".into(),
        ));
    }
    let start = match init {
        Some(a) => a,
        None => init_adapter(views, dim, config.residual, config.seed)?,
    };
    start.validate()?;
    let var = |t: &Tensor| Var::from_tensor(&t.to_dtype(DType::F32)?);
    let vars = [
        var(&start.bn_in.weight)?,
        var(&start.bn_in.bias)?,
        var(&start.global.weight)?,
        var(&start.global.bias)?,
        var(&start.bn_global.weight)?,
        var(&start.bn_global.bias)?,
        var(&start.view_in.weight)?,
        var(&start.view_in.bias)?,
        var(&start.view_out.weight)?,
        var(&start.view_out.bias)?,
    ];
    let mut running = [
        (
            start.bn_in.running_mean.clone(),
            start.bn_in.running_var.clone(),
        ),
        (
            start.bn_global.running_mean.clone(),
            start.bn_global.running_var.clone(),
        ),
    ];
    let current = |running: &[(Tensor, Tensor); 2]| InterViewAdapter {
        views,
        dim,
        bn_in: BatchNorm {
            weight: vars[0].as_tensor().clone(),
            bias: vars[1].as_tensor().clone(),
            running_mean: running[0].0.clone(),
            running_var: running[0].1.clone(),
        },
        global: Linear {
            weight: vars[2].as_tensor().clone(),
            bias: vars[3].as_tensor().clone(),
        },
        bn_global: BatchNorm {
            weight: vars[4].as_tensor().clone(),
            bias: vars[5].as_tensor().clone(),
            running_mean: running[1].0.clone(),
            running_var: running[1].1.clone(),
        },
        view_in: Linear {
            weight: vars[6].as_tensor().clone(),
            bias: vars[7].as_tensor().clone(),
        },
        view_out: Linear {
            weight: vars[8].as_tensor().clone(),
            bias: vars[9].as_tensor().clone(),
        },
        residual: config.residual,
    };
    let text = l2_normalize(&text.to_dtype(DType::F32)?)?;
    let global = global.to_dtype(DType::F32)?;
    let mut opt = SGD::new(vars.to_vec(), config.lr)?;
    let mut rng = SeededRng::from_state(config.seed.wrapping_add(0x0DD5));
    const MOMENTUM: f64 = 0.1; // torch BatchNorm1d's running-statistics momentum
    for epoch in 0..config.epochs {
        opt.set_learning_rate(config.lr_at(epoch));
        let mut order: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut order);
        let mut losses = Vec::new();
        for batch in order.chunks(config.batch.max(2)) {
            if batch.len() < 2 {
                continue;
            }
            let b = batch.len();
            let rows: Vec<u32> = batch
                .iter()
                .flat_map(|&i| (i * views..(i + 1) * views).map(|r| r as u32))
                .collect();
            let x = global.index_select(&Tensor::from_vec(rows, b * views, &Device::Cpu)?, 0)?;
            let y: Vec<u32> = batch.iter().map(|&i| labels[i] as u32).collect();
            let y = Tensor::from_vec(y, b, &Device::Cpu)?;
            let masks = if config.dropout > 0.0 {
                Some((
                    dropout_mask(&mut rng, (b, views * dim), config.dropout)?,
                    dropout_mask(&mut rng, (b, dim), config.dropout)?,
                ))
            } else {
                None
            };
            let adapter = current(&running);
            let (adapted, stats) = adapter.forward_mode(
                &x,
                AdapterMode::Train {
                    dropout: masks.as_ref().map(|(a, b)| (a, b)),
                },
            )?;
            let logits = adapted_logits(&adapted, &text, views, weights)?;
            let loss = smoothed_cross_entropy(&logits, &y, config.smoothing)?;
            opt.backward_step(&loss)?;
            losses.push(loss.to_scalar::<f32>()?);
            if let Some(stats) = stats {
                for (r, (mean, _var, unbiased)) in running.iter_mut().zip(stats) {
                    r.0 = ((&r.0 * (1.0 - MOMENTUM))? + (mean.detach() * MOMENTUM)?)?;
                    r.1 = ((&r.1 * (1.0 - MOMENTUM))? + (unbiased.detach() * MOMENTUM)?)?;
                }
            }
        }
        let mean = losses.iter().sum::<f32>() / losses.len().max(1) as f32;
        progress(epoch, mean);
    }
    let mut out = current(&running);
    // Detach the trained weights from the optimiser's variables.
    for t in [
        &mut out.bn_in.weight,
        &mut out.bn_in.bias,
        &mut out.global.weight,
        &mut out.global.bias,
        &mut out.bn_global.weight,
        &mut out.bn_global.bias,
        &mut out.view_in.weight,
        &mut out.view_in.bias,
        &mut out.view_out.weight,
        &mut out.view_out.bias,
    ] {
        *t = t.detach().copy()?;
    }
    Ok(out)
}
