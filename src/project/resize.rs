//! The CLIP input: bilinear resize with aligned corners, replicated to 3 channels.

/// CLIP's per-channel mean and standard deviation (applied only when asked: the originals feed
/// depth maps raw).
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
/// CLIP's per-channel standard deviation.
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_6, 0.275_777_1];

/// Source position and weight of output index `i` for an aligned-corners resize `n_in → n_out`:
/// output `i` samples input position `i · (n_in − 1) / (n_out − 1)`.
pub fn source_index(i: usize, n_in: usize, n_out: usize) -> (usize, usize, f32) {
    let scale = if n_out > 1 {
        (n_in - 1) as f32 / (n_out - 1) as f32
    } else {
        0.0
    };
    let src = scale * i as f32;
    let i0 = (src.floor() as usize).min(n_in - 1);
    let i1 = (i0 + 1).min(n_in - 1);
    (i0, i1, src - i0 as f32)
}

/// Resizes a square `n_in × n_in` image to `n_out × n_out` and writes the three channels of the
/// CLIP input into `out` (`3 · n_out²` values), normalised with CLIP's mean/std when `normalize`.
pub fn clip_channels(img: &[f32], n_in: usize, n_out: usize, normalize: bool, out: &mut [f32]) {
    let plane = n_out * n_out;
    let cols: Vec<(usize, usize, f32)> = (0..n_out).map(|j| source_index(j, n_in, n_out)).collect();
    for i in 0..n_out {
        let (r0, r1, ly) = source_index(i, n_in, n_out);
        for (j, &(c0, c1, lx)) in cols.iter().enumerate() {
            let top = img[r0 * n_in + c0] * (1.0 - lx) + img[r0 * n_in + c1] * lx;
            let bottom = img[r1 * n_in + c0] * (1.0 - lx) + img[r1 * n_in + c1] * lx;
            let v = top * (1.0 - ly) + bottom * ly;
            for ch in 0..3 {
                out[ch * plane + i * n_out + j] = if normalize {
                    (v - CLIP_MEAN[ch]) / CLIP_STD[ch]
                } else {
                    v
                };
            }
        }
    }
}
