// PointCLIP V2 §3: per depth slice, 3×3 Gaussian (σ = 3) with zero padding.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dense: array<f32>;
@group(0) @binding(2) var<storage, read_write> smoothed: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = flat_index(wid, nwg, lid);
    if t >= params.n_images * BINS * SIDE * SIDE {
        return;
    }
    let base = (t / (SIDE * SIDE)) * SIDE * SIDE;
    let i = i32((t % (SIDE * SIDE)) / SIDE);
    let j = i32(t % SIDE);
    let s = i32(SIDE);
    var acc = 0.0;
    for (var di = -1; di <= 1; di++) {
        for (var dj = -1; dj <= 1; dj++) {
            let y = i + di;
            let x = j + dj;
            if y >= 0 && y < s && x >= 0 && x < s {
                // corner, edge or centre weight by how many offsets are zero
                let zeros = select(0, 1, di == 0) + select(0, 1, dj == 0);
                let w = select(select(GAUSS.x, GAUSS.y, zeros == 1), GAUSS.z, zeros == 2);
                acc += w * dense[base + u32(y * s + x)];
            }
        }
    }
    smoothed[t] = acc;
}
