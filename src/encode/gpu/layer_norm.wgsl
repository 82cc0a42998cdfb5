// Layer norm over the last dimension, one workgroup of 256 threads per row, in f32 as candle's
// CPU layer norm: mean, then the mean of squared deviations, then (x - mean) / sqrt(var + eps).

struct NormParams {
    rows: u32,
    width: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: NormParams;
@group(0) @binding(1) var<storage, read> x: array<Store>;
@group(0) @binding(2) var<storage, read> gamma: array<Store>;
@group(0) @binding(3) var<storage, read> beta: array<Store>;
@group(0) @binding(4) var<storage, read_write> y: array<Store>;

var<workgroup> partial: array<f32, 256>;

fn workgroup_sum(v: f32, li: u32) -> f32 {
    partial[li] = v;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (li < s) {
            partial[li] += partial[li + s];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let row = wg.y * groups.x + wg.x;
    if (row >= params.rows) {
        return;
    }
    let n = params.width;
    let base = row * n;
    var s = 0.0;
    for (var i = li; i < n; i += 256u) {
        s += f32(x[base + i]);
    }
    let mean = workgroup_sum(s, li) / f32(n);
    var q = 0.0;
    for (var i = li; i < n; i += 256u) {
        let d = f32(x[base + i]) - mean;
        q += d * d;
    }
    let inv = 1.0 / sqrt(workgroup_sum(q, li) / f32(n) + params.eps);
    for (var i = li; i < n; i += 256u) {
        y[base + i] = Store((f32(x[base + i]) - mean) * inv * f32(gamma[i]) + f32(beta[i]));
    }
}
