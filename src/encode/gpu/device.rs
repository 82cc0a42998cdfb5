//! Opening the wgpu device the vision tower runs on, through the projection's adapter search
//! (Vulkan first, no window system; a software rasteriser only when allowed).

use super::GpuError;
use crate::project::gpu::adapter;
use crate::project::Backend;

/// A wgpu device and queue with what the tower needs to know about them.
pub(super) struct GpuDevice {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub backend: Backend,
    /// Largest storage buffer binding, in bytes.
    pub max_binding: u64,
    /// Whether `SHADER_F16` was enabled.
    pub f16: bool,
}

impl GpuDevice {
    /// Opens the best adapter (a software one only with `allow_software`), with f16 shaders when
    /// `want_f16` and the adapter has them.
    pub fn open(allow_software: bool, want_f16: bool) -> Result<Self, GpuError> {
        let adapter = adapter::best(allow_software).map_err(|e| GpuError::NoAdapter {
            reason: e.to_string(),
        })?;
        let backend = adapter::describe(&adapter);
        let limits = adapter.limits();
        let f16 = want_f16 && adapter.features().contains(wgpu::Features::SHADER_F16);
        let required_limits = wgpu::Limits {
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            ..wgpu::Limits::downlevel_defaults()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("calip3d vision tower"),
            required_features: if f16 {
                wgpu::Features::SHADER_F16
            } else {
                wgpu::Features::empty()
            },
            required_limits,
            ..Default::default()
        }))
        .map_err(|e| GpuError::OpenDevice {
            adapter: backend.to_string(),
            reason: e.to_string(),
        })?;
        // Errors are captured by scopes and returned; anything uncaptured is logged, never a panic.
        device.on_uncaptured_error(std::sync::Arc::new(|e| log::error!("GPU error: {e}")));
        Ok(GpuDevice {
            device,
            queue,
            backend,
            max_binding: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
            f16,
        })
    }
}
