@group(0) @binding(1) var<storage, read> pixels: array<f32>;
@group(0) @binding(2) var<storage, read_write> tiles: array<Store>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let idx = thread_index(wg, groups, li);
    if (idx >= params.total) {
        return;
    }
    let p = params.patch_size;
    let g = params.grid;
    let row_len = params.channels * p * p;
    let row = idx / row_len;
    let col = idx % row_len;
    let b = row / (g * g);
    let cell = row % (g * g);
    let c = col / (p * p);
    let r = col % (p * p);
    let yy = (cell / g) * p + r / p;
    let xx = (cell % g) * p + r % p;
    let s = params.image;
    tiles[idx] = Store(pixels[((b * params.channels + c) * s + yy) * s + xx]);
}
