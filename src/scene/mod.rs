//! Scenes: find the objects in a LiDAR tile or a robot's scan, classify each, write the labels
//! back (METHOD.md §8).
//!
//! A scene is split in three steps before §1–§6 run per object:
//! 1. [`ground`]: each point is ground, noise or other (`classified`, `smrf`, `plane`, `none`);
//! 2. [`cluster`]: the other points form objects (Euclidean as PDAL `filters.cluster`, or DBSCAN
//!    as Open3D `cluster_dbscan`), with IDs from 1 and 0 for "in no object";
//! 3. every object is re-centred on its centroid in f64 and classified as one cloud, all objects
//!    of a scene projected and encoded in shared batches.
//!
//! ```no_run
//! use calip3d::classify::Classifier;
//! use calip3d::load::{load, LoadOptions};
//! use calip3d::project::Projection;
//! use calip3d::scene::SceneOptions;
//!
//! let classifier = Classifier::builder().model("path/to/clip").build()?;
//! let classes = classifier.classes(&["car", "tree", "building", "person"])?;
//! // Scenes need every point: max_points 0.
//! let cloud = load("tile.laz".as_ref(), &LoadOptions { max_points: 0, ..Default::default() })?;
//! let scene = classifier.classify_scene(&cloud, &classes, &SceneOptions::default())?;
//! for object in &scene.objects {
//!     println!("{} {} {:?} {}", object.cluster_id, object.points, object.centroid, object.class());
//! }
//! // Per point: scene.cluster_ids[i] (0 = none), scene.labels[i] (1 + class index, 0 = none).
//! # Ok::<(), calip3d::Error>(())
//! ```
//!
//! Memory: besides the cloud itself (29 bytes per LAS point as [`load`](crate::load) keeps it), a
//! scene holds 11 bytes per point (role, cluster ID, label, a point index per object) and, while
//! clustering, 36 bytes per non-ground point (the kd-tree's copy of the points and their indices,
//! the candidates and the union–find forest). BENCHMARKS.md has the measured peak.

pub mod cluster;
pub mod geometry;
pub mod ground;
mod object;
pub mod plot;
pub mod write;

pub use cluster::{ClusterMethod, ClusterParams};
pub use geometry::OrientedBox;
pub use ground::{GroundMethod, GroundModel, PlaneParams, Role, SmrfParams};
pub use object::{
    file_lines, object_json, object_line, summary_json, ObjectsFormat, ObjectsWriter,
};
pub(crate) use object::{CSV_HEADER, CSV_HEADER_LINE};

use crate::classify::{ClassSet, Classifier, Prediction};
use crate::cloud::{Bounds, PointCloud, UpAxis};
use crate::error::{Error, Result};
use nalgebra::Point3;
use std::sync::Arc;
use std::time::Instant;

/// Smallest link distance for aerial scans (classified or SMRF ground), m: PDAL
/// `filters.cluster`'s default `tolerance`.
pub const AERIAL_RADIUS: f64 = 1.0;
/// Smallest aerial object, points (a car in a 10 points/m² tile has about 100, in a thinned
/// 1 point/m² tile about 10).
pub const AERIAL_MIN_POINTS: usize = 30;
/// An unset link distance is at least this many times the median spacing of the non-ground
/// points (so that thinned tiles, at 1–2 m spacing, still form objects).
pub const SPACING_FACTOR: f64 = 3.0;
/// Link distance for robot scans (plane or no ground), m: PCL's cluster-extraction tutorial.
pub const ROBOT_RADIUS: f64 = 0.02;
/// Smallest robot-scan object, points: PCL's cluster-extraction tutorial.
pub const ROBOT_MIN_POINTS: usize = 100;
/// DBSCAN's core-point count when none is given: Open3D's `cluster_dbscan` tutorial.
pub const DBSCAN_MIN_POINTS: usize = 10;
/// Height above the ground model up to which a point of an aerial scene is ground, m: five
/// standard deviations of a survey-grade tile's vertical noise (σ ≈ 2 cm), and low enough that a
/// 1.5 m object loses at most its lowest fifteenth. README "Scenes" has the measured share of
/// provider ground above it.
pub const MIN_HEIGHT: f64 = 0.1;

/// Lengths given in the cloud's own units, which are taken as they are; unset ones are metric
/// defaults scaled to the file's unit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Lengths {
    /// SMRF's cell.
    pub smrf_cell: Option<f64>,
    /// SMRF's largest window radius.
    pub smrf_window: Option<f64>,
    /// SMRF's height threshold.
    pub smrf_threshold: Option<f64>,
    /// The plane's inlier distance.
    pub plane_distance: Option<f64>,
}

/// How a scene is split into ground and objects. Unset distances and counts take the defaults of
/// the scene's kind: aerial ([`AERIAL_RADIUS`], [`AERIAL_MIN_POINTS`], [`MIN_HEIGHT`]) when
/// ground is classified or SMRF, robot ([`ROBOT_RADIUS`], [`ROBOT_MIN_POINTS`], the plane's
/// distance) otherwise; an unset radius is also at least [`SPACING_FACTOR`] × the median spacing
/// of the object candidates. DBSCAN's `min_points` defaults to [`DBSCAN_MIN_POINTS`].
///
/// Units: the parameters inside [`GroundMethod`] and the defaults are metres, scaled to the
/// file's CRS unit (a tile in US survey feet gets a 3.28 ft SMRF cell); `radius`, `min_height`
/// and `lengths` are in the cloud's own units and are taken as they are.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneOptions {
    /// How ground is found (default `auto`).
    pub ground: GroundMethod,
    /// Euclidean (default) or DBSCAN.
    pub cluster: ClusterMethod,
    /// Link distance (Euclidean `tolerance`, DBSCAN `eps`), in the cloud's units.
    pub radius: Option<f64>,
    /// Euclidean: smallest object; DBSCAN: neighbours of a core point, itself included.
    pub min_points: Option<usize>,
    /// Largest object kept (default: no limit).
    pub max_points: Option<usize>,
    /// Objects projected and encoded together; with the views per object this bounds memory.
    pub objects_per_batch: usize,
    /// Height above the ground model (in the cloud's units) up to which a point is ground; only
    /// higher points can be in objects (for `plane`, farther from the plane on either side).
    pub min_height: Option<f64>,
    /// Ground in [`Scene::roles`] (and so in `--asprs` output) is the method's own flag (SMRF's
    /// threshold test, class 2, the plane's inliers) instead of the height cut-off.
    pub method_ground: bool,
    /// SMRF and plane lengths in the cloud's units.
    pub lengths: Lengths,
    /// Metres per unit of the cloud's coordinates; None takes the file's CRS unit (metres when
    /// it states none).
    pub metres_per_unit: Option<f64>,
}

impl Default for SceneOptions {
    fn default() -> Self {
        SceneOptions {
            ground: GroundMethod::Auto,
            cluster: ClusterMethod::Euclidean,
            radius: None,
            min_points: None,
            max_points: None,
            objects_per_batch: 8,
            min_height: None,
            method_ground: false,
            lengths: Lengths::default(),
            metres_per_unit: None,
        }
    }
}

/// The unit a scene's lengths are in, and where it came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SceneUnit {
    /// The unit's name (`metre`, `US survey foot`, …).
    pub name: String,
    /// Metres in one unit.
    pub metres: f64,
    /// Where it was found: `wkt` or `geotiff` (the file's CRS), `option` (set by the caller), or
    /// `none: taken as metres`.
    pub found: String,
}

/// A scene's settings with every default resolved for one cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedOptions {
    /// The ground method, `Auto` resolved, its lengths in the cloud's units.
    pub ground: GroundMethod,
    /// The height cut-off, in the cloud's units.
    pub min_height: f64,
    /// Clustering, with the radius's floor (widened to the spacing when the radius is unset).
    pub cluster: ClusterParams,
    /// The cloud's unit.
    pub unit: SceneUnit,
}

impl SceneOptions {
    /// The clustering settings for a scene in metres whose ground is found by `ground` (already
    /// resolved), with the radius's floor when it is unset (then [`Classifier::classify_scene`]
    /// widens it to the points' spacing).
    pub fn cluster_params(&self, ground: &GroundMethod) -> ClusterParams {
        self.cluster_params_scaled(ground, 1.0)
    }

    /// [`SceneOptions::cluster_params`] with metric defaults times `per_metre` (units per metre).
    fn cluster_params_scaled(&self, ground: &GroundMethod, per_metre: f64) -> ClusterParams {
        let (radius, min_points) = Self::kind_defaults(ground);
        let min_points = match self.cluster {
            ClusterMethod::Euclidean => min_points,
            ClusterMethod::Dbscan => DBSCAN_MIN_POINTS,
        };
        ClusterParams {
            method: self.cluster,
            radius: self.radius.unwrap_or(radius * per_metre),
            min_points: self.min_points.unwrap_or(min_points),
            max_points: self.max_points.unwrap_or(usize::MAX),
        }
    }

    fn kind_defaults(ground: &GroundMethod) -> (f64, usize) {
        if matches!(ground, GroundMethod::Classified | GroundMethod::Smrf(_)) {
            (AERIAL_RADIUS, AERIAL_MIN_POINTS)
        } else {
            (ROBOT_RADIUS, ROBOT_MIN_POINTS)
        }
    }

    /// Every default resolved for `cloud`: its unit (the option, else its CRS's, else metres),
    /// `Auto`, and the metric defaults scaled to the unit.
    pub fn resolve(&self, cloud: &PointCloud) -> ResolvedOptions {
        let unit = match (self.metres_per_unit, &cloud.meta.crs_unit) {
            (Some(m), _) => SceneUnit {
                name: format!("{m} m"),
                metres: m,
                found: "option".into(),
            },
            (None, Some(u)) => SceneUnit {
                name: u.name.clone(),
                metres: u.metres,
                found: u.source.into(),
            },
            (None, None) => SceneUnit {
                name: "metre".into(),
                metres: 1.0,
                found: "none: taken as metres".into(),
            },
        };
        let k = 1.0 / unit.metres;
        let l = &self.lengths;
        let window = l.smrf_window.unwrap_or(SmrfParams::default().window * k);
        let ground = match self.ground.resolve_with_window(cloud, window) {
            GroundMethod::Smrf(p) => GroundMethod::Smrf(SmrfParams {
                cell: l.smrf_cell.unwrap_or(p.cell * k),
                window: l.smrf_window.unwrap_or(p.window * k),
                threshold: l.smrf_threshold.unwrap_or(p.threshold * k),
                ..p
            }),
            GroundMethod::Plane(p) => GroundMethod::Plane(PlaneParams {
                distance: l.plane_distance.unwrap_or(p.distance * k),
                ..p
            }),
            other => other,
        };
        let min_height = self.min_height.unwrap_or(match ground {
            GroundMethod::Plane(p) => p.distance,
            _ => MIN_HEIGHT * k,
        });
        ResolvedOptions {
            cluster: self.cluster_params_scaled(&ground, k),
            ground,
            min_height,
            unit,
        }
    }
}

/// One object of a scene and its classification.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneObject {
    /// Its cluster ID (from 1), as in [`Scene::cluster_ids`].
    pub cluster_id: u32,
    /// Points in the object.
    pub points: usize,
    /// Mean of its points, in the file's own coordinates.
    pub centroid: [f64; 3],
    /// Its bounds, in the file's own coordinates.
    pub bounds: Bounds,
    /// Its top's height above the ground model (its highest point's), in the file's units; None
    /// without a ground surface.
    pub height: Option<f64>,
    /// Area of its footprint (the convex hull of its points seen from above), in square units.
    pub footprint_area: f64,
    /// Its oriented bounding box, in the file's coordinates.
    pub obb: OrientedBox,
    /// The classification of its points, re-centred on the centroid.
    pub prediction: Prediction,
}

impl SceneObject {
    /// Index of the most probable class in the class list.
    pub fn class_index(&self) -> usize {
        let p = &self.prediction.probabilities;
        (0..p.len()).fold(0, |best, i| if p[i] > p[best] { i } else { best })
    }
    /// The most probable class.
    pub fn class(&self) -> &str {
        self.prediction.best().0
    }
    /// Its probability.
    pub fn probability(&self) -> f32 {
        self.prediction.best().1
    }
}

/// Wall-clock milliseconds of each step of a scene.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct SceneTimings {
    /// Finding the ground: the method, its surface, each point's height above it and the
    /// object candidates.
    pub ground: f64,
    /// Clustering the other points.
    pub cluster: f64,
    /// Preparing, projecting, encoding and scoring the objects.
    pub classify: f64,
}

/// A classified scene: per-point arrays (in the cloud's point order) and the objects.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The ground method that ran (`Auto` resolved, lengths in the cloud's units).
    pub ground: GroundMethod,
    /// The height cut-off that ran, in the cloud's units.
    pub min_height: f64,
    /// The cloud's unit, and where it was found.
    pub unit: SceneUnit,
    /// Height above the ground model per point (NaN without a ground surface).
    pub height: Vec<f32>,
    /// The clustering settings that ran (defaults resolved).
    pub cluster: ClusterParams,
    /// Ground, noise or other, per point: ground is at most `min_height` above the ground model
    /// (or the method's own flag, with [`SceneOptions::method_ground`]).
    pub roles: Vec<Role>,
    /// Cluster ID per point: 0 for ground, noise and points in no object.
    pub cluster_ids: Vec<u32>,
    /// Class per point: 1 + the class index of its object, 0 for points in no object.
    pub labels: Vec<u16>,
    /// The objects, by cluster ID (`objects[k].cluster_id == k + 1`).
    pub objects: Vec<SceneObject>,
    /// The class names.
    pub classes: Arc<[String]>,
    /// Where the time went.
    pub timings: SceneTimings,
}

impl Scene {
    /// The object of a point, if it is in one.
    pub fn object_of(&self, point: usize) -> Option<&SceneObject> {
        match self.cluster_ids.get(point) {
            Some(&id) if id > 0 => self.objects.get(id as usize - 1),
            _ => None,
        }
    }
    /// The probability of each point's class (0 for points in no object).
    pub fn probabilities(&self) -> Vec<f32> {
        let per_object: Vec<f32> = self.objects.iter().map(|o| o.probability()).collect();
        self.cluster_ids
            .iter()
            .map(|&id| match id {
                0 => 0.0,
                id => per_object[id as usize - 1],
            })
            .collect()
    }
    /// Points of each role: (ground, noise, other).
    pub fn role_counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for r in &self.roles {
            match r {
                Role::Ground => c.0 += 1,
                Role::Noise => c.1 += 1,
                Role::Other => c.2 += 1,
            }
        }
        c
    }
}

/// The points of each cluster, as index lists into the cloud: `members[k]` is cluster `k + 1`.
fn members(cluster_ids: &[u32], n_clusters: usize) -> (Vec<usize>, Vec<u32>) {
    let mut start = vec![0usize; n_clusters + 1];
    for &id in cluster_ids {
        if id > 0 {
            start[id as usize] += 1;
        }
    }
    for k in 1..=n_clusters {
        start[k] += start[k - 1];
    }
    // start[k] is now the end of cluster k (1-based); fill backwards to keep point order.
    let mut flat = vec![0u32; start[n_clusters]];
    let mut end = start.clone();
    for (i, &id) in cluster_ids.iter().enumerate().rev() {
        if id > 0 {
            end[id as usize] -= 1;
            flat[end[id as usize]] = i as u32;
        }
    }
    (start, flat)
}

/// Where an object stands, in file coordinates.
struct Placed {
    centroid: [f64; 3],
    bounds: Bounds,
    height: Option<f64>,
    footprint_area: f64,
    obb: OrientedBox,
}

/// An object's points re-centred on its centroid in f64, with its centroid, bounds, footprint
/// and box in file coordinates, and its top's height (METHOD.md §8).
fn object_cloud(cloud: &PointCloud, index: &[u32], height: &[f32]) -> (PointCloud, Placed) {
    let mut sum = [0.0f64; 3];
    let mut min = [f64::MAX; 3];
    let mut max = [f64::MIN; 3];
    for &i in index {
        let p = cloud.positions[i as usize];
        for (k, c) in [p.x, p.y, p.z].into_iter().enumerate() {
            let c = c as f64;
            sum[k] += c;
            min[k] = min[k].min(c);
            max[k] = max[k].max(c);
        }
    }
    let local = sum.map(|s| s / index.len() as f64);
    let centred: Vec<[f64; 3]> = index
        .iter()
        .map(|&i| {
            let p = cloud.positions[i as usize];
            [
                p.x as f64 - local[0],
                p.y as f64 - local[1],
                p.z as f64 - local[2],
            ]
        })
        .collect();
    let (a, b) = horizontal_axes(cloud.up_axis);
    let up = 3 - a - b;
    let hull = geometry::convex_hull(centred.iter().map(|p| [p[a], p[b]]).collect());
    let (centre, size, yaw) = geometry::min_area_rectangle(&hull);
    let o = cloud.meta.offset;
    let file = |v: [f64; 3]| [v[0] + o[0], v[1] + o[1], v[2] + o[2]];
    let mut box_centre = local;
    box_centre[a] += centre[0];
    box_centre[b] += centre[1];
    box_centre[up] = (min[up] + max[up]) / 2.0;
    let top = index
        .iter()
        .map(|&i| height.get(i as usize).copied().unwrap_or(f32::NAN))
        .filter(|h| !h.is_nan())
        .fold(None, |m: Option<f32>, h| Some(m.map_or(h, |m| m.max(h))));
    let object = PointCloud::from_points(
        centred
            .iter()
            .map(|p| Point3::new(p[0] as f32, p[1] as f32, p[2] as f32)),
        cloud.up_axis,
    );
    let placed = Placed {
        centroid: file(local),
        bounds: Bounds {
            min: file(min),
            max: file(max),
        },
        height: top.map(f64::from),
        footprint_area: geometry::polygon_area(&hull),
        obb: OrientedBox {
            centre: file(box_centre),
            size: [size[0], size[1], max[up] - min[up]],
            yaw,
        },
    };
    (object, placed)
}

/// A scene's ground and object candidates, before clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundSplit {
    /// The settings, resolved for the cloud.
    pub resolved: ResolvedOptions,
    /// Ground, noise or other, per point, as [`Scene::roles`].
    pub roles: Vec<Role>,
    /// Height above the ground model per point (NaN without a ground surface).
    pub height: Vec<f32>,
    /// The points that may form objects: not noise, and above `min_height` (every non-noise
    /// point without a ground surface), ascending.
    pub candidates: Vec<u32>,
}

/// Finds the ground of `cloud` and each point's height above it, and picks the object
/// candidates (the first step of [`Classifier::classify_scene`], which needs no model).
pub fn split_ground(cloud: &PointCloud, options: &SceneOptions) -> Result<GroundSplit> {
    let resolved = options.resolve(cloud);
    let min_height = resolved.min_height;
    let model = ground::ground_model(cloud, &resolved.ground).map_err(Error::InvalidSetting)?;
    // A plane is a background, not a ground: objects stand on either side of it (a table's
    // legs below its top).
    let two_sided = matches!(resolved.ground, GroundMethod::Plane(_));
    let above = |h: f32| f64::from(if two_sided { h.abs() } else { h }) > min_height;
    let height = model.height.unwrap_or_else(|| vec![f32::NAN; cloud.len()]);
    let has_surface = !height.iter().all(|h| h.is_nan());
    let mut roles = model.roles;
    let mut candidates: Vec<u32> = Vec::new();
    for (i, (r, p)) in roles.iter_mut().zip(&cloud.positions).enumerate() {
        if !p.coords.iter().all(|c| c.is_finite()) {
            *r = Role::Noise;
        }
        if *r == Role::Noise {
            continue;
        }
        let object = !has_surface || above(height[i]);
        if object {
            candidates.push(i as u32);
        }
        if has_surface && !options.method_ground {
            *r = if object { Role::Other } else { Role::Ground };
        }
    }
    Ok(GroundSplit {
        resolved,
        roles,
        height,
        candidates,
    })
}

impl Classifier {
    /// Splits a scene into ground and objects and classifies every object (METHOD.md §8).
    ///
    /// The cloud should hold every point of the scan (load it with `max_points: 0`); each object
    /// is classified with this classifier's point budget. Non-finite points are treated as noise.
    /// A scene without objects is not an error: it has an empty object list.
    pub fn classify_scene(
        &self,
        cloud: &PointCloud,
        classes: &ClassSet,
        options: &SceneOptions,
    ) -> Result<Scene> {
        self.classify_scene_with_progress(cloud, classes, options, |_, _| {})
    }

    /// [`Classifier::classify_scene`], calling `progress(objects done, objects)` as objects are
    /// classified.
    pub fn classify_scene_with_progress(
        &self,
        cloud: &PointCloud,
        classes: &ClassSet,
        options: &SceneOptions,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Scene> {
        if cloud.len() > u32::MAX as usize {
            return Err(Error::InvalidSetting(format!(
                "{} points: scenes hold at most {} points",
                cloud.len(),
                u32::MAX
            )));
        }
        let t = Instant::now();
        let GroundSplit {
            resolved,
            roles,
            height,
            candidates,
        } = split_ground(cloud, options)?;
        let ground = resolved.ground;
        let min_height = resolved.min_height;
        let ground_ms = t.elapsed().as_secs_f64() * 1e3;

        let t = Instant::now();
        let params = resolved.cluster;
        let auto = options.radius.is_none().then_some(cluster::AutoRadius {
            floor: params.radius,
            factor: SPACING_FACTOR,
        });
        let (cluster_ids, params) =
            cluster::cluster_resolving(&cloud.positions, &candidates, &params, auto);
        drop(candidates);
        let n_clusters = cluster_ids.iter().copied().max().unwrap_or(0) as usize;
        let (offsets, flat) = members(&cluster_ids, n_clusters);
        let cluster_ms = t.elapsed().as_secs_f64() * 1e3;

        let t = Instant::now();
        let mut objects = Vec::with_capacity(n_clusters);
        let per_batch = options.objects_per_batch.max(1);
        progress(0, n_clusters);
        for first in (0..n_clusters).step_by(per_batch) {
            let last = (first + per_batch).min(n_clusters);
            let mut prepared = Vec::with_capacity(last - first);
            let mut placed = Vec::with_capacity(last - first);
            for k in first..last {
                let (object, p) = object_cloud(cloud, &flat[offsets[k]..offsets[k + 1]], &height);
                prepared.push(self.prepare(&object)?);
                placed.push((k, p));
            }
            let refs: Vec<&[Point3<f32>]> = prepared.iter().map(Vec::as_slice).collect();
            let projected = self.project(&refs)?;
            let predictions = self.score(&projected.batch, classes)?;
            let share = projected.project_ms / refs.len() as f64;
            for ((k, p), mut prediction) in placed.into_iter().zip(predictions) {
                prediction.timings.project = share;
                objects.push(SceneObject {
                    cluster_id: k as u32 + 1,
                    points: offsets[k + 1] - offsets[k],
                    centroid: p.centroid,
                    bounds: p.bounds,
                    height: p.height,
                    footprint_area: p.footprint_area,
                    obb: p.obb,
                    prediction,
                });
            }
            progress(last, n_clusters);
        }
        let labels = cluster_ids
            .iter()
            .map(|&id| match id {
                0 => 0,
                id => objects[id as usize - 1].class_index() as u16 + 1,
            })
            .collect();
        Ok(Scene {
            ground,
            min_height,
            unit: resolved.unit,
            height,
            cluster: params,
            roles,
            cluster_ids,
            labels,
            objects,
            classes: classes.names().iter().cloned().collect(),
            timings: SceneTimings {
                ground: ground_ms,
                cluster: cluster_ms,
                classify: t.elapsed().as_secs_f64() * 1e3,
            },
        })
    }
}

/// The up axis a scene's height is measured along (for plots): the cloud's.
pub(crate) fn horizontal_axes(up: UpAxis) -> (usize, usize) {
    match up {
        UpAxis::Z => (0, 1),
        UpAxis::Y => (0, 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_lists_each_clusters_points_in_order() {
        let ids = [0, 2, 1, 2, 0, 1, 3];
        let (offsets, flat) = members(&ids, 3);
        assert_eq!(offsets, vec![0, 2, 4, 5]);
        assert_eq!(flat, vec![2, 5, 1, 3, 6]);
    }

    #[test]
    fn default_radius_and_counts_follow_the_scene_kind() {
        let o = SceneOptions::default();
        let aerial = o.cluster_params(&GroundMethod::Classified);
        assert_eq!((aerial.radius, aerial.min_points), (1.0, 30));
        let robot = o.cluster_params(&GroundMethod::Plane(PlaneParams::default()));
        assert_eq!((robot.radius, robot.min_points), (0.02, 100));
        let dbscan = SceneOptions {
            cluster: ClusterMethod::Dbscan,
            radius: Some(0.5),
            ..Default::default()
        }
        .cluster_params(&GroundMethod::None);
        assert_eq!((dbscan.radius, dbscan.min_points), (0.5, 10));
    }
}
