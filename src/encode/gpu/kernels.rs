//! The WGSL kernels of the GPU vision tower and their explicit bind group layouts: each kernel
//! is a table of named bindings, from which its layout is made and against which its bind groups
//! are checked, so that a shader and its Rust caller cannot drift apart silently.

use super::GpuError;

/// How a kernel uses a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// `var<uniform>`: the kernel's parameters.
    Uniform,
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// One kernel: its WGSL files (after the element-type preamble) and bindings in binding order.
pub(super) struct Kernel {
    pub name: &'static str,
    pub sources: &'static [&'static str],
    pub bindings: &'static [(&'static str, Access)],
}

const EMBED: &str = include_str!("embed.wgsl");

pub(super) const GEMM: Kernel = Kernel {
    name: "gemm",
    sources: &[include_str!("gemm.wgsl")],
    bindings: &[
        ("params", Access::Uniform),
        ("x", Access::Read),
        ("w", Access::Read),
        ("bias", Access::Read),
        ("y", Access::ReadWrite),
    ],
};
pub(super) const LAYER_NORM: Kernel = Kernel {
    name: "layer_norm",
    sources: &[include_str!("layer_norm.wgsl")],
    bindings: &[
        ("params", Access::Uniform),
        ("x", Access::Read),
        ("gamma", Access::Read),
        ("beta", Access::Read),
        ("y", Access::ReadWrite),
    ],
};
pub(super) const ATTENTION: Kernel = Kernel {
    name: "attention",
    sources: &[include_str!("attention.wgsl")],
    bindings: &[
        ("params", Access::Uniform),
        ("qkv", Access::Read),
        ("ctx", Access::ReadWrite),
    ],
};
pub(super) const PATCHIFY: Kernel = Kernel {
    name: "patchify",
    sources: &[EMBED, include_str!("patchify.wgsl")],
    bindings: &[
        ("params", Access::Uniform),
        ("pixels", Access::Read),
        ("tiles", Access::ReadWrite),
    ],
};
pub(super) const ASSEMBLE: Kernel = Kernel {
    name: "assemble",
    sources: &[EMBED, include_str!("assemble.wgsl")],
    bindings: &[
        ("params", Access::Uniform),
        ("class_embedding", Access::Read),
        ("patches", Access::Read),
        ("position_embedding", Access::Read),
        ("hidden", Access::ReadWrite),
    ],
};

/// Largest token count and head width the attention kernel's workgroup memory holds (the
/// `MAX_TOKENS` and `MAX_HEAD_DIM` of attention.wgsl).
pub(super) const MAX_TOKENS: usize = 1024;
pub(super) const MAX_HEAD_DIM: usize = 256;

/// Threads per workgroup of the element-wise kernels (patchify, assemble).
pub(super) const ELEMENTWISE_THREADS: u32 = 256;

/// A compiled kernel and the layout its bind groups are made against.
pub(super) struct Pipeline {
    pub kernel: &'static Kernel,
    pub layout: wgpu::BindGroupLayout,
    pub pipeline: wgpu::ComputePipeline,
}

impl Pipeline {
    /// Compiles `kernel` with the storage type `Store` set to f32 or, with `f16`, to f16.
    pub fn new(
        device: &wgpu::Device,
        kernel: &'static Kernel,
        f16: bool,
    ) -> Result<Self, GpuError> {
        let mut source = String::from(if f16 {
            "enable f16;\nalias Store = f16;\n"
        } else {
            "alias Store = f32;\n"
        });
        for s in kernel.sources {
            source.push_str(s);
        }
        let entries: Vec<wgpu::BindGroupLayoutEntry> = kernel
            .bindings
            .iter()
            .enumerate()
            .map(|(i, (_, access))| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match access {
                        Access::Uniform => wgpu::BufferBindingType::Uniform,
                        Access::Read => wgpu::BufferBindingType::Storage { read_only: true },
                        Access::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel.name),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(kernel.name),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(kernel.name),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.name),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Kernel {
                kernel: kernel.name,
                reason: e.to_string(),
            });
        }
        Ok(Pipeline {
            kernel,
            layout,
            pipeline,
        })
    }

    /// A bind group of `buffers`, which must be the kernel's bindings by name and in order.
    pub fn bind(
        &self,
        device: &wgpu::Device,
        buffers: &[(&str, &wgpu::Buffer)],
    ) -> Result<wgpu::BindGroup, GpuError> {
        crate::project::gpu::named_bind_group(
            device,
            &self.layout,
            self.kernel.name,
            self.kernel.bindings,
            buffers,
        )
        .map_err(|reason| GpuError::Kernel {
            kernel: self.kernel.name,
            reason,
        })
    }
}

/// The tower's pipelines, compiled once per device and precision.
pub(super) struct Pipelines {
    pub gemm: Pipeline,
    pub layer_norm: Pipeline,
    pub attention: Pipeline,
    pub patchify: Pipeline,
    pub assemble: Pipeline,
}

impl Pipelines {
    pub fn new(device: &wgpu::Device, f16: bool) -> Result<Self, GpuError> {
        Ok(Pipelines {
            gemm: Pipeline::new(device, &GEMM, f16)?,
            layer_norm: Pipeline::new(device, &LAYER_NORM, f16)?,
            attention: Pipeline::new(device, &ATTENTION, f16)?,
            patchify: Pipeline::new(device, &PATCHIFY, f16)?,
            assemble: Pipeline::new(device, &ASSEMBLE, f16)?,
        })
    }
}
