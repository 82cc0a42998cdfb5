//! Objects from the points that are not ground: Euclidean clustering (PDAL `filters.cluster`, PCL
//! `EuclideanClusterExtraction`) and DBSCAN (Open3D `cluster_dbscan`), METHOD.md §8.
//!
//! Neighbours come from a kiddo [`ImmutableKdTree`] over the candidate points in f32; every
//! candidate pair the tree returns is checked again in f64, so that "closer than the radius"
//! means `dx² + dy² + dz² < r²` computed in f64 from the f32 positions — the same test an
//! independent implementation makes on the same numbers (scripts/scene_reference.py).

use kiddo::immutable::float::kdtree::ImmutableKdTree;
use kiddo::SquaredEuclidean;
use nalgebra::Point3;
use rayon::prelude::*;

/// Points whose neighbours are searched per parallel task.
const QUERY_CHUNK: usize = 16_384;

/// How objects are formed from the non-ground points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterMethod {
    /// Connected components of the "closer than `radius`" graph (PDAL `filters.cluster`).
    #[default]
    Euclidean,
    /// DBSCAN: core points have ≥ `min_points` neighbours within `radius`, counting themselves
    /// (Open3D `cluster_dbscan`).
    Dbscan,
}

impl std::str::FromStr for ClusterMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "euclidean" => Ok(Self::Euclidean),
            "dbscan" => Ok(Self::Dbscan),
            _ => Err(format!(
                "unknown cluster method {s:?}: use euclidean or dbscan"
            )),
        }
    }
}

impl std::fmt::Display for ClusterMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Euclidean => "euclidean",
            Self::Dbscan => "dbscan",
        })
    }
}

/// Settings of [`cluster`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ClusterParams {
    /// Euclidean or DBSCAN.
    pub method: ClusterMethod,
    /// Link distance in the cloud's units (metres): PDAL's `tolerance`, Open3D's `eps`.
    pub radius: f64,
    /// Euclidean: the smallest cluster kept. DBSCAN: the neighbours (itself included) that make a
    /// point a core point.
    pub min_points: usize,
    /// The largest cluster kept (larger ones get ID 0); `usize::MAX` keeps all.
    pub max_points: usize,
}

/// Labels the points `candidates` (indices into `points`, ascending) with cluster IDs: one `u32`
/// per point of `points`, 0 for points in no cluster (not a candidate, too small or too large a
/// component, DBSCAN noise). IDs run from 1 in the order of each cluster's first point.
///
/// ```
/// use calip3d::scene::cluster::{cluster, ClusterMethod, ClusterParams};
/// use nalgebra::Point3;
/// let points = [Point3::new(0.0f32, 0.0, 0.0), Point3::new(0.5, 0.0, 0.0), Point3::new(5.0, 0.0, 0.0)];
/// let params = ClusterParams { method: ClusterMethod::Euclidean, radius: 1.0, min_points: 1, max_points: usize::MAX };
/// assert_eq!(cluster(&points, &[0, 1, 2], &params), vec![1, 1, 2]);
/// ```
pub fn cluster(points: &[Point3<f32>], candidates: &[u32], params: &ClusterParams) -> Vec<u32> {
    cluster_resolving(points, candidates, params, None).0
}

/// Candidates sampled to measure the point spacing.
const SPACING_SAMPLE: usize = 10_000;

/// How an unset radius is chosen: `max(floor, factor × median nearest-neighbour spacing)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AutoRadius {
    pub floor: f64,
    pub factor: f64,
}

/// [`cluster`], with the radius chosen from the candidates' spacing when `auto` is given; answers
/// the labels and the settings that ran.
pub(crate) fn cluster_resolving(
    points: &[Point3<f32>],
    candidates: &[u32],
    params: &ClusterParams,
    auto: Option<AutoRadius>,
) -> (Vec<u32>, ClusterParams) {
    let mut params = *params;
    let mut ids = vec![0u32; points.len()];
    if candidates.is_empty() {
        if let Some(a) = auto {
            params.radius = a.floor;
        }
        return (ids, params);
    }
    let coords: Vec<[f32; 3]> = candidates
        .iter()
        .map(|&i| {
            let p = points[i as usize];
            [p.x, p.y, p.z]
        })
        .collect();
    let tree: ImmutableKdTree<f32, u32, 3, 32> = ImmutableKdTree::new_from_slice(&coords);
    if let Some(a) = auto {
        params.radius = a.floor.max(a.factor * median_spacing(&coords, &tree));
    }
    if params.radius.is_nan() || params.radius <= 0.0 || !params.radius.is_finite() {
        return (ids, params);
    }
    let search = Neighbours::new(&coords, tree, params.radius);
    // Local labels over the candidates, in candidate order, before the size filter.
    let (local, n_local) = match params.method {
        ClusterMethod::Euclidean => components(&search),
        ClusterMethod::Dbscan => dbscan(&search, params.min_points.max(1)),
    };
    let mut sizes = vec![0usize; n_local as usize + 1];
    for &l in &local {
        sizes[l as usize] += 1;
    }
    let min = match params.method {
        ClusterMethod::Euclidean => params.min_points,
        ClusterMethod::Dbscan => 1,
    };
    // Renumber the kept clusters from 1 in the order of their first point.
    let mut renumber = vec![0u32; n_local as usize + 1];
    let mut next = 0u32;
    for (k, &l) in local.iter().enumerate() {
        if l == 0 {
            continue;
        }
        if renumber[l as usize] == 0 {
            let size = sizes[l as usize];
            if size >= min && size <= params.max_points {
                next += 1;
                renumber[l as usize] = next;
            } else {
                renumber[l as usize] = u32::MAX;
            }
        }
        let id = renumber[l as usize];
        if id != u32::MAX {
            ids[candidates[k] as usize] = id;
        }
    }
    (ids, params)
}

/// Median distance from a candidate to its nearest other candidate, over an evenly spaced sample.
fn median_spacing(coords: &[[f32; 3]], tree: &ImmutableKdTree<f32, u32, 3, 32>) -> f64 {
    if coords.len() < 2 {
        return 0.0;
    }
    let step = coords.len().div_ceil(SPACING_SAMPLE).max(1);
    let two = std::num::NonZero::new(2).expect("2 is not zero");
    let mut d: Vec<f64> = (0..coords.len())
        .step_by(step)
        .map(|i| {
            tree.nearest_n::<SquaredEuclidean>(&coords[i], two)
                .iter()
                .map(|n| n.distance as f64)
                .fold(0.0, f64::max)
                .sqrt()
        })
        .collect();
    d.sort_by(f64::total_cmp);
    d[d.len() / 2]
}

/// Radius queries over the candidates, exact in f64.
struct Neighbours<'a> {
    coords: &'a [[f32; 3]],
    tree: ImmutableKdTree<f32, u32, 3, 32>,
    r2: f64,
    /// The tree's own (f32) search radius, a little wider than `r2` so that no pair the f64 test
    /// accepts is missed.
    r2_loose: f32,
}

impl<'a> Neighbours<'a> {
    fn new(coords: &'a [[f32; 3]], tree: ImmutableKdTree<f32, u32, 3, 32>, radius: f64) -> Self {
        let r2 = radius * radius;
        Neighbours {
            coords,
            tree,
            r2,
            r2_loose: (r2 * (1.0 + 1e-5) + 1e-12) as f32,
        }
    }

    fn len(&self) -> usize {
        self.coords.len()
    }

    /// Calls `f` with each candidate strictly closer than the radius to candidate `i`, itself
    /// included.
    fn for_each(&self, i: usize, mut f: impl FnMut(u32)) {
        let q = self.coords[i];
        for n in self
            .tree
            .within_unsorted::<SquaredEuclidean>(&q, self.r2_loose)
        {
            let p = self.coords[n.item as usize];
            let d2: f64 = (0..3)
                .map(|k| {
                    let d = p[k] as f64 - q[k] as f64;
                    d * d
                })
                .sum();
            if d2 < self.r2 {
                f(n.item);
            }
        }
    }
}

/// Union–find root with path halving.
fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let grand = parent[parent[x as usize] as usize];
        parent[x as usize] = grand;
        x = grand;
    }
    x
}

/// Connected components of the radius graph: a label per candidate (from 1, in order of first
/// point) and the number of components.
fn components(search: &Neighbours) -> (Vec<u32>, u32) {
    let n = search.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    for start in (0..n).step_by(QUERY_CHUNK) {
        let end = (start + QUERY_CHUNK).min(n);
        // Edges to later points only: each pair once.
        let edges: Vec<Vec<(u32, u32)>> = (start..end)
            .into_par_iter()
            .map(|i| {
                let mut e = Vec::new();
                search.for_each(i, |j| {
                    if j as usize > i {
                        e.push((i as u32, j));
                    }
                });
                e
            })
            .collect();
        for (a, b) in edges.into_iter().flatten() {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                // The smaller index is the root, so a root is its component's first point.
                let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
                parent[hi as usize] = lo;
            }
        }
    }
    let mut label = vec![0u32; n];
    let mut next = 0u32;
    for i in 0..n {
        let r = find(&mut parent, i as u32) as usize;
        if r == i {
            next += 1;
            label[i] = next;
        } else {
            label[i] = label[r];
        }
    }
    (label, next)
}

/// DBSCAN as Open3D and scikit-learn run it: clusters grow from the unvisited core points in index
/// order; a border point joins the first cluster that reaches it. Label 0 is noise.
fn dbscan(search: &Neighbours, min_points: usize) -> (Vec<u32>, u32) {
    let n = search.len();
    let core: Vec<bool> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut count = 0usize;
            search.for_each(i, |_| count += 1);
            count >= min_points
        })
        .collect();
    let mut label = vec![0u32; n];
    let mut next = 0u32;
    let mut stack: Vec<u32> = Vec::new();
    for i in 0..n {
        if label[i] != 0 || !core[i] {
            continue;
        }
        next += 1;
        label[i] = next;
        stack.push(i as u32);
        while let Some(p) = stack.pop() {
            search.for_each(p as usize, |q| {
                let q = q as usize;
                if label[q] == 0 {
                    label[q] = next;
                    if core[q] {
                        stack.push(q as u32);
                    }
                }
            });
        }
    }
    (label, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(method: ClusterMethod, radius: f64, min_points: usize) -> ClusterParams {
        ClusterParams {
            method,
            radius,
            min_points,
            max_points: usize::MAX,
        }
    }

    fn line(xs: &[f32]) -> Vec<Point3<f32>> {
        xs.iter().map(|&x| Point3::new(x, 0.0, 0.0)).collect()
    }

    #[test]
    fn euclidean_ids_follow_first_points_and_sizes_filter() {
        // Components {0,2}, {1}, {3,4,5}: IDs by first point; {1} is below min_points.
        let pts = line(&[0.0, 10.0, 0.5, 20.0, 20.5, 21.0]);
        let all: Vec<u32> = (0..6).collect();
        let ids = cluster(&pts, &all, &params(ClusterMethod::Euclidean, 1.0, 2));
        assert_eq!(ids, vec![1, 0, 1, 2, 2, 2]);
        let mut p = params(ClusterMethod::Euclidean, 1.0, 1);
        p.max_points = 2;
        assert_eq!(cluster(&pts, &all, &p), vec![1, 2, 1, 0, 0, 0]);
    }

    #[test]
    fn euclidean_links_only_strictly_closer_points_and_only_candidates() {
        let pts = line(&[0.0, 1.0, 1.5]);
        let ids = cluster(&pts, &[0, 1, 2], &params(ClusterMethod::Euclidean, 1.0, 1));
        assert_eq!(ids, vec![1, 2, 2]);
        let ids = cluster(&pts, &[0, 2], &params(ClusterMethod::Euclidean, 2.0, 1));
        assert_eq!(ids, vec![1, 0, 1]);
    }

    #[test]
    fn dbscan_core_counts_itself_and_border_joins_first_cluster() {
        // 0,1,2 are within 0.6 of their neighbours; with min_points 3 only 1 is core (0,1,2
        // in its ball), 0 and 2 are border; 5 is noise.
        let pts = line(&[0.0, 0.5, 1.0, 5.0]);
        let all: Vec<u32> = (0..4).collect();
        let ids = cluster(&pts, &all, &params(ClusterMethod::Dbscan, 0.6, 3));
        assert_eq!(ids, vec![1, 1, 1, 0]);
        let ids = cluster(&pts, &all, &params(ClusterMethod::Dbscan, 0.6, 4));
        assert_eq!(ids, vec![0, 0, 0, 0]);
        // min_points 1: every point is core, the lone point is its own cluster.
        let ids = cluster(&pts, &all, &params(ClusterMethod::Dbscan, 0.6, 1));
        assert_eq!(ids, vec![1, 1, 1, 2]);
    }

    #[test]
    fn many_identical_points_do_not_break_the_tree() {
        let pts = vec![Point3::new(1.0f32, 2.0, 3.0); 1000];
        let all: Vec<u32> = (0..1000).collect();
        let ids = cluster(&pts, &all, &params(ClusterMethod::Euclidean, 0.1, 1));
        assert!(ids.iter().all(|&i| i == 1));
    }
}
