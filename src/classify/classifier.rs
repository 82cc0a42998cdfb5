//! [`Classifier`]: the whole pipeline behind one value, built once and shared by threads.

use super::classes::{ClassList, ClassSpec};
use super::prediction::{softmax, Devices, Prediction, StageDevice, Timings};
use super::profile::Profile;
use super::settings::Settings;
use crate::attend::{
    aggregate_views, CalipAttention, CalipParams, FewShotAdapter, FewShotKind, TipCache,
};
use crate::cloud::{PointCloud, UpAxis};
use crate::encode::{ClipEncoder, Precision};
use crate::error::{Error, Result};
use crate::load::{load, LoadOptions};
use crate::project::{ClipBatch, DeviceChoice, Projection, Projector, ViewSet};
use candle_core::{Device, Tensor};
use nalgebra::Point3;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The model used when none is named: OpenAI's ViT-B/32 CLIP on the Hugging Face Hub.
pub const DEFAULT_MODEL: &str = "openai/clip-vit-base-patch32";

/// A typed way to fill [`Settings`] and build a [`Classifier`]: each method sets one value, and
/// [`Self::build`] merges them in one order whatever the order of the calls: defaults < profile
/// < explicit values.
///
/// ```no_run
/// use calip3d::classify::Classifier;
/// use calip3d::project::Projection;
/// let classifier = Classifier::builder()
///     .model("path/to/clip-vit-base-patch32")
///     .projection(Projection::Realistic)
///     .build()?;
/// # Ok::<(), calip3d::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClassifierBuilder {
    settings: Settings,
    /// Explicit α and β as one value ([`Self::params`]); [`Settings::alpha`] and the β fields
    /// apply on top.
    params: Option<CalipParams>,
    load: Option<LoadOptions>,
    profile: Option<Profile>,
    adapter: Option<Arc<FewShotAdapter>>,
}

impl ClassifierBuilder {
    /// A builder from settings whose profile and adapter are already read
    /// ([`Classifier::new`] reads them).
    pub(crate) fn from_settings(
        settings: Settings,
        profile: Option<Profile>,
        adapter: Option<FewShotAdapter>,
    ) -> Self {
        ClassifierBuilder {
            settings,
            params: None,
            load: None,
            profile,
            adapter: adapter.map(Arc::new),
        }
    }

    /// CLIP model: a local folder in the Hugging Face layout or a Hub repo id.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.settings.model = Some(model.into());
        self
    }
    /// Projection (default: realistic, PointCLIP V2's 10 views).
    pub fn projection(mut self, projection: Projection) -> Self {
        self.settings.projection = Some(projection);
        self
    }
    /// Views to render instead of the projection's preset.
    pub fn views(mut self, views: ViewSet) -> Self {
        self.settings.views = Some(views);
        self
    }
    /// Where to project and encode: GPU, CPU or whichever is there (default). `Gpu` runs both
    /// stages on a GPU adapter (lavapipe included) or fails; `Auto` uses a hardware GPU when
    /// there is one. The text tower stays on the CPU (class features are cached on disk).
    pub fn device(mut self, device: DeviceChoice) -> Self {
        self.settings.device = Some(device);
        self
    }
    /// CALIP's α and β (default [`CalipParams::default`]); they win over a profile's.
    pub fn params(mut self, params: CalipParams) -> Self {
        self.params = Some(params);
        self
    }
    /// Per-view weights of the logit average (default: all 1, as PointCLIP's zero-shot).
    pub fn view_weights(mut self, weights: Vec<f32>) -> Self {
        self.settings.view_weights = Some(weights);
        self
    }
    /// How files are read and how many points are kept (also applied to in-memory clouds).
    pub fn load_options(mut self, load: LoadOptions) -> Self {
        self.load = Some(load);
        self
    }
    /// Point budget: clouds with more points are subsampled deterministically (0 = keep all).
    pub fn max_points(mut self, max_points: usize) -> Self {
        self.settings.max_points = Some(max_points);
        if let Some(load) = &mut self.load {
            load.max_points = max_points;
        }
        self
    }
    /// Apply CLIP's mean/std normalisation to the depth images (off by default, as the originals).
    pub fn normalize_input(mut self, on: bool) -> Self {
        self.settings.normalize_input = on;
        self
    }
    /// Keep the per-view logits in each [`Prediction`].
    pub fn keep_view_logits(mut self, on: bool) -> Self {
        self.settings.keep_view_logits = on;
        self
    }
    /// Applies a [`Profile`] from `calip3d tune`: its α, β, view weights and templates, under any
    /// value set explicitly (before or after this call). [`Self::build`] checks that it was made
    /// for this model, projection and number of views.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = Some(profile);
        self
    }
    /// Adds a few-shot adapter from `calip3d fit` (METHOD.md §9) to the zero-shot scores.
    /// [`Self::build`] checks that it was made for this model, projection and views.
    pub fn adapter(mut self, adapter: FewShotAdapter) -> Self {
        self.adapter = Some(Arc::new(adapter));
        self
    }
    /// Arithmetic of the vision tower's matrix products (default f32; see [`Precision`]).
    pub fn precision(mut self, precision: Precision) -> Self {
        self.settings.precision = Some(precision);
        self
    }

    /// Merges the settings, loads the model and sets up the projector.
    pub fn build(self) -> Result<Classifier> {
        let s = &self.settings;
        let profile = self.profile.as_ref();
        let projection = s.projection();
        let views = s.views.clone().unwrap_or_else(|| projection.views());
        let n_views = views.len();
        if let Some(p) = profile {
            // Projection and views first: their mismatch explains wrong-length view weights.
            // The model is checked once it is loaded.
            p.check_made_for(&p.made_for.model, &projection.to_string(), n_views)?;
        }
        let base = self
            .params
            .or_else(|| profile.map(Profile::params))
            .unwrap_or_default();
        let params = s.params_over(base)?;
        let view_weights = s
            .view_weights(profile)
            .unwrap_or_else(|| vec![1.0; n_views]);
        if view_weights.len() != n_views {
            return Err(Error::InvalidSetting(format!(
                "{} view weights given for {} views",
                view_weights.len(),
                n_views
            )));
        }
        if view_weights.iter().any(|w| !w.is_finite() || *w < 0.0)
            || view_weights.iter().sum::<f32>() <= 0.0
        {
            return Err(Error::InvalidSetting(
                "view weights must be finite, non-negative and not all zero".into(),
            ));
        }
        let load = self.load.clone().unwrap_or_else(|| s.load_options());
        let device = s.device.unwrap_or_default();
        let projector = Projector::new(projection, views, device)?;
        let model = s.model.as_deref().unwrap_or(DEFAULT_MODEL);
        let encoder = ClipEncoder::load_with(model, &Device::Cpu, s.precision.unwrap_or_default())?
            .with_vision_device(device)?;
        log::info!(
            "project on {}; encode on {}",
            projector.backend(),
            encoder.vision_backend()
        );
        if let Some(p) = profile {
            p.check_made_for(encoder.model_id(), &projection.to_string(), n_views)?;
        }
        if let Some(a) = &self.adapter {
            check_adapter_made_for(a, encoder.model_id(), &projection.to_string(), n_views)?;
            if let FewShotKind::InterView(iv) = &a.kind {
                if iv.dim != encoder.embed_dim() {
                    return Err(Error::InvalidSetting(format!(
                        "the adapter is {} wide, the model's features {}",
                        iv.dim,
                        encoder.embed_dim()
                    )));
                }
            }
        }
        let templates = s.templates(profile);
        Ok(Classifier {
            encoder,
            projector,
            projection,
            attention: CalipAttention::new(params),
            view_weights,
            load,
            normalize_input: s.normalize_input,
            keep_view_logits: s.keep_view_logits,
            templates,
            profile: self.profile,
            adapter: self.adapter,
        })
    }
}

/// An adapter made for another model, projection or number of views is an error.
fn check_adapter_made_for(
    adapter: &FewShotAdapter,
    model: &str,
    projection: &str,
    views: usize,
) -> Result<()> {
    let m = &adapter.meta;
    let pairs = [
        ("model", m.model.clone(), model.to_string()),
        ("projection", m.projection.clone(), projection.to_string()),
        ("views", m.views.to_string(), views.to_string()),
    ];
    for (what, made_for, used_with) in pairs {
        if made_for != used_with {
            return Err(Error::InvalidSetting(format!(
                "the few-shot adapter ({}) was made for {what} `{made_for}`, not `{used_with}`",
                m.method
            )));
        }
    }
    Ok(())
}

/// Class names with their prompts and text features, prepared once per model and reused.
#[derive(Debug, Clone)]
pub struct ClassSet {
    specs: Vec<ClassSpec>,
    names: Arc<[String]>,
    /// `[K, C]`, rows L2-normalised (METHOD.md §4).
    features: Tensor,
    model_id: String,
}

impl ClassSet {
    /// Class names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Classes with the prompts that were encoded.
    pub fn specs(&self) -> &[ClassSpec] {
        &self.specs
    }
    /// The text features, `[K, C]`.
    pub fn features(&self) -> &Tensor {
        &self.features
    }
    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// Whether there are no classes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Depth images of clouds, ready for the encoder, with the time it took to make them.
pub struct ProjectedClouds {
    /// The encoder input of the clouds.
    pub batch: ClipBatch,
    /// Milliseconds spent projecting.
    pub project_ms: f64,
}

/// The settings that turn encoded views into logits (METHOD.md §5, §6 and §9).
#[derive(Debug, Clone, Copy)]
pub struct Scoring<'a> {
    /// CALIP's α and β.
    pub params: CalipParams,
    /// Per-view weights, one per view.
    pub view_weights: &'a [f32],
    /// A few-shot adapter, if any.
    pub adapter: Option<&'a FewShotAdapter>,
}

/// CLIP features of the views of clouds (METHOD.md §4), before scoring: what
/// [`Classifier::encode`] gives and [`Classifier::score_features`] takes, so that settings can be
/// searched without running the encoder again.
#[derive(Debug, Clone)]
pub struct ViewFeatures {
    /// Global features `[N·V, C]`, views of a cloud consecutive.
    pub global: Tensor,
    /// Spatial features `[N·V, P, C]`.
    pub spatial: Tensor,
    /// Views per cloud `V`.
    pub views_per_cloud: usize,
    /// Milliseconds spent encoding.
    pub encode_ms: f64,
}

impl ViewFeatures {
    /// Number of clouds `N`.
    pub fn clouds(&self) -> usize {
        self.global.dims().first().copied().unwrap_or(0) / self.views_per_cloud.max(1)
    }
}

/// Zero-shot point-cloud classifier: projection → CLIP → CALIP attention → view aggregation.
///
/// `Send + Sync`: build it once and call it from any number of threads.
pub struct Classifier {
    encoder: ClipEncoder,
    projector: Projector,
    projection: Projection,
    attention: CalipAttention,
    view_weights: Vec<f32>,
    load: LoadOptions,
    normalize_input: bool,
    keep_view_logits: bool,
    /// Prompt templates for classes without their own prompts.
    templates: Vec<String>,
    profile: Option<Profile>,
    adapter: Option<Arc<FewShotAdapter>>,
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

impl Classifier {
    /// A builder with the defaults.
    pub fn builder() -> ClassifierBuilder {
        ClassifierBuilder::default()
    }

    /// The model's identity (repo id or folder).
    pub fn model_id(&self) -> &str {
        self.encoder.model_id()
    }
    /// [`TEST_SEARCH_STAMP`](super::profile::TEST_SEARCH_STAMP) when its profile or adapter was
    /// chosen on the test split (`--search-on-test`): every prediction carries it.
    pub fn test_search_stamp(&self) -> Option<&'static str> {
        let profile = self.profile.as_ref().is_some_and(|p| p.search_on_test);
        let adapter = self.adapter.as_ref().is_some_and(|a| a.meta.search_on_test);
        (profile || adapter).then_some(super::profile::TEST_SEARCH_STAMP)
    }
    /// The projection in use.
    pub fn projection(&self) -> Projection {
        self.projection
    }
    /// Which device projects ("cpu" or the GPU adapter).
    pub fn projector(&self) -> &Projector {
        &self.projector
    }
    /// Where the projection and the vision tower run, as every prediction records it.
    pub fn devices(&self) -> Devices {
        Devices {
            project: StageDevice::of(self.projector.backend()),
            encode: StageDevice::of(self.encoder.vision_backend()),
        }
    }
    /// The CLIP encoder.
    pub fn encoder(&self) -> &ClipEncoder {
        &self.encoder
    }
    /// How files are read.
    pub fn load_options(&self) -> &LoadOptions {
        &self.load
    }
    /// CALIP's α and β in use.
    pub fn params(&self) -> &CalipParams {
        self.attention.params()
    }
    /// The per-view weights in use.
    pub fn view_weights(&self) -> &[f32] {
        &self.view_weights
    }
    /// The profile applied, if any.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }
    /// The few-shot adapter in use, if any.
    pub fn adapter(&self) -> Option<&FewShotAdapter> {
        self.adapter.as_deref()
    }
    /// The prompt templates for classes without their own prompts: the explicit ones, else the
    /// profile's, else the projection's defaults.
    pub fn templates(&self) -> Vec<String> {
        self.templates.clone()
    }

    /// The classes `names`, prompted with [`Self::templates`] and encoded.
    ///
    /// ```no_run
    /// # use calip3d::classify::Classifier;
    /// # let classifier = Classifier::builder().build()?;
    /// let classes = classifier.classes(&["chair", "table", "lamp"])?;
    /// # Ok::<(), calip3d::Error>(())
    /// ```
    pub fn classes<S: AsRef<str>>(&self, names: &[S]) -> Result<ClassSet> {
        self.class_list(&ClassList::from_names(names))
    }

    /// The classes of a [`ClassList`] (names, a file, a built-in list), prompted with
    /// [`Self::templates`] unless the list gives its own prompts, and encoded.
    pub fn class_list(&self, list: &ClassList) -> Result<ClassSet> {
        self.class_set(list.specs(&self.templates)?)
    }

    /// Encodes the prompts of each class (cached on disk across runs by the encoder).
    pub fn class_set(&self, specs: Vec<ClassSpec>) -> Result<ClassSet> {
        if let Some(p) = &self.profile {
            let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
            p.check_classes(&names)?;
        }
        let prompts: Vec<Vec<String>> = specs.iter().map(|s| s.prompts.clone()).collect();
        let features = self.encoder.class_features(&prompts)?;
        let names: Arc<[String]> = specs.iter().map(|s| s.name.clone()).collect();
        Ok(ClassSet {
            specs,
            names,
            features,
            model_id: self.encoder.model_id().to_string(),
        })
    }

    /// Reads a file with this classifier's load options.
    pub fn load(&self, path: &Path) -> Result<PointCloud> {
        Ok(load(path, &self.load)?)
    }

    /// The points to project: finite, within the point budget, y-up.
    pub fn prepare(&self, cloud: &PointCloud) -> Result<Vec<Point3<f32>>> {
        if cloud.is_empty() {
            return Err(Error::EmptyCloud(cloud.meta.path.clone()));
        }
        // Finite by PointCloud's invariant: only the point budget is left to apply.
        let mut points = cloud.y_up_positions();
        if self.load.max_points > 0 && points.len() > self.load.max_points {
            let keep =
                crate::load::subsample_indices(points.len(), self.load.max_points, self.load.seed);
            points = keep.into_iter().map(|i| points[i]).collect();
        }
        Ok(points)
    }

    /// Projects prepared clouds into the encoder's input, all views of all clouds in one batch.
    pub fn project(&self, clouds: &[&[Point3<f32>]]) -> Result<ProjectedClouds> {
        let t = Instant::now();
        let batch =
            self.projector
                .clip_input(clouds, self.encoder.image_size(), self.normalize_input)?;
        Ok(ProjectedClouds {
            batch,
            project_ms: ms_since(t),
        })
    }

    /// Encodes projected views and scores them against the classes: one prediction per cloud.
    /// Load and projection times in the returned timings are zero; callers that measured them fill
    /// them in. The same as [`Self::encode`] then [`Self::score_features`].
    pub fn score(&self, projected: &ClipBatch, classes: &ClassSet) -> Result<Vec<Prediction>> {
        self.check_classes(classes)?;
        let features = self.encode(projected)?;
        self.score_features(&features, classes)
    }

    pub(crate) fn check_classes(&self, classes: &ClassSet) -> Result<()> {
        self.check_classes_with(classes, self.adapter.as_deref())
    }

    fn check_classes_with(
        &self,
        classes: &ClassSet,
        adapter: Option<&FewShotAdapter>,
    ) -> Result<()> {
        if classes.model_id != self.encoder.model_id() {
            return Err(Error::InvalidSetting(format!(
                "class features were made with model {}, not {}",
                classes.model_id,
                self.encoder.model_id()
            )));
        }
        if let Some(a) = adapter {
            if a.meta.classes.as_slice() != classes.names() {
                return Err(Error::InvalidSetting(format!(
                    "the few-shot adapter ({}) was fitted for the classes {}, not {}",
                    a.meta.method,
                    a.meta.classes.join(","),
                    classes.names().join(",")
                )));
            }
        }
        Ok(())
    }

    /// Runs the vision tower on projected views: per-view global and spatial features.
    pub fn encode(&self, projected: &ClipBatch) -> Result<ViewFeatures> {
        let v = projected.views_per_cloud;
        let s = projected.size;
        let n_images = projected.data.len() / (3 * s * s);
        let t = Instant::now();
        let mut globals = Vec::new();
        let mut spatials = Vec::new();
        let chunk = self.encoder.batch_size();
        for start in (0..n_images).step_by(chunk) {
            let count = chunk.min(n_images - start);
            let pixels = Tensor::from_slice(
                &projected.data[start * 3 * s * s..(start + count) * 3 * s * s],
                (count, 3, s, s),
                &Device::Cpu,
            )?;
            let f = self.encoder.encode_images(&pixels)?;
            globals.push(f.global);
            spatials.push(f.spatial);
        }
        let global = Tensor::cat(&globals, 0)?;
        let spatial = Tensor::cat(&spatials, 0)?;
        Ok(ViewFeatures {
            global,
            spatial,
            views_per_cloud: v,
            encode_ms: ms_since(t),
        })
    }

    /// Scores encoded views against the classes with this classifier's α, β, view weights and
    /// few-shot adapter: one prediction per cloud.
    pub fn score_features(
        &self,
        features: &ViewFeatures,
        classes: &ClassSet,
    ) -> Result<Vec<Prediction>> {
        let scoring = Scoring {
            params: *self.attention.params(),
            view_weights: &self.view_weights,
            adapter: self.adapter.as_deref(),
        };
        self.score_features_with(features, classes, &scoring)
    }

    /// Scores encoded views with other settings than this classifier's (the search of
    /// `calip3d tune` and the rows of `calip3d eval --report` re-score one encoding this way).
    pub fn score_features_with(
        &self,
        features: &ViewFeatures,
        classes: &ClassSet,
        scoring: &Scoring<'_>,
    ) -> Result<Vec<Prediction>> {
        self.check_classes_with(classes, scoring.adapter)?;
        let v = features.views_per_cloud;
        if scoring.view_weights.len() != v {
            return Err(Error::InvalidSetting(format!(
                "{} view weights given for {v} views",
                scoring.view_weights.len()
            )));
        }
        let attention = CalipAttention::new(scoring.params);
        let n_clouds = features.clouds();
        let encode_ms = features.encode_ms;
        let t = Instant::now();
        let text = classes.features();
        let adapted;
        let global = match scoring.adapter.map(|a| &a.kind) {
            Some(FewShotKind::InterView(a)) => {
                adapted = a.forward(&features.global)?;
                &adapted
            }
            _ => &features.global,
        };
        // One attention pass serves both CALIP and the plain-CLIP baseline.
        let terms = attention.terms(global, &features.spatial, text)?;
        let view_logits = attention.combine(&terms)?;
        // α only enters the β2 and β3 terms, so the default baseline fits any α.
        let baseline_view_logits = CalipAttention::new(CalipParams::baseline()).combine(&terms)?;
        let weights = scoring.view_weights;
        let mut logits = aggregate_views(&view_logits, v, weights)?;
        let mut baseline = aggregate_views(&baseline_view_logits, v, weights)?;
        if let Some(FewShotKind::Cache(cache)) = scoring.adapter.map(|a| &a.kind) {
            let f = TipCache::cloud_features(&features.global, v, weights)?;
            let extra = cache.logits(&f)?;
            logits = (logits + &extra)?;
            baseline = (baseline + extra)?;
        }
        let logits = logits.to_vec2::<f32>()?;
        let baseline = baseline.to_vec2::<f32>()?;
        let per_view = self
            .keep_view_logits
            .then(|| view_logits.to_vec2::<f32>())
            .transpose()?;
        let attend_ms = ms_since(t);

        let share = 1.0 / n_clouds.max(1) as f64;
        let model: Arc<str> = self.encoder.model_id().into();
        Ok((0..n_clouds)
            .map(|i| Prediction {
                classes: classes.names.clone(),
                probabilities: softmax(&logits[i]),
                logits: logits[i].clone(),
                baseline_logits: baseline[i].clone(),
                view_logits: per_view.as_ref().map(|pv| pv[i * v..(i + 1) * v].to_vec()),
                model: model.clone(),
                projection: self.projection,
                stamp: self.test_search_stamp(),
                devices: self.devices(),
                timings: Timings {
                    load: 0.0,
                    project: 0.0,
                    encode: encode_ms * share,
                    attend: attend_ms * share,
                },
            })
            .collect())
    }

    /// Classifies several clouds in one batched computation.
    pub fn classify_many(
        &self,
        clouds: &[&PointCloud],
        classes: &ClassSet,
    ) -> Result<Vec<Prediction>> {
        let prepared = clouds
            .iter()
            .map(|c| self.prepare(c))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&[Point3<f32>]> = prepared.iter().map(Vec::as_slice).collect();
        let projected = self.project(&refs)?;
        let mut predictions = self.score(&projected.batch, classes)?;
        let share = projected.project_ms / clouds.len().max(1) as f64;
        for p in &mut predictions {
            p.timings.project = share;
        }
        Ok(predictions)
    }

    /// Classifies one cloud.
    ///
    /// ```no_run
    /// # use calip3d::{classify::{Classifier, classes::ClassSpec}, PointCloud, UpAxis};
    /// # let classifier = Classifier::builder().build()?;
    /// let classes = classifier.class_set(ClassSpec::from_names(&["chair", "table"], &["a depth map of a {}."]))?;
    /// let cloud = PointCloud::from_xyz(&[0.0, 0.0, 0.0, 1.0, 1.0, 1.0], UpAxis::Y);
    /// let prediction = classifier.classify(&cloud, &classes)?;
    /// println!("{} ({:.2})", prediction.best().0, prediction.best().1);
    /// # Ok::<(), calip3d::Error>(())
    /// ```
    pub fn classify(&self, cloud: &PointCloud, classes: &ClassSet) -> Result<Prediction> {
        let mut v = self.classify_many(&[cloud], classes)?;
        Ok(v.remove(0))
    }

    /// Classifies points in memory, e.g. a robot's segmented object.
    pub fn classify_points(
        &self,
        points: &[Point3<f32>],
        up_axis: UpAxis,
        classes: &ClassSet,
    ) -> Result<Prediction> {
        self.classify(
            &PointCloud::from_points(points.iter().copied(), up_axis),
            classes,
        )
    }

    /// Classifies a flat `x y z x y z …` buffer (e.g. a ROS `PointCloud2` payload of packed xyz).
    pub fn classify_xyz(
        &self,
        xyz: &[f32],
        up_axis: UpAxis,
        classes: &ClassSet,
    ) -> Result<Prediction> {
        self.classify(&PointCloud::from_xyz(xyz, up_axis), classes)
    }

    /// Reads and classifies a file, with load time included in the timings.
    pub fn classify_file(&self, path: &Path, classes: &ClassSet) -> Result<Prediction> {
        let t = Instant::now();
        let cloud = self.load(path)?;
        let load_ms = ms_since(t);
        let mut p = self.classify(&cloud, classes)?;
        p.timings.load = load_ms;
        Ok(p)
    }
}
