// The patch embedding's two element-wise halves around its matrix product: `patchify` cuts
// pixels [batch, channels, image, image] into rows of patch tiles [batch·patches,
// channels·patch·patch] (the order of the stride-patch convolution's flattened weight), and
// `assemble` writes the token sequence [batch, 1 + patches, width]: the class embedding, then the
// embedded patches, each plus its position embedding. One thread per output value.

struct EmbedParams {
    batch: u32,
    channels: u32,
    image: u32,
    patch_size: u32,
    grid: u32,
    width: u32,
    // Values to write (threads that do work).
    total: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: EmbedParams;

fn thread_index(wg: vec3<u32>, groups: vec3<u32>, lid: u32) -> u32 {
    return (wg.y * groups.x + wg.x) * 256u + lid;
}
