//! Options shared by `classify`, `eval` and `batch`: how to build the classifier and the classes.

use calip3d::attend::{CalipParams, FewShotAdapter};
use calip3d::classify::profile::TEST_SEARCH_STAMP;
use calip3d::classify::{classes, ClassSet, Classifier, Profile, DEFAULT_MODEL};
use calip3d::project::{DeviceChoice, Projection, ViewSet};
use calip3d::UpAxis;

/// Up axis on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum UpAxisArg {
    Y,
    Z,
}

impl From<UpAxisArg> for UpAxis {
    fn from(a: UpAxisArg) -> Self {
        match a {
            UpAxisArg::Y => UpAxis::Y,
            UpAxisArg::Z => UpAxis::Z,
        }
    }
}

/// How clouds are read and projected: shared by `render`, `classify`, `eval` and `batch`.
#[derive(clap::Args, Debug, Clone)]
pub struct ProjectionArgs {
    /// Depth-map projection.
    #[arg(long, default_value_t = Projection::default())]
    pub projection: Projection,
    /// Points kept per cloud (deterministic subsample; 0 = all).
    #[arg(long, default_value_t = calip3d::load::LoadOptions::default().max_points)]
    pub max_points: usize,
    /// Up axis of the input (default: z for LAS/LAZ, KITTI and E57, y otherwise).
    #[arg(long, value_enum)]
    pub up_axis: Option<UpAxisArg>,
    /// Read every input as this format instead of detecting it (e.g. `kitti` for `.bin` scans):
    /// ply, las, laz, off, obj, stl, pcd, kitti, npy, text (xyz, csv, txt, pts), e57.
    #[arg(long)]
    pub format: Option<calip3d::Format>,
    /// Where to project: auto (GPU if there is one), cpu or gpu.
    #[arg(long, default_value_t = DeviceChoice::default())]
    pub device: DeviceChoice,
    /// Keep only these views of the projection's preset (1-based, comma separated), e.g. 1,2,5.
    #[arg(long, value_delimiter = ',', conflicts_with = "custom_views")]
    pub view_indices: Option<Vec<usize>>,
    /// Views of your own: `x,y,z[,tilt]` rotation angles in degrees, views separated by `;`.
    #[arg(long)]
    pub custom_views: Option<String>,
}

impl ProjectionArgs {
    /// The views to render: the preset, a selection of it, or custom angles.
    pub fn views(&self) -> anyhow::Result<ViewSet> {
        let preset = self.projection.views();
        Ok(match (&self.view_indices, &self.custom_views) {
            (Some(numbers), _) => preset
                .select_one_based(numbers)
                .map_err(|e| anyhow::anyhow!("--view-indices: {e}"))?,
            (None, Some(spec)) => {
                ViewSet::parse(spec).map_err(|e| anyhow::anyhow!("--custom-views: {e}"))?
            }
            (None, None) => preset,
        })
    }

    /// Load options from the flags.
    pub fn load_options(&self) -> calip3d::load::LoadOptions {
        calip3d::load::LoadOptions {
            max_points: self.max_points,
            up_axis: self.up_axis.map(UpAxis::from),
            format: self.format,
            ..Default::default()
        }
    }
}

/// Options of the classifier and the classes: shared by `classify`, `eval` and `batch`.
#[derive(clap::Args, Debug, Clone)]
pub struct PipelineArgs {
    /// Classes: a file (one per line, `name: prompt | prompt` for own prompts), a built-in list
    /// (modelnet40, modelnet10, scanobjectnn) or a comma list "chair,table,lamp"; for `eval`,
    /// `folders` takes the class folders' names.
    #[arg(short, long)]
    pub classes: String,
    /// CLIP model: a local folder (config.json, model.safetensors, tokenizer.json) or a Hub repo id.
    #[arg(short, long, default_value = DEFAULT_MODEL)]
    pub model: String,
    #[command(flatten)]
    pub projection: ProjectionArgs,
    /// CALIP's attention temperature (sets α_s = α_t).
    #[arg(long)]
    pub alpha: Option<f32>,
    /// Weight of the visually guided text term.
    #[arg(long)]
    pub beta2: Option<f32>,
    /// Weight of the text-aware visual term.
    #[arg(long)]
    pub beta3: Option<f32>,
    /// Plain CLIP (β2 = β3 = 0) instead of CALIP.
    #[arg(long, conflicts_with_all = ["beta2", "beta3"])]
    pub baseline: bool,
    /// Per-view weights of the logit average, comma separated (default all 1).
    #[arg(long, value_delimiter = ',')]
    pub view_weights: Option<Vec<f32>>,
    /// Prompt template(s) with `{}` for the class name, replacing the projection's defaults.
    #[arg(long)]
    pub template: Vec<String>,
    /// Apply CLIP's mean/std normalisation to the depth images.
    #[arg(long)]
    pub normalize: bool,
    /// Settings from `calip3d tune` (α, β, view weights, templates); flags given explicitly
    /// override them.
    #[arg(long)]
    pub profile: Option<std::path::PathBuf>,
    /// A few-shot adapter from `calip3d fit` (Tip-Adapter cache or PointCLIP's adapter).
    #[arg(long)]
    pub adapter: Option<std::path::PathBuf>,
    /// Allow choosing settings on the test split (tune, fit), or using a profile or adapter made
    /// so; every output made with it is stamped. Not a fair zero-shot result.
    #[arg(long)]
    pub search_on_test: bool,
    /// Vision tower arithmetic: f32 (reference), bf16 (AVX512-BF16, else f32) or int8 (AVX2 or
    /// AVX-512, else f32); `CALIP3D_CPU=scalar|avx2|avx512` caps the kernel level.
    /// See BENCHMARKS.md for the speed and fidelity of each.
    #[arg(long, default_value = "f32")]
    pub precision: calip3d::encode::Precision,
}

impl PipelineArgs {
    /// CALIP parameters from the defaults (or the profile's) and the flags.
    pub fn params(&self, profile: Option<&Profile>) -> CalipParams {
        let mut p = profile.map(Profile::params).unwrap_or_default();
        if self.baseline {
            p.beta2 = 0.0;
            p.beta3 = 0.0;
        }
        if let Some(a) = self.alpha {
            p.alpha_s = a;
            p.alpha_t = a;
        }
        if let Some(b) = self.beta2 {
            p.beta2 = b;
        }
        if let Some(b) = self.beta3 {
            p.beta3 = b;
        }
        p
    }

    /// The profile of `--profile`, if any; one searched on the test set needs `--search-on-test`.
    pub fn load_profile(&self) -> anyhow::Result<Option<Profile>> {
        let Some(path) = &self.profile else {
            return Ok(None);
        };
        let profile = Profile::load(path)?;
        if profile.search_on_test && !self.search_on_test {
            anyhow::bail!(
                "{}: this profile was searched on the test set; pass --search-on-test to use it anyway",
                path.display()
            );
        }
        if let Some(stamp) = profile.stamp() {
            eprintln!("warning: {}: {stamp}", path.display());
        }
        Ok(Some(profile))
    }

    /// The adapter of `--adapter`, if any; one fitted on the test set needs `--search-on-test`.
    pub fn load_adapter(&self) -> anyhow::Result<Option<FewShotAdapter>> {
        let Some(path) = &self.adapter else {
            return Ok(None);
        };
        let adapter = FewShotAdapter::load(path)?;
        if adapter.meta.search_on_test {
            if !self.search_on_test {
                anyhow::bail!(
                    "{}: this adapter was fitted on the test set; pass --search-on-test to use it anyway",
                    path.display()
                );
            }
            eprintln!("warning: {}: {TEST_SEARCH_STAMP}", path.display());
        }
        Ok(Some(adapter))
    }

    /// Loads the model and sets up projection.
    pub fn classifier(&self, keep_view_logits: bool) -> anyhow::Result<Classifier> {
        let p = &self.projection;
        let profile = self.load_profile()?;
        let mut builder = Classifier::builder();
        if let Some(profile) = &profile {
            builder = builder.profile(profile.clone());
        }
        if let Some(adapter) = self.load_adapter()? {
            builder = builder.adapter(adapter);
        }
        let mut builder = builder
            .model(&self.model)
            .projection(p.projection)
            .views(p.views()?)
            .device(p.device)
            .params(self.params(profile.as_ref()))
            .load_options(p.load_options())
            .normalize_input(self.normalize)
            .precision(self.precision)
            .keep_view_logits(keep_view_logits);
        if let Some(w) = &self.view_weights {
            builder = builder.view_weights(w.clone());
        }
        Ok(builder.build()?)
    }

    /// Parses the classes and encodes their prompts.
    pub fn class_set(&self, classifier: &Classifier) -> anyhow::Result<ClassSet> {
        self.class_set_of(&self.classes, classifier)
    }

    /// Like [`Self::class_set`], with `classes` in place of `--classes`.
    pub fn class_set_of(&self, classes: &str, classifier: &Classifier) -> anyhow::Result<ClassSet> {
        let templates = if self.template.is_empty() {
            classifier.templates()
        } else {
            self.template.clone()
        };
        let specs = classes::resolve(classes, &templates)?;
        Ok(classifier.class_set(specs)?)
    }
}
