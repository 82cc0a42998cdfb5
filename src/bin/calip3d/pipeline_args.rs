//! Options shared by `classify`, `eval` and `batch`: how to build the classifier and the classes.

use calip3d::attend::CalipParams;
use calip3d::classify::{classes, ClassSet, Classifier, DEFAULT_MODEL};
use calip3d::project::{DeviceChoice, Projection};
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

#[derive(clap::Args, Debug, Clone)]
pub struct PipelineArgs {
    /// Classes: a file (one per line, `name: prompt | prompt` for own prompts), a built-in list
    /// (modelnet40, modelnet10, scanobjectnn) or a comma list "chair,table,lamp".
    #[arg(short, long)]
    pub classes: String,
    /// CLIP model: a local folder (config.json, model.safetensors, tokenizer.json) or a Hub repo id.
    #[arg(short, long, default_value = DEFAULT_MODEL)]
    pub model: String,
    /// Depth-map projection.
    #[arg(long, default_value = "realistic")]
    pub projection: Projection,
    /// Points kept per cloud (deterministic subsample; 0 = all).
    #[arg(long, default_value_t = 1024)]
    pub max_points: usize,
    /// Up axis of the input (default: z for LAS/LAZ, y otherwise).
    #[arg(long, value_enum)]
    pub up_axis: Option<UpAxisArg>,
    /// Where to project: auto (GPU if there is one), cpu or gpu.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
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
}

impl PipelineArgs {
    /// CALIP parameters from the defaults and the flags.
    pub fn params(&self) -> CalipParams {
        let mut p = if self.baseline {
            CalipParams::baseline()
        } else {
            CalipParams::default()
        };
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

    /// Loads the model and sets up projection.
    pub fn classifier(&self, keep_view_logits: bool) -> anyhow::Result<Classifier> {
        let mut load = calip3d::load::LoadOptions {
            max_points: self.max_points,
            ..Default::default()
        };
        load.up_axis = self.up_axis.map(UpAxis::from);
        let mut builder = Classifier::builder()
            .model(&self.model)
            .projection(self.projection)
            .device(self.device)
            .params(self.params())
            .load_options(load)
            .normalize_input(self.normalize)
            .keep_view_logits(keep_view_logits);
        if let Some(w) = &self.view_weights {
            builder = builder.view_weights(w.clone());
        }
        Ok(builder.build()?)
    }

    /// Parses the classes and encodes their prompts.
    pub fn class_set(&self, classifier: &Classifier) -> anyhow::Result<ClassSet> {
        let templates = if self.template.is_empty() {
            classes::default_templates(self.projection)
        } else {
            self.template.clone()
        };
        let specs = classes::resolve(&self.classes, &templates)?;
        Ok(classifier.class_set(specs)?)
    }
}
