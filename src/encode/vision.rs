//! CLIP's vision tower (ViT), returning the projected CLS feature *and* every projected patch
//! token, the spatial features CALIP attends over (METHOD §4).
//!
//! Forward pass: cut the image into `patch × patch` tiles and embed each linearly (the stride-`patch`
//! convolution written as one matrix product), prepend the class token, add position embeddings,
//! `pre_layrnorm`, the transformer, then `post_layernorm` and `visual_projection` on every token.

use super::config::VisionConfig;
use super::error::ModelError;
use super::precision::Precision;
use super::transformer::{layer_norm, Dense, Encoder};
use super::weights::Weights;
use candle_core::{Module, Tensor};
use candle_nn::LayerNorm;

/// The vision tower's unnormalised outputs.
#[derive(Debug, Clone)]
pub struct ImageFeatures {
    /// Global image embedding, `[B, C]`: the projected CLS token.
    pub global: Tensor,
    /// Spatial embeddings, `[B, P, C]`: every projected patch token (CLS excluded), row-major
    /// over the patch grid.
    pub spatial: Tensor,
}

/// The ViT image encoder.
pub struct VisionTower {
    config: VisionConfig,
    patch_embed: Dense,
    class_embedding: Tensor,
    position_embedding: Tensor,
    pre_ln: LayerNorm,
    encoder: Encoder,
    post_ln: LayerNorm,
    projection: Dense,
}

impl VisionTower {
    /// Builds the tower from checked weights, in f32.
    pub fn load(w: &Weights, config: &VisionConfig) -> Result<Self, ModelError> {
        Self::load_with(w, config, Precision::F32)
    }

    /// Builds the tower with the transformer's dense layers in `precision` (the patch embedding and
    /// the projection, 3% of the work, stay f32).
    pub fn load_with(
        w: &Weights,
        config: &VisionConfig,
        precision: Precision,
    ) -> Result<Self, ModelError> {
        let eps = config.tower.layer_norm_eps;
        let d = config.tower.hidden_size;
        let patch = w.get("vision_model.embeddings.patch_embedding.weight")?;
        // [D, C, p, p] → [D, C·p·p]: the flattening order matches the patch tiles below.
        let patch = patch.reshape((d, ()))?;
        Ok(Self {
            config: config.clone(),
            patch_embed: Dense::new(&patch, None)?,
            class_embedding: w
                .get("vision_model.embeddings.class_embedding")?
                .reshape((1, 1, d))?,
            position_embedding: w
                .get("vision_model.embeddings.position_embedding.weight")?
                .unsqueeze(0)?,
            pre_ln: layer_norm(w, "vision_model.pre_layrnorm", eps)?,
            encoder: Encoder::load_with(w, "vision_model.encoder", &config.tower, precision)?,
            post_ln: layer_norm(w, "vision_model.post_layernorm", eps)?,
            projection: Dense::new(&w.get("visual_projection.weight")?, None)?,
        })
    }

    /// Encodes `pixels` (`[B, channels, S, S]`, f32, already normalised as the model expects).
    pub fn forward(&self, pixels: &Tensor) -> Result<ImageFeatures, ModelError> {
        let c = &self.config;
        let (s, p, ch) = (c.image_size, c.patch_size, c.num_channels);
        let dims = pixels.dims();
        if dims.len() != 4 || dims[1] != ch || dims[2] != s || dims[3] != s {
            return Err(ModelError::Input(format!(
                "images must be [B, {ch}, {s}, {s}], got {dims:?}"
            )));
        }
        if pixels.dtype() != candle_core::DType::F32 {
            return Err(ModelError::Input(format!(
                "images must be f32, got {:?}",
                pixels.dtype()
            )));
        }
        let b = dims[0];
        let g = s / p;
        let d = c.tower.hidden_size;
        let tiles = pixels
            .reshape((b, ch, g, p, g, p))?
            .permute((0, 2, 4, 1, 3, 5))?
            .contiguous()?
            .reshape((b, g * g, ch * p * p))?;
        let patches = self.patch_embed.forward(&tiles)?; // [B, P, D]
        let cls = self.class_embedding.broadcast_as((b, 1, d))?;
        let x = Tensor::cat(&[&cls, &patches], 1)?.broadcast_add(&self.position_embedding)?;
        let x = self.pre_ln.forward(&x)?;
        let x = self.encoder.forward(&x, None)?;
        let tokens = self.projection.forward(&self.post_ln.forward(&x)?)?; // [B, 1+P, C]
        Ok(ImageFeatures {
            global: tokens.narrow(1, 0, 1)?.squeeze(1)?,
            spatial: tokens.narrow(1, 1, g * g)?,
        })
    }
}
