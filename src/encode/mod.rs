//! CLIP encoders (METHOD §4): the vision tower with CALIP's spatial features, the text tower with
//! prompt ensembling, on candle, from Hugging Face `CLIPModel` checkpoints (local folder or Hub).
//!
//! Modules: [`config`] (config.json), [`model_files`]/[`hub`] (finding the files),
//! [`weights`] (checked, memory-mapped safetensors), [`transformer`] (shared blocks), [`vision`],
//! [`precision`] (f32, bf16 or int8 vision tower), [`kernels`] (CPU kernels), [`gpu`] (the vision
//! tower on a wgpu device, our own WGSL kernels),
//! [`text`], [`tokenizer`], [`image`] (preprocessing), [`encoder`] ([`ClipEncoder`]),
//! [`text_cache`] (on-disk class features), [`random`] (random-weight models for tests and benches).

pub mod config;
pub mod encoder;
pub mod error;
pub mod gpu;
pub mod hub;
pub mod image;
pub mod kernels;
pub mod model_files;
pub mod precision;
pub mod random;
pub mod text;
pub mod text_cache;
pub mod tokenizer;
pub mod transformer;
pub mod vision;
pub mod weights;

pub use config::ClipConfig;
pub use encoder::{ClipEncoder, ENCODE_CHUNK};
pub use error::ModelError;
pub use gpu::{GpuError, GpuVisionTower};
pub use image::{normalize_pixels, preprocess_image, CLIP_MEAN, CLIP_STD};
pub use precision::Precision;
pub use text_cache::TextFeatureCache;
pub use tokenizer::ClipTokenizer;
pub use transformer::l2_normalize;
pub use vision::ImageFeatures;
