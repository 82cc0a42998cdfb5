//! `calip3d scene`: find the objects in a LiDAR tile or a robot's scan, classify each, and write
//! the objects, a labelled cloud and a bird's-eye plot. Also the scene options of `batch --scene`.

use crate::pipeline_args::PipelineArgs;
use calip3d::batch::{ResultsFile, SceneFileRecord, READER_CRASHED};
use calip3d::load::{load, LoadOptions};
use calip3d::scene::write::{write_labelled, AsprsCodes};
use calip3d::scene::{
    plot::write_plot, ClusterMethod, GroundMethod, Lengths, ObjectsWriter, PlaneParams,
    SceneOptions, SmrfParams,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

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

#[derive(clap::Args)]
// `--max-points` is the largest object here (PDAL's max_points); the object point budget that
// `classify` calls --max-points is --object-points.
#[command(mut_arg("max_points", |a| a.long("object-points").value_name("N").help("Points kept per object (deterministic subsample; 0 = all)")))]
pub struct Args {
    /// A LiDAR tile (LAS/LAZ) or a scan (PLY, …).
    pub input: PathBuf,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    #[command(flatten)]
    pub scene: SceneArgs,
    /// Largest object, points (default: no limit).
    #[arg(long = "max-points")]
    pub max_cluster_points: Option<usize>,
    /// One record per object: .jsonl or .csv.
    #[arg(long)]
    pub objects: Option<PathBuf>,
    /// Every input point with ClusterID, calip3d_class, calip3d_prob, HeightAboveGround: .las,
    /// .laz or .ply.
    #[arg(long)]
    pub out_cloud: Option<PathBuf>,
    /// Also rewrite the ASPRS classification in --out-cloud: 2 ground, 1 other.
    #[arg(long)]
    pub asprs: bool,
    /// ASPRS codes of object classes for --asprs, e.g. car=64,tree=5.
    #[arg(long, requires = "asprs")]
    pub asprs_map: Option<String>,
    /// A bird's-eye view as PNG, coloured by class, with each object's box and label.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Classes listed per object.
    #[arg(short = 'k', long, default_value_t = 5)]
    pub top_k: usize,
    /// No progress bar and no table.
    #[arg(short, long)]
    pub quiet: bool,
}

fn objects_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} objects  {per_sec}  ETA {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let classifier = args.pipeline.classifier(false)?;
    let classes = args.pipeline.class_set(&classifier)?;
    let asprs = args
        .asprs
        .then(|| AsprsCodes::parse(args.asprs_map.as_deref().unwrap_or(""), classes.names()))
        .transpose()?;
    let load_options = LoadOptions {
        max_points: 0,
        ..args.pipeline.projection.load_options()
    };
    let cloud = load(&args.input, &load_options)?;
    let bar = objects_bar(args.quiet);
    let scene = classifier.classify_scene_with_progress(
        &cloud,
        &classes,
        &args.scene.options(args.max_cluster_points),
        |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    let file = args.input.display().to_string();
    if let Some(path) = &args.objects {
        let mut w =
            ObjectsWriter::create(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        w.write_objects(&file, &scene, args.top_k)
            .and_then(|_| w.finish())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    if let Some(path) = &args.out_cloud {
        write_labelled(&cloud, &scene, path, asprs.as_ref())?;
    }
    if let Some(path) = &args.plot {
        let title = args.input.file_name().unwrap_or_default().to_string_lossy();
        write_plot(&cloud, &scene, &title, path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    if !args.quiet {
        let (ground, noise, other) = scene.role_counts();
        eprintln!(
            "{file}: {} points in {} ({}): {ground} ground ({}, min height {}), {noise} noise, \
             {other} other; {} objects ({} radius {}, min {} points); ground {:.0} ms, \
             clustering {:.0} ms, classifying {:.0} ms",
            cloud.len(),
            scene.unit.name,
            scene.unit.found,
            scene.ground.name(),
            scene.min_height,
            scene.objects.len(),
            scene.cluster.method,
            scene.cluster.radius,
            scene.cluster.min_points,
            scene.timings.ground,
            scene.timings.cluster,
            scene.timings.classify,
        );
        for o in &scene.objects {
            println!(
                "{:>5}  {:>8} points  {:<16} {:.3}  at {:.2}, {:.2}, {:.2}",
                o.cluster_id,
                o.points,
                o.class(),
                o.probability(),
                o.centroid[0],
                o.centroid[1],
                o.centroid[2]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `calip3d batch --scene`: one object record per object and one summary record per file into
/// the results file, journaled as `calip3d batch` journals its records (so `--resume` after a
/// crash inside a reader records that file as failed and goes on); failed files get a failed
/// summary and the run goes on (exit 2 at the end).
pub fn run_batch(args: &crate::batch::Args, files: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let (results, plan) = ResultsFile::<SceneFileRecord>::open(&args.out, args.resume)?;
    for file in &plan.crashed {
        log::warn!("{file}: {READER_CRASHED}");
    }
    // Scenes read one file at a time: files to isolate are simply read first.
    let (isolate, todo) = plan.plan(files);
    for file in &isolate {
        results.isolated(file)?;
    }
    let todo: Vec<PathBuf> = isolate.into_iter().chain(todo).collect();
    let classifier = args.pipeline.classifier(false)?;
    let classes = args.pipeline.class_set(&classifier)?;
    if args.resume && !args.quiet {
        eprintln!(
            "resuming: {} files already done, {} to go",
            plan.done.len(),
            todo.len()
        );
    }
    let bar = crate::progress::files_bar(todo.len(), args.quiet);
    let format = results.format();
    let (ok, failed) = calip3d::batch::run_scene_batch_observed(
        &classifier,
        &classes,
        &todo,
        &args.pipeline.projection.load_options(),
        &args.scene_options.options(None),
        &results,
        |file, outcome| {
            bar.inc(1);
            let name = file.display().to_string();
            let record = match outcome {
                Ok(o) => {
                    SceneFileRecord::new(&name, Ok((&o.scene, o.cloud.len())), format, args.top_k)
                }
                Err(e) => {
                    bar.suspend(|| log::warn!("{e}"));
                    SceneFileRecord::new(&name, Err(&e.to_string()), format, args.top_k)
                }
            };
            Ok(results.write(&record)?)
        },
    )?;
    bar.finish_and_clear();
    let written = results.finish()?;
    if !args.quiet {
        eprintln!(
            "{} files: {ok} scenes, {failed} failed; objects in {} ({} files, {} failed)",
            todo.len(),
            args.out.display(),
            written.records,
            written.failed,
        );
    }
    // The exit status speaks for the whole results file, records kept by a resume included.
    Ok(crate::exit::after_inputs(written.failed))
}
