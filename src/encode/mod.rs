//! (temporary stub until the CLIP encoder lands)
use candle_core::{Device, Tensor};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    Other(String),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

pub struct ImageFeatures {
    pub global: Tensor,
    pub spatial: Tensor,
}

pub struct ClipEncoder {
    id: String,
}

impl ClipEncoder {
    pub fn load(model: &str, _device: &Device) -> Result<Self, ModelError> {
        Ok(ClipEncoder {
            id: model.to_string(),
        })
    }
    pub fn model_id(&self) -> &str {
        &self.id
    }
    pub fn image_size(&self) -> usize {
        224
    }
    pub fn encode_images(&self, pixels: &Tensor) -> Result<ImageFeatures, ModelError> {
        let b = pixels.dim(0)?;
        Ok(ImageFeatures {
            global: Tensor::ones((b, 8), candle_core::DType::F32, &Device::Cpu)?,
            spatial: Tensor::ones((b, 4, 8), candle_core::DType::F32, &Device::Cpu)?,
        })
    }
    pub fn class_features(&self, prompts: &[Vec<String>]) -> Result<Tensor, ModelError> {
        Ok(Tensor::ones(
            (prompts.len(), 8),
            candle_core::DType::F32,
            &Device::Cpu,
        )?)
    }
}
