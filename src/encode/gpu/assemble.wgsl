@group(0) @binding(1) var<storage, read> class_embedding: array<Store>;
@group(0) @binding(2) var<storage, read> patches: array<Store>;
@group(0) @binding(3) var<storage, read> position_embedding: array<Store>;
@group(0) @binding(4) var<storage, read_write> hidden: array<Store>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let idx = thread_index(wg, groups, li);
    if (idx >= params.total) {
        return;
    }
    let d = params.width;
    let n_patches = params.grid * params.grid;
    let tokens = n_patches + 1u;
    let b = idx / (tokens * d);
    let t = (idx / d) % tokens;
    let c = idx % d;
    var v: f32;
    if (t == 0u) {
        v = f32(class_embedding[c]);
    } else {
        v = f32(patches[(b * n_patches + t - 1u) * d + c]);
    }
    hidden[idx] = Store(v + f32(position_embedding[t * d + c]));
}
