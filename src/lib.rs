//! calip3d: zero-shot 3D point-cloud classification.
//!
//! The pipeline, one module per stage:
//! [`load`] (PLY, LAS/LAZ, meshes → [`PointCloud`]) → [`project`] (multi-view depth maps, GPU or CPU)
//! → [`encode`] (CLIP vision and text towers) → [`attend`] (CALIP's parameter-free attention)
//! → [`classify`] (view aggregation, classes, the `Classifier` API).

pub mod attend;
pub mod classify;
pub mod cloud;
pub mod encode;
pub mod load;
pub mod project;

pub use cloud::{Bounds, Format, PointCloud, SourceMeta, UpAxis};
pub mod batch;
mod error;

pub use error::{Error, Result};
