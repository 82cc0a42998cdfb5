// PointCLIP V2 §3: normalise each view's points into its box, quantise into 8 depth bins ×
// 112 × 112, and keep the largest depth per cell (atomicMax on the bits of a positive float).

@group(0) @binding(3) var<storage, read> bounds: array<u32>;
@group(0) @binding(4) var<storage, read_write> grid: array<atomic<u32>>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    var vp: ViewPoint;
    if !view_point(flat_index(wid, nwg, lid), &vp) {
        return;
    }
    let image = vp.image;
    let q = vp.q;
    var lo: vec3<f32>;
    var hi: vec3<f32>;
    for (var k = 0u; k < 3u; k++) {
        lo[k] = unordered(bounds[image * 6u + k]);
        hi[k] = unordered(bounds[image * 6u + 3u + k]);
    }
    let centre = (hi + lo) / 2.0;
    var extent = max(max(hi.x - lo.x, hi.y - lo.y), hi.z - lo.z);
    if !(extent > 0.0) {
        extent = 1.0;
    }
    let n = (q - centre) / extent * 2.0;
    let x = n.x * XY_SCALE;
    let y = n.y * XY_SCALE;
    let g = f32(GRID);
    let cell_max = f32(CELL_MAX);
    let gx = u32(clamp(ceil((x + 1.0) / 2.0 * g), 1.0, cell_max));
    let gy = u32(clamp(ceil((y + 1.0) / 2.0 * g), 1.0, cell_max));
    let d = ((n.z + 1.0) / 2.0 + DEPTH_NEAR) / DEPTH_SPAN * DEPTH_LEVELS;
    let bin = min(u32(ceil(d)), BINS - 1u);
    atomicMax(&grid[((image * BINS + bin) * GRID + gx) * GRID + gy], bitcast<u32>(d));
}
