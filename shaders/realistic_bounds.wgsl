// PointCLIP V2 §3, first pass: the bounding box of every view's rotated points (6 ordered u32 per
// image: min x y z, max x y z).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> rotations: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> bounds: array<atomic<u32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = flat_index(wid, nwg, lid);
    if t >= params.n_points * params.n_views {
        return;
    }
    let view = t / params.n_points;
    let p4 = points[t % params.n_points];
    let image = bitcast<u32>(p4.w) * params.n_views + view;
    let q = vec3<f32>(row_dot(rotations[3u * view], p4.xyz), row_dot(rotations[3u * view + 1u], p4.xyz),
                      row_dot(rotations[3u * view + 2u], p4.xyz));
    for (var k = 0u; k < 3u; k++) {
        atomicMin(&bounds[image * 6u + k], ordered(q[k]));
        atomicMax(&bounds[image * 6u + 3u + k], ordered(q[k]));
    }
}
