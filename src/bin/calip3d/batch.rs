//! `calip3d batch`: classify many files unattended into a .jsonl or .csv results file.

use crate::pipeline_args::PipelineArgs;
use crate::progress::files_bar;
use calip3d::batch::{record, run_batch_observed, BatchSummary, ResultsFile, READER_CRASHED};
use calip3d::classify::StreamOptions;
use calip3d::load::expand_inputs;
use std::path::{Path, PathBuf};
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
    #[arg(short, long, default_value_t = StreamOptions::default().jobs)]
    pub jobs: usize,
    /// Views encoded together (of several files); bounds memory with the queue. 0: the
    /// encoder's batch (32 on the CPU, up to 256 on a GPU).
    #[arg(long, default_value_t = StreamOptions::default().views_per_encode)]
    pub views_per_encode: usize,
    /// Skip files already classified in the results file or its journal (failed ones are
    /// retried; a file a previous run crashed in gets a failed record and is not).
    #[arg(long)]
    pub resume: bool,
    /// Classes listed per record.
    #[arg(short = 'k', long, default_value_t = calip3d::classify::DEFAULT_TOP_K)]
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
    let (results, plan) = ResultsFile::open(&args.out, args.resume)?;
    for file in &plan.crashed {
        log::warn!("{file}: {READER_CRASHED}");
    }
    let (isolate, todo) = plan.plan(files);
    let classifier = args.pipeline.classifier(false)?;
    let classes = args.pipeline.class_set(&classifier)?;
    if args.resume && !args.quiet {
        eprintln!(
            "resuming: {} files already done, {} to go",
            plan.done.len(),
            todo.len() + isolate.len()
        );
    }
    let bar = files_bar(todo.len() + isolate.len(), args.quiet);
    let mut failures = 0usize;
    let mut summary = BatchSummary::default();
    let mut sink = |file: &Path, outcome: calip3d::Result<_>| {
        bar.inc(1);
        if let Err(e) = &outcome {
            failures += 1;
            bar.set_message(format!("{failures} failed"));
            bar.suspend(|| log::warn!("{e}"));
        }
        results.write(&record(file, &outcome, args.top_k))?;
        Ok(())
    };
    // Files that were being read together when a run died go first, one at a time, so that a
    // crash among them names its file.
    for file in &isolate {
        results.isolated(file)?;
        let alone = StreamOptions::new(1, args.views_per_encode);
        let s = run_batch_observed(
            &classifier,
            &classes,
            std::slice::from_ref(file),
            &alone,
            &results,
            &mut sink,
        )?;
        summary.succeeded += s.succeeded;
        summary.failed += s.failed;
    }
    let options = StreamOptions::new(args.jobs, args.views_per_encode);
    let s = run_batch_observed(&classifier, &classes, &todo, &options, &results, &mut sink)?;
    summary.succeeded += s.succeeded;
    summary.failed += s.failed;
    bar.finish_and_clear();
    let written = results.finish()?;
    if !args.quiet {
        eprintln!(
            "{} files: {} classified, {} failed; results in {} ({} records, {} failed)",
            todo.len() + isolate.len(),
            summary.succeeded,
            summary.failed,
            args.out.display(),
            written.records,
            written.failed,
        );
    }
    // The exit status speaks for the whole results file, records kept by a resume included.
    Ok(crate::exit::after_inputs(written.failed))
}
