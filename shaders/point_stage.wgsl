// Shared by the stages that run one thread per (view, point) pair: the params, the points and the
// view rotations at bindings 0-2, and the rotated point a thread works on.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<vec4<f32>>;   // xyz, w = cloud index bits
@group(0) @binding(2) var<storage, read> rotations: array<vec4<f32>>; // 3 rows per view

struct ViewPoint {
    image: u32,     // cloud × views + view
    q: vec3<f32>,   // the point rotated into the view
}

// The (view, point) pair of thread t, or false when t is past the last pair.
fn view_point(t: u32, out: ptr<function, ViewPoint>) -> bool {
    if t >= params.n_points * params.n_views {
        return false;
    }
    let view = t / params.n_points;
    let p4 = points[t % params.n_points];
    (*out).image = bitcast<u32>(p4.w) * params.n_views + view;
    (*out).q = vec3<f32>(row_dot(rotations[3u * view], p4.xyz), row_dot(rotations[3u * view + 1u], p4.xyz),
                         row_dot(rotations[3u * view + 2u], p4.xyz));
    return true;
}
