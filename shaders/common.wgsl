// Shared by every projection stage (prepended to each stage's source).

struct Params {
    n_points: u32,   // points in this submission (all clouds)
    n_views: u32,
    n_images: u32,   // clouds × views
    in_size: u32,    // depth image side: 128 (pointclip) or 110 (realistic)
    out_size: u32,   // CLIP input side
    normalize: u32,  // 1: apply CLIP mean/std
    _pad0: u32,
    _pad1: u32,
    gauss: vec4<f32>, // 3×3 Gaussian weights: corner, edge, centre
    mean: vec4<f32>,
    stddev: vec4<f32>,
}

const WORKGROUP: u32 = 256u;
const GRID: u32 = 112u;
const BINS: u32 = 8u;
const SIDE: u32 = 110u;

// Dispatches are folded into 2D to pass the 65535-workgroup limit of one dimension.
fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * WORKGROUP + lid.x;
}

// Row r of a view's rotation times p, in the order the CPU path multiplies.
fn row_dot(r: vec4<f32>, p: vec3<f32>) -> f32 {
    return r.x * p.x + r.y * p.y + r.z * p.z;
}

// f32 → u32 whose unsigned order is the float order, for atomicMin/atomicMax on floats of any sign.
fn ordered(f: f32) -> u32 {
    let b = bitcast<u32>(f);
    if (b & 0x80000000u) != 0u {
        return ~b;
    }
    return b | 0x80000000u;
}

fn unordered(u: u32) -> f32 {
    if (u & 0x80000000u) != 0u {
        return bitcast<f32>(u & 0x7fffffffu);
    }
    return bitcast<f32>(~u);
}
