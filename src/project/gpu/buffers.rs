//! The storage buffers, named after what they hold, grown on demand and reused across calls.

/// A storage buffer that grows (to the next power of two) and is otherwise reused.
pub(super) struct Grow {
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
    pub fn at_least(&mut self, device: &wgpu::Device, bytes: u64, cap: u64) -> wgpu::Buffer {
        let bytes = bytes.max(16);
        match &self.buffer {
            Some(b) if b.size() >= bytes => b.clone(),
            _ => {
                let b = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(self.label),
                    size: bytes
                        .next_power_of_two()
                        .min(cap)
                        .max(bytes)
                        .next_multiple_of(4),
                    usage: self.usage,
                    mapped_at_creation: false,
                });
                self.buffer = Some(b.clone());
                b
            }
        }
    }
}

/// The buffers of one submission. Two of them serve twice, so that the realistic grid (the
/// largest thing) is held once.
pub(super) struct Buffers {
    /// xyz of every point, w = its cloud's index bits.
    pub points: Grow,
    /// 3 rows per view.
    pub rotations: Grow,
    /// pointclip: per-pixel point counts; realistic: the 8×112×112 grid, then the smoothed slices.
    pub counts_or_grid: Grow,
    /// pointclip: per-pixel Σ 1/z'; realistic: the densified slices.
    pub inv_depth_or_dense: Grow,
    /// realistic: per image, 6 ordered u32 (min x y z, max x y z).
    pub bounds: Grow,
    /// The depth images.
    pub image: Grow,
    /// realistic: per image, its largest value (f32 bits).
    pub image_max: Grow,
    /// `[images, 3, size, size]`.
    pub clip_input: Grow,
    /// Mappable copy of the result.
    pub readback: Grow,
}

impl Buffers {
    pub fn new() -> Self {
        let storage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC;
        Buffers {
            points: Grow::new("points", storage),
            rotations: Grow::new("rotations", storage),
            counts_or_grid: Grow::new("counts or grid", storage),
            inv_depth_or_dense: Grow::new("inverse depth or dense slices", storage),
            bounds: Grow::new("bounds", storage),
            image: Grow::new("image", storage),
            image_max: Grow::new("image max", storage),
            clip_input: Grow::new("clip input", storage),
            readback: Grow::new(
                "readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
        }
    }
}
