//! Multi-view depth projection (METHOD.md §1–§3): PointCLIP's 6 perspective views ("pointclip")
//! and PointCLIP V2's 10 orthographic "realistic" views, on the GPU (WGSL compute through wgpu)
//! or the CPU, with identical images.
//!
//! ```
//! use calip3d::project::{DeviceChoice, Projection, Projector};
//! use nalgebra::Point3;
//! let projector = Projector::new(Projection::PointClip, Projection::PointClip.views(), DeviceChoice::Cpu)?;
//! let cloud = [Point3::new(0.0f32, 0.0, 0.0), Point3::new(0.5, 0.2, -0.1)];
//! let depth = projector.depth_views(&[&cloud])?;
//! assert_eq!((depth[0].views, depth[0].height, depth[0].width), (6, 128, 128));
//! # Ok::<(), calip3d::project::ProjectError>(())
//! ```

pub mod cpu;
mod device;
mod gpu;
mod output;
pub mod resize;
mod views;

pub use device::DeviceChoice;
pub use output::write_view_pngs;
pub use views::{View, ViewSet};

use nalgebra::Point3;
use rayon::prelude::*;
use std::sync::Mutex;

/// Which projection to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Projection {
    /// PointCLIP: 6 perspective views, 128×128, harmonic-mean depth.
    PointClip,
    /// PointCLIP V2: 10 orthographic views, 110×110, densified and smoothed.
    #[default]
    Realistic,
}

impl Projection {
    /// The preset views of this projection.
    pub fn views(&self) -> ViewSet {
        ViewSet::preset(*self)
    }

    /// Side of the depth image before resizing.
    pub fn image_size(&self) -> usize {
        match self {
            Projection::PointClip => cpu::POINTCLIP_SIZE,
            Projection::Realistic => cpu::REALISTIC_SIZE,
        }
    }
}

impl std::fmt::Display for Projection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Projection::PointClip => "pointclip",
            Projection::Realistic => "realistic",
        })
    }
}

impl std::str::FromStr for Projection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "pointclip" | "v1" => Ok(Projection::PointClip),
            "realistic" | "v2" => Ok(Projection::Realistic),
            _ => Err(format!(
                "unknown projection `{s}` (expected pointclip or realistic)"
            )),
        }
    }
}

/// What can go wrong while projecting.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("cloud {index} has no points to project")]
    /// A cloud with no points.
    EmptyCloud {
        /// Its position in the batch.
        index: usize,
    },
    #[error("no GPU adapter found (wgpu saw none; install a Vulkan driver, or use --device cpu)")]
    /// No usable GPU adapter.
    NoGpu,
    #[error("GPU error: {0}")]
    /// The GPU failed (validation, out of memory, device lost).
    Gpu(String),
    #[error("{path}: cannot write: {source}")]
    /// An output file could not be written.
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The depth images of one cloud, `[views, height, width]`, values as METHOD.md defines them.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthViews {
    /// Number of views.
    pub views: usize,
    /// Image rows.
    pub height: usize,
    /// Image columns.
    pub width: usize,
    /// Values, row-major, view after view.
    pub data: Vec<f32>,
}

impl DepthViews {
    /// The image of view `v`, row-major.
    pub fn view(&self, v: usize) -> &[f32] {
        &self.data[v * self.height * self.width..][..self.height * self.width]
    }
}

/// The encoder's input for a batch of clouds: `[clouds · views, 3, size, size]`, views of one cloud
/// contiguous.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipBatch {
    /// Views of each cloud.
    pub views_per_cloud: usize,
    /// Image side (224 for CLIP).
    pub size: usize,
    /// Values, row-major, view after view.
    pub data: Vec<f32>,
}

/// Renders clouds into depth views and CLIP inputs, on the GPU when there is one.
///
/// `Send + Sync`: the GPU state sits behind a mutex, so threads can share one projector.
pub struct Projector {
    projection: Projection,
    views: ViewSet,
    gpu: Option<Mutex<gpu::GpuProjector>>,
}

impl Projector {
    /// Sets up a projector. `Auto` uses a hardware GPU when wgpu finds one (logged once) and the
    /// CPU otherwise: a software rasteriser (Mesa's lavapipe) is slower than the CPU path, so only
    /// `Gpu` uses it; `Gpu` fails when there is no adapter at all.
    pub fn new(
        projection: Projection,
        views: ViewSet,
        device: DeviceChoice,
    ) -> Result<Self, ProjectError> {
        let gpu = match device {
            DeviceChoice::Cpu => None,
            DeviceChoice::Gpu => Some(gpu::GpuProjector::new(true)?),
            DeviceChoice::Auto => match gpu::GpuProjector::new(false) {
                Ok(g) => {
                    log::info!("projecting on the GPU: {}", g.adapter_name());
                    Some(g)
                }
                Err(e) => {
                    log::info!("projecting on the CPU ({e})");
                    None
                }
            },
        };
        Ok(Projector {
            projection,
            views,
            gpu: gpu.map(Mutex::new),
        })
    }

    /// The projection in use.
    pub fn projection(&self) -> Projection {
        self.projection
    }

    /// Number of views.
    pub fn views(&self) -> &ViewSet {
        &self.views
    }

    /// `"cpu"`, or `"gpu: <adapter name>"`.
    pub fn backend(&self) -> String {
        match &self.gpu {
            Some(g) => format!(
                "gpu: {}",
                g.lock()
                    .map(|g| g.adapter_name().to_string())
                    .unwrap_or_default()
            ),
            None => "cpu".into(),
        }
    }

    fn check(clouds: &[&[Point3<f32>]]) -> Result<(), ProjectError> {
        match clouds.iter().position(|c| c.is_empty()) {
            Some(index) => Err(ProjectError::EmptyCloud { index }),
            None => Ok(()),
        }
    }

    /// Runs `on_gpu`, falling back to the CPU with a warning if the GPU fails.
    fn with_gpu<T>(
        &self,
        on_gpu: impl FnOnce(&mut gpu::GpuProjector) -> Result<T, ProjectError>,
        on_cpu: impl FnOnce() -> T,
    ) -> T {
        if let Some(g) = &self.gpu {
            let mut g = match g.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            match on_gpu(&mut g) {
                Ok(v) => return v,
                Err(e) => log::warn!("GPU projection failed, using the CPU: {e}"),
            }
        }
        on_cpu()
    }

    /// Depth images of each cloud (points y-up), before resizing.
    pub fn depth_views(&self, clouds: &[&[Point3<f32>]]) -> Result<Vec<DepthViews>, ProjectError> {
        Self::check(clouds)?;
        let (p, views) = (self.projection, &self.views);
        Ok(self.with_gpu(
            |g| g.depth_views(p, views, clouds),
            || {
                clouds
                    .par_iter()
                    .map(|c| cpu_depth_views(p, views, c))
                    .collect()
            },
        ))
    }

    /// The encoder's input for the clouds: every view resized to `size` (aligned corners) and
    /// replicated to 3 channels; CLIP's mean/std applied when `normalize`.
    pub fn clip_input(
        &self,
        clouds: &[&[Point3<f32>]],
        size: usize,
        normalize: bool,
    ) -> Result<ClipBatch, ProjectError> {
        Self::check(clouds)?;
        let (p, views) = (self.projection, &self.views);
        let data = self.with_gpu(
            |g| g.clip_input(p, views, clouds, size, normalize),
            || {
                let depth: Vec<DepthViews> = clouds
                    .par_iter()
                    .map(|c| cpu_depth_views(p, views, c))
                    .collect();
                cpu_clip_input(&depth, size, normalize)
            },
        );
        Ok(ClipBatch {
            views_per_cloud: views.len(),
            size,
            data,
        })
    }
}

/// All views of one cloud on the CPU.
pub fn cpu_depth_views(
    projection: Projection,
    views: &ViewSet,
    points: &[Point3<f32>],
) -> DepthViews {
    let n = projection.image_size();
    let data: Vec<Vec<f32>> = match projection {
        Projection::PointClip => {
            let unit = cpu::unit_sphere(points);
            views
                .views
                .par_iter()
                .map(|v| cpu::pointclip_view(&unit, v))
                .collect()
        }
        Projection::Realistic => views
            .views
            .par_iter()
            .map(|v| cpu::realistic_view(points, v))
            .collect(),
    };
    DepthViews {
        views: views.len(),
        height: n,
        width: n,
        data: data.concat(),
    }
}

/// The CLIP input of depth images on the CPU.
pub fn cpu_clip_input(depth: &[DepthViews], size: usize, normalize: bool) -> Vec<f32> {
    let per_image = 3 * size * size;
    let images: Vec<(&DepthViews, usize)> = depth
        .iter()
        .flat_map(|d| (0..d.views).map(move |v| (d, v)))
        .collect();
    let mut out = vec![0f32; images.len() * per_image];
    out.par_chunks_mut(per_image)
        .zip(&images)
        .for_each(|(o, (d, v))| {
            resize::clip_channels(d.view(*v), d.width, size, normalize, o);
        });
    out
}
