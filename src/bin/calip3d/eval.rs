//! `calip3d eval`: accuracy of the classifier on a folder with one sub-folder per class.

use crate::pipeline_args::PipelineArgs;
use crate::progress::files_bar;
use calip3d::batch::{run_batch, BatchOptions};
use calip3d::classify::eval::{class_folders, labelled_files, EvalReport};
use calip3d::classify::plot::write_confusion_png;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Folder with one sub-folder per class (ModelNet's layout).
    pub dir: PathBuf,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Also score plain CLIP (β2 = β3 = 0) on the same views, to measure CALIP's gain.
    #[arg(long)]
    pub compare_baseline: bool,
    /// The report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write the confusion matrix as a PNG heat map.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Worker threads reading and projecting files.
    #[arg(short, long, default_value_t = 2)]
    pub jobs: usize,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Write a Markdown report: plain CLIP vs CALIP vs CALIP + profile, and where each setting was
    /// chosen (encodes the views once more).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    // `--classes folders`: the class folders' names are the classes.
    let class_arg = match args.pipeline.classes.as_str() {
        "folders" => class_folders(&args.dir)?.join(","),
        other => other.to_string(),
    };
    let classifier = args.pipeline.classifier(false)?;
    let classes = args.pipeline.class_set_of(&class_arg, &classifier)?;
    let names = classes.names().to_vec();
    let samples = labelled_files(&args.dir, &names)?;
    let files: Vec<PathBuf> = samples.iter().map(|s| s.path.clone()).collect();
    let label_of: std::collections::HashMap<&Path, usize> = samples
        .iter()
        .map(|s| (s.path.as_path(), s.label))
        .collect();
    let bar = files_bar(files.len(), args.quiet);
    let mut scored: Vec<(usize, Vec<f32>, Vec<f32>)> = Vec::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    let options = BatchOptions {
        jobs: args.jobs,
        ..Default::default()
    };
    run_batch(&classifier, &classes, &files, &options, |file, outcome| {
        bar.inc(1);
        let label = label_of[file];
        match outcome {
            Ok(p) => scored.push((label, p.logits, p.baseline_logits)),
            Err(e) => failures.push((file.display().to_string(), e.to_string())),
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    if let Some(report) = &args.report {
        let files: Vec<(PathBuf, usize)> =
            samples.iter().map(|s| (s.path.clone(), s.label)).collect();
        let dir = args.dir.display().to_string();
        calip3d::tune::report::write_eval_report(
            &classifier,
            &class_arg,
            &dir,
            &files,
            report,
            &mut |_, _| {},
        )?;
    }

    let calip = EvalReport::from_scores(&names, scored.iter().map(|(l, s, _)| (*l, s.as_slice())));
    let baseline = args.compare_baseline.then(|| {
        EvalReport::from_scores(&names, scored.iter().map(|(l, _, b)| (*l, b.as_slice())))
    });
    let method = if args.pipeline.baseline {
        "clip"
    } else {
        "calip"
    };
    if let Some(plot) = &args.plot {
        write_confusion_png(&calip, method, plot)?;
        if let Some(b) = &baseline {
            write_confusion_png(b, "clip baseline", &plot.with_extension("baseline.png"))?;
        }
    }
    if args.json {
        let failed: Vec<_> = failures
            .iter()
            .map(|(f, e)| json!({"file": f, "error": e}))
            .collect();
        let report = json!({
            "dir": args.dir.display().to_string(),
            "projection": classifier.projection().to_string(),
            "model": classifier.model_id(),
            method: calip,
            "baseline": baseline,
            "failed": failed,
        });
        println!("{report}");
    } else {
        print_report(method, &calip);
        if let Some(b) = &baseline {
            print_report("clip baseline (β2 = β3 = 0)", b);
            println!(
                "CALIP − CLIP: top-1 {:+.2} points, top-5 {:+.2} points",
                (calip.top1 - b.top1) * 100.0,
                (calip.top5 - b.top5) * 100.0
            );
        }
        for (f, e) in &failures {
            eprintln!("failed: {f}: {e}");
        }
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn print_report(method: &str, r: &EvalReport) {
    println!(
        "{method}: {} samples, top-1 {:.2}%, top-5 {:.2}%, mean class accuracy {:.2}%",
        r.samples,
        r.top1 * 100.0,
        r.top5 * 100.0,
        r.mean_class_accuracy * 100.0
    );
    let width = r.classes.iter().map(|c| c.len()).max().unwrap_or(5);
    for c in r.per_class.iter().filter(|c| c.samples > 0) {
        println!(
            "  {:<width$}  {:>3}/{:<3}  {:6.2}%",
            c.class,
            c.correct,
            c.samples,
            c.accuracy.unwrap_or(0.0) * 100.0
        );
    }
}
