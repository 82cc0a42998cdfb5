// softmax(q·kᵀ)·v for one query token of one head of one image per workgroup, straight from the
// fused projection qkv [batch·tokens, 3·width] (queries already scaled by 1/sqrt(head_dim)),
// into ctx [batch·tokens, width] with the heads side by side. Scores live in workgroup memory,
// which bounds the tokens (MAX_TOKENS) and the head width (MAX_HEAD_DIM); both are checked on the
// host.

struct AttentionParams {
    batch: u32,
    tokens: u32,
    width: u32,
    heads: u32,
}

@group(0) @binding(0) var<uniform> params: AttentionParams;
@group(0) @binding(1) var<storage, read> qkv: array<Store>;
@group(0) @binding(2) var<storage, read_write> ctx: array<Store>;

const THREADS: u32 = 64u;
const MAX_TOKENS: u32 = 1024u;
const MAX_HEAD_DIM: u32 = 256u;

var<workgroup> scores: array<f32, 1024>;
var<workgroup> query: array<f32, 256>;
var<workgroup> partial: array<f32, 64>;

fn workgroup_reduce(v: f32, li: u32, take_max: bool) -> f32 {
    partial[li] = v;
    workgroupBarrier();
    for (var s = THREADS / 2u; s > 0u; s >>= 1u) {
        if (li < s) {
            if (take_max) {
                partial[li] = max(partial[li], partial[li + s]);
            } else {
                partial[li] += partial[li + s];
            }
        }
        workgroupBarrier();
    }
    let r = partial[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let t = params.tokens;
    let h_count = params.heads;
    let item = wg.y * groups.x + wg.x;
    if (item >= params.batch * h_count * t) {
        return;
    }
    let i = item % t;
    let h = (item / t) % h_count;
    let b = item / (t * h_count);
    let width = params.width;
    let hd = width / h_count;
    let stride = 3u * width;
    let first = b * t;
    let q_at = (first + i) * stride + h * hd;
    for (var d = li; d < hd; d += THREADS) {
        query[d] = f32(qkv[q_at + d]);
    }
    workgroupBarrier();
    var local_max = -3.4028235e38;
    for (var j = li; j < t; j += THREADS) {
        let k_at = (first + j) * stride + width + h * hd;
        var s = 0.0;
        for (var d = 0u; d < hd; d++) {
            s += query[d] * f32(qkv[k_at + d]);
        }
        scores[j] = s;
        local_max = max(local_max, s);
    }
    let top = workgroup_reduce(local_max, li, true);
    var local_sum = 0.0;
    for (var j = li; j < t; j += THREADS) {
        let e = exp(scores[j] - top);
        scores[j] = e;
        local_sum += e;
    }
    let inv = 1.0 / workgroup_reduce(local_sum, li, false);
    for (var d = li; d < hd; d += THREADS) {
        var o = 0.0;
        for (var j = 0u; j < t; j++) {
            o += scores[j] * f32(qkv[(first + j) * stride + 2u * width + h * hd + d]);
        }
        ctx[(first + i) * width + h * hd + d] = Store(o * inv);
    }
}
