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
        if eot.len() != n || eot.iter().any(|&e| e >= t) {
            return Err(ModelError::Input(format!(
                "{} end-of-text positions below {t} for {n} rows",
                eot.len()
            )));
        }
        // The mask is causal, so no position attends to a later one: cutting every row after the
        // last end-of-text token of the batch leaves the picked states as they were, and a
        // prompt of 15 tokens costs 15 positions instead of 77.
        let len = eot.iter().max().map_or(t, |&e| e + 1);
        let flat: Vec<u32> = flat
            .chunks(t)
            .flat_map(|row| &row[..len])
            .copied()
            .collect();
        let device = self.token_embedding.device();
        let idx = Tensor::from_vec(flat, n * len, device)?;
        let x = self
            .token_embedding
            .index_select(&idx, 0)?
            .reshape((n, len, ()))?
            .broadcast_add(&self.position_embedding.narrow(0, 0, len)?.unsqueeze(0)?)?;
        let mask = self
            .causal_mask
            .narrow(0, 0, len)?
            .narrow(1, 0, len)?
            .contiguous()?;
        let x = self.encoder.forward(&x, Some(&mask))?;
        let rows: Vec<u32> = eot
            .iter()
            .enumerate()
            .map(|(i, &e)| (i * len + e) as u32)
            .collect();
        let picked = x
            .reshape((n * len, ()))?
            .index_select(&Tensor::from_vec(rows, n, device)?, 0)?;
        self.projection.forward(&self.final_ln.forward(&picked)?)
    }
}
