//! The projections' constants (METHOD.md §2–§3), written once: the CPU path reads them here and
//! the GPU path writes them into the WGSL preamble it prepends to every shader
//! (see `gpu::shader::preamble`), so the two cannot drift apart.

/// pointclip image side (§2).
pub const POINTCLIP_SIZE: usize = 128;
/// pointclip: distance added to the rotated z before the pinhole projection (§2: z' = z' + 1.6).
pub const POINTCLIP_CAMERA_DISTANCE: f32 = 1.6;

/// realistic grid side before densifying (§3).
pub const REALISTIC_GRID: usize = 112;
/// realistic image side after densifying (112 − 7 + 2·2 + 1).
pub const REALISTIC_SIZE: usize = REALISTIC_GRID - DENSIFY_WINDOW + 2 * DENSIFY_PADDING + 1;
/// realistic: the largest grid cell a point is clamped to (§3: clamp(…, 1, 110)).
pub const REALISTIC_CELL_MAX: usize = REALISTIC_GRID - 2;
/// realistic: x and y (not z) of the normalised points are scaled by this (§3).
pub const REALISTIC_XY_SCALE: f32 = 0.8;

/// realistic depth bins of the grid (bins 1..=6 are used; the grid has 8 slices as the original).
pub const DEPTH_BINS: usize = 8;
/// realistic depth: d = ((z + 1)/2 + DEPTH_NEAR)/DEPTH_SPAN · DEPTH_LEVELS, so d ∈ [1, 6] (§3).
pub const DEPTH_NEAR: f32 = 0.2;
/// See [`DEPTH_NEAR`].
pub const DEPTH_SPAN: f32 = 1.2;
/// See [`DEPTH_NEAR`].
pub const DEPTH_LEVELS: f32 = 6.0;

/// realistic densify: max-pool window side (§3).
pub const DENSIFY_WINDOW: usize = 7;
/// realistic densify: max-pool padding (§3).
pub const DENSIFY_PADDING: usize = 2;

/// realistic smoothing: σ of the 3×3 Gaussian (§3).
pub const GAUSSIAN_SIGMA: f64 = 3.0;

/// 3×3 Gaussian (σ = [`GAUSSIAN_SIGMA`]) weights, normalised to sum 1, computed in f64 and
/// rounded once to f32.
pub fn gaussian_3x3() -> [[f32; 3]; 3] {
    let g: Vec<f64> = [-1.0f64, 0.0, 1.0]
        .iter()
        .map(|k| (-(k * k) / (2.0 * GAUSSIAN_SIGMA * GAUSSIAN_SIGMA)).exp())
        .collect();
    let total: f64 = g.iter().sum::<f64>().powi(2);
    let mut w = [[0f32; 3]; 3];
    for (i, row) in w.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (g[i] * g[j] / total) as f32;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_sizes_are_the_methods() {
        assert_eq!(REALISTIC_SIZE, 110);
        assert_eq!(REALISTIC_CELL_MAX, 110);
        assert_eq!((1.0 + DEPTH_NEAR) / DEPTH_SPAN, 1.0);
    }
}
