//! [`ClipEncoder`]: a loaded CLIP model (vision tower, text tower, tokenizer) and the features
//! CALIP needs from it (METHOD §4).
//!
//! Loading checks the checkpoint's header and maps the file; each tower is built the first time it
//! is used, and the tokenizer is opened with the text tower. A classification whose class features
//! all come from the [`TextFeatureCache`] never builds the text tower (a third of the weights).

use super::config::ClipConfig;
use super::error::ModelError;
use super::gpu::GpuVisionTower;
use super::image;
use super::model_files::ModelFiles;
use super::precision::Precision;
use super::text::TextTower;
use super::text_cache::TextFeatureCache;
use super::tokenizer::ClipTokenizer;
use super::transformer::l2_normalize;
use super::vision::{ImageFeatures, VisionTower};
use super::weights::Weights;
use crate::project::{Backend, DeviceChoice};
use candle_core::{Device, Tensor};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

/// Images per forward pass of the vision tower: bounds the activations' memory (about 80 MB for
/// ViT-B/16) while keeping the matrix products large enough to run at full speed. The one chunk
/// size of the pipeline: callers that batch views for the encoder use it too.
pub const ENCODE_CHUNK: usize = 32;
/// Texts per forward pass.
const TEXT_CHUNK: usize = 64;

/// A CLIP model ready to encode images and texts. `Send + Sync`: share it between threads.
///
/// ```no_run
/// use calip3d::encode::ClipEncoder;
/// let clip = ClipEncoder::load("openai/clip-vit-base-patch32", &candle_core::Device::Cpu)?;
/// let classes = vec![vec!["a photo of a cat".to_string()], vec!["a photo of a dog".to_string()]];
/// let text = clip.class_features(&classes)?; // [2, 512], rows of norm 1
/// # Ok::<(), calip3d::encode::ModelError>(())
/// ```
pub struct ClipEncoder {
    files: ModelFiles,
    config: ClipConfig,
    weights: Weights,
    precision: Precision,
    /// The precision asked for, before the CPU's fallback ([`Precision::effective`]).
    asked: Precision,
    vision: VisionBackend,
    text: OnceLock<(TextTower, ClipTokenizer)>,
    /// Serialises building a tower, so that threads asking at once build it once.
    building: Mutex<()>,
    device: Device,
    cache: Option<TextFeatureCache>,
}

/// Where the vision tower runs: candle on the CPU (built on first use), or our WGSL kernels on a
/// wgpu device (built, weights uploaded, when the device is chosen). The text tower always runs
/// on the CPU: class features are computed once per class set and cached on disk.
enum VisionBackend {
    Cpu(Box<OnceLock<VisionTower>>),
    Gpu(Box<GpuVisionTower>),
}

/// Returns the value of `cell`, building it with `build` under `lock` if no thread has yet.
fn get_or_build<'a, T>(
    cell: &'a OnceLock<T>,
    lock: &Mutex<()>,
    build: impl FnOnce() -> Result<T, ModelError>,
) -> Result<&'a T, ModelError> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let v = build()?;
    Ok(cell.get_or_init(|| v))
}

impl ClipEncoder {
    /// Opens `model` (a local folder or a Hugging Face repo id) for `device`, with the vision
    /// tower in f32. Every tensor's name, shape and dtype is checked now; the towers are built
    /// when first used. Class features are cached on disk in
    /// [`TextFeatureCache::default_location`]; see [`Self::with_text_cache`].
    pub fn load(model: &str, device: &Device) -> Result<Self, ModelError> {
        Self::load_with(model, device, Precision::F32)
    }

    /// Like [`Self::load`], with the vision tower's matrix products in `precision` (resolved for
    /// this CPU by [`Precision::effective`]; the text tower is always f32).
    pub fn load_with(
        model: &str,
        device: &Device,
        precision: Precision,
    ) -> Result<Self, ModelError> {
        let files = ModelFiles::resolve(model)?;
        let config = ClipConfig::from_file(&files.config)?;
        let weights = Weights::load(&files.weights, &config, device)?;
        let effective = precision.effective();
        log::info!("vision tower: {}", super::precision::describe(precision));
        Ok(Self {
            files,
            config,
            weights,
            precision: effective,
            asked: precision,
            vision: VisionBackend::Cpu(Box::default()),
            text: OnceLock::new(),
            building: Mutex::new(()),
            device: device.clone(),
            cache: TextFeatureCache::default_location(),
        })
    }

    /// The precision the vision tower runs in: after [`Precision::effective`] on the CPU, f16 or
    /// f32 on a GPU.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Moves the vision tower to `device`: [`DeviceChoice::Gpu`] builds it on a GPU adapter
    /// (Mesa's lavapipe included) or fails, [`DeviceChoice::Auto`] on a hardware GPU when there
    /// is one (else the CPU, said at `-v`), [`DeviceChoice::Cpu`] keeps candle on the CPU.
    ///
    /// On the GPU, f32 is the parity mode and f16 stores weights and activations as f16 with f32
    /// accumulation where the adapter has `SHADER_F16` (else f32). bf16 and int8, CPU formats,
    /// run as f16 on the GPU. What ran is said at `-v`.
    pub fn with_vision_device(mut self, device: DeviceChoice) -> Result<Self, ModelError> {
        // The precision asked for, not the CPU's fallback: f16 (and bf16, int8) mean half
        // precision on a GPU even where the CPU would run f32.
        let f16 = self.asked != Precision::F32;
        let build = |allow_software| {
            GpuVisionTower::new(
                &self.weights,
                &self.config.vision_config,
                self.config.projection_dim,
                allow_software,
                f16,
            )
        };
        let tower = match device {
            DeviceChoice::Cpu => None,
            DeviceChoice::Gpu => Some(build(true)?),
            DeviceChoice::Auto => match build(false) {
                Ok(t) => Some(t),
                Err(e) => {
                    log::info!("vision tower on the CPU: {e}");
                    None
                }
            },
        };
        if let Some(tower) = tower {
            let ran = if tower.is_f16() { "f16" } else { "f32" };
            if self.asked != Precision::F32 {
                log::info!(
                    "vision tower on the GPU: {} asked for, running {ran} storage with f32 accumulation",
                    self.asked
                );
            }
            self.precision = if tower.is_f16() {
                Precision::F16
            } else {
                Precision::F32
            };
            self.vision = VisionBackend::Gpu(Box::new(tower));
        }
        Ok(self)
    }

    /// Where the vision tower runs: [`Backend::Cpu`] or the GPU adapter.
    pub fn vision_backend(&self) -> &Backend {
        match &self.vision {
            VisionBackend::Cpu(_) => &Backend::Cpu,
            VisionBackend::Gpu(g) => g.backend(),
        }
    }

    /// The GPU vision tower, when the tower runs on one.
    pub fn gpu_tower(&self) -> Option<&GpuVisionTower> {
        match &self.vision {
            VisionBackend::Cpu(_) => None,
            VisionBackend::Gpu(g) => Some(g),
        }
    }

    /// Images per forward pass of the vision tower: [`ENCODE_CHUNK`] on the CPU; on the GPU as
    /// many as the adapter's buffer limits allow (at most 256), since large batches are what
    /// keep a GPU busy.
    pub fn batch_size(&self) -> usize {
        match &self.vision {
            VisionBackend::Cpu(_) => ENCODE_CHUNK,
            VisionBackend::Gpu(g) => g.max_batch(),
        }
    }

    /// One forward pass of at most [`Self::batch_size`] images on the tower's device.
    fn forward_images(&self, pixels: &Tensor) -> Result<ImageFeatures, ModelError> {
        match &self.vision {
            VisionBackend::Gpu(g) => g.forward(pixels),
            VisionBackend::Cpu(cell) => get_or_build(cell, &self.building, || {
                VisionTower::load_with(&self.weights, &self.config.vision_config, self.precision)
            })?
            .forward(pixels),
        }
    }

    fn text(&self) -> Result<&(TextTower, ClipTokenizer), ModelError> {
        get_or_build(&self.text, &self.building, || {
            let tower = TextTower::load(&self.weights, &self.config.text_config, &self.device)?;
            let tokenizer = ClipTokenizer::from_file(
                &self.files.tokenizer,
                self.config.text_config.max_position_embeddings,
            )?;
            Ok((tower, tokenizer))
        })
    }

    /// Replaces the class-feature cache (`None` disables caching).
    pub fn with_text_cache(mut self, cache: Option<TextFeatureCache>) -> Self {
        self.cache = cache;
        self
    }

    /// Stable identity of the model (repo id or canonical folder path), for cache keys.
    pub fn model_id(&self) -> &str {
        &self.files.id
    }

    /// The model's configuration.
    pub fn config(&self) -> &ClipConfig {
        &self.config
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Input side length in pixels (224 for OpenAI's models).
    pub fn image_size(&self) -> usize {
        self.config.vision_config.image_size
    }

    /// Width `C` of the shared embedding space.
    pub fn embed_dim(&self) -> usize {
        self.config.projection_dim
    }

    /// Number `P` of spatial features per image (49 for ViT-B/32, 196 for ViT-B/16).
    pub fn num_patches(&self) -> usize {
        self.config.vision_config.num_patches()
    }

    /// The tokenizer (opened, with the text tower, on first use).
    pub fn tokenizer(&self) -> Result<&ClipTokenizer, ModelError> {
        Ok(&self.text()?.1)
    }

    /// Encodes `pixels` (`[B, 3, S, S]`, f32, any B) into unnormalised global and spatial features.
    pub fn encode_images(&self, pixels: &Tensor) -> Result<ImageFeatures, ModelError> {
        let b = pixels.dims().first().copied().unwrap_or(0);
        let chunk = self.batch_size();
        if b <= chunk {
            return self.forward_images(pixels);
        }
        let mut globals = Vec::new();
        let mut spatials = Vec::new();
        for start in (0..b).step_by(chunk) {
            let f = self.forward_images(&pixels.narrow(0, start, chunk.min(b - start))?)?;
            globals.push(f.global);
            spatials.push(f.spatial);
        }
        Ok(ImageFeatures {
            global: Tensor::cat(&globals, 0)?,
            spatial: Tensor::cat(&spatials, 0)?,
        })
    }

    /// Encodes texts into unnormalised features `[N, C]`.
    pub fn encode_texts(&self, texts: &[String]) -> Result<Tensor, ModelError> {
        if texts.is_empty() {
            return Ok(Tensor::zeros(
                (0, self.embed_dim()),
                candle_core::DType::F32,
                &self.device,
            )?);
        }
        let (tower, tokenizer) = self.text()?;
        let mut parts = Vec::new();
        for chunk in texts.chunks(TEXT_CHUNK) {
            let tokens = chunk
                .iter()
                .map(|t| tokenizer.encode(t))
                .collect::<Result<Vec<_>, _>>()?;
            let ids: Vec<Vec<u32>> = tokens.iter().map(|t| t.ids.clone()).collect();
            let eot: Vec<usize> = tokens.iter().map(|t| t.eot).collect();
            parts.push(tower.forward(&ids, &eot)?);
        }
        Ok(Tensor::cat(&parts, 0)?)
    }

    /// Class text features `[K, C]` (METHOD §4): per class, encode each prompt, L2-normalise,
    /// average, normalise again. Served from the disk cache when one is set and holds them.
    pub fn class_features(&self, prompts_per_class: &[Vec<String>]) -> Result<Tensor, ModelError> {
        if let Some(i) = prompts_per_class.iter().position(|p| p.is_empty()) {
            return Err(ModelError::Input(format!("class {i} has no prompts")));
        }
        let key = format!("{}@{}", self.files.id, self.files.weights_fingerprint());
        if let Some((data, rows, cols)) = self
            .cache
            .as_ref()
            .and_then(|c| c.get(&key, prompts_per_class))
        {
            return Ok(Tensor::from_vec(data, (rows, cols), &self.device)?);
        }
        let all: Vec<String> = prompts_per_class.iter().flatten().cloned().collect();
        let feats = l2_normalize(&self.encode_texts(&all)?)?;
        let mut rows = Vec::with_capacity(prompts_per_class.len());
        let mut start = 0;
        for prompts in prompts_per_class {
            rows.push(feats.narrow(0, start, prompts.len())?.mean(0)?);
            start += prompts.len();
        }
        let classes = l2_normalize(&Tensor::stack(&rows, 0)?)?;
        if let Some(cache) = &self.cache {
            let (k, c) = classes.dims2()?;
            let data = classes.flatten_all()?.to_vec1::<f32>()?;
            if let Err(e) = cache.put(&key, prompts_per_class, &data, k, c) {
                log::warn!("{e}");
            }
        }
        Ok(classes)
    }

    /// Loads an ordinary image (PNG) with CLIP's standard preprocessing: `[3, S, S]`.
    pub fn preprocess_image(&self, path: &Path) -> Result<Tensor, ModelError> {
        image::preprocess_image(path, self.image_size(), &self.device)
    }
}
