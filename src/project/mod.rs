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
pub(crate) mod gpu;
pub mod method;
mod output;
pub mod resize;
mod views;

pub use device::{Backend, DeviceChoice};
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
#[non_exhaustive]
pub enum ProjectError {
    #[error("cloud {index} has no points to project")]
    /// A cloud with no points.
    EmptyCloud {
        /// Its position in the batch.
        index: usize,
    },
    #[error("{}", no_gpu(skipped_software))]
    /// No usable GPU adapter.
    NoGpu {
        /// Software rasterisers that were found but not used (`auto` does not use them).
        skipped_software: Vec<String>,
    },
    #[error("cannot open the GPU ({adapter}): {source}")]
    /// The adapter would not give a device.
    OpenDevice {
        /// The adapter.
        adapter: String,
        /// What wgpu said.
        source: wgpu::RequestDeviceError,
    },
    #[error("GPU stage `{stage}`: {reason}")]
    /// A stage's bindings and its shader disagree (a bug in calip3d).
    Pipeline {
        /// The stage.
        stage: &'static str,
        /// How they differ.
        reason: String,
    },
    #[error("GPU stage `{stage}` was rejected: {source}")]
    /// The GPU rejected a stage's shader or pipeline.
    PipelineRejected {
        /// The stage.
        stage: &'static str,
        /// What wgpu said.
        source: wgpu::Error,
    },
    #[error("GPU projection failed: {source}")]
    /// A submission failed (validation, out of memory).
    Dispatch {
        /// What wgpu said.
        source: wgpu::Error,
    },
    #[error("{points} points pass the GPU's {limit}-byte buffer limit")]
    /// More points than one GPU buffer holds.
    TooManyPoints {
        /// Points in the submission.
        points: usize,
        /// The device's binding limit in bytes.
        limit: u64,
    },
    #[error("reading the GPU's result back failed: {reason}")]
    /// The result could not be read back (device lost, mapping failed).
    Readback {
        /// What failed.
        reason: String,
    },
    #[error("{path}: cannot write: {source}")]
    /// An output file could not be written.
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn no_gpu(skipped_software: &[String]) -> String {
    if skipped_software.is_empty() {
        "no GPU adapter found (install a Vulkan driver, or use --device cpu)".into()
    } else {
        format!(
            "no hardware GPU adapter, only the software rasteriser {} (--device gpu uses it)",
            skipped_software.join(", ")
        )
    }
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

/// Where a [`Projector`] runs.
enum Engine {
    Cpu,
    Gpu {
        // Boxed: the device and its pipelines are large, and made once.
        gpu: Box<Mutex<gpu::GpuProjector>>,
        backend: Backend,
        /// Only `DeviceChoice::Auto` may fall back to the CPU when a call fails on the GPU.
        may_fall_back: bool,
    },
}

/// Renders clouds into depth views and CLIP inputs, on the GPU when there is one.
///
/// Every call runs where [`Projector::backend`] says: a projector made with
/// [`DeviceChoice::Gpu`] returns an error when the GPU fails, never a CPU result, and
/// [`DeviceChoice::Cpu`] never touches wgpu.
///
/// `Send + Sync`: the GPU state sits behind a mutex, so threads can share one projector.
pub struct Projector {
    projection: Projection,
    views: ViewSet,
    engine: Engine,
}

impl Projector {
    /// Sets up a projector.
    ///
    /// - `Cpu`: the CPU path; no GPU instance is created.
    /// - `Gpu`: the best GPU adapter, a software rasteriser (Mesa's lavapipe) included; any
    ///   failure, now or in a later call, is an error.
    /// - `Auto`: a hardware GPU when wgpu finds one and its pipelines build, the CPU otherwise
    ///   (a software rasteriser is slower than the CPU path); which one, and why, is logged at
    ///   info level (`-v`). A later GPU failure falls back to the CPU with a warning.
    pub fn new(
        projection: Projection,
        views: ViewSet,
        device: DeviceChoice,
    ) -> Result<Self, ProjectError> {
        let gpu = |g: gpu::GpuProjector, may_fall_back| Engine::Gpu {
            backend: g.backend().clone(),
            gpu: Box::new(Mutex::new(g)),
            may_fall_back,
        };
        let engine = match device {
            DeviceChoice::Cpu => Engine::Cpu,
            DeviceChoice::Gpu => gpu(gpu::GpuProjector::new(true)?, false),
            DeviceChoice::Auto => match gpu::GpuProjector::new(false) {
                Ok(g) => {
                    log::info!("projecting on the {}", g.backend());
                    gpu(g, true)
                }
                Err(e) => {
                    log::info!("projecting on the CPU: {e}");
                    Engine::Cpu
                }
            },
        };
        Ok(Projector {
            projection,
            views,
            engine,
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

    /// Where this projector's calls run.
    ///
    /// ```
    /// use calip3d::project::{Backend, DeviceChoice, Projection, Projector};
    /// let p = Projector::new(Projection::PointClip, Projection::PointClip.views(), DeviceChoice::Cpu)?;
    /// assert_eq!(p.backend(), &Backend::Cpu);
    /// # Ok::<(), calip3d::project::ProjectError>(())
    /// ```
    pub fn backend(&self) -> &Backend {
        match &self.engine {
            Engine::Cpu => &Backend::Cpu,
            Engine::Gpu { backend, .. } => backend,
        }
    }

    fn check(clouds: &[&[Point3<f32>]]) -> Result<(), ProjectError> {
        match clouds.iter().position(|c| c.is_empty()) {
            Some(index) => Err(ProjectError::EmptyCloud { index }),
            None => Ok(()),
        }
    }

    /// Runs `on_gpu` on a GPU projector (its error is returned, except under `Auto`, which
    /// falls back with a warning), `on_cpu` on a CPU one.
    fn run<T>(
        &self,
        on_gpu: impl FnOnce(&mut gpu::GpuProjector) -> Result<T, ProjectError>,
        on_cpu: impl FnOnce() -> T,
    ) -> Result<T, ProjectError> {
        let Engine::Gpu {
            gpu, may_fall_back, ..
        } = &self.engine
        else {
            return Ok(on_cpu());
        };
        let mut g = match gpu.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        match on_gpu(&mut g) {
            Ok(v) => Ok(v),
            Err(e) if *may_fall_back => {
                log::warn!("GPU projection failed, using the CPU: {e}");
                Ok(on_cpu())
            }
            Err(e) => Err(e),
        }
    }

    /// Depth images of each cloud (points y-up), before resizing.
    pub fn depth_views(&self, clouds: &[&[Point3<f32>]]) -> Result<Vec<DepthViews>, ProjectError> {
        Self::check(clouds)?;
        let (p, views) = (self.projection, &self.views);
        self.run(
            |g| g.depth_views(p, views, clouds),
            || {
                clouds
                    .par_iter()
                    .map(|c| cpu_depth_views(p, views, c))
                    .collect()
            },
        )
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
        let data = self.run(
            |g| g.clip_input(p, views, clouds, size, normalize),
            || {
                let depth: Vec<DepthViews> = clouds
                    .par_iter()
                    .map(|c| cpu_depth_views(p, views, c))
                    .collect();
                cpu_clip_input(&depth, size, normalize)
            },
        )?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(_: &mut gpu::GpuProjector) -> Result<u8, ProjectError> {
        Err(ProjectError::Readback {
            reason: "device lost".into(),
        })
    }

    #[test]
    fn only_auto_falls_back_to_the_cpu_when_a_call_fails_on_the_gpu() {
        if std::env::var("CALIP3D_NO_GPU_TESTS").as_deref() == Ok("1") {
            return;
        }
        for may_fall_back in [false, true] {
            let g = gpu::GpuProjector::new(true).expect("a GPU adapter (lavapipe in CI)");
            let projector = Projector {
                projection: Projection::PointClip,
                views: Projection::PointClip.views(),
                engine: Engine::Gpu {
                    backend: g.backend().clone(),
                    gpu: Box::new(Mutex::new(g)),
                    may_fall_back,
                },
            };
            let got = projector.run(failing, || 7);
            if may_fall_back {
                assert_eq!(got.unwrap(), 7);
            } else {
                let e = got.unwrap_err();
                assert!(matches!(e, ProjectError::Readback { .. }), "{e}");
            }
        }
    }

    #[test]
    fn the_cpu_choice_runs_on_the_cpu() {
        let p = Projector::new(
            Projection::Realistic,
            Projection::Realistic.views(),
            DeviceChoice::Cpu,
        )
        .unwrap();
        assert_eq!(p.backend(), &Backend::Cpu);
        assert_eq!(p.run(failing, || 3).unwrap(), 3);
    }
}
