//! `calip3d batch`: classify many files unattended into a .jsonl or .csv results file.

use crate::pipeline_args::PipelineArgs;
use crate::progress::files_bar;
use calip3d::batch::{expand_inputs, record, run_batch, BatchOptions, ResultsFile};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Files, folders (searched recursively for .ply .las .laz .off .obj .stl) and glob patterns.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Results file: .jsonl (one classify JSON object per file) or .csv.
    #[arg(short, long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Worker threads reading and projecting files.
    #[arg(short, long, default_value_t = 2)]
    pub jobs: usize,
    /// Views encoded together (of several files); bounds memory with the queue.
    #[arg(long, default_value_t = 64)]
    pub views_per_encode: usize,
    /// Skip files already classified in the results file (failed ones are retried).
    #[arg(long)]
    pub resume: bool,
    /// Classes listed per record.
    #[arg(short = 'k', long, default_value_t = 5)]
    pub top_k: usize,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Scenes: split each file into ground and objects and write one record per object plus one
    /// summary record per file (see `calip3d scene`).
    #[arg(long)]
    pub scene: bool,
    #[command(flatten)]
    pub scene_options: crate::scene::SceneArgs,
}

/// Exit status: 0 when every file succeeded, 2 when some failed; setup errors (bad classes, model
/// not found, no inputs) return Err before any file runs, and main exits 1.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let files = expand_inputs(&args.inputs)?;
    if args.scene {
        return crate::scene::run_batch(args, files);
    }
    let (mut results, done) = ResultsFile::open(&args.out, args.resume)?;
    let todo: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| !done.contains(&f.display().to_string()))
        .collect();
    let classifier = args.pipeline.classifier(false)?;
    let classes = args.pipeline.class_set(&classifier)?;
    if !done.is_empty() && !args.quiet {
        eprintln!(
            "resuming: {} files already done, {} to go",
            done.len(),
            todo.len()
        );
    }
    let bar = files_bar(todo.len(), args.quiet);
    let options = BatchOptions {
        jobs: args.jobs,
        views_per_encode: args.views_per_encode,
    };
    let mut failures = 0usize;
    let summary = run_batch(&classifier, &classes, &todo, &options, |file, outcome| {
        bar.inc(1);
        if let Err(e) = &outcome {
            failures += 1;
            bar.set_message(format!("{failures} failed"));
            bar.suspend(|| log::warn!("{e}"));
        }
        results.write(&record(file, &outcome, &classifier, args.top_k))?;
        Ok(())
    })?;
    bar.finish_and_clear();
    if !args.quiet {
        eprintln!(
            "{} files: {} classified, {} failed; results in {}",
            todo.len(),
            summary.succeeded,
            summary.failed,
            args.out.display()
        );
    }
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
