//! CLIP's vision tower on the GPU: our own WGSL compute kernels on wgpu (Vulkan, Metal, DX12,
//! Mesa's lavapipe in CI), computing what [`super::vision::VisionTower`] computes with candle,
//! which stays the reference the GPU path is tested against.
//!
//! Kernels (`kernels.rs` and the `.wgsl` files beside it): a tiled matrix product with workgroup memory whose epilogue fuses the
//! bias, the activation and the residual add; layer norm; attention with its softmax; and the
//! two element-wise halves of the patch embedding. Weights are uploaded once (`weights.rs`); each
//! batch size gets a plan (`plan.rs`) of activation buffers and recorded dispatches on its first call,
//! replayed by later calls, so a robot's loop creates nothing after its first call. The result
//! is read back once per call, as candle CPU tensors.
//!
//! Precision: f32 storage and arithmetic is the parity mode. In the f16 mode (adapters with
//! `SHADER_F16`) weights and activations are stored as f16 and every sum (products, norms,
//! softmax) accumulates in f32.

mod device;
mod kernels;
mod plan;
mod weights;

use super::config::VisionConfig;
use super::vision::ImageFeatures;
use super::weights::Weights;
use super::ModelError;
use crate::project::Backend;
use candle_core::{Device, Tensor};
use device::GpuDevice;
use kernels::Pipelines;
use plan::{Plan, Shape};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use weights::TowerWeights;

/// Plans kept at once: a pipeline uses one or two batch sizes (full chunks and the last one).
const PLANS_KEPT: usize = 4;
/// The largest batch one plan encodes, whatever the adapter's limits allow.
const MAX_BATCH: usize = 256;

/// What can go wrong on the GPU encoder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// No adapter is usable.
    #[error("no GPU for the vision tower: {reason}")]
    NoAdapter {
        /// Why (the adapters skipped, or that none exists).
        reason: String,
    },
    /// The adapter refused to open a device.
    #[error("cannot open {adapter} for the vision tower: {reason}")]
    OpenDevice {
        /// The adapter.
        adapter: String,
        /// The driver's reason.
        reason: String,
    },
    /// A kernel did not compile or was bound wrongly.
    #[error("GPU kernel `{kernel}`: {reason}")]
    Kernel {
        /// The kernel.
        kernel: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Running the tower failed on the device.
    #[error("GPU vision tower on {adapter}: {reason}")]
    Run {
        /// The adapter.
        adapter: String,
        /// The device's error.
        reason: String,
    },
    /// The model does not fit the kernels.
    #[error("the GPU vision tower cannot run this model: {0}")]
    Unsupported(String),
}

/// The vision tower on a wgpu device. `Send + Sync`; calls are serialised on the device.
pub struct GpuVisionTower {
    gpu: GpuDevice,
    config: VisionConfig,
    embed: usize,
    weights: TowerWeights,
    pipelines: Pipelines,
    plans: Mutex<Vec<Plan>>,
    images: AtomicU64,
    plans_built: AtomicU64,
}

impl GpuVisionTower {
    /// Opens the best adapter (a software rasteriser only with `allow_software`), compiles the
    /// kernels and uploads the weights. With `f16` and an adapter that has `SHADER_F16`,
    /// weights and activations are stored as f16 ([`Self::is_f16`] says whether it happened).
    pub fn new(
        w: &Weights,
        config: &VisionConfig,
        embed: usize,
        allow_software: bool,
        f16: bool,
    ) -> Result<Self, ModelError> {
        let tower = &config.tower;
        let head_dim = tower.hidden_size / tower.num_attention_heads;
        if config.num_patches() + 1 > kernels::MAX_TOKENS || head_dim > kernels::MAX_HEAD_DIM {
            return Err(GpuError::Unsupported(format!(
                "{} tokens of head width {head_dim}; the attention kernel holds at most {} tokens \
                 of width {}",
                config.num_patches() + 1,
                kernels::MAX_TOKENS,
                kernels::MAX_HEAD_DIM
            ))
            .into());
        }
        let gpu = GpuDevice::open(allow_software, f16)?;
        let pipelines = Pipelines::new(&gpu.device, gpu.f16)?;
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let weights = TowerWeights::upload(&gpu, w, config)?;
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Run {
                adapter: gpu.backend.to_string(),
                reason: format!("uploading the weights: {e}"),
            }
            .into());
        }
        log::info!(
            "vision tower on {}: {} storage, {:.1} MB of weights uploaded",
            gpu.backend,
            if gpu.f16 { "f16" } else { "f32" },
            weights.bytes as f64 / 1e6
        );
        Ok(GpuVisionTower {
            gpu,
            config: config.clone(),
            embed,
            weights,
            pipelines,
            plans: Mutex::new(Vec::new()),
            images: AtomicU64::new(0),
            plans_built: AtomicU64::new(0),
        })
    }

    /// The adapter the tower runs on.
    pub fn backend(&self) -> &Backend {
        &self.gpu.backend
    }

    /// Whether weights and activations are stored as f16.
    pub fn is_f16(&self) -> bool {
        self.gpu.f16
    }

    /// Images encoded on the GPU so far (tests use it to prove where encoding ran).
    pub fn images_encoded(&self) -> u64 {
        self.images.load(Ordering::Relaxed)
    }

    /// Plans (activation buffers, bind groups) built so far: one per new batch size, so a loop of
    /// same-sized calls builds one in all.
    pub fn plans_built(&self) -> u64 {
        self.plans_built.load(Ordering::Relaxed)
    }

    /// The most images one forward pass takes: bounded by the adapter's largest storage binding
    /// (the widest activation of the batch must fit one) and by 256.
    pub fn max_batch(&self) -> usize {
        let per_image = Shape::new(&self.config, self.embed, 1).largest_per_image() as u64 * 4;
        ((self.gpu.max_binding / per_image.max(1)) as usize).clamp(1, MAX_BATCH)
    }

    /// Encodes `pixels` (`[B, channels, S, S]`, f32, B ≤ [`Self::max_batch`]).
    pub fn forward(&self, pixels: &Tensor) -> Result<ImageFeatures, ModelError> {
        let c = &self.config;
        let (s, ch) = (c.image_size, c.num_channels);
        let dims = pixels.dims();
        if dims.len() != 4 || dims[1] != ch || dims[2] != s || dims[3] != s {
            return Err(ModelError::Input(format!(
                "images must be [B, {ch}, {s}, {s}], got {dims:?}"
            )));
        }
        let b = dims[0];
        if b > self.max_batch() {
            return Err(ModelError::Input(format!(
                "{b} images in one GPU pass; at most {}",
                self.max_batch()
            )));
        }
        let p = c.num_patches();
        if b == 0 {
            return Ok(ImageFeatures {
                global: Tensor::zeros((0, self.embed), candle_core::DType::F32, &Device::Cpu)?,
                spatial: Tensor::zeros((0, p, self.embed), candle_core::DType::F32, &Device::Cpu)?,
            });
        }
        let data = pixels.flatten_all()?.to_vec1::<f32>()?;
        let tokens = self.run(b, &data)?;
        let t = p + 1;
        let all = Tensor::from_vec(tokens, (b, t, self.embed), &Device::Cpu)?;
        self.images.fetch_add(b as u64, Ordering::Relaxed);
        Ok(ImageFeatures {
            global: all.narrow(1, 0, 1)?.squeeze(1)?,
            spatial: all.narrow(1, 1, p)?,
        })
    }

    /// Runs the plan of batch size `b` on `pixels`; returns the projected tokens `[b·T·C]`.
    fn run(&self, b: usize, pixels: &[f32]) -> Result<Vec<f32>, GpuError> {
        let failed = |reason: String| GpuError::Run {
            adapter: self.gpu.backend.to_string(),
            reason,
        };
        let device = &self.gpu.device;
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let at = match plans.iter().position(|p| p.shape.batch == b) {
            Some(i) => Ok(i),
            None => {
                if plans.len() >= PLANS_KEPT {
                    plans.remove(0);
                }
                let shape = Shape::new(&self.config, self.embed, b);
                Plan::new(&self.gpu, &self.pipelines, &self.weights, shape).map(|plan| {
                    log::debug!("vision tower: new plan for batches of {b}");
                    self.plans_built.fetch_add(1, Ordering::Relaxed);
                    plans.push(plan);
                    plans.len() - 1
                })
            }
        };
        if let Ok(i) = at {
            let plan = &plans[i];
            self.gpu
                .queue
                .write_buffer(&plan.pixels, 0, bytemuck::cast_slice(pixels));
            self.gpu.queue.submit([plan.record(device)]);
        }
        // Scopes are popped in reverse order of pushing, whatever happened in between.
        let errors = [memory, validation].map(|scope| pollster::block_on(scope.pop()));
        if let Some(e) = errors.into_iter().flatten().next() {
            // A plan that failed to build or run is not kept.
            if let Ok(i) = at {
                plans.remove(i);
            }
            return Err(failed(e.to_string()));
        }
        let plan = &plans[at?];
        let slice = plan.readback.slice(..plan.readback_bytes);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| failed(e.to_string()))?;
        rx.recv()
            .map_err(|e| failed(e.to_string()))?
            .map_err(|e| failed(e.to_string()))?;
        let values = plan.shape.batch * plan.shape.tokens * plan.shape.embed;
        let out = {
            let mapped = slice
                .get_mapped_range()
                .map_err(|e| failed(e.to_string()))?;
            if self.gpu.f16 {
                mapped[..values * 2]
                    .chunks_exact(2)
                    .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect()
            } else {
                bytemuck::cast_slice::<u8, f32>(&mapped[..values * 4]).to_vec()
            }
        };
        plan.readback.unmap();
        Ok(out)
    }
}
