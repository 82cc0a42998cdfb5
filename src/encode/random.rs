//! CLIP models with random weights in Hugging Face layout, with OpenAI's real configurations:
//! for tests and benchmarks where downloading the real weights is impossible.
//!
//! ```no_run
//! use calip3d::encode::random::{write_random_clip, ClipArch};
//! write_random_clip(ClipArch::VitB32, std::path::Path::new("/tmp/clip-b32"), 0)?;
//! # Ok::<(), calip3d::encode::ModelError>(())
//! ```

use super::config::{Activation, ClipConfig, TextConfig, TowerConfig, VisionConfig};
use super::error::ModelError;
use super::tokenizer::BUNDLED_TOKENIZER_JSON;
use super::weights::expected_tensors;
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::path::Path;

/// OpenAI's released ViT CLIP architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipArch {
    /// ViT-B/32 (`openai/clip-vit-base-patch32`).
    VitB32,
    /// ViT-B/16 (`openai/clip-vit-base-patch16`).
    VitB16,
    /// ViT-L/14 (`openai/clip-vit-large-patch14`).
    VitL14,
}

impl std::str::FromStr for ClipArch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().replace(['_', '/'], "-").as_str() {
            "vit-b-32" => Ok(Self::VitB32),
            "vit-b-16" => Ok(Self::VitB16),
            "vit-l-14" => Ok(Self::VitL14),
            _ => Err(format!(
                "unknown CLIP architecture {s:?} (vit-b-32, vit-b-16, vit-l-14)"
            )),
        }
    }
}

fn tower(hidden: usize, layers: usize, heads: usize) -> TowerConfig {
    TowerConfig {
        hidden_size: hidden,
        intermediate_size: 4 * hidden,
        num_hidden_layers: layers,
        num_attention_heads: heads,
        layer_norm_eps: 1e-5,
        hidden_act: Activation::QuickGelu,
    }
}

impl ClipArch {
    /// The configuration OpenAI's checkpoint ships with.
    pub fn config(self) -> ClipConfig {
        let (text, vision, patch, proj) = match self {
            Self::VitB32 => (tower(512, 12, 8), tower(768, 12, 12), 32, 512),
            Self::VitB16 => (tower(512, 12, 8), tower(768, 12, 12), 16, 512),
            Self::VitL14 => (tower(768, 12, 12), tower(1024, 24, 16), 14, 768),
        };
        ClipConfig {
            text_config: TextConfig {
                tower: text,
                vocab_size: 49408,
                max_position_embeddings: 77,
            },
            vision_config: VisionConfig {
                tower: vision,
                image_size: 224,
                patch_size: patch,
                num_channels: 3,
            },
            projection_dim: proj,
        }
    }
}

/// calip3d's seeded generator with Box–Muller normals.
struct Rng(crate::load::SplitMix64);

impl Rng {
    fn new(state: u64) -> Self {
        Rng(crate::load::SplitMix64::from_state(state))
    }
    /// Uniform in (0, 1): never 0, so the logarithm below is finite.
    fn uniform(&mut self) -> f64 {
        ((self.0.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }
}

/// Random values for one tensor: layer-norm gains near 1, biases and weights small normals
/// (std 0.02, like transformers' initialisation), so activations stay in a realistic range.
fn random_values(name: &str, n: usize, rng: &mut Rng) -> Vec<f32> {
    if name == "logit_scale" {
        return vec![100f32.ln(); n];
    }
    let norm_gain = name.ends_with(".weight")
        && (name.contains("layer_norm") || name.contains("layrnorm") || name.contains("layernorm"));
    (0..n)
        .map(|_| {
            let r = rng.normal();
            if norm_gain {
                1.0 + 0.1 * r
            } else {
                0.02 * r
            }
        })
        .collect()
}

/// Writes `config.json`, `model.safetensors` (random f32 weights, the tensor names and shapes of
/// OpenAI's checkpoint) and `tokenizer.json` into `dir`.
pub fn write_random_clip(arch: ClipArch, dir: &Path, seed: u64) -> Result<(), ModelError> {
    write_random_model(&arch.config(), dir, seed)
}

/// As [`write_random_clip`] for any configuration.
pub fn write_random_model(config: &ClipConfig, dir: &Path, seed: u64) -> Result<(), ModelError> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let mut rng = Rng::new(seed);
    let specs = expected_tensors(config);
    let data: Vec<Vec<u8>> = specs
        .iter()
        .map(|(name, shape)| {
            let n = shape.iter().product::<usize>();
            bytemuck::cast_slice(&random_values(name, n, &mut rng)).to_vec()
        })
        .collect();
    let views = specs
        .iter()
        .zip(&data)
        .map(|((name, shape), bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes).map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ModelError::Weights {
            path: dir.join("model.safetensors"),
            reason: e.to_string(),
        })?;
    let weights = dir.join("model.safetensors");
    safetensors::serialize_to_file(views, None, &weights).map_err(|e| ModelError::Weights {
        path: weights.clone(),
        reason: e.to_string(),
    })?;
    let config_path = dir.join("config.json");
    let json = serde_json::to_string_pretty(&config.to_hf_json()).expect("config serialises");
    std::fs::write(&config_path, json + "\n").map_err(|e| ModelError::io(&config_path, e))?;
    let tok = dir.join("tokenizer.json");
    std::fs::write(&tok, BUNDLED_TOKENIZER_JSON).map_err(|e| ModelError::io(&tok, e))
}
