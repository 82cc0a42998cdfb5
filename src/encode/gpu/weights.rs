//! The vision tower's weights on the GPU: uploaded once when the tower is built, in the storage
//! type of the kernels (f32, or f16 in the f16 mode), each buffer named after the tensor it holds.

use super::device::GpuDevice;
use crate::encode::config::VisionConfig;
use crate::encode::weights::Weights;
use crate::encode::ModelError;
use wgpu::util::DeviceExt;

/// One transformer block's tensors.
pub(super) struct LayerWeights {
    pub ln1_gamma: wgpu::Buffer,
    pub ln1_beta: wgpu::Buffer,
    /// q, k and v stacked `[3D, D]`, the q rows scaled by 1/sqrt(head_dim) as on the CPU.
    pub qkv_weight: wgpu::Buffer,
    pub qkv_bias: wgpu::Buffer,
    pub out_weight: wgpu::Buffer,
    pub out_bias: wgpu::Buffer,
    pub ln2_gamma: wgpu::Buffer,
    pub ln2_beta: wgpu::Buffer,
    pub fc1_weight: wgpu::Buffer,
    pub fc1_bias: wgpu::Buffer,
    pub fc2_weight: wgpu::Buffer,
    pub fc2_bias: wgpu::Buffer,
}

/// Every tensor of the vision tower.
pub(super) struct TowerWeights {
    /// `[D, C·p·p]`: the stride-p convolution as a matrix.
    pub patch_weight: wgpu::Buffer,
    pub class_embedding: wgpu::Buffer,
    pub position_embedding: wgpu::Buffer,
    pub pre_gamma: wgpu::Buffer,
    pub pre_beta: wgpu::Buffer,
    pub layers: Vec<LayerWeights>,
    pub post_gamma: wgpu::Buffer,
    pub post_beta: wgpu::Buffer,
    pub projection: wgpu::Buffer,
    /// Bound as the bias of the products without one (never read: `has_bias` is 0).
    pub no_bias: wgpu::Buffer,
    /// Bytes uploaded.
    pub bytes: u64,
}

/// `data` in the storage type, padded to a multiple of 4 bytes (a storage binding's granule).
pub(super) fn storage_bytes(data: &[f32], f16: bool) -> Vec<u8> {
    let mut bytes: Vec<u8> = if f16 {
        data.iter()
            .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
            .collect()
    } else {
        bytemuck::cast_slice(data).to_vec()
    };
    bytes.resize(bytes.len().next_multiple_of(4).max(4), 0);
    bytes
}

impl TowerWeights {
    pub fn upload(gpu: &GpuDevice, w: &Weights, config: &VisionConfig) -> Result<Self, ModelError> {
        let f16 = gpu.f16;
        let mut bytes = 0u64;
        let mut put = |label: &str, t: candle_core::Tensor| -> Result<wgpu::Buffer, ModelError> {
            let data = t.flatten_all()?.to_vec1::<f32>()?;
            let contents = storage_bytes(&data, f16);
            bytes += contents.len() as u64;
            Ok(gpu
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: &contents,
                    usage: wgpu::BufferUsages::STORAGE,
                }))
        };
        let d = config.tower.hidden_size;
        let heads = config.tower.num_attention_heads;
        // The same fold of the score scale into the query rows as the CPU tower makes.
        let scale = ((d / heads) as f64).powf(-0.5) as f32;
        let mut layers = Vec::with_capacity(config.tower.num_hidden_layers);
        for l in 0..config.tower.num_hidden_layers {
            let p = format!("vision_model.encoder.layers.{l}");
            let n = |s: &str| format!("{p}.{s}");
            let qkv = |s: &str| {
                w.get_scaled_rows(&[
                    (&n(&format!("self_attn.q_proj.{s}")), scale),
                    (&n(&format!("self_attn.k_proj.{s}")), 1.0),
                    (&n(&format!("self_attn.v_proj.{s}")), 1.0),
                ])
            };
            layers.push(LayerWeights {
                ln1_gamma: put("ln1 gamma", w.get(&n("layer_norm1.weight"))?)?,
                ln1_beta: put("ln1 beta", w.get(&n("layer_norm1.bias"))?)?,
                qkv_weight: put("qkv weight", qkv("weight")?)?,
                qkv_bias: put("qkv bias", qkv("bias")?)?,
                out_weight: put("out weight", w.get(&n("self_attn.out_proj.weight"))?)?,
                out_bias: put("out bias", w.get(&n("self_attn.out_proj.bias"))?)?,
                ln2_gamma: put("ln2 gamma", w.get(&n("layer_norm2.weight"))?)?,
                ln2_beta: put("ln2 beta", w.get(&n("layer_norm2.bias"))?)?,
                fc1_weight: put("fc1 weight", w.get(&n("mlp.fc1.weight"))?)?,
                fc1_bias: put("fc1 bias", w.get(&n("mlp.fc1.bias"))?)?,
                fc2_weight: put("fc2 weight", w.get(&n("mlp.fc2.weight"))?)?,
                fc2_bias: put("fc2 bias", w.get(&n("mlp.fc2.bias"))?)?,
            });
        }
        let patch = w
            .get("vision_model.embeddings.patch_embedding.weight")?
            .reshape((d, ()))?;
        let mut tower = TowerWeights {
            patch_weight: put("patch weight", patch)?,
            class_embedding: put(
                "class embedding",
                w.get("vision_model.embeddings.class_embedding")?,
            )?,
            position_embedding: put(
                "position embedding",
                w.get("vision_model.embeddings.position_embedding.weight")?,
            )?,
            pre_gamma: put("pre gamma", w.get("vision_model.pre_layrnorm.weight")?)?,
            pre_beta: put("pre beta", w.get("vision_model.pre_layrnorm.bias")?)?,
            layers,
            post_gamma: put("post gamma", w.get("vision_model.post_layernorm.weight")?)?,
            post_beta: put("post beta", w.get("vision_model.post_layernorm.bias")?)?,
            projection: put("projection", w.get("visual_projection.weight")?)?,
            no_bias: gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("no bias"),
                size: 16,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            }),
            bytes: 0,
        };
        tower.bytes = bytes;
        Ok(tower)
    }
}
