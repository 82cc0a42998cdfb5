//! `calip3d render`: the depth views of a cloud as PNG for people and `.npy` for tools.

use crate::pipeline_args::UpAxisArg;
use calip3d::load::{load, LoadOptions};
use calip3d::project::{cpu_clip_input, write_view_pngs, DeviceChoice, Projection, Projector};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Point-cloud file.
    pub file: PathBuf,
    /// Output folder.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Depth-map projection.
    #[arg(long, default_value = "realistic")]
    pub projection: Projection,
    /// Points kept (deterministic subsample; 0 = all).
    #[arg(long, default_value_t = 1024)]
    pub max_points: usize,
    /// Up axis of the input (default: z for LAS/LAZ, y otherwise).
    #[arg(long, value_enum)]
    pub up_axis: Option<UpAxisArg>,
    /// Where to project: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// Side of the CLIP input written with --npy.
    #[arg(long, default_value_t = 224)]
    pub size: usize,
    /// Also write `<stem>.views.npy` [V,H,W] and `<stem>.clip.npy` [V,3,size,size] (float32).
    #[arg(long)]
    pub npy: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let opts = LoadOptions {
        max_points: args.max_points,
        up_axis: args.up_axis.map(Into::into),
        ..Default::default()
    };
    let cloud = load(&args.file, &opts)?;
    let points = cloud.y_up_positions();
    let projector = Projector::new(args.projection, args.projection.views(), args.device)?;
    let depth = projector.depth_views(&[&points])?.remove(0);
    let stem = args
        .file
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let written = write_view_pngs(&depth, &args.out, &stem)?;
    if args.npy {
        let views = args.out.join(format!("{stem}.views.npy"));
        calip3d::npy::write_f32(
            &views,
            &[depth.views, depth.height, depth.width],
            &depth.data,
        )?;
        let clip = projector.clip_input(&[&points], args.size, false)?;
        debug_assert_eq!(
            clip.data,
            cpu_clip_input(std::slice::from_ref(&depth), args.size, false)
        );
        let path = args.out.join(format!("{stem}.clip.npy"));
        calip3d::npy::write_f32(&path, &[depth.views, 3, args.size, args.size], &clip.data)?;
    }
    eprintln!(
        "{} views of {} points ({}) written to {}",
        written.len(),
        points.len(),
        projector.backend(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
