//! The tensors of a Hugging Face `CLIPModel` checkpoint: which names and shapes a config implies,
//! and loading them from safetensors with every name, shape and dtype checked.

use super::config::{ClipConfig, TowerConfig};
use super::error::ModelError;
use candle_core::{DType, Device, Tensor};
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The tensors (name, shape) a CLIP checkpoint with `config` must contain, in Hugging Face naming.
pub fn expected_tensors(config: &ClipConfig) -> Vec<(String, Vec<usize>)> {
    let t = &config.text_config;
    let v = &config.vision_config;
    let (dt, dv, p) = (
        t.tower.hidden_size,
        v.tower.hidden_size,
        config.projection_dim,
    );
    let mut out = vec![
        ("logit_scale".to_string(), vec![]),
        ("text_projection.weight".into(), vec![p, dt]),
        ("visual_projection.weight".into(), vec![p, dv]),
        (
            "text_model.embeddings.token_embedding.weight".into(),
            vec![t.vocab_size, dt],
        ),
        (
            "text_model.embeddings.position_embedding.weight".into(),
            vec![t.max_position_embeddings, dt],
        ),
        ("text_model.final_layer_norm.weight".into(), vec![dt]),
        ("text_model.final_layer_norm.bias".into(), vec![dt]),
        ("vision_model.embeddings.class_embedding".into(), vec![dv]),
        (
            "vision_model.embeddings.patch_embedding.weight".into(),
            vec![dv, v.num_channels, v.patch_size, v.patch_size],
        ),
        (
            "vision_model.embeddings.position_embedding.weight".into(),
            vec![v.num_patches() + 1, dv],
        ),
        ("vision_model.pre_layrnorm.weight".into(), vec![dv]),
        ("vision_model.pre_layrnorm.bias".into(), vec![dv]),
        ("vision_model.post_layernorm.weight".into(), vec![dv]),
        ("vision_model.post_layernorm.bias".into(), vec![dv]),
    ];
    encoder_tensors("text_model.encoder", &t.tower, &mut out);
    encoder_tensors("vision_model.encoder", &v.tower, &mut out);
    out
}

fn encoder_tensors(prefix: &str, tower: &TowerConfig, out: &mut Vec<(String, Vec<usize>)>) {
    let (d, i) = (tower.hidden_size, tower.intermediate_size);
    for l in 0..tower.num_hidden_layers {
        let p = format!("{prefix}.layers.{l}");
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            out.push((format!("{p}.self_attn.{proj}.weight"), vec![d, d]));
            out.push((format!("{p}.self_attn.{proj}.bias"), vec![d]));
        }
        for ln in ["layer_norm1", "layer_norm2"] {
            out.push((format!("{p}.{ln}.weight"), vec![d]));
            out.push((format!("{p}.{ln}.bias"), vec![d]));
        }
        out.push((format!("{p}.mlp.fc1.weight"), vec![i, d]));
        out.push((format!("{p}.mlp.fc1.bias"), vec![i]));
        out.push((format!("{p}.mlp.fc2.weight"), vec![d, i]));
        out.push((format!("{p}.mlp.fc2.bias"), vec![d]));
    }
}

/// All checked tensors of a checkpoint, converted to f32 on the target device.
pub struct Weights {
    path: PathBuf,
    tensors: HashMap<String, Tensor>,
}

impl Weights {
    /// Reads `path` and checks that every tensor `config` implies is present with the right shape
    /// and a floating-point dtype (f32, f16 or bf16; all are computed in f32).
    pub fn load(path: &Path, config: &ClipConfig, device: &Device) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
        let bad = |reason: String| ModelError::Weights {
            path: path.to_path_buf(),
            reason,
        };
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(format!("not a readable safetensors file (truncated?): {e}")))?;
        let mut tensors = HashMap::new();
        for (name, shape) in expected_tensors(config) {
            let view = st.tensor(&name).map_err(|_| {
                bad(format!(
                    "tensor `{name}` is missing (the config implies shape {shape:?})"
                ))
            })?;
            if view.shape() != shape.as_slice() {
                return Err(bad(format!(
                    "tensor `{name}` has shape {:?}, but config.json implies {shape:?}",
                    view.shape()
                )));
            }
            let dtype = match view.dtype() {
                Dtype::F32 => DType::F32,
                Dtype::F16 => DType::F16,
                Dtype::BF16 => DType::BF16,
                other => {
                    return Err(bad(format!(
                        "tensor `{name}` has dtype {other:?}; expected F32, F16 or BF16"
                    )))
                }
            };
            let t = Tensor::from_raw_buffer(view.data(), dtype, &shape, device)?
                .to_dtype(DType::F32)?;
            tensors.insert(name, t);
        }
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
        })
    }

    /// The checked tensor `name` (f32).
    pub fn get(&self, name: &str) -> Result<Tensor, ModelError> {
        self.tensors
            .get(name)
            .cloned()
            .ok_or_else(|| ModelError::Weights {
                path: self.path.clone(),
                reason: format!("tensor `{name}` is missing"),
            })
    }
}
