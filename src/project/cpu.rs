//! The projections on the CPU, stage by stage, exactly as METHOD.md §1–§3 states them. This is
//! the reference the GPU path is tested against, and the fallback without a GPU.

use super::views::View;
use nalgebra::Point3;

pub use super::method::{gaussian_3x3, DEPTH_BINS, POINTCLIP_SIZE, REALISTIC_GRID, REALISTIC_SIZE};
use super::method::{
    DENSIFY_PADDING, DENSIFY_WINDOW, DEPTH_LEVELS, DEPTH_NEAR, DEPTH_SPAN,
    POINTCLIP_CAMERA_DISTANCE, REALISTIC_CELL_MAX, REALISTIC_XY_SCALE,
};

pub(crate) fn rotate(m: &[[f32; 3]; 3], p: &Point3<f32>) -> [f32; 3] {
    [
        m[0][0] * p.x + m[0][1] * p.y + m[0][2] * p.z,
        m[1][0] * p.x + m[1][1] * p.y + m[1][2] * p.z,
        m[2][0] * p.x + m[2][1] * p.y + m[2][2] * p.z,
    ]
}

/// §1: subtract the centroid and divide by the largest distance from it (a cloud whose points
/// all coincide is only centred).
pub fn unit_sphere(points: &[Point3<f32>]) -> Vec<Point3<f32>> {
    let n = points.len().max(1) as f64;
    let mut c = [0f64; 3];
    for p in points {
        for k in 0..3 {
            c[k] += p[k] as f64;
        }
    }
    let c = Point3::new((c[0] / n) as f32, (c[1] / n) as f32, (c[2] / n) as f32);
    let centred: Vec<Point3<f32>> = points.iter().map(|p| Point3::from(p - c)).collect();
    let r = centred.iter().map(|p| p.coords.norm()).fold(0f32, f32::max);
    let scale = if r > 0.0 { r } else { 1.0 };
    centred.iter().map(|p| p / scale).collect()
}

/// §2: one pointclip view of unit-sphere-normalised points: harmonic-mean depth, 128×128.
pub fn pointclip_view(points: &[Point3<f32>], view: &View) -> Vec<f32> {
    let m = view.rotation();
    let n = POINTCLIP_SIZE;
    let (half, last) = ((n / 2) as f32, (n - 1) as f32);
    let mut count = vec![0u32; n * n];
    let mut inv_depth = vec![0f32; n * n];
    for p in points {
        let [x, y, z] = rotate(&m, p);
        let z = z + POINTCLIP_CAMERA_DISTANCE;
        let (u, w) = (x / z, y / z);
        let r = ((u + 1.0) * half - 0.5).ceil();
        let c = ((w + 1.0) * half - 0.5).ceil();
        if z >= 0.0 && (0.0..=last).contains(&r) && (0.0..=last).contains(&c) {
            let i = r as usize * n + c as usize;
            count[i] += 1;
            inv_depth[i] += 1.0 / z;
        }
    }
    count
        .iter()
        .zip(&inv_depth)
        .map(|(&k, &s)| if k == 0 { 0.0 } else { k as f32 / s })
        .collect()
}

/// §3: the rotated points of one realistic view, normalised into the view's box: x, y in
/// [−0.8, 0.8], z in [−1, 1] along the longest axis.
pub fn realistic_normalised(points: &[Point3<f32>], view: &View) -> Vec<[f32; 3]> {
    let m = view.rotation();
    let rotated: Vec<[f32; 3]> = points.iter().map(|p| rotate(&m, p)).collect();
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    for p in &rotated {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let centre: Vec<f32> = (0..3).map(|k| (hi[k] + lo[k]) / 2.0).collect();
    let extent = (0..3).map(|k| hi[k] - lo[k]).fold(0f32, f32::max);
    let extent = if extent > 0.0 { extent } else { 1.0 };
    rotated
        .iter()
        .map(|p| {
            let mut q = [0f32; 3];
            for k in 0..3 {
                q[k] = (p[k] - centre[k]) / extent * 2.0;
            }
            [q[0] * REALISTIC_XY_SCALE, q[1] * REALISTIC_XY_SCALE, q[2]]
        })
        .collect()
}

/// Grid cell and depth of a normalised point: `(bin, gx, gy, d)` with gx, gy in 1..=110.
pub fn realistic_cell(p: &[f32; 3]) -> (usize, usize, usize, f32) {
    let (g, hi) = (REALISTIC_GRID as f32, REALISTIC_CELL_MAX as f32);
    let gx = ((p[0] + 1.0) / 2.0 * g).ceil().clamp(1.0, hi) as usize;
    let gy = ((p[1] + 1.0) / 2.0 * g).ceil().clamp(1.0, hi) as usize;
    let d = ((p[2] + 1.0) / 2.0 + DEPTH_NEAR) / DEPTH_SPAN * DEPTH_LEVELS;
    let bin = (d.ceil() as usize).min(DEPTH_BINS - 1);
    (bin, gx, gy, d)
}

/// §3 scatter-max into the 8×112×112 grid.
pub fn realistic_grid(normalised: &[[f32; 3]]) -> Vec<f32> {
    let g = REALISTIC_GRID;
    let mut grid = vec![0f32; DEPTH_BINS * g * g];
    for p in normalised {
        let (bin, gx, gy, d) = realistic_cell(p);
        let cell = &mut grid[(bin * g + gx) * g + gy];
        *cell = cell.max(d);
    }
    grid
}

/// §3 densify: per slice, 7×7 max pool, stride 1, padding 2: 112 → 110. A 2-D max is the max of
/// column maxima, so the window is taken as a 7-row max, then a 7-column max (same values, 14
/// comparisons instead of 49).
pub fn densify(grid: &[f32]) -> Vec<f32> {
    let (g, s) = (REALISTIC_GRID, REALISTIC_SIZE);
    let (pad, reach) = (DENSIFY_PADDING, DENSIFY_WINDOW - DENSIFY_PADDING - 1);
    let window = |i: usize| i.saturating_sub(pad)..=(i + reach).min(g - 1);
    let mut out = vec![0f32; DEPTH_BINS * s * s];
    let mut rows = vec![0f32; s * g];
    for b in 0..DEPTH_BINS {
        let slice = &grid[b * g * g..][..g * g];
        for i in 0..s {
            for x in 0..g {
                rows[i * g + x] = window(i).map(|y| slice[y * g + x]).fold(0f32, f32::max);
            }
        }
        for i in 0..s {
            for j in 0..s {
                out[(b * s + i) * s + j] = window(j).map(|x| rows[i * g + x]).fold(0f32, f32::max);
            }
        }
    }
    out
}

/// §3 smooth: per slice, 3×3 Gaussian with zero padding.
pub fn smooth(dense: &[f32]) -> Vec<f32> {
    let s = REALISTIC_SIZE as isize;
    let w = gaussian_3x3();
    let mut out = vec![0f32; dense.len()];
    for b in 0..DEPTH_BINS {
        let slice = &dense[b * (s * s) as usize..][..(s * s) as usize];
        for i in 0..s {
            for j in 0..s {
                let mut acc = 0f32;
                for di in -1..=1isize {
                    for dj in -1..=1isize {
                        let (y, x) = (i + di, j + dj);
                        if (0..s).contains(&y) && (0..s).contains(&x) {
                            acc += w[(di + 1) as usize][(dj + 1) as usize]
                                * slice[(y * s + x) as usize];
                        }
                    }
                }
                out[(b as isize * s * s + i * s + j) as usize] = acc;
            }
        }
    }
    out
}

/// §3 squeeze: max over slices, then `1 − img / max(img)`; an empty image is all 1.
pub fn squeeze(smoothed: &[f32]) -> Vec<f32> {
    let n = REALISTIC_SIZE * REALISTIC_SIZE;
    let mut img: Vec<f32> = (0..n)
        .map(|i| {
            (0..DEPTH_BINS)
                .map(|b| smoothed[b * n + i])
                .fold(0f32, f32::max)
        })
        .collect();
    let max = img.iter().copied().fold(0f32, f32::max);
    for v in &mut img {
        *v = if max > 0.0 { 1.0 - *v / max } else { 1.0 };
    }
    img
}

/// §3: one realistic view, 110×110.
pub fn realistic_view(points: &[Point3<f32>], view: &View) -> Vec<f32> {
    squeeze(&smooth(&densify(&realistic_grid(&realistic_normalised(
        points, view,
    )))))
}
