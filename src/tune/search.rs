//! The search of `calip3d tune` (METHOD.md §9): prompt template, α, β2, β3, then per-view
//! weights one view at a time, each scored on cached features of the validation subset.

use super::features::EncodedItems;
use crate::attend::CalipAttention;
use crate::attend::CalipParams;
use crate::classify::profile::{Accuracy, ProfileSettings};
use crate::classify::{ClassSet, Classifier, Scoring};
use crate::error::Result;

/// The values each setting is searched over.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchGrid {
    /// α_s = α_t (CALIP's code: 0.5).
    pub alpha: Vec<f32>,
    /// β2 over CALIP's range [0, 2].
    pub beta2: Vec<f32>,
    /// β3 over CALIP's range [0, 0.1].
    pub beta3: Vec<f32>,
    /// The weights each view can take (PointCLIP's grid).
    pub view_weight: Vec<f32>,
}

impl Default for SearchGrid {
    /// α ∈ {0.1, 0.25, 0.5, 1, 2}; β2 ∈ {0, 0.1, …, 2} (21 values); β3 ∈ {0, 0.01, …, 0.1}
    /// (11 values); view weights ∈ {0.25, 0.5, 0.75, 1}.
    fn default() -> Self {
        SearchGrid {
            alpha: vec![0.1, 0.25, 0.5, 1.0, 2.0],
            beta2: (0..=20).map(|i| i as f32 / 10.0).collect(),
            beta3: (0..=10).map(|i| i as f32 / 100.0).collect(),
            view_weight: vec![0.25, 0.5, 0.75, 1.0],
        }
    }
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// The best settings (the defaults unless something was strictly better).
    pub settings: ProfileSettings,
    /// Validation accuracy with the defaults.
    pub before: Accuracy,
    /// Validation accuracy with the settings found.
    pub after: Accuracy,
    /// Settings scored.
    pub evaluated: usize,
}

/// Top-1 and mean class accuracy of `[N, K]` row-major logits (first class wins ties).
pub fn accuracy(labels: &[usize], logits: &[f32], k: usize) -> Accuracy {
    let mut per_class = vec![(0usize, 0usize); k];
    let mut right = 0usize;
    for (i, &label) in labels.iter().enumerate() {
        let row = &logits[i * k..(i + 1) * k];
        let best = crate::classify::argmax(row);
        per_class[label].1 += 1;
        if best == label {
            per_class[label].0 += 1;
            right += 1;
        }
    }
    let present: Vec<f64> = per_class
        .iter()
        .filter(|c| c.1 > 0)
        .map(|c| c.0 as f64 / c.1 as f64)
        .collect();
    Accuracy {
        top1: right as f64 / labels.len().max(1) as f64,
        mean_class: present.iter().sum::<f64>() / present.len().max(1) as f64,
    }
}

fn better(a: Accuracy, b: Accuracy) -> bool {
    (a.top1, a.mean_class) > (b.top1, b.mean_class)
}

/// The three per-view terms of §5 as flat `[N·V, K]` rows.
struct FlatTerms {
    clip: Vec<f32>,
    text_guided: Vec<f32>,
    visual_guided: Vec<f32>,
}

fn flat_terms(items: &EncodedItems, text: &ClassSet, alpha: f32) -> Result<FlatTerms> {
    let attention = CalipAttention::new(CalipParams {
        alpha_s: alpha,
        alpha_t: alpha,
        ..CalipParams::default()
    });
    let t = attention.terms(
        &items.features.global,
        &items.features.spatial,
        text.features(),
    )?;
    let flat = |x: &candle_core::Tensor| -> Result<Vec<f32>> { Ok(x.flatten_all()?.to_vec1()?) };
    Ok(FlatTerms {
        clip: flat(&t.clip)?,
        text_guided: flat(&t.text_guided)?,
        visual_guided: flat(&t.visual_guided)?,
    })
}

/// The weighted view mean of each term: three `[N, K]`.
fn aggregate(t: &FlatTerms, views: usize, k: usize, weights: &[f32]) -> [Vec<f32>; 3] {
    let total: f32 = weights.iter().sum();
    let agg = |x: &[f32]| -> Vec<f32> {
        let n = x.len() / (views * k);
        let mut out = vec![0f32; n * k];
        for i in 0..n {
            for (v, w) in weights.iter().enumerate() {
                let row = &x[(i * views + v) * k..(i * views + v + 1) * k];
                for (o, r) in out[i * k..(i + 1) * k].iter_mut().zip(row) {
                    *o += w / total * r;
                }
            }
        }
        out
    };
    [agg(&t.clip), agg(&t.text_guided), agg(&t.visual_guided)]
}

fn combine(agg: &[Vec<f32>; 3], beta2: f32, beta3: f32) -> Vec<f32> {
    agg[0]
        .iter()
        .zip(&agg[1])
        .zip(&agg[2])
        .map(|((c, t), v)| 100.0 * (c + beta2 * t + beta3 * v))
        .collect()
}

/// Accuracy of `settings` on `items`, scored the way the classifier scores (no few-shot
/// adapter).
pub fn evaluate(
    classifier: &Classifier,
    items: &EncodedItems,
    text: &ClassSet,
    settings: &ProfileSettings,
) -> Result<Accuracy> {
    let params = CalipParams {
        alpha_s: settings.alpha,
        alpha_t: settings.alpha,
        beta2: settings.beta2,
        beta3: settings.beta3,
        ..CalipParams::default()
    };
    let scoring = Scoring {
        params,
        view_weights: &settings.view_weights,
        adapter: None,
    };
    let predictions = classifier.score_features_with(&items.features, text, &scoring)?;
    let logits: Vec<f32> = predictions.iter().flat_map(|p| p.logits.clone()).collect();
    Ok(accuracy(&items.labels, &logits, text.len()))
}

/// Searches the template (among `candidates`, the first being the defaults), α and β on a grid
/// with uniform view weights, then each view's weight in turn. A setting replaces the best so
/// far only when it is strictly better (top-1, then mean class accuracy), so the defaults stay
/// when nothing beats them.
pub fn search(
    classifier: &Classifier,
    items: &EncodedItems,
    candidates: &[(Vec<String>, ClassSet)],
    grid: &SearchGrid,
) -> Result<SearchResult> {
    let views = items.features.views_per_cloud;
    let defaults = CalipParams::default();
    let first = candidates
        .first()
        .ok_or_else(|| crate::Error::InvalidSetting("no template candidates".into()))?;
    let default_settings = ProfileSettings {
        alpha: defaults.alpha_s,
        beta2: defaults.beta2,
        beta3: defaults.beta3,
        view_weights: classifier.view_weights().to_vec(),
        templates: first.0.clone(),
    };
    let before = evaluate(classifier, items, &first.1, &default_settings)?;
    let mut best = (default_settings.clone(), 0usize, before);
    let mut evaluated = 1usize;
    let uniform = vec![1.0f32; views];
    for (ti, (templates, text)) in candidates.iter().enumerate() {
        let k = text.len();
        for &alpha in &grid.alpha {
            let terms = flat_terms(items, text, alpha)?;
            let agg = aggregate(&terms, views, k, &uniform);
            for &beta2 in &grid.beta2 {
                for &beta3 in &grid.beta3 {
                    let acc = accuracy(&items.labels, &combine(&agg, beta2, beta3), k);
                    evaluated += 1;
                    if better(acc, best.2) {
                        best = (
                            ProfileSettings {
                                alpha,
                                beta2,
                                beta3,
                                view_weights: uniform.clone(),
                                templates: templates.clone(),
                            },
                            ti,
                            acc,
                        );
                    }
                }
            }
        }
    }
    // Per-view weights, one view at a time (PointCLIP's grid), at the best template, α and β.
    let (mut settings, ti, mut acc) = best;
    let text = &candidates[ti].1;
    let k = text.len();
    let terms = flat_terms(items, text, settings.alpha)?;
    for v in 0..views {
        for &w in &grid.view_weight {
            let mut weights = settings.view_weights.clone();
            weights[v] = w;
            let agg = aggregate(&terms, views, k, &weights);
            let a = accuracy(
                &items.labels,
                &combine(&agg, settings.beta2, settings.beta3),
                k,
            );
            evaluated += 1;
            if better(a, acc) {
                settings.view_weights = weights;
                acc = a;
            }
        }
    }
    let after = evaluate(classifier, items, text, &settings)?;
    Ok(SearchResult {
        settings,
        before,
        after,
        evaluated,
    })
}
