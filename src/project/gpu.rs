//! The projections on the GPU (placeholder until the wgpu path lands).

use super::{DepthViews, ProjectError, Projection, ViewSet};
use nalgebra::Point3;

pub struct GpuProjector {
    name: String,
}

impl GpuProjector {
    pub fn new() -> Result<Self, ProjectError> {
        Err(ProjectError::NoGpu)
    }
    pub fn adapter_name(&self) -> &str {
        &self.name
    }
    pub fn depth_views(
        &mut self,
        _p: Projection,
        _v: &ViewSet,
        _c: &[&[Point3<f32>]],
    ) -> Result<Vec<DepthViews>, ProjectError> {
        Err(ProjectError::NoGpu)
    }
    pub fn clip_input(
        &mut self,
        _p: Projection,
        _v: &ViewSet,
        _c: &[&[Point3<f32>]],
        _s: usize,
        _n: bool,
    ) -> Result<Vec<f32>, ProjectError> {
        Err(ProjectError::NoGpu)
    }
}
