//! `calip3d scene`: find the objects in a LiDAR tile or a robot's scan, classify each, and write
//! the objects, a labelled cloud and a bird's-eye plot.

use crate::pipeline_args::PipelineArgs;
use crate::scene_args::SceneArgs;
use calip3d::load::{load, LoadOptions};
use calip3d::scene::plot::write_plot;
use calip3d::scene::write::{write_labelled, AsprsCodes};
use calip3d::scene::ObjectsWriter;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

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
