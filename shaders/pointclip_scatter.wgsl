// PointCLIP §2: perspective projection of every (view, point) pair; per pixel, the point count and
// the sum of 1/z' (a float add through compare-exchange, since WGSL has no float atomics).

@group(0) @binding(3) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> inv_depth: array<atomic<u32>>; // f32 bits

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    var vp: ViewPoint;
    if !view_point(flat_index(wid, nwg, lid), &vp) {
        return;
    }
    let half = f32(POINTCLIP_SIZE / 2u);
    let last = f32(POINTCLIP_SIZE - 1u);
    let z = vp.q.z + CAMERA_DISTANCE;
    let u = vp.q.x / z;
    let w = vp.q.y / z;
    let r = ceil((u + 1.0) * half - 0.5);
    let c = ceil((w + 1.0) * half - 0.5);
    if !(z >= 0.0 && r >= 0.0 && r <= last && c >= 0.0 && c <= last) {
        return;
    }
    let i = (vp.image * POINTCLIP_SIZE + u32(r)) * POINTCLIP_SIZE + u32(c);
    atomicAdd(&counts[i], 1u);
    let add = 1.0 / z;
    var old = atomicLoad(&inv_depth[i]);
    loop {
        let swap = atomicCompareExchangeWeak(&inv_depth[i], old, bitcast<u32>(bitcast<f32>(old) + add));
        if swap.exchanged {
            break;
        }
        old = swap.old_value;
    }
}
