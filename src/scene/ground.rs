//! Ground and background (METHOD.md §8): the file's ASPRS classes, the Simple Morphological
//! Filter, or the dominant plane.
//!
//! No maintained Rust crate implements SMRF, so [`smrf`] is written here from Pingel, Clarke &
//! McBride (2013), "An improved simple morphological filter for the terrain classification of
//! airborne LIDAR data", and the algorithm PDAL documents for `filters.smrf`, with PDAL's defaults
//! and its choices where the paper leaves room: a minimum-elevation grid anchored at the
//! cloud's minimum corner, empty cells filled with the mean of the 8 nearest filled cells,
//! openings with diamond-shaped windows (PDAL's stand-in for the paper's disks) grown one cell per
//! step, a low-outlier pass (slope 5, window 1), and a point tested against its own cell of the
//! provisional surface. PDAL's `returns` filter (last and only returns) is not applied: the
//! loaded cloud has no return numbers.

use crate::cloud::{PointCloud, UpAxis};
use kiddo::immutable::float::kdtree::ImmutableKdTree;
use kiddo::SquaredEuclidean;
use nalgebra::Point3;
use std::num::NonZero;

/// ASPRS class of ground points.
pub const ASPRS_GROUND: u8 = 2;
/// ASPRS classes of noise (low and high), dropped by `classified`.
pub const ASPRS_NOISE: [u8; 2] = [7, 18];

/// What a point is before clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Role {
    /// Not ground: may belong to an object.
    Other = 0,
    /// Ground (or the dominant plane).
    Ground = 1,
    /// Noise (ASPRS 7 or 18): in no object.
    Noise = 2,
}

/// How ground is found.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum GroundMethod {
    /// `Classified` when the cloud has ASPRS class-2 points, else `Smrf` for z-up clouds at least
    /// SMRF's window (18 m) across, and `Plane` for others (y-up clouds, robots' scans).
    #[default]
    Auto,
    /// The file's ASPRS classes: 2 is ground, 7 and 18 are noise.
    Classified,
    /// The Simple Morphological Filter.
    Smrf(SmrfParams),
    /// The dominant plane, by seeded RANSAC.
    Plane(PlaneParams),
    /// No ground: every point may belong to an object.
    None,
}

/// A method by name, with its default parameters: `auto`, `classified`, `smrf`, `plane`, `none`.
impl std::str::FromStr for GroundMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "classified" => Ok(Self::Classified),
            "smrf" => Ok(Self::Smrf(SmrfParams::default())),
            "plane" => Ok(Self::Plane(PlaneParams::default())),
            "none" => Ok(Self::None),
            _ => Err(format!(
                "unknown ground method {s:?}: use auto, classified, smrf, plane or none"
            )),
        }
    }
}

impl GroundMethod {
    /// The method's name as the command line spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Classified => "classified",
            Self::Smrf(_) => "smrf",
            Self::Plane(_) => "plane",
            Self::None => "none",
        }
    }

    /// The method `Auto` stands for on `cloud` (a cloud in metres); other methods stand for
    /// themselves.
    pub fn resolve(&self, cloud: &PointCloud) -> GroundMethod {
        self.resolve_with_window(cloud, SmrfParams::default().window)
    }

    /// [`GroundMethod::resolve`] with SMRF's window in the cloud's units: `Auto` picks SMRF for
    /// z-up clouds at least that wide.
    pub(crate) fn resolve_with_window(&self, cloud: &PointCloud, window: f64) -> GroundMethod {
        match self {
            Self::Auto => {
                let has_ground = cloud
                    .classification
                    .as_ref()
                    .is_some_and(|c| c.contains(&ASPRS_GROUND));
                if has_ground {
                    Self::Classified
                } else if cloud.up_axis == UpAxis::Z && horizontal_extent(cloud) >= window {
                    Self::Smrf(SmrfParams::default())
                } else {
                    // A z-up scan smaller than SMRF's window is a robot's, not an aerial tile:
                    // its objects stand on a floor or a table, which a plane models exactly.
                    Self::Plane(PlaneParams::default())
                }
            }
            other => *other,
        }
    }
}

/// The larger of the cloud's x and y extents (z up).
fn horizontal_extent(cloud: &PointCloud) -> f64 {
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in &cloud.positions {
        for a in 0..2 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    (0..2).map(|a| f64::from(hi[a] - lo[a])).fold(0.0, f64::max)
}

/// SMRF settings, with PDAL `filters.smrf`'s defaults.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SmrfParams {
    /// Grid cell size (m); PDAL `cell`, 1.0.
    pub cell: f64,
    /// Slope tolerance (rise over run); PDAL `slope`, 0.15.
    pub slope: f64,
    /// Largest window radius (m); PDAL `window`, 18.
    pub window: f64,
    /// Height above the provisional surface still counted as ground (m); PDAL `threshold`, 0.5.
    pub threshold: f64,
    /// Extra height allowed per unit of the surface's slope; PDAL `scalar`, 1.25.
    pub scalar: f64,
}

impl Default for SmrfParams {
    fn default() -> Self {
        SmrfParams {
            cell: 1.0,
            slope: 0.15,
            window: 18.0,
            threshold: 0.5,
            scalar: 1.25,
        }
    }
}

/// RANSAC plane settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PlaneParams {
    /// Largest distance of an inlier from the plane (m): 0.02, as PCL's cluster-extraction
    /// tutorial segments a table top.
    pub distance: f64,
    /// Hypotheses tried.
    pub iterations: usize,
    /// Largest angle between the plane's normal and the up axis (degrees); `None` takes any plane.
    pub max_tilt_deg: Option<f64>,
    /// Seed of the sampler: the same cloud always gives the same plane.
    pub seed: u64,
}

impl Default for PlaneParams {
    fn default() -> Self {
        PlaneParams {
            distance: 0.02,
            iterations: 1000,
            max_tilt_deg: Some(45.0),
            seed: 0,
        }
    }
}

/// Points scored per RANSAC hypothesis: a fixed random sample, so that huge scans cost the same.
const PLANE_SCORE_SAMPLE: usize = 50_000;

/// Cells of an SMRF grid beyond which the cloud is refused (7 km × 7 km at 1 m; each grid holds
/// 8 bytes per cell and SMRF keeps a few at once).
const SMRF_MAX_CELLS: usize = 50_000_000;

/// What a ground method found: its own role for every point and, when it has a ground surface,
/// each point's height above it (METHOD.md §8).
#[derive(Debug, Clone, PartialEq)]
pub struct GroundModel {
    /// The method's own flags: ground (SMRF's threshold test, class 2, the plane's inliers),
    /// noise (ASPRS 7 and 18) or other.
    pub roles: Vec<Role>,
    /// Height above the ground surface per point, in the cloud's units (the signed distance
    /// from the plane for `plane`); None for `none`, and where there is no surface
    /// (`classified` without class-2 points, `plane` without a plane).
    pub height: Option<Vec<f32>>,
}

/// The role of every point of `cloud` under `method` (after resolving `Auto`, in metres).
pub fn segment(cloud: &PointCloud, method: &GroundMethod) -> Result<Vec<Role>, String> {
    ground_model(cloud, method).map(|m| m.roles)
}

/// The ground model of `cloud` under `method`, whose parameters are in the cloud's units
/// (`Auto` is resolved as for a cloud in metres).
pub fn ground_model(cloud: &PointCloud, method: &GroundMethod) -> Result<GroundModel, String> {
    let flags = |g: Vec<bool>| -> Vec<Role> {
        g.into_iter()
            .map(|g| if g { Role::Ground } else { Role::Other })
            .collect()
    };
    match method.resolve(cloud) {
        GroundMethod::Auto => unreachable!("resolve never answers Auto"),
        GroundMethod::Classified => {
            let roles = classified(cloud)?;
            let height = nearest_ground_height(&cloud.positions, cloud.up_axis, &roles);
            Ok(GroundModel { roles, height })
        }
        GroundMethod::Smrf(p) => {
            let (g, height) = smrf_with_height(&cloud.positions, cloud.up_axis, &p)?;
            Ok(GroundModel {
                roles: flags(g),
                height: Some(height),
            })
        }
        GroundMethod::Plane(p) => Ok(match plane_fit(&cloud.positions, cloud.up_axis, &p) {
            Some(fit) => {
                let d: Vec<f32> = cloud
                    .positions
                    .iter()
                    .map(|q| fit.distance(q) as f32)
                    .collect();
                GroundModel {
                    roles: flags(d.iter().map(|d| f64::from(d.abs()) <= p.distance).collect()),
                    height: Some(d),
                }
            }
            None => GroundModel {
                roles: vec![Role::Other; cloud.len()],
                height: None,
            },
        }),
        GroundMethod::None => Ok(GroundModel {
            roles: vec![Role::Other; cloud.len()],
            height: None,
        }),
    }
}

/// Height above the nearest ground point in the horizontal plane, as PDAL `filters.hag_nn` with
/// its default `count` of 1: a provider's class-2 points are a measured surface, and a height is
/// taken from the nearest of them. None when no point is ground.
fn nearest_ground_height(points: &[Point3<f32>], up: UpAxis, roles: &[Role]) -> Option<Vec<f32>> {
    use rayon::prelude::*;
    let ground: Vec<[f64; 3]> = points
        .iter()
        .zip(roles)
        .filter(|(_, r)| **r == Role::Ground)
        .map(|(q, _)| split(q, up))
        .collect();
    if ground.is_empty() {
        return None;
    }
    let plan: Vec<[f64; 2]> = ground.iter().map(|g| [g[0], g[1]]).collect();
    let tree: ImmutableKdTree<f64, u32, 2, 32> = ImmutableKdTree::new_from_slice(&plan);
    Some(
        points
            .par_iter()
            .map(|q| {
                let q = split(q, up);
                let n = tree.nearest_one::<SquaredEuclidean>(&[q[0], q[1]]);
                (q[2] - ground[n.item as usize][2]) as f32
            })
            .collect(),
    )
}

fn classified(cloud: &PointCloud) -> Result<Vec<Role>, String> {
    let classes = cloud.classification.as_ref().ok_or_else(|| {
        "--ground classified needs per-point classes (LAS classification), and this cloud has none"
            .to_string()
    })?;
    Ok(classes
        .iter()
        .map(|&c| {
            if c == ASPRS_GROUND {
                Role::Ground
            } else if ASPRS_NOISE.contains(&c) {
                Role::Noise
            } else {
                Role::Other
            }
        })
        .collect())
}

/// (horizontal a, horizontal b, height) of a point for its up axis.
fn split(p: &Point3<f32>, up: UpAxis) -> [f64; 3] {
    match up {
        UpAxis::Z => [p.x as f64, p.y as f64, p.z as f64],
        UpAxis::Y => [p.x as f64, p.z as f64, p.y as f64],
    }
}

/// A row-major grid of f64 cells.
#[derive(Clone)]
struct Grid {
    rows: usize,
    cols: usize,
    v: Vec<f64>,
}

impl Grid {
    fn at(&self, r: usize, c: usize) -> f64 {
        self.v[r * self.cols + c]
    }
}

/// SMRF ground flags, one per point (METHOD.md §8).
pub fn smrf(points: &[Point3<f32>], up: UpAxis, p: &SmrfParams) -> Result<Vec<bool>, String> {
    smrf_with_height(points, up, p).map(|(g, _)| g)
}

/// SMRF ground flags and each point's height above SMRF's provisional surface, bilinearly
/// interpolated between cell centres (the surface PDAL `filters.smrf` tests points against, made
/// continuous here so that a height does not jump at cell edges).
pub fn smrf_with_height(
    points: &[Point3<f32>],
    up: UpAxis,
    p: &SmrfParams,
) -> Result<(Vec<bool>, Vec<f32>), String> {
    let Some(s) = smrf_surface(points, up, p)? else {
        return Ok((vec![false; points.len()], vec![f32::NAN; points.len()]));
    };
    Ok(points
        .iter()
        .map(|q| {
            let q = split(q, up);
            if !q.iter().all(|c| c.is_finite()) {
                return (false, f32::NAN);
            }
            let k = s.cell_of(&q);
            let (z, slope) = (s.pro.v[k], s.slope[k]);
            let ground = !z.is_nan() && (z - q[2]).abs() <= p.threshold + p.scalar * slope;
            (ground, (q[2] - s.bilinear(q[0], q[1])) as f32)
        })
        .unzip())
}

/// SMRF's provisional ground surface on its grid, and the surface's slope per cell.
struct SmrfSurface {
    minx: f64,
    miny: f64,
    cell: f64,
    pro: Grid,
    slope: Vec<f64>,
}

impl SmrfSurface {
    fn cell_of(&self, q: &[f64; 3]) -> usize {
        let c = (((q[0] - self.minx) / self.cell).floor() as usize).min(self.pro.cols - 1);
        let r = (((q[1] - self.miny) / self.cell).floor() as usize).min(self.pro.rows - 1);
        r * self.pro.cols + c
    }

    /// The surface at (a, b): bilinear between the four nearest cell centres, clamped at the
    /// grid's edges.
    fn bilinear(&self, a: f64, b: f64) -> f64 {
        let g = &self.pro;
        let fx = ((a - self.minx) / self.cell - 0.5).clamp(0.0, (g.cols - 1) as f64);
        let fy = ((b - self.miny) / self.cell - 0.5).clamp(0.0, (g.rows - 1) as f64);
        let (c0, r0) = (fx.floor() as usize, fy.floor() as usize);
        let (c1, r1) = ((c0 + 1).min(g.cols - 1), (r0 + 1).min(g.rows - 1));
        let (tx, ty) = (fx - c0 as f64, fy - r0 as f64);
        let row = |r| (1.0 - tx) * g.at(r, c0) + tx * g.at(r, c1);
        (1.0 - ty) * row(r0) + ty * row(r1)
    }
}

/// SMRF's steps 1–3 (Pingel et al. 2013) and the slope of step 4; None when no point is finite.
fn smrf_surface(
    points: &[Point3<f32>],
    up: UpAxis,
    p: &SmrfParams,
) -> Result<Option<SmrfSurface>, String> {
    if !(p.cell > 0.0 && p.cell.is_finite() && p.window >= 0.0 && p.window.is_finite()) {
        return Err(format!(
            "SMRF needs a positive cell and a window ≥ 0 (got cell {} and window {})",
            p.cell, p.window
        ));
    }
    let xyz: Vec<[f64; 3]> = points.iter().map(|q| split(q, up)).collect();
    let finite = |q: &[f64; 3]| q.iter().all(|c| c.is_finite());
    if !xyz.iter().any(finite) {
        return Ok(None);
    }
    let (mut minx, mut miny, mut maxx, mut maxy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for q in xyz.iter().filter(|q| finite(q)) {
        minx = minx.min(q[0]);
        miny = miny.min(q[1]);
        maxx = maxx.max(q[0]);
        maxy = maxy.max(q[1]);
    }
    let cols = ((maxx - minx) / p.cell) as usize + 1;
    let rows = ((maxy - miny) / p.cell) as usize + 1;
    if rows.saturating_mul(cols) > SMRF_MAX_CELLS {
        return Err(format!(
            "SMRF grid of {rows} × {cols} cells at cell {} is too large; use a larger --smrf-cell",
            p.cell
        ));
    }
    let mut s = SmrfSurface {
        minx,
        miny,
        cell: p.cell,
        pro: Grid {
            rows,
            cols,
            v: vec![f64::NAN; rows * cols],
        },
        slope: Vec::new(),
    };
    // 1. Minimum elevation per cell, empty cells filled.
    let mut zmin = s.pro.clone();
    for q in xyz.iter().filter(|q| finite(q)) {
        let k = s.cell_of(q);
        if zmin.v[k].is_nan() || q[2] < zmin.v[k] {
            zmin.v[k] = q[2];
        }
    }
    let zmin = knn_fill(zmin);
    // 2. Low outliers, then objects, by progressive opening.
    let negated = Grid {
        v: zmin.v.iter().map(|z| -z).collect(),
        ..zmin.clone()
    };
    let low = progressive_filter(&negated, p.cell, 5.0, 1.0);
    let obj = progressive_filter(&zmin, p.cell, p.slope, p.window);
    // 3. The provisional surface: ground cells of the minimum surface, the rest filled.
    let mut pro = zmin;
    for (k, v) in pro.v.iter_mut().enumerate() {
        if obj[k] || low[k] {
            *v = f64::NAN;
        }
    }
    s.pro = knn_fill(pro);
    // 4. (its first half) The surface's slope, which widens the threshold on steep ground.
    s.slope = gradient_magnitude(&s.pro, p.cell);
    Ok(Some(s))
}

/// Fills NaN cells with the mean of the 8 nearest filled cells (by cell centre). A grid without
/// any filled cell stays as it is.
fn knn_fill(mut g: Grid) -> Grid {
    let filled: Vec<usize> = (0..g.v.len()).filter(|&k| !g.v[k].is_nan()).collect();
    if filled.is_empty() || filled.len() == g.v.len() {
        return g;
    }
    let centres: Vec<[f64; 2]> = filled
        .iter()
        .map(|&k| [(k % g.cols) as f64, (k / g.cols) as f64])
        .collect();
    let tree: ImmutableKdTree<f64, u32, 2, 32> = ImmutableKdTree::new_from_slice(&centres);
    let k_nearest = NonZero::new(8.min(filled.len())).expect("at least one filled cell");
    let source = g.v.clone();
    for (k, v) in g.v.iter_mut().enumerate() {
        if !v.is_nan() {
            continue;
        }
        let q = [(k % g.cols) as f64, (k / g.cols) as f64];
        let near = tree.nearest_n::<SquaredEuclidean>(&q, k_nearest);
        let sum: f64 = near.iter().map(|n| source[filled[n.item as usize]]).sum();
        *v = sum / near.len() as f64;
    }
    g
}

/// One step of erosion (`min`) or dilation (`max`) with the radius-1 diamond (the cell and its
/// four edge neighbours), written over whole rows so that it stays fast without optimisation.
fn diamond_step(g: &Grid, min: bool) -> Grid {
    let pick = if min { f64::min } else { f64::max };
    let cols = g.cols;
    let mut out = g.v.clone();
    for (r, o) in out.chunks_exact_mut(cols).enumerate() {
        let row = &g.v[r * cols..(r + 1) * cols];
        for (x, &left) in o[1..].iter_mut().zip(row) {
            *x = pick(*x, left);
        }
        for (x, &right) in o.iter_mut().zip(&row[1..]) {
            *x = pick(*x, right);
        }
        if r > 0 {
            for (x, &up) in o.iter_mut().zip(&g.v[(r - 1) * cols..r * cols]) {
                *x = pick(*x, up);
            }
        }
        if r + 1 < g.rows {
            for (x, &down) in o.iter_mut().zip(&g.v[(r + 1) * cols..(r + 2) * cols]) {
                *x = pick(*x, down);
            }
        }
    }
    Grid { v: out, ..*g }
}

/// Cells flagged as objects by openings of growing radius 1…⌈window/cell⌉: a cell is an object
/// when an opening lowers it by more than `slope × cell × radius` below the previous opening.
fn progressive_filter(z: &Grid, cell: f64, slope: f64, window: f64) -> Vec<bool> {
    let max_radius = (window / cell).ceil() as usize;
    let mut obj = vec![false; z.v.len()];
    let mut previous = z.clone();
    let mut erosion = z.clone();
    for radius in 1..=max_radius {
        // Eroding the last erosion by one diamond step erodes z by a diamond of this radius.
        erosion = diamond_step(&erosion, true);
        let mut opening = erosion.clone();
        for _ in 0..radius {
            opening = diamond_step(&opening, false);
        }
        let threshold = slope * cell * radius as f64;
        for (k, o) in obj.iter_mut().enumerate() {
            if previous.v[k] - opening.v[k] > threshold {
                *o = true;
            }
        }
        previous = opening;
    }
    obj
}

/// |∇z| of the surface in height per unit distance: central differences inside, one-sided at the
/// edges (as MATLAB's and Eigen-based `gradient`).
fn gradient_magnitude(g: &Grid, cell: f64) -> Vec<f64> {
    let d = |lo: f64, hi: f64, steps: f64| (hi - lo) / (steps * cell);
    let mut out = vec![0.0; g.v.len()];
    for r in 0..g.rows {
        for c in 0..g.cols {
            let gx = match (c > 0, c + 1 < g.cols) {
                (true, true) => d(g.at(r, c - 1), g.at(r, c + 1), 2.0),
                (false, true) => d(g.at(r, c), g.at(r, c + 1), 1.0),
                (true, false) => d(g.at(r, c - 1), g.at(r, c), 1.0),
                (false, false) => 0.0,
            };
            let gy = match (r > 0, r + 1 < g.rows) {
                (true, true) => d(g.at(r - 1, c), g.at(r + 1, c), 2.0),
                (false, true) => d(g.at(r, c), g.at(r + 1, c), 1.0),
                (true, false) => d(g.at(r - 1, c), g.at(r, c), 1.0),
                (false, false) => 0.0,
            };
            out[r * g.cols + c] = (gx * gx + gy * gy).sqrt();
        }
    }
    out
}

/// A small seeded xorshift generator: RANSAC must give the same plane on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A plane `normal · q + offset = 0`, its normal on the up axis's side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plane {
    /// Unit normal, pointing up (its up component ≥ 0).
    pub normal: [f64; 3],
    /// Minus the normal's dot product with a point of the plane.
    pub offset: f64,
}

impl Plane {
    /// Signed distance of a point from the plane, positive above it.
    pub fn distance(&self, q: &Point3<f32>) -> f64 {
        let n = self.normal;
        n[0] * q.x as f64 + n[1] * q.y as f64 + n[2] * q.z as f64 + self.offset
    }
}

/// Inlier flags of the largest plane found by seeded RANSAC (METHOD.md §8). When
/// `max_tilt_deg` is set, only planes whose normal is within that angle of the up axis count.
/// A cloud with fewer than 3 points, or without an acceptable plane, has no ground.
pub fn plane(points: &[Point3<f32>], up: UpAxis, p: &PlaneParams) -> Vec<bool> {
    match plane_fit(points, up, p) {
        Some(fit) => points
            .iter()
            .map(|q| fit.distance(q).abs() <= p.distance)
            .collect(),
        None => vec![false; points.len()],
    }
}

/// The plane [`plane`] takes its inliers from, or None.
pub fn plane_fit(points: &[Point3<f32>], up: UpAxis, p: &PlaneParams) -> Option<Plane> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let mut rng = XorShift(p.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let sample: Vec<usize> = if n <= PLANE_SCORE_SAMPLE {
        (0..n).collect()
    } else {
        (0..PLANE_SCORE_SAMPLE).map(|_| rng.below(n)).collect()
    };
    let up_vec = match up {
        UpAxis::Y => [0.0, 1.0, 0.0],
        UpAxis::Z => [0.0, 0.0, 1.0],
    };
    let min_cos = p.max_tilt_deg.map(|a| a.to_radians().cos());
    let at = |i: usize| {
        let q = points[i];
        [q.x as f64, q.y as f64, q.z as f64]
    };
    let mut best: Option<([f64; 3], f64, usize)> = None;
    for _ in 0..p.iterations {
        let (a, b, c) = (at(rng.below(n)), at(rng.below(n)), at(rng.below(n)));
        let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let nrm = [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ];
        let len = (nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]).sqrt();
        if len.is_nan() || len <= 1e-12 {
            continue;
        }
        let nrm = nrm.map(|x| x / len);
        if let Some(min_cos) = min_cos {
            let cos = (nrm[0] * up_vec[0] + nrm[1] * up_vec[1] + nrm[2] * up_vec[2]).abs();
            if cos < min_cos {
                continue;
            }
        }
        let d = -(nrm[0] * a[0] + nrm[1] * a[1] + nrm[2] * a[2]);
        let inliers = sample
            .iter()
            .filter(|&&i| {
                let q = at(i);
                (nrm[0] * q[0] + nrm[1] * q[1] + nrm[2] * q[2] + d).abs() <= p.distance
            })
            .count();
        if best.is_none_or(|b| inliers > b.2) {
            best = Some((nrm, d, inliers));
        }
    }
    best.map(|(nrm, d, _)| {
        let sign = if nrm[0] * up_vec[0] + nrm[1] * up_vec[1] + nrm[2] * up_vec[2] >= 0.0 {
            1.0
        } else {
            -1.0
        };
        Plane {
            normal: nrm.map(|x| sign * x),
            offset: sign * d,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 40 m × 40 m sloped ground every 0.5 m with a 6 m × 6 m × 8 m block on it.
    fn ground_and_block() -> (Vec<Point3<f32>>, Vec<bool>) {
        let mut pts = Vec::new();
        let mut truth = Vec::new();
        for i in 0..80 {
            for j in 0..80 {
                let (x, y) = (i as f32 * 0.5, j as f32 * 0.5);
                let z = 0.05 * x;
                let on_block = (15.0..21.0).contains(&x) && (15.0..21.0).contains(&y);
                pts.push(Point3::new(x, y, if on_block { z + 8.0 } else { z }));
                truth.push(!on_block);
            }
        }
        (pts, truth)
    }

    #[test]
    fn smrf_separates_a_block_from_sloped_ground() {
        let (pts, truth) = ground_and_block();
        let g = smrf(&pts, UpAxis::Z, &SmrfParams::default()).unwrap();
        assert_eq!(g, truth);
    }

    #[test]
    fn plane_finds_the_floor_and_respects_the_tilt_limit() {
        let (mut pts, _) = ground_and_block();
        // Flatten the ground and put a steep wall (normal along x) that is larger than it.
        for p in pts.iter_mut() {
            if p.z < 5.0 {
                p.z = 0.0;
            }
        }
        let floor = pts.len();
        for i in 0..100 {
            for j in 0..100 {
                pts.push(Point3::new(-10.0, i as f32 * 0.4, (j + 1) as f32 * 0.4));
            }
        }
        let g = plane(&pts, UpAxis::Z, &PlaneParams::default());
        let on_floor = pts.iter().map(|p| p.z == 0.0);
        assert!(g.iter().zip(on_floor).all(|(g, f)| *g == f));
        assert!(!g[floor..].iter().any(|&g| g));
        let any = PlaneParams {
            max_tilt_deg: None,
            ..Default::default()
        };
        let g = plane(&pts, UpAxis::Z, &any);
        assert!(
            g[floor..].iter().all(|&g| g),
            "the wall is the largest plane"
        );
    }
}
