// The CLIP input: bilinear resize with aligned corners (output i samples input i·(in−1)/(out−1)),
// replicated to 3 channels, CLIP's mean/std applied only when asked.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> image: array<f32>;
@group(0) @binding(2) var<storage, read_write> clip_input: array<f32>;

fn source(i: u32) -> vec3<f32> {
    let n_in = params.in_size;
    var scale = 0.0;
    if params.out_size > 1u {
        scale = f32(n_in - 1u) / f32(params.out_size - 1u);
    }
    let src = scale * f32(i);
    let i0 = min(u32(floor(src)), n_in - 1u);
    let i1 = min(i0 + 1u, n_in - 1u);
    return vec3<f32>(f32(i0), f32(i1), src - f32(i0));
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = flat_index(wid, nwg, lid);
    let s = params.out_size;
    if t >= params.n_images * s * s {
        return;
    }
    let n = t / (s * s);
    let y = (t % (s * s)) / s;
    let x = t % s;
    let r = source(y);
    let c = source(x);
    let n_in = params.in_size;
    let base = n * n_in * n_in;
    let r0 = u32(r.x) * n_in;
    let r1 = u32(r.y) * n_in;
    let top = image[base + r0 + u32(c.x)] * (1.0 - c.z) + image[base + r0 + u32(c.y)] * c.z;
    let bottom = image[base + r1 + u32(c.x)] * (1.0 - c.z) + image[base + r1 + u32(c.y)] * c.z;
    let v = top * (1.0 - r.z) + bottom * r.z;
    for (var ch = 0u; ch < 3u; ch++) {
        var out = v;
        if params.normalize == 1u {
            out = (v - CLIP_MEAN[ch]) / CLIP_STD[ch];
        }
        clip_input[((n * 3u + ch) * s + y) * s + x] = out;
    }
}
