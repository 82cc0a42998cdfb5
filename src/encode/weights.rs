//! The tensors of a Hugging Face `CLIPModel` checkpoint: which names and shapes a config implies,
//! and loading them from safetensors with every name, shape and dtype checked.
//!
//! The file is memory-mapped, not read: opening it parses only the header, and a tensor's bytes
//! are touched when a tower asks for it, converted straight into the tensor's own f32 buffer (one
//! copy), after which the mapped pages are handed back to the kernel so that they do not count
//! twice in the resident set.

use super::config::{ClipConfig, TowerConfig};
use super::error::ModelError;
use candle_core::{Device, Tensor};
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

/// Where one checked tensor lies in the file.
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    /// Absolute byte range in the file.
    start: usize,
    end: usize,
}

/// A checked, memory-mapped checkpoint: every tensor `config` implies is present with the right
/// shape and a floating-point dtype. Tensors are materialised on demand by [`Self::get`].
pub struct Weights {
    path: PathBuf,
    map: memmap2::Mmap,
    entries: HashMap<String, Entry>,
    device: Device,
}

impl Weights {
    /// Maps `path` and checks that every tensor `config` implies is present with the right shape
    /// and a floating-point dtype (f32, f16 or bf16; all are computed in f32). Reads only the
    /// header.
    pub fn load(path: &Path, config: &ClipConfig, device: &Device) -> Result<Self, ModelError> {
        let file = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
        // SAFETY: the mapping is read-only; as with any memory-mapped file, a file truncated by
        // another process while we run is outside what we can guard against.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| ModelError::io(path, e))?;
        let bad = |reason: String| ModelError::Weights {
            path: path.to_path_buf(),
            reason,
        };
        // Checks the header against the file's length: every data range lies inside the file.
        let (header_len, meta) = SafeTensors::read_metadata(&map)
            .map_err(|e| bad(format!("not a readable safetensors file (truncated?): {e}")))?;
        let data_start = 8 + header_len;
        let mut entries = HashMap::new();
        for (name, shape) in expected_tensors(config) {
            let info = meta.info(&name).ok_or_else(|| {
                bad(format!(
                    "tensor `{name}` is missing (the config implies shape {shape:?})"
                ))
            })?;
            if info.shape != shape {
                return Err(bad(format!(
                    "tensor `{name}` has shape {:?}, but config.json implies {shape:?}",
                    info.shape
                )));
            }
            if !matches!(info.dtype, Dtype::F32 | Dtype::F16 | Dtype::BF16) {
                return Err(bad(format!(
                    "tensor `{name}` has dtype {:?}; expected F32, F16 or BF16",
                    info.dtype
                )));
            }
            let (a, b) = info.data_offsets;
            entries.insert(
                name,
                Entry {
                    dtype: info.dtype,
                    shape,
                    start: data_start + a,
                    end: data_start + b,
                },
            );
        }
        Ok(Self {
            path: path.to_path_buf(),
            map,
            entries,
            device: device.clone(),
        })
    }

    fn entry(&self, name: &str) -> Result<&Entry, ModelError> {
        self.entries.get(name).ok_or_else(|| ModelError::Weights {
            path: self.path.clone(),
            reason: format!("tensor `{name}` is missing"),
        })
    }

    /// The checked tensor `name`, as f32.
    pub fn get(&self, name: &str) -> Result<Tensor, ModelError> {
        self.get_scaled_rows(&[(name, 1.0)])
    }

    /// The tensors `parts` (name, factor), each multiplied by its factor and stacked along the
    /// first dimension into one f32 tensor, written once: the fused q/k/v projection is built
    /// without a concatenation copy. All parts must share their trailing dimensions.
    pub fn get_scaled_rows(&self, parts: &[(&str, f32)]) -> Result<Tensor, ModelError> {
        let entries = parts
            .iter()
            .map(|(n, _)| self.entry(n))
            .collect::<Result<Vec<_>, _>>()?;
        let Some(first) = entries.first() else {
            return Err(ModelError::Weights {
                path: self.path.clone(),
                reason: "no tensor asked for".into(),
            });
        };
        let inner = first.shape.get(1..).unwrap_or(&[]).to_vec();
        let mut rows = 0;
        for (e, (name, _)) in entries.iter().zip(parts) {
            if e.shape.get(1..).unwrap_or(&[]) != inner.as_slice() {
                return Err(ModelError::Weights {
                    path: self.path.clone(),
                    reason: format!("tensor `{name}` cannot be stacked: shape {:?}", e.shape),
                });
            }
            rows += e.shape.first().copied().unwrap_or(1);
        }
        let total: usize = entries
            .iter()
            .map(|e| e.shape.iter().product::<usize>())
            .sum();
        let mut data: Vec<f32> = Vec::with_capacity(total);
        for (e, &(_, factor)) in entries.iter().zip(parts) {
            let bytes = &self.map[e.start..e.end];
            match e.dtype {
                Dtype::F32 => match bytemuck::try_cast_slice::<u8, f32>(bytes) {
                    Ok(v) if factor == 1.0 => data.extend_from_slice(v),
                    Ok(v) => data.extend(v.iter().map(|x| x * factor)),
                    Err(_) => data.extend(
                        bytes
                            .chunks_exact(4)
                            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * factor),
                    ),
                },
                Dtype::F16 => data.extend(
                    bytes
                        .chunks_exact(2)
                        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32() * factor),
                ),
                _ => data.extend(
                    bytes
                        .chunks_exact(2)
                        .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32() * factor),
                ),
            }
            self.release(e);
        }
        let mut shape = vec![rows];
        shape.extend(inner);
        if first.shape.is_empty() {
            shape.clear();
        }
        Ok(Tensor::from_vec(data, shape, &self.device)?)
    }

    /// Drops the mapped pages of `e` from this process's resident set: the tensor now has its own
    /// copy, and the page cache still holds the file for a later read.
    fn release(&self, e: &Entry) {
        let page = 4096;
        let start = e.start.div_ceil(page) * page;
        let end = e.end / page * page;
        if end > start {
            // SAFETY: the mapping is private and read-only; dropped pages are re-read from the
            // file if touched again, so no data can change or be lost.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    start,
                    end - start,
                )
            };
        }
    }
}
