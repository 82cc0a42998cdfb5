//! The `calip3d` command line: a thin layer over the library. Each subcommand lives in its own
//! module and only parses arguments, calls the library and prints.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod batch;
mod classify;
mod dataset_args;
mod embed;
mod eval;
mod exit;
mod fit;
mod info;
mod pipeline_args;
mod progress;
mod render;
mod scene;
mod scene_args;
mod tune;

/// Zero-shot 3D point-cloud classification with CLIP and CALIP's parameter-free attention.
#[derive(Parser)]
#[command(name = "calip3d", version, about, propagate_version = true)]
struct Cli {
    /// More log output (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Describe point-cloud files: format, version, point counts, bounds, attributes.
    Info(info::Args),
    /// Project a cloud into multi-view depth maps and write them as PNG (and .npy).
    Render(render::Args),
    /// Print CLIP features of texts and images.
    Embed(embed::Args),
    /// Classify point clouds zero-shot against a list of class names.
    Classify(classify::Args),
    /// Measure accuracy on a folder with one sub-folder per class.
    Eval(eval::Args),
    /// Classify many files unattended, writing one record per file.
    Batch(batch::Args),
    /// Search α, β, view weights and prompts on a validation subset of the training split.
    Tune(tune::Args),
    /// Fit a few-shot adapter (Tip-Adapter cache or PointCLIP's adapter) on K shots per class.
    Fit(fit::Args),
    /// Find the objects in a LiDAR tile or a scan, classify each, write labels back.
    Scene(scene::Args),
}

fn main() -> ExitCode {
    calip3d::install_panic_hook();
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or(format!("{level},las=error")),
    )
    .format_timestamp(None)
    .init();
    let result = match &cli.command {
        Command::Info(a) => info::run(a),
        Command::Render(a) => render::run(a),
        Command::Embed(a) => embed::run(a),
        Command::Classify(a) => classify::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Batch(a) => batch::run(a),
        Command::Tune(a) => tune::run(a),
        Command::Fit(a) => fit::run(a),
        Command::Scene(a) => scene::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", calip3d::chain_message(e.chain()));
            ExitCode::from(exit::SETUP_ERROR)
        }
    }
}
