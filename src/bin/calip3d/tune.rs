//! `calip3d tune`: search settings on a validation subset of the training split, write a profile.

use crate::dataset_args::{dataset, ValidationArgs};
use crate::pipeline_args::PipelineArgs;
use crate::progress::files_bar;
use calip3d::classify::profile::TEST_SEARCH_STAMP;
use calip3d::tune::{self, SearchGrid};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Dataset folder: ModelNet's `<class>/train/…`, `modelnet40_ply_hdf5_2048`, ScanObjectNN
    /// or `modelnet40_normal_resampled` (only the split asked for is read).
    pub dataset: PathBuf,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    #[command(flatten)]
    pub validation: ValidationArgs,
    /// Where to write the profile (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let t = Instant::now();
    let classifier = args.pipeline.classifier(false)?;
    let (source, list) = dataset(&args.dataset, &args.pipeline)?;
    let options = args.validation.options(args.pipeline.search_on_test);
    let mut bar = None;
    let (profile, result) = tune::tune(
        &classifier,
        &source,
        &list,
        &options,
        &SearchGrid::default(),
        &mut |n, total| {
            bar.get_or_insert_with(|| files_bar(total, args.quiet))
                .inc(n as u64)
        },
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    profile.save(&args.out)?;
    let s = &profile.settings;
    let v = &profile.validation;
    if profile.search_on_test {
        println!("{TEST_SEARCH_STAMP}");
    }
    println!(
        "searched {} settings on {} validation clouds of the {} split in {:.1} s",
        result.evaluated,
        profile.searched_on.validation_size,
        profile.searched_on.split,
        t.elapsed().as_secs_f64()
    );
    println!(
        "validation top-1 {:.2}% -> {:.2}%, mean class accuracy {:.2}% -> {:.2}%",
        v.before.top1 * 100.0,
        v.after.top1 * 100.0,
        v.before.mean_class * 100.0,
        v.after.mean_class * 100.0
    );
    println!(
        "alpha {} beta2 {} beta3 {} view weights {:?} templates {:?}",
        s.alpha, s.beta2, s.beta3, s.view_weights, s.templates
    );
    println!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
