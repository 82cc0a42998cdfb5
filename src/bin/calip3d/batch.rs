//! `calip3d batch`: classify many files unattended into a .jsonl or .csv results file.

use crate::pipeline_args::PipelineArgs;
use crate::progress::files_bar;
use crate::scene_args::SceneArgs;
use calip3d::batch::{BatchJob, BatchProgress, READER_CRASHED};
use calip3d::classify::StreamOptions;
use calip3d::load::expand_inputs;
use indicatif::ProgressBar;
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
    pub scene_options: SceneArgs,
}

/// The progress bar and the warnings of a batch on stderr.
struct Progress {
    bar: ProgressBar,
    failures: usize,
    quiet: bool,
}

impl BatchProgress for Progress {
    fn started(&mut self, to_do: usize, already_done: usize) {
        if already_done > 0 && !self.quiet {
            eprintln!("resuming: {already_done} files already done, {to_do} to go");
        }
        self.bar = files_bar(to_do, self.quiet);
    }

    fn crashed_before(&mut self, file: &str) {
        log::warn!("{file}: {READER_CRASHED}");
    }

    fn file_done(&mut self, _file: &Path, error: Option<&calip3d::Error>) {
        self.bar.inc(1);
        if let Some(e) = error {
            self.failures += 1;
            self.bar.set_message(format!("{} failed", self.failures));
            self.bar.suspend(|| log::warn!("{e}"));
        }
    }
}

/// Exit status: 0 when every file succeeded, 2 when some failed; setup errors (bad classes, model
/// not found, no inputs, a results file that is neither .jsonl nor .csv) return Err before any
/// file runs, and main exits 1.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let files = expand_inputs(&args.inputs)?;
    let job = BatchJob::new(&args.out)?
        .resume(args.resume)
        .top_k(args.top_k)
        .stream(StreamOptions::new(args.jobs, args.views_per_encode));
    let classifier = args.pipeline.classifier(false)?;
    let classes = args.pipeline.class_set(&classifier)?;
    let mut progress = Progress {
        bar: ProgressBar::hidden(),
        failures: 0,
        quiet: args.quiet,
    };
    let report = if args.scene {
        job.run_scenes(
            &classifier,
            &classes,
            files,
            &args.pipeline.projection.load_options(),
            &args.scene_options.options(None),
            &mut progress,
        )?
    } else {
        job.run(&classifier, &classes, files, &mut progress)?
    };
    progress.bar.finish_and_clear();
    if !args.quiet {
        let what = if args.scene { "scenes" } else { "classified" };
        eprintln!(
            "{} files: {} {what}, {} failed; results in {} ({} records, {} failed)",
            report.processed,
            report.succeeded,
            report.failed,
            args.out.display(),
            report.results.records,
            report.results.failed,
        );
    }
    // The exit status speaks for the whole results file, records kept by a resume included.
    Ok(crate::exit::after_inputs(report.results.failed))
}
