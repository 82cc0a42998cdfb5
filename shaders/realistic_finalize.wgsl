// PointCLIP V2 §3: 1 − img / max(img): white background; an image with no points stays all 1.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> image: array<f32>;
@group(0) @binding(2) var<storage, read> image_max: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = flat_index(wid, nwg, lid);
    if t >= params.n_images * SIDE * SIDE {
        return;
    }
    let m = image_max[t / (SIDE * SIDE)];
    image[t] = select(1.0, 1.0 - image[t] / m, m > 0.0);
}
