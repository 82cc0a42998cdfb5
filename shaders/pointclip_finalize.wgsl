// PointCLIP §2: harmonic-mean depth count / Σ(1/z'); empty pixels are 0.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> counts: array<u32>;
@group(0) @binding(2) var<storage, read> inv_depth: array<f32>;
@group(0) @binding(3) var<storage, read_write> image: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_index(wid, nwg, lid);
    if i >= params.n_images * POINTCLIP_SIZE * POINTCLIP_SIZE {
        return;
    }
    let k = counts[i];
    image[i] = select(f32(k) / inv_depth[i], 0.0, k == 0u);
}
