//! CLIP's text tower: a causal transformer over token ids; the feature of a text is the projected
//! final-layer-normed state at its end-of-text token.

use super::config::TextConfig;
use super::error::ModelError;
use super::transformer::{layer_norm, Dense, Encoder};
use super::weights::Weights;
use candle_core::{Device, Module, Tensor};
use candle_nn::LayerNorm;

/// The text encoder.
pub struct TextTower {
    token_embedding: Tensor,
    position_embedding: Tensor,
    encoder: Encoder,
    final_ln: LayerNorm,
    projection: Dense,
    causal_mask: Tensor,
    context: usize,
}

impl TextTower {
    /// Builds the tower from checked weights.
    pub fn load(w: &Weights, config: &TextConfig, device: &Device) -> Result<Self, ModelError> {
        let t = config.max_position_embeddings;
        let mask: Vec<f32> = (0..t * t)
            .map(|i| {
                if i % t > i / t {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        Ok(Self {
            token_embedding: w.get("text_model.embeddings.token_embedding.weight")?,
            position_embedding: w.get("text_model.embeddings.position_embedding.weight")?,
            encoder: Encoder::load(w, "text_model.encoder", &config.tower)?,
            final_ln: layer_norm(
                w,
                "text_model.final_layer_norm",
                config.tower.layer_norm_eps,
            )?,
            projection: Dense::new(&w.get("text_projection.weight")?, None)?,
            causal_mask: Tensor::from_vec(mask, (t, t), device)?,
            context: t,
        })
    }

    /// Context length (77).
    pub fn context_length(&self) -> usize {
        self.context
    }

    /// Encodes `ids` (rows of exactly `context_length` ids) whose end-of-text tokens sit at
    /// `eot[i]`; returns `[N, C]` unnormalised.
    pub fn forward(&self, ids: &[Vec<u32>], eot: &[usize]) -> Result<Tensor, ModelError> {
        let n = ids.len();
        let t = self.context;
        let vocab = self.token_embedding.dim(0)?;
        let mut flat = Vec::with_capacity(n * t);
        for row in ids {
            if row.len() != t || row.iter().any(|&i| i as usize >= vocab) {
                return Err(ModelError::Input(format!(
                    "token rows must have {t} ids below {vocab}"
                )));
            }
            flat.extend_from_slice(row);
        }
        let device = self.token_embedding.device();
        let idx = Tensor::from_vec(flat, n * t, device)?;
        let x = self
            .token_embedding
            .index_select(&idx, 0)?
            .reshape((n, t, ()))?
            .broadcast_add(&self.position_embedding.unsqueeze(0)?)?;
        let x = self.encoder.forward(&x, Some(&self.causal_mask))?;
        let rows: Vec<u32> = eot
            .iter()
            .enumerate()
            .map(|(i, &e)| (i * t + e) as u32)
            .collect();
        let picked = x
            .reshape((n * t, ()))?
            .index_select(&Tensor::from_vec(rows, n, device)?, 0)?;
        self.projection.forward(&self.final_ln.forward(&picked)?)
    }
}
