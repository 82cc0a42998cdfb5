//! How a scene is split, on the command line: the flags `scene` and `batch --scene` share, turned
//! into the library's [`SceneOptions`].

use calip3d::scene::{ClusterMethod, GroundMethod, Lengths, PlaneParams, SceneOptions, SmrfParams};

/// Ground methods on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum GroundArg {
    /// classified when the file has ASPRS class-2 points, else smrf (z-up and at least SMRF's
    /// window, 18 m, across) or plane.
    Auto,
    /// The file's ASPRS classes: 2 ground, 7 and 18 noise.
    Classified,
    /// Simple Morphological Filter (PDAL filters.smrf).
    Smrf,
    /// The dominant plane by seeded RANSAC (robot scans).
    Plane,
    /// No ground.
    None,
}

/// How a scene is split: shared by `scene` and `batch --scene`.
#[derive(clap::Args, Debug, Clone)]
pub struct SceneArgs {
    /// Ground: auto, classified, smrf, plane or none.
    #[arg(long, value_enum, default_value = "auto")]
    pub ground: GroundArg,
    /// Objects: euclidean (PDAL filters.cluster) or dbscan (Open3D cluster_dbscan).
    #[arg(long, default_value = "euclidean")]
    pub cluster: ClusterMethod,
    /// Euclidean link distance, in the file's units (default 1.0 m for aerial tiles, 0.02 m for
    /// robot scans, scaled to the file's CRS unit, or 3 × the median point spacing when that is
    /// larger).
    #[arg(long, conflicts_with = "eps")]
    pub tolerance: Option<f64>,
    /// DBSCAN neighbourhood radius, in the file's units (defaults as --tolerance).
    #[arg(long)]
    pub eps: Option<f64>,
    /// Euclidean: smallest object (default 30 aerial, 100 robot); DBSCAN: neighbours of a core
    /// point, itself included (default 10).
    #[arg(long)]
    pub min_points: Option<usize>,
    /// Height above the ground model up to which a point is ground; only higher points form
    /// objects. In the file's units (default 0.1 m for aerial tiles, scaled to the file's CRS
    /// unit; the plane's distance for plane scenes).
    #[arg(long)]
    pub min_height: Option<f64>,
    /// Ground in --asprs output and the counts is the method's own flag (SMRF's threshold, class
    /// 2, the plane's inliers) instead of --min-height; objects are still points above it.
    #[arg(long)]
    pub method_ground: bool,
    /// SMRF cell size, in the file's units (default 1 m, scaled to the file's CRS unit).
    #[arg(long)]
    pub smrf_cell: Option<f64>,
    /// SMRF slope tolerance.
    #[arg(long, default_value_t = SmrfParams::default().slope)]
    pub smrf_slope: f64,
    /// SMRF largest window radius, in the file's units (default 18 m, scaled).
    #[arg(long)]
    pub smrf_window: Option<f64>,
    /// SMRF height threshold, in the file's units (default 0.5 m, scaled).
    #[arg(long)]
    pub smrf_threshold: Option<f64>,
    /// SMRF slope scalar.
    #[arg(long, default_value_t = SmrfParams::default().scalar)]
    pub smrf_scalar: f64,
    /// Plane: largest inlier distance, in the file's units (default 0.02 m, scaled).
    #[arg(long)]
    pub plane_distance: Option<f64>,
    /// Objects projected and encoded together.
    #[arg(long, default_value_t = SceneOptions::default().objects_per_batch)]
    pub objects_per_batch: usize,
}

impl SceneArgs {
    /// The library's scene options from the flags.
    pub fn options(&self, max_cluster_points: Option<usize>) -> SceneOptions {
        // Lengths stay metric defaults here; explicit ones go in `lengths`, in the file's units.
        let smrf = SmrfParams {
            slope: self.smrf_slope,
            scalar: self.smrf_scalar,
            ..Default::default()
        };
        let plane = PlaneParams::default();
        SceneOptions {
            ground: match self.ground {
                GroundArg::Auto => GroundMethod::Auto,
                GroundArg::Classified => GroundMethod::Classified,
                GroundArg::Smrf => GroundMethod::Smrf(smrf),
                GroundArg::Plane => GroundMethod::Plane(plane),
                GroundArg::None => GroundMethod::None,
            },
            cluster: self.cluster,
            radius: self.tolerance.or(self.eps),
            min_points: self.min_points,
            max_points: max_cluster_points,
            objects_per_batch: self.objects_per_batch,
            min_height: self.min_height,
            method_ground: self.method_ground,
            lengths: Lengths {
                smrf_cell: self.smrf_cell,
                smrf_window: self.smrf_window,
                smrf_threshold: self.smrf_threshold,
                plane_distance: self.plane_distance,
            },
            metres_per_unit: None,
        }
    }
}
