//! `config.json` of a Hugging Face CLIP model, reduced to the plain sizes the encoder needs.

use super::error::ModelError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The activation inside the transformer MLPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `x · sigmoid(1.702 x)`, OpenAI's CLIP.
    QuickGelu,
    /// The exact (erf) GELU.
    Gelu,
}

/// Sizes of one transformer tower.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TowerConfig {
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the MLP's hidden layer.
    pub intermediate_size: usize,
    /// Number of residual blocks.
    pub num_hidden_layers: usize,
    /// Number of attention heads (divides `hidden_size`).
    pub num_attention_heads: usize,
    /// Layer-norm epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// MLP activation.
    #[serde(default = "default_act")]
    pub hidden_act: Activation,
}

/// The text tower's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextConfig {
    /// Transformer sizes.
    #[serde(flatten)]
    pub tower: TowerConfig,
    /// Vocabulary size (49408 for OpenAI's CLIP).
    pub vocab_size: usize,
    /// Context length (77).
    pub max_position_embeddings: usize,
}

/// The vision tower's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisionConfig {
    /// Transformer sizes.
    #[serde(flatten)]
    pub tower: TowerConfig,
    /// Input side length in pixels.
    pub image_size: usize,
    /// Patch side length in pixels.
    pub patch_size: usize,
    /// Input channels (3).
    #[serde(default = "default_channels")]
    pub num_channels: usize,
}

/// A CLIP model's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipConfig {
    /// Text tower.
    pub text_config: TextConfig,
    /// Vision tower.
    pub vision_config: VisionConfig,
    /// Width of the shared embedding space.
    pub projection_dim: usize,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_act() -> Activation {
    Activation::QuickGelu
}
fn default_channels() -> usize {
    3
}

impl VisionConfig {
    /// Patches per side.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }
    /// Number of patch tokens (CLS excluded).
    pub fn num_patches(&self) -> usize {
        self.grid() * self.grid()
    }
}

impl ClipConfig {
    /// Reads and checks `config.json`.
    pub fn from_file(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Self::from_json(&text).map_err(|reason| ModelError::Config {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses and checks the JSON text of a `config.json`.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let config: ClipConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        for (name, t) in [
            ("text_config", &self.text_config.tower),
            ("vision_config", &self.vision_config.tower),
        ] {
            if t.hidden_size == 0 || t.num_attention_heads == 0 || t.num_hidden_layers == 0 {
                return Err(format!("{name}: sizes must be positive"));
            }
            if !t.hidden_size.is_multiple_of(t.num_attention_heads) {
                return Err(format!(
                    "{name}: hidden_size {} is not a multiple of num_attention_heads {}",
                    t.hidden_size, t.num_attention_heads
                ));
            }
        }
        let v = &self.vision_config;
        if v.patch_size == 0 || !v.image_size.is_multiple_of(v.patch_size) {
            return Err(format!(
                "vision_config: image_size {} is not a multiple of patch_size {}",
                v.image_size, v.patch_size
            ));
        }
        if self.projection_dim == 0 || self.text_config.max_position_embeddings < 2 {
            return Err("projection_dim and max_position_embeddings must be positive".into());
        }
        Ok(())
    }

    /// The JSON written for a model: our fields plus the Hugging Face boilerplate that lets
    /// transformers load the folder too.
    pub fn to_hf_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("config serialises");
        v["architectures"] = serde_json::json!(["CLIPModel"]);
        v["model_type"] = "clip".into();
        v["logit_scale_init_value"] = 2.6592.into();
        v["text_config"]["model_type"] = "clip_text_model".into();
        v["text_config"]["bos_token_id"] = 49406.into();
        v["text_config"]["eos_token_id"] = 49407.into();
        v["text_config"]["pad_token_id"] = 1.into();
        v["vision_config"]["model_type"] = "clip_vision_model".into();
        v
    }
}
