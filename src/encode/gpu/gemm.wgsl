// y = act(x · wᵀ + bias) (+ y when accumulating): x [m, k], w [n, k] (PyTorch's [out, in]),
// y [m, n]. 64×64 output tiles per workgroup of 16×16 threads, each thread 4×4 outputs; the
// k dimension advances 16 at a time through workgroup memory. Accumulation is always f32.
// Accumulating into y is the transformer's residual connection, fused into the epilogue: every
// output is read and written by the one thread that owns it.

struct GemmParams {
    m: u32,
    n: u32,
    k: u32,
    // 0: none, 1: quick_gelu, 2: exact (erf) gelu.
    act: u32,
    accumulate: u32,
    has_bias: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: GemmParams;
@group(0) @binding(1) var<storage, read> x: array<Store>;
@group(0) @binding(2) var<storage, read> w: array<Store>;
@group(0) @binding(3) var<storage, read> bias: array<Store>;
@group(0) @binding(4) var<storage, read_write> y: array<Store>;

const TILE: u32 = 64u;
const BK: u32 = 16u;

// [BK][TILE]: column kk of the x tile and of the w tile.
var<workgroup> x_tile: array<f32, 1024>;
var<workgroup> w_tile: array<f32, 1024>;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): WGSL has no erf.
fn erf_approx(v: f32) -> f32 {
    let s = sign(v);
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return s * (1.0 - poly * exp(-a * a));
}

fn activate(v: f32) -> f32 {
    switch params.act {
        case 1u: {
            return v / (1.0 + exp(-1.702 * v));
        }
        case 2u: {
            return 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752));
        }
        default: {
            return v;
        }
    }
}

@compute @workgroup_size(16, 16)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let m0 = wg.y * TILE;
    let n0 = wg.x * TILE;
    let k = params.k;
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < k; k0 += BK) {
        for (var r = 0u; r < 4u; r++) {
            let e = li + r * 256u;
            let row = e / BK;
            let kk = e % BK;
            let kg = k0 + kk;
            var xv = 0.0;
            if (m0 + row < params.m && kg < k) {
                xv = f32(x[(m0 + row) * k + kg]);
            }
            x_tile[kk * TILE + row] = xv;
            var wv = 0.0;
            if (n0 + row < params.n && kg < k) {
                wv = f32(w[(n0 + row) * k + kg]);
            }
            w_tile[kk * TILE + row] = wv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let xb = kk * TILE + lid.y * 4u;
            let wb = kk * TILE + lid.x * 4u;
            let b = vec4<f32>(w_tile[wb], w_tile[wb + 1u], w_tile[wb + 2u], w_tile[wb + 3u]);
            acc[0] += x_tile[xb] * b;
            acc[1] += x_tile[xb + 1u] * b;
            acc[2] += x_tile[xb + 2u] * b;
            acc[3] += x_tile[xb + 3u] * b;
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let row = m0 + lid.y * 4u + i;
        if (row >= params.m) {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = n0 + lid.x * 4u + j;
            if (col >= params.n) {
                break;
            }
            var v = acc[i][j];
            if (params.has_bias != 0u) {
                v += f32(bias[col]);
            }
            v = activate(v);
            let at = row * params.n + col;
            if (params.accumulate != 0u) {
                v += f32(y[at]);
            }
            y[at] = Store(v);
        }
    }
}
