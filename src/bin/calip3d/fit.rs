//! `calip3d fit`: a few-shot adapter (Tip-Adapter cache or PointCLIP's inter-view adapter) from
//! K shots per class of the training split.

use crate::dataset_args::{dataset, ValidationArgs};
use crate::pipeline_args::PipelineArgs;
use crate::progress::files_bar;
use calip3d::attend::FewShotMethod;
use calip3d::classify::profile::TEST_SEARCH_STAMP;
use calip3d::tune::{self, fit::TrainConfig, FitOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// The method on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum MethodArg {
    /// Tip-Adapter's training-free cache.
    Cache,
    /// PointCLIP's inter-view adapter (trained).
    Adapter,
}

#[derive(clap::Args)]
pub struct Args {
    /// Dataset folder, as for `tune` (only the split asked for is read).
    pub dataset: PathBuf,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    #[command(flatten)]
    pub validation: ValidationArgs,
    /// Shots per class, drawn from the split outside the validation subset.
    #[arg(long)]
    pub shots: usize,
    /// cache (Tip-Adapter) or adapter (PointCLIP's inter-view adapter).
    #[arg(long, value_enum)]
    pub method: MethodArg,
    /// Training epochs of the adapter.
    #[arg(long, default_value_t = calip3d::tune::fit::TrainConfig::default().epochs)]
    pub epochs: usize,
    /// Where to write the adapter (safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the encoded shot and validation features (safetensors), for analysis elsewhere.
    #[arg(long)]
    pub export_features: Option<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let classifier = args.pipeline.classifier(false)?;
    let (source, list) = dataset(&args.dataset, &args.pipeline)?;
    let classes = classifier.class_list(&list)?;
    let options = FitOptions {
        validation: args.validation.options(args.pipeline.search_on_test),
        shots: args.shots,
        method: match args.method {
            MethodArg::Cache => FewShotMethod::Cache,
            MethodArg::Adapter => FewShotMethod::Adapter,
        },
        train: TrainConfig {
            epochs: args.epochs,
            seed: args.validation.seed,
            ..TrainConfig::default()
        },
    };
    let mut files = None;
    let show = !args.quiet && std::io::stderr().is_terminal();
    let epochs = if show {
        let b = ProgressBar::new(args.epochs as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} epoch {pos}/{len}  {msg}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let outcome = tune::fit(
        &classifier,
        &source,
        &classes,
        &options,
        &mut |n, total| {
            files
                .get_or_insert_with(|| files_bar(total, args.quiet))
                .inc(n as u64)
        },
        &mut |_, loss| {
            epochs.inc(1);
            epochs.set_message(format!("loss {loss:.4}"));
        },
    )?;
    if let Some(b) = files {
        b.finish_and_clear();
    }
    epochs.finish_and_clear();
    outcome.adapter.save(&args.out)?;
    if let Some(path) = &args.export_features {
        tune::export_features(&classifier, &classes, &outcome, path)?;
    }
    let m = &outcome.adapter.meta;
    if m.search_on_test {
        println!("{TEST_SEARCH_STAMP}");
    }
    if let calip3d::attend::FewShotKind::Cache(c) = &outcome.adapter.kind {
        println!(
            "cache: {} keys, alpha {} beta {}",
            c.labels().len(),
            c.alpha,
            c.beta
        );
    }
    println!(
        "{} {}-shot on the {} split: validation top-1 {:.2}% -> {:.2}%, mean class accuracy {:.2}% -> {:.2}%",
        m.method,
        m.shots,
        m.split,
        outcome.before.top1 * 100.0,
        outcome.after.top1 * 100.0,
        outcome.before.mean_class * 100.0,
        outcome.after.mean_class * 100.0
    );
    println!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
