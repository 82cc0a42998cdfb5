//! Options shared by `classify`, `eval` and `batch`: how to build the classifier and the classes.

use calip3d::classify::classes::ClassList;
use calip3d::classify::{ClassSet, Classifier, Settings, DEFAULT_MODEL};
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
    /// Where to project and run the vision tower: auto (a hardware GPU if there is one, else the
    /// CPU), cpu, or gpu (both stages on a GPU adapter, a software one included, or an error).
    /// The text tower runs on the CPU (class features are cached). `-v` names the adapter.
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
    /// AVX-512, else f32); `CALIP3D_CPU=scalar|avx2|avx512` caps the kernel level. On the GPU:
    /// f32, or f16 storage with f32 sums for any other (f32 without SHADER_F16).
    /// See BENCHMARKS.md for the speed and fidelity of each.
    #[arg(long, default_value = "f32")]
    pub precision: calip3d::encode::Precision,
}

impl PipelineArgs {
    /// The flags as library settings (the library merges them with a profile's).
    pub fn settings(&self, keep_view_logits: bool) -> anyhow::Result<Settings> {
        let p = &self.projection;
        let mut s = Settings::default();
        s.model = Some(self.model.clone());
        s.projection = Some(p.projection);
        s.views = Some(p.views()?);
        s.device = Some(p.device);
        s.precision = Some(self.precision);
        s.alpha = self.alpha;
        s.beta2 = self.beta2;
        s.beta3 = self.beta3;
        s.baseline = self.baseline;
        s.view_weights = self.view_weights.clone();
        s.templates = (!self.template.is_empty()).then(|| self.template.clone());
        s.normalize_input = self.normalize;
        s.keep_view_logits = keep_view_logits;
        s.max_points = Some(p.max_points);
        s.up_axis = p.up_axis.map(UpAxis::from);
        s.format = p.format;
        s.profile = self.profile.clone();
        s.adapter = self.adapter.clone();
        s.allow_test_search = self.search_on_test;
        Ok(s)
    }

    /// Loads the model and sets up projection.
    pub fn classifier(&self, keep_view_logits: bool) -> anyhow::Result<Classifier> {
        Ok(Classifier::new(&self.settings(keep_view_logits)?)?)
    }

    /// The class list of `--classes`: `dataset` (or `folders`) takes `dataset_names` (a
    /// dataset's own names), anything else is the library's text form (a file, a built-in list
    /// or a comma list).
    pub fn class_list(
        &self,
        dataset_names: impl FnOnce() -> anyhow::Result<Vec<String>>,
    ) -> anyhow::Result<ClassList> {
        Ok(match self.classes.as_str() {
            "dataset" | "folders" => ClassList::from_names(dataset_names()?),
            other => ClassList::from_arg(other)?,
        })
    }

    /// Parses `--classes` (no dataset) and encodes the prompts.
    pub fn class_set(&self, classifier: &Classifier) -> anyhow::Result<ClassSet> {
        let list = self.class_list(|| {
            anyhow::bail!(
                "--classes {}: only eval, tune and fit read a dataset's class names",
                self.classes
            )
        })?;
        Ok(classifier.class_list(&list)?)
    }
}
