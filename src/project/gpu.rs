//! The projections on the GPU: WGSL compute shaders through wgpu, one pipeline per stage, buffers
//! grown on demand and reused across calls. The CPU path in [`super::cpu`] is the reference.

use super::cpu::{
    gaussian_3x3, unit_sphere, DEPTH_BINS, POINTCLIP_SIZE, REALISTIC_GRID, REALISTIC_SIZE,
};
use super::resize::{CLIP_MEAN, CLIP_STD};
use super::{DepthViews, ProjectError, Projection, ViewSet};
use nalgebra::Point3;
use wgpu::util::DeviceExt;

const COMMON: &str = include_str!("../../shaders/common.wgsl");
/// Bindings and helpers of the stages that run one thread per (view, point) pair.
const POINT_STAGE: &str = include_str!("../../shaders/point_stage.wgsl");
const WORKGROUP: u32 = 256;

/// The uniform every stage reads; mirrors `Params` in shaders/common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n_points: u32,
    n_views: u32,
    n_images: u32,
    in_size: u32,
    out_size: u32,
    normalize: u32,
    _pad: [u32; 2],
    gauss: [f32; 4],
    mean: [f32; 4],
    std: [f32; 4],
}

/// One compute pipeline per stage.
struct Pipelines {
    pointclip_scatter: wgpu::ComputePipeline,
    pointclip_finalize: wgpu::ComputePipeline,
    realistic_bounds: wgpu::ComputePipeline,
    realistic_scatter: wgpu::ComputePipeline,
    realistic_densify: wgpu::ComputePipeline,
    realistic_smooth: wgpu::ComputePipeline,
    realistic_squeeze: wgpu::ComputePipeline,
    realistic_finalize: wgpu::ComputePipeline,
    resize: wgpu::ComputePipeline,
}

impl Pipelines {
    fn new(device: &wgpu::Device) -> Self {
        // Each stage's source follows the shared definitions it uses.
        let make = |label: &str, parts: &[&str]| {
            let source = std::iter::once(COMMON)
                .chain(parts.iter().copied())
                .collect::<Vec<_>>()
                .join("\n");
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        Pipelines {
            pointclip_scatter: make(
                "pointclip_scatter",
                &[
                    POINT_STAGE,
                    include_str!("../../shaders/pointclip_scatter.wgsl"),
                ],
            ),
            pointclip_finalize: make(
                "pointclip_finalize",
                &[include_str!("../../shaders/pointclip_finalize.wgsl")],
            ),
            realistic_bounds: make(
                "realistic_bounds",
                &[
                    POINT_STAGE,
                    include_str!("../../shaders/realistic_bounds.wgsl"),
                ],
            ),
            realistic_scatter: make(
                "realistic_scatter",
                &[
                    POINT_STAGE,
                    include_str!("../../shaders/realistic_scatter.wgsl"),
                ],
            ),
            realistic_densify: make(
                "realistic_densify",
                &[include_str!("../../shaders/realistic_densify.wgsl")],
            ),
            realistic_smooth: make(
                "realistic_smooth",
                &[include_str!("../../shaders/realistic_smooth.wgsl")],
            ),
            realistic_squeeze: make(
                "realistic_squeeze",
                &[include_str!("../../shaders/realistic_squeeze.wgsl")],
            ),
            realistic_finalize: make(
                "realistic_finalize",
                &[include_str!("../../shaders/realistic_finalize.wgsl")],
            ),
            resize: make("resize", &[include_str!("../../shaders/resize.wgsl")]),
        }
    }
}

/// A storage buffer that grows (to the next power of two) and is otherwise reused.
struct Grow {
    label: &'static str,
    usage: wgpu::BufferUsages,
    buffer: Option<wgpu::Buffer>,
}

impl Grow {
    fn new(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        Grow {
            label,
            usage,
            buffer: None,
        }
    }

    /// The buffer, grown to hold `bytes` but never past `cap` (the device's binding limit).
    fn at_least(&mut self, device: &wgpu::Device, bytes: u64, cap: u64) -> &wgpu::Buffer {
        let bytes = bytes.max(16);
        if self.buffer.as_ref().is_none_or(|b| b.size() < bytes) {
            self.buffer = Some(
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(self.label),
                    size: bytes
                        .next_power_of_two()
                        .min(cap)
                        .max(bytes)
                        .next_multiple_of(4),
                    usage: self.usage,
                    mapped_at_creation: false,
                }),
            );
        }
        self.buffer.as_ref().expect("just made")
    }
}

/// The buffers of one submission, named after what they hold.
struct Buffers {
    points: Grow,
    rotations: Grow,
    /// pointclip: per-pixel point counts; realistic: the 8×112×112 grid, then the smoothed slices.
    accumulator: Grow,
    /// pointclip: per-pixel Σ 1/z'; realistic: the densified slices.
    intermediate: Grow,
    bounds: Grow,
    image: Grow,
    image_max: Grow,
    clip_input: Grow,
    readback: Grow,
}

/// The wgpu device and everything made once for it.
pub struct GpuProjector {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter_name: String,
    max_binding: u64,
    pipelines: Pipelines,
    buffers: Buffers,
}

fn gpu_err(e: impl std::fmt::Display) -> ProjectError {
    ProjectError::Gpu(e.to_string())
}

/// Clouds projected per submission so that no buffer passes the device's binding limit.
fn clouds_per_submission(bytes_per_image: u64, views: usize, max_binding: u64) -> usize {
    let images = (max_binding / bytes_per_image).clamp(1, 4096) as usize;
    (images / views.max(1)).max(1)
}

impl GpuProjector {
    /// Opens the best adapter wgpu finds (a real GPU before a software one); with
    /// `allow_software` false, a software rasteriser (lavapipe, llvmpipe) does not count.
    pub fn new(allow_software: bool) -> Result<Self, ProjectError> {
        // Vulkan first (real GPUs, and Mesa's lavapipe without one); OpenGL only when Vulkan has no
        // adapter, since probing GL prints display-server noise on headless machines.
        let adapters = |backends: wgpu::Backends| {
            let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
                backends,
                ..wgpu::InstanceDescriptor::new_without_display_handle()
            });
            pollster::block_on(instance.enumerate_adapters(backends))
        };
        let mut found = adapters(wgpu::Backends::VULKAN);
        if found.is_empty() {
            found = adapters(wgpu::Backends::GL);
        }
        let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Cpu => 3,
            wgpu::DeviceType::Other => 4,
        };
        let adapter = found
            .into_iter()
            .filter(|a| allow_software || a.get_info().device_type != wgpu::DeviceType::Cpu)
            .min_by_key(rank)
            .ok_or(ProjectError::NoGpu)?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let required_limits = wgpu::Limits {
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            ..wgpu::Limits::downlevel_defaults()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("calip3d projection"),
            required_limits,
            ..Default::default()
        }))
        .map_err(gpu_err)?;
        // Errors are captured by scopes and returned; anything uncaptured is logged, never a panic.
        device.on_uncaptured_error(std::sync::Arc::new(|e| log::error!("GPU error: {e}")));
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipelines = Pipelines::new(&device);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(gpu_err(e));
        }
        let storage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC;
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        Ok(GpuProjector {
            pipelines,
            device,
            queue,
            adapter_name: format!("{} ({:?})", info.name, info.backend),
            max_binding,
            buffers: Buffers {
                points: Grow::new("points", storage),
                rotations: Grow::new("rotations", storage),
                accumulator: Grow::new("accumulator", storage),
                intermediate: Grow::new("intermediate", storage),
                bounds: Grow::new("bounds", storage),
                image: Grow::new("image", storage),
                image_max: Grow::new("image max", storage),
                clip_input: Grow::new("clip input", storage),
                readback: Grow::new(
                    "readback",
                    wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                ),
            },
        })
    }

    pub fn adapter_name(&self) -> &str {
        &self.adapter_name
    }

    /// Depth images of each cloud.
    pub fn depth_views(
        &mut self,
        projection: Projection,
        views: &ViewSet,
        clouds: &[&[Point3<f32>]],
    ) -> Result<Vec<DepthViews>, ProjectError> {
        let side = projection.image_size();
        let mut flat = vec![0f32; clouds.len() * views.len() * side * side];
        let mut at = 0;
        for chunk in clouds.chunks(self.chunk(projection, views.len(), None)) {
            let len = chunk.len() * views.len() * side * side;
            self.submit(projection, views, chunk, None, &mut flat[at..at + len])?;
            at += len;
        }
        Ok(flat
            .chunks(views.len() * side * side)
            .map(|d| DepthViews {
                views: views.len(),
                height: side,
                width: side,
                data: d.to_vec(),
            })
            .collect())
    }

    /// The CLIP input `[clouds · views, 3, size, size]`.
    pub fn clip_input(
        &mut self,
        projection: Projection,
        views: &ViewSet,
        clouds: &[&[Point3<f32>]],
        size: usize,
        normalize: bool,
    ) -> Result<Vec<f32>, ProjectError> {
        let per_cloud = views.len() * 3 * size * size;
        let mut out = vec![0f32; clouds.len() * per_cloud];
        let mut at = 0;
        for chunk in clouds.chunks(self.chunk(projection, views.len(), Some(size))) {
            let len = chunk.len() * per_cloud;
            self.submit(
                projection,
                views,
                chunk,
                Some((size, normalize)),
                &mut out[at..at + len],
            )?;
            at += len;
        }
        Ok(out)
    }

    fn chunk(&self, projection: Projection, views: usize, size: Option<usize>) -> usize {
        let grid = match projection {
            Projection::PointClip => POINTCLIP_SIZE * POINTCLIP_SIZE,
            Projection::Realistic => DEPTH_BINS * REALISTIC_GRID * REALISTIC_GRID,
        } as u64
            * 4;
        let out = size.map_or(0, |s| 3 * s * s) as u64 * 4;
        clouds_per_submission(grid.max(out), views, self.max_binding)
    }

    /// Projects clouds in one submission and copies the depth images, or the CLIP input when
    /// `resize` is given, straight from the mapped readback buffer into `out` (one copy).
    fn submit(
        &mut self,
        projection: Projection,
        views: &ViewSet,
        clouds: &[&[Point3<f32>]],
        resize: Option<(usize, bool)>,
        out: &mut [f32],
    ) -> Result<(), ProjectError> {
        let n_views = views.len();
        let n_images = clouds.len() * n_views;
        let side = projection.image_size();
        // Points with their cloud's index in w; pointclip clouds are normalised here exactly as the
        // CPU path does it (the centroid is a double-precision sum).
        let mut packed: Vec<[f32; 4]> = Vec::with_capacity(clouds.iter().map(|c| c.len()).sum());
        for (k, cloud) in clouds.iter().enumerate() {
            let tag = f32::from_bits(k as u32);
            match projection {
                Projection::PointClip => {
                    packed.extend(unit_sphere(cloud).iter().map(|p| [p.x, p.y, p.z, tag]))
                }
                Projection::Realistic => packed.extend(cloud.iter().map(|p| [p.x, p.y, p.z, tag])),
            }
        }
        if (packed.len() as u64) * 16 > self.max_binding {
            return Err(ProjectError::Gpu(format!(
                "{} points pass the GPU's {}-byte buffer limit",
                packed.len(),
                self.max_binding
            )));
        }
        let rotations: Vec<[f32; 4]> = views
            .views
            .iter()
            .flat_map(|v| v.rotation().map(|r| [r[0], r[1], r[2], 0.0]))
            .collect();
        let g = gaussian_3x3();
        let (out_size, normalize) = resize.unwrap_or((0, false));
        let params = Params {
            n_points: packed.len() as u32,
            n_views: n_views as u32,
            n_images: n_images as u32,
            in_size: side as u32,
            out_size: out_size as u32,
            normalize: normalize as u32,
            _pad: [0; 2],
            gauss: [g[0][0], g[0][1], g[1][1], 0.0],
            mean: [CLIP_MEAN[0], CLIP_MEAN[1], CLIP_MEAN[2], 0.0],
            std: [CLIP_STD[0], CLIP_STD[1], CLIP_STD[2], 1.0],
        };

        let device = &self.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let cap = self.max_binding;
        let b = &mut self.buffers;
        let params_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let f4 = 4u64;
        let points = b
            .points
            .at_least(device, packed.len() as u64 * 16, cap)
            .clone();
        let rot = b
            .rotations
            .at_least(device, rotations.len() as u64 * 16, cap)
            .clone();
        self.queue
            .write_buffer(&points, 0, bytemuck::cast_slice(&packed));
        self.queue
            .write_buffer(&rot, 0, bytemuck::cast_slice(&rotations));
        let image_bytes = (n_images * side * side) as u64 * f4;
        let image = b.image.at_least(device, image_bytes, cap).clone();
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("project"),
        });
        let point_work = (packed.len() * n_views) as u32;
        let pixel_work = (n_images * side * side) as u32;

        match projection {
            Projection::PointClip => {
                let bytes = (n_images * side * side) as u64 * f4;
                let counts = b.accumulator.at_least(device, bytes, cap).clone();
                let inv = b.intermediate.at_least(device, bytes, cap).clone();
                encoder.clear_buffer(&counts, 0, Some(bytes));
                encoder.clear_buffer(&inv, 0, Some(bytes));
                let p = &self.pipelines;
                dispatch(
                    device,
                    &mut encoder,
                    &p.pointclip_scatter,
                    &[&params_buf, &points, &rot, &counts, &inv],
                    point_work,
                );
                dispatch(
                    device,
                    &mut encoder,
                    &p.pointclip_finalize,
                    &[&params_buf, &counts, &inv, &image],
                    pixel_work,
                );
            }
            Projection::Realistic => {
                let grid_bytes =
                    (n_images * DEPTH_BINS * REALISTIC_GRID * REALISTIC_GRID) as u64 * f4;
                let dense_bytes =
                    (n_images * DEPTH_BINS * REALISTIC_SIZE * REALISTIC_SIZE) as u64 * f4;
                let grid = b.accumulator.at_least(device, grid_bytes, cap).clone();
                let dense = b.intermediate.at_least(device, dense_bytes, cap).clone();
                let bounds = b
                    .bounds
                    .at_least(device, n_images as u64 * 6 * f4, cap)
                    .clone();
                let image_max = b
                    .image_max
                    .at_least(device, n_images as u64 * f4, cap)
                    .clone();
                let init: Vec<u32> = (0..n_images)
                    .flat_map(|_| [u32::MAX, u32::MAX, u32::MAX, 0, 0, 0])
                    .collect();
                self.queue
                    .write_buffer(&bounds, 0, bytemuck::cast_slice(&init));
                encoder.clear_buffer(&grid, 0, Some(grid_bytes));
                encoder.clear_buffer(&image_max, 0, Some(n_images as u64 * f4));
                let p = &self.pipelines;
                let slice_work = (n_images * DEPTH_BINS * REALISTIC_SIZE * REALISTIC_SIZE) as u32;
                dispatch(
                    device,
                    &mut encoder,
                    &p.realistic_bounds,
                    &[&params_buf, &points, &rot, &bounds],
                    point_work,
                );
                dispatch(
                    device,
                    &mut encoder,
                    &p.realistic_scatter,
                    &[&params_buf, &points, &rot, &bounds, &grid],
                    point_work,
                );
                dispatch(
                    device,
                    &mut encoder,
                    &p.realistic_densify,
                    &[&params_buf, &grid, &dense],
                    slice_work,
                );
                // The grid is spent: the smoothed slices go into its memory.
                dispatch(
                    device,
                    &mut encoder,
                    &p.realistic_smooth,
                    &[&params_buf, &dense, &grid],
                    slice_work,
                );
                dispatch(
                    device,
                    &mut encoder,
                    &p.realistic_squeeze,
                    &[&params_buf, &grid, &image, &image_max],
                    pixel_work,
                );
                dispatch(
                    device,
                    &mut encoder,
                    &p.realistic_finalize,
                    &[&params_buf, &image, &image_max],
                    pixel_work,
                );
            }
        }
        let (result, result_bytes) = match resize {
            Some((size, _)) => {
                let bytes = (n_images * 3 * size * size) as u64 * f4;
                let out = b.clip_input.at_least(device, bytes, cap).clone();
                let work = (n_images * size * size) as u32;
                dispatch(
                    device,
                    &mut encoder,
                    &self.pipelines.resize,
                    &[&params_buf, &image, &out],
                    work,
                );
                (out, bytes)
            }
            None => (image, image_bytes),
        };
        let readback = b.readback.at_least(device, result_bytes, cap).clone();
        encoder.copy_buffer_to_buffer(&result, 0, &readback, 0, Some(result_bytes));
        self.queue.submit([encoder.finish()]);
        for scope in [memory, scope] {
            if let Some(e) = pollster::block_on(scope.pop()) {
                return Err(gpu_err(e));
            }
        }

        let slice = readback.slice(..result_bytes);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(gpu_err)?;
        rx.recv().map_err(gpu_err)?.map_err(gpu_err)?;
        out.copy_from_slice(bytemuck::cast_slice::<u8, f32>(
            &slice.get_mapped_range().map_err(gpu_err)?,
        ));
        readback.unmap();
        Ok(())
    }
}

/// Binds `buffers` at bindings 0, 1, … of the pipeline's layout and dispatches one thread per
/// work item, folded into two dimensions.
fn dispatch(
    device: &wgpu::Device,
    encoder: &mut wgpu::CommandEncoder,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[&wgpu::Buffer],
    work: u32,
) {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    let groups = work.div_ceil(WORKGROUP).max(1);
    let x = groups.min(65_535);
    let y = groups.div_ceil(x);
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: None,
        timestamp_writes: None,
    });
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, &bind_group, &[]);
    pass.dispatch_workgroups(x, y, 1);
}
