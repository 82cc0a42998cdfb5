// PointCLIP V2 §3, first pass: the bounding box of every view's rotated points (6 ordered u32 per
// image: min x y z, max x y z).

@group(0) @binding(3) var<storage, read_write> bounds: array<atomic<u32>>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    var vp: ViewPoint;
    if !view_point(flat_index(wid, nwg, lid), &vp) {
        return;
    }
    for (var k = 0u; k < 3u; k++) {
        atomicMin(&bounds[vp.image * 6u + k], ordered(vp.q[k]));
        atomicMax(&bounds[vp.image * 6u + 3u + k], ordered(vp.q[k]));
    }
}
