//! A batch size's plan: the activation buffers, every dispatch's parameters and bind group, made
//! on the first call with that batch size and replayed by every later one, so that a loop of
//! calls creates no pipeline, buffer or bind group after its first.

use super::device::GpuDevice;
use super::kernels::{Pipeline, Pipelines, ELEMENTWISE_THREADS};
use super::weights::TowerWeights;
use super::GpuError;
use crate::encode::config::{Activation, VisionConfig};
use wgpu::util::DeviceExt;

/// The sizes of one forward pass.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    pub batch: usize,
    pub channels: usize,
    pub image: usize,
    pub patch: usize,
    pub grid: usize,
    /// Tokens per image: the patches and the class token.
    pub tokens: usize,
    pub width: usize,
    pub heads: usize,
    pub inner: usize,
    pub embed: usize,
    pub act: u32,
    pub eps: f32,
}

impl Shape {
    pub fn new(config: &VisionConfig, embed: usize, batch: usize) -> Self {
        let grid = config.grid();
        Shape {
            batch,
            channels: config.num_channels,
            image: config.image_size,
            patch: config.patch_size,
            grid,
            tokens: grid * grid + 1,
            width: config.tower.hidden_size,
            heads: config.tower.num_attention_heads,
            inner: config.tower.intermediate_size,
            embed,
            act: match config.tower.hidden_act {
                Activation::QuickGelu => 1,
                Activation::Gelu => 2,
            },
            eps: config.tower.layer_norm_eps as f32,
        }
    }

    /// Values of the largest activation of one image (the widest of the tensors a plan holds).
    pub fn largest_per_image(&self) -> usize {
        let t = self.tokens;
        [
            self.channels * self.image * self.image,
            t * 3 * self.width,
            t * self.inner,
            t * self.embed,
        ]
        .into_iter()
        .max()
        .unwrap_or(1)
    }

    /// Rows of the token matrices: tokens of every image.
    fn rows(&self) -> usize {
        self.batch * self.tokens
    }

    fn patch_rows(&self) -> usize {
        self.batch * self.grid * self.grid
    }
}

/// One recorded dispatch.
struct Step {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    groups: (u32, u32),
}

/// The buffers and dispatches of one batch size.
pub(super) struct Plan {
    pub shape: Shape,
    /// `[batch, channels, image, image]`, f32, written by the host each call.
    pub pixels: wgpu::Buffer,
    /// `[batch·tokens, embed]` projected tokens, in the storage type.
    pub tokens: wgpu::Buffer,
    /// Mappable copy of `tokens`.
    pub readback: wgpu::Buffer,
    pub readback_bytes: u64,
    steps: Vec<Step>,
}

/// `groups` workgroups folded into two dimensions within the per-dimension limit; the kernels
/// rebuild the linear index from `num_workgroups`.
fn fold(groups: usize) -> (u32, u32) {
    let groups = groups.max(1) as u32;
    let x = groups.min(65_535);
    (x, groups.div_ceil(x))
}

/// Records the dispatches of a plan.
struct Recorder<'a> {
    gpu: &'a GpuDevice,
    pipelines: &'a Pipelines,
    steps: Vec<Step>,
}

impl Recorder<'_> {
    fn step(
        &mut self,
        pipeline: &Pipeline,
        params: &[u32],
        buffers: &[(&str, &wgpu::Buffer)],
        groups: (u32, u32),
    ) -> Result<(), GpuError> {
        let uniform = self
            .gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(pipeline.kernel.name),
                contents: bytemuck::cast_slice(params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut all = vec![("params", &uniform)];
        all.extend_from_slice(buffers);
        let bind_group = pipeline.bind(&self.gpu.device, &all)?;
        self.steps.push(Step {
            pipeline: pipeline.pipeline.clone(),
            bind_group,
            groups,
        });
        Ok(())
    }

    /// `y = act(x·wᵀ + bias)`, or `y += …` when `accumulate` (the residual connection).
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &mut self,
        (m, n, k): (usize, usize, usize),
        x: &wgpu::Buffer,
        w: &wgpu::Buffer,
        bias: Option<&wgpu::Buffer>,
        y: &wgpu::Buffer,
        act: u32,
        accumulate: bool,
        no_bias: &wgpu::Buffer,
    ) -> Result<(), GpuError> {
        let params = [
            m as u32,
            n as u32,
            k as u32,
            act,
            accumulate as u32,
            bias.is_some() as u32,
            0,
            0,
        ];
        let groups = (n.div_ceil(64) as u32, m.div_ceil(64) as u32);
        let p = self.pipelines;
        self.step(
            &p.gemm,
            &params,
            &[
                ("x", x),
                ("w", w),
                ("bias", bias.unwrap_or(no_bias)),
                ("y", y),
            ],
            groups,
        )
    }

    fn layer_norm(
        &mut self,
        shape: &Shape,
        x: &wgpu::Buffer,
        (gamma, beta): (&wgpu::Buffer, &wgpu::Buffer),
        y: &wgpu::Buffer,
    ) -> Result<(), GpuError> {
        let params = [
            shape.rows() as u32,
            shape.width as u32,
            shape.eps.to_bits(),
            0,
        ];
        let p = self.pipelines;
        self.step(
            &p.layer_norm,
            &params,
            &[("x", x), ("gamma", gamma), ("beta", beta), ("y", y)],
            fold(shape.rows()),
        )
    }
}

/// A storage buffer for `values` values of `elem` bytes.
fn activation(
    gpu: &GpuDevice,
    label: &str,
    values: usize,
    elem: usize,
    extra: wgpu::BufferUsages,
) -> wgpu::Buffer {
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: ((values * elem) as u64).next_multiple_of(4).max(16),
        usage: wgpu::BufferUsages::STORAGE | extra,
        mapped_at_creation: false,
    })
}

impl Plan {
    pub fn new(
        gpu: &GpuDevice,
        pipelines: &Pipelines,
        weights: &TowerWeights,
        shape: Shape,
    ) -> Result<Self, GpuError> {
        let s = shape;
        let elem = if gpu.f16 { 2 } else { 4 };
        let none = wgpu::BufferUsages::empty();
        let (rows, d) = (s.rows(), s.width);
        let patch_len = s.channels * s.patch * s.patch;
        let pixels = activation(
            gpu,
            "pixels",
            s.batch * s.channels * s.image * s.image,
            4,
            wgpu::BufferUsages::COPY_DST,
        );
        let tiles = activation(gpu, "patch tiles", s.patch_rows() * patch_len, elem, none);
        let patches = activation(gpu, "embedded patches", s.patch_rows() * d, elem, none);
        let hidden = activation(gpu, "residual stream", rows * d, elem, none);
        let normed = activation(gpu, "normed tokens", rows * d, elem, none);
        let qkv = activation(gpu, "qkv", rows * 3 * d, elem, none);
        let context = activation(gpu, "attention context", rows * d, elem, none);
        let mlp = activation(gpu, "mlp hidden", rows * s.inner, elem, none);
        let tokens = activation(
            gpu,
            "projected tokens",
            rows * s.embed,
            elem,
            wgpu::BufferUsages::COPY_SRC,
        );
        let readback_bytes = ((rows * s.embed * elem) as u64).next_multiple_of(4);
        let readback = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("projected tokens readback"),
            size: readback_bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut r = Recorder {
            gpu,
            pipelines,
            steps: Vec::new(),
        };
        let embed_params = |total: usize| {
            [
                s.batch as u32,
                s.channels as u32,
                s.image as u32,
                s.patch as u32,
                s.grid as u32,
                d as u32,
                total as u32,
                0,
            ]
        };
        let threads = ELEMENTWISE_THREADS as usize;
        let total = s.patch_rows() * patch_len;
        r.step(
            &pipelines.patchify,
            &embed_params(total),
            &[("pixels", &pixels), ("tiles", &tiles)],
            fold(total.div_ceil(threads)),
        )?;
        let w = weights;
        let nb = &w.no_bias;
        r.gemm(
            (s.patch_rows(), d, patch_len),
            &tiles,
            &w.patch_weight,
            None,
            &patches,
            0,
            false,
            nb,
        )?;
        // The class token and position embeddings go into `normed`, which pre-LN reads into the
        // residual stream (the residual stream starts after pre_layrnorm).
        let total = rows * d;
        r.step(
            &pipelines.assemble,
            &embed_params(total),
            &[
                ("class_embedding", &w.class_embedding),
                ("patches", &patches),
                ("position_embedding", &w.position_embedding),
                ("hidden", &normed),
            ],
            fold(total.div_ceil(threads)),
        )?;
        r.layer_norm(&s, &normed, (&w.pre_gamma, &w.pre_beta), &hidden)?;
        let attention_params = [s.batch as u32, s.tokens as u32, d as u32, s.heads as u32];
        for l in &w.layers {
            r.layer_norm(&s, &hidden, (&l.ln1_gamma, &l.ln1_beta), &normed)?;
            r.gemm(
                (rows, 3 * d, d),
                &normed,
                &l.qkv_weight,
                Some(&l.qkv_bias),
                &qkv,
                0,
                false,
                nb,
            )?;
            r.step(
                &pipelines.attention,
                &attention_params,
                &[("qkv", &qkv), ("ctx", &context)],
                fold(s.batch * s.heads * s.tokens),
            )?;
            r.gemm(
                (rows, d, d),
                &context,
                &l.out_weight,
                Some(&l.out_bias),
                &hidden,
                0,
                true,
                nb,
            )?;
            r.layer_norm(&s, &hidden, (&l.ln2_gamma, &l.ln2_beta), &normed)?;
            r.gemm(
                (rows, s.inner, d),
                &normed,
                &l.fc1_weight,
                Some(&l.fc1_bias),
                &mlp,
                s.act,
                false,
                nb,
            )?;
            r.gemm(
                (rows, d, s.inner),
                &mlp,
                &l.fc2_weight,
                Some(&l.fc2_bias),
                &hidden,
                0,
                true,
                nb,
            )?;
        }
        r.layer_norm(&s, &hidden, (&w.post_gamma, &w.post_beta), &normed)?;
        r.gemm(
            (rows, s.embed, d),
            &normed,
            &w.projection,
            None,
            &tokens,
            0,
            false,
            nb,
        )?;
        Ok(Plan {
            shape,
            pixels,
            tokens,
            readback,
            readback_bytes,
            steps: r.steps,
        })
    }

    /// Records every dispatch and the copy of the result into one command buffer.
    pub fn record(&self, device: &wgpu::Device) -> wgpu::CommandBuffer {
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("vision tower"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("vision tower"),
                timestamp_writes: None,
            });
            for step in &self.steps {
                pass.set_pipeline(&step.pipeline);
                pass.set_bind_group(0, &step.bind_group, &[]);
                pass.dispatch_workgroups(step.groups.0, step.groups.1, 1);
            }
        }
        encoder.copy_buffer_to_buffer(
            &self.tokens,
            0,
            &self.readback,
            0,
            Some(self.readback_bytes),
        );
        encoder.finish()
    }
}
