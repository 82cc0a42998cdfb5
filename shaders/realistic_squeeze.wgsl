// PointCLIP V2 §3: the image is the max over the 8 slices; its maximum is gathered per image.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> smoothed: array<f32>;
@group(0) @binding(2) var<storage, read_write> image: array<f32>;
@group(0) @binding(3) var<storage, read_write> image_max: array<atomic<u32>>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = flat_index(wid, nwg, lid);
    if t >= params.n_images * SIDE * SIDE {
        return;
    }
    let n = t / (SIDE * SIDE);
    let pixel = t % (SIDE * SIDE);
    var m = 0.0;
    for (var b = 0u; b < BINS; b++) {
        m = max(m, smoothed[(n * BINS + b) * SIDE * SIDE + pixel]);
    }
    image[t] = m;
    atomicMax(&image_max[n], bitcast<u32>(m));
}
