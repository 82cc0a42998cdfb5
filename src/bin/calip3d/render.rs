//! `calip3d render`: the depth views of a cloud as PNG for people and `.npy` for tools.

use crate::pipeline_args::ProjectionArgs;
use calip3d::load::load;
use calip3d::project::{write_view_pngs, Projector};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Point-cloud file.
    pub file: PathBuf,
    /// Output folder.
    #[arg(short, long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub projection: ProjectionArgs,
    /// Side of the CLIP input written with --npy.
    #[arg(long, default_value_t = 224)]
    pub size: usize,
    /// Also write `<stem>.views.npy` [V,H,W] and `<stem>.clip.npy` [V,3,size,size] (float32).
    #[arg(long)]
    pub npy: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let p = &args.projection;
    let cloud = load(&args.file, &p.load_options())?;
    let points = cloud.y_up_positions();
    let projector = Projector::new(p.projection, p.views()?, p.device)?;
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
        let path = args.out.join(format!("{stem}.clip.npy"));
        calip3d::npy::write_f32(&path, &[depth.views, 3, args.size, args.size], &clip.data)?;
    }
    // A summary of what was written, on stdout: stderr stays empty on success.
    println!(
        "{} views of {} points ({}) written to {}",
        written.len(),
        points.len(),
        projector.backend(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
