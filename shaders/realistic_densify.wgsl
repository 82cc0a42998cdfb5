// PointCLIP V2 §3: per depth slice, 7×7 max pool, stride 1, padding 2 (112 → 110):
// out[i][j] = max of in[i−pad ..= i+reach][j−pad ..= j+reach] within bounds (pad 2, reach 4).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grid: array<f32>;
@group(0) @binding(2) var<storage, read_write> dense: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = flat_index(wid, nwg, lid);
    if t >= params.n_images * BINS * SIDE * SIDE {
        return;
    }
    let slice = t / (SIDE * SIDE);
    let i = (t % (SIDE * SIDE)) / SIDE;
    let j = t % SIDE;
    var m = 0.0;
    let pad = i32(DENSIFY_PADDING);
    let reach = i32(DENSIFY_REACH);
    for (var y = max(i32(i) - pad, 0); y <= min(i32(i) + reach, i32(GRID) - 1); y++) {
        for (var x = max(i32(j) - pad, 0); x <= min(i32(j) + reach, i32(GRID) - 1); x++) {
            m = max(m, grid[(slice * GRID + u32(y)) * GRID + u32(x)]);
        }
    }
    dense[t] = m;
}
