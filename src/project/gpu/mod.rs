//! The projections on the GPU: WGSL compute shaders through wgpu, one pipeline per stage with an
//! explicit bind group layout, buffers grown on demand and reused across calls. The CPU path in
//! [`super::cpu`] is the reference.

pub(crate) mod adapter;
mod buffers;
mod shader;

use super::cpu::unit_sphere;
use super::method::{DEPTH_BINS, POINTCLIP_SIZE, REALISTIC_GRID, REALISTIC_SIZE};
use super::{Backend, DepthViews, ProjectError, Projection, ViewSet};
use buffers::{Buffers, Grow};
use nalgebra::Point3;
use shader::{Params, Stage, WORKGROUP_SIZE};
use wgpu::util::DeviceExt;

/// A stage's pipeline and the layout its bind groups are made against.
struct Pipeline {
    stage: Stage,
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

impl Pipeline {
    /// Compiles `stage` against its explicit layout: a shader whose bindings differ from the
    /// stage's table fails here, not at dispatch.
    fn new(device: &wgpu::Device, stage: Stage) -> Result<Self, ProjectError> {
        let source = stage.source();
        stage
            .check_declarations(&source)
            .map_err(|reason| ProjectError::Pipeline {
                stage: stage.name,
                reason,
            })?;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(stage.name),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(stage.name),
            entries: &stage.layout_entries(),
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(stage.name),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(stage.name),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &[("WORKGROUP", f64::from(WORKGROUP_SIZE))],
                ..Default::default()
            },
            cache: None,
        });
        if let Some(source) = pollster::block_on(scope.pop()) {
            return Err(ProjectError::PipelineRejected {
                stage: stage.name,
                source,
            });
        }
        Ok(Pipeline {
            stage,
            layout,
            pipeline,
        })
    }
}

/// One compute pipeline per stage.
struct Pipelines {
    pointclip_scatter: Pipeline,
    pointclip_finalize: Pipeline,
    realistic_bounds: Pipeline,
    realistic_scatter: Pipeline,
    realistic_densify: Pipeline,
    realistic_smooth: Pipeline,
    realistic_squeeze: Pipeline,
    realistic_finalize: Pipeline,
    resize: Pipeline,
}

impl Pipelines {
    /// Every stage, each passed through `edit` first (the identity, except in tests that break a
    /// stage on purpose).
    fn new(device: &wgpu::Device, edit: &dyn Fn(Stage) -> Stage) -> Result<Self, ProjectError> {
        let make = |stage| Pipeline::new(device, edit(stage));
        Ok(Pipelines {
            pointclip_scatter: make(shader::POINTCLIP_SCATTER)?,
            pointclip_finalize: make(shader::POINTCLIP_FINALIZE)?,
            realistic_bounds: make(shader::REALISTIC_BOUNDS)?,
            realistic_scatter: make(shader::REALISTIC_SCATTER)?,
            realistic_densify: make(shader::REALISTIC_DENSIFY)?,
            realistic_smooth: make(shader::REALISTIC_SMOOTH)?,
            realistic_squeeze: make(shader::REALISTIC_SQUEEZE)?,
            realistic_finalize: make(shader::REALISTIC_FINALIZE)?,
            resize: make(shader::RESIZE)?,
        })
    }
}

/// The wgpu device and everything made once for it.
pub struct GpuProjector {
    device: wgpu::Device,
    queue: wgpu::Queue,
    backend: Backend,
    max_binding: u64,
    pipelines: Pipelines,
    buffers: Buffers,
}

/// Clouds projected per submission so that no buffer passes the device's binding limit.
fn clouds_per_submission(bytes_per_image: u64, views: usize, max_binding: u64) -> usize {
    let images = (max_binding / bytes_per_image).clamp(1, 4096) as usize;
    (images / views.max(1)).max(1)
}

const F32: u64 = 4;

/// The inputs of one submission, on the host.
struct Work {
    /// Points with their cloud's index in w; pointclip clouds normalised exactly as the CPU path
    /// does it (the centroid is a double-precision sum).
    points: Vec<[f32; 4]>,
    /// 3 rows per view.
    rotations: Vec<[f32; 4]>,
    params: Params,
}

impl Work {
    fn new(
        projection: Projection,
        views: &ViewSet,
        clouds: &[&[Point3<f32>]],
        resize: Option<(usize, bool)>,
    ) -> Self {
        let mut points = Vec::with_capacity(clouds.iter().map(|c| c.len()).sum());
        for (k, cloud) in clouds.iter().enumerate() {
            let tag = f32::from_bits(k as u32);
            let pack = |p: &Point3<f32>| [p.x, p.y, p.z, tag];
            match projection {
                Projection::PointClip => points.extend(unit_sphere(cloud).iter().map(pack)),
                Projection::Realistic => points.extend(cloud.iter().map(pack)),
            }
        }
        let rotations = views
            .views
            .iter()
            .flat_map(|v| v.rotation().map(|r| [r[0], r[1], r[2], 0.0]))
            .collect();
        let (out_size, normalize) = resize.unwrap_or((0, false));
        let params = Params {
            n_points: points.len() as u32,
            n_views: views.len() as u32,
            n_images: (clouds.len() * views.len()) as u32,
            in_size: projection.image_size() as u32,
            out_size: out_size as u32,
            normalize: normalize as u32,
            _pad0: 0,
            _pad1: 0,
        };
        Work {
            points,
            rotations,
            params,
        }
    }

    fn images(&self) -> usize {
        self.params.n_images as usize
    }

    /// Threads of the stages that run one per (view, point) pair.
    fn point_work(&self) -> u32 {
        self.params.n_points * self.params.n_views
    }
}

/// One command encoder being filled: the device, the pipelines and the uploaded inputs.
struct Encoding<'a> {
    device: &'a wgpu::Device,
    pipelines: &'a Pipelines,
    buffers: &'a mut Buffers,
    cap: u64,
    encoder: wgpu::CommandEncoder,
    params: wgpu::Buffer,
    points: wgpu::Buffer,
    rotations: wgpu::Buffer,
}

impl Encoding<'_> {
    fn buffer(&mut self, which: fn(&mut Buffers) -> &mut Grow, bytes: u64) -> wgpu::Buffer {
        which(self.buffers).at_least(self.device, bytes, self.cap)
    }

    /// Binds `buffers` by name (they must be the stage's bindings, in order) and dispatches one
    /// thread per work item, folded into two dimensions.
    fn dispatch(
        &mut self,
        pipeline: &Pipeline,
        buffers: &[(&str, &wgpu::Buffer)],
        work: u32,
    ) -> Result<(), ProjectError> {
        let stage = &pipeline.stage;
        let bind_group = named_bind_group(
            self.device,
            &pipeline.layout,
            stage.name,
            stage.bindings,
            buffers,
        )
        .map_err(|reason| ProjectError::Pipeline {
            stage: stage.name,
            reason,
        })?;
        let groups = work.div_ceil(WORKGROUP_SIZE).max(1);
        let x = groups.min(65_535);
        let y = groups.div_ceil(x);
        let mut pass = self
            .encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(stage.name),
                timestamp_writes: None,
            });
        pass.set_pipeline(&pipeline.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(x, y, 1);
        Ok(())
    }

    /// §2: scatter counts and Σ 1/z' per pixel, then the harmonic mean into `image`.
    fn pointclip(&mut self, work: &Work, image: &wgpu::Buffer) -> Result<(), ProjectError> {
        let pixels = work.images() * POINTCLIP_SIZE * POINTCLIP_SIZE;
        let bytes = pixels as u64 * F32;
        let counts = self.buffer(|b| &mut b.counts_or_grid, bytes);
        let inv_depth = self.buffer(|b| &mut b.inv_depth_or_dense, bytes);
        self.encoder.clear_buffer(&counts, 0, Some(bytes));
        self.encoder.clear_buffer(&inv_depth, 0, Some(bytes));
        let (params, points, rotations) = (
            self.params.clone(),
            self.points.clone(),
            self.rotations.clone(),
        );
        let p = self.pipelines;
        self.dispatch(
            &p.pointclip_scatter,
            &[
                ("params", &params),
                ("points", &points),
                ("rotations", &rotations),
                ("counts", &counts),
                ("inv_depth", &inv_depth),
            ],
            work.point_work(),
        )?;
        self.dispatch(
            &p.pointclip_finalize,
            &[
                ("params", &params),
                ("counts", &counts),
                ("inv_depth", &inv_depth),
                ("image", image),
            ],
            pixels as u32,
        )
    }

    /// §3: bounds, scatter-max into the grid, densify, smooth, squeeze and invert into `image`.
    fn realistic(
        &mut self,
        work: &Work,
        queue: &wgpu::Queue,
        image: &wgpu::Buffer,
    ) -> Result<(), ProjectError> {
        let n_images = work.images();
        let grid_bytes = (n_images * DEPTH_BINS * REALISTIC_GRID * REALISTIC_GRID) as u64 * F32;
        let slices = n_images * DEPTH_BINS * REALISTIC_SIZE * REALISTIC_SIZE;
        let pixels = (n_images * REALISTIC_SIZE * REALISTIC_SIZE) as u32;
        let grid = self.buffer(|b| &mut b.counts_or_grid, grid_bytes);
        let dense = self.buffer(|b| &mut b.inv_depth_or_dense, slices as u64 * F32);
        let bounds = self.buffer(|b| &mut b.bounds, n_images as u64 * 6 * F32);
        let image_max = self.buffer(|b| &mut b.image_max, n_images as u64 * F32);
        // Empty boxes: min = the largest ordered value, max = the smallest.
        let empty: Vec<u32> = (0..n_images)
            .flat_map(|_| [u32::MAX, u32::MAX, u32::MAX, 0, 0, 0])
            .collect();
        queue.write_buffer(&bounds, 0, bytemuck::cast_slice(&empty));
        self.encoder.clear_buffer(&grid, 0, Some(grid_bytes));
        self.encoder
            .clear_buffer(&image_max, 0, Some(n_images as u64 * F32));
        let (params, points, rotations) = (
            self.params.clone(),
            self.points.clone(),
            self.rotations.clone(),
        );
        let p = self.pipelines;
        self.dispatch(
            &p.realistic_bounds,
            &[
                ("params", &params),
                ("points", &points),
                ("rotations", &rotations),
                ("bounds", &bounds),
            ],
            work.point_work(),
        )?;
        self.dispatch(
            &p.realistic_scatter,
            &[
                ("params", &params),
                ("points", &points),
                ("rotations", &rotations),
                ("bounds", &bounds),
                ("grid", &grid),
            ],
            work.point_work(),
        )?;
        self.dispatch(
            &p.realistic_densify,
            &[("params", &params), ("grid", &grid), ("dense", &dense)],
            slices as u32,
        )?;
        // The grid is spent: the smoothed slices go into its memory.
        let smoothed = &grid;
        self.dispatch(
            &p.realistic_smooth,
            &[
                ("params", &params),
                ("dense", &dense),
                ("smoothed", smoothed),
            ],
            slices as u32,
        )?;
        self.dispatch(
            &p.realistic_squeeze,
            &[
                ("params", &params),
                ("smoothed", smoothed),
                ("image", image),
                ("image_max", &image_max),
            ],
            pixels,
        )?;
        self.dispatch(
            &p.realistic_finalize,
            &[
                ("params", &params),
                ("image", image),
                ("image_max", &image_max),
            ],
            pixels,
        )
    }

    /// The CLIP input `[images, 3, size, size]` of `image`, and its size in bytes.
    fn resize(
        &mut self,
        work: &Work,
        image: &wgpu::Buffer,
        size: usize,
    ) -> Result<(wgpu::Buffer, u64), ProjectError> {
        let bytes = (work.images() * 3 * size * size) as u64 * F32;
        let clip_input = self.buffer(|b| &mut b.clip_input, bytes);
        let (params, p) = (self.params.clone(), self.pipelines);
        self.dispatch(
            &p.resize,
            &[
                ("params", &params),
                ("image", image),
                ("clip_input", &clip_input),
            ],
            (work.images() * size * size) as u32,
        )?;
        Ok((clip_input, bytes))
    }
}

impl GpuProjector {
    /// Opens the best adapter wgpu finds (a real GPU before a software one); with
    /// `allow_software` false, a software rasteriser (lavapipe, llvmpipe) does not count.
    pub fn new(allow_software: bool) -> Result<Self, ProjectError> {
        Self::with_stages(allow_software, &|stage| stage)
    }

    /// [`GpuProjector::new`] with every stage passed through `edit` before it is compiled.
    fn with_stages(
        allow_software: bool,
        edit: &dyn Fn(Stage) -> Stage,
    ) -> Result<Self, ProjectError> {
        let adapter = adapter::best(allow_software)?;
        let backend = adapter::describe(&adapter);
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
        .map_err(|source| ProjectError::OpenDevice {
            adapter: backend.to_string(),
            source,
        })?;
        // Errors are captured by scopes and returned; anything uncaptured is logged, never a panic.
        device.on_uncaptured_error(std::sync::Arc::new(|e| log::error!("GPU error: {e}")));
        let pipelines = Pipelines::new(&device, edit)?;
        Ok(GpuProjector {
            pipelines,
            device,
            queue,
            backend,
            max_binding: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
            buffers: Buffers::new(),
        })
    }

    /// The adapter in use.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Depth images of each cloud.
    pub fn depth_views(
        &mut self,
        projection: Projection,
        views: &ViewSet,
        clouds: &[&[Point3<f32>]],
    ) -> Result<Vec<DepthViews>, ProjectError> {
        let side = projection.image_size();
        let per_cloud = views.len() * side * side;
        let mut flat = vec![0f32; clouds.len() * per_cloud];
        let chunk = self.chunk(projection, views.len(), None);
        for (clouds, out) in clouds.chunks(chunk).zip(flat.chunks_mut(chunk * per_cloud)) {
            self.submit(projection, views, clouds, None, out)?;
        }
        Ok(flat
            .chunks(per_cloud)
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
        let chunk = self.chunk(projection, views.len(), Some(size));
        for (clouds, out) in clouds.chunks(chunk).zip(out.chunks_mut(chunk * per_cloud)) {
            self.submit(projection, views, clouds, Some((size, normalize)), out)?;
        }
        Ok(out)
    }

    fn chunk(&self, projection: Projection, views: usize, size: Option<usize>) -> usize {
        let grid = match projection {
            Projection::PointClip => POINTCLIP_SIZE * POINTCLIP_SIZE,
            Projection::Realistic => DEPTH_BINS * REALISTIC_GRID * REALISTIC_GRID,
        } as u64
            * F32;
        let out = size.map_or(0, |s| 3 * s * s) as u64 * F32;
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
        let work = Work::new(projection, views, clouds, resize);
        if (work.points.len() as u64) * 16 > self.max_binding {
            return Err(ProjectError::TooManyPoints {
                points: work.points.len(),
                limit: self.max_binding,
            });
        }
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let encoded = self.encode(projection, &work, resize);
        // Scopes are popped in reverse order of pushing, whatever happened in between.
        let errors = [memory, validation].map(|scope| pollster::block_on(scope.pop()));
        if let Some(source) = errors.into_iter().flatten().next() {
            return Err(ProjectError::Dispatch { source });
        }
        let (readback, bytes) = encoded?;
        self.read_back(&readback, bytes, out)
    }

    /// Uploads the inputs, records every stage and the copy into the readback buffer, and
    /// submits; returns the readback buffer and the bytes to read.
    fn encode(
        &mut self,
        projection: Projection,
        work: &Work,
        resize: Option<(usize, bool)>,
    ) -> Result<(wgpu::Buffer, u64), ProjectError> {
        let (device, queue, cap) = (&self.device, &self.queue, self.max_binding);
        let b = &mut self.buffers;
        let points = b
            .points
            .at_least(device, work.points.len() as u64 * 16, cap);
        let rotations = b
            .rotations
            .at_least(device, work.rotations.len() as u64 * 16, cap);
        queue.write_buffer(&points, 0, bytemuck::cast_slice(&work.points));
        queue.write_buffer(&rotations, 0, bytemuck::cast_slice(&work.rotations));
        let side = projection.image_size();
        let image_bytes = (work.images() * side * side) as u64 * F32;
        let image = b.image.at_least(device, image_bytes, cap);
        let mut e = Encoding {
            device,
            pipelines: &self.pipelines,
            buffers: b,
            cap,
            encoder: device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("project"),
            }),
            params: device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: bytemuck::bytes_of(&work.params),
                usage: wgpu::BufferUsages::UNIFORM,
            }),
            points,
            rotations,
        };
        match projection {
            Projection::PointClip => e.pointclip(work, &image)?,
            Projection::Realistic => e.realistic(work, queue, &image)?,
        }
        let (result, bytes) = match resize {
            Some((size, _)) => e.resize(work, &image, size)?,
            None => (image, image_bytes),
        };
        let readback = e.buffer(|b| &mut b.readback, bytes);
        e.encoder
            .copy_buffer_to_buffer(&result, 0, &readback, 0, Some(bytes));
        queue.submit([e.encoder.finish()]);
        Ok((readback, bytes))
    }

    /// Waits for the submission and copies `bytes` of `readback` into `out`.
    fn read_back(
        &self,
        readback: &wgpu::Buffer,
        bytes: u64,
        out: &mut [f32],
    ) -> Result<(), ProjectError> {
        let failed = |e: &dyn std::fmt::Display| ProjectError::Readback {
            reason: e.to_string(),
        };
        let slice = readback.slice(..bytes);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| failed(&e))?;
        rx.recv().map_err(|e| failed(&e))?.map_err(|e| failed(&e))?;
        {
            let mapped = slice.get_mapped_range().map_err(|e| failed(&e))?;
            out.copy_from_slice(bytemuck::cast_slice::<u8, f32>(&mapped));
        }
        readback.unmap();
        Ok(())
    }
}

/// A bind group of `buffers` for a layout whose bindings are `declared`: the buffers must be
/// those bindings by name and in order (a misplaced buffer is an error, not a wrong image). The
/// one binding check of the projection stages and the vision tower's kernels.
pub(crate) fn named_bind_group<T>(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    label: &str,
    declared: &[(&str, T)],
    buffers: &[(&str, &wgpu::Buffer)],
) -> Result<wgpu::BindGroup, String> {
    let names: Vec<&str> = declared.iter().map(|(n, _)| *n).collect();
    let given: Vec<&str> = buffers.iter().map(|(n, _)| *n).collect();
    if names != given {
        return Err(format!("bound {given:?}, the bindings are {names:?}"));
    }
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(i, (_, b))| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    Ok(device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &entries,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu_tests_skipped() -> bool {
        std::env::var("CALIP3D_NO_GPU_TESTS").as_deref() == Ok("1")
    }

    #[test]
    fn a_shader_that_does_not_compile_is_an_error() {
        if gpu_tests_skipped() {
            return;
        }
        let broken = |stage: Stage| match stage.name {
            "resize" => Stage {
                sources: &["this is not WGSL"],
                bindings: &[],
                ..stage
            },
            _ => stage,
        };
        match GpuProjector::with_stages(true, &broken) {
            Err(ProjectError::PipelineRejected { stage, .. }) => assert_eq!(stage, "resize"),
            Err(e) => panic!("expected a rejected pipeline, got: {e}"),
            Ok(_) => panic!("a broken shader made a pipeline"),
        }
    }

    #[test]
    fn a_binding_that_differs_from_the_shader_fails_at_pipeline_creation() {
        if gpu_tests_skipped() {
            return;
        }
        // The table says `counts` is read-only; the shader writes it.
        let wrong = |stage: Stage| match stage.name {
            "pointclip_scatter" => Stage {
                bindings: &[
                    ("params", shader::Access::Uniform),
                    ("points", shader::Access::Read),
                    ("rotations", shader::Access::Read),
                    ("counts", shader::Access::Read),
                    ("inv_depth", shader::Access::ReadWrite),
                ],
                ..stage
            },
            _ => stage,
        };
        match GpuProjector::with_stages(true, &wrong) {
            Err(ProjectError::Pipeline { stage, reason }) => {
                assert_eq!(stage, "pointclip_scatter");
                assert!(reason.contains("counts"), "{reason}");
            }
            Err(e) => panic!("expected a pipeline error, got: {e}"),
            Ok(_) => panic!("a wrong binding made a pipeline"),
        }
    }
}
