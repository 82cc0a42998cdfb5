// Shared by every projection stage; follows the generated preamble (constants, `Params`,
// `WORKGROUP`: src/project/gpu/shader.rs) and precedes each stage's source.

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
