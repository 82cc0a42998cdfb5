//! Honest tuning and few-shot fitting (METHOD.md §9): choose on train, report on test.
//!
//! - [`tune()`] searches the prompt template, α, β2, β3 and per-view weights on a stratified
//!   validation subset of the **training** split, carved with a fixed seed, and returns a
//!   [`Profile`]; the test split is never listed or read.
//! - [`fit()`] builds a [`FewShotAdapter`] from K shots per class of the training split: Tip-Adapter's
//!   cache (training-free) or PointCLIP's inter-view adapter (trained).
//! - [`report`] writes `calip3d eval --report`: plain CLIP, CALIP and CALIP + profile, with the
//!   split each setting was chosen on.
//!
//! Features are encoded once; every search only re-scores the attention and the aggregation.
//! Searching on the test split (what PointCLIP, PointCLIP V2 and CALIP did) needs
//! `search_on_test`, and every output made so is stamped.

pub mod features;
pub mod fit;
pub mod report;
pub mod search;
pub mod split;

pub use features::{encode_items, template_class_sets, EncodedItems, TEMPLATE_POOL};
pub use search::{SearchGrid, SearchResult};
pub use split::{DatasetSplits, LabelledItem, SeededRng, Split, SplitSource};

use crate::attend::{FewShotAdapter, FewShotKind, FewShotMeta, FewShotMethod, FEWSHOT_FORMAT};
use crate::classify::classes::ClassList;
use crate::classify::profile::{
    Accuracy, MadeFor, Profile, SearchedOn, ValidationAccuracy, PROFILE_FORMAT,
};
use crate::classify::{ClassSet, Classifier, Scoring};
use crate::error::{Error, Result};

/// Where the validation subset comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationOptions {
    /// The split to carve it from (train; test only with `search_on_test`).
    pub split: Split,
    /// Fraction of each class (0.2).
    pub val_fraction: f64,
    /// Seed of the draw.
    pub seed: u64,
    /// Allows `split = Test`; outputs are stamped.
    pub search_on_test: bool,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            split: Split::Train,
            val_fraction: split::DEFAULT_VAL_FRACTION,
            seed: split::DEFAULT_SEED,
            search_on_test: false,
        }
    }
}

impl ValidationOptions {
    fn check(&self) -> Result<()> {
        if self.split == Split::Test && !self.search_on_test {
            return Err(Error::InvalidSetting(
                "choosing settings on the test split needs --search-on-test (and its results are stamped as such); tune on --split train".into(),
            ));
        }
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            return Err(Error::InvalidSetting(format!(
                "--val-fraction {} is not between 0 and 1",
                self.val_fraction
            )));
        }
        Ok(())
    }
}

/// Positions in `encoded` of the items at `positions` of the listing (failed items drop out).
fn encoded_positions(
    encoded: &EncodedItems,
    items: &[LabelledItem],
    positions: &[usize],
) -> Vec<usize> {
    let index: std::collections::HashMap<&str, usize> = encoded
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    positions
        .iter()
        .filter_map(|&p| index.get(items[p].id.as_str()).copied())
        .collect()
}

/// Searches a [`Profile`] for `classifier` on the validation subset of `options.split`.
/// `classes` are the source's classes in the order of its
/// labels. `progress(done, total)` follows the encoding.
pub fn tune(
    classifier: &Classifier,
    source: &dyn SplitSource,
    classes: &ClassList,
    options: &ValidationOptions,
    grid: &SearchGrid,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Profile, SearchResult)> {
    options.check()?;
    let items = source.items(options.split)?;
    let labels: Vec<usize> = items.iter().map(|i| i.label).collect();
    let (val, _rest) = split::stratified_split(&labels, options.val_fraction, options.seed);
    let val_items: Vec<LabelledItem> = val.iter().map(|&i| items[i].clone()).collect();
    let encoded = encode_items(classifier, source, &val_items, |n| {
        progress(n, val_items.len())
    })?;
    let candidates = template_class_sets(classifier, classes)?;
    let result = search::search(classifier, &encoded, &candidates, grid)?;
    let profile = Profile {
        format: PROFILE_FORMAT.into(),
        search_on_test: options.split == Split::Test,
        settings: result.settings.clone(),
        made_for: MadeFor {
            model: classifier.model_id().into(),
            projection: classifier.projection().to_string(),
            views: classifier.projector().views().len(),
        },
        searched_on: SearchedOn {
            dataset: source.name(),
            split: options.split.to_string(),
            val_fraction: options.val_fraction,
            seed: options.seed,
            split_size: items.len(),
            validation_size: encoded.labels.len(),
            classes: source.classes().to_vec(),
        },
        validation: ValidationAccuracy {
            before: result.before,
            after: result.after,
        },
    };
    Ok((profile, result))
}

/// How [`fit()`] fits.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// The validation subset (α/β search for the cache, before/after for both).
    pub validation: ValidationOptions,
    /// Shots per class, drawn from the split outside the validation subset.
    pub shots: usize,
    /// Cache or adapter.
    pub method: FewShotMethod,
    /// The adapter's training recipe.
    pub train: fit::TrainConfig,
}

/// What [`fit()`] made, with the features it made it from.
pub struct FitOutcome {
    /// The adapter, with its provenance.
    pub adapter: FewShotAdapter,
    /// Validation accuracy of zero-shot CALIP (the classifier's settings).
    pub before: Accuracy,
    /// Validation accuracy with the adapter.
    pub after: Accuracy,
    /// The shots' encoded features.
    pub shots: EncodedItems,
    /// The validation subset's encoded features.
    pub validation: EncodedItems,
}

fn accuracy_of(
    classifier: &Classifier,
    items: &EncodedItems,
    classes: &ClassSet,
    adapter: Option<&FewShotAdapter>,
) -> Result<Accuracy> {
    let scoring = Scoring {
        params: *classifier.params(),
        view_weights: classifier.view_weights(),
        adapter,
    };
    let p = classifier.score_features_with(&items.features, classes, &scoring)?;
    let logits: Vec<f32> = p.iter().flat_map(|p| p.logits.clone()).collect();
    Ok(search::accuracy(&items.labels, &logits, classes.len()))
}

/// Fits a few-shot adapter on `shots` per class of the split, with the classifier's own settings
/// (a profile, if applied) and `classes` (in the source's label order).
/// `progress(done, total)` follows the encoding, `epochs(epoch, loss)` the training.
pub fn fit(
    classifier: &Classifier,
    source: &dyn SplitSource,
    classes: &ClassSet,
    options: &FitOptions,
    progress: &mut dyn FnMut(usize, usize),
    epochs: &mut dyn FnMut(usize, f32),
) -> Result<FitOutcome> {
    let v = &options.validation;
    v.check()?;
    if classes.names() != source.classes() {
        return Err(Error::InvalidSetting(
            "the class set and the dataset's classes differ".into(),
        ));
    }
    let items = source.items(v.split)?;
    let labels: Vec<usize> = items.iter().map(|i| i.label).collect();
    let (val, rest) = split::stratified_split(&labels, v.val_fraction, v.seed);
    let shot_positions = split::draw_shots(&labels, &rest, classes.names(), options.shots, v.seed)?;
    let mut wanted: Vec<usize> = val.iter().chain(&shot_positions).copied().collect();
    wanted.sort_unstable();
    let wanted_items: Vec<LabelledItem> = wanted.iter().map(|&i| items[i].clone()).collect();
    let encoded = encode_items(classifier, source, &wanted_items, |n| {
        progress(n, wanted_items.len())
    })?;
    if let Some((id, e)) = encoded.failed.first() {
        return Err(Error::InvalidSetting(format!(
            "{id}: {e} (fitting needs every shot and validation item)"
        )));
    }
    let validation = encoded.select(&encoded_positions(
        &encoded,
        &wanted_items,
        &position_in(&wanted, &val),
    ))?;
    let shots = encoded.select(&encoded_positions(
        &encoded,
        &wanted_items,
        &position_in(&wanted, &shot_positions),
    ))?;
    let views = classifier.projector().views().len();
    let weights = classifier.view_weights();
    let mut meta = FewShotMeta {
        format: FEWSHOT_FORMAT.into(),
        method: options.method,
        model: classifier.model_id().into(),
        projection: classifier.projection().to_string(),
        views,
        classes: classes.names().to_vec(),
        shots: options.shots,
        seed: v.seed,
        dataset: source.name(),
        split: v.split.to_string(),
        search_on_test: v.split == Split::Test,
        validation_top1: None,
    };
    let before = accuracy_of(classifier, &validation, classes, None)?;
    let kind = match options.method {
        FewShotMethod::Cache => {
            let mut cache = fit::build_cache(
                &shots.features.global,
                views,
                weights,
                &shots.labels,
                classes.len(),
            )?;
            let scoring = Scoring {
                params: *classifier.params(),
                view_weights: weights,
                adapter: None,
            };
            let base = classifier.score_features_with(&validation.features, classes, &scoring)?;
            let base: Vec<f32> = base.iter().flat_map(|p| p.logits.clone()).collect();
            let base = candle_core::Tensor::from_vec(
                base,
                (validation.labels.len(), classes.len()),
                &candle_core::Device::Cpu,
            )?;
            let f = crate::attend::TipCache::cloud_features(
                &validation.features.global,
                views,
                weights,
            )?;
            let (alpha, beta, _, _) = fit::search_cache(&cache, &base, &f, &validation.labels)?;
            cache.alpha = alpha;
            cache.beta = beta;
            FewShotKind::Cache(cache)
        }
        FewShotMethod::Adapter => {
            let trained = fit::train_adapter(
                &shots.features.global,
                &shots.labels,
                classes.features(),
                weights,
                &options.train,
                None,
                epochs,
            )?;
            FewShotKind::InterView(trained)
        }
    };
    let mut adapter = FewShotAdapter {
        meta: meta.clone(),
        kind,
    };
    let after = accuracy_of(classifier, &validation, classes, Some(&adapter))?;
    meta.validation_top1 = Some((before.top1, after.top1));
    adapter.meta = meta;
    Ok(FitOutcome {
        adapter,
        before,
        after,
        shots,
        validation,
    })
}

/// Positions within the sorted `all` of each of `subset`'s values.
fn position_in(all: &[usize], subset: &[usize]) -> Vec<usize> {
    subset
        .iter()
        .filter_map(|s| all.binary_search(s).ok())
        .collect()
}

/// Writes the encoded shot and validation features of a fit as safetensors (atomically):
/// `shots.global` `[S·V, C]`, `shots.labels` `[S]`, `val.global` `[N·V, C]`, `val.labels` `[N]`,
/// `val.logits` `[N, K]` (zero-shot, the classifier's settings), `view_weights` `[V]`; metadata:
/// the classes (JSON) and, for a cache, its α and β.
pub fn export_features(
    classifier: &Classifier,
    classes: &ClassSet,
    outcome: &FitOutcome,
    path: &std::path::Path,
) -> Result<()> {
    use candle_core::{Device, Tensor};
    let labels = |l: &[usize]| -> Result<Tensor> {
        let v: Vec<f32> = l.iter().map(|&x| x as f32).collect();
        Ok(Tensor::from_vec(v, l.len(), &Device::Cpu)?)
    };
    let scoring = Scoring {
        params: *classifier.params(),
        view_weights: classifier.view_weights(),
        adapter: None,
    };
    let p = classifier.score_features_with(&outcome.validation.features, classes, &scoring)?;
    let logits: Vec<f32> = p.iter().flat_map(|p| p.logits.clone()).collect();
    let weights = classifier.view_weights().to_vec();
    let named = vec![
        (
            "shots.global".to_string(),
            outcome.shots.features.global.clone(),
        ),
        ("shots.labels".to_string(), labels(&outcome.shots.labels)?),
        (
            "val.global".to_string(),
            outcome.validation.features.global.clone(),
        ),
        (
            "val.labels".to_string(),
            labels(&outcome.validation.labels)?,
        ),
        (
            "val.logits".to_string(),
            Tensor::from_vec(logits, (p.len(), classes.len()), &Device::Cpu)?,
        ),
        (
            "view_weights".to_string(),
            Tensor::from_vec(weights.clone(), weights.len(), &Device::Cpu)?,
        ),
    ];
    let mut metadata = std::collections::HashMap::new();
    metadata.insert(
        "classes".to_string(),
        serde_json::to_string(classes.names()).unwrap_or_default(),
    );
    if let FewShotKind::Cache(c) = &outcome.adapter.kind {
        metadata.insert("alpha".into(), c.alpha.to_string());
        metadata.insert("beta".into(), c.beta.to_string());
    }
    let bytes =
        crate::attend::safetensors_bytes(&named, metadata).map_err(Error::InvalidSetting)?;
    crate::atomic::write(path, &bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}
